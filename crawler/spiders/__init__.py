"""Spiders: ``portal`` crawls any portal, generically or with a site profile."""
