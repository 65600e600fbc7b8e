"""``portal-archive``: the researcher's command line over an archive directory.

An archive is ``DIR/warc/*.warc.gz`` plus an index (``DIR/index.sqlite`` unless ``--index``
names another database).

One module per command group: reading.py, exporting.py, maintenance.py; what they share
is in common.py.
"""

from __future__ import annotations

import argparse
import os
import sys
from typing import ClassVar

from sqlalchemy.exc import SQLAlchemyError

from archive.access import IndexUnavailable, db_problem
from archive.cli import exporting, maintenance, reading
from archive.cli.common import archive_options
from archive.outputs import OutputRefused

# Each command imports what it needs inside its function (warcio, Alembic, the replay and
# verify modules cost ~0.5 s together), so `show` and `search` start quickly.


class _Parser(argparse.ArgumentParser):
    """Keeps every long option name of every command (``_misspelt_option``)."""

    options: ClassVar[set[str]] = set()

    def add_argument(self, *names: str, **kwargs):  # type: ignore[override]
        _Parser.options.update(name for name in names if name.startswith("--"))
        return super().add_argument(*names, **kwargs)

    def add_mutually_exclusive_group(self, **kwargs):  # type: ignore[override]
        group = super().add_mutually_exclusive_group(**kwargs)
        add = group.add_argument

        def add_argument(*names: str, **options):
            _Parser.options.update(name for name in names if name.startswith("--"))
            return add(*names, **options)

        group.add_argument = add_argument  # type: ignore[method-assign]
        return group


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="portal-archive",
        description="Read, check and export a portal-archiver archive (WARC files + SQL index).",
    )
    archive_options(parser, top=True)
    commands = parser.add_subparsers(dest="command", required=True)
    for group in (reading, exporting, maintenance):
        group.add_commands(commands)
    return parser


def _replay_error() -> type[Exception]:
    from archive.replay import ReplayError  # missing or truncated WARC files behind cdxj/wacz/pywb

    return ReplayError


def _warc_read_error() -> type[Exception]:
    from archive.warc_reader import WarcReadError  # imports warcio: only on the error path

    return WarcReadError


def _misspelt_option(argv: list[str]) -> str | None:
    """An option no command has (``--archvie``), named with the one it likely meant; argparse
    would take its value for the subcommand and say ``invalid choice: 'x'``."""
    import difflib

    known = _Parser.options
    for arg in argv:
        if arg == "--":
            break
        name = arg.split("=", 1)[0]
        if not name.startswith("--") or any(option.startswith(name) for option in known):  # abbreviations
            continue
        close = difflib.get_close_matches(name, sorted(known), n=1)
        return f"unknown option {name}" + (f" (did you mean {close[0]}?)" if close else "")
    return None


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    argv = sys.argv[1:] if argv is None else argv
    if problem := _misspelt_option(argv):
        parser.error(problem)
    args = parser.parse_args(argv)
    try:
        status = args.run(args)
        sys.stdout.flush()  # a reader gone away shows here when the output fit in the buffer
        return status
    except BrokenPipeError:
        # `portal-archive export | head`: the reader has what it wanted. End quietly: the
        # interpreter's last flush of stdout goes nowhere instead of raising again.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0
    except (FileNotFoundError, IndexUnavailable, OutputRefused, _warc_read_error(), _replay_error()) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except SQLAlchemyError as exc:
        print(f"error: the index: {db_problem(exc)}", file=sys.stderr)
        return 2
    except OSError as exc:
        print(f"error: {exc.filename or ''}: {exc.strerror or exc}", file=sys.stderr)
        return 2
