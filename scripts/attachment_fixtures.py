"""Build the attachment fixtures (tests/fixtures/attachments/) with the real tools.

    bash scripts/attachment-fixtures          # installs LibreOffice, fonts and 7-Zip if missing

Documents are written as flat ODF (XML) and converted by LibreOffice headless into the
formats portals serve: PDF with embedded CJK fonts (and a ToUnicode map), DOCX, DOC (Word
97), XLSX, XLS (Excel 97). A PDF in the older style of Chinese office software (the
predefined Adobe-GB1 CMap UniGB-UCS2-H, font not embedded, no ToUnicode map) comes from
ReportLab's STSong-Light. The OFD is built here from the GB/T 33190 structure (OFD.xml,
Document.xml, Pages/Page_N/Content.xml with TextObject/TextCode), as no OFD writer is
packaged. The hostile files (encrypted, truncated, bombs, a reference loop, a file that is
not what its name says) are made from those.

Each file's truth goes into ``truth.toml`` (type, status, pages, phrases that must be
found) and, for the files the PDF libraries are compared on, the whole text in reading
order (``NAME.txt``). The generated files are committed, so CI needs none of these tools.
"""

from __future__ import annotations

import io
import shutil
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path
from xml.sax.saxutils import escape

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "tests" / "fixtures" / "attachments"
sys.path.insert(0, str(ROOT))

from demo.site import SENTENCES, pdf_file  # noqa: E402  (real portal prose, also used by the demo)

FONT = "Noto Serif CJK SC"
TITLE = "关于印发《消防安全专项整治三年行动实施方案》的通知"
# A phrase per document that no page of any fixture portal carries: search must find it
# in the attachment or nowhere.
PHRASES = {
    "notice": "特勤消防站装备统筹调配机制",
    "columns": "左栏末尾的句子接着右栏开头",
    "table": "滨海新区高层建筑火灾隐患",
    "cid": "老式办公软件生成的公文",
    "ofd": "国家版式文档标准第二页",
    "zip": "压缩包内的申报说明",
    "scanned": "扫描件没有文字层",
}


def notice_paragraphs() -> list[str]:
    """About six pages: the title, numbered sections of portal prose, the phrase mid-way."""
    paragraphs = [TITLE, "各区应急管理局、消防救援支队："]
    for section in range(1, 7):
        paragraphs.append(f"第{'一二三四五六'[section - 1]}部分 工作要求")
        for offset in range(6):
            paragraphs.append("".join(SENTENCES[(section * 7 + offset + k) % len(SENTENCES)] for k in range(3)))
        if section == 3:
            paragraphs.append(f"建立{PHRASES['notice']}，确保各类装备随时可用。")
    paragraphs.append("示例市应急管理局 2020年1月15日")
    return paragraphs


def columns_text() -> tuple[str, list[str], list[str]]:
    """A heading over a two-column section: each column several wrapped lines long."""
    left = ["左栏第一段：" + SENTENCES[2] + SENTENCES[3], "左栏第二段：" + SENTENCES[10] + PHRASES["columns"][:7]]
    right = [PHRASES["columns"][7:] + "，右栏第一段：" + SENTENCES[11] + SENTENCES[12], "右栏第二段：" + SENTENCES[13]]
    return "双栏排版的政策解读", left, right


FODT = """<?xml version="1.0" encoding="UTF-8"?>
<office:document xmlns:office="urn:oasis:names:tc:opendocument:xmlns:office:1.0"
 xmlns:style="urn:oasis:names:tc:opendocument:xmlns:style:1.0"
 xmlns:text="urn:oasis:names:tc:opendocument:xmlns:text:1.0"
 xmlns:table="urn:oasis:names:tc:opendocument:xmlns:table:1.0"
 xmlns:fo="urn:oasis:names:tc:opendocument:xmlns:xsl-fo-compatible:1.0"
 xmlns:svg="urn:oasis:names:tc:opendocument:xmlns:svg-compatible:1.0"
 office:version="1.3" office:mimetype="{mimetype}">
<office:font-face-decls><style:font-face style:name="{font}" svg:font-family="'{font}'"/></office:font-face-decls>
<office:styles><style:default-style style:family="{family}"><style:text-properties style:font-name="{font}"
 style:font-name-asian="{font}" fo:font-size="12pt" style:font-size-asian="12pt" fo:language="zh"
 fo:country="CN" style:language-asian="zh" style:country-asian="CN"/></style:default-style></office:styles>
<office:automatic-styles>
<style:style style:name="Two" style:family="section"><style:section-properties>
<style:columns fo:column-count="2" fo:column-gap="1cm"/></style:section-properties></style:style>
</office:automatic-styles>
<office:body>{body}</office:body></office:document>
"""


