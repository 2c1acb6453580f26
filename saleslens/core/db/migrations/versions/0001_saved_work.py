"""Saved work: users, ratings (append-only), target sets, scorecards, scenarios, audit log, legacy imports.

Revision ID: 0001
Revises:
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def _saved(name: str, *extra: sa.Column) -> None:
    """A table of named saved items: owner, visibility, version and the item's body."""
    op.create_table(
        name,
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("name", sa.String(200), nullable=False, unique=True),
        sa.Column("owner", sa.String(200), nullable=False),
        sa.Column("owner_team", sa.String(200), nullable=False, server_default=""),
        sa.Column("visibility", sa.String(10), nullable=False, server_default="everyone"),
        sa.Column("version", sa.Integer, nullable=False),
        sa.Column("body", sa.Text, nullable=False),
        sa.Column("created_at", sa.String(40), nullable=False),
        sa.Column("updated_at", sa.String(40), nullable=False),
        sa.Column("updated_by", sa.String(200), nullable=False),
        *extra,
    )


def upgrade() -> None:
    """Create the tables of saved work."""
    op.create_table(
        "users",
        sa.Column("login", sa.String(200), primary_key=True),
        sa.Column("display_login", sa.String(200), nullable=False),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("role", sa.String(20), nullable=False),
        sa.Column("rep_id", sa.String(200)),
        sa.Column("source", sa.String(40), nullable=False),
    )
    op.create_table(
        "ratings",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("rep_id", sa.String(200), nullable=False),
        sa.Column("quarter", sa.String(10), nullable=False),
        sa.Column("version", sa.Integer, nullable=False),
        sa.Column("scores", sa.Text, nullable=False),
        sa.Column("comment", sa.Text, nullable=False),
        sa.Column("author", sa.String(200), nullable=False),
        sa.Column("created_at", sa.String(40), nullable=False),
        sa.UniqueConstraint("rep_id", "quarter", "version", name="uq_ratings_version"),
    )
    op.create_index("ix_ratings_quarter", "ratings", ["quarter", "rep_id"])
    _saved("target_sets", sa.Column("rows", sa.LargeBinary, nullable=False))
    _saved("scorecards", sa.Column("role", sa.String(40), nullable=False))
    _saved("scenarios")
    op.create_table(
        "audit_log",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("at", sa.String(40), nullable=False),
        sa.Column("who", sa.String(200), nullable=False),
        sa.Column("action", sa.String(60), nullable=False),
        sa.Column("what", sa.Text, nullable=False),
    )
    op.create_table(
        "legacy_imports",
        sa.Column("source", sa.String(500), primary_key=True),
        sa.Column("imported_at", sa.String(40), nullable=False),
        sa.Column("items", sa.Integer, nullable=False),
    )


def downgrade() -> None:
    """Drop the tables of saved work."""
    for name in ("legacy_imports", "audit_log", "scenarios", "scorecards", "target_sets", "ratings", "users"):
        op.drop_table(name)
