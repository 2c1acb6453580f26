"""Target math for managers: attainment, pacing, forecast, coverage and target decomposition.

Pure functions over Polars frames and plain numbers: no Streamlit, no DuckDB. The rep is the atom:
queries return facts per rep (and month, week or deal) and these functions roll them up to the
organisation, a region, a team or a rep, so a saved target set can stand in for the snapshot's
targets without a second code path.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta

import polars as pl

from saleslens.core import pymap
from saleslens.core.i18n import money, t
from saleslens.core.periods import (
    RAMP_MONTHS,
    add_months,
    linear_ramp,
    month_end,
    month_start,
    months_between,
    quarter_bounds,
    ramp_factor,
)

Z_80 = 1.2816  # a two-sided 80% interval of a normal distribution: mean ± 1.2816 sd
MIN_STAGE_DEALS = 20  # closed deals a stage needs before its learned win rate replaces the default
QUOTA_ROLES = ("AE",)  # roles that carry a bookings quota; others only when a team has none of these
SALES_ROLES = ("AE", "SDR", "CSM")  # roles counted as heads for activities per rep
GROUPINGS = ("org", "region", "team", "rep")
GRAINS = ("month", "quarter")
ORG_KEY = "org"

# ---------------------------------------------------------------- periods (saleslens/core/periods.py)


def period_start(month: date, grain: str) -> date:
    """The start of the month or quarter a month belongs to."""
    return quarter_bounds(month)[0] if grain == "quarter" else month_start(month)


def period_end(start: date, grain: str) -> date:
    """The last day of a month or quarter that starts on `start`."""
    return add_months(start, 3 if grain == "quarter" else 1) - timedelta(days=1)


def week_of_quarter(day: date) -> int:
    """Week 1 is the quarter's first seven days, week 14 holds the last day or two of long quarters."""
    return (day - quarter_bounds(day)[0]).days // 7 + 1


def _ok(value: object) -> bool:
    """True for a usable number (not None, not NaN)."""
    return value is not None and not (isinstance(value, float) and math.isnan(value))


def ratio_or_none(num: float | None, den: float | None) -> float | None:
    """num / den, or None when either is missing or the denominator is not positive."""
    if not (_ok(num) and _ok(den)) or den <= 0:
        return None
    return float(num) / float(den)


# ---------------------------------------------------------------- targets and groups

TARGET_COLUMNS = ("owner_type", "owner_id", "period_start", "period_end", "metric", "value")


def spread_monthly(rows: pl.DataFrame) -> pl.DataFrame:
    """Target rows split evenly over the calendar months their period touches (a quarter's 9,000 is 3,000 a month)."""
    # In columns, not row by row: the organisation's rows are a quarter of a million at L.
    value = pl.col("value").cast(pl.Float64)
    usable = rows.select(TARGET_COLUMNS).filter(
        value.is_not_null() & value.is_not_nan() & pl.col("period_start").is_not_null()
        & pl.col("period_end").is_not_null()
    )
    frame = usable.select(
        pl.col("owner_type").cast(pl.String), pl.col("owner_id").cast(pl.String), pl.col("metric").cast(pl.String),
        # the months whose first day is on or before the period's last day, from the period's first month
        pl.date_ranges(pl.col("period_start").dt.month_start(), pl.col("period_end").dt.month_start(),
                       interval="1mo").alias("month"),
        value.alias("value"),
    ).with_columns(
        (pl.col("value") / pl.col("month").list.len()).alias("value"),
    ).explode("month").filter(pl.col("month").is_not_null())
    frame = frame.select("owner_type", "owner_id", "metric", pl.col("month").cast(pl.Date), "value")
    return frame.group_by(["owner_type", "owner_id", "metric", "month"]).agg(pl.col("value").sum())


def rows_for_group(rows: pl.DataFrame, members: pl.DataFrame, team_rows: bool = True) -> pl.DataFrame:
    """Target rows that belong to the group: its reps' rows, and its teams' rows unless reps were picked."""
    reps = set(members["rep_id"].to_list())
    teams = {x for x in members["team"].to_list() if x} if team_rows else set()
    return rows.filter(
        ((pl.col("owner_type") == "rep") & pl.col("owner_id").is_in(list(reps)))
        | ((pl.col("owner_type") == "team") & pl.col("owner_id").is_in(list(teams)))
    )


def _with_group(frame: pl.DataFrame, by: str) -> pl.DataFrame:
    """Add group_key and group_label for a grouping, from rep_id/name/team/region columns."""
    if by not in GROUPINGS:
        raise ValueError(f"unknown grouping '{by}' (one of {', '.join(GROUPINGS)})")
    if by == "org":
        return frame.with_columns(pl.lit(ORG_KEY).alias("group_key"), pl.lit("All").alias("group_label"))
    if by == "rep":
        return frame.with_columns(pl.col("rep_id").alias("group_key"), pl.col("name").alias("group_label"))
    col = pl.col(by).fill_null("(none)")
    return frame.with_columns(col.alias("group_key"), col.alias("group_label"))