def fodt(body: str) -> str:
    return FODT.format(mimetype="application/vnd.oasis.opendocument.text", font=FONT, family="paragraph",
                       body=f"<office:text>{body}</office:text>")


def paragraphs_xml(paragraphs: list[str]) -> str:
    return "".join(f"<text:p>{escape(text)}</text:p>" for text in paragraphs)


SHEETS = {
    "火灾统计": [["区域", "火灾起数", "死亡人数", "备注"],
                 ["和平区", 12, 0, "老旧小区电气火灾"], ["河东区", 9, 1, "电动自行车充电"],
                 ["滨海新区", 31, 2, PHRASES["table"] + "排查"], ["合计", 52, 3, ""]],
    "检查计划": [["月份", "检查内容"], ["一月", "人员密集场所"], ["二月", "危险化学品企业"]],
}


def fods() -> str:
    tables = []
    for name, rows in SHEETS.items():
        cells = []
        for row in rows:
            cells.append("<table:table-row>" + "".join(
                f'<table:table-cell office:value-type="float" office:value="{value}"><text:p>{value}</text:p>'
                "</table:table-cell>" if isinstance(value, int) else
                f'<table:table-cell office:value-type="string"><text:p>{escape(value)}</text:p></table:table-cell>'
                for value in row) + "</table:table-row>")
        tables.append(f'<table:table table:name="{escape(name)}">{"".join(cells)}</table:table>')
    return FODT.format(mimetype="application/vnd.oasis.opendocument.spreadsheet", font=FONT, family="table-cell",
                       body=f"<office:spreadsheet>{''.join(tables)}</office:spreadsheet>")


def soffice(source: Path, target: str, workdir: Path) -> Path:
    """Convert with LibreOffice headless; ``target`` is an extension or ext:filter."""
    subprocess.run(["soffice", "--headless", f"-env:UserInstallation=file://{workdir}/profile",
                    "--convert-to", target, "--outdir", str(workdir), str(source)],
                   check=True, capture_output=True, timeout=300)
    produced = workdir / f"{source.stem}.{target.split(':')[0]}"
    if not produced.exists():
        raise SystemExit(f"LibreOffice did not write {produced}")
    return produced


def cid_pdf(path: Path, paragraphs: list[str]) -> None:
    """STSong-Light through UniGB-UCS2-H: no embedded font, no ToUnicode map."""
    from reportlab.lib.pagesizes import A4
    from reportlab.lib.styles import ParagraphStyle
    from reportlab.pdfbase import pdfmetrics
    from reportlab.pdfbase.cidfonts import UnicodeCIDFont
    from reportlab.platypus import Paragraph, SimpleDocTemplate

    pdfmetrics.registerFont(UnicodeCIDFont("STSong-Light"))
    style = ParagraphStyle("zh", fontName="STSong-Light", fontSize=12, leading=18, wordWrap="CJK")
    SimpleDocTemplate(str(path), pagesize=A4, invariant=1).build([Paragraph(escape(p), style) for p in paragraphs])


