"""Every command block of README.md runs as written (issue 25), in README order, in one
shell-like session in a scratch directory: the demo is archived by the README's own
commands, then every other command runs against that archive and a served demo portal.

How a block is read:

- ```` ```sh ```` / ```` ```bash ````: commands, one per line (``\\`` joins lines; ``>>>``
  lines are typed into the ``scrapy shell`` above them; ``name=value`` lines are kept for
  the commands after them, as a shell keeps variables). Each command must exit as
  ``EXIT`` says (0 unless listed), without a traceback, and say what ``SAYS`` expects.
- ```` ```python ````: run as a script.
- ```` ```cron ````: a crontab line, for cron to run: skipped.
- no language: output shown as an example, not run.

A command is run as written unless a rule below says otherwise, so a new command in the
README is run too. Rules never change what a command does, only where it points:

- ``STAND_INS``: the same command aimed at the test's scratch directory or at the demo
  portal the test serves (``http://www.example.gov.cn/`` stands for any portal);
- ``SKIPPED``: what cannot run here, with the reason (and where it is tested instead).

The README's demo URLs name port 8000, where ``bash scripts/demo`` serves the portal when
it is free; if it was not, they are read with the port the demo said. Crawls read the
project's settings with politeness off (``readme_settings.py``: no delay between requests
to the loopback server), which changes how fast, not what.
"""

from __future__ import annotations

import os
import re
import subprocess
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from support import POSTGRES, ROOT

from demo.server import DemoServer
from demo.site import build_site

pytestmark = [pytest.mark.slow,
              pytest.mark.skipif(bool(POSTGRES), reason="the README's examples use SQLite: run in the SQLite pass")]

README = ROOT / "README.md"
DEMO_BASE = "http://127.0.0.1:8000/"

SKIPPED: list[tuple[str, str]] = [
    (r"^bash scripts/test\b", "the test suite itself"),
    (r"^scrapyd-deploy\b|^curl http://localhost:6800/",
     "needs a scrapyd server: tests/test_scrapyd.py deploys, schedules and cancels end to end"),
    (r"^round=|SCHEDULER=scrapy_redis", "needs Redis and PostgreSQL servers: tests/test_scale_out.py"),
    (r"-a sites=seeds/example\.toml", "its seeds are real portals on the internet"),
    (r"-a site=all\b", "crawls every profile's own start URLs (the demo profile names port 8000, not necessarily "
                       "where the test's server is)"),
]
# (pattern, replacement, why): where a command is pointed, never what it does.
STAND_INS: list[tuple[str, str, str]] = [
    (r"^bash scripts/demo\b", "bash {root}/scripts/demo --archive {work}/data/demo",
     "scripts/demo archives into the repository's data/demo; here, into the scratch directory"),
    (r"^python -m demo\.server &.*$", "",
     "the test serves the demo portal itself, where the demo's archive has its URLs"),
    (r"http://www\.example\.gov\.cn/", "{base}", "any portal: here, the demo portal"),
]
EXIT: dict[str, int] = {}  # pattern -> the exit status the README documents, when it is not 0
# pattern -> what the command must say (stdout and stderr together), the truth the demo knows
SAYS: list[tuple[str, str]] = [
    (r"^bash scripts/demo", "finished in"),
    (r"^scrapy shell ", "依靠改革优化营商环境"),
    (r"^scrapy parse ", "'title': '依靠改革优化营商环境"),
    (r"search 消防安全", "消防安全"),
    (r"show \$url --at crawl:1", "依靠改革优化营商环境"),
    (r"changes --kind edited", "edited"),
    (r"diff \$url$", "{+"),
    (r"diff \$url --from crawl:1 --to crawl:2", "已更正"),
    (r"images \$url", "00-475972.gif"),
    (r"verify$", "OK:"),
    (r"db upgrade", "already at"),
    (r"extract page\.html", '"title": "依靠改革优化营商环境'),
]

SETTINGS = '''"""The project's settings, with politeness off for the loopback demo server (tests/test_readme.py)."""
from crawler.settings import *  # noqa: F403

DOWNLOAD_DELAY = 0
AUTOTHROTTLE_ENABLED = False
CONCURRENT_REQUESTS_PER_DOMAIN = 8
WARC_FSYNC = False
'''


@dataclass
class Command:
    text: str
    block: int
    stdin: str = ""


@dataclass
class Block:
    language: str
    lines: list[str]
    number: int


def blocks(text: str) -> list[Block]:
    found = re.findall(r"^```(\w*)[^\n]*\n(.*?)^```", text, flags=re.M | re.S)
    return [Block(language, body.splitlines(), number) for number, (language, body) in enumerate(found, 1)]


def commands(block: Block) -> list[Command]:
    out: list[Command] = []
    pending = ""
    for line in block.lines:
        if line.startswith(">>> "):
            assert out, f"block {block.number}: a >>> line with no command before it"
            out[-1].stdin += line[4:] + "\n"
            continue
        if line.rstrip().endswith("\\"):
            pending += line.rstrip()[:-1] + " "
            continue
        line = pending + line
        pending = ""
        if line.strip() and not line.lstrip().startswith("#"):
            out.append(Command(line.strip(), block.number))
    return out


