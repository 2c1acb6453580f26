"""Alembic environment: run the migrations on the connection Sales Lens hands over (no alembic.ini)."""

from __future__ import annotations

from alembic import context

from saleslens.core.db.tables import metadata

connection = context.config.attributes["connection"]
context.configure(connection=connection, target_metadata=metadata, render_as_batch=True)
with context.begin_transaction():
    context.run_migrations()