def group_targets(monthly: pl.DataFrame, members: pl.DataFrame, by: str, metric: str = "bookings") -> pl.DataFrame:
    """Target per group and month: the reps' own targets, or the team's target for a team-month where no rep has one.

    Rep targets are the basis (they are what each person is measured on); a team-level target fills
    in only where its reps have none, so a team's number is never counted twice.
    """
    people = members.select("rep_id", "name", "team", "region")
    rows = monthly.filter(pl.col("metric") == metric)
    rep_t = rows.filter(pl.col("owner_type") == "rep").join(people, left_on="owner_id", right_on="rep_id")
    rep_t = rep_t.rename({"owner_id": "rep_id"})
    parts = [rep_t.select("rep_id", "name", "team", "region", "month", "value")]
    if by != "rep":
        team_region = people.filter(pl.col("team").is_not_null()).group_by("team").agg(
            pl.col("region").drop_nulls().mode().sort().first()
        )
        covered = rep_t.filter(pl.col("team").is_not_null()).select("team", "month").unique()
        team_t = (
            rows.filter(pl.col("owner_type") == "team")
            .rename({"owner_id": "team"})
            .join(team_region, on="team")
            .join(covered, on=["team", "month"], how="anti")
        )
        parts.append(team_t.select(
            pl.lit(None, pl.String).alias("rep_id"), pl.lit(None, pl.String).alias("name"), "team", "region",
            "month", "value",
        ))
    frame = _with_group(pl.concat(parts), by)
    return frame.group_by(["group_key", "month"]).agg(
        pl.col("group_label").first(), pl.col("value").sum().alias("target")
    )


def group_actuals(actuals: pl.DataFrame, members: pl.DataFrame, by: str) -> pl.DataFrame:
    """Bookings per group and month from bookings per rep and month (reps outside the group are dropped)."""
    people = members.select("rep_id", "name", "team", "region")
    frame = _with_group(actuals.join(people, on="rep_id"), by)
    return frame.group_by(["group_key", "month"]).agg(
        pl.col("group_label").first(), pl.col("bookings").sum(), pl.col("deals_won").sum()
    )


def attainment(
    actuals: pl.DataFrame, targets: pl.DataFrame, start: date, end: date, as_of: date, grain: str = "month",
) -> pl.DataFrame:
    """Bookings against target per group and period, with year-to-date running totals.

    actuals: group_key, group_label, month, bookings; targets: group_key, group_label, month, target.
    Periods that start after `as_of` have no bookings yet (null, not zero); the period holding `as_of`
    is marked partial. Attainment is empty where there is no target, never a division by zero.
    """
    if grain not in GRAINS:
        raise ValueError(f"unknown grain '{grain}' (one of {', '.join(GRAINS)})")
    months = months_between(start, end)
    groups = pl.concat([actuals.select("group_key", "group_label"), targets.select("group_key", "group_label")])
    groups = groups.group_by("group_key").agg(pl.col("group_label").first())
    if groups.is_empty() or not months:
        return _empty_attainment()
    grid = groups.join(pl.DataFrame({"month": months}, schema={"month": pl.Date}), how="cross")
    grid = (
        grid.join(actuals.select("group_key", "month", "bookings"), on=["group_key", "month"], how="left")
        .join(targets.select("group_key", "month", "target"), on=["group_key", "month"], how="left")
    )
    starts = pymap.map_values(grid["month"], lambda m: period_start(m, grain), pl.Date)
    grid = grid.with_columns(starts.alias("period_start"))
    out = grid.group_by(["group_key", "period_start"]).agg(
        pl.col("group_label").first(),
        pl.col("bookings").fill_null(0).sum(),
        # a period has a target when any of its months has one; otherwise it stays empty
        pl.when(pl.col("target").is_not_null().any()).then(pl.col("target").sum()).alias("target"),
    )
    out = out.with_columns(
        pymap.map_values(out["period_start"], lambda s: period_end(s, grain), pl.Date).alias("period_end"),
    ).with_columns(
        pl.when(pl.col("period_start") > as_of).then(None).otherwise(pl.col("bookings")).alias("bookings"),
        ((pl.col("period_start") <= as_of) & (pl.col("period_end") > as_of)).alias("partial"),
        pl.col("period_start").dt.year().alias("year"),
    ).sort(["group_key", "period_start"])
    out = out.with_columns(
        pl.col("bookings").cum_sum().over(["group_key", "year"]).alias("cumulative_bookings"),
        pl.col("target").fill_null(0).cum_sum().over(["group_key", "year"]).alias("_cum_t"),
        pl.col("target").is_not_null().cum_sum().over(["group_key", "year"]).alias("_n_t"),
    ).with_columns(
        pl.when(pl.col("_n_t") > 0).then(pl.col("_cum_t")).alias("cumulative_target"),
    )
    safe = pl.col("target") > 0
    cum_safe = pl.col("cumulative_target") > 0
    out = out.with_columns(
        pl.when(safe).then(pl.col("bookings") / pl.col("target")).alias("attainment"),
        pl.when(cum_safe).then(pl.col("cumulative_bookings") / pl.col("cumulative_target")).alias(
            "cumulative_attainment"
        ),
    )
    return out.select(
        "group_key", "group_label", "period_start", "period_end", "partial", "bookings", "target", "attainment",
        "cumulative_bookings", "cumulative_target", "cumulative_attainment",
    ).sort(["group_key", "period_start"])


