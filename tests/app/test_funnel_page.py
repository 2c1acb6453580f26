"""AppTest runs of the Funnel page on the literal funnel fixtures: renders, follows a filter, opens deals."""

from __future__ import annotations

from collections.abc import Callable
from functools import partial
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from tests import funnel_fixtures as ff
from tests.support import assert_clean, switch_tab, texts, use_data

PAGE = "pages/funnel.py"
Q2 = {"period": "custom", "start": "2026-04-01", "end": "2026-06-30"}


def tiles(at: AppTest) -> dict[str, str]:
    """Metric tiles, label -> value."""
    return {m.label: m.value for m in at.metric}


def funnel_page(app: Callable[..., AppTest], **query: str) -> AppTest:
    """dashboard.py opened on the Funnel page with the given link parameters."""
    at = app(**query)
    assert_clean(at)
    at.switch_page(PAGE).run()
    assert_clean(at)
    return at


# Switch to a tab of this page (only the open tab computes, so its content appears after the rerun).
open_tab = partial(switch_tab, key="funnel_tab")


@pytest.fixture
def funnel_data(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Snapshots A and B of the funnel fixtures, with stage history, leads and payments."""
    ff.build_store(tmp_path)
    return use_data(monkeypatch, tmp_path)


@pytest.fixture
def flat_data(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The same deals without stage history, leads or payments (like a Maven CRM import)."""
    ff.build_store(tmp_path, history=False)
    return use_data(monkeypatch, tmp_path)


def test_page_shows_outcomes_funnels_and_waterfall(funnel_data: Path, app: Callable[..., AppTest]) -> None:
    at = funnel_page(app, **Q2)
    assert at.title[0].value == "Funnel"
    shown = tiles(at)
    # In play in Q2: open D3, D4, F2, E3, F1, F3, F5; won D1, D6; lost D2, D5 (11 deals).
    assert shown["Won (outcome)"] == "2"
    assert shown["Lost (outcome)"] == "2"
    assert shown["Still open"] == "7"
    assert shown["Win rate"] == "50.0%"  # 2 / (2 + 2)
    assert shown["Rate to won"] == "18.2%"  # 2 / 11
    headers = texts(at.subheader)
    for header in ("Stage funnel — current state", "Cohort funnel — from stage history", "Bottlenecks"):
        assert header in headers
    # The page says plainly which funnel each chart is.
    captions = texts(at.caption)
    assert "Current state:" in captions and "Cohort:" in captions
    # Regressions are shown separately: D3 moved back from Proposal.
    assert "Proposal (1)" in texts(at.markdown)
    assert "no stage history" not in texts(at.info)

    open_tab(at, "Leads & payments")
    headers = texts(at.subheader)
    assert "Lead funnel: from lead to won deal" in headers and "After the win: invoiced and paid" in headers

    open_tab(at, "Speed")
    assert "Velocity" in texts(at.subheader)
    # Cycle days of Q2 closes: won D1 49, D6 24 -> median 36.5 shown as 36 (banker's rounding of :.0f) or 37.
    assert tiles(at)["Sales cycle, won deals (median)"] in ("36 days", "37 days")
    # Stuck deals (defaults: stages with at least 5 completed stays): F5, F3, D4.
    stuck = [df.value for df in at.dataframe if "days_in_stage" in df.value.columns]
    assert stuck and sorted(stuck[0]["opportunity_id"].to_list()) == ["D4", "F3", "F5"]

    open_tab(at, "Pipeline changes")
    assert "Pipeline changes between two snapshots" in texts(at.subheader)


def test_each_tile_says_which_deals_it_counts(funnel_data: Path, app: Callable[..., AppTest]) -> None:
    """Issue 16 item 1: under each tile, its window. The newest snapshot is 30 Jun, the last day of Q2, so the
    closed-deal tiles cover all of Q2; a period still running on 30 Jun (Apr - Jul) stops at the snapshot."""
    at = funnel_page(app, **Q2)
    lines = [c.value.replace("\u2009", " ") for c in at.caption]
    for line in ("Deals won 1 Apr – 30 Jun 2026", "Deals lost 1 Apr – 30 Jun 2026",
                 "Open on 30 Jun 2026, created by 30 Jun 2026", "Deals closed 1 Apr – 30 Jun 2026",
                 "Won 1 Apr – 30 Jun 2026 ÷ the deals in play then"):
        assert line in lines
    at = funnel_page(app, period="custom", start="2026-04-01", end="2026-07-31", lang="zh")
    lines = [c.value.replace("\u2009", " ") for c in at.caption]
    assert "2026年4月1日 – 6月30日 赢单的商机" in lines
    assert "2026年6月30日 仍在进行，创建于 2026年7月31日 或之前" in lines
    open_tab(at, "速度")
    lines = [c.value.replace("\u2009", " ") for c in at.caption]
    assert "2026年4月1日 – 6月30日 赢单的商机" in lines and "2026年4月1日 – 6月30日 输单的商机" in lines


def test_filter_change_recomputes(funnel_data: Path, app: Callable[..., AppTest]) -> None:
    at = funnel_page(app, **Q2)
    at.multiselect(key="f_regions").set_value(["West"]).run()
    assert_clean(at)
    shown = tiles(at)
    # West (R3) deals in play in Q2: D4, E3, F3, F5 open, D5 lost -> won 0, lost 1, open 4, win rate 0 / 1.
    assert shown["Won (outcome)"] == "0"
    assert shown["Lost (outcome)"] == "1"
    assert shown["Still open"] == "4"
    assert shown["Win rate"] == "0.0%"
    assert at.query_params.get("region") == "West"


def test_drill_down_lists_the_deals_behind_a_bar(funnel_data: Path, app: Callable[..., AppTest]) -> None:
    at = funnel_page(app, **Q2)
    at.selectbox(key="funnel_current_drill").set_value("Proposal").run()
    assert_clean(at)
    lists = [df.value for df in at.dataframe if "reached_stage" in df.value.columns]
    # Current state, reached Proposal: won D1 and D6, D2 lost from Proposal, E3 and F1 in Proposal now
    # (D3 is back in Qualification).
    assert sorted(lists[0]["opportunity_id"].to_list()) == ["D1", "D2", "D6", "E3", "F1"]
    assert any(b.label == "CSV" or "CSV" in str(b.label) for b in at.get("download_button"))

    open_tab(at, "Pipeline changes")
    at.selectbox(key="funnel_pc_drill").set_value("remainder").run()
    assert_clean(at)
    changes = [df.value for df in at.dataframe if "remainder_reason" in df.value.columns]
    # Between 2026-06-23 and 2026-06-30: F4 deleted, F3 and F5 unchanged.
    assert sorted(changes[0]["opportunity_id"].to_list()) == ["F3", "F4", "F5"]


def test_win_rate_dimension_and_group_drill(funnel_data: Path, app: Callable[..., AppTest]) -> None:
    at = open_tab(funnel_page(app, **Q2), "Win rates")
    at.radio(key="funnel_win_by").set_value("product").run()
    assert_clean(at)
    at.selectbox(key="funnel_win_drill_product").set_value("P2").run()
    assert_clean(at)
    lists = [df.value for df in at.dataframe if "cycle_days" in df.value.columns]
    # Closed in Q2 with product Pro (P2): D2 lost, D5 lost, D6 won.
    assert sorted(lists[0]["opportunity_id"].to_list()) == ["D2", "D5", "D6"]


def test_without_stage_history_says_what_needs_it(flat_data: Path, app: Callable[..., AppTest]) -> None:
    at = funnel_page(app, **Q2)
    assert "no stage history" in texts(at.info)
    shown = tiles(at)
    assert shown["Win rate"] == "50.0%"  # won D1, D6; lost D2, D5 - no history needed
    assert "The cohort funnel needs stage history" in texts(at.caption)
    open_tab(at, "Speed")
    assert "need stage history" in texts(at.caption)


def test_chinese_page_renders(funnel_data: Path, app: Callable[..., AppTest]) -> None:
    at = funnel_page(app, lang="zh", **Q2)
    assert at.title[0].value == "销售漏斗"
    assert "赢单率" in tiles(at)


def test_only_the_open_tab_computes_and_choices_survive_tab_changes(funnel_data: Path,
                                                                    app: Callable[..., AppTest]) -> None:
    """The first view draws the Stages tab alone; choices made on other tabs hold after a visit elsewhere."""
    at = funnel_page(app, **Q2)
    headers = texts(at.subheader)
    assert "Velocity" not in headers and "Win rates: what converts" not in headers
    assert "Lead funnel: from lead to won deal" not in headers
    assert "Pipeline changes between two snapshots" not in headers
    assert not [df for df in at.dataframe if "days_in_stage" in df.value.columns], "stuck deals are not drawn"

    open_tab(at, "Win rates")
    at.radio(key="funnel_win_by").set_value("product").run()
    at.selectbox(key="funnel_win_drill_product").set_value("P2").run()
    open_tab(at, "Pipeline changes")
    at.selectbox(key="funnel_pc_drill").set_value("remainder").run()
    assert_clean(at)
    assert "Bottlenecks" not in texts(at.subheader)
    open_tab(at, "Stages")
    open_tab(at, "Win rates")
    assert at.radio(key="funnel_win_by").value == "product"
    lists = [df.value for df in at.dataframe if "cycle_days" in df.value.columns]
    # Closed in Q2 with product Pro (P2): D2 lost, D5 lost, D6 won (as in test_win_rate_dimension_and_group_drill).
    assert sorted(lists[0]["opportunity_id"].to_list()) == ["D2", "D5", "D6"]
    open_tab(at, "Pipeline changes")
    assert at.selectbox(key="funnel_pc_drill").value == "remainder"
    changes = [df.value for df in at.dataframe if "remainder_reason" in df.value.columns]
    assert sorted(changes[0]["opportunity_id"].to_list()) == ["F3", "F4", "F5"]


def test_leads_and_payments_tab_opens_the_leads_and_deals(funnel_data: Path, app: Callable[..., AppTest]) -> None:
    at = open_tab(funnel_page(app, **Q2), "Leads & payments")
    at.selectbox(key="funnel_leads_drill").set_value("converted").run()
    assert_clean(at)
    leads = [df.value for df in at.dataframe if "lead_id" in df.value.columns]
    # As test_lead_funnel (queries): converted in Q2 are L1, L2 and L5.
    assert sorted(leads[0]["lead_id"].to_list()) == ["L1", "L2", "L5"]
    at.selectbox(key="funnel_pay_drill").set_value("invoiced").run()
    assert_clean(at)
    deals = [df.value for df in at.dataframe if "payment_status" in df.value.columns]
    # Won in Q2 and invoiced: D1 (paid) and D6 (unpaid).
    assert dict(zip(deals[0]["opportunity_id"], deals[0]["payment_status"], strict=True)) == {"D1": "paid",
                                                                                           "D6": "unpaid"}


def test_data_without_leads_or_payments_has_no_tab_for_them(flat_data: Path, app: Callable[..., AppTest]) -> None:
    at = funnel_page(app, **Q2)
    assert [tab.label for tab in at.tabs] == ["Stages", "Speed", "Win rates", "Pipeline changes"]
