"""Who may write ratings and scorecards, decided in the library and checked per role (issue 14 item 7).

The hierarchy: Lea (leader, L1) above Sam (manager, S1) above Max (manager, M1) above Amy (rep, A1) and A2;
Mia (manager, M2) sits beside Sam with B1 below her. Ana is an analyst, Adm an admin.
"""

from __future__ import annotations

from pathlib import Path

import polars as pl
import pytest

from saleslens.core import access
from saleslens.rankings import definitions as defs
from saleslens.rankings import ratings
from saleslens.rankings.ratings import Rating
from saleslens.rankings.scorecards import Definition
from tests.database_fixtures import backend  # noqa: F401 - the fixture, used by name

REPS = pl.DataFrame({
    "rep_id": ["L1", "S1", "M1", "A1", "A2", "M2", "B1"],
    "name": ["Lea", "Sam", "Max", "Amy", "Abe", "Mia", "Bo"],
    "role": ["Director", "Manager", "Manager", "AE", "AE", "Manager", "AE"],
    "manager_id": [None, "L1", "S1", "M1", "M1", "L1", "M2"],
    "team": ["Lead", "East", "East", "East", "East", "West", "West"],
    "active": [True] * 7,
})
USERS = {
    "lea": access.User("lea", "Lea", "leader", "L1"),
    "sam": access.User("sam", "Sam", "manager", "S1"),
    "max": access.User("max", "Max", "manager", "M1"),
    "mia": access.User("mia", "Mia", "manager", "M2"),
    "amy": access.User("amy", "Amy", "rep", "A1"),
    "ana": access.User("ana", "Ana", "analyst"),
    "adm": access.User("adm", "Adm", "admin"),
}


def who(login: str) -> access.Actor:
    return access.actor(USERS[login], reps=REPS)


# Who may rate Amy (A1): her managers up the hierarchy (Max, Sam), the leader and the admin; not Mia (another
# branch), not the analyst, and never Amy herself.
RATE_A1 = {"lea": True, "sam": True, "max": True, "mia": False, "amy": False, "ana": False, "adm": True}


@pytest.mark.usefixtures("backend")
@pytest.mark.parametrize(("login", "allowed"), RATE_A1.items())
def test_who_may_rate_a_rep(tmp_path: Path, login: str, allowed: bool) -> None:
    rating = Rating("A1", "2026Q3", {"teamwork": 4}, "ok")
    if allowed:
        stored = ratings.save(tmp_path, rating, who=who(login))
        assert (stored.updated_by, stored.version) == (login, 1)
        assert ratings.load(tmp_path, "2026Q3", "A1").updated_by == login
    else:
        with pytest.raises(access.PermissionDenied):
            ratings.save(tmp_path, rating, who=who(login))
        assert ratings.load(tmp_path, "2026Q3", "A1") is None
        assert [e for e in access.audit_entries(tmp_path) if e["action"] == "save-rating"] == []


@pytest.mark.parametrize("login", ["max", "sam", "lea"])
def test_nobody_rates_themselves(tmp_path: Path, login: str) -> None:
    with pytest.raises(access.PermissionDenied, match="may not rate themselves"):
        ratings.save(tmp_path, Rating(USERS[login].rep_id, "2026Q3", {"teamwork": 5}), who=who(login))


def test_a_rating_needs_someone_signed_in(tmp_path: Path) -> None:
    with pytest.raises(access.PermissionDenied, match="sign in"):
        ratings.save(tmp_path, Rating("A1", "2026Q3", {"teamwork": 5}))
    with pytest.raises(access.PermissionDenied, match="sign in"):
        ratings.save(tmp_path, Rating("A1", "2026Q3", {"teamwork": 5}), who=access.Grant(None, frozenset(), "x"))