def _empty_attainment() -> pl.DataFrame:
    """The attainment frame with no rows."""
    return pl.DataFrame(schema={
        "group_key": pl.String, "group_label": pl.String, "period_start": pl.Date, "period_end": pl.Date,
        "partial": pl.Boolean, "bookings": pl.Float64, "target": pl.Float64, "attainment": pl.Float64,
        "cumulative_bookings": pl.Float64, "cumulative_target": pl.Float64, "cumulative_attainment": pl.Float64,
    })


def periods_without_target(table: pl.DataFrame) -> list[date]:
    """Starts of the periods in an attainment table where no group has a target."""
    if table.is_empty():
        return []
    per = table.group_by("period_start").agg(pl.col("target").is_not_null().any().alias("has"))
    return sorted(per.filter(~pl.col("has"))["period_start"].to_list())


# ---------------------------------------------------------------- pacing


def seasonality_curve(weekly: pl.DataFrame) -> list[float] | None:
    """Pooled cumulative share of a quarter's bookings closed by the end of weeks 0-14 of past quarters.

    weekly: quarter_start, week (1-14), bookings. The quarters are pooled (all their bookings summed)
    rather than averaged, so a big quarter counts more than a tiny one. None when there is no history.
    """
    if weekly.is_empty():
        return None
    total = float(weekly["bookings"].fill_null(0).sum())
    if total <= 0:
        return None
    by_week = dict(weekly.group_by("week").agg(pl.col("bookings").fill_null(0).sum()).iter_rows())
    curve, running = [0.0], 0.0
    for week in range(1, 15):
        running += float(by_week.get(week, 0.0))
        curve.append(running / total)
    return curve


def expected_share(curve: Sequence[float] | None, as_of: date) -> float:
    """Share of the quarter's bookings usually closed by the end of `as_of`, interpolated within its week.

    Day e of the quarter (as_of counted as done) lies in week k = ceil(e / 7); the share moves in a
    straight line from the curve at the end of week k-1 to the curve at the end of week k (or to 1 at
    the quarter's last day). Without history the share is simply the part of the quarter gone by.
    """
    q_start, q_end = quarter_bounds(as_of)
    length = (q_end - q_start).days + 1
    elapsed = (as_of - q_start).days + 1
    if not curve:
        return elapsed / length
    week = min(math.ceil(elapsed / 7), 14)
    lo_day, hi_day = 7 * (week - 1), min(7 * week, length)
    lo_share = curve[week - 1]
    hi_share = 1.0 if hi_day == length else curve[week]
    return lo_share + (hi_share - lo_share) * (elapsed - lo_day) / (hi_day - lo_day)


def expected_curve(curve: Sequence[float] | None, quarter: date, target: float) -> pl.DataFrame:
    """Expected cumulative bookings for each day of a quarter: target × expected share by that day."""
    q_start, q_end = quarter_bounds(quarter)
    days = [q_start + timedelta(days=i) for i in range((q_end - q_start).days + 1)]
    return pl.DataFrame({"day": days, "expected": [target * expected_share(curve, d) for d in days]},
                        schema={"day": pl.Date, "expected": pl.Float64})


@dataclass(frozen=True)
class Pace:
    """Where a group stands against where it usually is by this day of the quarter."""

    target: float | None
    closed: float
    share: float
    expected: float | None  # target × share
    gap: float | None  # closed - expected: positive = ahead
    gap_pct: float | None  # gap / expected
    attainment: float | None  # closed / target

    @property
    def ahead(self) -> bool | None:
        """True when ahead of (or exactly on) pace, False when behind, None without a target."""
        return None if self.gap is None else self.gap >= 0


def pace(target: float | None, closed: float, share: float) -> Pace:
    """Pacing against the target: expected by today, gap in money and percent; empty without a target."""
    closed = float(closed or 0.0)
    if not _ok(target) or target <= 0:
        return Pace(None, closed, share, None, None, None, None)
    expected = float(target) * share
    gap = closed - expected
    return Pace(float(target), closed, share, expected, gap, ratio_or_none(gap, expected), closed / float(target))


# ---------------------------------------------------------------- forecast


