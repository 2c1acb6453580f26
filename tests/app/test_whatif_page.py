"""AppTest runs of the What-if page on the tiny data: hand-worked tiles, a slider move, save and reopen, links.

The tiny data (tests/fixtures.py) is as of 30 Jun 2026, so the default period is Q2 2026 and still open:
R1 target 3,000, nothing won; R2 target 6,000, won 6,000, plus 100 of weighted open pipeline (O6, 10% of
1,000); R3 target 6,000, won 2,000. The commission plans are the literal test plans (8% base, 4% under
50%, 12% from 100%, cap 3 x on-target), written into the data directory so the page picks them up.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from saleslens.core import access, store
from saleslens.whatif import commission
from saleslens.whatif import store as scenario_store
from tests import fixtures
from tests import whatif_fixtures as wf
from tests.support import use_data

PAGE = "pages/whatif.py"


@pytest.fixture
def data(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The tiny dataset with the test commission plans in <data>/config/."""
    fixtures.build_store(tmp_path)
    plans = tmp_path / "config" / commission.PLANS_FILE
    plans.parent.mkdir()
    plans.write_text(wf.PLANS_TOML, encoding="utf-8")
    return use_data(monkeypatch, tmp_path)


@pytest.fixture
def whatif(app: Callable[..., AppTest]) -> Callable[..., AppTest]:
    """The What-if page opened (with optional URL parameters) and checked for errors."""

    def open_page(**query: str) -> AppTest:
        at = app(**query)
        at.switch_page(PAGE).run()
        assert not at.exception, [e.value for e in at.exception]
        return at

    return open_page


def tiles(at: AppTest) -> dict[str, str]:
    """Metric tiles: label -> value."""
    return {m.label: m.value for m in at.metric}


def errors(at: AppTest) -> str:
    """The text of error boxes."""
    return "\n".join(e.value for e in at.error)


def test_tiles_show_hand_worked_numbers(data: Path, whatif: Callable[..., AppTest]) -> None:
    """The baseline (nothing moved) by hand."""
    at = whatif()
    assert not at.error, errors(at)
    shown = tiles(at)
    # Bookings 0 + 6,100 + 2,000 = 8,100; company target 3,000 + 6,000 + 6,000 = 15,000 -> 54.0%.
    assert shown["Projected bookings"] == "$8.1K"
    assert shown["Company attainment"] == "54.0%"
    assert shown["Versus company target"] == "-$6.9K"  # 8,100 - 15,000
    assert shown["Targets assigned to reps"] == "$15.0K"
    # Only R2 (6,100 / 6,000 = 101.7%) is at quota.
    assert shown["Reps at or above quota"] == "1 of 3"
    assert shown["Share of reps at quota"] == "33.3%"
    # R1 0; R2 6,000 x 8% + 100 x 12% = 492; R3 2,000 / 6,000 = 33% < 50%: 2,000 x 4% = 80. 492 + 80 = 572.
    assert shown["Commission cost"] == "$572"
    assert shown["Commission ÷ bookings"] == "7.1%"  # 572 / 8,100 = 7.06%
    assert len(at.get("plotly_chart")) == 2


def test_moving_a_slider_recomputes_and_updates_the_link(data: Path, whatif: Callable[..., AppTest]) -> None:
    """Targets +10%: R2 drops under quota and its accelerator; the link carries p_tgt=10."""
    at = whatif()
    at.slider(key="wi_tgt").set_value(10).run()
    assert not at.exception and not at.error, errors(at)
    shown = tiles(at)
    # Targets 3,300 / 6,600 / 6,600. R2 6,100 / 6,600 = 92.4%: 6,100 x 8% = 488; R3 30%: 80. 488 + 80 = 568.
    assert shown["Commission cost"] == "$568"
    assert shown["Reps at or above quota"] == "0 of 3"
    assert shown["Targets assigned to reps"] == "$16.5K"  # 3,300 + 6,600 + 6,600
    deltas = {m.label: m.delta for m in at.metric}
    assert deltas["Commission cost"] == "-$4"  # 568 - 572
    assert at.query_params["p_tgt"] == ["10"] or at.query_params["p_tgt"] == "10"


def test_save_restart_and_reopen_identical(data: Path, whatif: Callable[..., AppTest]) -> None:
    """Save a scenario from the page; a fresh app (a restart) opens it with the same inputs and numbers."""
    at = whatif()
    at.slider(key="wi_tgt").set_value(10).run()
    at.slider(key="wi_win").set_value(-20).run()
    before = tiles(at)
    at.text_input(key="wi_name").set_value("Stretch Q2").run()
    at.button(key="wi_save").click().run()
    assert not at.error, errors(at)
    assert any("Saved scenario 'Stretch Q2'" in s.value for s in at.success)
    assert any(e["action"] == "save-scenario" and e["what"].startswith("Stretch Q2") and e["who"] != "(unknown)"
               for e in access.audit_entries(data))
    saved = scenario_store.load(data, "Stretch Q2")
    assert (saved.target_change_pct, saved.win_rate_pct) == (10, -20)
    assert saved.snapshot == store.list_snapshots(data)[-1].id

    fresh = whatif()  # a new session: nothing carried over but the data directory
    assert fresh.slider(key="wi_tgt").value == 0
    fresh.selectbox(key="wi_pick").select("Stretch Q2").run()
    fresh.button(key="wi_open").click().run()
    assert not fresh.error, errors(fresh)
    assert fresh.slider(key="wi_tgt").value == 10 and fresh.slider(key="wi_win").value == -20
    assert tiles(fresh) == before


