"""Saved scenarios: in the database with owner and version, reopen identical (also in a new process), never lost."""

from __future__ import annotations

import json
import subprocess
import sys
from datetime import date
from pathlib import Path
from types import SimpleNamespace

import polars as pl
import pytest

from queries.runner import Runner
from saleslens.core import access, db, store
from saleslens.core.db import items
from saleslens.whatif import commission, scenarios
from saleslens.whatif import store as scenario_store
from saleslens.whatif.scenarios import Scenario
from saleslens.whatif.store import ScenarioStoreError
from tests import fixtures
from tests import whatif_fixtures as wf
from tests.database_fixtures import backend  # noqa: F401 - the fixture, used by name

ROOT = Path(__file__).resolve().parents[3]


def full_scenario(name: str = "Q1 stretch") -> Scenario:
    """A scenario with every input set, plans embedded."""
    return wf.scenario(
        name=name, snapshot="2027-04-15", regions=("North",), teams=(), reps=("A1", "A2"),
        target_change_pct=8, region_change_pct={"North": 5}, team_change_pct={"South 1": 20.5},
        rep_change_pct={"A3": -2}, win_rate_pct=5, deal_size_pct=-3, cycle_time_pct=10,
        new_reps={"North 1": 2}, ramp_pct=(20, 60, 100), include_pipeline=False,
        plans=commission.parse_text(wf.PLANS_TOML).raw,
    )


ANA = access.Actor(access.User("ana", "Ana", "analyst"), None)


@pytest.mark.usefixtures("backend")
def test_save_then_load_is_identical(tmp_path: Path) -> None:
    """Every input comes back equal from the database, stored as the versioned JSON document."""
    sc = full_scenario()
    saved = scenario_store.save(tmp_path, sc, who=ANA)
    assert (saved.name, saved.owner, saved.version, saved.visibility) == ("Q1 stretch", "ana", 1, "everyone")
    doc = items.get(db.get(tmp_path), "scenarios", "Q1 stretch").body
    assert (doc["format"], doc["version"], doc["name"]) == ("saleslens-scenario", 1, "Q1 stretch")
    assert scenario_store.load(tmp_path, "Q1 stretch") == sc
    assert scenario_store.resolve(tmp_path, "Q1 stretch") == sc
    assert [s.name for s in scenario_store.list_saved(tmp_path)] == ["Q1 stretch"]


def test_names_are_distinct(tmp_path: Path) -> None:
    """Names that slug alike ('Q1 plan', 'q1-plan') and non-Latin names are each their own scenario."""
    for name in ("Q1 plan", "q1-plan", "一季度方案"):
        scenario_store.save(tmp_path, wf.scenario(name=name), who=ANA)
    assert sorted(s.name for s in scenario_store.list_saved(tmp_path)) == ["Q1 plan", "q1-plan", "一季度方案"]
    assert scenario_store.load(tmp_path, "一季度方案").name == "一季度方案"


def test_existing_name_needs_overwrite_and_stays_intact(tmp_path: Path) -> None:
    """Saving over a name without replace is refused; the first one is untouched; replace works."""
    scenario_store.save(tmp_path, wf.scenario(name="Plan", target_change_pct=5), who=ANA)
    with pytest.raises(ScenarioStoreError) as err:
        scenario_store.save(tmp_path, wf.scenario(name="Plan", target_change_pct=9), who=ANA)
    assert err.value.field == "name" and "already saved" in err.value.message
    assert scenario_store.load(tmp_path, "Plan").target_change_pct == 5
    again = scenario_store.save(tmp_path, wf.scenario(name="Plan", target_change_pct=9), overwrite=True, who=ANA)
    assert scenario_store.load(tmp_path, "Plan").target_change_pct == 9 and again.version == 2


@pytest.mark.parametrize(
    ("scenario", "field"),
    [
        (wf.scenario(name="Plan", target_change_pct=-120), "target_change_pct"),
        (wf.scenario(name="Plan", ramp_pct=(10, 200)), "ramp_pct[2]"),
        (wf.scenario(name="   "), "name"),
        (wf.scenario(name="x" * 81), "name"),
        (wf.scenario(name="tab\there"), "name"),
        (Scenario(name="Plan"), "period"),
    ],
)
def test_a_failed_save_changes_nothing(tmp_path: Path, scenario: Scenario, field: str) -> None:
    """Bad input is refused before writing, even with replace on: the saved scenario keeps its version."""
    scenario_store.save(tmp_path, wf.scenario(name="Plan", target_change_pct=5), who=ANA)
    with pytest.raises(ScenarioStoreError) as err:
        scenario_store.save(tmp_path, scenario, overwrite=True, who=ANA)
    assert err.value.field == field
    assert [(s.name, s.version) for s in scenario_store.list_saved(tmp_path)] == [("Plan", 1)]
    assert scenario_store.load(tmp_path, "Plan").target_change_pct == 5