def stage_probabilities(stats: pl.DataFrame, min_deals: int = MIN_STAGE_DEALS) -> pl.DataFrame:
    """Each stage's win probability: the win rate of closed deals that were in it, or the stage default.

    stats: stage, position, is_won, is_lost, default_probability, deals (closed deals that were in the
    stage), won (of those, won), amount and won_amount (their value). The rate is by value (won value /
    closed value) because it weighs money: where big deals lose more often than small ones, a count-based
    rate would overstate the forecast. A stage learns from history once it has `min_deals` closed deals;
    with fewer it keeps the dataset's default. Won stages are 1 and lost stages 0 by definition.
    """
    rows = []
    for r in stats.sort("position").iter_rows(named=True):
        deals, won = int(r["deals"] or 0), int(r["won"] or 0)
        value, won_value = float(r.get("amount") or 0.0), float(r.get("won_amount") or 0.0)
        learned = won_value / value if value > 0 else (won / deals if deals else None)
        if r["is_won"]:
            prob, source = 1.0, "outcome"
        elif r["is_lost"]:
            prob, source = 0.0, "outcome"
        elif deals >= max(min_deals, 1) and learned is not None:
            prob, source = learned, "learned"
        else:
            prob, source = float(r["default_probability"] or 0.0), "default"
        rows.append({"stage": r["stage"], "position": r["position"], "deals": deals, "won": won,
                     "win_rate_count": won / deals if deals else None, "learned": learned,
                     "default_probability": r["default_probability"], "probability": prob, "source": source})
    return pl.DataFrame(rows, schema={
        "stage": pl.String, "position": pl.Int64, "deals": pl.Int64, "won": pl.Int64,
        "win_rate_count": pl.Float64, "learned": pl.Float64, "default_probability": pl.Float64,
        "probability": pl.Float64, "source": pl.String,
    })


@dataclass(frozen=True)
class Forecast:
    """Forecast to the end of a period: closed so far plus probability-weighted open pipeline, with a range."""

    closed: float
    weighted: float
    open_total: float
    open_deals: int
    low: float
    high: float

    @property
    def expected(self) -> float:
        """The point forecast: closed + weighted pipeline."""
        return self.closed + self.weighted


def forecast(closed: float, weighted_deals: pl.DataFrame, z: float = Z_80) -> Forecast:
    """Closed plus weighted pipeline, with an 80% range from the spread of win/lose outcomes.

    Each open deal is won (amount a) with probability p or lost, so the pipeline's outcome has mean
    Σ a·p and variance Σ a²·p·(1-p). The range is mean ± z·sd, clipped to what can happen: never
    below nothing more closing, never above every open deal closing.
    """
    closed = float(closed or 0.0)
    if weighted_deals.is_empty():
        return Forecast(closed, 0.0, 0.0, 0, closed, closed)
    a = weighted_deals["amount"].fill_null(0.0)
    p = weighted_deals["probability"].fill_null(0.0)
    mean = float((a * p).sum())
    sd = math.sqrt(float((a * a * p * (1 - p)).sum()))
    total = float(a.sum())
    return Forecast(closed, mean, total, weighted_deals.height,
                    closed + max(0.0, mean - z * sd), closed + min(total, mean + z * sd))


MEMBER_COLUMNS = ("target", "closed", "attainment", "expected", "gap", "gap_pct", "open_pipeline", "forecast",
                  "low", "high", "forecast_attainment")


def members_pace_and_forecast(groups: pl.DataFrame, weighted_deals: pl.DataFrame, share: float,
                              z: float = Z_80) -> pl.DataFrame:
    """pace() and forecast() for many groups at once: the same numbers, computed in columns.

    groups: group_key, group_label, closed (null = nothing closed), target (null = none); weighted_deals:
    group_key, amount, probability. Returns group_key, group_label and MEMBER_COLUMNS, one row per group.
    """
    a, p = pl.col("amount").fill_null(0.0), pl.col("probability").fill_null(0.0)
    pipe = weighted_deals.group_by("group_key").agg(
        a.sum().alias("open_pipeline"), (a * p).sum().alias("weighted"),
        (a * a * p * (1 - p)).sum().alias("variance"),
    )
    frame = groups.join(pipe, on="group_key", how="left", maintain_order="left")
    target = pl.col("target").cast(pl.Float64)
    has_target = target.is_not_null() & target.is_not_nan() & (target > 0)
    frame = frame.with_columns(
        pl.col("closed").cast(pl.Float64).fill_null(0.0).alias("closed"),
        pl.when(has_target).then(target).alias("target"),
        pl.when(has_target).then(target * share).alias("expected"),
        pl.col("open_pipeline").fill_null(0.0), pl.col("weighted").fill_null(0.0),
        pl.col("variance").fill_null(0.0).sqrt().alias("sd"),
    )
    gap = pl.col("closed") - pl.col("expected")
    forecast_ = pl.col("closed") + pl.col("weighted")
    frame = frame.with_columns(
        pl.when(pl.col("target").is_not_null()).then(pl.col("closed") / pl.col("target")).alias("attainment"),
        gap.alias("gap"),
        pl.when(pl.col("expected") > 0).then(gap / pl.col("expected")).alias("gap_pct"),
        forecast_.alias("forecast"),
        (pl.col("closed") + pl.max_horizontal(pl.lit(0.0), pl.col("weighted") - z * pl.col("sd"))).alias("low"),
        (pl.col("closed") + pl.min_horizontal(pl.col("open_pipeline"), pl.col("weighted") + z * pl.col("sd")))
        .alias("high"),
        pl.when(pl.col("target") > 0).then(forecast_ / pl.col("target")).alias("forecast_attainment"),
    )
    return frame.select("group_key", "group_label", *MEMBER_COLUMNS)


