"""Alembic migrations of the case store (run by :func:`skinapp.store.db.upgrade`)."""
