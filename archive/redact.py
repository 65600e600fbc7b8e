"""Credentials never reach a log: the ``user:password@`` part of any URL is replaced.

A page may link to ``http://user:pass@host/``; an index URL may carry a database password.
``install_log_redaction`` wraps the logging record factory, so every record of the process,
from Scrapy's "Crawled" lines to our own, is cleaned once when it is made.
"""

from __future__ import annotations

import logging
import re

_USERINFO = re.compile(r"(?<=://)[^/?#@\s'\"<>]*@")


def redact(text: str) -> str:
    """``text`` with the userinfo of every URL in it replaced by ``***``."""
    return _USERINFO.sub("***@", text) if "@" in text else text


def install_log_redaction() -> None:
    """Make every log record of this process carry redacted text (idempotent)."""
    previous = logging.getLogRecordFactory()
    if getattr(previous, "redacts_credentials", False):
        return

    def factory(*args, **kwargs) -> logging.LogRecord:
        record = previous(*args, **kwargs)
        try:
            message = record.getMessage()
        except (TypeError, ValueError):  # a bad format string: logging reports it itself
            return record
        if "@" in message:
            clean = redact(message)
            if clean != message:
                record.msg, record.args = clean, None
        return record

    factory.redacts_credentials = True  # type: ignore[attr-defined]
    logging.setLogRecordFactory(factory)
