"""Alembic migrations of the index schema (``portal-archive db upgrade``)."""
