"""saleslens.funnel.logic (Wilson interval, bottlenecks, size bands, chart picks) and the Funnel page's strings."""

from __future__ import annotations

import re
from pathlib import Path

import polars as pl
import pytest

from saleslens.core import i18n
from saleslens.funnel import charts as charts_funnel
from saleslens.funnel import logic as funnel

ROOT = Path(__file__).resolve().parents[3]


@pytest.mark.parametrize(
    ("won", "n", "low", "high"),
    [
        # Standard Wilson 95% values: p +- and the z^2 terms, worked out with z = 1.96.
        (1, 2, 0.0945, 0.9055),   # centre 0.5, half 1.96 * sqrt(0.125 + 0.2401) / 2.9207 = 0.4055
        (0, 1, 0.0, 0.7935),      # centre = half = 1.9208 / 4.8415 = 0.3967
        (2, 3, 0.2077, 0.9385),
        (40, 100, 0.3094, 0.4980),
        (400, 1000, 0.3701, 0.4307),
    ],
)
def test_wilson_interval(won: int, n: int, low: float, high: float) -> None:
    lo, hi = funnel.wilson_interval(won, n)
    assert (round(lo, 4), round(hi, 4)) == (low, high)


def test_wilson_interval_narrows_with_more_deals_and_needs_deals() -> None:
    small = funnel.wilson_interval(2, 4)
    large = funnel.wilson_interval(200, 400)
    assert small[1] - small[0] > 3 * (large[1] - large[0])
    assert funnel.wilson_interval(0, 0) is None


def frame(reached: list[int], still_open: list[int], won: int) -> pl.DataFrame:
    """A funnel frame with three open stages A, B, C, then Won and Lost."""
    return pl.DataFrame({
        "step": [1, 2, 3, 4, 5],
        "stage": ["A", "B", "C", "Won", "Lost"],
        "kind": ["stage", "stage", "stage", "won", "lost"],
        "reached": [*reached, won, 0],
        "still_open": [*still_open, 0, 0],
    })


def test_steps_count_only_decided_deals() -> None:
    # A: 100 reached, 20 still open there -> 80 decided, 60 moved on to B -> 75%.
    s = funnel.steps(frame([100, 60, 30], [20, 0, 10], 12))
    assert list(s) == ["B", "C", "Won"]
    assert (s["B"].decided, s["B"].moved_on, s["B"].rate) == (80, 60, 0.75)
    assert s["C"].rate == 0.5          # 30 of 60
    assert s["Won"].rate == 12 / 20    # C: 30 reached, 10 still open -> 20 decided, 12 won


def test_drop_vs_previous_picks_the_largest_fall() -> None:
    now = frame([100, 60, 30], [20, 0, 10], 12)      # B 75%, C 50%, Won 60%
    before = frame([100, 80, 40], [0, 0, 0], 30)    # B 80%, C 50%, Won 75%
    b = funnel.drop_vs_previous(now, before)
    assert (b.kind, b.step.to_stage, round(b.change, 4)) == ("vs_previous", "Won", -0.15)  # 60% - 75%
    assert b.reference.moved_on == 30 and b.reference.decided == 40
    assert funnel.drop_vs_previous(before, before) is None  # nothing fell
    # Steps with fewer than min_deals decided deals are not compared.
    assert funnel.drop_vs_previous(now, before, min_deals=50).step.to_stage == "B"


def test_lowest_vs_org_and_lowest_outright() -> None:
    team = frame([10, 8, 2], [0, 0, 0], 1)     # B 80%, C 25%, Won 50%
    org = frame([100, 70, 40], [0, 0, 0], 20)  # B 70%, C 57%, Won 50%
    b = funnel.lowest_vs_org(team, org)
    assert (b.kind, b.step.from_stage, b.step.to_stage) == ("vs_org", "B", "C")
    assert round(b.change, 4) == round(0.25 - 40 / 70, 4)
    lowest = funnel.lowest_vs_org(team, None, min_deals=1)
    assert (lowest.kind, lowest.step.to_stage, lowest.reference) == ("lowest", "C", None)
    # With the default minimum of 5 decided deals, Won (2 decided) is left out; C (8 decided) is still lowest.
    assert funnel.lowest_vs_org(team, None).step.to_stage == "C"
    assert funnel.lowest_vs_org(team, None, min_deals=20) is None
    assert funnel.lowest_vs_org(frame([0, 0, 0], [0, 0, 0], 0), None, min_deals=1) is None


def test_band_labels() -> None:
    assert funnel.band_label(0.0, 10000.0) == "< $10.0K"
    assert funnel.band_label(10000.0, 50000.0) == "$10.0K–$50.0K"
    assert funnel.band_label(50000.0, None) == "≥ $50.0K"
    assert funnel.band_label(10000.0, 50000.0, "zh") == "$1.0万–$5.0万"