def test_a_failed_save_keeps_what_was_saved(data: Path, whatif: Callable[..., AppTest]) -> None:
    """Saving again under a taken name without 'replace' is refused with a message; the file is unchanged."""
    at = whatif()
    at.text_input(key="wi_name").set_value("Plan").run()
    at.button(key="wi_save").click().run()
    before = scenario_store.load(data, "Plan")
    at.slider(key="wi_tgt").set_value(25).run()
    at.button(key="wi_save").click().run()
    assert "already saved" in errors(at)
    assert scenario_store.load(data, "Plan") == before
    assert [s.version for s in scenario_store.list_saved(data)] == [1]
    at.text_input(key="wi_name").set_value("").run()
    at.button(key="wi_save").click().run()
    assert "name" in errors(at)


def test_a_save_over_a_newer_version_is_refused_naming_who(data: Path, whatif: Callable[..., AppTest]) -> None:
    """Two people on one scenario: the other one saved after this page did, so this save is told, not lost."""
    at = whatif()
    at.text_input(key="wi_name").set_value("Plan").run()
    at.button(key="wi_save").click().run()
    assert not at.error, errors(at)
    other = access.Actor(access.User("boss", "Boss", "admin"), None)
    theirs = replace(scenario_store.load(data, "Plan"), target_change_pct=30.0)
    scenario_store.save(data, theirs, overwrite=True, who=other, expected_version=1)
    at.slider(key="wi_tgt").set_value(25).run()
    at.checkbox(key="wi_overwrite").check().run()
    at.button(key="wi_save").click().run()
    assert "changed by boss at" in errors(at) and "reload to see their change" in errors(at)
    assert scenario_store.load(data, "Plan").target_change_pct == 30.0


def test_a_private_scenario_is_saved_private(data: Path, whatif: Callable[..., AppTest]) -> None:
    """The visibility picked on the page is what the database records: others do not see a private one."""
    at = whatif()
    at.text_input(key="wi_name").set_value("Just mine").run()
    at.selectbox(key="wi_visibility").select("private").run()
    at.button(key="wi_save").click().run()
    assert not at.error, errors(at)
    mine = scenario_store.saved_item(data, "Just mine")
    assert (mine.owner, mine.visibility) == ("admin", "private")
    other = access.User("bea", "Bea", "analyst")
    assert [s.name for s in scenario_store.list_saved(data, who=other)] == []


def test_link_opens_the_same_scenario(data: Path, whatif: Callable[..., AppTest]) -> None:
    """p_ parameters set the inputs; a bad one is reported and the defaults are shown."""
    at = whatif(p_tgt="10")
    assert at.slider(key="wi_tgt").value == 10
    assert tiles(at)["Commission cost"] == "$568"
    bad = whatif(p_win="lots")
    assert any("p_win" in w.value for w in bad.warning)
    assert bad.slider(key="wi_win").value == 0
    # A superscript two is a digit to str.isdigit but not to int(): once a traceback on the page.
    odd = whatif(p_hire="East 1=\u00b2")
    assert not odd.exception
    assert any("p_hire" in w.value for w in odd.warning)


def test_new_hires_and_overrides_from_a_link(data: Path, whatif: Callable[..., AppTest]) -> None:
    """A team override and a new hire given in the link show in the outputs."""
    # East 1 +100% doubles R1 and R2's targets: 6,000 and 12,000. R2 6,100 / 12,000 = 50.8%: 6,100 x 8% = 488.
    # One new East 1 rep: (0 + 6,100) / 2 x 50% = 1,525 against (6,000 + 12,000) / 2 x 50% = 4,500 -> 33.9%,
    # under 50%: 1,525 x 4% = 61. R3 80. Total 488 + 61 + 80 = 629.
    at = whatif(p_ovr="team:East 1=100", p_hire="East 1=1")
    assert not at.error, errors(at)
    shown = tiles(at)
    assert shown["Commission cost"] == "$629"
    assert shown["Reps at or above quota"] == "0 of 4"


def test_bad_ramp_curve_is_told(data: Path, whatif: Callable[..., AppTest]) -> None:
    """A ramp curve that is not numbers gets a message naming the field; the outputs still show."""
    at = whatif()
    at.text_input(key="wi_ramp").set_value("fast, faster").run()
    assert "ramp_pct" in errors(at)
    assert "Commission cost" in tiles(at)