# Ana's scenario: Ana and the admin may replace or delete it; another analyst, a leader, a manager may not.
USERS = {"ana": access.User("ana", "Ana", "analyst"), "bea": access.User("bea", "Bea", "analyst"),
         "adm": access.User("adm", "Adm", "admin"), "lea": access.User("lea", "Lea", "leader"),
         "max": access.User("max", "Max", "manager", "M1")}
MAY_CHANGE = {"ana": True, "adm": True, "bea": False, "lea": False, "max": False}


@pytest.mark.usefixtures("backend")
@pytest.mark.parametrize(("login", "allowed"), MAY_CHANGE.items())
def test_only_the_owner_and_admins_change_a_scenario(tmp_path: Path, login: str, allowed: bool) -> None:
    scenario_store.save(tmp_path, wf.scenario(name="Plan", target_change_pct=5), who=USERS["ana"])
    who = access.Actor(USERS[login], None if USERS[login].role != "manager" else frozenset({"M1"}))
    if allowed:
        scenario_store.save(tmp_path, wf.scenario(name="Plan", target_change_pct=7), overwrite=True, who=who)
        assert scenario_store.load(tmp_path, "Plan").target_change_pct == 7
        scenario_store.delete(tmp_path, "Plan", who=who)
        assert scenario_store.list_saved(tmp_path) == []
    else:
        with pytest.raises(access.PermissionDenied, match="belongs to ana; only its owner and admins"):
            scenario_store.save(tmp_path, wf.scenario(name="Plan", target_change_pct=7), overwrite=True, who=who)
        with pytest.raises(access.PermissionDenied):
            scenario_store.delete(tmp_path, "Plan", who=who)
        assert scenario_store.load(tmp_path, "Plan").target_change_pct == 5


@pytest.mark.usefixtures("backend")
def test_two_saves_from_the_same_version_one_wins_the_other_is_told(tmp_path: Path) -> None:
    """Ana and the admin both opened version 1; Ana saves first; the admin's save is refused, naming Ana."""
    scenario_store.save(tmp_path, wf.scenario(name="Plan", target_change_pct=5), who=USERS["ana"])
    admin = access.Actor(USERS["adm"], None)
    scenario_store.save(tmp_path, wf.scenario(name="Plan", target_change_pct=6), overwrite=True, who=ANA,
                        expected_version=1)
    with pytest.raises(items.StaleVersion, match=r"changed by ana at .* \(version 2\); reload to see their change"):
        scenario_store.save(tmp_path, wf.scenario(name="Plan", target_change_pct=9), overwrite=True, who=admin,
                            expected_version=1)
    assert scenario_store.load(tmp_path, "Plan").target_change_pct == 6


def test_private_scenarios_are_listed_to_their_owner_and_admins(tmp_path: Path) -> None:
    scenario_store.save(tmp_path, wf.scenario(name="Mine"), who=ANA, visibility="private")
    listed = {login: [s.name for s in scenario_store.list_saved(tmp_path, who=USERS[login])]
              for login in ("ana", "bea", "adm")}
    assert listed == {"ana": ["Mine"], "bea": [], "adm": ["Mine"]}
    with pytest.raises(ScenarioStoreError, match="no saved scenario is named 'Mine'"):
        scenario_store.load(tmp_path, "Mine", who=USERS["bea"])


def test_a_name_taken_says_by_whom_unless_it_is_someone_elses_private_scenario(tmp_path: Path) -> None:
    """Creating a scenario under a saved name names who saved it; a private one of someone else is not named."""
    scenario_store.save(tmp_path, wf.scenario(name="Open", target_change_pct=5), who=ANA)
    scenario_store.save(tmp_path, wf.scenario(name="Mine", target_change_pct=5), who=ANA, visibility="private")
    with pytest.raises(ScenarioStoreError, match=r"a scenario named 'Open' is already saved \(by ana at .*\)"):
        scenario_store.save(tmp_path, wf.scenario(name="Open", target_change_pct=9), who=USERS["bea"])
    with pytest.raises(access.PermissionDenied, match="the name 'Mine' is taken by another user's private scenario"):
        scenario_store.save(tmp_path, wf.scenario(name="Mine", target_change_pct=9), who=USERS["bea"])
    assert [scenario_store.load(tmp_path, n).target_change_pct for n in ("Open", "Mine")] == [5, 5]


def _write(tmp_path: Path, doc: object, name: str = "plan.json") -> Path:
    path = tmp_path / name
    path.write_text(json.dumps(doc) if not isinstance(doc, str) else doc, encoding="utf-8")
    return path


