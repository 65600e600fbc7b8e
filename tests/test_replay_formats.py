"""Replay formats on a small archive written in-process by the real archive writer: the WACZ
is valid (by what `wacz validate` says), its zip headers agree, the CDXJ is sorted in bounded
memory and leaves out 304s, and unreadable WARC files stop both with their names."""

from __future__ import annotations

import json
import shutil
import struct
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest
from zygote import run

from archive.index import Index
from archive.models import index_url_for
from archive.records import HttpExchange
from archive.replay import ReplayError, _add_entry, cdxj_lines, resource_name, sorted_cdxj, write_wacz
from archive.store import ArchiveWriter

VALID = "Validation succeeded, the passed WACZ is valid"


def wacz_validate(path: Path) -> tuple[bool, str]:
    """Run py-wacz's validator; it exits 0 even when validation fails, so read what it says."""
    result = subprocess.run([sys.executable, "-m", "wacz.main", "validate", "-f", str(path)],
                            capture_output=True, text=True, timeout=300)
    output = result.stdout + result.stderr
    return VALID in output and "invalid" not in output and result.returncode == 0, output


def exchange(url: str, status: int, body: bytes, ctype: str = "text/html; charset=utf-8",
             etag: str = '"v1"') -> HttpExchange:
    headers = [(b"Content-Type", ctype.encode()), (b"Content-Length", str(len(body)).encode())]
    if etag:
        headers.append((b"ETag", etag.encode()))
    return HttpExchange(url=url, status=status, response_headers=headers, body=body,
                        request_headers=[(b"Host", b"127.0.0.1")])


def crawl(archive: Path, exchanges: list[HttpExchange]) -> None:
    writer = ArchiveWriter(archive / "warc", index_url_for(archive), {"software": "test"}, fsync=False)
    writer.start_crawl("portal", "test", "localhost")
    for item in exchanges:
        writer.add_exchange(item)
    writer.drain()
    writer.finish_crawl("finished", {})


PAGE = "http://127.0.0.1/a.html"
PAGE_BODY = "<html><head><title>一</title></head><body><p>正文</p></body></html>".encode()


@pytest.fixture
def archive(tmp_path: Path) -> Path:
    """Three crawls: full responses; a 304 and an identical 200; a changed page."""
    archive = tmp_path / "archive"
    crawl(archive, [exchange(PAGE, 200, PAGE_BODY), exchange("http://127.0.0.1/s.css", 200, b"p{}", "text/css"),
                    exchange("http://127.0.0.1/b.html", 200, b"<html>b</html>")])
    crawl(archive, [exchange(PAGE, 304, b""), exchange("http://127.0.0.1/s.css", 200, b"p{}", "text/css")])
    crawl(archive, [exchange(PAGE, 200, PAGE_BODY.replace("正文".encode(), "新".encode()), etag='"v2"'),
                    exchange("http://127.0.0.1/b.html", 304, b"")])
    return archive


@pytest.mark.index
def test_cdxj_leaves_out_304s_and_sorts_in_bounded_memory(archive: Path, tmp_path: Path) -> None:
    with Index.open(archive) as index:
        lines = list(cdxj_lines(index))
        with open(tmp_path / "small-runs.cdxj", "w", encoding="utf-8") as out:
            count, check = sorted_cdxj(index, out, run_lines=2)  # three runs merged from disk
    assert count == len(lines) == 5  # 7 captures, two of them 304s
    assert (tmp_path / "small-runs.cdxj").read_text(encoding="utf-8").splitlines() == lines == sorted(lines)
    statuses = [json.loads(line.split(" ", 2)[2])["status"] for line in lines]
    assert "304" not in statuses
    mimes = [json.loads(line.split(" ", 2)[2])["mime"] for line in lines]
    assert mimes.count("warc/revisit") == 1  # the identical stylesheet
    assert len(check.files) == 3 and not check.problems


@pytest.mark.index
def test_wacz_validates_and_its_zip_headers_agree(archive: Path, tmp_path: Path) -> None:
    target = tmp_path / "a.wacz"
    with Index.open(archive) as index:
        package = write_wacz(index, target)
    ok, output = wacz_validate(target)
    assert ok, output
    names = [resource["name"] for resource in package["resources"]]
    assert all(set(name) <= set("abcdefghijklmnopqrstuvwxyz0123456789-._/") for name in names), names
    assert len(set(names)) == len(names)
    with zipfile.ZipFile(target) as wacz:
        assert "indexes/index.cdx" in wacz.namelist()  # the name wb-manager --unpack-wacz reads
        for info in wacz.infolist():
            _assert_headers_agree(target, info)
            # Where ReplayWeb.page reads an entry without extras: from the central directory alone.
            if info.compress_type == zipfile.ZIP_STORED and not info.extra:
                with open(target, "rb") as raw:
                    raw.seek(info.header_offset + 30 + len(info.orig_filename.encode()))
                    assert raw.read(info.file_size) == wacz.read(info.filename)


def _local_extra(path: Path, info: zipfile.ZipInfo) -> bytes:
    with open(path, "rb") as raw:
        raw.seek(info.header_offset)
        header = raw.read(30)
        assert header[:4] == b"PK\x03\x04"
        name_len, extra_len = struct.unpack("<HH", header[26:30])
        raw.seek(name_len, 1)
        return raw.read(extra_len)


def _zip64_fields(extra: bytes) -> bool:
    while len(extra) >= 4:
        kind, size = struct.unpack("<HH", extra[:4])
        if kind == 0x0001:
            return True
        extra = extra[4 + size:]
    return False


