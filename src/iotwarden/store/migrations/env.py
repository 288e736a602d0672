"""Alembic environment: migrations run on the connection the store hands over (see store.db)."""

from __future__ import annotations

from alembic import context

from iotwarden.store.schema import metadata

connection = context.config.attributes.get("connection")
if connection is None:  # pragma: no cover - only reachable through the alembic CLI
    raise RuntimeError("run migrations through iotwarden.store.db.upgrade()")

context.configure(connection=connection, target_metadata=metadata, render_as_batch=True)
with context.begin_transaction():
    context.run_migrations()
