"""Scale-out on an existing engine: two crawler processes share a scrapy-redis frontier and
one index, so each page is fetched once and each article indexed once."""

from __future__ import annotations

import collections
import shutil
import socket
import subprocess
import time

import pytest
from sqlalchemy import func, select
from support import ROOT, crawl_command, index, verify
from zygote import popen

from archive.models import articles
from demo.server import DemoServer
from demo.site import build_site

pytestmark = [
    pytest.mark.slow,
    pytest.mark.index,
    pytest.mark.skipif(shutil.which("redis-server") is None, reason="redis-server is not installed"),
]


@pytest.fixture
def redis_url(tmp_path):
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    server = subprocess.Popen(["redis-server", "--port", str(port), "--bind", "127.0.0.1", "--save", "",
                               "--appendonly", "no", "--dir", str(tmp_path)], stdout=subprocess.DEVNULL)
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            break
        except OSError:
            time.sleep(0.05)
    yield f"redis://127.0.0.1:{port}"
    server.terminate()
    server.wait(timeout=10)


def test_two_workers_share_the_frontier(tmp_path, redis_url):
    site = build_site()
    round_ = "test-round"
    shared = {
        "SCHEDULER": "scrapy_redis.scheduler.Scheduler",
        "DUPEFILTER_CLASS": "scrapy_redis.dupefilter.RFPDupeFilter",
        "REDIS_URL": redis_url,
        "SCHEDULER_PERSIST": "True",
        "SCHEDULER_QUEUE_KEY": f"%(spider)s:{round_}:requests",
        "SCHEDULER_DUPEFILTER_KEY": f"%(spider)s:{round_}:dupefilter",
        "SCHEDULER_IDLE_BEFORE_CLOSE": "2",
    }
    with DemoServer(site, delay=0.01) as server:
        processes = []
        for _ in range(2):
            command = crawl_command(tmp_path, f"start_url={server.url}", settings=shared)
            processes.append(popen(command, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE))
        errors = [process.communicate(timeout=180)[1].decode() for process in processes]
        assert [process.returncode for process in processes] == [0, 0], errors
        fetched = collections.Counter(entry.path for entry in server.requests if entry.path != "/robots.txt")
    assert max(fetched.values()) == 1, {path: n for path, n in fetched.items() if n > 1}
    with index(tmp_path).connect() as conn:
        per_url = conn.execute(select(articles.c.url, func.count()).group_by(articles.c.url)).all()
    assert len(per_url) == len(site.articles) and {count for _, count in per_url} == {1}
    assert verify(tmp_path).returncode == 0
