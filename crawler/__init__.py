"""The crawl: spiders, settings, the capture hook, page classification, extraction, encoding."""

__version__ = "0.1.0"

# No credentials in any log line of a crawl (a link's user:pass@, an index URL's password).
from archive.redact import install_log_redaction  # noqa: E402

install_log_redaction()
