"""AppTest of the Targets & forecast page on the literal store of tests/targets_fixtures.py."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import polars as pl
import pytest
from streamlit.testing.v1 import AppTest

from saleslens.core import access
from saleslens.targets import sets as target_sets
from tests import targets_fixtures as fx
from tests.support import assert_clean, texts, use_data

PAGE = "pages/targets.py"
SECTIONS = ["pacing", "trend", "accuracy", "leading", "heatmap", "plan"]


@pytest.fixture
def targets_data(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The fixture store (snapshots of 4 Mar, 18 Mar and 12 May 2026) as the app's data directory."""
    fx.build_store(tmp_path)
    return use_data(monkeypatch, tmp_path)


def open_page(app: Callable[..., AppTest], **query: str) -> AppTest:
    """The dashboard opened on the targets page."""
    at = app(**query)
    at.switch_page(PAGE).run()
    return at


def tiles(at: AppTest) -> dict[str, tuple[str, str]]:
    """Metric tiles: label -> (value, delta)."""
    return {m.label: (m.value, m.delta) for m in at.metric}


def test_headline_tiles_are_worked_out_by_hand(targets_data: Path, app: Callable[..., AppTest]) -> None:
    at = open_page(app)
    assert_clean(at)
    shown = tiles(at)
    # Q2 target: R1 4,500 + R2 6,000 + R3 3,000 + R4 3,000 = 16,500; closed W6 1,500 + W7 1,500 = 3,000 (18%).
    assert shown["Target Q2 2026"][0] == "$16.5K"
    assert shown["Closed to date"] == ("$3.0K", "18% of target")
    # By 12 May past quarters had closed 30% of their bookings: 16,500 x 0.3 = 4,950 expected,
    # 3,000 - 4,950 = -1,950 (1.95K rounds half up to 2.0K: Babel rounds the decimal value, not the binary float
    # 1.9499..., which printed 1.9K before), -1,950 / 4,950 = -39.4%.
    assert shown["Behind usual pace"] == ("−$2.0K", "-39.4%")
    # Default threshold of 20 closed deals: every stage keeps its default. 3,000 + O1 2,000 x .5 + O2 1,000 x .8
    # + O3 4,000 x .1 + O5 500 x .1 = 5,250 (shows as 5.2K).
    assert shown["Forecast"][0] == "$5.2K"
    # Coverage 7,500 open / 13,500 to go = 0.56x; needed 13,500 / 0.625 = 21,600, so 14,100 more.
    assert shown["Pipeline coverage"] == ("0.6x", "needs $14.1K more")
    assert at.title[0].value == "Targets & forecast"


def test_each_tile_says_which_days_it_covers(targets_data: Path, app: Callable[..., AppTest]) -> None:
    """Under each tile, its window (issue 16 item 1). The snapshot is Tue 12 May 2026: Q2 runs 1 Apr - 30 Jun, and
    12 May is day 30 + 12 = 42 of it. The target, the forecast and the coverage's due pipeline cover the quarter;
    closed and pace the days so far."""
    at = open_page(app)
    assert_clean(at)
    lines = [c.value.replace("\u2009", " ") for c in at.caption]
    for line in ("Target for 1 Apr – 30 Jun 2026", "Deals won 1 Apr – 12 May 2026",
                 "Deals won 1 Apr – 12 May 2026 · vs past quarters by day 42",
                 "Expected to close won 1 Apr – 30 Jun 2026",
                 "Open on 12 May 2026, expected to close 1 Apr – 30 Jun 2026"):
        assert line in lines
    zh = open_page(app, lang="zh")
    assert_clean(zh)
    # The short quarter (CLDR's abbreviated "2季度" after the year): "2026年第2季度 目标" was cut on a phone.
    assert "2026年2季度 目标" in tiles(zh)
    lines = [c.value.replace("\u2009", " ") for c in zh.caption]
    assert "2026年4月1日 – 6月30日 的目标" in lines and "2026年4月1日 – 5月12日 赢单的商机" in lines


# Every section in English; the two with the most text also in Chinese (the shared page test covers the rest).
@pytest.mark.parametrize(("section", "lang"), [(s, "en") for s in SECTIONS] + [("pacing", "zh"), ("plan", "zh")])
def test_every_section_renders(targets_data: Path, app: Callable[..., AppTest], section: str, lang: str) -> None:
    at = open_page(app, **({"lang": lang} if lang != "en" else {}))
    at.session_state["targets_view"] = section
    at.run()
    assert_clean(at)
    if section == "accuracy":  # two quarters of snapshots: nothing to backtest yet, said plainly
        assert "nothing" not in texts(at.info) and "cannot be backtested" in texts(at.info)
        return
    assert at.get("plotly_chart"), f"{section} shows no chart"


def test_a_new_hire_and_a_one_rep_team_get_notes_not_errors(targets_data: Path, app: Callable[..., AppTest]) -> None:
    at = open_page(app, rep="R3")
    assert_clean(at)
    # Cy has no history: the usual pace is the organisation's, and the page says so.
    assert "too little history of its own" in texts(at.caption)
    assert tiles(at)["Behind usual pace"][0] == "−$900"  # 3,000 x 0.3 = 900 expected, nothing closed
    at = open_page(app, team="Solo")
    at.session_state["targets_view"] = "plan"
    at.run()
    assert_clean(at)
    assert "whole target goes to Dee Solo" in texts(at.caption)


