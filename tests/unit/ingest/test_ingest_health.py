"""The data health queries (queries/health_*.sql) on the tiny dataset and a few literal variations of it."""

from __future__ import annotations

from datetime import date, datetime
from pathlib import Path

import polars as pl
import pytest

from queries.runner import Runner
from saleslens.core import store
from tests import fixtures


def _publish(data: Path, as_of: date, opportunities: pl.DataFrame, accounts: pl.DataFrame | None = None) -> None:
    store.publish_snapshot(
        data, as_of,
        {"stages": fixtures.STAGES, "reps": fixtures.REPS, "products": fixtures.PRODUCTS,
         "accounts": fixtures.ACCOUNTS if accounts is None else accounts, "opportunities": opportunities},
        source="tests",
    )


def _expected_close(opps: pl.DataFrame, changes: dict[str, date]) -> pl.DataFrame:
    return opps.with_columns(
        pl.col("opportunity_id").replace_strict(changes, default=pl.col("expected_close_date"), return_dtype=pl.Date)
        .alias("expected_close_date")
    )


@pytest.fixture
def weekly(tmp_path: Path) -> Runner:
    """Three weekly snapshots of the tiny deals: O5's expected close moves out twice, O6's back and forth."""
    opps = fixtures.OPPORTUNITIES
    _publish(tmp_path, date(2026, 6, 16), _expected_close(opps, {"O5": date(2026, 7, 1), "O6": date(2026, 6, 20)}))
    _publish(tmp_path, date(2026, 6, 23), _expected_close(opps, {"O5": date(2026, 7, 8), "O6": date(2026, 6, 10)}))
    _publish(tmp_path, date(2026, 6, 30), opps)  # O5 2026-07-15, O6 2026-06-30
    runner = Runner(store.open_snapshot(tmp_path))
    yield runner
    runner.close()


def test_close_dates_pushed_out_twice(weekly: Runner) -> None:
    """O5: 1 Jul -> 8 Jul -> 15 Jul is two pushes of 14 days in all; O6 moved out once (10 -> 30 Jun) only."""
    slips = weekly.run("health_close_date_slips_by_deal")
    assert slips.select("opportunity_id", "pushes", "first_expected", "last_expected", "days_pushed",
                        "snapshots").rows() == [("O5", 2, date(2026, 7, 1), date(2026, 7, 15), 14, 3)]
    assert weekly.run("health_close_date_slips_by_deal", min_pushes=1)["opportunity_id"].to_list() == ["O5", "O6"]
    # West (R3) owns O5; the East filter leaves nothing.
    assert weekly.run("health_close_date_slips_by_deal", regions=["East"]).height == 0


def test_slips_only_count_snapshots_up_to_the_one_viewed(weekly: Runner, tmp_path: Path) -> None:
    """Viewed at the middle snapshot, O5 has been pushed once (1 Jul -> 8 Jul), so it is not listed."""
    middle = Runner(store.list_snapshots(tmp_path)[1])
    try:
        assert middle.run("health_close_date_slips_by_deal").height == 0
        assert middle.run("health_close_date_slips_by_deal", min_pushes=1)["pushes"].to_list() == [1]
    finally:
        middle.close()


def test_one_snapshot_has_no_slips(tiny: Runner) -> None:
    """With a single snapshot nothing can have moved."""
    assert tiny.run("health_close_date_slips_by_deal").height == 0


def test_stale_open_deals(tiny: Runner) -> None:
    """Open deals O5 (created 1 Apr) and O6 (1 May) have no activity; as of 30 Jun they are silent 90 and 60 days."""
    stale = tiny.run("health_stale_deals_by_deal", days=30)
    assert stale.select("opportunity_id", "days_silent", "last_activity", "amount").rows() == [
        ("O5", 90, None, 4000.0), ("O6", 60, None, 1000.0),
    ]
    assert tiny.run("health_stale_deals_by_deal", days=61)["opportunity_id"].to_list() == ["O5"]
    assert tiny.run("health_stale_deals_by_deal", days=30, reps=["R2"])["opportunity_id"].to_list() == ["O6"]


def test_a_recent_activity_keeps_a_deal_fresh(tmp_path: Path) -> None:
    """An activity on O6 on 20 Jun makes it 10 days silent; one after the snapshot date does not count."""
    fixtures.build_store(tmp_path)
    extra = pl.DataFrame({"activity_id": ["X9", "X10"], "rep_id": ["R2", "R3"], "opportunity_id": ["O6", "O5"],
                          "account_id": ["A1", "A2"], "type": ["call", "call"],
                          "occurred_at": [datetime(2026, 6, 20, 9), datetime(2026, 7, 5, 9)]})
    store.write_events(tmp_path, "activities", extra)
    runner = Runner(store.open_snapshot(tmp_path))
    try:
        stale = runner.run("health_stale_deals_by_deal", days=5)
        assert stale.select("opportunity_id", "days_silent").rows() == [("O5", 90), ("O6", 10)]
    finally:
        runner.close()