CATEGORIES = ("commit", "best_case", "pipeline", "omitted")


def forecast_categories(closed: float, weighted_deals: pl.DataFrame) -> pl.DataFrame:
    """Open pipeline by forecast category with the usual roll-ups; empty when the data has no categories.

    Roll-up: commit forecast = closed + commit; best case = that + best_case; pipeline = that + pipeline.
    """
    if weighted_deals.is_empty() or "forecast_category" not in weighted_deals.columns:
        return pl.DataFrame()
    cats = weighted_deals.filter(pl.col("forecast_category").is_not_null())
    if cats.is_empty():
        return pl.DataFrame()
    agg = dict(
        (r["forecast_category"], r)
        for r in cats.group_by("forecast_category").agg(
            pl.len().alias("deals"), pl.col("amount").sum(), pl.col("weighted").sum()
        ).iter_rows(named=True)
    )
    rows, running = [], float(closed or 0.0)
    for cat in CATEGORIES:
        r = agg.get(cat, {"deals": 0, "amount": 0.0, "weighted": 0.0})
        if cat != "omitted":
            running += float(r["amount"])
        rows.append({"category": cat, "deals": int(r["deals"]), "amount": float(r["amount"]),
                     "weighted": float(r["weighted"]), "rollup": running if cat != "omitted" else None})
    return pl.DataFrame(rows, schema={"category": pl.String, "deals": pl.Int64, "amount": pl.Float64,
                                      "weighted": pl.Float64, "rollup": pl.Float64})


# ---------------------------------------------------------------- coverage


@dataclass(frozen=True)
class Coverage:
    """Open pipeline against what is left to close, and what the pipeline would need to be."""

    target: float | None
    closed: float
    remaining: float | None  # target - closed, at least 0
    open_pipeline: float
    ratio: float | None  # open pipeline / remaining
    win_rate: float | None  # historical, by value
    needed: float | None  # remaining / win rate
    gap: float | None  # needed - open pipeline, at least 0


def coverage(target: float | None, closed: float, open_pipeline: float, win_rate: float | None) -> Coverage:
    """Coverage = open pipeline / remaining target; pipeline needed = remaining / historical win rate."""
    closed, open_pipeline = float(closed or 0.0), float(open_pipeline or 0.0)
    if not _ok(target) or target <= 0:
        return Coverage(None, closed, None, open_pipeline, None, win_rate, None, None)
    remaining = max(float(target) - closed, 0.0)
    rate = win_rate if _ok(win_rate) and win_rate > 0 else None
    needed = remaining / rate if rate else None
    gap = max(needed - open_pipeline, 0.0) if needed is not None else None
    return Coverage(float(target), closed, remaining, open_pipeline, ratio_or_none(open_pipeline, remaining),
                    win_rate, needed, gap)


def win_rate_by_value(won_amount: float | None, lost_amount: float | None) -> float | None:
    """Won value / (won + lost value); None without closed deals."""
    won, lost = float(won_amount or 0.0), float(lost_amount or 0.0)
    return ratio_or_none(won, won + lost)


# ---------------------------------------------------------------- leading indicators


def headcount_by_week(members: pl.DataFrame, weeks: Sequence[date]) -> pl.DataFrame:
    """Sales reps employed in each week (hired by its last day, not gone before its first day)."""
    sellers = members.filter(pl.col("role").is_in(list(SALES_ROLES)))
    rows = []
    for w in weeks:
        w_end = w + timedelta(days=6)
        n = sum(
            1 for r in sellers.iter_rows(named=True)
            if (r["hire_date"] is None or r["hire_date"] <= w_end)
            and (r["leave_date"] is None or r["leave_date"] >= w)
        )
        rows.append({"week": w, "headcount": n})
    return pl.DataFrame(rows, schema={"week": pl.Date, "headcount": pl.Int64})


def weeks_employed(hire: date | None, leave: date | None, start: date, end: date) -> float:
    """Weeks (days / 7) of start..end during which the person was employed."""
    first = max(start, hire) if hire else start
    last = min(end, leave) if leave else end
    return max((last - first).days + 1, 0) / 7


def weekly_activity_target(monthly: pl.DataFrame, members: pl.DataFrame) -> float | None:
    """Average weekly activity target per rep who has one: a month's target × 12 / 52 (a month is 52/12 weeks)."""
    rows = monthly.filter((pl.col("metric") == "activities") & (pl.col("owner_type") == "rep")
                          & pl.col("owner_id").is_in(members["rep_id"].to_list()))
    if rows.is_empty():
        return None
    per_rep = rows.group_by("owner_id").agg(pl.col("value").mean())
    return float(per_rep["value"].mean()) * 12 / 52


