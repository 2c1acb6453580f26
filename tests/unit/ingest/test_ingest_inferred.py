"""Exports without stage history: successive imports infer the moves between snapshots, marked as inferred."""

from __future__ import annotations

from datetime import date, datetime
from pathlib import Path

import polars as pl

from queries.runner import Runner
from saleslens import ingest
from saleslens.core import store
from saleslens.ingest import inferred
from saleslens.ingest import report as rp
from tests.ingest_cases import write

SUNDAY = date(2026, 3, 1)
NEXT_SUNDAY = date(2026, 3, 8)
STAGES = pl.DataFrame({"stage": ["Qualify", "Propose", "Closed Won", "Closed Lost"],
                       "is_won": [False, False, True, False], "is_lost": [False, False, False, True]})


def test_middle_day() -> None:
    """The middle of the days after the previous snapshot up to the new one; the later of two middles."""
    assert inferred.middle_day(SUNDAY, NEXT_SUNDAY) == date(2026, 3, 5)  # 2..8 March: the 5th, a Thursday
    assert inferred.middle_day(SUNDAY, date(2026, 3, 2)) == date(2026, 3, 2)  # one day: that day
    assert inferred.middle_day(SUNDAY, date(2026, 3, 3)) == date(2026, 3, 3)  # 2 and 3 March: the later one
    assert inferred.middle_day(SUNDAY, date(2026, 3, 5)) == date(2026, 3, 4)  # 2..5 March: 3rd and 4th, the 4th


def test_infer_on_literal_rows() -> None:
    """One move per deal whose stage differs; closed in the interval: its close date, else the middle day."""
    before = pl.DataFrame({"opportunity_id": ["A", "B", "C", "D", "G"],
                           "stage": ["Qualify", "Propose", "Qualify", "Qualify", "Qualify"]})
    now = pl.DataFrame({
        "opportunity_id": ["A", "B", "C", "D", "E"],
        "stage": ["Propose", "Closed Won", "Closed Lost", "Qualify", "Qualify"],
        "close_date": [date(2026, 3, 4), date(2026, 3, 4), date(2026, 2, 20), None, None],
    })
    rows = inferred.infer(before, now, STAGES, SUNDAY, NEXT_SUNDAY)
    # A moved but is still open: its (expected) close date does not date the move. B was won on the 4th, in the
    # interval. C was lost on 20 February, before the first snapshot (a late update): the middle day. D did not
    # move, E is new, G is gone: nothing to compare.
    assert rows.to_dicts() == [
        {"opportunity_id": "A", "from_stage": "Qualify", "to_stage": "Propose",
         "changed_at": datetime(2026, 3, 5), "inferred": True},
        {"opportunity_id": "B", "from_stage": "Propose", "to_stage": "Closed Won",
         "changed_at": datetime(2026, 3, 4), "inferred": True},
        {"opportunity_id": "C", "from_stage": "Qualify", "to_stage": "Closed Lost",
         "changed_at": datetime(2026, 3, 5), "inferred": True},
    ]


REPS = "rep_id,name\nr1,Ann Able\n"
HEAD = "deal_id,owner,stage,amount,created,closed\n"
# Week one: three open deals. Week two: d1 moved on, d2 was won on 4 March, d3 stayed, d4 is new.
WEEK1 = HEAD + "d1,r1,Open,100,2026-02-01,\nd2,r1,Open,200,2026-02-01,\nd3,r1,Open,300,2026-02-01,\n"
WEEK2 = HEAD + ("d1,r1,Proposal,100,2026-02-01,\nd2,r1,Won,200,2026-02-01,2026-03-04\n"
                "d3,r1,Open,300,2026-02-01,\nd4,r1,Open,50,2026-03-06,\n")
