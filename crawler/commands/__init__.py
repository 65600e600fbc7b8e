"""Scrapy commands overridden so hand-run fetches are never archived (COMMANDS_MODULE)."""
