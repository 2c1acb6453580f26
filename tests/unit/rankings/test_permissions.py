"""Who may write ratings and scorecards, decided in the library and checked per role (issue 14 item 7).

The hierarchy: Lea (leader, L1) above Sam (manager, S1) above Max (manager, M1) above Amy (rep, A1) and A2;
Mia (manager, M2) sits beside Sam with B1 below her. Ana is an analyst, Adm an admin.
"""

from __future__ import annotations

import json
from pathlib import Path

import polars as pl
import pytest

from saleslens import cli
from saleslens.core import access
from saleslens.rankings import definitions as defs
from saleslens.rankings import ratings
from saleslens.rankings.ratings import Rating
from saleslens.rankings.scorecards import Definition
from tests import targets_fixtures as fx
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


# ---------------------------------------------------------------- the CLI: ratings list|set|history under --as


@pytest.fixture
def cli_store(tmp_path: Path) -> Path:
    """The targets fixture store (Mia M1 manages R1-R3; Max M2 manages R4) with users of each kind."""
    fx.build_store(tmp_path)
    access.write_users(tmp_path / "users.toml", [
        {"login": "mia", "name": "Mia Manager", "role": "manager", "rep_id": "M1"},
        {"login": "max", "name": "Max Mgr", "role": "manager", "rep_id": "M2"},
        {"login": "ann", "name": "Ann Able", "role": "rep", "rep_id": "R1"},
    ])
    return tmp_path


def run_cli(capsys: pytest.CaptureFixture, *argv: str) -> tuple[int, str, str]:
    code = cli.main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_ratings_cli_follows_the_same_rules(cli_store: Path, capsys: pytest.CaptureFixture) -> None:
    data = ("--data", str(cli_store))
    code, out, _ = run_cli(capsys, "ratings", "set", "--rep", "R1", "--quarter", "2026q2", "--score", "teamwork=4",
                           "--comment", "Solid", "--as", "mia", *data)
    assert code == 0 and out.strip() == "rated R1 for 2026Q2: version 1 by mia"
    for who_, rep, says in (("ann", "R1", "ann may not rate themselves"),
                            ("max", "R1", "max (manager) may not rate R1")):
        code, _, err = run_cli(capsys, "ratings", "set", "--rep", rep, "--quarter", "2026Q2", "--score",
                               "teamwork=1", "--as", who_, *data)
        assert code == 2 and says in err and len(err.strip().splitlines()) == 1
    code, _, err = run_cli(capsys, "ratings", "set", "--rep", "R1", "--quarter", "2026Q2", "--score", "teamwork=5",
                           "--version", "0", "--as", "mia", *data)
    assert code == 2 and "changed by mia" in err and "reload to see their change" in err
    code, out, _ = run_cli(capsys, "ratings", "history", "--rep", "R1", "--quarter", "2026Q2", "--as", "ann",
                           "--format", "json", *data)
    assert code == 0 and [(r["version"], r["teamwork"], r["updated_by"]) for r in json.loads(out)] == [(1, 4, "mia")]
    code, out, _ = run_cli(capsys, "ratings", "list", "--quarter", "2026Q2", "--as", "max", "--format", "json", *data)
    assert code == 0 and json.loads(out) == []  # R1 is not in Max's branch
    code, _, err = run_cli(capsys, "ratings", "history", "--rep", "R1", "--quarter", "2026Q2", "--as", "max", *data)
    assert code == 2 and "max may not see the ratings of R1" in err
    code, _, err = run_cli(capsys, "ratings", "set", "--rep", "R1", "--quarter", "2026Q2", "--score", "teamwork",
                           "--as", "mia", *data)
    assert code == 2 and "--score must look like teamwork=4" in err


@pytest.mark.usefixtures("backend")
def test_two_saves_racing_on_one_version_one_wins_the_other_is_told(tmp_path: Path,
                                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    """Max read 'no rating' just before Sam's save landed: the unique version refuses Max's row, naming Sam."""
    ratings.save(tmp_path, Rating("A1", "2026Q3", {"teamwork": 5}), who=who("sam"))
    real = ratings._latest
    calls = []

    def stale_first(conn, quarter, rep_id):  # the first read happens before Sam's save, as in a race
        calls.append(1)
        return None if len(calls) == 1 else real(conn, quarter, rep_id)

    monkeypatch.setattr(ratings, "_latest", stale_first)
    with pytest.raises(ratings.StaleRating, match=r"changed by sam at .* \(version 1\)"):
        ratings.save(tmp_path, Rating("A1", "2026Q3", {"teamwork": 1}), who=who("max"))
    monkeypatch.setattr(ratings, "_latest", real)  # not undo(): that would also drop the backend's database URL
    assert [(r.version, r.updated_by) for r in ratings.history(tmp_path, "2026Q3", "A1")] == [(1, "sam")]