def test_with_labels_names_bands_and_missing_groups() -> None:
    rates = pl.DataFrame({"group_key": ["band_1", "band_2", "(none)"], "group_label": ["band 1", "band 2", "(none)"],
                          "band_lo": [0.0, 5000.0, None], "band_hi": [5000.0, None, None]})
    assert funnel.with_labels(rates, "size_band", "en", "(not set)")["label"].to_list() == [
        "< $5.0K", "≥ $5.0K", "(not set)"]
    seg = rates.with_columns(pl.Series("group_key", ["SMB", "Enterprise", "(none)"]))
    assert funnel.with_labels(seg, "segment", "en", "(not set)")["label"].to_list() == [
        "band 1", "band 2", "(not set)"]


@pytest.mark.parametrize(
    ("event", "picked"),
    [
        ({"selection": {"points": [{"x": 3, "customdata": ["Proposal"]}]}}, ["Proposal"]),
        ({"selection": {"points": [{"customdata": ["Proposal", "previous"]}]}}, ["Proposal", "previous"]),
        ({"selection": {"points": [{"customdata": "won"}]}}, ["won"]),
        ({"selection": {"points": []}}, None),
        ({"selection": {"points": [{"x": 1}]}}, None),
        (None, None),
        ({}, None),
    ],
)
def test_selected_point(event: object, picked: list | None) -> None:
    assert funnel.selected_point(event) == picked


def test_has_filters_ignores_the_period() -> None:
    assert not funnel.has_filters({"start": "2026-01-01", "end": None, "regions": [], "sources": []})
    assert funnel.has_filters({"start": None, "regions": ["East"]})


def test_waterfall_figure_adds_up_and_opens_categories() -> None:
    bars = pl.DataFrame({
        "position": list(range(1, 11)), "category": list(funnel.WATERFALL),
        "kind": ["total"] + ["change"] * 8 + ["total"],
        "deals": [8, 1, 1, 1, 1, 1, 1, 1, 3, 6],
        "amount": [16100.0, 600.0, 500.0, -200.0, 2500.0, -5000.0, -4000.0, -1500.0, -900.0, 8100.0],
    })
    bars = bars.with_columns(
        pl.when(pl.col("kind") == "total").then(0.0)
        .otherwise(pl.col("amount").cum_sum().shift(1)).alias("bar_base"))
    fig = charts_funnel.waterfall(bars, "en", "2026-06-23", "2026-06-30")
    bar = fig.data[0]
    assert [c[0] for c in bar.customdata] == list(funnel.WATERFALL)
    # The last change bar ends where the second total starts: 16,100 + changes = 8,100.
    assert bar.base[8] + bar.y[8] == bar.y[9] == 8100.0
    assert fig.layout.title.text.replace("<br>", " ").startswith("Open pipeline from 2026-06-23 to 2026-06-30")
    assert fig.layout.yaxis.title.text


def test_every_string_the_page_uses_exists_in_both_languages() -> None:
    """Literal keys in the page and charts, plus the keys built from lists, are in funnel.toml in en and zh."""
    source = (ROOT / "pages" / "funnel.py").read_text() + (ROOT / "saleslens" / "funnel" / "charts.py").read_text()
    keys = set(re.findall(r"[\"'](funnel\.[a-z_.]+[a-z_])[\"']", source))
    keys |= {f"funnel.pc.{c}" for c in funnel.CATEGORIES} | {f"funnel.pc.def.{c}" for c in funnel.CATEGORIES}
    keys |= {f"funnel.win.dim.{d}" for d in funnel.WIN_RATE_BY}
    keys |= {f"funnel.tab.{k}" for k in funnel.TABS}
    keys |= {f"funnel.pc.reason.{r}" for r in funnel.REMAINDER_REASONS}
    keys |= {f"funnel.bottleneck.{k}" for k in ("vs_previous", "vs_org", "lowest")}
    keys |= {f"funnel.leads.{k}" for k in ("leads", "qualified", "converted", "won")}
    keys |= {f"funnel.pay.{k}" for k in ("won", "invoiced", "paid")} | {"funnel.pc.start_bar", "funnel.pc.end_bar"}
    keys |= {f"funnel.velocity.cycle_{k}" for k in ("won", "lost")} | {f"funnel.outcome.{k}" for k in ("won", "lost")}
    catalog = i18n.catalog()
    # A literal that is only a prefix of keys (the column-header prefix handed to ui.widgets) is not a key itself.
    keys = {k for k in keys if k in catalog or not any(c.startswith(k + ".") for c in catalog)}
    missing = sorted(k for k in keys if k not in catalog or not {"en", "zh"} <= set(catalog[k]))
    assert not missing