@pytest.mark.parametrize(
    ("change", "field", "words"),
    [
        ({"version": 0}, "version", "older Sales Lens"),
        ({"version": 2}, "version", "newer than this app"),
        ({"version": None}, "version", "no usable format version"),
        ({"format": "something-else"}, "format", "not a Sales Lens scenario"),
        ({"inputs": None}, "inputs", "must be a table"),
    ],
)
def test_other_versions_and_formats_are_refused(tmp_path: Path, change: dict, field: str, words: str) -> None:
    """A file from an older or newer version, or not a scenario at all, names the field."""
    doc = scenario_store.to_dict(wf.scenario(name="Old"))
    doc.update(change)
    with pytest.raises(ScenarioStoreError) as err:
        scenario_store.read(_write(tmp_path, doc))
    assert err.value.field == field and words in err.value.message


@pytest.mark.parametrize(
    ("path", "value", "field"),
    [
        (("inputs", "drivers_pct", "win_rate"), "ten", "inputs.drivers_pct.win_rate"),
        (("inputs", "period", "start"), "1 Jan", "inputs.period.start"),
        (("inputs", "headcount", "new_reps"), {"North 1": "2"}, "inputs.headcount.new_reps[North 1]"),
        (("inputs", "target_change_pct", "team"), {"North 1": True}, "inputs.target_change_pct.team[North 1]"),
        (("inputs", "target_change_pct", "global"), -100, "inputs.target_change_pct"),
        (("inputs", "include_pipeline"), "yes", "inputs.include_pipeline"),
        (("inputs", "scope", "regions"), "North", "inputs.scope.regions"),
    ],
)
def test_bad_fields_in_a_file_are_named(tmp_path: Path, path: tuple, value: object, field: str) -> None:
    """A hand-edited file with a wrong value names the field path."""
    doc = scenario_store.to_dict(wf.scenario(name="Edited"))
    target = doc
    for key in path[:-1]:
        target = target[key]
    target[path[-1]] = value
    with pytest.raises(ScenarioStoreError) as err:
        scenario_store.read(_write(tmp_path, doc))
    assert err.value.field == field


def test_broken_documents_are_listed_with_their_problem(tmp_path: Path) -> None:
    """A stored document of an older format (imported from an old file) does not hide the good ones."""
    scenario_store.save(tmp_path, wf.scenario(name="Good"), who=ANA)
    old = scenario_store.to_dict(wf.scenario(name="Ancient"))
    old["version"] = 0
    items.save(db.get(tmp_path), "scenarios", "Ancient", old, ANA)
    listed = {s.name: s.error for s in scenario_store.list_saved(tmp_path)}
    assert listed["Good"] is None
    assert "version" in listed["Ancient"]
    with pytest.raises(ScenarioStoreError, match="no saved scenario is named 'Missing'"):
        scenario_store.load(tmp_path, "Missing")


def test_delete(tmp_path: Path) -> None:
    """A saved scenario can be removed; removing a missing one is an error."""
    scenario_store.save(tmp_path, wf.scenario(name="Gone"), who=ANA)
    scenario_store.delete(tmp_path, "Gone", who=ANA)
    assert scenario_store.list_saved(tmp_path) == []
    with pytest.raises(ScenarioStoreError):
        scenario_store.delete(tmp_path, "Gone", who=ANA)


def test_saved_scenario_reopens_identical_in_a_new_process(tmp_path: Path) -> None:
    """Save, then a fresh `python -m saleslens scenario` computes the same outputs as this process."""
    snap = fixtures.build_store(tmp_path)
    # Q2 2026 on the tiny data (as of 30 Jun: the period is open, so R2's weighted 100 of pipeline counts).
    sc = Scenario(name="Tiny plan", start=date(2026, 4, 1), end=date(2026, 6, 30), snapshot=snap.id,
                  target_change_pct=10, win_rate_pct=20, new_reps={"East 1": 1},
                  plans=commission.parse_text(wf.PLANS_TOML).raw)
    scenario_store.save(tmp_path, sc, who=ANA)
    runner = Runner(store.open_snapshot(tmp_path))
    base = runner.run("whatif_base_by_rep", start=sc.start, end=sc.end)
    here = scenarios.compute(base, scenario_store.load(tmp_path, "Tiny plan"), wf.plans(), snap.as_of)
    runner.close()
    out = subprocess.run(
        [sys.executable, "-m", "saleslens", "scenario", "--file", "Tiny plan", "--data", str(tmp_path),
         "--format", "json"],
        cwd=ROOT, capture_output=True, text=True, timeout=120, check=True,
    )
    there = json.loads(out.stdout)
    assert there["summary"] == pytest.approx(here.summary)
    assert there["scenario"]["target_change_pct"]["global"] == 10
    # By hand: R2 baseline 6,000 + 100 = 6,100 against 6,000 x 1.1 = 6,600 -> 92.4%: 6,100 x 8% = 488.
    # R3 2,000 / 6,600 = 30%: 2,000 x 4% = 80. R1 books nothing: 0. The East 1 hire ramps to 50% of the
    # average of R1 and R2: (0 + 6,100) / 2 x 0.5 = 1,525 against (3,300 + 6,600) / 2 x 0.5 = 2,475 -> 61.6%,
    # 1,525 x 8% = 122. R2's win rate is already 100%, R1 and R3 have nothing to lift, so +20% adds nothing.
    assert there["summary"]["commission"] == pytest.approx(488 + 80 + 122)
    reps = {r["rep_id"]: r for r in there["reps"]}
    assert reps["new:East 1:1"]["projected"] == pytest.approx(1_525)


