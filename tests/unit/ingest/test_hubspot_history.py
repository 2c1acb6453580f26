"""HubSpot's "Date entered <stage>" columns become stage history on import, and feed the weekly backfill.

The export is tests/hubspot_fixtures.py (its docstring has the deals' dates); expected rows worked out from it.
"""

from __future__ import annotations

from datetime import date, datetime
from pathlib import Path

import polars as pl

from saleslens import ingest
from saleslens.core import store
from saleslens.ingest import backfill, build, hubspot, mapping, readers
from saleslens.ingest import report as rp
from tests import hubspot_fixtures as hf
from tests.ingest_cases import write

AS_OF = date(2026, 2, 22)  # a Sunday
AP, QT, CS, CW = "Appointment Scheduled", "Qualified To Buy", "Contract Sent", "Closed Won"


def _prepared(tmp_path: Path) -> build.Prepared:
    files = readers.files_from_path(write(tmp_path / "hs", hf.files()))
    return build.prepare(files, mapping.load("hubspot"), as_of=AS_OF)


def test_entered_columns_match_the_stage_list() -> None:
    """Quoted labels with their pipeline match the profile's stages; other columns are not moves."""
    found = hubspot.entered_columns(hf.HEADER, mapping.load("hubspot").stages)
    assert found.stages == dict(zip(hf.ENTERED, [AP, QT, CS, CW], strict=True))
    assert found.unknown == [hf.UNKNOWN]
    bare = hubspot.entered_columns(["Date entered Contract sent", "date entered closedwon", "Date exited Closed Won"],
                                   mapping.load("hubspot").stages)
    assert bare.stages == {"Date entered Contract sent": CS, "date entered closedwon": CW}


def test_moves_from_dates_entered(tmp_path: Path) -> None:
    """Ten moves of five deals in time order, each with the stage it left; 9005's regression kept."""
    prepared = _prepared(tmp_path)
    got = prepared.events["stage_changes"].sort(["opportunity_id", "changed_at"]).select(
        "opportunity_id", "from_stage", "to_stage", "changed_at").rows()
    d = datetime
    assert got == [
        ("9001", None, AP, d(2026, 1, 5, 9, 12)), ("9001", AP, QT, d(2026, 1, 12, 10)),
        ("9001", QT, CS, d(2026, 1, 26, 15, 30)), ("9001", CS, CW, d(2026, 2, 10, 10)),
        ("9002", None, AP, d(2026, 1, 20, 15)), ("9002", AP, CS, d(2026, 2, 3, 11)),
        ("9003", None, AP, d(2026, 2, 1, 8)),
        ("9004", None, QT, d(2026, 2, 4, 9)),
        ("9005", None, QT, d(2026, 2, 10, 9)), ("9005", QT, AP, d(2026, 2, 20, 14)),
    ]
    assert prepared.events["stage_changes"]["inferred"].null_count() == 10  # from the CRM, not inferred
    notes = {n["code"]: n for n in prepared.report["export"]}
    assert notes["entered_history"]["count"] == 10
    assert notes["entered_history"]["values"] == {"columns": 4, "deals": 5}
    assert notes["entered_unknown"]["values"]["columns"] == hf.UNKNOWN
    assert notes["entered_unreadable"]["count"] == 1  # 9003's "soon"
    lines = rp.export_lines(prepared.report, "en")
    assert any("10 stage change(s) of 5 deal(s)" in line for line in lines)
    # The columns are read (or named), not listed as left unread.
    unread = [c for item in prepared.report["unread_columns"] for c in item["columns"]]
    assert not {*hf.ENTERED, hf.UNKNOWN} & set(unread)


def test_weekly_backfill_from_dates_entered(tmp_path: Path) -> None:
    """One snapshot per Sunday from 11 January to 15 February, each deal in the stage it had entered by then."""
    prepared = _prepared(tmp_path)
    snaps = backfill.publish_weekly(prepared, tmp_path / "data")
    days = [s.as_of for s in snaps]
    assert days == [date(2026, 1, 11), date(2026, 1, 18), date(2026, 1, 25), date(2026, 2, 1), date(2026, 2, 8),
                    date(2026, 2, 15), AS_OF]
    assert all(s.manifest.get("backfilled") for s in snaps[:-1]) and not snaps[-1].manifest.get("backfilled")

    def state(snap: store.Snapshot) -> dict[str, tuple]:
        opps = pl.read_parquet(snap.table_path("opportunities"))
        return {r["opportunity_id"]: (r["stage"], r["status"], r["amount"])
                for r in opps.iter_rows(named=True)}

    # 8 February: 9001 in Contract Sent since 26 January (won on the 10th), 9002 moved there on the 3rd, 9003 in
    # Appointment Scheduled, 9004 created on the 2nd (its first move on the 4th); 9005 not created yet.
    assert state(snaps[4]) == {"9001": (CS, "open", 12000.0), "9002": (CS, "open", 4000.0),
                               "9003": (AP, "open", 7000.0), "9004": (QT, "open", 1500.0)}
    # 15 February: 9001 won, 9005 created in Qualified To Buy (back in Appointment Scheduled only on the 20th).
    week = state(snaps[5])
    assert week["9001"] == (CW, "won", 12000.0) and week["9005"] == (QT, "open", 900.0)
    # 11 January: 9001 only, still in Appointment Scheduled (it entered Qualified To Buy on the 12th).
    assert state(snaps[0]) == {"9001": (AP, "open", 12000.0)}


def test_plain_hubspot_export_gets_no_history(tmp_path: Path) -> None:
    """Without the columns the import is as before: no stage changes, no export notes."""
    from tests.ingest_cases import hubspot_files

    snap = ingest.run_import(write(tmp_path / "hs", hubspot_files()), "hubspot", tmp_path / "data", AS_OF)
    assert snap.manifest["events"]["stage_changes"] == 0
    assert "export" not in snap.manifest["import_report"]
