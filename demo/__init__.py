"""Synthetic Chinese government portal served on loopback.

Crawler, archive and extraction code needs realistic pages (TRS/JCMS URL
schemes, script-only pagination, GBK pages, traps, gzip and chunked responses)
without touching the network, and with bytes that never change between runs.
"""