def test_cli_lists_explains_and_reports_bad_files(tmp_path: Path) -> None:
    """--list, --explain and a file from an older version, through the real command line."""
    fixtures.build_store(tmp_path)
    sc = Scenario(name="Tiny", start=date(2026, 4, 1), end=date(2026, 6, 30),
                  plans=commission.parse_text(wf.PLANS_TOML).raw)
    scenario_store.save(tmp_path, sc, who=ANA)

    def cli(*args: str) -> subprocess.CompletedProcess:
        return subprocess.run([sys.executable, "-m", "saleslens", "scenario", "--data", str(tmp_path), *args],
                              cwd=ROOT, capture_output=True, text=True, timeout=120)

    listed = cli("--list", "--format", "csv")
    assert listed.returncode == 0 and "Tiny" in listed.stdout
    explained = cli("--file", "Tiny", "--explain", "R2", "--format", "csv")
    assert explained.returncode == 0
    # R2: 6,100 / 6,000 = 101.7%: 6,000 x 8% = 480 plus 100 x 12% = 12 in tier 1.
    assert "Tier 1" in explained.stdout and "$492" in explained.stdout
    old = scenario_store.to_dict(sc)
    old["version"] = 0
    bad = _write(tmp_path, old, "old.json")
    failed = cli("--file", str(bad))
    assert failed.returncode == 2
    assert failed.stderr.startswith("saleslens scenario: error: version:")
    assert "Traceback" not in failed.stderr
    access.write_users(tmp_path / "users.toml", [{"login": "bea", "name": "Bea", "role": "analyst"},
                                                 {"login": "ana", "name": "Ana", "role": "analyst"}])
    refused = cli("delete", "Tiny", "--as", "bea")
    assert refused.returncode == 2 and len(refused.stderr.strip().splitlines()) == 1
    assert "'Tiny' belongs to ana; only its owner and admins may change or delete it" in refused.stderr
    listed = cli("list", "--as", "ana", "--format", "csv")
    assert listed.returncode == 0 and listed.stdout.splitlines()[1].startswith("Tiny,")
    deleted = cli("delete", "Tiny", "--as", "ana")
    assert deleted.returncode == 0 and scenario_store.list_saved(tmp_path) == []


# ---------------------------------------------------------------- saved target sets


def test_target_set_adapter(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Without the target-sets feature none are offered; with it, a set's rep targets replace the table's."""
    monkeypatch.setattr(scenario_store, "_target_sets_module", lambda: None)
    assert scenario_store.target_set_names(tmp_path) == []
    frame = pl.DataFrame({
        "owner_type": ["rep", "rep", "rep", "team"], "owner_id": ["A1", "A1", "A2", "North 1"],
        "metric": ["bookings"] * 4, "period_start": [date(2027, 1, 1), date(2027, 4, 1), date(2027, 2, 1),
                                                     date(2027, 1, 1)],
        "value": [111.0, 999.0, 222.0, 5.0],
    })
    fake = SimpleNamespace(list_sets=lambda data_dir: ["FY27"], load_set=lambda data_dir, name: frame)
    monkeypatch.setattr(scenario_store, "_target_sets_module", lambda: fake)
    assert scenario_store.target_set_names(tmp_path) == ["FY27"]
    targets = scenario_store.target_set_targets(tmp_path, "FY27", wf.START, wf.END)
    # Only rep rows starting in Q1 2027: A1 111 (the April row is outside), A2 222; the team row is not a rep's.
    assert dict(targets.rows()) == {"A1": 111.0, "A2": 222.0}
    base = scenario_store.with_targets(wf.base(), targets)
    assert base["rep_id"].to_list() == wf.base()["rep_id"].to_list()
    assert dict(base.select("rep_id", "target").rows())["A3"] is None
