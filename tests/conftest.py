from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from support import run_crawl

from crawler.settings import PAGE_WORKERS
from demo.server import DemoServer
from demo.site import Site, build_site

# CI's promises (no quiet skips; every index-touching test marked `index`): tests/ci_guard.py;
# tests sharing a scoped crawl kept on one xdist worker: tests/xdist_groups.py.
pytest_plugins = ["ci_guard", "xdist_groups", "cpu_report", "pytester"]


@dataclass
class CrawledPortal:
    """A demo portal served on loopback and the archive one generic crawl made of it."""

    site: Site
    server: DemoServer
    archive: Path
    log: str

    def requested(self) -> list[str]:
        return [entry.path for entry in self.server.requests]


def _crawl(tmp_path_factory: pytest.TempPathFactory, style: str) -> Iterator[CrawledPortal]:
    site = build_site(style=style)
    archive = tmp_path_factory.mktemp(f"archive-{style}")
    with DemoServer(site) as server:
        # The shipped page workers (FAST parses inline): what most tests read crosses them.
        result = run_crawl(archive, f"start_url={server.url}", settings={"PAGE_WORKERS": str(PAGE_WORKERS)})
        yield CrawledPortal(site, server, archive, result.stderr)


@pytest.fixture(scope="session")
def trs_portal(tmp_path_factory: pytest.TempPathFactory) -> Iterator[CrawledPortal]:
    """The TRS-style demo portal, crawled without a site profile (a portal never seen)."""
    yield from _crawl(tmp_path_factory, "trs")


@pytest.fixture(scope="session")
def art_portal(tmp_path_factory: pytest.TempPathFactory) -> Iterator[CrawledPortal]:
    """The other CMS style, to show nothing depends on one template."""
    yield from _crawl(tmp_path_factory, "art")
