"""AppTest runs of the Leaderboard page on tests/scorecard_fixtures.py: ranks, scores, ratings that persist."""

from __future__ import annotations

import io
import os
import shlex
import subprocess
import sys
from functools import partial
from pathlib import Path

import pandas as pd
import polars as pl
import pytest
from streamlit.testing.v1 import AppTest

from saleslens.core import store
from saleslens.rankings import definitions as scorecard_defs
from saleslens.rankings import ratings
from tests import scorecard_fixtures as F
from tests import support
from tests.support import assert_clean, switch_tab, use_data

Q3 = {"period": "custom", "start": "2026-07-01", "end": "2026-09-30"}
PAGE = "pages/leaderboard.py"


@pytest.fixture
def lb_data(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The scorecard dataset as the app's data directory."""
    F.build_store(tmp_path)
    return use_data(monkeypatch, tmp_path)


def open_page(**query: str) -> AppTest:
    """A fresh app session (a restart, as far as the app can tell) on the Leaderboard page."""
    at = AppTest.from_file(str(support.DASHBOARD), default_timeout=120)
    at.query_params.update(query)
    at.run()
    at.switch_page(PAGE).run()
    assert_clean(at)
    return at


# Switch to a tab of this page (only the open tab computes, so its content appears after the rerun).
open_tab = partial(switch_tab, key="lb_tab")


def frame_with(at: AppTest, column: str):
    """The first table on the page that has a column."""
    for df in at.dataframe:
        if column in df.value.columns:
            return df.value
    raise AssertionError(f"no table with a column {column!r}")


def test_leaderboard_and_scores_on_hand_worked_data(lb_data: Path) -> None:
    """Q3 bookings ranks with a tie and rank changes; AE scores as worked out in test_scorecards."""
    at = open_page(**Q3)
    assert at.title[0].value == "Rankings & reviews"
    board = frame_with(at, "trend")
    # Bookings: A1 and A4 100,000 tie at 1 (A1 from 3rd in Q2: ▲ 2; A4 from 2nd: ▲ 1), A2 3rd (from 1st: ▼ 2),
    # A3 4th, new this quarter.
    assert list(board["name"]) == ["Ava Ames", "Dan Dorn", "Ben Birch", "Cleo Cruz"]
    assert list(board["rank"]) == [1, 1, 3, 4]
    assert list(board["change"]) == ["▲ 2", "▲ 1", "▼ 2", "new"]
    # The trend: bookings of the last four quarters, oldest first (A1 Q2 20,000, Q3 100,000); A3, hired on
    # 1 Jul, has Q3 only.
    trends = dict(zip(board["name"], board["trend"], strict=True))
    assert list(trends["Ava Ames"]) == [0.0, 0.0, 20000.0, 100000.0]
    assert list(trends["Cleo Cruz"]) == [10000.0]
    open_tab(at, "Scorecard")
    scores = frame_with(at, "score")
    got = dict(zip(scores["name"], scores["score"].round(2), strict=True))
    # A1 101.89, A4 60.83, A2 41.67, A3 26.67 (see test_ae_scores_end_to_end).
    assert got == {"Ava Ames": 101.89, "Dan Dorn": 60.83, "Ben Birch": 41.67, "Cleo Cruz": 26.67}
    # The profile tiles of the first-ranked rep: A1's bookings and attainment 100,000 / 90,000.
    open_tab(at, "Rep profile")
    tiles = {m.label: m.value for m in at.metric}
    assert tiles["Bookings"] == "$100.0K" and tiles["Attainment"] == "111.1%"
    # Under each tile the days it counts (issue 16 item 1): Q3 is over on the snapshot of 30 Sep, so all of it.
    lines = [c.value.replace("\u2009", " ") for c in at.caption]
    for line in ("Deals closed 1 Jul – 30 Sept 2026", "Bookings 1 Jul – 30 Sept 2026 ÷ Q3 2026 target",
                 "Deals created 1 Jul – 30 Sept 2026", "Activities logged 1 Jul – 30 Sept 2026"):
        assert line in lines
    assert lines.count("Deals closed 1 Jul – 30 Sept 2026") == 3  # bookings, win rate and sales cycle
    assert len(at.get("plotly_chart")) >= 5, "the page draws its charts"


def test_rank_by_win_rate_flags_small_samples(lb_data: Path) -> None:
    """By win rate, A3's 2 closed deals are too few: shown, flagged, not ranked; the choice goes in the link."""
    at = open_page(**Q3)
    at.selectbox(key="lb_kpi").set_value("win_rate").run()
    assert_clean(at)
    board = frame_with(at, "trend")
    rows = {r["name"]: r for _, r in board.iterrows()}
    # Certain rates: A1 4/6 = .667 (1), A4 3/5 = .6 (2), A2 3/6 = .5 (3); A3 2/2 is not ranked.
    # The rank column stays a number column with its gap shown as "–" (Streamlit printed "None"; as text it sorted
    # "10" before "2").
    assert [rows[n]["rank"] for n in ("Ava Ames", "Dan Dorn", "Ben Birch")] == [1, 2, 3]
    assert pd.isna(rows["Cleo Cruz"]["rank"])  # unranked
    assert next(df for df in at.dataframe if "trend" in df.value.columns).proto.placeholder == "–"
    assert rows["Cleo Cruz"]["basis"].startswith("⚠ 2 closed deals")
    assert at.query_params["p_kpi"] in ("win_rate", ["win_rate"])


def test_the_cli_line_prints_the_ranking(lb_data: Path) -> None:
    """Issue 16 item 5: the command under the ranking, run as a user pastes it, prints the page's rows: Q3 by win
    rate, where A3 is unranked (2 closed deals) and the ranks are 1, 2, 3 as worked out above."""
    at = open_page(**Q3)
    at.selectbox(key="lb_kpi").set_value("win_rate").run()
    assert_clean(at)
    command = at.code[0].value
    snapshot = store.list_snapshots(lb_data)[-1].id
    assert command == ("python -m saleslens leaderboard --kpi win_rate --role AE --from 2026-07-01 --to 2026-09-30 "
                       f"--lang en --snapshot {snapshot}")
    args = shlex.split(command)
    done = subprocess.run([sys.executable, *args[1:], "--format", "csv"], cwd=support.ROOT, capture_output=True,
                          text=True, timeout=300, check=True, env={**os.environ, "SALESLENS_DATA": str(lb_data)})
    printed = pl.read_csv(io.StringIO(done.stdout))
    board = frame_with(at, "trend")
    assert printed["name"].to_list() == list(board["name"]) == ["Ava Ames", "Dan Dorn", "Ben Birch", "Cleo Cruz"]
    assert printed["rank"].to_list() == [1, 2, 3, None]
    assert [round(v, 3) for v in printed["value"].to_list()] == [0.667, 0.6, 0.5, 1.0]  # 4/6, 3/5, 3/6, 2/2
    assert printed["change"].to_list() == list(board["change"])
    assert printed["basis"].to_list() == list(board["basis"])


def test_ratings_survive_restart_and_new_snapshot(lb_data: Path) -> None:
    """A rating saved in the form is on disk, and still shown after a restart and a new snapshot."""
    at = open_tab(open_page(**Q3), "Ratings")
    rep = at.selectbox(key="lb_rate_rep").value
    assert rep == "A1"
    at.select_slider(key="lb_rate_2026Q3_A1_teamwork").set_value(4)
    at.select_slider(key="lb_rate_2026Q3_A1_customer_satisfaction").set_value(5)
    at.text_area(key="lb_comment_2026Q3_A1").input("Closed the Account 3 deal with the whole team.")
    submit = next(b for b in at.button if b.label == "Save rating")
    submit.click().run()
    assert_clean(at)
    stored = ratings.load(lb_data, "2026Q3", "A1")
    assert stored.scores == {"teamwork": 4, "customer_satisfaction": 5}
    assert (stored.updated_by, stored.version) == ("admin", 1)  # the signed-in user is the author

    # A new snapshot is imported, then the app starts again.
    store.publish_snapshot(lb_data, F.AS_OF.replace(day=30), F.tables(), source="new import")
    assert len(store.list_snapshots(lb_data)) == 2
    again = open_tab(open_page(**Q3), "Ratings")
    shown = frame_with(again, "Comment")
    assert list(shown["Rep"]) == ["Ava Ames"]
    assert shown["Teamwork"].tolist() == [4] and shown["Customer satisfaction"].tolist() == [5]
    assert shown["Comment"].tolist() == ["Closed the Account 3 deal with the whole team."]
    # The form opens with the stored values.
    assert again.select_slider(key="lb_rate_2026Q3_A1_teamwork").value == 4
    assert ratings.load(lb_data, "2026Q3", "A1").comment.startswith("Closed")


def test_a_rep_cannot_rate_herself_and_is_told(lb_data: Path) -> None:
    """The library refuses, not a hidden button: the rep sees the form, saves, and gets a clear message."""
    at = AppTest.from_file(str(support.DASHBOARD), default_timeout=120)
    at.query_params.update(Q3)
    at.session_state["auth_user"] = "rep"
    at.run()
    at.switch_page(PAGE).run()
    at = open_tab(at, "Ratings")
    me = at.selectbox(key="lb_rate_rep").value
    assert len(at.selectbox(key="lb_rate_rep").options) == 1  # a rep's scope is herself
    at.select_slider(key=f"lb_rate_2026Q3_{me}_teamwork").set_value(5)
    next(b for b in at.button if b.label == "Save rating").click().run()
    assert not at.exception
    assert "rep may not rate themselves" in " ".join(str(e.value) for e in at.error)
    assert ratings.load(lb_data, "2026Q3", me) is None


def test_weights_change_the_score_and_save_as_named_scorecard(lb_data: Path) -> None:
    """Attainment alone: scores become 100 x attainment; saved under a name (a name is required), it is selected."""
    at = open_tab(open_page(**Q3), "Scorecard")
    for key in ("win_rate", "new_logos", "pipeline_created", "activities", "conversion"):
        at.number_input(key=f"lb_w_default:AE_{key}").set_value(0.0)
    at.run()
    assert_clean(at)
    scores = frame_with(at, "score")
    got = dict(zip(scores["name"], scores["score"].round(2), strict=True))
    # 100 x bookings / ramp-adjusted target: A1 100/90, A4 100/120, A2 60/90, A3 10/30.
    assert got == {"Ava Ames": 111.11, "Dan Dorn": 83.33, "Ben Birch": 66.67, "Cleo Cruz": 33.33}
    # Saving without a name is refused with a clear message and writes nothing.
    next(b for b in at.button if b.label == "Save").click().run()
    assert "give the scorecard a name" in " ".join(str(e.value) for e in at.error)
    assert scorecard_defs.saved_items(lb_data) == []
    at.text_input(key="lb_save_name").input("Attainment only").run()
    next(b for b in at.button if b.label == "Save").click().run()
    assert_clean(at)
    assert [(i.name, i.owner) for i in scorecard_defs.saved_items(lb_data)] == [("Attainment only", "admin")]
    assert at.selectbox(key="lb_def_AE").value == "Attainment only"
    assert "Scorecard “Attainment only” saved." in [s.value for s in at.success]


def test_review_pack_is_offered_for_download(lb_data: Path) -> None:
    """Preparing a pack shows HTML, Excel and PDF downloads."""
    at = open_tab(open_page(**Q3), "Review pack")
    next(b for b in at.button if b.label == "Prepare review pack").click().run()
    assert_clean(at)
    labels = [getattr(e, "label", "") for e in at.get("download_button")]
    assert {"HTML (interactive)", "Excel workbook", "PDF"} <= set(labels)


def test_other_roles_all_time_and_chinese(lb_data: Path) -> None:
    """SDRs are scored among SDRs; all time falls back to the snapshot's quarter; Chinese renders."""
    at = open_page(period="all_time", lang="zh")
    assert at.info, "the all-time note is shown"
    at.radio(key="lb_role").set_value("SDR").run()
    assert_clean(at)
    open_tab(at, "计分卡")
    scores = frame_with(at, "score")
    assert sorted(scores["name"]) == ["Sia Sand", "Tom Teal"]
    assert at.title[0].value == "排名与考核"


def test_only_the_open_tab_computes_and_choices_survive_tab_changes(lb_data: Path) -> None:
    """The first view draws the leaderboard alone; weights set on the Scorecard tab hold after a visit elsewhere."""
    at = open_page(**Q3)
    assert [c for df in at.dataframe for c in df.value.columns if c == "score"] == [], "the scorecard is not drawn"
    assert not at.metric, "the profile tiles are not drawn"
    open_tab(at, "Scorecard")
    for key in ("win_rate", "new_logos", "pipeline_created", "activities", "conversion"):
        at.number_input(key=f"lb_w_default:AE_{key}").set_value(0.0)
    at.run()
    open_tab(at, "Rep profile")
    assert at.metric, "the profile tiles are drawn"
    open_tab(at, "Scorecard")
    scores = frame_with(at, "score")
    got = dict(zip(scores["name"], scores["score"].round(2), strict=True))
    # Attainment alone, as in test_weights_change_the_score_and_save_as_named_scorecard.
    assert got == {"Ava Ames": 111.11, "Dan Dorn": 83.33, "Ben Birch": 66.67, "Cleo Cruz": 33.33}
