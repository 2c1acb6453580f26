"""The funnel queries on the literal rows of tests/funnel_fixtures.py, against values worked out by hand.

Period Q2 2026 (Apr 1 - Jun 30) unless said otherwise; the latest snapshot B (2026-06-30) is the one run.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import polars as pl
import pytest

from queries.runner import Runner
from saleslens.core import store
from saleslens.funnel import logic as funnel
from tests import funnel_fixtures as ff
from tests import support

Q2, Q1 = ff.Q2, ff.Q1
NOBODY = {"regions": ["Atlantis"]}  # a filter that matches no deal


@pytest.fixture(scope="module")
def runner(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Runner]:
    """Snapshot B of the funnel fixtures, with stage history, leads and payments."""
    yield from support.open_runner(support.built_store(tmp_path_factory, "funnel", ff.build_store))


@pytest.fixture(scope="module")
def flat(tmp_path_factory: pytest.TempPathFactory) -> Runner:
    """The same deals without any stage history (like an import of the Maven CRM export)."""
    path = tmp_path_factory.mktemp("flat")
    ff.build_store(path, history=False)
    r = Runner(store.open_snapshot(path))
    yield r
    r.close()


def by_stage(frame: pl.DataFrame, *cols: str) -> dict[str, tuple]:
    """Rows keyed by stage, with the chosen columns (floats rounded to 4 places)."""
    out = {}
    for row in frame.iter_rows(named=True):
        out[row["stage"]] = tuple(round(row[c], 4) if isinstance(row[c], float) else row[c] for c in cols)
    return out


# ---- current-state funnel

def test_current_state_funnel(runner: Runner) -> None:
    f = runner.run("funnel_by_stage", **Q2)
    assert f["stage"].to_list() == ["Prospecting", "Qualification", "Proposal", "Closed Won", "Closed Lost"]
    assert f["kind"].to_list() == ["stage", "stage", "stage", "won", "lost"]
    # In play in Q2: created by Jun 30 and open now, or closed in Q2:
    #   D1 won, D2 lost (from Proposal), D3 Q, D4 P, D5 lost (from Q), D6 won, F2 P, E3 Proposal, F1 Proposal,
    #   F3 Q, F5 Q = 11 deals (E1 and E2 closed in Q1). Amounts sum to 21,600.
    # Reached: P all 11; Q all but D4, F2 = 9 (20,500); Proposal D1, D2, D6, E3, F1 = 5 (14,500).
    # In the stage now: P D4+F2 = 1,100; Q D3+F3+F5 = 4,500; Proposal E3+F1 = 7,500.
    assert by_stage(f, "deals", "amount", "reached", "reached_amount", "still_open") == {
        "Prospecting": (2, 1100.0, 11, 21600.0, 2),
        "Qualification": (3, 4500.0, 9, 20500.0, 3),
        "Proposal": (2, 7500.0, 5, 14500.0, 2),
        "Closed Won": (2, 5000.0, 2, 5000.0, 0),   # D1 1,000 + D6 4,000
        "Closed Lost": (2, 3500.0, 2, 3500.0, 0),  # D2 2,000 + D5 1,500
    }
    # From previous: 9/11, 5/9, won 2/5; from top: 9/11, 5/11, won 2/11, lost 2/11.
    assert by_stage(f, "conv_from_prev", "conv_from_top", "to_won") == {
        "Prospecting": (None, 1.0, round(2 / 11, 4)),
        "Qualification": (round(9 / 11, 4), round(9 / 11, 4), round(2 / 9, 4)),
        "Proposal": (round(5 / 9, 4), round(5 / 11, 4), 0.4),
        "Closed Won": (0.4, round(2 / 11, 4), None),
        "Closed Lost": (None, round(2 / 11, 4), None),
    }
    assert set(f["win_rate"].to_list()) == {0.5}  # 2 won / (2 won + 2 lost)


def test_outcomes_count_in_the_period_they_closed_in(runner: Runner) -> None:
    from datetime import date

    # April-May: open now and created by May 31: D3, D4, E3, F1, F3, F5; closed in Apr-May: D1 (won May 20).
    # D2 (lost Jun 10) and D5 (lost Jun 27) closed after the period, D6 and F2 were created after it.
    f = runner.run("funnel_by_stage", start=date(2026, 4, 1), end=date(2026, 5, 31))
    assert by_stage(f, "reached") == {"Prospecting": (7,), "Qualification": (6,), "Proposal": (3,),
                                      "Closed Won": (1,), "Closed Lost": (0,)}
    assert f["win_rate"][0] == 1.0  # 1 / (1 + 0), as kpis_by_group counts it for the same months


def test_current_state_funnel_with_filters(runner: Runner) -> None:
    # West is R3: D4 P, D5 lost from Q, E3 Proposal, F3 Q, F5 Q (R3 owns F5 in snapshot B).
    f = runner.run("funnel_by_stage", regions=["West"], **Q2)
    assert by_stage(f, "reached") == {"Prospecting": (5,), "Qualification": (4,), "Proposal": (1,),
                                      "Closed Won": (0,), "Closed Lost": (1,)}
    assert f["win_rate"][0] == 0.0  # 0 won / (0 + 1 lost)
    empty = runner.run("funnel_by_stage", **NOBODY, **Q2)
    assert empty.height == 5
    assert empty["reached"].sum() == 0 and empty["amount"].sum() == 0
    assert empty["conv_from_prev"].null_count() == 5 and empty["win_rate"].null_count() == 5


def test_empty_filters_mean_everything(runner: Runner) -> None:
    # All lists empty and no period: every deal in snapshot B (13) is in play.
    f = runner.run("funnel_by_stage", start=None, end=None, regions=[], teams=[], reps=[], products=[],
                   segments=[], sources=[])
    assert f["reached"][0] == 13
    assert runner.run("funnel_by_stage")["reached"][0] == 13


def test_current_state_without_history_counts_lost_deals_at_the_top(flat: Runner) -> None:
    # No stage history: where D2 and D5 were lost is unknown, so they count at Prospecting only.
    # Reached Q: D1, D3, D6, E3, F1, F3, F5 = 7; Proposal: D1, D6, E3, F1 = 4.
    f = flat.run("funnel_by_stage", **Q2)
    assert by_stage(f, "reached") == {"Prospecting": (11,), "Qualification": (7,), "Proposal": (4,),
                                      "Closed Won": (2,), "Closed Lost": (2,)}
    assert f["win_rate"][0] == 0.5


def test_funnel_drill_down_matches_the_bars(runner: Runner) -> None:
    deals = runner.run("deals_by_funnel_stage", stage="Proposal", **Q2)
    assert sorted(deals["opportunity_id"].to_list()) == ["D1", "D2", "D6", "E3", "F1"]
    won = runner.run("deals_by_funnel_stage", stage="Closed Won", **Q2)
    assert sorted(won["opportunity_id"].to_list()) == ["D1", "D6"]
    assert runner.run("deals_by_funnel_stage", **Q2).height == 11
    # Cohort method: created in Q2 and ever reached Proposal: D1, D2 (skipped Q), D3 (then moved back), D6 (won).
    cohort = runner.run("deals_by_funnel_stage", method="cohort", stage="Proposal", **Q2)
    assert sorted(cohort["opportunity_id"].to_list()) == ["D1", "D2", "D3", "D6"]
    assert dict(zip(cohort["opportunity_id"], cohort["regressed"], strict=True))["D3"] is True
    assert runner.run("deals_by_funnel_stage", stage="Proposal", **NOBODY, **Q2).height == 0
    assert runner.run("deals_by_funnel_stage", stage="No such stage", **Q2).height == 0


# ---- cohort funnel

def test_cohort_funnel_counts_skipped_stages_and_regressions(runner: Runner) -> None:
    f = runner.run("funnel_by_cohort", prev_start=Q1["start"], prev_end=Q1["end"], **Q2)
    now = f.filter(pl.col("cohort") == "current")
    # Created in Q2: D1 D2 D3 D4 D5 D6 F2 (7, 12,600). Furthest stage reached:
    #   D1 won -> all; D2 P -> Proposal (skipped Q, counts as reached); D3 Proposal (then back to Q);
    #   D4 P; D5 Q (lost); D6 created in Q, won -> all (skipped P counts); F2 P.
    # Reached P 7; Q 5 (D1 D2 D3 D5 D6, 11,500); Proposal 4 (D1 D2 D3 D6, 10,000).
    # Still open at their furthest stage: P D4, F2; Proposal D3.
    assert by_stage(now, "reached", "reached_amount", "still_open", "regressed") == {
        "Prospecting": (7, 12600.0, 2, 0),
        "Qualification": (5, 11500.0, 0, 0),
        "Proposal": (4, 10000.0, 1, 1),  # D3 moved back from Proposal
        "Closed Won": (2, 5000.0, 0, 0),
        "Closed Lost": (2, 3500.0, 0, 0),
    }
    # 5/7, 4/5, won 2/4.
    assert by_stage(now, "conv_from_prev") == {"Prospecting": (None,), "Qualification": (round(5 / 7, 4),),
                                               "Proposal": (0.8,), "Closed Won": (0.5,), "Closed Lost": (None,)}
    assert set(now["cohort_deals"].to_list()) == {7}
    before = f.filter(pl.col("cohort") == "previous")
    # Created in Q1: E1 won (P, Q), E2 lost from P, E3 open in Proposal. Reached 3, 2, 2; won 1; lost 1.
    assert by_stage(before, "reached", "still_open") == {
        "Prospecting": (3, 0), "Qualification": (2, 0), "Proposal": (2, 1), "Closed Won": (1, 0),
        "Closed Lost": (1, 0),
    }
    assert before["cohort_start"][0].isoformat() == "2026-01-01"


def test_cohort_funnel_without_previous_and_with_filters(runner: Runner) -> None:
    f = runner.run("funnel_by_cohort", regions=["West"], **Q2)
    assert f["cohort"].unique().to_list() == ["current"]
    # West cohort: D4 (P, open), D5 (reached Q, lost).
    assert by_stage(f, "reached") == {"Prospecting": (2,), "Qualification": (1,), "Proposal": (0,),
                                      "Closed Won": (0,), "Closed Lost": (1,)}
    empty = runner.run("funnel_by_cohort", **NOBODY, **Q2)
    assert empty["reached"].sum() == 0 and set(empty["cohort_deals"].to_list()) == {0}


def test_cohort_funnel_without_history_uses_current_stages(flat: Runner) -> None:
    # No history: D3 counts at Q (its current stage), D2 and D5 (lost) only at P, D6 (won) everywhere.
    f = flat.run("funnel_by_cohort", **Q2)
    assert by_stage(f, "reached", "regressed") == {
        "Prospecting": (7, 0), "Qualification": (3, 0), "Proposal": (2, 0), "Closed Won": (2, 0),
        "Closed Lost": (2, 0),
    }


# ---- velocity and stuck deals

def test_days_in_stage_for_won_and_lost(runner: Runner) -> None:
    v = runner.run("velocity_by_stage", **Q2)
    rows = {(r["stage"], r["outcome"]): (r["stays"], r["median_days"], r["p75_days"]) for r in v.iter_rows(named=True)}
    # Closed in Q2: won D1 (P 5, Q 10, Proposal 34 days), D6 (Q 24); lost D2 (P 10, Proposal 56), D5 (P 5, Q 43).
    assert rows == {
        ("Prospecting", "won"): (1, 5.0, 5.0),
        ("Prospecting", "lost"): (2, 7.5, 8.75),         # [5, 10]: median 7.5, p75 5 + 0.75 * 5
        ("Qualification", "won"): (2, 17.0, 20.5),       # [10, 24]: median 17, p75 10 + 0.75 * 14
        ("Qualification", "lost"): (1, 43.0, 43.0),
        ("Proposal", "won"): (1, 34.0, 34.0),
        ("Proposal", "lost"): (1, 56.0, 56.0),
    }
    assert v["stage"].to_list()[:2] == ["Prospecting", "Prospecting"]
    assert v["outcome"].to_list()[:2] == ["won", "lost"]
    assert runner.run("velocity_by_stage", **NOBODY, **Q2)["stays"].sum() == 0


def test_cycle_days_for_won_and_lost(runner: Runner, flat: Runner) -> None:
    # Won in Q2: D1 Apr 1 -> May 20 = 49 days, D6 Jun 1 -> Jun 25 = 24 -> median 36.5, p75 24 + 0.75 * 25.
    # Lost: D2 Apr 5 -> Jun 10 = 66, D5 May 10 -> Jun 27 = 48 -> median 57, p75 48 + 0.75 * 18.
    expected = {"won": (2, 36.5, 42.75), "lost": (2, 57.0, 61.5)}
    for r in (runner, flat):  # needs no stage history
        v = r.run("velocity_by_outcome", **Q2)
        assert {x["outcome"]: (x["deals"], x["median_days"], x["p75_days"]) for x in v.iter_rows(named=True)} \
            == expected
    empty = runner.run("velocity_by_outcome", **NOBODY, **Q2)
    assert empty["deals"].to_list() == [0, 0] and empty["median_days"].null_count() == 2


def test_stuck_deals(runner: Runner, flat: Runner) -> None:
    # Completed stays, all history: P [5, 5, 10, 10, 10, 10, 28, 30, 30, 35] -> p90 = 30 + 0.1 * 5 = 30.5;
    # Q [10, 11, 21, 24, 31, 43, 55] -> p90 = 43 + 0.4 * 12 = 47.8; Proposal [20, 34, 56] -> p90 34 + 0.8 * 22 = 51.6.
    # Open now, days in the current stage on Jun 30: D3 Q 40, D4 P 60, F2 P 4, E3 Proposal 90, F1 Proposal 121,
    # F3 Q 211, F5 Q 272.
    stuck = runner.run("stuck_by_deal", min_stays=1)
    assert dict(zip(stuck["opportunity_id"], stuck["days_in_stage"], strict=True)) == {
        "F5": 272, "F3": 211, "F1": 121, "E3": 90, "D4": 60}
    assert stuck["opportunity_id"].to_list() == ["F5", "F3", "F1", "E3", "D4"]  # most days over p90 first
    assert dict(zip(stuck["stage"], stuck["stage_p90_days"], strict=False)) == pytest.approx({
        "Qualification": 47.8, "Proposal": 51.6, "Prospecting": 30.5})
    # By default a stage needs 5 completed stays: Proposal has 3, so E3 and F1 are not judged.
    assert sorted(runner.run("stuck_by_deal")["opportunity_id"].to_list()) == ["D4", "F3", "F5"]
    assert sorted(runner.run("stuck_by_deal", regions=["East"], min_stays=1)["opportunity_id"].to_list()) \
        == ["F1"]
    assert runner.run("stuck_by_deal", **NOBODY).height == 0
    assert flat.run("stuck_by_deal", min_stays=1).height == 0  # needs stage history


# ---- win rates

# Closed in Q2: D1 won (SMB, Tech, Core, Inbound, East, 1,000), D2 lost (SMB, Tech, Pro, Outbound, East, 2,000),
# D5 lost (Enterprise, Health, Pro, Partner, West, 1,500), D6 won (Mid-Market, Tech, Pro, Inbound, East, 4,000).
# Wilson 95% (z = 1.96): 1 of 2 -> 0.0945-0.9055; 0 of 1 -> 0-0.7935; 1 of 1 -> 0.2065-1; 2 of 3 -> 0.2077-0.9385;
# 2 of 2 -> 0.3424-1; 1 of 3 -> 0.0615-0.7923; 2 of 4 -> 0.1500-0.8500 (standard table values).
WIN_RATES = {
    "org": {"org": (2, 2, 0.1500, 0.8500)},
    "segment": {"SMB": (1, 1, 0.0945, 0.9055), "Enterprise": (0, 1, 0.0, 0.7935),
                "Mid-Market": (1, 0, 0.2065, 1.0)},
    "industry": {"Tech": (2, 1, 0.2077, 0.9385), "Health": (0, 1, 0.0, 0.7935)},
    "source": {"Inbound": (2, 0, 0.3424, 1.0), "Outbound": (0, 1, 0.0, 0.7935), "Partner": (0, 1, 0.0, 0.7935)},
    "product": {"P1": (1, 0, 0.2065, 1.0), "P2": (1, 2, 0.0615, 0.7923)},
    "region": {"East": (2, 1, 0.2077, 0.9385), "West": (0, 1, 0.0, 0.7935)},
}


@pytest.mark.parametrize("by", list(WIN_RATES))
def test_win_rate_by_group(runner: Runner, by: str) -> None:
    w = runner.run("win_rate_by_group", by=by, **Q2)
    got = {r["group_key"]: (r["won"], r["lost"], round(r["ci_low"], 4), round(r["ci_high"], 4))
           for r in w.iter_rows(named=True)}
    assert got == WIN_RATES[by]
    for r in w.iter_rows(named=True):
        assert r["win_rate"] == r["won"] / r["closed"]
        assert r["ci_low"] <= r["win_rate"] <= r["ci_high"]
    assert runner.run("win_rate_by_group", by=by, **NOBODY, **Q2).height == 0


def test_win_rate_by_deal_size_band(runner: Runner) -> None:
    # Default edges: quartiles of [1,000, 1,500, 2,000, 4,000] = 1,375, 1,750, 2,500, rounded to 2 significant
    # digits: 1,400, 1,800, 2,500. Bands: <1,400 D1 won; 1,400-1,800 D5 lost; 1,800-2,500 D2 lost; >=2,500 D6 won.
    w = runner.run("win_rate_by_group", by="size_band", **Q2)
    assert [(r["band_lo"], r["band_hi"], r["won"], r["lost"]) for r in w.iter_rows(named=True)] == [
        (0.0, 1400.0, 1, 0), (1400.0, 1800.0, 0, 1), (1800.0, 2500.0, 0, 1), (2500.0, None, 1, 0)]
    # Chosen edge 2,000: <2,000 D1 won, D5 lost; >=2,000 D2 lost (edge included above), D6 won.
    w = runner.run("win_rate_by_group", by="size_band", band_edges=["2000"], **Q2)
    assert [(r["group_key"], r["won"], r["lost"]) for r in w.iter_rows(named=True)] == [
        ("band_1", 1, 1), ("band_2", 1, 1)]
    deals = runner.run("deals_by_win_rate_group", by="size_band", group="band_2", band_edges=["2000"], **Q2)
    assert sorted(deals["opportunity_id"].to_list()) == ["D2", "D6"]


def test_win_rate_drill_down(runner: Runner) -> None:
    deals = runner.run("deals_by_win_rate_group", by="product", group="P2", **Q2)
    assert sorted(deals["opportunity_id"].to_list()) == ["D2", "D5", "D6"]
    # D2 Apr 5 -> Jun 10 = 66 days.
    assert dict(zip(deals["opportunity_id"], deals["cycle_days"], strict=True))["D2"] == 66
    assert runner.run("deals_by_win_rate_group", by="segment", **Q2).height == 4  # no group = all closed
    assert runner.run("deals_by_win_rate_group", by="segment", group="SMB", **NOBODY, **Q2).height == 0


# ---- lead funnel and payments

def test_lead_funnel_by_source(runner: Runner) -> None:
    # Leads created in Q2 (L7 is from March): Inbound L1 (converted D1, won), L2 (converted D3, open),
    # L3 (qualified), L4 (disqualified); Partner L5 (converted D5, lost), L6 (new).
    f = runner.run("lead_funnel_by_source", **Q2)
    got = {r["source"]: (r["is_total"], r["leads"], r["qualified"], r["converted"], r["won"], r["won_amount"])
           for r in f.iter_rows(named=True)}
    assert got == {"Inbound": (False, 4, 3, 2, 1, 1000.0), "Partner": (False, 2, 1, 1, 0, 0.0),
                   "All": (True, 6, 4, 3, 1, 1000.0)}
    total = f.filter(pl.col("is_total")).row(0, named=True)
    assert (total["qualified_rate"], total["converted_rate"], total["won_rate"]) == (4 / 6, 3 / 4, 1 / 3)
    # East owns L1 (R1), L2 (R2), L3, L4 (R1): Inbound only.
    east = runner.run("lead_funnel_by_source", regions=["East"], **Q2)
    assert east.filter(pl.col("is_total"))["leads"][0] == 4
    nobody = runner.run("lead_funnel_by_source", **NOBODY, **Q2)
    assert nobody["leads"].to_list() == [0]  # the total row only
    drill = runner.run("lead_funnel_by_lead", step="converted", **Q2)
    assert drill["lead_id"].to_list() == ["L1", "L2", "L5"]
    assert runner.run("lead_funnel_by_lead", step="won", source="Inbound", **Q2)["lead_id"].to_list() == ["L1"]


def test_payment_stage(runner: Runner) -> None:
    # Won in Q2: D1 1,000 (invoiced May 25, paid Jun 10), D6 4,000 (invoiced Jun 28, unpaid).
    p = runner.run("payments_by_stage", **Q2)
    assert [(r["step"], r["deals"], r["amount"], r["share_of_won"]) for r in p.iter_rows(named=True)] == [
        ("won", 2, 5000.0, 1.0), ("invoiced", 2, 5000.0, 1.0), ("paid", 1, 1000.0, 0.5)]
    # Won -> first invoice: D1 5 days, D6 3 days -> median 4; invoice -> paid: D1 16 days.
    assert p["median_days"].to_list() == [None, 4.0, 16.0]
    assert p["amount_share_of_won"][2] == 0.2  # 1,000 / 5,000
    drill = runner.run("deals_by_payment_stage", step="invoiced", **Q2)
    assert dict(zip(drill["opportunity_id"], drill["payment_status"], strict=True)) == {"D1": "paid", "D6": "unpaid"}
    assert runner.run("deals_by_payment_stage", step="paid", **Q2)["opportunity_id"].to_list() == ["D1"]
    assert runner.run("payments_by_stage", **NOBODY, **Q2)["deals"].to_list() == [0, 0, 0]


def test_data_without_leads_or_payments(flat: Runner) -> None:
    assert flat.run("lead_funnel_by_source", **Q2)["leads"].to_list() == [0]
    assert flat.run("payments_by_stage", **Q2)["deals"].to_list() == [2, 0, 0]


def test_every_funnel_query_has_a_header(runner: Runner) -> None:
    from queries import catalog

    names = [n for n in catalog.catalog() if n.split("_")[0] in
             ("funnel", "win", "velocity", "stuck", "pipeline", "lead", "payments", "deals")]
    assert len(names) >= 14
    for name in names:
        q = catalog.get(name)
        assert q.purpose and q.grain, name
        assert "_by_" in name


def test_data_dir_is_a_path(tmp_path: Path) -> None:
    """build_store returns both snapshots, oldest first, as the store lists them."""
    a, b = ff.build_store(tmp_path)
    assert [s.id for s in store.list_snapshots(tmp_path)] == [a.id, b.id] == ["2026-06-23", "2026-06-30"]


def test_every_output_column_has_a_translated_header(runner: Runner) -> None:
    """The page shows query results as tables with translated headers: each column has a funnel.col key."""
    from saleslens.core import i18n

    catalog = i18n.catalog()
    names = ["funnel_by_stage", "funnel_by_cohort", "deals_by_funnel_stage", "velocity_by_stage",
             "velocity_by_outcome", "stuck_by_deal", "win_rate_by_group", "deals_by_win_rate_group",
             "lead_funnel_by_source", "lead_funnel_by_lead", "payments_by_stage", "deals_by_payment_stage",
             "pipeline_changes_by_category", "pipeline_changes_by_deal"]
    for name in names:
        for col in runner.run(name).columns:
            assert {"en", "zh"} <= set(catalog.get(f"funnel.col.{col}", {})), (name, col)


@pytest.mark.parametrize("by", ["segment", "industry", "source", "product", "region", "team", "size_band"])
@pytest.mark.parametrize("params", [Q2, Q1, {"start": None, "end": None}, {**Q2, "regions": ["West"]},
                                    {**Q2, **NOBODY}])
def test_overall_win_rate_from_the_groups_equals_the_org_row(runner: Runner, by: str, params: dict) -> None:
    # The page takes the overall rate from the groups it shows instead of a second query: the same number.
    org = runner.run("win_rate_by_group", by="org", **params)
    want = org["win_rate"][0] if org.height else None
    assert funnel.overall_win_rate(runner.run("win_rate_by_group", by=by, **params)) == want


# ---- one view's queries at once: the page (and its bench function) runs funnel.view_calls side by side first

class _Recorder:
    """A runner stand-in that records each call's (name, parameters) before running it."""

    def __init__(self, inner: Runner) -> None:
        self.inner, self.calls = inner, []

    def run(self, name: str, **params: object) -> pl.DataFrame:
        self.calls.append((name, tuple(sorted((k, tuple(v) if isinstance(v, list) else v)
                                              for k, v in params.items()))))
        return self.inner.run(name, **params)