def test_a_period_without_targets_is_explained(targets_data: Path, app: Callable[..., AppTest]) -> None:
    target_sets.save(targets_data, "Next year only", pl.DataFrame([{
        "owner_type": "rep", "owner_id": "R1", "period_start": fx.AS_OF.replace(year=2027, month=1, day=1),
        "period_end": fx.AS_OF.replace(year=2027, month=12, day=31), "metric": "bookings", "value": 12000.0}]),
        who=access.User("ana", "Ana", "analyst"))
    at = open_page(app, p_target_set="Next year only")
    assert_clean(at)
    assert at.selectbox(key="targets_source").value == "Next year only"
    assert "no bookings target for the current quarter" in texts(at.info)
    assert tiles(at)["Target Q2 2026"][0] == "–"
    at.session_state["targets_view"] = "trend"
    at.run()
    assert_clean(at)
    assert "attainment is left empty there" in texts(at.info)


def test_saving_a_target_set_survives_a_restart(targets_data: Path, app: Callable[..., AppTest]) -> None:
    at = open_page(app)
    at.session_state["targets_view"] = "plan"
    at.run()
    assert_clean(at)
    at.text_input(key="plan_set_name").set_value("North plan").run()
    at.button(key="plan_save").click().run()
    assert_clean(at)
    assert "Saved target set 'North plan'" in texts(at.success)
    assert target_sets.names(targets_data) == ["North plan"]

    fresh = open_page(app)  # a new session: nothing carried over but the files in the data directory
    assert_clean(fresh)
    assert "North plan" in fresh.selectbox(key="targets_source").options
    fresh.selectbox(key="targets_source").select("North plan").run()
    assert_clean(fresh)
    # The plan split North's 2026 target (reps Jan-Jun 22,500 + team Jul-Dec 30,000 = 52,500) by North's
    # seasonality (Oct 2,000, Dec 4,000, Jan 1,000, Feb 1,000, Apr 1,500 of 9,500): April gets
    # 52,500 x 1,500 / 9,500 = 8,289.47, rounded up to 8,290 (.47 is among the two largest fractions).
    # With the set, Q2's target is April's alone (May and June are 0 and Solo is not in the set).
    assert tiles(fresh)["Target Q2 2026"][0] == "$8.3K"


def test_a_bad_set_name_is_refused(targets_data: Path, app: Callable[..., AppTest]) -> None:
    at = open_page(app)
    at.session_state["targets_view"] = "plan"
    at.run()
    at.text_input(key="plan_set_name").set_value("../evil").run()
    at.button(key="plan_save").click().run()
    assert "was not saved" in texts(at.error) and "characters a set name cannot use" in texts(at.error)
    assert target_sets.names(targets_data) == []


def test_the_deals_drill_down_is_built_only_when_opened(targets_data: Path, app: Callable[..., AppTest]) -> None:
    at = open_page(app)
    assert_clean(at)

    def deal_ids() -> list[str]:
        return [i for df in at.dataframe if "opportunity_id" in df.value.columns
                for i in df.value["opportunity_id"].to_list()]

    assert deal_ids() == []  # closed: no table of deals sent
    at.session_state["targets_deals_open"] = True
    at.run()
    assert_clean(at)
    # Open deals due in Q2: O3 4,000, O1 2,000, O2 1,000 and O5 500 (no expected date), largest first.
    assert deal_ids() == ["O3", "O1", "O2", "O5"]


@pytest.mark.parametrize(("lang", "said"), [("en", "rebuilt week by week from stage history (3 past quarters)"),
                                            ("zh", "从阶段历史逐周重建的管道学习（3 个历史季度）")])
def test_a_forecast_learned_from_stage_history_says_so(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                       app: Callable[..., AppTest], lang: str, said: str) -> None:
    # One snapshot (12 May 2026) and stage history from 1 Aug 2025: the past quarters Q3 2025 - Q1 2026 come from
    # rebuilt weeks, not snapshots, and the page must say what the model learned from.
    fx.build_store(tmp_path, dates=(fx.AS_OF,))
    use_data(monkeypatch, tmp_path)
    at = open_page(app, **({"lang": lang} if lang != "en" else {}))
    assert_clean(at)
    assert said in texts(at.caption)


def test_a_forecast_learned_from_snapshots_does_not_mention_stage_history(targets_data: Path,
                                                                          app: Callable[..., AppTest]) -> None:
    at = open_page(app)
    assert "stage history" not in texts(at.caption)


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_the_quarter_of_year_level_is_said_under_the_forecast(demo_data: Path, app: Callable[..., AppTest],
                                                               lang: str) -> None:
    """The S demo's forecast scales its open deals by the quarter of the year's level: the page says by how much, with
    the same level, ratio and weight the CLI's forecast prints (season_level, season_ratio, season_quarters)."""
    from queries.runner import runner_for
    from saleslens.core.filters import Filters
    from saleslens.targets import forecast as fm

    runner = runner_for(demo_data)
    try:
        season = fm.model_forecast(runner, Filters()).season
    finally:
        runner.close()
    assert season.ratio is not None and season.quarters > 0  # the demo has earlier years of this quarter
    weight = season.quarters / (season.quarters + 1)  # the credibility weight n / (n + 1)
    assert season.level == pytest.approx(season.ratio ** weight)
    at = open_page(app, lang=lang)
    assert_clean(at)
    said = [c.value for c in at.caption if f"{season.level:.2f}" in c.value and f"{season.ratio:.2f}" in c.value]
    assert len(said) == 1, texts(at.caption)
    assert f"{round(weight * 100)}%" in said[0]
    assert ("open deals' chances ×" if lang == "en" else "赢单概率 ×") in said[0]
