"""The tables of saved work, as SQLAlchemy Core objects the library queries through.

The migrations in migrations/versions create the same tables; tests check that the two agree. Every saved
item has an owner, a visibility (private, team, everyone), the owner's team when it was saved and a version
that grows by one with each save, so a save over a newer version can be refused.
"""

from __future__ import annotations

import sqlalchemy as sa

VISIBILITIES = ("private", "team", "everyone")
metadata = sa.MetaData()


def _saved(name: str, *extra: sa.Column) -> sa.Table:
    """A table of named saved items with the columns every saved item has."""
    return sa.Table(
        name, metadata,
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


users = sa.Table(
    "users", metadata,
    sa.Column("login", sa.String(200), primary_key=True),  # lower case, as sign-in looks it up
    sa.Column("display_login", sa.String(200), nullable=False),
    sa.Column("name", sa.String(200), nullable=False),
    sa.Column("role", sa.String(20), nullable=False),
    sa.Column("rep_id", sa.String(200)),
    sa.Column("source", sa.String(40), nullable=False),
)

ratings = sa.Table(
    "ratings", metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("rep_id", sa.String(200), nullable=False),
    sa.Column("quarter", sa.String(10), nullable=False),
    sa.Column("version", sa.Integer, nullable=False),
    sa.Column("scores", sa.Text, nullable=False),
    sa.Column("comment", sa.Text, nullable=False),
    sa.Column("author", sa.String(200), nullable=False),
    sa.Column("created_at", sa.String(40), nullable=False),
    # Append-only: (rep, quarter, version) is unique, so two saves from the same version cannot both land.
    sa.UniqueConstraint("rep_id", "quarter", "version", name="uq_ratings_version"),
    sa.Index("ix_ratings_quarter", "quarter", "rep_id"),
)

target_sets = _saved("target_sets", sa.Column("rows", sa.LargeBinary, nullable=False))
scorecards = _saved("scorecards", sa.Column("role", sa.String(40), nullable=False))
scenarios = _saved("scenarios")

audit_log = sa.Table(
    "audit_log", metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("at", sa.String(40), nullable=False),
    sa.Column("who", sa.String(200), nullable=False),
    sa.Column("action", sa.String(60), nullable=False),
    sa.Column("what", sa.Text, nullable=False),
)

legacy_imports = sa.Table(
    "legacy_imports", metadata,
    sa.Column("source", sa.String(500), primary_key=True),
    sa.Column("imported_at", sa.String(40), nullable=False),
    sa.Column("items", sa.Integer, nullable=False),
)