@pytest.mark.parametrize("query", [
    {"period": "custom", "start": "2026-04-01", "end": "2026-06-30"},
    {"period": "custom", "start": "2026-04-01", "end": "2026-06-30", "region": "West"},
    {"period": "all_time"},
    {"period": "custom", "start": "2026-04-01", "end": "2026-06-30", "product": "P2", "rep": "R1"},
])
@pytest.mark.parametrize("history", [True, False])
@pytest.mark.parametrize("tab", funnel.TABS)
def test_view_calls_are_exactly_the_queries_the_view_runs(runner: Runner, flat: Runner, query: dict,
                                                         history: bool, tab: str) -> None:
    from bench import pages as bench_pages
    from saleslens.core.filters import from_query

    r = runner if history else flat
    rec = _Recorder(r)
    f = from_query(query, r.snapshot.as_of)
    calls = funnel.view_calls(funnel.View(
        params=f.params(), prev_params=f.previous().params() if f.start and f.end else None, has_history=history,
        has_leads=r.snapshot.has("leads"), has_payments=r.snapshot.has("payments"), win_by=funnel.WIN_RATE_BY[0],
        compare="2026-06-23", tab=tab))
    ctx = bench_pages.BenchContext(r.snapshot.data_dir, r.snapshot, rec, f)
    bench_pages.funnel(ctx, tab)
    prefetched = rec.calls[:len(calls)]
    later = rec.calls[len(calls):]
    # The side-by-side batch is view_calls; every later call of the view is one of them (a cache hit), and
    # nothing in the batch goes unused.
    assert sorted(prefetched) == sorted((n, tuple(sorted((k, tuple(v) if isinstance(v, list) else v)
                                                         for k, v in p.items()))) for n, p in calls)
    assert set(later) == set(prefetched)
    assert prefetched or (tab == "leads_payments" and not history), "the flat data has no leads nor payments"