def activities_per_rep(weekly: pl.DataFrame, heads: pl.DataFrame) -> pl.DataFrame:
    """Activities per rep per week and type: the week's count / sales reps employed that week (quiet weeks are 0)."""
    schema = {"week": pl.Date, "type": pl.String, "activities": pl.Int64, "headcount": pl.Int64,
              "per_rep": pl.Float64}
    if weekly.is_empty() or heads.is_empty():
        return pl.DataFrame(schema=schema)
    agg = weekly.group_by(["week", "type"]).agg(pl.col("activities").sum())
    types = pl.DataFrame({"type": sorted(agg["type"].unique().to_list())})
    out = heads.join(types, how="cross").join(agg, on=["week", "type"], how="left").with_columns(
        pl.col("activities").fill_null(0).cast(pl.Int64),
    ).with_columns(
        pl.when(pl.col("headcount") > 0).then(pl.col("activities") / pl.col("headcount")).alias("per_rep")
    )
    return out.select(list(schema)).sort(["week", "type"])


CONVERSION_STEPS = ("activities", "meetings", "opportunities", "wins")


def conversion(counts: dict[str, float]) -> pl.DataFrame:
    """The activity → meeting → opportunity → win steps with each step's rate from the one before."""
    rows, prev = [], None
    for step in CONVERSION_STEPS:
        n = float(counts.get(step) or 0)
        rows.append({"step": step, "count": n, "rate": ratio_or_none(n, prev) if prev is not None else None})
        prev = n
    return pl.DataFrame(rows, schema={"step": pl.String, "count": pl.Float64, "rate": pl.Float64})


# ---------------------------------------------------------------- decomposition


class DecompositionError(ValueError):
    """A decomposition that cannot be used, with a message naming the row that is wrong."""

    def __init__(self, code: str, **values: object) -> None:
        self.code = code
        self.values = values
        super().__init__(self.message("en"))

    def message(self, lang: str = "en") -> str:
        """The message in a language, with money formatted."""
        shown = {k: money(v, lang, compact=False) if isinstance(v, float) else v for k, v in self.values.items()}
        return t(f"targets.error.{self.code}", lang, **shown)


def _unit(parent: float) -> float:
    """Round parts to whole currency units when the parent is whole, else to cents."""
    return 1.0 if float(parent).is_integer() else 0.01


def allocate(parent: float, weights: Sequence[float], unit: float | None = None) -> list[float]:
    """Split `parent` in proportion to `weights`, rounded so the parts sum exactly to the parent.

    Largest remainder: every part is rounded down to the unit, then the units left over go one each
    to the parts with the largest fractions (ties to the earlier row). Zero weights share evenly.
    """
    if parent < 0:
        raise DecompositionError("negative_parent", value=float(parent))
    n = len(weights)
    if n == 0:
        return []
    if any(w < 0 for w in weights):
        raise DecompositionError("negative_weight")
    total = float(sum(weights))
    shares = [w / total for w in weights] if total > 0 else [1.0 / n] * n
    unit = unit or _unit(parent)
    units_total = round(parent / unit)
    raw = [units_total * s for s in shares]
    floors = [math.floor(x + 1e-9) for x in raw]
    left = units_total - sum(floors)
    order = sorted(range(n), key=lambda i: (-(raw[i] - floors[i]), i))
    for i in order[:left]:
        floors[i] += 1
    return [round(f * unit, 2) for f in floors]


def validate_parts(
    parent: float, labels: Sequence[str], values: Sequence[float | None],
    original: Sequence[float | None] | None = None, tolerance: float = 0.005,
) -> None:
    """Refuse parts that are empty, negative or do not sum to the parent, naming the row that is wrong.

    When the parts do not add up and `original` (the proposal before editing) is given, the message
    names the rows that were changed, since one of them is where the total went wrong.
    """
    for label, value in zip(labels, values, strict=True):
        if not _ok(value):
            raise DecompositionError("empty_row", row=label)
        if value < 0:
            raise DecompositionError("negative_row", row=label, value=float(value))
    total = float(sum(values))
    diff = total - float(parent)
    if abs(diff) <= tolerance:
        return
    changed = []
    if original is not None:
        changed = [lab for lab, v, o in zip(labels, values, original, strict=True)
                   if not _ok(o) or abs(v - o) > tolerance]
    if changed:
        raise DecompositionError("sum_changed", rows=", ".join(changed[:5]), total=total, parent=float(parent),
                                 diff=diff)
    raise DecompositionError("sum", total=total, parent=float(parent), diff=diff)


def scale_to_parent(parent: float, values: Sequence[float | None]) -> list[float]:
    """Rescale edited parts proportionally so they sum to the parent again (empty parts count as zero)."""
    clean = [max(float(v), 0.0) if _ok(v) else 0.0 for v in values]
    return allocate(parent, clean)


