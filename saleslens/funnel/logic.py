"""Funnel helpers, pure Python over the funnel queries' frames: Wilson intervals, bottlenecks, size bands."""

from __future__ import annotations

import itertools
import math
from collections.abc import Mapping
from dataclasses import dataclass

import polars as pl

from saleslens.core import i18n

Z95 = 1.959963984540054  # two-sided 95% normal quantile, the z the SQL uses too

# The pipeline-changes waterfall, in bar order; the SQL header of pipeline_changes_by_category defines each.
CATEGORIES = ("new", "increased", "decreased", "pulled_in", "pushed_out", "won", "lost", "remainder")
WATERFALL = ("start", *CATEGORIES, "end")
# Why a deal is in the remainder (pipeline_changes_by_deal.remainder_reason).
REMAINDER_REASONS = ("unchanged", "deleted", "left_filters", "entered_filters", "reopened")

# Dimensions of win_rate_by_group, in the order the page offers them.
WIN_RATE_BY = ("segment", "industry", "source", "product", "region", "size_band")


def wilson_interval(successes: int, n: int, z: float = Z95) -> tuple[float, float] | None:
    """The Wilson score interval of a rate successes / n; None when there is nothing to rate."""
    if n <= 0:
        return None
    p = successes / n
    denom = 1 + z * z / n
    centre = (p + z * z / (2 * n)) / denom
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / denom
    return max(0.0, centre - half), min(1.0, centre + half)


@dataclass(frozen=True)
class Step:
    """One move between consecutive funnel stages, counted among the deals that have decided it.

    reached: deals that got to from_stage; waiting: open deals still there (not decided yet, so not
    counted); moved_on: deals that got to to_stage. A young cohort has many deals waiting, which would
    otherwise read as a drop in conversion.
    """

    from_stage: str
    to_stage: str
    reached: int
    waiting: int
    moved_on: int

    @property
    def decided(self) -> int:
        """Deals that left from_stage: moved on or were lost there."""
        return self.reached - self.waiting

    @property
    def rate(self) -> float | None:
        """Share of the deals that left from_stage that moved on to to_stage."""
        return self.moved_on / self.decided if self.decided > 0 else None


def steps(funnel: pl.DataFrame) -> dict[str, Step]:
    """Consecutive conversions of a funnel frame (open stages then won), keyed by the stage moved into."""
    rows = funnel.filter(pl.col("kind").is_in(["stage", "won"])).sort("step").to_dicts()
    return {
        cur["stage"]: Step(prev["stage"], cur["stage"], int(prev["reached"] or 0), int(prev["still_open"] or 0),
                           int(cur["reached"] or 0))
        for prev, cur in itertools.pairwise(rows)
    }


@dataclass(frozen=True)
class Bottleneck:
    """A funnel step singled out, with the numbers behind it and the reference it is compared with."""

    kind: str  # vs_previous, vs_org or lowest
    step: Step
    reference: Step | None

    @property
    def change(self) -> float | None:
        """Rate minus the reference rate (a drop is negative); None without a reference."""
        if self.reference is None or self.step.rate is None or self.reference.rate is None:
            return None
        return self.step.rate - self.reference.rate


def _compare(
    now: Mapping[str, Step], ref: Mapping[str, Step], min_deals: int
) -> list[tuple[float, Step, Step]]:
    """Rate differences for the steps both funnels have with at least min_deals deals that decided them."""
    out = []
    for stage, step in now.items():
        other = ref.get(stage)
        if other is None or step.decided < min_deals or other.decided < min_deals:
            continue
        if step.rate is not None and other.rate is not None:
            out.append((step.rate - other.rate, step, other))
    return out


def drop_vs_previous(current: pl.DataFrame, previous: pl.DataFrame, min_deals: int = 5) -> Bottleneck | None:
    """The step whose conversion fell most against the previous period (None when none fell)."""
    diffs = _compare(steps(current), steps(previous), min_deals)
    falling = [d for d in diffs if d[0] < 0]
    if not falling:
        return None
    _, step, ref = min(falling, key=lambda d: (d[0], d[1].to_stage))
    return Bottleneck("vs_previous", step, ref)


def lowest_vs_org(filtered: pl.DataFrame, org: pl.DataFrame | None, min_deals: int = 5) -> Bottleneck | None:
    """The step converting lowest against the whole organisation; without a filter, the lowest step outright."""
    now = steps(filtered)
    if org is None:
        ranked = [s for s in now.values() if s.decided >= min_deals and s.rate is not None]
        if not ranked:
            return None
        return Bottleneck("lowest", min(ranked, key=lambda s: (s.rate, s.to_stage)), None)
    diffs = _compare(now, steps(org), min_deals)
    if not diffs:
        return None
    _, step, ref = min(diffs, key=lambda d: (d[0], d[1].to_stage))
    return Bottleneck("vs_org", step, ref)


def band_label(lo: float | None, hi: float | None, lang: str = "en") -> str:
    """A deal-size band as money: '< $10K', '$10K–$50K' or '≥ $50K'."""
    if hi is None and lo is None:
        return "–"
    if not lo:
        return f"< {i18n.money(hi, lang)}"
    if hi is None:
        return f"≥ {i18n.money(lo, lang)}"
    return f"{i18n.money(lo, lang)}–{i18n.money(hi, lang)}"


