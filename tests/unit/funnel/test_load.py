"""saleslens.funnel.load on the funnel fixtures: what the Funnel page draws for each tab, values worked out by hand.

Snapshot B (2026-06-30) of tests/funnel_fixtures.py, period Q2 2026 (previous period Q1); the counts behind each
value are in test_funnel_queries.py and test_funnel_changes.py.
"""

from __future__ import annotations

from pathlib import Path

from queries.runner import Runner
from saleslens.core.context import RunnerContext as Ctx
from saleslens.core.filters import from_query
from saleslens.funnel import load as fl
from tests import funnel_fixtures as ff
from tests import support

Q2 = {"period": "custom", "start": "2026-04-01", "end": "2026-06-30"}



# The fixture store, built once for the module, and a runner on its latest snapshot.
data_dir, runner = support.store_fixtures("funnel_load", ff.build_store)


def ctx_for(data_dir: Path, runner: Runner, query: dict[str, str] = Q2) -> Ctx:
    return Ctx(data_dir, runner.snapshot, runner, from_query(query, runner.snapshot.as_of))


def test_stages_tab(data_dir: Path, runner: Runner) -> None:
    view = fl.load(ctx_for(data_dir, runner), fl.Choices())
    assert view.tab == "stages" and view.has_history and view.has_prev
    assert (view.leads_payments, view.speed, view.win_rates, view.changes) == (None, None, None, None)
    s = view.stages
    # Current state: 11 deals in play in Q2 reach Prospecting; the Q2 cohort is 7 deals.
    assert s.current["reached"][0] == 11
    assert s.now["reached"].to_list()[:3] == [7, 5, 4]
    assert s.cohorts["cohort"].unique().sort().to_list() == ["current", "previous"]
    # Cohort steps: P->Q 5 of 5 decided (D4, F2 still wait), Q->Proposal 4 of 5, Proposal->Won 2 of 3 (too few).
    # No filter: the lowest step outright is Q->Proposal at 0.8. Q1's steps have under 5 decided: no drop.
    assert (s.low.kind, s.low.step.to_stage, s.low.step.rate) == ("lowest", "Proposal", 0.8)
    assert s.drop is None
    assert s.cohort_labels == {"current": "Created 1 Apr 2026 – 30 Jun 2026",
                               "previous": "Created 1 Jan 2026 – 31 Mar 2026"}
    assert view.figures() == [s.current_fig, s.cohort_fig] and None not in view.figures()
    assert [f.height for f in view.downloads()] == [5, 10]  # 5 stages of each cohort


def test_stages_without_a_deal_draw_no_funnel(data_dir: Path, runner: Runner) -> None:
    s = fl.load(ctx_for(data_dir, runner, {**Q2, "region": "Atlantis"}), fl.Choices()).stages
    assert s.current_fig is None and s.cohort_fig is None
    assert s.low is None  # the organisation is the reference now, and no step has 5 decided deals


def test_leads_payments_tab(data_dir: Path, runner: Runner) -> None:
    lp = fl.load(ctx_for(data_dir, runner), fl.Choices(tab="leads_payments")).leads_payments
    # Q2 leads: 6, of which 4 qualified, 3 converted, 1 won (L1 -> D1).
    assert (lp.lead_total["leads"], lp.lead_total["qualified"], lp.lead_total["converted"],
            lp.lead_total["won"]) == (6, 4, 3, 1)
    # Won -> invoice median (5 + 3) / 2 = 4 days; invoice -> paid 16 days (D1 only).
    assert lp.payment_days == {"won": None, "invoiced": 4.0, "paid": 16.0}
    assert lp.lead_fig is not None and lp.payments_fig is not None


def test_speed_tab(data_dir: Path, runner: Runner) -> None:
    sp = fl.load(ctx_for(data_dir, runner), fl.Choices(tab="speed")).speed
    # Won D1 49 and D6 24 days -> median 36.5; lost D2 66 and D5 48 -> median 57.
    assert (sp.cycle["won"]["median_days"], sp.cycle["lost"]["median_days"]) == (36.5, 57.0)
    # Stuck is about now (no period): stages with 5 completed stays judge D4, F3 and F5.
    assert sorted(sp.stuck["opportunity_id"].to_list()) == ["D4", "F3", "F5"]
    assert sp.velocity_fig is not None


def test_win_rates_tab(data_dir: Path, runner: Runner) -> None:
    ctx = ctx_for(data_dir, runner)
    w = fl.load(ctx, fl.Choices(tab="win_rates", win_by="product")).win_rates
    # P1: D1 won; P2: D6 won, D2 and D5 lost. Overall 2 won of 4 closed.
    assert dict(zip(w.rates["group_key"], w.rates["won"], strict=True)) == {"P1": 1, "P2": 1}
    assert w.overall == 0.5 and w.by == "product" and w.fig is not None
    assert sorted(fl.win_rate_deals(ctx, "product", "P2")["opportunity_id"].to_list()) == ["D2", "D5", "D6"]


def test_changes_tab_in_time_order(data_dir: Path, runner: Runner) -> None:
    ctx = ctx_for(data_dir, runner)
    ids = fl.snapshot_ids(ctx)
    assert ids == ["2026-06-30", "2026-06-23"]
    assert fl.default_pair(ids, "2026-06-30") == ("2026-06-23", "2026-06-30")
    pc = fl.load(ctx, fl.Choices(tab="changes", snapshots=tuple(ids), pc_from="2026-06-23",
                                 pc_to="2026-06-30")).changes
    assert (pc.first, pc.second, pc.swapped) == ("2026-06-23", "2026-06-30", False)
    # Open pipeline due in Q2: 16,100 in A, 8,100 in B.
    assert (pc.bars["amount"][0], pc.bars["amount"][-1]) == (16100.0, 8100.0)
    swapped = fl.load(ctx, fl.Choices(tab="changes", snapshots=tuple(ids), pc_from="2026-06-30",
                                      pc_to="2026-06-23")).changes
    assert (swapped.first, swapped.second, swapped.swapped) == ("2026-06-23", "2026-06-30", True)
    same = fl.load(ctx, fl.Choices(tab="changes", snapshots=tuple(ids), pc_from="2026-06-23", pc_to="2026-06-23"))
    assert same.changes is None and same.figures() == []
    # The remainder: F4 deleted, F3 and F5 unchanged, named in words.
    deals = fl.change_deals(ctx, pc, "remainder")
    assert sorted(deals["remainder_reason"].to_list()) == ["deleted", "unchanged", "unchanged"]
    assert set(deals["category"].to_list()) == {"Remainder"}


def test_drill_downs(data_dir: Path, runner: Runner) -> None:
    ctx = ctx_for(data_dir, runner)
    assert sorted(fl.current_deals(ctx, "Proposal")["opportunity_id"].to_list()) == ["D1", "D2", "D6", "E3", "F1"]
    # Q2 cohort reached Proposal: D1, D2, D3, D6; Q1 cohort: E1 (won), E3.
    assert sorted(fl.cohort_deals(ctx, "current|Proposal")["opportunity_id"].to_list()) == ["D1", "D2", "D3", "D6"]
    assert sorted(fl.cohort_deals(ctx, "previous|Proposal")["opportunity_id"].to_list()) == ["E1", "E3"]
    assert fl.payment_deals(ctx, "paid")["opportunity_id"].to_list() == ["D1"]
    assert fl.lead_deals(ctx, "converted")["lead_id"].to_list() == ["L1", "L2", "L5"]