def seasonal_month_shares(history: pl.DataFrame) -> list[float] | None:
    """Share of a year's bookings in each calendar month (Jan..Dec), pooled over the history given.

    history: month (any date in the month), bookings. None when there are no bookings at all.
    """
    if history.is_empty():
        return None
    per = history.with_columns(pl.col("month").dt.month().alias("m")).group_by("m").agg(
        pl.col("bookings").fill_null(0).sum()
    )
    total = float(per["bookings"].sum())
    if total <= 0:
        return None
    by_m = dict(per.iter_rows())
    return [float(by_m.get(m, 0.0)) / total for m in range(1, 13)]


ANNUAL_METHODS = ("seasonality", "even", "hand")
TEAM_METHODS = ("history", "capacity", "hand")


def decompose_annual(parent: float, year: int, method: str, shares: Sequence[float] | None = None,
                     hand: Sequence[float] | None = None) -> pl.DataFrame:
    """An annual target split into its twelve months (each with its quarter), summing exactly to the parent.

    seasonality: in proportion to `shares` (Jan..Dec), falling back to even when there are none;
    even: equal months; hand: the twelve values given, checked to sum to the parent.
    """
    if method not in ANNUAL_METHODS:
        raise ValueError(f"unknown method '{method}' (one of {', '.join(ANNUAL_METHODS)})")
    months = [date(year, m, 1) for m in range(1, 13)]
    if method == "hand":
        if hand is None or len(hand) != 12:
            raise DecompositionError("hand_rows", expected=12, got=0 if hand is None else len(hand))
        labels = [m.strftime("%b %Y") for m in months]
        validate_parts(parent, labels, hand)
        values = [float(v) for v in hand]
    else:
        weights = list(shares) if method == "seasonality" and shares and sum(shares) > 0 else [1.0] * 12
        values = allocate(parent, weights)
    return pl.DataFrame(
        {"month": months, "quarter": [f"Q{(m.month - 1) // 3 + 1} {year}" for m in months], "value": values,
         "share": [ratio_or_none(v, parent) or 0.0 for v in values]},
        schema={"month": pl.Date, "quarter": pl.String, "value": pl.Float64, "share": pl.Float64},
    )


def quarters_of(months: pl.DataFrame) -> pl.DataFrame:
    """Quarter totals of a monthly split."""
    total = float(months["value"].sum()) if months.height else 0.0
    out = months.group_by("quarter", maintain_order=True).agg(pl.col("value").sum())
    return out.with_columns((pl.col("value") / total if total > 0 else pl.lit(0.0)).alias("share"))


def months_employed(hire: date | None, leave: date | None, start: date, end: date) -> int:
    """Whole calendar months in start..end during which the person worked for at least a day."""
    return sum(
        1 for m in months_between(start, end)
        if (hire is None or hire <= month_end(m)) and (leave is None or leave >= m)
    )


def quota_reps(members: pl.DataFrame, team: str, start: date, end: date) -> pl.DataFrame:
    """The people of a team who carry a quota in start..end: account executives, else any non-manager."""
    team_people = members.filter(
        (pl.col("team") == team)
        & (pl.col("hire_date").is_null() | (pl.col("hire_date") <= end))
        & (pl.col("leave_date").is_null() | (pl.col("leave_date") >= start))
    )
    quota = team_people.filter(pl.col("role").is_in(list(QUOTA_ROLES)))
    if quota.is_empty():
        quota = team_people.filter(~pl.col("role").is_in(["Manager", "Director"]))
    return quota.sort("name")


@dataclass
class TeamSplit:
    """A team target split into reps: one row per rep, the rep × month matrix, and notes for the reader."""

    reps: pl.DataFrame  # rep_id, name, hire_date, basis, share, value
    monthly: pl.DataFrame  # rep_id, month, value
    notes: list[tuple[str, dict]] = field(default_factory=list)  # translation key + values