def test_zero_target_is_refused_naming_the_field(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                 whatif: Callable[..., AppTest]) -> None:
    """A rep whose period target sums to zero gets a clear message, not a traceback."""
    import polars as pl

    targets = fixtures.TARGETS.with_columns(
        pl.when(pl.col("owner_id") == "R1").then(0.0).otherwise(pl.col("value")).alias("value"))
    store.write_events(tmp_path, "activities", fixtures.ACTIVITIES)
    store.publish_snapshot(tmp_path, fixtures.AS_OF, {
        "stages": fixtures.STAGES, "reps": fixtures.REPS, "accounts": fixtures.ACCOUNTS,
        "products": fixtures.PRODUCTS, "opportunities": fixtures.OPPORTUNITIES, "targets": targets,
    }, source="tests")
    use_data(monkeypatch, tmp_path)
    at = whatif()
    assert "target:" in errors(at) and "Ann Able (R1)" in errors(at)


def test_commission_explained_and_compare(data: Path, whatif: Callable[..., AppTest]) -> None:
    """The chosen rep's payout is explained step by step; two saved scenarios compare side by side."""
    at = whatif()
    at.session_state["wi_tab"] = "Commission explained"  # only the open tab runs
    at.run()
    at.selectbox(key="wi_rep").select("R2").run()
    texts = " ".join(str(v) for df in at.dataframe for v in df.value.to_numpy().ravel())
    assert "Tier 1" in texts and "$492" in texts
    for name, change in (("Low", 0), ("High", 20)):
        at.slider(key="wi_tgt").set_value(change).run()
        at.text_input(key="wi_name").set_value(name).run()
        at.button(key="wi_save").click().run()
    at.session_state["wi_tab"] = "Compare scenarios"
    at.run()
    at.multiselect(key="wi_cmp").select("Low").select("High").run()
    at.checkbox(key="wi_cmp_cur").uncheck().run()
    assert not at.error, errors(at)
    frames = [df.value for df in at.dataframe]
    compare = next(f for f in frames if "High − Low" in f.columns)
    row = compare[compare["Measure"] == "Commission cost, scenario"].iloc[0]
    # High: targets 3,600 / 7,200 / 7,200. R2 6,100 / 7,200 = 84.7%: 488; R3 2,000 / 7,200 = 27.8%: 80.
    assert (row["Low"], row["High"], row["High − Low"]) == ("$572", "$568", "-$4")


def test_chinese_page_renders(data: Path, whatif: Callable[..., AppTest]) -> None:
    """The page in Chinese: translated title and tiles, no error."""
    at = whatif(lang="zh")
    assert not at.error, errors(at)
    assert at.title[0].value == "情景模拟：目标、达成率与佣金"
    assert "佣金成本" in tiles(at)


def test_uploaded_plans_are_checked_and_used(data: Path, whatif: Callable[..., AppTest]) -> None:
    """A plans file with a cap below the base is refused naming the field; a good one changes the cost."""
    at = whatif()
    at.session_state["wi_tab"] = "Commission explained"
    at.run()
    bad = wf.PLANS_TOML.replace("cap_multiple = 3.0", "cap_multiple = 0.5").encode()
    at.file_uploader(key="wi_plans_file").set_value(("mine.toml", bad, "application/toml")).run()
    assert "plans.AE.cap_multiple" in errors(at) and "below the base" in errors(at)
    assert tiles(at)["Commission cost"] == "$572"  # still the data directory's plans
    # A flat 10% plan: 0 + 6,100 x 10% + 2,000 x 10% = 810.
    flat = b"version = 1\n[plans.AE]\nbase_rate_pct = 10\n"
    at.file_uploader(key="wi_plans_file").set_value(("flat.toml", flat, "application/toml")).run()
    assert not at.error, errors(at)
    assert tiles(at)["Commission cost"] == "$810"


def test_override_and_hire_editors(data: Path, whatif: Callable[..., AppTest]) -> None:
    """Rows added in the override and new-rep tables change the outputs like the link does."""
    at = whatif()
    at.session_state["wi_over_open"] = True
    at.session_state["wi_hire_open"] = True
    at.run()
    editors = {e.key: e for e in at.data_editor}
    over_key = next(k for k in editors if k.startswith("wi_over_"))
    hire_key = next(k for k in editors if k.startswith("wi_hire_"))
    at.session_state[over_key] = {"edited_rows": {}, "deleted_rows": [],
                                  "added_rows": [{"applies_to": "Team: East 1", "change_pct": 100}]}
    # Teams with a target, sorted: East 1 is row 0.
    at.session_state[hire_key] = {"edited_rows": {"0": {"new_reps": 1}}, "added_rows": [], "deleted_rows": []}
    at.run()
    assert not at.exception and not at.error, errors(at)
    # The same inputs as test_new_hires_and_overrides_from_a_link: 488 + 61 + 80 = 629.
    assert tiles(at)["Commission cost"] == "$629"
    assert at.query_params["p_hire"] in ("East 1=1", ["East 1=1"])
