"""OpportunityFieldHistory.csv and Period.csv in a Salesforce Data Export (tests/salesforce_fixtures.py has the rows
and the expected moves worked out by hand beside them)."""

from __future__ import annotations

from datetime import date, datetime
from pathlib import Path

import polars as pl

from saleslens import ingest
from saleslens.core import store
from saleslens.ingest import backfill, build, mapping, readers
from saleslens.ingest import report as rp
from tests.ingest_cases import write
from tests.salesforce_fixtures import AS_OF, OPP, with_field_history

FH = "OpportunityFieldHistory.csv"
PR, CA, NE, GA, PE = "Prospección", "Calificación", "Négociation", "Cerrada ganada", "Cerrada perdida"


def _moves(snap: store.Snapshot) -> pl.DataFrame:
    return pl.read_parquet(snap.event_files("stage_changes")).sort(["opportunity_id", "changed_at"])


def _of(moves: pl.DataFrame, n: int) -> list[tuple]:
    deal = moves.filter(pl.col("opportunity_id") == OPP[n])
    return list(zip(deal["from_stage"], deal["to_stage"], deal["changed_at"], strict=True))


def test_field_history_fills_the_deals_opportunity_history_lacks(tmp_path: Path) -> None:
    """O3 and O6 get their moves from the StageName rows; O2, in OpportunityHistory, is not read twice."""
    snap = ingest.run_import(write(tmp_path / "export", with_field_history()), "salesforce", tmp_path / "data", AS_OF)
    moves = _moves(snap)
    assert moves.height == 7 + 5  # OpportunityHistory's 7, and 3 + 2 from the field history
    assert _of(moves, 3) == [(None, PR, datetime(2026, 2, 1, 10)), (PR, CA, datetime(2026, 2, 10, 10)),
                             (CA, GA, datetime(2026, 4, 1, 9))]
    assert _of(moves, 6) == [(None, CA, datetime(2026, 4, 1, 10)), (CA, PE, datetime(2026, 5, 5, 12))]
    assert [m[1] for m in _of(moves, 2)] == [PR, NE, CA, GA]  # OpportunityHistory's four, once
    report = snap.manifest["import_report"]
    notes = {(n["code"], n["file"]): n for n in report["export"]}
    assert notes[("field_history_stages", FH)]["count"] == 5
    assert notes[("field_history_stages", FH)]["values"]["deals"] == "2"
    close = notes[("field_history_close_dates", FH)]
    assert (close["count"], close["values"]["pushed"]) == (3, "2")
    assert notes[("field_history_amounts", FH)]["count"] == 1
    assert notes[("deleted", FH)]["count"] == 1
    periods = notes[("periods", "Period.csv")]
    assert (periods["count"], periods["values"]) == (6, {"types": "Quarter 4, Year 2", "start": "1 February"})
    lines = rp.export_lines(report, "en")
    assert "Period.csv: 6 fiscal period(s) (Quarter 4, Year 2); fiscal years start on 1 February." in " ".join(lines)
    source = next(s for s in report["sources"] if s["table"] == "stage_changes")
    assert source["file"] == f"OpportunityHistory.csv + {FH}" and source["accepted"] == 12


def test_field_history_alone_gives_every_deal_its_moves_and_the_backfill(tmp_path: Path) -> None:
    """Without OpportunityHistory.csv, O2's StageName row is used too; the weekly backfill reads the moves."""
    files = readers.files_from_path(write(tmp_path / "export", with_field_history(history=False)))
    prepared = build.prepare(files, mapping.load("salesforce"), as_of=AS_OF)
    moves = prepared.events["stage_changes"].sort(["opportunity_id", "changed_at"])
    assert _of(moves, 2) == [(None, PR, datetime(2026, 1, 5, 10)), (PR, NE, datetime(2026, 1, 20, 10))]
    assert moves.height == 2 + 3 + 2
    weeks = {s.as_of: s for s in backfill.publish_weekly(prepared, tmp_path / "data")}

    def deal(day: date, n: int) -> dict:
        opps = pl.read_parquet(weeks[day].table_path("opportunities"))
        return opps.filter(pl.col("opportunity_id") == OPP[n]).row(0, named=True)

    # 1 March: O3 in Calificación since 10 February, open. 5 April: won on 1 April, EUR 9,000 at 0.9 = 10,000.
    assert (deal(date(2026, 3, 1), 3)["stage"], deal(date(2026, 3, 1), 3)["status"]) == (CA, "open")
    won = deal(date(2026, 4, 5), 3)
    assert (won["stage"], won["status"], won["close_date"], won["amount"]) == (GA, "won", date(2026, 4, 1), 10000.0)
    # O6 was created on 1 April: absent on 29 March, in Calificación on 5 April.
    assert OPP[6] not in pl.read_parquet(weeks[date(2026, 3, 29)].table_path("opportunities"))["opportunity_id"]
    assert deal(date(2026, 4, 5), 6)["stage"] == CA