def with_labels(win_rates: pl.DataFrame, by: str, lang: str, none_label: str) -> pl.DataFrame:
    """win_rate_by_group rows with a display label: size bands as money ranges, missing groups named."""
    if by == "size_band":
        labels = [
            band_label(lo, hi, lang) if key != "(none)" else none_label
            for key, lo, hi in zip(win_rates["group_key"], win_rates["band_lo"], win_rates["band_hi"], strict=True)
        ]
    else:
        labels = [none_label if key == "(none)" else label
                  for key, label in zip(win_rates["group_key"], win_rates["group_label"], strict=True)]
    return win_rates.with_columns(pl.Series("label", labels, dtype=pl.String))


def selected_point(event: object) -> list | None:
    """The customdata of the first point picked in a Plotly chart (st.plotly_chart on_select), or None."""
    try:
        points = event["selection"]["points"]  # type: ignore[index]
    except (KeyError, TypeError):
        return None
    for point in points or []:
        data = point.get("customdata")
        if data is not None:
            return list(data) if isinstance(data, list | tuple) else [data]
    return None


def has_filters(params: Mapping[str, object]) -> bool:
    """Whether any org or deal filter (not the period) narrows the deals."""
    return any(bool(v) for k, v in params.items() if k not in ("start", "end"))


def overall_win_rate(rates: pl.DataFrame) -> float | None:
    """Win rate of all closed deals from the rows of win_rate_by_group; None when nothing closed."""
    # The groups of any dimension split the closed deals (those without a value form the '(none)' group), so
    # their sums are the totals: the same rate as win_rate_by_group by org, without a second query.
    closed = int(rates["closed"].sum()) if rates.height else 0
    return int(rates["won"].sum()) / closed if closed else None


# The page's tabs, in order; only the open one computes (the first is open on arrival). leads_payments is shown
# only when the data has leads or payments.
TABS = ("stages", "leads_payments", "speed", "win_rates", "changes")


@dataclass(frozen=True)
class View:
    """What one Funnel view asks for: the open tab, the filters, the previous period and which data and choices
    there are."""

    params: Mapping[str, object]  # the shared filters as query parameters (period and org/deal filters)
    prev_params: Mapping[str, object] | None  # the previous period with the same filters; None without a period
    has_history: bool
    has_leads: bool
    has_payments: bool
    win_by: str  # the win-rate dimension chosen
    compare: str | None  # the earlier snapshot of the waterfall when its later one is the view's own; else None
    tab: str = TABS[0]  # the open tab: one of TABS


Calls = list[tuple[str, dict[str, object]]]


def _stages_calls(v: View) -> Calls:
    """Stages: bottlenecks, the current-state and cohort funnels."""
    p, period = dict(v.params), {"start": v.params.get("start"), "end": v.params.get("end")}
    calls: Calls = []
    if v.has_history:
        prev = v.prev_params or {}
        calls.append(("funnel_by_cohort", {**p, "prev_start": prev.get("start"), "prev_end": prev.get("end")}))
        if has_filters(p):
            calls.append(("funnel_by_cohort", period))
    calls.append(("funnel_by_stage", p))
    if not v.has_history:
        if v.prev_params is not None:
            calls.append(("funnel_by_stage", dict(v.prev_params)))
        if has_filters(p):
            calls.append(("funnel_by_stage", period))
    return calls


def _leads_payments_calls(v: View) -> Calls:
    """Leads & payments: the two ends of the journey, before the opportunity and after the win."""
    p = dict(v.params)
    calls: Calls = []
    if v.has_leads:
        calls.append(("lead_funnel_by_source", {k: x for k, x in p.items() if k != "products"}))
    if v.has_payments:
        calls.append(("payments_by_stage", p))
    return calls


def _speed_calls(v: View) -> Calls:
    """Speed: sales cycles, days in each stage and stuck deals (the last two need stage history)."""
    p = dict(v.params)
    calls: Calls = []
    if v.has_history:
        calls.append(("stuck_by_deal", {k: x for k, x in p.items() if k not in ("start", "end")}))
        calls.append(("velocity_by_stage", p))
    calls.append(("velocity_by_outcome", p))
    return calls


def _win_rate_calls(v: View) -> Calls:
    """Win rates: the chosen dimension only."""
    return [("win_rate_by_group", {"by": v.win_by, **v.params})]


def _changes_calls(v: View) -> Calls:
    """Pipeline changes: the waterfall, when its later snapshot is the view's own (else another runner reads it)."""
    return [("pipeline_changes_by_category", {"compare": v.compare, **v.params})] if v.compare is not None else []


_TAB_CALLS = {"stages": _stages_calls, "leads_payments": _leads_payments_calls, "speed": _speed_calls,
              "win_rates": _win_rate_calls, "changes": _changes_calls}


def view_calls(v: View) -> Calls:
    """The independent queries of the open tab of one Funnel view, the slowest first, so the page can run them
    side by side (the closed tabs compute nothing)."""
    return _TAB_CALLS[v.tab](v)


def compare_pair(ids: list[str], first: str, second: str) -> tuple[str, str, bool] | None:
    """The two snapshots of the waterfall in time order (ids newest first) and whether they were swapped; None
    when both are the same."""
    if first == second:
        return None
    if ids.index(first) < ids.index(second):  # the newer one was picked first: compare in time order
        return second, first, True
    return first, second, False
