"""Scrapy commands overridden so hand-run fetches are never archived (COMMANDS_MODULE)."""

from __future__ import annotations

import argparse

from scrapy.settings import SETTINGS_PRIORITIES, BaseSettings


def capture_off_unless_asked(settings: BaseSettings) -> None:
    """Turn CAPTURE_ENABLED off unless the command line (``-s CAPTURE_ENABLED=1``) set it.

    Its default (True, for crawls) lives in crawler/settings.py at project priority, which
    would outrank a command's ``default_settings``; so hand-run commands set it here instead.
    """
    if settings.getpriority("CAPTURE_ENABLED") < SETTINGS_PRIORITIES["cmdline"]:
        settings.set("CAPTURE_ENABLED", False, priority="cmdline")


class NoCaptureMixin:
    """For a Scrapy command: pages fetched by hand stay out of the production archive."""

    settings: BaseSettings

    def process_options(self, args: list[str], opts: argparse.Namespace) -> None:
        super().process_options(args, opts)  # type: ignore[misc]
        capture_off_unless_asked(self.settings)