MAPPING = """
name = "weekly"
description = "A plain deals export each week, without stage history"
as_of = "latest"

[[stages]]
name = "Open"
probability = 0.2
[[stages]]
name = "Proposal"
probability = 0.6
[[stages]]
name = "Won"
won = true
[[stages]]
name = "Lost"
lost = true

[[tables.reps]]
file = "reps.csv"
[tables.reps.fields]
rep_id = "rep_id"
name = "name"
role = { value = "AE" }

[[tables.opportunities]]
file = "deals.csv"
[tables.opportunities.fields]
opportunity_id = "deal_id"
owner_id = "owner"
stage = "stage"
amount = "amount"
created_date = "created"
close_date = "closed"
"""


def _import(tmp_path: Path, name: str, deals: str, as_of: date) -> store.Snapshot:
    folder = write(tmp_path / name, {"reps.csv": REPS.encode(), "deals.csv": deals.encode()})
    (tmp_path / "weekly.toml").write_text(MAPPING)
    return ingest.run_import(folder, str(tmp_path / "weekly.toml"), tmp_path / "data", as_of)


def _moves(snap: store.Snapshot) -> list[tuple]:
    """The stage changes the snapshot sees, as the app's queries read them."""
    runner = Runner(snap)
    try:
        return runner._db.cursor().sql("select opportunity_id, from_stage, to_stage, cast(changed_at as date), "
                                   "inferred from stage_changes order by opportunity_id").fetchall()
    finally:
        runner.close()


def test_second_import_infers_the_moves(tmp_path: Path) -> None:
    """Two weekly exports: the second snapshot's history holds d1's and d2's moves, inferred, and the report
    counts them; the first has none (nothing to compare with)."""
    first = _import(tmp_path, "w1", WEEK1, SUNDAY)
    assert "inferred" not in first.manifest["import_report"]
    assert first.manifest["events"]["stage_changes"] == 0
    second = _import(tmp_path, "w2", WEEK2, NEXT_SUNDAY)
    report = second.manifest["import_report"]
    assert report["inferred"]["count"] == 2
    assert report["inferred"]["previous"] == first.id
    assert report["inferred"]["middle"] == "2026-03-05"
    assert second.manifest["events"]["stage_changes"] == 2
    assert _moves(second) == [("d1", "Open", "Proposal", date(2026, 3, 5), True),
                              ("d2", "Open", "Won", date(2026, 3, 4), True)]
    line = rp.history_lines(report, "en")[0]
    assert line.startswith("2 stage change(s) inferred against snapshot " + first.id)
    assert "2026-03-05" in line
    assert rp.history_lines(report, "zh")[0] != line
    assert "Stage history" in rp.text(report, "en")


def test_no_inference_against_a_later_snapshot(tmp_path: Path) -> None:
    """An export dated before the latest snapshot infers nothing: moves cannot be read backwards."""
    _import(tmp_path, "w2", WEEK2, NEXT_SUNDAY)
    earlier = _import(tmp_path, "w1", WEEK1, SUNDAY)
    assert "inferred" not in earlier.manifest["import_report"]
    assert earlier.manifest["events"]["stage_changes"] == 0


def test_history_written_before_the_inferred_column_still_reads(tmp_path: Path) -> None:
    """A store whose history predates the `inferred` column (a legacy file without it) reads alongside the
    inferred batch: the old rows have no flag, the inferred ones have it."""
    old = pl.DataFrame({"opportunity_id": ["d3"], "from_stage": [None], "to_stage": ["Open"],
                        "changed_at": [datetime(2026, 2, 1, 9)]}, schema_overrides={"from_stage": pl.String})
    folder = tmp_path / "data" / store.EVENTS / "stage_changes" / "month=2026-02"
    folder.mkdir(parents=True)
    old.write_parquet(folder / "data.parquet")
    first = _import(tmp_path, "w1", WEEK1, SUNDAY)
    assert _moves(first) == [("d3", None, "Open", date(2026, 2, 1), None)]
    second = _import(tmp_path, "w2", WEEK2, NEXT_SUNDAY)
    assert second.manifest["events"]["stage_changes"] == 3
    assert _moves(second) == [("d1", "Open", "Proposal", date(2026, 3, 5), True),
                              ("d2", "Open", "Won", date(2026, 3, 4), True),
                              ("d3", None, "Open", date(2026, 2, 1), None)]