@pytest.mark.usefixtures("backend")
def test_history_is_seen_by_those_who_see_the_rep(tmp_path: Path) -> None:
    ratings.save(tmp_path, Rating("A1", "2026Q3", {"teamwork": 3}), who=who("max"))
    ratings.save(tmp_path, Rating("A1", "2026Q3", {"teamwork": 4}, "better"), who=who("sam"), expected_version=1)
    seen = ratings.history(tmp_path, "2026Q3", "A1", who=who("amy"))
    assert [(r.version, r.updated_by, r.scores, r.comment) for r in seen] == [
        (1, "max", {"teamwork": 3}, ""), (2, "sam", {"teamwork": 4}, "better")]
    with pytest.raises(access.PermissionDenied):
        ratings.history(tmp_path, "2026Q3", "A1", who=who("mia"))
    assert ratings.load(tmp_path, "2026Q3", "A1", who=who("mia")) is None
    assert list(ratings.load_quarter(tmp_path, "2026Q3", who=who("mia"))) == []
    assert list(ratings.load_quarter(tmp_path, "2026Q3", who=who("lea"))) == ["A1"]


@pytest.mark.usefixtures("backend")
def test_a_save_over_a_newer_rating_is_refused_naming_who_and_when(tmp_path: Path) -> None:
    ratings.save(tmp_path, Rating("A1", "2026Q3", {"teamwork": 3}), who=who("max"), expected_version=0)
    ratings.save(tmp_path, Rating("A1", "2026Q3", {"teamwork": 5}), who=who("sam"), expected_version=1)
    with pytest.raises(ratings.StaleRating, match=r"changed by sam at .* \(version 2\); reload to see their change"):
        ratings.save(tmp_path, Rating("A1", "2026Q3", {"teamwork": 1}), who=who("max"), expected_version=1)
    assert ratings.load(tmp_path, "2026Q3", "A1").scores == {"teamwork": 5}


# ---------------------------------------------------------------- scorecards


def card(name: str = "Fair") -> Definition:
    return Definition(name, "AE", {"bookings": 50.0, "win_rate": 50.0}, (), 5)


# Max's scorecard may be changed or deleted by Max, the analyst and the admin; nobody else.
EDIT_MAX_CARD = {"max": True, "ana": True, "adm": True, "lea": False, "sam": False, "mia": False, "amy": False}


@pytest.mark.usefixtures("backend")
@pytest.mark.parametrize(("login", "allowed"), EDIT_MAX_CARD.items())
def test_who_may_change_and_delete_a_scorecard(tmp_path: Path, login: str, allowed: bool) -> None:
    defs.save(tmp_path, card(), who=who("max"))
    changed = Definition("Fair", "AE", {"bookings": 100.0}, (), 5)
    if allowed:
        defs.save(tmp_path, changed, who=who(login))
        assert defs.get(tmp_path, "Fair", "AE").weights == {"bookings": 100.0}
        assert defs.delete(tmp_path, "Fair", who=who(login))
        assert defs.load_all(tmp_path) == []
    else:
        with pytest.raises(access.PermissionDenied, match="belongs to max"):
            defs.save(tmp_path, changed, who=who(login))
        with pytest.raises(access.PermissionDenied, match="belongs to max"):
            defs.delete(tmp_path, "Fair", who=who(login))
        assert defs.get(tmp_path, "Fair", "AE").weights == {"bookings": 50.0, "win_rate": 50.0}


def test_a_private_scorecard_is_hidden_and_its_name_not_taken_over(tmp_path: Path) -> None:
    defs.save(tmp_path, card("Mine"), who=who("max"), visibility="private")
    assert [d.name for d in defs.load_all(tmp_path, who=who("mia"))] == []
    assert [d.name for d in defs.load_all(tmp_path, who=who("max"))] == ["Mine"]
    with pytest.raises(access.PermissionDenied, match="taken by another user's private scorecard"):
        defs.save(tmp_path, card("Mine"), who=who("mia"))
    assert not defs.delete(tmp_path, "Mine", who=who("mia"))
    assert [d.name for d in defs.load_all(tmp_path, who=who("adm"))] == ["Mine"]
