"""Scrapy commands overridden for pages fetched by hand (COMMANDS_MODULE): shell, fetch,
view, parse and check neither archive nor keep their few requests on disk."""

from __future__ import annotations

import argparse

from scrapy.settings import SETTINGS_PRIORITIES, BaseSettings

# What a hand-run command changes, unless the command line (-s NAME=VALUE) sets it:
# - CAPTURE_ENABLED: pages fetched by hand stay out of the production archive.
# - FRONTIER_ON_DISK: `scrapy shell` (and `fetch()` in it) hands the engine a Request and
#   waits for that very object's callback; a disk queue gives the downloader an unpickled
#   copy instead, whose callback is the spider's default, so the shell waited forever.
HAND_RUN = {"CAPTURE_ENABLED": False, "FRONTIER_ON_DISK": False}


def hand_run_settings(settings: BaseSettings) -> None:
    """Apply HAND_RUN where the command line did not set the setting.

    The crawl defaults live in crawler/settings.py at project priority, which would outrank
    a command's ``default_settings``; so hand-run commands set them here instead.
    """
    for name, value in HAND_RUN.items():
        if settings.getpriority(name) < SETTINGS_PRIORITIES["cmdline"]:
            settings.set(name, value, priority="cmdline")


class HandRunMixin:
    """For a Scrapy command run by hand: no archiving, the frontier in memory (HAND_RUN)."""

    settings: BaseSettings

    def process_options(self, args: list[str], opts: argparse.Namespace) -> None:
        super().process_options(args, opts)  # type: ignore[misc]
        hand_run_settings(self.settings)
