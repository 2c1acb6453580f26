"""Derived tables (queries/derived/): written at publish, read back by the runner, scoped, and recomputed
as a view when a snapshot lacks the file."""

from __future__ import annotations

from pathlib import Path

import polars as pl
import pytest

from queries import catalog, runner
from queries.runner import Runner, Scope
from saleslens.core import store
from tests import fixtures

WON_BY_REP = """-- purpose: won deals per rep (a test table)
-- grain: one row per rep that owns a deal
-- scope: rep_id by rep
select owner_id as rep_id, count(*) filter (where status = 'won') as won
from raw_opportunities
group by owner_id
order by rep_id
"""


@pytest.fixture
def derived_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A derived-table folder holding only the test table."""
    folder = tmp_path / "derived_sql"
    folder.mkdir()
    (folder / "won_by_rep.sql").write_text(WON_BY_REP, encoding="utf-8")
    monkeypatch.setattr(runner, "DERIVED_DIR", folder)
    return folder


def _expected() -> dict[str, int]:
    """Won deals per owner, counted from the fixture rows with Polars (not through the runner)."""
    frame = fixtures.OPPORTUNITIES.group_by("owner_id").agg((pl.col("status") == "won").sum().alias("won"))
    return dict(zip(frame["owner_id"].to_list(), frame["won"].to_list(), strict=True))


def _publish(data_dir: Path) -> store.Snapshot:
    store.write_events(data_dir, "activities", fixtures.ACTIVITIES)
    return store.publish_snapshot(
        data_dir, fixtures.AS_OF,
        {"stages": fixtures.STAGES, "reps": fixtures.REPS, "accounts": fixtures.ACCOUNTS,
         "products": fixtures.PRODUCTS, "opportunities": fixtures.OPPORTUNITIES, "targets": fixtures.TARGETS},
        source="tests", derive=runner.build_derived,
    )


def _read(r: Runner) -> dict[str, int]:
    cur = r._db.cursor()
    try:
        rows = cur.sql("select rep_id, won from won_by_rep").fetchall()
    finally:
        cur.close()
    return dict(rows)


def test_publish_writes_the_derived_table_and_counts_it(derived_dir: Path, tmp_path: Path) -> None:
    snap = _publish(tmp_path / "data")
    path = runner.derived_file(snap, "won_by_rep")
    assert path.exists()
    assert snap.manifest["derived"]["won_by_rep"] == len(_expected())
    assert dict(pl.read_parquet(path).iter_rows()) == _expected()
    assert not list((tmp_path / "data" / store.TMP).iterdir())  # nothing left in staging


def test_runner_reads_the_stored_table(derived_dir: Path, tmp_path: Path) -> None:
    snap = _publish(tmp_path / "data")
    # Overwrite the stored file with a marker row: the runner must read the file, not recompute.
    pl.DataFrame({"rep_id": ["MARK"], "won": [99]}).write_parquet(runner.derived_file(snap, "won_by_rep"))
    r = Runner(store.open_snapshot(snap.data_dir))
    try:
        assert _read(r) == {"MARK": 99}
    finally:
        r.close()


def test_missing_file_is_computed_with_the_same_rows(derived_dir: Path, tmp_path: Path) -> None:
    snap = _publish(tmp_path / "data")
    runner.derived_file(snap, "won_by_rep").unlink()
    r = Runner(store.open_snapshot(snap.data_dir))
    try:
        assert _read(r) == _expected()
    finally:
        r.close()


@pytest.mark.parametrize("stored", [True, False])
def test_derived_rows_follow_the_row_scope(derived_dir: Path, tmp_path: Path, stored: bool) -> None:
    snap = _publish(tmp_path / "data")
    if not stored:
        runner.derived_file(snap, "won_by_rep").unlink()
    rep = sorted(_expected())[0]
    r = Runner(store.open_snapshot(snap.data_dir), Scope(f"rep:{rep}", frozenset({rep})))
    try:
        assert _read(r) == {rep: _expected()[rep]}
    finally:
        r.close()
    nobody = Runner(store.open_snapshot(snap.data_dir), Scope("none", frozenset()))
    try:
        assert _read(nobody) == {}
    finally:
        nobody.close()


def test_build_derived_fills_in_an_older_snapshot(derived_dir: Path, tmp_path: Path) -> None:
    snap = fixtures.build_store(tmp_path / "data")  # published without derive
    assert not runner.derived_file(snap, "won_by_rep").exists()
    assert runner.build_derived(snap)["won_by_rep"] == len(_expected())
    assert dict(pl.read_parquet(runner.derived_file(snap, "won_by_rep")).iter_rows()) == _expected()
    assert not [p.name for p in (snap.root / store.DERIVED).iterdir() if p.name.endswith(".tmp")]


def test_a_failing_derived_table_publishes_nothing(derived_dir: Path, tmp_path: Path) -> None:
    (derived_dir / "zz_broken.sql").write_text("-- scope: rep_id by rep\nselect nope from raw_reps\n")
    with pytest.raises(Exception, match="nope"):
        _publish(tmp_path / "data")
    assert store.list_snapshots(tmp_path / "data") == []


def test_a_derived_table_must_name_its_scope(derived_dir: Path) -> None:
    (derived_dir / "no_scope.sql").write_text("-- purpose: x\nselect 1 as x\n")
    with pytest.raises(catalog.QueryError, match=r"no_scope\.sql"):
        runner.derived_tables()


def test_every_shipped_derived_table_has_a_header() -> None:
    for d in runner.derived_tables():
        assert d.sql.startswith("-- purpose:"), d.name
        assert "-- grain:" in d.sql, d.name


def test_derive_command_names_unknown_tables_and_fills_in(derived_dir: Path, tmp_path: Path,
                                                          capsys: pytest.CaptureFixture[str]) -> None:
    from saleslens import cli

    snap = fixtures.build_store(tmp_path / "data")
    assert cli.main(["derive", "--data", str(snap.data_dir), "--only", "nope"]) == 2
    assert "unknown derived table nope" in capsys.readouterr().err
    assert cli.main(["derive", "--data", str(snap.data_dir)]) == 0
    assert f"won_by_rep {len(_expected())}" in capsys.readouterr().out
    assert runner.derived_file(snap, "won_by_rep").exists()


def test_a_changed_definition_never_reads_the_older_file(derived_dir: Path, tmp_path: Path) -> None:
    """After an upgrade changes a derived table's SQL, the stored file of the old SQL is ignored (the new SQL is
    computed), and `derive` replaces it."""
    snap = _publish(tmp_path / "data")
    old_file = runner.derived_file(snap, "won_by_rep")
    (derived_dir / "won_by_rep.sql").write_text(WON_BY_REP.replace("'won'", "'lost'"), encoding="utf-8")
    new_file = runner.derived_file(snap, "won_by_rep")
    assert new_file != old_file and old_file.exists() and not new_file.exists()
    lost = fixtures.OPPORTUNITIES.group_by("owner_id").agg((pl.col("status") == "lost").sum().alias("won"))
    expected = dict(zip(lost["owner_id"].to_list(), lost["won"].to_list(), strict=True))
    assert expected != _expected()  # the fixture tells the two definitions apart
    r = Runner(store.open_snapshot(snap.data_dir))
    try:
        assert _read(r) == expected
    finally:
        r.close()
    runner.build_derived(snap)
    assert new_file.exists() and not old_file.exists()


def test_a_table_reading_another_changes_version_with_it(derived_dir: Path) -> None:
    (derived_dir / "won_totals.sql").write_text(
        "-- purpose: x\n-- grain: x\n-- scope: rep_id by rep\nselect rep_id, won from raw_won_by_rep\n")
    before = {d.name: d.version for d in runner.derived_tables()}
    (derived_dir / "won_by_rep.sql").write_text(WON_BY_REP.replace("order by rep_id", "order by won"))
    after = {d.name: d.version for d in runner.derived_tables()}
    assert before["won_totals"] != after["won_totals"]  # its own SQL is the same; what it reads is not
    assert before["deal_facts"] == after["deal_facts"]


def test_a_full_rebuild_removes_files_of_tables_no_longer_defined(derived_dir: Path, tmp_path: Path) -> None:
    snap = _publish(tmp_path / "data")
    gone = snap.root / store.DERIVED / "retired_rollup.parquet"
    gone.write_bytes(b"old")
    runner.build_derived(snap, ["won_by_rep"])
    assert gone.exists()  # a partial rebuild leaves the rest alone
    runner.build_derived(snap)
    assert not gone.exists() and runner.derived_file(snap, "won_by_rep").exists()