def test_each_tab_runs_its_own_queries_only(runner: Runner) -> None:
    """A view runs only the open tab's queries: the tabs share none, and together they are the whole page."""
    from saleslens.core.filters import from_query

    f = from_query({"period": "custom", "start": "2026-04-01", "end": "2026-06-30", "region": "West"},
                   runner.snapshot.as_of)
    names = {}
    for tab in funnel.TABS:
        calls = funnel.view_calls(funnel.View(
            params=f.params(), prev_params=f.previous().params(), has_history=True, has_leads=True,
            has_payments=True, win_by="segment", compare="2026-06-23", tab=tab))
        names[tab] = sorted(n for n, _ in calls)
    assert names == {
        "stages": ["funnel_by_cohort", "funnel_by_cohort", "funnel_by_stage"],
        "leads_payments": ["lead_funnel_by_source", "payments_by_stage"],
        "speed": ["stuck_by_deal", "velocity_by_outcome", "velocity_by_stage"],
        "win_rates": ["win_rate_by_group"],
        "changes": ["pipeline_changes_by_category"],
    }


def test_compare_pair_orders_the_snapshots_in_time() -> None:
    ids = ["2026-06-30", "2026-06-23", "2026-06-16"]  # newest first
    assert funnel.compare_pair(ids, "2026-06-23", "2026-06-30") == ("2026-06-23", "2026-06-30", False)
    assert funnel.compare_pair(ids, "2026-06-30", "2026-06-16") == ("2026-06-16", "2026-06-30", True)
    assert funnel.compare_pair(ids, "2026-06-23", "2026-06-23") is None