def drawn_out_of_order_pdf(path: Path, lines: list[str]) -> None:
    """One line per row, top to bottom on the page, but written into the content stream
    bottom row first (as generators that place text by position do): reading order must
    come from the layout, not from the stream."""
    from reportlab.lib.pagesizes import A4
    from reportlab.pdfbase import pdfmetrics
    from reportlab.pdfbase.cidfonts import UnicodeCIDFont
    from reportlab.pdfgen import canvas

    pdfmetrics.registerFont(UnicodeCIDFont("STSong-Light"))
    page = canvas.Canvas(str(path), pagesize=A4, invariant=1)
    page.setFont("STSong-Light", 12)
    top = A4[1] - 72
    for row in reversed(range(len(lines))):
        page.drawString(72, top - row * 20, lines[row])
    page.showPage()
    page.save()


def render_png(pdf: Path, png: Path) -> Path:
    """The first page as a 150 dpi greyscale image, rendered by PDFium (pypdfium2)."""
    import pypdfium2

    document = pypdfium2.PdfDocument(str(pdf))
    document[0].render(scale=150 / 72, grayscale=True).to_pil().save(png, optimize=True)
    document.close()
    return png


def image_pdf(path: Path, png: Path) -> None:
    """A scanned page: one image, no text."""
    from reportlab.lib.pagesizes import A4
    from reportlab.pdfgen import canvas

    page = canvas.Canvas(str(path), pagesize=A4, invariant=1)
    width, height = A4
    page.drawImage(str(png), 0, 0, width, height)
    page.showPage()
    page.save()


def encrypt_pdf(source: Path, target: Path, user: str, owner: str) -> None:
    from pypdf import PdfReader, PdfWriter

    writer = PdfWriter(clone_from=PdfReader(source))
    writer.encrypt(user_password=user, owner_password=owner, algorithm="RC4-128")
    with target.open("wb") as out:
        writer.write(out)


OFD_NS = "http://www.ofdspec.org/2016"


def ofd_bytes(pages: list[list[str]]) -> bytes:
    """A minimal OFD per GB/T 33190-2016: one document, one font, text objects per line."""
    ofd = (f'<?xml version="1.0" encoding="UTF-8"?><ofd:OFD xmlns:ofd="{OFD_NS}" Version="1.0" DocType="OFD">'
           "<ofd:DocBody><ofd:DocInfo><ofd:DocID>6f0b7d2b3c9a4e1f8d2c5b7a9e0f1a2b</ofd:DocID>"
           f"<ofd:Title>{escape(TITLE)}</ofd:Title><ofd:CreationDate>2020-01-15</ofd:CreationDate>"
           "</ofd:DocInfo><ofd:DocRoot>Doc_0/Document.xml</ofd:DocRoot></ofd:DocBody></ofd:OFD>")
    page_list = "".join(f'<ofd:Page ID="{10 + n}" BaseLoc="Pages/Page_{n}/Content.xml"/>' for n in range(len(pages)))
    document = (f'<?xml version="1.0" encoding="UTF-8"?><ofd:Document xmlns:ofd="{OFD_NS}">'
                "<ofd:CommonData><ofd:MaxUnitID>100</ofd:MaxUnitID>"
                '<ofd:PageArea><ofd:PhysicalBox>0 0 210 297</ofd:PhysicalBox></ofd:PageArea>'
                "<ofd:PublicRes>PublicRes.xml</ofd:PublicRes></ofd:CommonData>"
                f"<ofd:Pages>{page_list}</ofd:Pages></ofd:Document>")
    public = (f'<?xml version="1.0" encoding="UTF-8"?><ofd:Res xmlns:ofd="{OFD_NS}" BaseLoc="Res">'
              '<ofd:Fonts><ofd:Font ID="2" FontName="宋体" FamilyName="宋体"/></ofd:Fonts></ofd:Res>')
    files = {"OFD.xml": ofd, "Doc_0/Document.xml": document, "Doc_0/PublicRes.xml": public}
    unit = 20
    for n, lines in enumerate(pages):
        objects = []
        for row, line in enumerate(lines):
            unit += 1
            y = 20 + row * 8
            deltas = " ".join(["4.2"] * (len(line) - 1))
            objects.append(
                f'<ofd:TextObject ID="{unit}" Boundary="20 {y} 170 8" Font="2" Size="4.2">'
                f'<ofd:FillColor Value="0 0 0"/><ofd:TextCode X="0" Y="6" DeltaX="{deltas}">{escape(line)}'
                "</ofd:TextCode></ofd:TextObject>")
        files[f"Doc_0/Pages/Page_{n}/Content.xml"] = (
            f'<?xml version="1.0" encoding="UTF-8"?><ofd:Page xmlns:ofd="{OFD_NS}"><ofd:Content>'
            f'<ofd:Layer ID="{unit + 50}" Type="Body">{"".join(objects)}</ofd:Layer></ofd:Content></ofd:Page>')
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, text in files.items():
            archive.writestr(name, text.encode("utf-8"))
    return buffer.getvalue()


