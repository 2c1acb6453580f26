"""AppTest runs of dashboard.py: every page renders, the Overview shows hand-worked numbers, bad input is told."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from saleslens.core import store
from saleslens.core.i18n import t
from saleslens.kpis.registry import METRICS
from tests import fixtures, support
from tests.support import assert_clean, texts, use_data

PAGES = support.existing_pages()
H1 = {"period": "custom", "start": "2026-01-01", "end": "2026-06-30"}


def tiles(at: AppTest, lang: str = "en") -> dict[str, str]:
    """The metric tiles of a run, metric key -> shown value (labels are looked up, so rewording is no failure)."""
    keys = {t(m.label_key, lang): key for key, m in METRICS.items()}
    return {keys.get(m.label, m.label): m.value for m in at.metric}


@pytest.mark.parametrize(("data", "lang"), [("tiny_data", "en"), ("demo_data", "en"), ("demo_data", "zh")])
@pytest.mark.parametrize("page", [p[0] for p in PAGES])
def test_every_page_renders(
    page: str, data: str, lang: str, request: pytest.FixtureRequest, app: Callable[..., AppTest]
) -> None:
    """Each page opens on the tiny data and on the S demo, in both languages, with a title and no error."""
    request.getfixturevalue(data)
    at = app(**({"lang": lang} if lang != "en" else {}))
    assert_clean(at)
    at.switch_page(page).run()
    assert_clean(at)
    assert at.title and at.title[0].value.strip(), f"{page} shows no title"


def test_overview_kpis_on_tiny_data(tiny_data: Path, app: Callable[..., AppTest]) -> None:
    """The headline tiles for H1 2026, worked out by hand from tests/fixtures.py."""
    shown = tiles(app(**H1))
    expected = {
        # Won with close date in H1: O1 1,000 + O3 6,000 + O4 2,000 = 9,000.
        "bookings": "$9.0K",
        # Targets Jan-Jun: R1 6 x 1,000 + R2 6 x 2,000 + R3 (3 x 1,500 + 3 x 2,000) = 6,000 + 12,000 + 10,500
        # = 28,500; 9,000 / 28,500 = 0.3158.
        "attainment": "31.6%",
        # Closed in H1: won O1, O3, O4; lost O2, O7 -> 3 / 5.
        "win_rate": "60.0%",
        # 9,000 / 3 won deals.
        "avg_deal_size": "$3.0K",
        # Won deals, created -> closed: O1 Jan 10 -> Feb 10 = 31; O3 Feb 1 -> Apr 15 = 28 + 31 + 14 = 73;
        # O4 Mar 1 -> May 1 = 31 + 30 = 61; (31 + 73 + 61) / 3 = 55.
        "cycle_days": "55 days",
    }
    assert {k: shown.get(k) for k in expected} == expected


def test_region_filter_changes_the_tiles(tiny_data: Path, app: Callable[..., AppTest]) -> None:
    """Picking East in the sidebar recomputes the tiles and writes the filter into the link."""
    at = app(**H1)
    assert tiles(at)["bookings"] == "$9.0K"
    at.multiselect(key="f_regions").set_value(["East"]).run()
    assert_clean(at)
    shown = tiles(at)
    # East reps are R1 and R2: won O1 1,000 + O3 6,000 = 7,000 (O4 belongs to R3 in the West).
    assert shown["bookings"] == "$7.0K"
    # East targets: R1 6,000 + R2 12,000 = 18,000; 7,000 / 18,000 = 0.3889.
    assert shown["attainment"] == "38.9%"
    # East closed: won O1, O3; lost O2, O7 -> 2 / 4.
    assert shown["win_rate"] == "50.0%"
    assert at.query_params.get("region") == "East"


def test_group_choice_redraws_its_section_only(tiny_data: Path, app: Callable[..., AppTest]) -> None:
    """The group-by choice is a fragment: the table follows it, the tiles above stay as they were."""
    at = app(**H1)
    at.selectbox(key="overview_group").set_value("rep").run()
    assert_clean(at)
    table = at.dataframe[0].value
    # tests/fixtures.py, H1 won: R1 O1 1,000; R2 O3 6,000; R3 O4 2,000, so R2 first (bookings descending).
    assert next(iter(table.columns)) == "Rep"
    assert list(table["bookings"])[:3] == [6000, 2000, 1000]
    assert tiles(at)["bookings"] == "$9.0K"


def test_chinese_labels_and_formats(tiny_data: Path, app: Callable[..., AppTest]) -> None:
    """?lang=zh shows Chinese labels and Chinese number formats."""
    at = app(lang="zh", **H1)
    assert_clean(at)
    assert at.title[0].value == "概览"
    shown = {m.label: m.value for m in at.metric}
    # 9,000 is below 1万, so it is written in full; 55 days -> "55天" (CLDR writes no space in Chinese).
    assert shown.get("成交额") == "$9,000"
    assert shown.get("达成率") == "31.6%"
    assert tiles(at, "zh")["cycle_days"] == "55天"


def test_empty_data_dir_says_how_to_get_data(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                             app: Callable[..., AppTest]) -> None:
    """No snapshot and no auto demo: a page that says so and how to fix it, and nothing is built."""
    use_data(monkeypatch, tmp_path)
    at = app()
    assert not at.exception, texts(at.exception)
    assert at.title[0].value == "No data to show yet"
    assert "no snapshot yet" in texts(at.error)
    assert "python -m saleslens demo" in texts(at.markdown)
    assert store.list_snapshots(tmp_path) == []


def test_corrupt_snapshot_is_reported(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                      app: Callable[..., AppTest]) -> None:
    """A truncated Parquet file gives a clear error naming the file, not a traceback."""
    snap = fixtures.build_store(tmp_path)
    path = snap.root / "opportunities.parquet"
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    use_data(monkeypatch, tmp_path)
    at = app()
    assert not at.exception, texts(at.exception)
    error = texts(at.error)
    assert "opportunities.parquet" in error and "damaged" in error


@pytest.mark.parametrize(
    ("query", "named"),
    [
        ({"period": "nonsense"}, "nonsense"),
        ({"region": "Atlantis"}, "Atlantis"),
        ({"period": "custom", "start": "2026-13-45"}, "2026-13-45"),
        ({"period": "custom", "start": "2026-06-30", "end": "2026-01-01"}, "2026-06-30"),
        # Calendar ends once raised OverflowError tracebacks when a page computed the previous period.
        ({"period": "custom", "end": "0001-01-01"}, "0001-01-01"),
        ({"period": "custom", "start": "0001-01-01", "end": "0001-03-31"}, "0001-01-01"),
        ({"period": "custom", "end": "9999-12-31"}, "9999-12-31"),
    ],
)
def test_bad_url_filter_warns_and_uses_defaults(
    query: dict[str, str], named: str, tiny_data: Path, app: Callable[..., AppTest]
) -> None:
    """A link with a filter the app cannot use shows a warning naming it and falls back to the defaults."""
    at = app(**query)
    assert_clean(at)
    assert named in texts(at.warning)
    assert at.session_state["f_period"] == "this_quarter"
    assert at.session_state["f_regions"] == []
    assert at.query_params.get("period") == "this_quarter"
    assert "region" not in at.query_params


def test_local_user_survives_a_reload(tiny_data: Path, app: Callable[..., AppTest]) -> None:
    """Local mode writes the chosen user into the link; a reload (a new session on that link) keeps them."""
    at = app(**H1)
    assert at.selectbox(key="auth_user").value == "admin"  # the default login of a fresh users file
    at.selectbox(key="auth_user").set_value("manager").run()
    assert at.query_params.get("as") in ("manager", ["manager"])
    reloaded = app(**H1, **{"as": "manager"})
    assert_clean(reloaded)
    assert reloaded.selectbox(key="auth_user").value == "manager"
    assert app(**H1, **{"as": "nobody"}).selectbox(key="auth_user").value == "admin"  # unknown: the default
