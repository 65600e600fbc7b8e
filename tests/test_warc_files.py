"""WARC writing and reading without a crawl: rotation, naming, and other tools' files."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
from support import CORPUS, needs_shared, warcio_check
from warcio.archiveiterator import ArchiveIterator
from zygote import run

from archive.records import HttpExchange, build_pair
from archive.warc_reader import WarcReadError, iter_records, read_record
from archive.warc_writer import RotatingWarcWriter

GOOD = sorted(path for path in (CORPUS / "warc").glob("*.warc*"))
MALFORMED = sorted((CORPUS / "warc" / "malformed").glob("*"))


def exchange(n: int, body: bytes = b"<html>\xe4\xbd\xa0\xe5\xa5\xbd</html>") -> HttpExchange:
    return HttpExchange(
        url=f"http://127.0.0.1/a/{n}.html?x={n}",
        status=200,
        response_headers=[(b"Content-Type", b"text/html; charset=utf-8"), (b"Set-Cookie", b"a=1"),
                          (b"Set-Cookie", b"b=2"), (b"Transfer-Encoding", b"chunked")],
        body=body * 50,
        request_headers=[(b"User-Agent", b"test")],
        ip_address="127.0.0.1",
    )


def test_rotation_keeps_pairs_together_and_closes_every_file(tmp_path: Path):
    writer = RotatingWarcWriter(tmp_path, prefix="t", max_size=4000, warcinfo={"software": "test"})
    locations = []
    for n in range(12):
        request, response = build_pair(writer.builder, exchange(n))
        locations.append(writer.write(response, request))
        writer.rotate_if_full()
    writer.close()
    files = sorted(tmp_path.iterdir())
    assert len(files) > 2 and all(path.name.endswith(".warc.gz") for path in files)
    for response_at, request_at in locations:
        assert response_at.filename == request_at.filename
        record, payload = read_record(tmp_path / response_at.filename, response_at.offset)
        assert record.rec_type == "response" and payload.startswith(b"<html>")
    for path in files:
        with open(path, "rb") as stream:
            types = [record.rec_type for record in ArchiveIterator(stream)]
        assert types[0] == "warcinfo" and types.count("response") == types.count("request")
    warcio_check(files)


def test_records_keep_repeated_headers_and_drop_transfer_encoding(tmp_path: Path):
    writer = RotatingWarcWriter(tmp_path)
    request, response = build_pair(writer.builder, exchange(1))
    where, _ = writer.write(response, request)
    writer.close()
    record, _ = read_record(tmp_path / where.filename, where.offset)
    headers = record.http_headers.headers
    assert [value for name, value in headers if name == "Set-Cookie"] == ["a=1", "b=2"]
    assert not [name for name, _ in headers if name.lower() == "transfer-encoding"]
    assert record.http_headers.statusline == "200 OK"
    assert request.http_headers.statusline == "/a/1.html?x=1 HTTP/1.1"


def test_non_http1_protocol_goes_in_warc_protocol(tmp_path: Path):
    writer = RotatingWarcWriter(tmp_path)
    item = exchange(2)
    item.protocol = "h2"
    item.truncated = "length"
    _, response = build_pair(writer.builder, item)
    assert response.rec_headers.get_header("WARC-Protocol") == "h2"
    assert response.rec_headers.get_header("WARC-Truncated") == "length"
    assert response.http_headers.protocol == "HTTP/1.1"


@pytest.mark.parametrize("path", GOOD, ids=lambda path: path.name)
def test_reader_reads_other_tools_files(path: Path):
    records = list(iter_records(path))
    assert records
    assert all(info.length > 0 for info in records)


@pytest.mark.parametrize("path", MALFORMED, ids=lambda path: path.name)
def test_reader_names_the_problem_in_malformed_files(path: Path):
    with pytest.raises(WarcReadError) as raised:
        list(iter_records(path))
    assert str(path) in str(raised.value)


@needs_shared
def test_verify_reports_malformed_files_without_a_traceback():
    result = run([sys.executable, "-m", "archive.cli", "verify", *map(str, MALFORMED + GOOD)],
                 capture_output=True, text=True)
    assert result.returncode == 1
    assert "Traceback" not in result.stdout + result.stderr
    # Each malformed file is named, each good one is not (reading resumes past a bad record,
    # so one file may have several).
    errors = [line for line in result.stdout.splitlines() if line.startswith("error:")]
    assert {path for path in MALFORMED + GOOD if any(f"error: {path} " in line for line in errors)} == set(MALFORMED)


@needs_shared
def test_reading_a_missing_offset_is_a_clear_error(tmp_path: Path):
    path = GOOD[0]
    with pytest.raises(WarcReadError, match="offset"):
        read_record(path, path.stat().st_size + 10)
