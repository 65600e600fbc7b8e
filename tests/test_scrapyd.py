"""scrapyd for real: deploy the project's egg with scrapyd-deploy, schedule crawls of a demo
portal with schedule.json, check the archive; cancel one with cancel.json (SIGTERM) and
check the archive it leaves is clean and the crawl is marked interrupted.

scrapyd runs the project from its egg, a zip file: this is what catches data files read
by path (migrations, profiles, chrome rules) that a checkout never notices.
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.parse
import urllib.request
from pathlib import Path

import pytest
from sqlalchemy import select
from support import FAST, ROOT, archive_settings, index, verify, warc_files, warcio_check

from archive.models import articles, captures, crawls
from demo.server import DemoServer
from demo.site import build_site

pytestmark = [pytest.mark.slow, pytest.mark.crawl]

BIN = Path(sys.executable).parent
PROJECT = "portal_archiver"
needs_scrapyd = pytest.mark.skipif(
    shutil.which("scrapyd-deploy", path=str(BIN)) is None or shutil.which("scrapyd", path=str(BIN)) is None,
    reason="scrapyd and scrapyd-client are not installed (pip install -e '.[test]')",
)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class Scrapyd:
    def __init__(self, home: Path) -> None:
        self.home = home
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}/"
        (home / "scrapyd.conf").write_text(f"""[scrapyd]
bind_address = 127.0.0.1
http_port = {self.port}
eggs_dir = {home / 'eggs'}
logs_dir = {home / 'logs'}
dbs_dir = {home / 'dbs'}
poll_interval = 0.5
max_proc = 2
""")
        (home / "cfg").mkdir()
        (home / "cfg" / "scrapy.cfg").write_text(f"[deploy:test]\nurl = {self.url}\nproject = {PROJECT}\n")
        # Started outside the checkout, so only the deployed egg can provide the project.
        self.process = subprocess.Popen([str(BIN / "scrapyd")], cwd=home, stdout=(home / "scrapyd.out").open("wb"),
                                        stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 60
        while True:
            try:
                if self.get("daemonstatus.json")["status"] == "ok":
                    break
            except OSError:
                if time.monotonic() > deadline or self.process.poll() is not None:
                    raise RuntimeError(f"scrapyd did not start: {(home / 'scrapyd.out').read_text()}") from None
                time.sleep(0.3)

    def get(self, path: str, **params: str) -> dict:
        query = f"?{urllib.parse.urlencode(params)}" if params else ""
        with urllib.request.urlopen(self.url + path + query, timeout=30) as response:
            return json.loads(response.read())

    def post(self, path: str, fields: list[tuple[str, str]]) -> dict:
        data = urllib.parse.urlencode(fields).encode()
        with urllib.request.urlopen(self.url + path, data=data, timeout=30) as response:
            return json.loads(response.read())

    def deploy(self) -> str:
        env = {**os.environ, "XDG_CONFIG_HOME": str(self.home / "cfg"), "PATH": f"{BIN}:{os.environ['PATH']}"}
        result = subprocess.run([str(BIN / "scrapyd-deploy"), "test", "--version", "t1"], cwd=ROOT, env=env,
                                capture_output=True, text=True, timeout=300)
        assert result.returncode == 0, result.stdout + result.stderr
        return result.stdout + result.stderr

    def schedule(self, archive: Path, start_url: str, **settings: str) -> str:
        fields = [("project", PROJECT), ("spider", "portal"), ("start_url", start_url)]
        for name, value in {**FAST, **archive_settings(archive), **settings}.items():
            fields.append(("setting", f"{name}={value}"))
        answer = self.post("schedule.json", fields)
        assert answer["status"] == "ok", answer
        return answer["jobid"]

    def state(self, job: str) -> str | None:
        jobs = self.get("listjobs.json", project=PROJECT)
        for state in ("pending", "running", "finished"):
            if any(entry["id"] == job for entry in jobs[state]):
                return state
        return None

    def wait(self, job: str, state: str = "finished", timeout: float = 300) -> None:
        deadline = time.monotonic() + timeout
        while self.state(job) != state:
            assert time.monotonic() < deadline, f"job {job} not {state} after {timeout} s: {self.log(job)[-3000:]}"
            time.sleep(0.5)

    def log(self, job: str) -> str:
        path = self.home / "logs" / PROJECT / "portal" / f"{job}.log"
        return path.read_text(errors="replace") if path.exists() else ""

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.process.kill()


@pytest.fixture(scope="module")
def scrapyd(tmp_path_factory):
    daemon = Scrapyd(tmp_path_factory.mktemp("scrapyd"))
    try:
        output = daemon.deploy()
        assert '"status": "ok"' in output, output
        assert daemon.get("listspiders.json", project=PROJECT)["spiders"] == ["portal"]
        yield daemon
    finally:
        daemon.stop()


@needs_scrapyd
def test_a_scheduled_crawl_archives_the_portal(scrapyd, tmp_path):
    site = build_site(style="trs")
    archive = tmp_path / "archive"
    with DemoServer(site, host="127.0.0.2") as server:
        job = scrapyd.schedule(archive, server.url)
        scrapyd.wait(job)
    log = scrapyd.log(job)
    assert "Traceback" not in log, log[-3000:]
    with index(archive).connect() as conn:
        got = {urllib.parse.urlsplit(url).path: title for url, title in conn.execute(select(articles.c.url,
                                                                                           articles.c.title))}
        status = conn.execute(select(crawls.c.status)).scalars().all()
    assert got == site.articles
    assert status == ["finished"]
    warcio_check(warc_files(archive))
    assert verify(archive).returncode == 0


@needs_scrapyd
def test_cancel_leaves_a_clean_archive(scrapyd, tmp_path):
    site = build_site(style="art", channels=4, articles_per_channel=40)
    archive = tmp_path / "archive"
    with DemoServer(site, host="127.0.0.3", delay=0.1) as server:
        job = scrapyd.schedule(archive, server.url)
        deadline = time.monotonic() + 180
        while len(server.requests) < 20:
            assert time.monotonic() < deadline, scrapyd.log(job)[-3000:]
            time.sleep(0.2)
        answer = scrapyd.post("cancel.json", [("project", PROJECT), ("job", job)])
        assert answer["status"] == "ok", answer
        scrapyd.wait(job)
        fetched = len(server.requests)
    log = scrapyd.log(job)
    assert "Traceback" not in log, log[-3000:]
    with index(archive).connect() as conn:
        rows = conn.execute(select(crawls.c.status, crawls.c.stats)).all()
        archived = conn.execute(select(captures.c.id)).all()
        written = conn.execute(select(articles.c.id)).all()
    assert [row.status for row in rows] == ["interrupted"]
    assert rows[0].stats["finish_reason"] == "shutdown"
    assert 0 < len(archived) <= fetched and len(written) < len(site.articles)
    warcio_check(warc_files(archive))
    result = verify(archive)
    assert result.returncode == 0, result.stdout + result.stderr