def decompose_team(
    months: pl.DataFrame, reps: pl.DataFrame, method: str, history_start: date | None = None,
    history_end: date | None = None, ramp_months: int = RAMP_MONTHS, hand: Sequence[float] | None = None,
) -> TeamSplit:
    """A team's monthly targets split into its reps, so each month and each rep add up exactly.

    months: month, value (the team's plan). reps: rep_id, name, hire_date, leave_date and for
    `history` history_bookings over history_start..history_end.
    history: in proportion to bookings per month worked in the history window; a rep with no
    history gets the average of those with history (all even when nobody has any).
    capacity: in proportion to each rep's ramp-adjusted capacity in each month (new hires ramp up).
    hand: each rep's total as given, checked against the parent; months follow the team's plan.
    """
    if method not in TEAM_METHODS:
        raise ValueError(f"unknown method '{method}' (one of {', '.join(TEAM_METHODS)})")
    parent = float(months["value"].sum())
    notes: list[tuple[str, dict]] = []
    if reps.is_empty():
        raise DecompositionError("no_reps")
    if reps.height == 1:
        notes.append(("targets.note.one_rep", {"name": reps["name"][0]}))
    ids, names = reps["rep_id"].to_list(), reps["name"].to_list()
    month_list, month_values = months["month"].to_list(), [float(v) for v in months["value"].to_list()]
    if method == "capacity":
        caps = [[_capacity(r, m, ramp_months) for m in month_list] for r in reps.iter_rows(named=True)]
        matrix = []
        for j, m_value in enumerate(month_values):
            column = [caps[i][j] for i in range(len(ids))]
            if sum(column) == 0:
                notes.append(("targets.note.no_capacity", {"month": month_list[j].strftime("%b %Y")}))
                column = [1.0] * len(ids)
            matrix.append([m_value * c / sum(column) for c in column])
        basis = [sum(c) for c in caps]
        new = [n for n, r in zip(names, reps.iter_rows(named=True), strict=True)
               if any(ramp_factor(r["hire_date"], m, linear_ramp(ramp_months)) < 1 for m in month_list)]
        if new:
            notes.append(("targets.note.ramping", {"names": ", ".join(new), "months": ramp_months}))
        # rounding happens once, on each rep's total, so no rep gains the leftover unit month after month
        values = allocate(parent, [sum(matrix[j][i] for j in range(len(month_list))) for i in range(len(ids))])
    else:
        if method == "history":
            basis, missing = _history_rates(reps, history_start, history_end)
            if missing:
                notes.append(("targets.note.no_history", {"names": ", ".join(missing)}))
            values = allocate(parent, basis)
        else:
            if hand is None or len(hand) != len(ids):
                raise DecompositionError("hand_rows", expected=len(ids), got=0 if hand is None else len(hand))
            validate_parts(parent, names, hand)
            values, basis = [float(v) for v in hand], [float(v) for v in hand]
        shares = [ratio_or_none(v, parent) or 0.0 for v in values]
        matrix = [[m_value * s for s in shares] for m_value in month_values]
    # each month is split to the cent so it adds up exactly; each rep's total is the rounded contract
    matrix = [allocate(m_value, row, unit=0.01) if m_value > 0 else [0.0] * len(ids)
              for m_value, row in zip(month_values, matrix, strict=True)]
    monthly = pl.DataFrame(
        [{"rep_id": ids[i], "month": month_list[j], "value": matrix[j][i]}
         for j in range(len(month_list)) for i in range(len(ids))],
        schema={"rep_id": pl.String, "month": pl.Date, "value": pl.Float64},
    )
    table = pl.DataFrame(
        {"rep_id": ids, "name": names, "hire_date": reps["hire_date"].to_list(), "basis": [float(b) for b in basis],
         "share": [ratio_or_none(v, parent) or 0.0 for v in values], "value": [float(v) for v in values]},
        schema={"rep_id": pl.String, "name": pl.String, "hire_date": pl.Date, "basis": pl.Float64,
                "share": pl.Float64, "value": pl.Float64},
    )
    return TeamSplit(table, monthly, notes)


def _capacity(rep: dict, month: date, ramp_months: int) -> float:
    """A rep's capacity in a month: the ramp factor while employed, 0 outside employment."""
    hire, leave = rep.get("hire_date"), rep.get("leave_date")
    if (leave is not None and leave < month) or (hire is not None and hire > month_end(month)):
        return 0.0
    return ramp_factor(hire, month, linear_ramp(ramp_months))


def _history_rates(reps: pl.DataFrame, start: date | None, end: date | None) -> tuple[list[float], list[str]]:
    """Bookings per month worked for each rep; reps with none get the average of the others."""
    rates: list[float | None] = []
    for r in reps.iter_rows(named=True):
        worked = months_employed(r["hire_date"], r.get("leave_date"), start, end) if start and end else 12
        hist = float(r.get("history_bookings") or 0.0)
        rates.append(hist / worked if worked > 0 and hist > 0 else None)
    missing = [n for n, rate in zip(reps["name"].to_list(), rates, strict=True) if rate is None]
    known = [x for x in rates if x is not None]
    fill = sum(known) / len(known) if known else 1.0
    return [x if x is not None else fill for x in rates], missing


def plan_rows(team: str, months: pl.DataFrame, split: TeamSplit | None, metric: str = "bookings") -> pl.DataFrame:
    """Target rows (the targets table's columns) for a team's monthly plan and, if given, its reps' months."""
    rows = [
        {"owner_type": "team", "owner_id": team, "period_start": m, "period_end": month_end(m), "metric": metric,
         "value": float(v)}
        for m, v in months.select("month", "value").iter_rows()
    ]
    if split is not None:
        rows += [
            {"owner_type": "rep", "owner_id": r, "period_start": m, "period_end": month_end(m), "metric": metric,
             "value": float(v)}
            for r, m, v in split.monthly.select("rep_id", "month", "value").iter_rows()
        ]
    return pl.DataFrame(rows, schema={"owner_type": pl.String, "owner_id": pl.String, "period_start": pl.Date,
                                      "period_end": pl.Date, "metric": pl.String, "value": pl.Float64})