def _assert_headers_agree(path: Path, info: zipfile.ZipInfo) -> None:
    """zip64 in both headers or neither; and ReplayWeb.page (wabac.js) takes an entry without
    central extra fields to have no local ones either (it then skips reading the local header)."""
    local = _local_extra(path, info)
    assert _zip64_fields(local) == _zip64_fields(info.extra), info.filename
    if not info.extra:
        assert local == b"", info.filename


def test_zip64_only_where_an_entry_needs_it_in_both_headers(tmp_path: Path, monkeypatch) -> None:
    """The zip limit lowered, so 'too big' is cheap to reach; zipfile honours the same constant."""
    monkeypatch.setattr(zipfile, "ZIP64_LIMIT", 4096)
    small, big = tmp_path / "small.warc.gz", tmp_path / "big.warc.gz"
    small.write_bytes(b"s" * 1000)
    big.write_bytes(bytes(range(256)) * 40)  # 10240 bytes, past the lowered limit
    target = tmp_path / "z.zip"
    with zipfile.ZipFile(target, "w", allowZip64=True) as out:
        _add_entry(out, "archive/small.warc.gz", small, compress=False)
        _add_entry(out, "archive/big.warc.gz", big, compress=False)
        _add_entry(out, "indexes/index.cdx", big, compress=True)  # too big to deflate: stored
    with zipfile.ZipFile(target) as wacz:
        infos = {info.filename: info for info in wacz.infolist()}
        assert not _zip64_fields(infos["archive/small.warc.gz"].extra)
        assert _zip64_fields(infos["archive/big.warc.gz"].extra)
        assert infos["indexes/index.cdx"].compress_type == zipfile.ZIP_STORED
        for info in infos.values():
            _assert_headers_agree(target, info)
        assert wacz.read("archive/big.warc.gz") == big.read_bytes()


@pytest.mark.index
def test_a_broken_wacz_fails_the_check(archive: Path, tmp_path: Path) -> None:
    """The check reads the validator's verdict: a resource named like a WARC file (with '~'),
    or a file whose hash is wrong, fails it although the validator exits 0."""
    good = tmp_path / "good.wacz"
    with Index.open(archive) as index:
        write_wacz(index, good)
    assert wacz_validate(good)[0]

    def rewrite(target: Path, change) -> None:
        with zipfile.ZipFile(good) as src, zipfile.ZipFile(target, "w") as dst:
            package = json.loads(src.read("datapackage.json"))
            change(package)
            for info in src.infolist():
                if info.filename == "datapackage.json":
                    dst.writestr(info.filename, json.dumps(package))
                elif info.filename != "datapackage-digest.json":
                    dst.writestr(info, src.read(info.filename))

    bad_name = tmp_path / "bad-name.wacz"
    rewrite(bad_name, lambda package: package["resources"][0].update(name="portal-1~vm.warc.gz"))
    ok, output = wacz_validate(bad_name)
    assert not ok and "invalid" in output, output

    bad_hash = tmp_path / "bad-hash.wacz"
    rewrite(bad_hash, lambda package: package["resources"][0].update(hash="sha256:" + "0" * 64))
    ok, output = wacz_validate(bad_hash)
    assert not ok and "hash" in output.lower(), output


def test_resource_names() -> None:
    taken: set[str] = set()
    name = "portal-2026-00001-4012-host.warc.gz"
    assert resource_name("archive/portal-2026-00001-4012~Host.warc.gz", taken) == name
    assert resource_name("archive/portal-2026-00001-4012~host.warc.gz", taken) == name + "-2"


@pytest.mark.index
def test_missing_or_truncated_warc_files_are_named(archive: Path, tmp_path: Path) -> None:
    files = sorted((archive / "warc").glob("*.warc.gz"))
    files[0].unlink()
    data = files[1].read_bytes()
    files[1].write_bytes(data[: len(data) // 2])
    with Index.open(archive) as index:
        with pytest.raises(ReplayError) as raised:
            list(cdxj_lines(index))
        message = str(raised.value)
        assert files[0].name in message and "missing" in message
        assert files[1].name in message and "truncated" in message
        assert files[2].name not in message
        with pytest.raises(ReplayError):
            write_wacz(index, tmp_path / "x.wacz")
    assert not (tmp_path / "x.wacz").exists()
    for command in ("cdxj", "wacz"):
        extra = ["-o", str(tmp_path / f"cli.{command}")]
        result = run([sys.executable, "-m", "archive.cli", command, "--archive", str(archive), *extra],
                     capture_output=True, text=True, timeout=120)
        assert result.returncode != 0 and files[0].name in result.stderr and files[1].name in result.stderr
        assert "Traceback" not in result.stderr
        assert not (tmp_path / f"cli.{command}").exists()


@pytest.mark.index
def test_archive_options_before_or_after_the_subcommand(archive: Path, tmp_path: Path) -> None:
    moved = tmp_path / "moved"
    shutil.copytree(archive / "warc", moved)
    outputs = []
    for args in (["--archive", str(archive), "show", PAGE, "--raw"],
                 ["show", PAGE, "--raw", "--archive", str(archive)],
                 ["--index", index_url_for(archive), "--warc-dir", str(moved), "show", PAGE, "--raw"],
                 ["--archive", "/nonexistent", "show", PAGE, "--raw", "--archive", str(archive)]):
        result = run([sys.executable, "-m", "archive.cli", *args], capture_output=True, timeout=120)
        assert result.returncode == 0, result.stderr.decode()
        outputs.append(result.stdout)
    assert outputs == [PAGE_BODY.replace("正文".encode(), "新".encode())] * 4
