"""Alembic environment: migrate the connection handed in by skinapp.store.db.upgrade."""

from __future__ import annotations

from alembic import context

from skinapp.store.schema import metadata

connection = context.config.attributes.get("connection")
if connection is None:  # pragma: no cover - only when a developer runs the alembic CLI
    from skinapp.store.db import create_store_engine

    connection = create_store_engine().connect()

context.configure(connection=connection, target_metadata=metadata, render_as_batch=True)
with context.begin_transaction():
    context.run_migrations()
