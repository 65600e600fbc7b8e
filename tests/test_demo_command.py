"""The README's main command: serve the demo portal on loopback and archive it."""

from __future__ import annotations

import subprocess
import sys

import pytest
from support import ROOT

pytestmark = pytest.mark.slow


def test_python_m_demo_archives_the_demo_portal(tmp_path):
    result = subprocess.run([sys.executable, "-m", "demo", "--archive", str(tmp_path / "demo")], cwd=ROOT,
                            capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr[-3000:]
    assert "Traceback" not in result.stderr
    assert "articles indexed: 36" in result.stdout
    assert "captures by HTTP status: 200:" in result.stdout and "404: 1" in result.stdout
    assert list((tmp_path / "demo" / "warc").glob("*.warc.gz"))
