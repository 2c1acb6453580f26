"""A manager's qualitative ratings and comment per rep per quarter, kept in the database of saved work.

Ratings are append-only: each change is a new row with its author and time, numbered per (quarter, rep);
the latest row counts, and the history is visible to those who may see the rep. Who may rate whom is
decided here (saleslens.core.access.check_may_rate): the rep's managers up the hierarchy, leaders and
admins, never the rep herself. A save from an older version than the latest is refused, naming who changed
it and when. Every change is written to the audit log in the same transaction.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import sqlalchemy as sa

from saleslens.core import access, db
from saleslens.core.db import tables
from saleslens.rankings.scorecards import RATING_CRITERIA, RATING_SCALE, parse_quarter, quarter_of

MAX_COMMENT = 2000
Who = access.User | access.Grant | access.Actor


class RatingError(ValueError):
    """A rating that cannot be saved, told in one line."""


class StaleRating(RatingError):
    """A save over a rating someone changed after the form was opened."""


# Every refusal a save can meet, each told in one line: pages show them as a message.
SAVE_ERRORS = (RatingError, access.PermissionDenied, db.DatabaseError, OSError)


@dataclass(frozen=True)
class Rating:
    """One rep's ratings (criterion -> 1..5) and comment for one quarter, as of one version."""

    rep_id: str
    quarter: str
    scores: dict[str, int] = field(hash=False, default_factory=dict)
    comment: str = ""
    updated_at: str = ""
    updated_by: str = ""
    version: int = 0  # 0: not stored yet

    def to_json(self) -> dict:
        """The rating as a JSON document (exports, CLI)."""
        return {"rep_id": self.rep_id, "quarter": self.quarter, "scores": self.scores, "comment": self.comment,
                "updated_at": self.updated_at, "updated_by": self.updated_by, "version": self.version}

    @property
    def empty(self) -> bool:
        """Whether the rating was cleared (no score, no comment)."""
        return not self.scores and not self.comment


def normal_quarter(quarter: str) -> str:
    """A quarter in its canonical spelling (2026Q3); raises ValueError for anything else."""
    start, _ = parse_quarter(quarter)
    return quarter_of(start)


def validate(rating: Rating) -> Rating:
    """The rating checked and tidied: known criteria, whole scores in the scale, a bounded comment."""
    if not rating.rep_id or not rating.rep_id.strip():
        raise RatingError("a rating needs a rep")
    try:
        quarter = normal_quarter(rating.quarter)
    except ValueError as exc:
        raise RatingError(str(exc)) from None
    lo, hi = RATING_SCALE
    scores: dict[str, int] = {}
    for criterion, value in rating.scores.items():
        if criterion not in RATING_CRITERIA:
            raise RatingError(f"unknown rating '{criterion}' (one of {', '.join(RATING_CRITERIA)})")
        if value is None:
            continue
        if isinstance(value, bool) or not float(value).is_integer() or not lo <= float(value) <= hi:
            raise RatingError(f"'{criterion}' must be a whole number from {lo} to {hi}, not {value!r}")
        scores[criterion] = int(value)
    comment = (rating.comment or "").strip()
    if len(comment) > MAX_COMMENT:
        raise RatingError(f"the comment is {len(comment)} characters; the limit is {MAX_COMMENT}")
    return Rating(rating.rep_id.strip(), quarter, scores, comment, rating.updated_at, rating.updated_by,
                  rating.version)


def _row(row: sa.RowMapping) -> Rating:
    return Rating(row["rep_id"], row["quarter"], {str(k): int(v) for k, v in json.loads(row["scores"]).items()},
                  row["comment"], row["created_at"], row["author"], int(row["version"]))


def _latest(conn: sa.Connection, quarter: str, rep_id: str) -> Rating | None:
    t = tables.ratings
    row = conn.execute(sa.select(t).where(t.c.quarter == quarter, t.c.rep_id == rep_id)
                       .order_by(t.c.version.desc()).limit(1)).mappings().first()
    return _row(row) if row is not None else None


def _stale(latest: Rating) -> str:
    return (f"the rating of {latest.rep_id} for {latest.quarter} was changed by {latest.updated_by or 'someone'} "
            f"at {latest.updated_at} (version {latest.version}); reload to see their change")