def loop_pdf() -> bytes:
    """Hostile: a page tree whose kid is its own parent, a form XObject that draws itself,
    and a trailer whose /Prev points back at its own cross-reference table."""
    stream = b"/X1 Do"
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R 2 0 R] /Count 2 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 4 0 R"
        b" /Resources << /XObject << /X1 5 0 R >> >> >>",
        b"<< /Length %d >>\nstream\n" % len(stream) + stream + b"\nendstream",
        b"<< /Type /XObject /Subtype /Form /BBox [0 0 10 10] /Resources << /XObject << /X1 5 0 R >> >>"
        b" /Length %d >>\nstream\n" % len(stream) + stream + b"\nendstream",
    ]
    return pdf_file(objects, trailer=lambda xref: b" /Prev %d" % xref)


def zip_bomb(member: str, size: int, prefix: bytes = b"", suffix: bytes = b"") -> bytes:
    """A small zip whose one member inflates to ``size`` bytes (zeros or spaces)."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as archive:
        with archive.open(member, "w", force_zip64=True) as out:
            out.write(prefix)
            chunk = b" " * (1 << 20)
            for _ in range(size >> 20):
                out.write(chunk)
            out.write(suffix)
    return buffer.getvalue()


def gbk_zip(members: dict[str, bytes]) -> bytes:
    """A zip whose member names are GBK bytes with no UTF-8 flag (zipfile always flags
    non-ASCII names, so it writes ASCII stand-ins of the same length, swapped afterwards)."""
    buffer = io.BytesIO()
    stand_ins = {}
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for number, (name, data) in enumerate(members.items()):
            encoded = name.encode("gbk")
            stand_in = (f"m{number}_" + "x" * len(encoded))[: len(encoded)].encode()
            stand_ins[stand_in] = encoded
            archive.writestr(stand_in.decode(), data)
    raw = buffer.getvalue()
    for stand_in, encoded in stand_ins.items():
        raw = raw.replace(stand_in, encoded)
    return raw


def nested_zip(depth: int) -> bytes:
    data = "深层嵌套的说明".encode()
    name = "readme.txt"
    for level in range(depth):
        buffer = io.BytesIO()
        with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
            archive.writestr(name, data)
        data, name = buffer.getvalue(), f"level{depth - level}.zip"
    return data


def truth_entry(name: str, kind: str, status: str, pages: int | None = None, phrases: tuple[str, ...] = (),
                absent: tuple[str, ...] = ()) -> str:
    lines = [f'["{name}"]', f'type = "{kind}"', f'status = "{status}"']
    if pages is not None:
        lines.append(f"pages = {pages}")
    lines.append("phrases = [" + ", ".join(f'"{phrase}"' for phrase in phrases) + "]")
    if absent:
        lines.append("absent = [" + ", ".join(f'"{phrase}"' for phrase in absent) + "]")
    return "\n".join(lines) + "\n"


def main() -> int:
    for tool in ("soffice", "7zz"):
        if shutil.which(tool) is None:
            raise SystemExit(f"{tool} is missing (bash scripts/attachment-fixtures installs it)")
    OUT.mkdir(parents=True, exist_ok=True)
    truth = ["# What each fixture holds (scripts/attachment_fixtures.py wrote this file and the fixtures).\n"]
    with tempfile.TemporaryDirectory(prefix="attachment-fixtures-") as tmp_name:
        tmp = Path(tmp_name)
        notice = notice_paragraphs()
        (tmp / "notice.fodt").write_text(fodt(paragraphs_xml(notice)), encoding="utf-8")
        heading, left, right = columns_text()
        (tmp / "columns.fodt").write_text(fodt(
            f"<text:p>{escape(heading)}</text:p><text:section text:style-name=\"Two\" text:name=\"S\">"
            + paragraphs_xml(left + right) + "</text:section>"), encoding="utf-8")
        (tmp / "table.fods").write_text(fods(), encoding="utf-8")
        for ext in ("pdf", "docx", "doc:MS Word 97"):
            produced = soffice(tmp / "notice.fodt", ext, tmp)
            shutil.copy(produced, OUT / f"notice.{ext.split(':')[0]}")
        shutil.copy(soffice(tmp / "columns.fodt", "pdf", tmp), OUT / "columns.pdf")
        for ext in ("xlsx:Calc MS Excel 2007 XML", "xls:MS Excel 97"):
            shutil.copy(soffice(tmp / "table.fods", ext, tmp), OUT / f"table.{ext.split(':')[0]}")
        (OUT / "notice.txt").write_text("\n".join(notice) + "\n", encoding="utf-8")
        (OUT / "columns.txt").write_text("\n".join([heading, *left, *right]) + "\n", encoding="utf-8")

        cid = [TITLE, f"本文件由{PHRASES['cid']}样式生成，字体未嵌入。", *SENTENCES[:12]]
        cid_pdf(OUT / "cid.pdf", cid)
        (OUT / "cid.txt").write_text("\n".join(cid) + "\n", encoding="utf-8")

        order = [TITLE[:20], "第一行写在页面最上方。", "第二行紧随其后。", "第三行在中间位置。",
                 "第四行接近页面底部。", "第五行是最后一行。"]
        drawn_out_of_order_pdf(OUT / "order.pdf", order)
        (OUT / "order.txt").write_text("\n".join(order) + "\n", encoding="utf-8")

        scan_source = tmp / "scan.fodt"
        scan_source.write_text(fodt(paragraphs_xml([TITLE, PHRASES["scanned"], *SENTENCES[:6]])), encoding="utf-8")
        png = render_png(soffice(scan_source, "pdf", tmp), tmp / "scan.png")
        image_pdf(OUT / "scanned.pdf", png)
        shutil.copy(png, OUT / "photo.png")

        encrypt_pdf(OUT / "notice.pdf", OUT / "encrypted.pdf", user="secret", owner="owner-secret")
        encrypt_pdf(OUT / "notice.pdf", OUT / "restricted.pdf", user="", owner="owner-secret")
        whole = (OUT / "notice.pdf").read_bytes()
        (OUT / "truncated.pdf").write_bytes(whole[: len(whole) * 3 // 5])
        docx = (OUT / "notice.docx").read_bytes()
        (OUT / "truncated.docx").write_bytes(docx[: len(docx) // 2])

        ofd_pages = [[TITLE, "各区应急管理局：", SENTENCES[0], SENTENCES[1]],
                     [PHRASES["ofd"] + "的正文。", SENTENCES[4], "示例市应急管理局"]]
        (OUT / "notice.ofd").write_bytes(ofd_bytes(ofd_pages))

        # A bundle as portals offer them: Chinese member names in GBK without the UTF-8 flag,
        # as Windows tools write them, and a note inside.
        members = {"附件1：实施方案.docx": (OUT / "notice.docx").read_bytes(),
                   "附件2：统计表.xlsx": (OUT / "table.xlsx").read_bytes(),
                   "说明.txt": f"{PHRASES['zip']}：请于月底前报送。\n".encode("gb18030")}
        (OUT / "bundle.zip").write_bytes(gbk_zip(members))
        bundle = tmp / "bundle"
        bundle.mkdir()
        for name, data in members.items():
            (bundle / name).write_bytes(data)
        subprocess.run(["7zz", "a", "-tzip", "-psecret", str(tmp / "encrypted.zip"), "."], cwd=bundle, check=True,
                       capture_output=True)
        shutil.copy(tmp / "encrypted.zip", OUT / "encrypted.zip")

        (OUT / "loop.pdf").write_bytes(loop_pdf())
        (OUT / "bomb.zip").write_bytes(zip_bomb("zeros.txt", 200 << 20))
        (OUT / "bomb.docx").write_bytes(_docx_bomb(docx))
        (OUT / "nested.zip").write_bytes(nested_zip(8))
        (OUT / "wrongtype.pdf").write_bytes(
            "<!DOCTYPE html><html><head><meta charset=\"utf-8\"><title>404</title></head>"
            "<body><h1>您访问的页面不存在</h1></body></html>".encode())

    truth += [
        truth_entry("notice.pdf", "pdf", "ok", None, (PHRASES["notice"], TITLE)),
        truth_entry("notice.docx", "docx", "ok", None, (PHRASES["notice"], TITLE)),
        truth_entry("notice.doc", "doc", "ok", None, (PHRASES["notice"], TITLE)),
        truth_entry("columns.pdf", "pdf", "ok", 1, (PHRASES["columns"][:7], "右栏第二段")),
        truth_entry("cid.pdf", "pdf", "ok", None, (PHRASES["cid"], TITLE)),
        truth_entry("order.pdf", "pdf", "ok", 1, ("第一行写在页面最上方",)),
        truth_entry("table.xlsx", "xlsx", "ok", 2, (PHRASES["table"], "火灾统计", "危险化学品企业")),
        truth_entry("table.xls", "xls", "ok", 2, (PHRASES["table"], "火灾统计", "危险化学品企业")),
        truth_entry("notice.ofd", "ofd", "ok", 2, (PHRASES["ofd"], TITLE)),
        truth_entry("bundle.zip", "zip", "ok", None, (PHRASES["zip"], PHRASES["notice"], PHRASES["table"],
                                                      "附件1：实施方案.docx")),
        truth_entry("restricted.pdf", "pdf", "ok", None, (PHRASES["notice"],)),
        truth_entry("scanned.pdf", "pdf", "no_text", 1, (), (PHRASES["scanned"],)),
        truth_entry("photo.png", "png", "unsupported"),
        truth_entry("encrypted.pdf", "pdf", "encrypted", None, (), (PHRASES["notice"],)),
        truth_entry("encrypted.zip", "zip", "encrypted", None, (), (PHRASES["zip"],)),
        truth_entry("truncated.pdf", "pdf", "corrupt"),
        truth_entry("truncated.docx", "docx", "corrupt"),
        truth_entry("loop.pdf", "pdf", "corrupt"),
        truth_entry("bomb.zip", "zip", "too_large"),
        truth_entry("bomb.docx", "docx", "too_large"),
        truth_entry("nested.zip", "zip", "too_large"),
        truth_entry("wrongtype.pdf", "html", "unsupported"),
    ]
    (OUT / "truth.toml").write_text("\n".join(truth), encoding="utf-8")
    for path in sorted(OUT.iterdir()):
        print(f"{path.stat().st_size:>10}  {path.name}")
    return 0


def _docx_bomb(docx: bytes) -> bytes:
    """The DOCX with its document.xml padded to 150 MiB of whitespace (a few hundred kB zipped)."""
    source = zipfile.ZipFile(io.BytesIO(docx))
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as archive:
        for item in source.infolist():
            data = source.read(item.filename)
            if item.filename == "word/document.xml":
                head, _, tail = data.partition(b"<w:body>")
                with archive.open(item.filename, "w", force_zip64=True) as out:
                    out.write(head + b"<w:body>")
                    chunk = b" " * (1 << 20)
                    for _ in range(150):
                        out.write(chunk)
                    out.write(tail)
            else:
                archive.writestr(item, data)
    return buffer.getvalue()


if __name__ == "__main__":
    sys.exit(main())
