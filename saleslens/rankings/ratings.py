"""A manager's qualitative ratings and comment per rep per quarter, kept in the data directory.

Each (quarter, rep) is one small JSON file, <data dir>/saved/ratings/<quarter>/<rep>.json, written
atomically (store.write_json_atomic). Ratings live beside the snapshots, not inside them, so they
survive restarts and new snapshots; one file per rep means two managers saving different reps at
the same time cannot overwrite each other.
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from saleslens.core import store
from saleslens.rankings.scorecards import RATING_CRITERIA, RATING_SCALE, parse_quarter, quarter_of

FOLDER = ("saved", "ratings")
MAX_COMMENT = 2000
_SAFE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,80}$")


class RatingError(ValueError):
    """A rating that cannot be saved, told in one line."""


@dataclass(frozen=True)
class Rating:
    """One rep's ratings (criterion -> 1..5) and comment for one quarter."""

    rep_id: str
    quarter: str
    scores: dict[str, int] = field(hash=False, default_factory=dict)
    comment: str = ""
    updated_at: str = ""
    updated_by: str = ""

    def to_json(self) -> dict:
        """The JSON document stored on disk."""
        return {"rep_id": self.rep_id, "quarter": self.quarter, "scores": self.scores,
                "comment": self.comment, "updated_at": self.updated_at, "updated_by": self.updated_by}


def root(data_dir: Path) -> Path:
    """The folder holding every saved rating."""
    return data_dir.joinpath(*FOLDER)


def normal_quarter(quarter: str) -> str:
    """A quarter in its canonical spelling (2026Q3); raises ValueError for anything else."""
    start, _ = parse_quarter(quarter)
    return quarter_of(start)


def _file_name(rep_id: str) -> str:
    """A file name for a rep id: the id itself when it is plain, else a stable hash of it."""
    if _SAFE.match(rep_id):
        return f"{rep_id}.json"
    return "x" + hashlib.sha256(rep_id.encode("utf-8")).hexdigest()[:32] + ".json"


def path_for(data_dir: Path, quarter: str, rep_id: str) -> Path:
    """Where one rep's rating for a quarter is stored."""
    return root(data_dir) / normal_quarter(quarter) / _file_name(rep_id)


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
    return Rating(rating.rep_id.strip(), quarter, scores, comment, rating.updated_at, rating.updated_by)


def save(data_dir: Path, rating: Rating) -> Rating:
    """Validate and store one rating atomically; returns what was stored (with its time)."""
    clean = validate(rating)
    stamped = Rating(clean.rep_id, clean.quarter, clean.scores, clean.comment,
                     datetime.now(UTC).isoformat(timespec="seconds"), clean.updated_by)
    store.write_json_atomic(path_for(data_dir, clean.quarter, clean.rep_id), stamped.to_json())
    return stamped


def delete(data_dir: Path, quarter: str, rep_id: str) -> bool:
    """Remove one stored rating; False when there was none."""
    path = path_for(data_dir, quarter, rep_id)
    if not path.exists():
        return False
    path.unlink()
    return True


def _read(path: Path) -> Rating | None:
    """One stored rating, or None when the file is not a readable rating (it is skipped, not fatal)."""
    try:
        doc = json.loads(path.read_text(encoding="utf-8"))
        return Rating(str(doc["rep_id"]), str(doc["quarter"]),
                      {str(k): int(v) for k, v in (doc.get("scores") or {}).items() if v is not None},
                      str(doc.get("comment") or ""), str(doc.get("updated_at") or ""),
                      str(doc.get("updated_by") or ""))
    except (OSError, ValueError, KeyError, TypeError, AttributeError):
        return None


def load(data_dir: Path, quarter: str, rep_id: str) -> Rating | None:
    """One rep's rating for a quarter, or None."""
    path = path_for(data_dir, quarter, rep_id)
    return _read(path) if path.exists() else None


def load_quarter(data_dir: Path, quarter: str) -> dict[str, Rating]:
    """Every stored rating of a quarter, by rep_id; unreadable files are skipped."""
    folder = root(data_dir) / normal_quarter(quarter)
    if not folder.is_dir():
        return {}
    out = {}
    for path in sorted(folder.glob("*.json")):
        rating = _read(path)
        if rating is not None:
            out[rating.rep_id] = rating
    return out


def scores_by_rep(data_dir: Path, quarter: str) -> dict[str, dict[str, int]]:
    """criterion -> score per rep for a quarter, the form the scorecard takes."""
    return {rep: r.scores for rep, r in load_quarter(data_dir, quarter).items()}


def quarters(data_dir: Path) -> list[str]:
    """Quarters that have stored ratings, newest first."""
    folder = root(data_dir)
    if not folder.is_dir():
        return []
    found = []
    for child in folder.iterdir():
        try:
            if child.is_dir() and normal_quarter(child.name) == child.name:
                found.append(child.name)
        except ValueError:
            continue
    return sorted(found, reverse=True)