def _append(data_dir: Path, clean: Rating, who: Who, expected_version: int | None, action: str) -> Rating:
    """Append one version of a rating as `who`, after the permission and version checks; audited."""
    actor = access.actor(who, data_dir)
    access.check_may_rate(actor, clean.rep_id)
    now = datetime.now(UTC).isoformat(timespec="seconds")
    with db.get(data_dir).begin() as conn:
        latest = _latest(conn, clean.quarter, clean.rep_id)
        version = latest.version if latest else 0
        if expected_version is not None and latest is not None and version != expected_version:
            raise StaleRating(_stale(latest))
        stored = Rating(clean.rep_id, clean.quarter, clean.scores, clean.comment, now, actor.login, version + 1)
        try:
            with conn.begin_nested():
                conn.execute(tables.ratings.insert().values(
                    rep_id=stored.rep_id, quarter=stored.quarter, version=stored.version,
                    scores=json.dumps(stored.scores), comment=stored.comment, author=stored.updated_by,
                    created_at=stored.updated_at))
        except sa.exc.IntegrityError:  # another save of the same version landed first
            raise StaleRating(_stale(_latest(conn, clean.quarter, clean.rep_id) or stored)) from None
        access.record(conn, actor.login, action, f"{stored.rep_id} {stored.quarter} (version {stored.version})")
    return stored


def save(data_dir: Path, rating: Rating, who: Who | None = None, expected_version: int | None = None) -> Rating:
    """Validate and append a rating as `who`; returns what was stored (with its time, author and version).

    `expected_version` is the version the user started from (0 for none): a newer stored one is refused.
    """
    return _append(data_dir, validate(rating), who, expected_version, "save-rating")


def delete(data_dir: Path, quarter: str, rep_id: str, who: Who | None = None) -> bool:
    """Clear a rating by appending an empty version (history is kept); False when there was none."""
    current = load(data_dir, quarter, rep_id)
    if current is None:
        return False
    _append(data_dir, Rating(rep_id, normal_quarter(quarter)), who, current.version, "clear-rating")
    return True


def _visible(data_dir: Path, who: Who | None) -> access.Actor | None:
    """The reader: None reads everything (library callers), else what `who` may see."""
    return access.viewer(who, data_dir)


def load(data_dir: Path, quarter: str, rep_id: str, who: Who | None = None) -> Rating | None:
    """One rep's latest rating for a quarter, or None (also when `who`, if given, may not see the rep)."""
    actor = _visible(data_dir, who)
    if actor is not None and not access.may_see_rep(actor, rep_id):
        return None
    with db.get(data_dir).begin() as conn:
        latest = _latest(conn, normal_quarter(quarter), rep_id)
    return None if latest is None or latest.empty else latest


def history(data_dir: Path, quarter: str, rep_id: str, who: Who | None = None) -> list[Rating]:
    """Every version of a rep's rating for a quarter, oldest first; refused when `who` may not see the rep."""
    actor = _visible(data_dir, who)
    if actor is not None and not access.may_see_rep(actor, rep_id):
        raise access.PermissionDenied(f"{actor.login} may not see the ratings of {rep_id}")
    t = tables.ratings
    with db.get(data_dir).begin() as conn:
        rows = conn.execute(sa.select(t).where(t.c.quarter == normal_quarter(quarter), t.c.rep_id == rep_id)
                            .order_by(t.c.version)).mappings().all()
    return [_row(r) for r in rows]


def load_quarter(data_dir: Path, quarter: str, who: Who | None = None) -> dict[str, Rating]:
    """The latest rating of each rep for a quarter (only reps `who` may see, when given), by rep_id."""
    actor = _visible(data_dir, who)
    t = tables.ratings
    with db.get(data_dir).begin() as conn:
        rows = conn.execute(sa.select(t).where(t.c.quarter == normal_quarter(quarter))
                            .order_by(t.c.rep_id, t.c.version)).mappings().all()
    latest = {r["rep_id"]: _row(r) for r in rows}  # later versions overwrite earlier ones
    return {rep: r for rep, r in sorted(latest.items())
            if not r.empty and (actor is None or access.may_see_rep(actor, rep))}


def scores_by_rep(data_dir: Path, quarter: str) -> dict[str, dict[str, int]]:
    """criterion -> score per rep for a quarter, the form the scorecard takes."""
    return {rep: r.scores for rep, r in load_quarter(data_dir, quarter).items()}


def quarters(data_dir: Path) -> list[str]:
    """Quarters that have stored ratings, newest first."""
    t = tables.ratings
    with db.get(data_dir).begin() as conn:
        found = conn.execute(sa.select(t.c.quarter).distinct()).scalars().all()
    return sorted(found, reverse=True)