def rule(rules: list[tuple], text: str) -> tuple | None:
    return next((entry for entry in rules if re.search(entry[0], text)), None)


def command_only(text: str) -> str:
    """The command without its trailing comment (for matching the rules)."""
    return re.sub(r"\s+#.*$", "", text)


def assignment(text: str) -> bool:
    return re.fullmatch(r"[A-Za-z_]\w*=\S+", command_only(text)) is not None


@dataclass
class Session:
    work: Path
    env: dict[str, str]
    base: str = DEMO_BASE
    variables: list[str] = field(default_factory=list)
    server: DemoServer | None = None
    ran: list[str] = field(default_factory=list)

    def aimed(self, text: str) -> str:
        for pattern, replacement, _ in STAND_INS:
            text = re.sub(pattern, replacement.format(root=ROOT, work=self.work, base=self.base), text)
        return text.replace(DEMO_BASE, self.base)

    def run(self, command: Command) -> None:
        bare = command_only(command.text)
        if assignment(command.text):
            self.variables.append(self.aimed(bare))
            return
        aimed = self.aimed(command.text).strip()
        if not aimed:
            return  # stood in for by the test (the demo server)
        assert not aimed.rstrip().endswith("&"), f"a background command the test does not know: {command.text}"
        if re.search(r"\b127\.0\.0\.1:\d+|\$url", command_only(aimed)) and not bare.startswith("portal-archive"):
            self.serve()
        script = "\n".join(["set -o pipefail", *self.variables, aimed])
        result = subprocess.run(["bash", "-c", script], cwd=self.work, env=self.env, input=command.stdin,
                                capture_output=True, text=True, timeout=600)
        said = result.stdout + result.stderr
        expected = next((status for pattern, status in EXIT.items() if re.search(pattern, bare)), 0)
        where = f"README block {command.block}: {command.text}\n(ran: {aimed})\n{said[-3000:]}"
        assert result.returncode == expected, where
        assert "Traceback" not in said, where
        for pattern, text in SAYS:
            if re.search(pattern, bare):
                assert text in said, f"{where}\nexpected to say: {text}"
        if match := re.search(r"demo portal \(\w+ style\) served at (http://127\.0\.0\.1:\d+/)", said):
            self.base = match[1]  # where the demo's URLs are (8000, or the port it said)
        self.ran.append(bare)

    def serve(self) -> None:
        """The demo portal, served where the demo's archive has its URLs (after the demo ran)."""
        if self.server is None:
            port = int(self.base.rstrip("/").rsplit(":", 1)[1])
            self.server = DemoServer(build_site(), port=port).start()

    def python(self, block: Block) -> None:
        script = self.work / f"readme-block-{block.number}.py"
        script.write_text("\n".join(block.lines) + "\n", encoding="utf-8")
        result = subprocess.run([str(ROOT / ".venv" / "bin" / "python"), str(script)], cwd=self.work, env=self.env,
                                capture_output=True, text=True, timeout=300)
        assert result.returncode == 0, f"README block {block.number} (python):\n{result.stderr[-3000:]}"
        self.ran.append(f"python block {block.number}")


def test_every_readme_command_block_runs_as_written(tmp_path: Path):
    work = tmp_path / "work"
    work.mkdir()
    (work / ".venv").symlink_to(ROOT / ".venv")  # for `. .venv/bin/activate`
    (work / "seeds").symlink_to(ROOT / "seeds")
    (work / "readme_settings.py").write_text(SETTINGS, encoding="utf-8")
    env = {**os.environ, "PATH": f"{ROOT / '.venv' / 'bin'}{os.pathsep}{os.environ['PATH']}",
           "PYTHONPATH": str(work), "SCRAPY_SETTINGS_MODULE": "readme_settings", "SCRAPY_PYTHON_SHELL": "python",
           "PYTHONUNBUFFERED": "1"}
    env.pop("PORTAL_TEST_POSTGRES", None)
    session = Session(work, env)
    skipped = []
    try:
        for block in blocks(README.read_text(encoding="utf-8")):
            if block.language in ("sh", "bash", "console"):
                for command in commands(block):
                    if reason := rule(SKIPPED, command_only(command.text)):
                        skipped.append((command.text, reason[1]))
                        continue
                    session.run(command)
            elif block.language == "python":
                session.python(block)
            else:
                assert block.language in ("", "text", "cron"), f"README block {block.number}: ```{block.language}"
    finally:
        if session.server is not None:
            session.server.stop()
    # The README's main paths were walked, not skipped.
    for must in (r"^bash scripts/demo", r"^scrapy crawl portal", r"^scrapy shell", r"^scrapy parse",
                 r"^portal-archive .*search", r"^portal-archive .*diff", r"^portal-archive extract"):
        assert any(re.search(must, ran) for ran in session.ran), (must, session.ran)
    assert all(reason for _, reason in skipped)


def test_the_rules_name_commands_the_readme_has():
    """A rule whose command left the README is dead weight: keep the lists true."""
    texts = [command_only(command.text) for block in blocks(README.read_text(encoding="utf-8"))
             for command in commands(block)]
    for pattern, *_ in [*SKIPPED, *STAND_INS, *SAYS]:
        assert any(re.search(pattern, text) for text in texts), f"no README command matches {pattern!r}"
