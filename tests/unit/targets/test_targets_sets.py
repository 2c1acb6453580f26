"""Saved target sets: save, load, list, merge, delete in the database; who may change them; bad names and rows."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

import polars as pl
import pytest

from saleslens import cli
from saleslens.core import access
from saleslens.core.db import items
from saleslens.targets import sets as ts
from tests import targets_fixtures as fx
from tests.database_fixtures import backend  # noqa: F401 - the fixture, used by name

D = date
ANA = access.Actor(access.User("ana", "Ana", "analyst"), None)


def rows(*items: tuple) -> pl.DataFrame:
    """Target rows from (owner_type, owner_id, start, end, value) tuples, metric bookings."""
    return pl.DataFrame([{"owner_type": o, "owner_id": i, "period_start": s, "period_end": e, "metric": "bookings",
                          "value": v} for o, i, s, e, v in items])


PLAN = rows(("rep", "R1", D(2027, 1, 1), D(2027, 1, 31), 1000.0), ("rep", "R2", D(2027, 1, 1), D(2027, 1, 31), 2000.0))


@pytest.mark.usefixtures("backend")
def test_save_load_and_list(tmp_path: Path) -> None:
    saved = ts.save(tmp_path, "FY2027 plan", PLAN, "first draft", who=ANA)
    assert saved.meta["rows"] == 2 and saved.meta["total"] == {"bookings": 3000.0}
    assert (saved.meta["owner"], saved.meta["version"], saved.meta["visibility"]) == ("ana", 1, "everyone")
    loaded = ts.load(tmp_path, "FY2027 plan")
    assert loaded.rows.sort("owner_id")["value"].to_list() == [1000.0, 2000.0]
    assert loaded.meta["description"] == "first draft"
    assert ts.names(tmp_path) == ["FY2027 plan"]
    assert not (tmp_path / "saved").exists()  # nothing beside the database any more


def test_saving_again_replaces_the_rows_as_a_new_version(tmp_path: Path) -> None:
    ts.save(tmp_path, "Plan", PLAN, who=ANA)
    again = ts.save(tmp_path, "Plan", PLAN.with_columns(pl.col("value") * 2), who=ANA)
    assert ts.load(tmp_path, "Plan").rows["value"].sum() == 6000.0
    assert again.meta["version"] == 2


def test_merge_replaces_only_overlapping_rows(tmp_path: Path) -> None:
    ts.save(tmp_path, "Plan", PLAN, who=ANA)
    ts.save(tmp_path, "Plan", rows(("rep", "R1", D(2027, 1, 1), D(2027, 1, 31), 1500.0),
                                   ("rep", "R3", D(2027, 1, 1), D(2027, 1, 31), 500.0)), merge=True, who=ANA)
    got = dict(ts.load(tmp_path, "Plan").rows.select("owner_id", "value").iter_rows())
    # R1 is replaced (1,000 -> 1,500), R2 kept, R3 added.
    assert got == {"R1": 1500.0, "R2": 2000.0, "R3": 500.0}


@pytest.mark.parametrize("name", ["", "   ", "../escape", "a/b", "x" * 61, "semi;colon"])
def test_bad_names_are_refused(tmp_path: Path, name: str) -> None:
    with pytest.raises(ts.TargetSetError):
        ts.save(tmp_path, name, PLAN, who=ANA)
    assert ts.names(tmp_path) == []


def test_names_in_any_script_and_lookalikes_do_not_collide(tmp_path: Path) -> None:
    ts.save(tmp_path, "2027 计划", PLAN, who=ANA)
    ts.save(tmp_path, "plan a", PLAN, who=ANA)
    ts.save(tmp_path, "plan-a", PLAN.with_columns(pl.col("value") * 3), who=ANA)
    assert ts.load(tmp_path, "2027 计划").name == "2027 计划"
    assert ts.load(tmp_path, "plan a").rows["value"].sum() == 3000.0
    assert ts.load(tmp_path, "plan-a").rows["value"].sum() == 9000.0


def test_bad_rows_are_refused_naming_the_row(tmp_path: Path) -> None:
    bad = rows(("rep", "R1", D(2027, 1, 1), D(2027, 1, 31), 1000.0), ("rep", "R2", D(2027, 1, 1), D(2027, 1, 31), -5.0))
    with pytest.raises(ts.TargetSetError, match=r"row 2 \(rep R2, 2027-01-01\) has a negative value"):
        ts.save(tmp_path, "Plan", bad, who=ANA)
    with pytest.raises(ts.TargetSetError, match="owner type"):
        ts.save(tmp_path, "Plan", rows(("person", "R1", D(2027, 1, 1), D(2027, 1, 31), 1.0)), who=ANA)
    with pytest.raises(ts.TargetSetError, match="ends before it starts"):
        ts.save(tmp_path, "Plan", rows(("rep", "R1", D(2027, 2, 1), D(2027, 1, 31), 1.0)), who=ANA)
    with pytest.raises(ts.TargetSetError, match="missing required"):
        ts.save(tmp_path, "Plan", PLAN.drop("metric"), who=ANA)
    assert ts.names(tmp_path) == []


def test_unknown_and_deleted_sets(tmp_path: Path) -> None:
    ts.save(tmp_path, "Good", PLAN, who=ANA)
    with pytest.raises(ts.TargetSetError, match=r"no target set 'Nope' \(saved sets: Good\)"):
        ts.load(tmp_path, "Nope")
    ts.delete(tmp_path, "Good", who=ANA)
    assert ts.names(tmp_path) == []
    with pytest.raises(ts.TargetSetError):
        ts.delete(tmp_path, "Good", who=ANA)


# ---------------------------------------------------------------- who may change a set (issue 14 item 7)

REPS = pl.DataFrame({"rep_id": ["M1", "R1", "R2", "M2", "R3"], "name": ["Max", "Amy", "Abe", "Mia", "Bo"],
                     "role": ["Manager", "AE", "AE", "Manager", "AE"], "manager_id": [None, "M1", "M1", None, "M2"],
                     "team": ["East", "East", "East", "West", "West"], "active": [True] * 5})
USERS = {"max": access.User("max", "Max", "manager", "M1"), "mia": access.User("mia", "Mia", "manager", "M2"),
         "amy": access.User("amy", "Amy", "rep", "R1"), "lea": access.User("lea", "Lea", "leader"),
         "ana": access.User("ana", "Ana", "analyst"), "adm": access.User("adm", "Adm", "admin")}
# Max's shared set: Max, analysts and admins may overwrite or delete it; the rep, another manager, a leader not.
MAY_CHANGE = {"max": True, "ana": True, "adm": True, "mia": False, "amy": False, "lea": False}


def who(login: str) -> access.Actor:
    return access.actor(USERS[login], reps=REPS)


@pytest.mark.usefixtures("backend")
@pytest.mark.parametrize(("login", "allowed"), MAY_CHANGE.items())
def test_who_may_overwrite_and_delete_a_shared_set(tmp_path: Path, login: str, allowed: bool) -> None:
    team = rows(("team", "East", D(2027, 1, 1), D(2027, 12, 31), 2_460_000.0))
    ts.save(tmp_path, "East 2027", team, who=who("max"))
    smaller = rows(("team", "East", D(2027, 1, 1), D(2027, 12, 31), 385_500.0))
    if allowed:
        ts.save(tmp_path, "East 2027", smaller, who=who(login))
        assert ts.load(tmp_path, "East 2027").rows["value"].to_list() == [385_500.0]
        ts.delete(tmp_path, "East 2027", who=who(login))
        assert ts.names(tmp_path) == []
    else:
        with pytest.raises(access.PermissionDenied, match="belongs to max; only its owner, analysts and admins"):
            ts.save(tmp_path, "East 2027", smaller, who=who(login))
        with pytest.raises(access.PermissionDenied):
            ts.delete(tmp_path, "East 2027", who=who(login))
        assert ts.load(tmp_path, "East 2027").rows["value"].to_list() == [2_460_000.0]


def test_a_save_needs_someone_signed_in(tmp_path: Path) -> None:
    with pytest.raises(access.PermissionDenied, match="sign in"):
        ts.save(tmp_path, "Plan", PLAN)
    assert ts.names(tmp_path) == []


@pytest.mark.usefixtures("backend")
def test_private_and_team_sets_are_listed_only_to_those_who_may_see_them(tmp_path: Path) -> None:
    ts.save(tmp_path, "Max private", PLAN, who=who("max"), visibility="private")
    ts.save(tmp_path, "East team", PLAN, who=who("max"), visibility="team")
    ts.save(tmp_path, "For all", PLAN, who=who("max"))
    seen = {login: sorted(ts.names(tmp_path, who=who(login))) for login in USERS}
    assert seen == {"max": ["East team", "For all", "Max private"], "mia": ["For all"],
                    "amy": ["East team", "For all"], "lea": ["East team", "For all"],
                    "ana": ["East team", "For all"], "adm": ["East team", "For all", "Max private"]}
    with pytest.raises(ts.TargetSetError, match="no target set 'Max private'"):
        ts.load(tmp_path, "Max private", who=who("mia"))


@pytest.mark.usefixtures("backend")
def test_a_merge_over_a_set_changed_meanwhile_is_refused(tmp_path: Path) -> None:
    ts.save(tmp_path, "Plan", PLAN, who=who("max"))
    ts.save(tmp_path, "Plan", PLAN.with_columns(pl.col("value") * 2), who=who("ana"))
    with pytest.raises(items.StaleVersion, match=r"changed by ana at .* \(version 2\); reload to see their change"):
        ts.save(tmp_path, "Plan", PLAN, who=who("max"), expected_version=1)
    assert ts.load(tmp_path, "Plan").rows["value"].sum() == 6000.0


# ---------------------------------------------------------------- the CLI under --as (issue 14 item 8)


@pytest.fixture
def cli_store(tmp_path: Path) -> Path:
    """The targets fixture store, users of each role, and a set with rows for Ann, Dee and both teams."""
    fx.build_store(tmp_path)
    access.write_users(tmp_path / "users.toml", [
        {"login": "ann", "name": "Ann Able", "role": "rep", "rep_id": "R1"},
        {"login": "mia", "name": "Mia Manager", "role": "manager", "rep_id": "M1"},
        {"login": "ana", "name": "Ana", "role": "analyst"},
        {"login": "nobody", "name": "No One", "role": "rep", "rep_id": "R99"},
    ])
    ts.save(tmp_path, "FY2027", rows(("rep", "R1", D(2027, 1, 1), D(2027, 12, 31), 100.0),
                                     ("rep", "R4", D(2027, 1, 1), D(2027, 12, 31), 400.0),
                                     ("team", "North", D(2027, 1, 1), D(2027, 12, 31), 1000.0),
                                     ("team", "Solo", D(2027, 1, 1), D(2027, 12, 31), 4000.0)), who=ANA)
    ts.save(tmp_path, "Ana private", PLAN, who=ANA, visibility="private")
    return tmp_path


def run_cli(capsys: pytest.CaptureFixture, *argv: str) -> tuple[int, object, str]:
    code = cli.main(list(argv))
    out, err = capsys.readouterr()
    return code, (json.loads(out) if out.strip().startswith("[") else out), err


def test_targets_show_as_a_rep_prints_only_her_rows(cli_store: Path, capsys: pytest.CaptureFixture) -> None:
    code, got, _ = run_cli(capsys, "targets", "show", "FY2027", "--data", str(cli_store), "--as", "ann",
                           "--format", "json")
    # Ann (R1, team North) sees her own row and her team's row; Dee's (R4) and team Solo's stay hidden.
    assert code == 0 and sorted((r["owner_id"], r["value"]) for r in got) == [("North", 1000.0), ("R1", 100.0)]
    code, got, _ = run_cli(capsys, "targets", "show", "FY2027", "--data", str(cli_store), "--format", "json")
    assert len(got) == 4


def test_targets_sets_as_lists_only_visible_sets(cli_store: Path, capsys: pytest.CaptureFixture) -> None:
    code, got, _ = run_cli(capsys, "targets", "sets", "--data", str(cli_store), "--as", "mia", "--format", "json")
    assert code == 0 and [r["name"] for r in got] == ["FY2027"]
    code, got, _ = run_cli(capsys, "targets", "sets", "--data", str(cli_store), "--as", "ana", "--format", "json")
    assert sorted(r["name"] for r in got) == ["Ana private", "FY2027"]
    assert {r["owner"] for r in got} == {"ana"}


def test_targets_delete_as_someone_without_the_right_is_refused(cli_store: Path,
                                                                capsys: pytest.CaptureFixture) -> None:
    code, _, err = run_cli(capsys, "targets", "delete", "FY2027", "--data", str(cli_store), "--as", "mia")
    assert code == 2 and len(err.strip().splitlines()) == 1
    assert "'FY2027' belongs to ana; only its owner, analysts and admins may change or delete it" in err
    assert "FY2027" in ts.names(cli_store)
    code, _, err = run_cli(capsys, "targets", "show", "Ana private", "--data", str(cli_store), "--as", "mia")
    assert code == 2 and "There is no target set 'Ana private'" in err


def test_snapshots_as_counts_within_the_scope(cli_store: Path, capsys: pytest.CaptureFixture) -> None:
    code, every, _ = run_cli(capsys, "snapshots", "--data", str(cli_store), "--format", "json")
    code, ann, _ = run_cli(capsys, "snapshots", "--data", str(cli_store), "--as", "ann", "--format", "json")
    assert code == 0 and len(ann) == len(every)
    # On 2026-05-12 the fixture has 16 deals (W1-W7, L1-L4, O1-O5); Ann (R1) owns W1, W3, W6, L1, L3 and O1.
    assert (ann[-1]["reps"], ann[-1]["opportunities"]) == (1, 6)
    assert (every[-1]["reps"], every[-1]["opportunities"]) == (6, 16)
    code, _, err = run_cli(capsys, "snapshots", "--data", str(cli_store), "--as", "nobody")
    assert code == 2 and "--as nobody" in err and len(err.strip().splitlines()) == 1