def test_missing_amounts(tmp_path: Path) -> None:
    """Two deals without an amount (open O5, lost O7) out of seven, counted per stage."""
    opps = fixtures.OPPORTUNITIES.with_columns(
        pl.when(pl.col("opportunity_id").is_in(["O5", "O7"])).then(None).otherwise(pl.col("amount")).alias("amount")
    )
    _publish(tmp_path, fixtures.AS_OF, opps)
    runner = Runner(store.open_snapshot(tmp_path))
    try:
        by_stage = runner.run("health_missing_amounts_by_stage")
        # Prospecting O6; Proposal O5 (no amount); Closed Won O1 O3 O4; Closed Lost O2 O7 (O7 no amount).
        assert by_stage.select("stage", "deals", "without_amount", "share_without").rows() == [
            ("Prospecting", 1, 0, 0.0), ("Proposal", 1, 1, 1.0), ("Closed Won", 3, 0, 0.0),
            ("Closed Lost", 2, 1, 0.5),
        ]
        deals = runner.run("health_missing_amounts_by_deal")
        assert deals["opportunity_id"].to_list() == ["O5", "O7"]  # open first
    finally:
        runner.close()


def test_duplicate_accounts(tmp_path: Path) -> None:
    """'Acme' and 'ACME, Inc.' clean to the same name; 'Globex Corp' and 'Globex Corporation' too; 'Initech' alone."""
    accounts = pl.DataFrame({
        "account_id": ["A1", "A2", "A3", "A4", "A5"],
        "name": ["Acme", "Globex Corp", "ACME, Inc.", "Globex Corporation", "Initech"],
        "segment": ["SMB"] * 5, "industry": ["Tech"] * 5, "region": ["East"] * 5,
    })
    _publish(tmp_path, fixtures.AS_OF, fixtures.OPPORTUNITIES, accounts)
    runner = Runner(store.open_snapshot(tmp_path))
    try:
        pairs = runner.run("health_duplicate_accounts_by_pair")
        # Deals: A1 has O1 O2 O6 O7 = 4, A2 has O3 O4 O5 = 3, A3 and A4 none.
        assert pairs.select("account_id_a", "account_id_b", "similarity", "same_clean_name", "deals_a",
                            "deals_b").rows() == [("A1", "A3", 1.0, True, 4, 0), ("A2", "A4", 1.0, True, 3, 0)]
    finally:
        runner.close()


def test_completeness(tiny: Runner) -> None:
    """Per field: the tiny opportunities have no lost_reason or forecast_category; the open O5 and O6 lack a close date.

    A field that applies to some deals is counted on those (issue 16 item 11; this expected (0, 7) and (5, 7),
    counting the open deals' missing close dates and the won deals' missing lost reasons as gaps): lost_reason on
    the 2 lost deals (O2, O7), close_date on the 5 closed ones (O1-O4, O7).
    """
    complete = tiny.run("health_completeness_by_field")
    opp = {r["field"]: (r["filled"], r["row_count"]) for r in complete.filter(
        pl.col("table_name") == "opportunities").iter_rows(named=True)}
    assert opp["lost_reason"] == (0, 2) and opp["close_date"] == (5, 5) and opp["opportunity_id"] == (7, 7)
    # History tables count rows up to the snapshot date: X5 (2 Jul) is after it.
    assert complete.filter(pl.col("table_name") == "activities")["row_count"].unique().to_list() == [4]
    assert "leads" not in complete["table_name"].to_list()


def test_freshness_and_unlinked(tmp_path: Path) -> None:
    """Latest dates per table; a deal whose owner is not a rep and one without an account are counted."""
    opps = fixtures.OPPORTUNITIES.with_columns(
        pl.when(pl.col("opportunity_id") == "O7").then(pl.lit("R9")).otherwise(pl.col("owner_id")).alias("owner_id"),
        pl.when(pl.col("opportunity_id") == "O6").then(None).otherwise(pl.col("account_id")).alias("account_id"),
    )
    fixtures.build_store(tmp_path, opps)
    runner = Runner(store.open_snapshot(tmp_path))
    try:
        fresh = runner.run("health_freshness_by_table")
        # Deals: latest created/closed is O7's close, 1 Jun -> 29 days before 30 Jun; activities: X4 on 2 Apr.
        assert fresh.rows() == [("activities", 4, date(2026, 4, 2), 89), ("opportunities", 7, date(2026, 6, 1), 29)]
        unlinked = runner.run("health_unlinked_by_relation")
        assert unlinked.rows() == [
            ("opportunities.owner_id → reps", 1, 0, 1, "R9"),
            ("opportunities.account_id → accounts", 0, 1, 0, None),
        ]
    finally:
        runner.close()


def test_history_view_is_empty_without_snapshots_before(tiny: Runner) -> None:
    """The runner's history view has the current snapshot only when it is the first."""
    assert tiny.run("health_close_date_slips_by_deal", min_pushes=0)["snapshots"].unique().to_list() == [1]
