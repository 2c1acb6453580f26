"""The one forecast: bookings expected to close won within the period, learned from what was known at the time.

Every page, command and pack that shows a forecast calls `model_forecast` (or reads its result), so they all
show the same number for the same filters. See docs/FORECAST.md for the model, its backtest and its limits.

The model, in short:
- Learning rows: every deal open at each published snapshot, as the snapshot held it (stage, amount, expected
  close date, forecast category, close-date pushes so far), labelled "won within that snapshot's quarter"
  (stored once per snapshot: the derived table forecast_history). A store with no snapshot of a past quarter
  but with stage history learns from past weeks rebuilt from it instead (forecast_rebuilt_by_deal).
- Each deal's chance is a cell of a tree of features (stage > segment > weeks left > expected close vs. the
  period > pushes > age > owner), learned by value, each cell's rate shrunk toward its parent's:
  (wins + k x parent) / (n + k), k chosen from PRIORS by the backtest of the quarters before.
  A thin cell (a new owner, a rare segment) says little more than its parent, ending at the organisation's.
- The quarter of the year: each chance is scaled by the quarter's level (at most to 1), what the model missed in the
  same quarter of earlier years (won / expected, each such quarter held out of the fit that scores it), moved toward
  1 by a credibility weight n / (n + 1) for n such quarters seen (Season).
- Forecast = closed so far + sum(amount x chance) over open deals + new business: what deals not yet open
  at the same week of past periods went on to book in them (their mean).
- The 80% range comes from the model's own past relative errors at the same week of past periods (a symmetric
  split-conformal band, pooling neighbouring weeks when the errors are too few; none when still too few), and
  its coverage is how often past actuals fell inside such a range.
- Only periods before the one forecast are learned from. With fewer than MIN_PERIODS of them: a fallback
  (the dataset's stage probabilities) and no range.
Pure functions first (frames in, frames out), then the part that runs the named queries.
"""

from __future__ import annotations

import math
import threading
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import date, timedelta
from functools import cached_property
from typing import Protocol, TypeVar

import polars as pl

from saleslens.core import settings, store
from saleslens.core.filters import Filters
from saleslens.core.periods import add_months, quarter_bounds

LEVELS = ("stage", "segment", "horizon", "week", "close", "pushed", "age", "owner_id")  # coarse to fine
# A past week rebuilt from stage history does not know the expected close date or its pushes that day: the model
# learned from it leaves those levels out rather than learn from a guess
REBUILT_LEVELS = tuple(level for level in LEVELS if level not in ("close", "pushed"))
SNAPSHOTS, STAGE_HISTORY = "snapshots", "stage_history"  # where the past pipeline comes from
PRIOR = 20.0  # shrinkage strength k: a cell's own rate counts fully only once it has many more rows than k
# the strengths the backtest chooses k from, on earlier quarters only (PRIOR until two quarters were backtested)
PRIORS = (5.0, 20.0, 80.0)
# How a learning row counts in a cell's rate: by its value (amount / mean amount: the rate is the share of value won)
# or as one deal (the share of deals won). By value a few large deals move a cell's rate; by count they do not, and
# the forecast still weighs each open deal by its amount. Which one is chosen by the backtest, with k.
VALUE, COUNT = "value", "count"
WEIGHTINGS = (VALUE, COUNT)
MIN_PERIODS = 2  # past periods the model needs before it replaces the fallback and shows a range
RANGE_WEEKS = 2  # at most this many weeks either side of today's week are pooled when past errors are too few
# The conformal level of the range's radius: the range's own 80%. (Until the fourth round it was 0.9, because the
# pooled neighbouring weeks of one quarter err alike and the coarser model's ranges at 0.8 covered single weeks as
# rarely as 1 in 4; the model with a cell per week left errs less alike, and at 0.9 its ranges covered 92-98% of
# past outcomes on five of six S seeds, too wide; at 0.8 72-94% on S and 79-81% on M: docs/FORECAST.md)
RANGE_LEVEL = 0.80
HORIZON_WEEKS = (2, 5, 9)  # weeks-left buckets: 0-2, 3-5, 6-9, 10+
# Within a bucket each week left has its own cell, shrunk toward the bucket's: the chance of closing by quarter end
# falls week by week, and with buckets alone the forecast ran low at each bucket's first week and high at its last
# (a saw-tooth in the backtest's bias, docs/FORECAST.md). From this many weeks left on, one cell.
WEEK_CELLS = 10
AGE_DAYS = (30, 90, 180)  # deal-age buckets in days since created
# A past quarter counts as wholly seen for the seasonal level once it has this many weekly snapshots (a quarter has
# 13 or 14); one seen for three weeks (the first quarter of a store) counts 3/13
QUARTER_WEEKS = 13
RATIO_BOUNDS = (0.25, 4.0)  # the quarter-of-year ratio before weighting: at most a quarter or four times the chances
# New business grows with the pipeline being made: a deal open on a day and created at most this many days before it
# is young pipeline, and new business is scaled by today's young pipeline over that of the past days it is averaged
# from (within GROWTH_BOUNDS, so one burst of deals cannot more than double it, nor a lull halve it)
YOUNG_DAYS = 91
GROWTH_BOUNDS = (0.5, 2.0)
FALLBACK = "stage_default"  # the fallback's name: closed + open pipeline due x the dataset's stage probability
BASELINES = ("commit", "weighted", "last_year")
NONE = "(none)"
# Why an Outcome has no range: too few past quarters for the model (the fallback), too few past errors near this
# week for the conformal rule, or a period that is not the snapshot's quarter (What-if): see Outcome.no_range
# week for the conformal rule, a period that is not the snapshot's quarter (What-if), or a rebuilt history too large
# to learn from in memory (the forecast_max_learning_rows setting)
FEW_PERIODS, FEW_ERRORS, OTHER_PERIOD, TOO_LARGE = "few_periods", "few_errors", "other_period", "too_large"
NO_RANGE_KEYS = {FEW_PERIODS: "targets.tile.no_range", FEW_ERRORS: "targets.tile.no_range_errors",
                 OTHER_PERIOD: "targets.tile.no_range_period", TOO_LARGE: "targets.tile.no_range_large"}
K = TypeVar("K")  # a candidate the backtest chooses among: a k, or a Fit


# ---------------------------------------------------------------- periods and features


def period_of(day: date) -> tuple[date, date]:
    """The quarter a day belongs to: the forecast's period."""
    return quarter_bounds(day)


def weeks_left(as_of: date, end: date) -> int:
    """Whole weeks from a day to the period's last day: 0 in the last week, 12 or 13 in the first."""
    return max((end - as_of).days, 0) // 7


def _quarter_start(col: str) -> pl.Expr:
    """The first day of the quarter of a date column."""
    c = pl.col(col)
    return pl.date(c.dt.year(), (c.dt.month() - 1) // 3 * 3 + 1, 1)


def _bucket(expr: pl.Expr, edges: Sequence[int], unit: str) -> pl.Expr:
    """A number as a labelled bucket: '<=e0', '<=e1', ... and '>eN'."""
    out = pl.lit(f">{edges[-1]}{unit}")
    for edge in reversed(edges):
        out = pl.when(expr <= edge).then(pl.lit(f"<={edge}{unit}")).otherwise(out)
    return out


def add_features(rows: pl.DataFrame) -> pl.DataFrame:
    """The model's features of open deals at a day: rows need as_of, period_end, stage, created_date,
    expected_close_date, pushes, segment and owner_id."""
    ecd, as_of, end = pl.col("expected_close_date"), pl.col("as_of"), pl.col("period_end")
    days_left = (end - as_of).dt.total_days()
    close = (pl.when(ecd.is_null()).then(pl.lit("none"))
             .when(ecd < as_of).then(pl.lit("overdue"))
             .when(ecd <= end).then(pl.lit("due"))
             .otherwise(pl.lit("later")))
    pushes = pl.col("pushes").fill_null(0)
    return rows.with_columns(
        _bucket(days_left // 7, HORIZON_WEEKS, "w").alias("horizon"),
        pl.when(days_left // 7 >= WEEK_CELLS).then(pl.lit(f"{WEEK_CELLS}+w"))
        .otherwise((days_left // 7).cast(pl.String) + "w").alias("week"),
        close.alias("close"),
        pl.when(pushes >= 2).then(pl.lit("2+")).otherwise(pushes.cast(pl.String)).alias("pushed"),
        _bucket((as_of - pl.col("created_date")).dt.total_days(), AGE_DAYS, "d").alias("age"),
        pl.col("segment").fill_null(NONE), pl.col("owner_id").fill_null(NONE), pl.col("stage").fill_null(NONE),
    )


# ---------------------------------------------------------------- learning


@dataclass(frozen=True, order=True)
class Fit:
    """How a model is fit: each learning row weighed by value or counted as one deal, and the shrinkage strength k."""

    weighting: str = VALUE
    prior: float = PRIOR


DEFAULT_FIT = Fit()  # until two quarters were backtested there is too little to choose on
FITS = tuple(Fit(w, k) for w in WEIGHTINGS for k in PRIORS)  # what the backtest chooses from


@dataclass(frozen=True)
class Model:
    """Shrunk win-within-period rates: the overall rate and one table per level of the feature tree."""

    root: float
    levels: tuple[str, ...]
    tables: tuple[pl.DataFrame, ...]  # level j: the first j+1 features, n, wins, parent, p
    rows: int
    periods: int


def cells_of(train: pl.DataFrame, levels: Sequence[str] = LEVELS) -> pl.DataFrame:
    """Learning rows summed per period and finest cell: rows, rows won, value and value won (all fit needs).

    Fitting on any set of periods then sums a few thousand cells instead of grouping every learning row again,
    which is what makes a backtest of one fit per past period cheap.
    """
    amount = pl.col("amount").cast(pl.Float64).fill_null(0.0)
    won = pl.col("won").cast(pl.Float64)
    keys = (["period_start"] if "period_start" in train.columns else []) + list(levels)
    # a lazy plan reads only the key and value columns and never makes the casts as whole columns: at L (a million
    # learning rows, 420,000 cells) it peaks 160 MB above the rows instead of 520 MB, and is faster, same sums
    return train.lazy().group_by(keys).agg(
        pl.len().cast(pl.Float64).alias("rows"), won.sum().alias("won_rows"), amount.sum().alias("value"),
        (amount * won).sum().alias("won_value")).collect()


def fit(train: pl.DataFrame, levels: Sequence[str] = LEVELS, prior: float = PRIOR, weighting: str = VALUE) -> Model:
    """Learn each cell's chance of winning within the period, shrunk toward its parent cell.

    train: the feature columns, amount and won (bool: won within the period of its row). By VALUE each row weighs
    amount / mean amount, so a cell's rate is the share of its value that was won (big deals that win less
    weigh more, as they do in the forecast) and its size n is in average deals; by COUNT each row weighs 1 (the
    share of deals won, which a few large deals cannot swing). At each level a cell's rate
    is (won weight + prior x parent rate) / (n + prior); the first level's parent is the overall rate.
    """
    return fit_cells(cells_of(train, levels), levels, prior, weighting)


SUMMED = ("rows", "won_rows", "value", "won_value")  # what cells_of sums, and a fit needs


@dataclass(frozen=True)
class Sums:
    """Some periods' learning cells summed at each level of the tree: all a fit needs, whatever its k and weighting,
    so the backtest's six candidate fits of one quarter sum its earlier quarters' cells once."""

    levels: tuple[str, ...]
    tables: tuple[pl.DataFrame, ...]  # level j: the first j+1 features and the SUMMED columns
    rows: float
    value: float
    periods: int


def sums_of(cells: pl.DataFrame, levels: Sequence[str] = LEVELS) -> Sums:
    """Sums of cells_of() rows (of any set of periods); each coarser level summed from the finer one."""
    levels = tuple(levels)
    periods = cells["period_start"].n_unique() if "period_start" in cells.columns else 0
    if not cells.height or not levels:
        return Sums(levels, tuple(), 0.0, 0.0, periods)
    tables = [cells.group_by(list(levels)).agg(pl.col(c).sum() for c in SUMMED)]
    for j in range(len(levels) - 1, 0, -1):
        tables.append(tables[-1].group_by(list(levels[:j])).agg(pl.col(c).sum() for c in SUMMED))
    return Sums(levels, tuple(reversed(tables)), float(cells["rows"].sum()), float(cells["value"].sum()), periods)


def fit_cells(cells: pl.DataFrame, levels: Sequence[str] = LEVELS, prior: float = PRIOR,
              weighting: str = VALUE) -> Model:
    """fit() from cells_of() rows (of any set of periods): the same model as fitting their learning rows."""
    return fit_sums(sums_of(cells, levels), prior, weighting)


def fit_sums(sums: Sums, prior: float = PRIOR, weighting: str = VALUE) -> Model:
    """fit_cells() from the cells' Sums."""
    if sums.rows == 0:
        return Model(0.0, sums.levels, tuple(), 0, 0)
    mean = sums.value / sums.rows or 1.0
    # by value, weights amount / mean: a cell's n is its value / mean and its wins its value won / mean (counted, or
    # a negative mean: every row weighs 1)
    by_value = weighting == VALUE and mean > 0
    n, wins = (pl.col("value") / mean, pl.col("won_value") / mean) if by_value else (pl.col("rows"),
                                                                                    pl.col("won_rows"))
    first = sums.tables[0]
    total = float(first.select(n.sum()).item())
    root = float(first.select(wins.sum()).item()) / total if total > 0 else 0.0
    tables: list[pl.DataFrame] = []
    for j, summed in enumerate(sums.tables):
        keys = list(sums.levels[: j + 1])
        level = summed.select(*keys, n.alias("n"), wins.alias("wins"))
        if j == 0:
            level = level.with_columns(pl.lit(root).alias("parent"))
        else:
            above = tables[-1].select(*keys[:-1], pl.col("p").alias("parent"))
            level = level.join(above, on=keys[:-1], how="left")
        level = level.with_columns(((pl.col("wins") + prior * pl.col("parent")) / (pl.col("n") + prior)).alias("p"))
        tables.append(level)
    return Model(root, sums.levels, tuple(tables), int(sums.rows), sums.periods)


def predict(model: Model, rows: pl.DataFrame) -> pl.DataFrame:
    """Rows with `probability`: the deepest learned cell each row falls in (a cell never seen keeps its parent's)."""
    frame = rows.with_columns(pl.lit(model.root).alias("probability"))
    for j, table in enumerate(model.tables):
        keys = list(model.levels[: j + 1])
        frame = frame.join(table.select(*keys, pl.col("p").alias("_p")), on=keys, how="left",
                           maintain_order="left")
        frame = frame.with_columns(pl.coalesce("_p", "probability").alias("probability")).drop("_p")
    return frame


# ---------------------------------------------------------------- the quarter of the year


@dataclass(frozen=True)
class Season:
    """The quarter-of-year level of one quarter: a scale on its open deals' chances, learned from earlier quarters.

    ratio: value won within the quarter ÷ the value the model expected, over the earlier quarters of the same quarter
    of the year, each scored by a model fit on the other earlier quarters (held out, so the ratio is what the model
    missed there); quarters: how much of them was seen (weekly snapshots ÷ QUARTER_WEEKS, each at most 1); level =
    ratio ** weight with the credibility weight quarters ÷ (quarters + 1).
    """

    ratio: float | None = None
    quarters: float = 0.0

    @property
    def weight(self) -> float:
        """How far the level moves toward the ratio: n / (n + 1) for n quarters seen (0.5 for one, 2/3 for two).

        The credibility weight with the variance ratio 1: last year's same quarter is one observation of a level that
        is assumed to vary from year to year as much as it repeats, so one such quarter moves it half-way.
        """
        return self.quarters / (self.quarters + 1.0)

    @property
    def level(self) -> float:
        """The scale on the open deals' chances (1 with no earlier quarter of the same quarter of the year).

        The ratio is bounded to [1/4, 4] first: a same quarter that won nothing (ratio 0) or almost nothing of a small
        expected value must not wipe out this quarter's open deals, nor one large win in a thin quarter multiply them.
        """
        if self.ratio is None:
            return 1.0
        return min(max(self.ratio, RATIO_BOUNDS[0]), RATIO_BOUNDS[1]) ** self.weight


def season_of(cells: pl.DataFrame, levels: Sequence[str], calendar: pl.DataFrame, period: date,
              prior: float = PRIOR) -> Season:
    """The quarter-of-year level of `period` from the learning cells of the quarters before it only.

    Each earlier quarter that starts in the same month (the same quarter of the year) is scored by a model fit on the
    other earlier quarters; its value won within the quarter and its expected value are summed. calendar: the snapshot
    days (how many weeks of each quarter were seen). A quarter with no other earlier quarter to fit on is skipped.
    """
    earlier = sorted(p for p in cells["period_start"].unique().to_list() if p < period)
    won = expected = seen = 0.0
    for same in (p for p in earlier if p.month == period.month):
        others = [p for p in earlier if p != same]
        if not others:
            continue
        model = fit_cells(cells.filter(pl.col("period_start").is_in(others)), levels, prior)
        scored = predict(model, cells.filter(pl.col("period_start") == same))
        value = float((scored["value"] * scored["probability"]).sum())
        if value <= 0:
            continue
        won += float(scored["won_value"].sum())
        expected += value
        weeks = calendar.filter(pl.col("period_start") == same).height
        seen += min(weeks / QUARTER_WEEKS, 1.0)
    return Season(won / expected, seen) if expected > 0 else Season()


def seasons_of(cells: pl.DataFrame, levels: Sequence[str], calendar: pl.DataFrame) -> dict[date, Season]:
    """season_of every quarter of the calendar that has MIN_PERIODS earlier quarters to learn from."""
    periods = sorted(calendar["period_start"].unique().to_list())
    return {p: season_of(cells, levels, calendar, p) for i, p in enumerate(periods) if i >= MIN_PERIODS}


def with_season(deals: pl.DataFrame, level: float) -> pl.DataFrame:
    """Open deals with their chance scaled by the quarter's level, at most 1 (a scale of 1 changes nothing)."""
    if level == 1.0 or deals.is_empty():
        return deals
    return deals.with_columns((pl.col("probability") * level).clip(upper_bound=1.0).alias("probability"))


# ---------------------------------------------------------------- what each past day knew and what came of it


def label(points: pl.DataFrame) -> pl.DataFrame:
    """Learning rows with their period and outcome: won = won, closed by the last day of the row's quarter."""
    frame = points.with_columns(_quarter_start("as_of").alias("period_start"))
    frame = frame.with_columns(
        (pl.col("period_start").dt.offset_by("3mo") - pl.duration(days=1)).alias("period_end"),
    )
    won = (pl.col("final_status") == "won") & (pl.col("final_close_date") <= pl.col("period_end"))
    return add_features(frame.with_columns(won.fill_null(False).alias("won")))


def point_facts(points: pl.DataFrame, wins: pl.DataFrame, days: Sequence[date]) -> pl.DataFrame:
    """Per day and owner: closed so far in the day's quarter, and the later bookings from deals not open that day.

    points: as_of, opportunity_id (the deals open each day); wins: opportunity_id, owner_id, close_date, amount.
    closed: won in the quarter up to the day; new: won after the day and by quarter end, by deals that were not
    open that day (created later, or not in that day's snapshot). Owners with neither get no row.
    """
    pts = pl.DataFrame({"as_of": list(days)}, schema={"as_of": pl.Date}).with_columns(
        _quarter_start("as_of").alias("period_start"))
    w = wins.with_columns(_quarter_start("close_date").alias("period_start"))
    j = pts.join(w, on="period_start", how="inner")
    # only the won deals' days matter: the others never meet a win in the join (at L a fifth of the rows to dedupe)
    was_open = points.select("as_of", "opportunity_id").join(
        wins.select("opportunity_id"), on="opportunity_id", how="semi").unique().with_columns(
        pl.lit(True).alias("was_open"))
    j = j.join(was_open, on=["as_of", "opportunity_id"], how="left").with_columns(pl.col("was_open").fill_null(False))
    closed = pl.col("close_date") <= pl.col("as_of")
    return j.group_by("as_of", "period_start", "owner_id").agg(
        pl.col("amount").filter(closed).sum().alias("closed"),
        pl.col("amount").filter(~closed & ~pl.col("was_open")).sum().alias("new"),
    ).sort("as_of", "owner_id")


def same_week_days(calendar: pl.DataFrame, periods: Sequence[date], week: int) -> pl.DataFrame:
    """as_of of the snapshot day nearest `week` weeks before the end of each of `periods` (the earliest on a tie)."""
    days = calendar.filter(pl.col("period_start").is_in(list(periods)))
    if days.is_empty():
        return pl.DataFrame(schema={"as_of": pl.Date})
    days = days.with_columns((pl.col("weeks_left") - week).abs().alias("_d")).sort("period_start", "_d", "as_of")
    return days.group_by("period_start").first().select("as_of")


def new_business(facts: pl.DataFrame, calendar: pl.DataFrame, periods: Sequence[date], week: int,
                 scale: float = 1.0) -> pl.DataFrame:
    """Expected bookings from deals not yet open, per owner: the mean over past periods at the same week, x scale.

    calendar: as_of, period_start, weeks_left of every snapshot day; facts: point_facts. For each past period
    the day nearest `week` weeks before its end is used; an owner with nothing in a period counts 0 there, so
    the owners' values add up to the group's mean. scale: growth() (one factor for every owner, so they still add up).
    """
    schema = {"owner_id": pl.String, "new": pl.Float64}
    chosen = same_week_days(calendar, periods, week)
    picked = facts.join(chosen, on="as_of", how="semi") if chosen.height else facts.clear()
    if picked.is_empty():
        return pl.DataFrame(schema=schema)
    return picked.group_by("owner_id").agg((pl.col("new").sum() / chosen.height * scale).alias("new")).sort("owner_id")


def young_pipeline(rows: pl.DataFrame) -> pl.DataFrame:
    """Per snapshot day: the value of the open deals created at most YOUNG_DAYS before it (as_of, young).

    How fast pipeline was being made then: the deals that will book as new business later in a quarter come from the
    same making, so its growth is theirs. rows: learning rows (as_of, created_date, amount).
    """
    recent = pl.col("created_date") > pl.col("as_of") - pl.duration(days=YOUNG_DAYS)
    return rows.lazy().filter(recent).group_by("as_of").agg(
        pl.col("amount").cast(pl.Float64).fill_null(0.0).sum().alias("young")).collect()


def growth(young: pl.DataFrame, calendar: pl.DataFrame, periods: Sequence[date], week: int, day: date) -> float:
    """New business's scale on `day`: its young pipeline over the mean of the past days new_business averages, within
    GROWTH_BOUNDS (a day without young deals has none: the lower bound); 1 when the past days had none (nothing to
    compare with) or there are no past days."""
    chosen = same_week_days(calendar, periods, week)
    if chosen.is_empty():
        return 1.0
    past = float(chosen.join(young, on="as_of", how="left")["young"].fill_null(0.0).mean() or 0.0)
    if past <= 0:
        return 1.0
    now = young.filter(pl.col("as_of") == day)["young"]
    return min(max(float(now[0]) if now.len() else 0.0, GROWTH_BOUNDS[0] * past), GROWTH_BOUNDS[1] * past) / past


def calendar_of(days: Sequence[date]) -> pl.DataFrame:
    """Snapshot days with their quarter and the weeks left to its end."""
    frame = pl.DataFrame({"as_of": sorted(set(days))}, schema={"as_of": pl.Date})
    frame = frame.with_columns(_quarter_start("as_of").alias("period_start"))
    frame = frame.with_columns((pl.col("period_start").dt.offset_by("3mo") - pl.duration(days=1)).alias("period_end"))
    return frame.with_columns(((pl.col("period_end") - pl.col("as_of")).dt.total_days() // 7).alias("weeks_left"))


# ---------------------------------------------------------------- one forecast


@dataclass(frozen=True)
class Outcome:
    """The model's forecast for a group at one day: its parts, its range and where it came from."""

    as_of: date
    period_start: date
    period_end: date
    closed: float
    from_open: float  # sum(amount x chance) over open deals
    new: float  # expected from deals not open yet
    method: str  # model or the fallback's name
    periods: int  # past periods learned from
    low: float | None = None  # the 80% range; None when there are too few past errors
    high: float | None = None
    coverage: float | None = None  # share of past actuals inside their own range at this week
    errors: int = 0  # past errors the range comes from
    deals: pl.DataFrame = field(default_factory=pl.DataFrame)  # open deals with probability and expected
    learned_from: str = SNAPSHOTS  # SNAPSHOTS, or STAGE_HISTORY: past weeks rebuilt from stage changes
    prior: float = PRIOR  # the shrinkage strength k, chosen by the backtest of earlier quarters
    new_growth: float = 1.0  # the factor on new business: the young pipeline's growth (see growth)
    weighting: str = VALUE  # learning rows weighed by value or counted, chosen with k
    season: Season = field(default_factory=Season)  # the quarter-of-year level on the open deals' chances
    by_owner: pl.DataFrame = field(default_factory=pl.DataFrame)  # owner_id, closed, from_open, new, forecast
    no_range: str | None = None  # why there is no range: FEW_PERIODS, FEW_ERRORS or OTHER_PERIOD; None with one

    @property
    def expected(self) -> float:
        """The point forecast: closed + open deals' expected + new business."""
        return self.closed + self.from_open + self.new

    @property
    def no_range_key(self) -> str:
        """The text key (saleslens/targets/strings.toml) saying why there is no range; the fewest-quarters one when
        the reason is not known."""
        return NO_RANGE_KEYS.get(self.no_range or FEW_PERIODS, NO_RANGE_KEYS[FEW_PERIODS])

    @property
    def week(self) -> int:
        """Weeks before the period's end."""
        return weeks_left(self.as_of, self.period_end)


def with_names(deals: pl.DataFrame, names: pl.DataFrame) -> pl.DataFrame:
    """Open deals with the names shown beside them (owner_name, team, region, account_name; forecast_names_by_deal),
    right after current_owner_id: the learning rows carry only what the model reads."""
    cols = [c for c in NAME_COLUMNS if c not in deals.columns]
    if not cols:
        return deals
    joined = deals.join(names.select("opportunity_id", *cols), on="opportunity_id", how="left",
                        maintain_order="left")
    at = deals.columns.index("current_owner_id") + 1 if "current_owner_id" in deals.columns else len(deals.columns)
    return joined.select(*deals.columns[:at], *cols, *deals.columns[at:])


def _due(rows: pl.DataFrame) -> pl.Expr:
    """Open deals the reps expect in the period: expected close in it or overdue within it, or none given."""
    return pl.coalesce("expected_close_date", "period_end").is_between(pl.col("period_start"), pl.col("period_end"))


def fallback_expected(rows: pl.DataFrame) -> pl.DataFrame:
    """The fallback's chance per open deal: the dataset's stage probability for deals due in the period, else 0."""
    return rows.with_columns(
        pl.when(_due(rows)).then(pl.col("stage_probability").fill_null(0.0)).otherwise(0.0).alias("probability"))


def by_owner(deals: pl.DataFrame, closed: pl.DataFrame, new: pl.DataFrame) -> pl.DataFrame:
    """Per owner: closed so far, expected from open deals, new business and their sum."""
    parts = [
        closed.select("owner_id", pl.col("closed").cast(pl.Float64), pl.lit(0.0).alias("from_open"),
                      pl.lit(0.0).alias("new")),
        deals.group_by(pl.col("current_owner_id").alias("owner_id")).agg(
            pl.lit(0.0).alias("closed"), pl.col("expected").sum().alias("from_open"), pl.lit(0.0).alias("new")),
        new.select("owner_id", pl.lit(0.0).alias("closed"), pl.lit(0.0).alias("from_open"), pl.col("new")),
    ]
    out = pl.concat([p.cast({"closed": pl.Float64, "from_open": pl.Float64, "new": pl.Float64}) for p in parts])
    out = out.group_by("owner_id").agg(pl.col("closed").sum(), pl.col("from_open").sum(), pl.col("new").sum())
    return out.with_columns((pl.col("closed") + pl.col("from_open") + pl.col("new")).alias("forecast")).sort(
        "owner_id")


def conformal_radius(scores: Sequence[float], level: float = RANGE_LEVEL) -> float | None:
    """The split-conformal radius: the ceil((n+1) x level)-th smallest of n absolute errors, or None when that
    rank is beyond n (too few errors for the level: then there is no honest range).

    For exchangeable errors a band of this radius holds the next outcome with probability at least `level`; unlike
    an interpolated percentile it does not narrow when errors are few.
    """
    ordered = sorted(abs(s) for s in scores)
    rank = math.ceil((len(ordered) + 1) * level)
    return ordered[rank - 1] if 1 <= rank <= len(ordered) else None


def error_range(forecast: float, past: pl.DataFrame, week: int, before: date,
                closed: float = 0.0) -> tuple[float | None, float | None, int]:
    """The 80% range from past relative errors: forecast x (1 -/+ r), r the conformal radius of |actual/forecast - 1|.

    past: backtest rows (period_start, weeks_left, forecast, actual) of the model. Only periods before `before`
    count, and fewer than MIN_PERIODS of them give no range. The errors are those at the same week of those
    periods; when they are too few for the radius, those within 1, then RANGE_WEEKS weeks (pooled neighbours);
    still too few: no range. The low end is never below `closed` (what has closed won already stays booked).
    Returns low, high and the number of errors used.
    """
    earlier = past.filter((pl.col("period_start") < before) & (pl.col("forecast") > 0) & pl.col("actual").is_not_null())
    if earlier["period_start"].n_unique() < MIN_PERIODS:
        return None, None, 0
    n = 0
    for reach in range(RANGE_WEEKS + 1):
        near = earlier.filter((pl.col("weeks_left") - week).abs() <= reach)
        n = near.height
        radius = conformal_radius((near["actual"] / near["forecast"] - 1.0).to_list())
        if radius is not None:
            # the actual is never below what has closed already: neither is the range
            return max(forecast * (1.0 - radius), closed, 0.0), forecast * (1.0 + radius), n
    return None, None, n


# ---------------------------------------------------------------- backtest


def _baselines(rows: pl.DataFrame, closed: float, last_year_share: float | None) -> dict[str, float | None]:
    """The three naive forecasts at a day: closed + commit; stage-weighted pipeline; last year's pace."""
    due = rows.filter(_due(rows)) if rows.height else rows
    commit = float(due.filter(pl.col("forecast_category") == "commit")["amount"].sum()) if due.height else 0.0
    weighted = float((due["amount"] * due["stage_probability"].fill_null(0.0)).sum()) if due.height else 0.0
    return {"commit": closed + commit, "weighted": closed + weighted,
            "last_year": closed / last_year_share if last_year_share else None}


def _outcome_variance() -> pl.Expr:
    """sum amount^2 x p x (1 - p) over rows with amount and probability: outcome_spread's square."""
    p = pl.col("probability").fill_null(0.0).clip(0.0, 1.0)
    return (pl.col("amount").fill_null(0.0) ** 2 * p * (1.0 - p)).sum()


def outcome_spread(amounts: pl.Series, chances: pl.Series) -> float:
    """The standard deviation of what open deals book if each closes won with exactly its chance, independently:
    sqrt(sum amount^2 x p x (1 - p))."""
    frame = pl.DataFrame({"amount": amounts.cast(pl.Float64), "probability": chances.cast(pl.Float64)})
    return math.sqrt(float(frame.select(_outcome_variance()).item()))


def noise_floor(forecast: float, spread: float) -> float | None:
    """The mean absolute percentage error a model whose every chance were exactly right would still have, from the
    open deals' chance alone: E|X - mean| of a normal of that spread, sqrt(2 / pi) x spread, over the forecast.
    None for a forecast of nothing. (New business varies too: the true floor is higher.)"""
    return math.sqrt(2.0 / math.pi) * spread / forecast if forecast > 0 else None


def last_year_share(wins: pl.DataFrame, as_of: date) -> float | None:
    """Share of the same quarter a year earlier's bookings closed by the same day of that quarter."""
    q_start, _ = period_of(as_of)
    ly_start = add_months(q_start, -12)
    ly_end = add_months(q_start, -9) - timedelta(days=1)
    ly_day = ly_start + timedelta(days=(as_of - q_start).days)
    if wins.is_empty() or wins["close_date"].min() > ly_start:
        return None  # no full year-ago quarter in the data
    q = wins.filter(pl.col("close_date").is_between(ly_start, ly_end))
    total = float(q["amount"].sum())
    if total <= 0:
        return None
    return float(q.filter(pl.col("close_date") <= ly_day)["amount"].sum()) / total


def backtest(fit_rows: pl.DataFrame, rows: pl.DataFrame, calendar: pl.DataFrame, facts: pl.DataFrame,
             wins: pl.DataFrame, complete_before: date, prior: float = PRIOR,
             cells: pl.DataFrame | None = None, levels: Sequence[str] = LEVELS,
             fit_of: dict[date, Fit] | None = None, ranges: bool = True,
             seasons: dict[date, Season] | None = None, weighting: str = VALUE,
             growth_from: tuple[pl.DataFrame, pl.DataFrame] | None = None) -> pl.DataFrame:
    """For each snapshot day of each complete past period: the model's forecast (fit on earlier periods only, its
    chances scaled by the period's quarter-of-year level), its range, the actual, the three naive baselines at the
    same day, and the noise floor (see noise_floor).

    fit_rows: labelled rows the model learns from (the organisation's); rows, facts, wins: the group's labelled
    rows, point_facts and won deals; calendar: the snapshot days; cells: cells_of(fit_rows, levels) when known;
    levels: the model's; fit_of: the Fit (weighting and k) per period (else `weighting` and `prior`); ranges: add
    with_ranges' columns; seasons: the organisation's seasons_of (else computed from cells and calendar);
    growth_from: the organisation's young pipeline and calendar, which scale new business as the live forecast's do
    (else young_pipeline(fit_rows) and calendar). A period
    with fewer than MIN_PERIODS earlier periods is skipped (there the live forecast is the fallback).
    """
    cells = cells_of(fit_rows, levels) if cells is None else cells
    seasons = seasons_of(cells, levels, calendar) if seasons is None else seasons
    # the organisation's: its growth scales every group's new business
    young, growth_calendar = growth_from if growth_from is not None else (young_pipeline(fit_rows), calendar)
    periods = sorted(p for p in calendar["period_start"].unique().to_list() if p < complete_before)
    actual = wins.with_columns(_quarter_start("close_date").alias("period_start")).group_by("period_start").agg(
        pl.col("amount").sum().alias("actual"))
    out = []
    for i, period in enumerate(periods):
        earlier = periods[:i]
        if len(earlier) < MIN_PERIODS:
            continue
        how = (fit_of or {}).get(period, Fit(weighting, prior))
        model = fit_cells(cells.filter(pl.col("period_start").is_in(earlier)), levels, how.prior, how.weighting)
        season = seasons.get(period, Season()).level
        mine = rows.filter(pl.col("period_start") == period)
        # the model's part per day as with_priors makes it for the other fits: the period's distinct cells scored
        by_day = {day: (o, v) for day, o, v in _by_day(_scored(model, cell_index(mine, levels), season)).iter_rows()}
        got = actual.filter(pl.col("period_start") == period)["actual"]
        act = float(got[0]) if got.len() else 0.0
        for day, week in calendar.filter(pl.col("period_start") == period).select("as_of", "weeks_left").iter_rows():
            closed = float(facts.filter(pl.col("as_of") == day)["closed"].sum())
            scale = growth(young, growth_calendar, earlier, week, day)
            new = float(new_business(facts, calendar, earlier, week, scale)["new"].sum())
            from_open, variance = by_day.get(day, (0.0, 0.0))
            spread = math.sqrt(variance)
            base = _baselines(mine.filter(pl.col("as_of") == day), closed, last_year_share(wins, day))
            out.append({"period_start": period, "as_of": day, "weeks_left": week, "periods_learned": len(earlier),
                        "prior": how.prior, "weighting": how.weighting, "season": season,
                        "closed": closed, "from_open": from_open, "new": new,
                        "forecast": closed + from_open + new, "actual": act, **base,
                        "noise_floor": noise_floor(closed + from_open + new, spread)})
    schema = {"period_start": pl.Date, "as_of": pl.Date, "weeks_left": pl.Int64, "periods_learned": pl.Int64,
              "prior": pl.Float64, "weighting": pl.String, "season": pl.Float64,
              "closed": pl.Float64, "from_open": pl.Float64, "new": pl.Float64, "forecast": pl.Float64,
              "actual": pl.Float64, "commit": pl.Float64, "weighted": pl.Float64, "last_year": pl.Float64,
              "noise_floor": pl.Float64}
    frame = pl.DataFrame(out, schema=schema)
    return with_ranges(frame) if ranges else frame


@dataclass(frozen=True)
class CellIndex:
    """A period's learning rows keyed by their feature cell, so each fit scores the period's distinct cells and
    gathers the chances back to its rows, instead of joining every row with every level's table."""

    cells: pl.DataFrame  # the distinct cells (the levels' values); row i is cell i
    rows: pl.DataFrame  # as_of, amount and _cell (the row's cell) of each learning row


def cell_index(rows: pl.DataFrame, levels: Sequence[str]) -> CellIndex:
    """CellIndex of one period's labelled learning rows (as_of, amount and the levels' columns)."""
    distinct = rows.select(levels).unique(maintain_order=True).with_row_index("_cell")
    keyed = rows.select("as_of", "amount", *levels).join(distinct, on=list(levels), how="left", nulls_equal=True)
    return CellIndex(distinct.drop("_cell"), keyed.select("as_of", "amount", "_cell"))


def _scored(model: Model, index: CellIndex, level: float) -> pl.DataFrame:
    """A period's learning rows (as_of, amount) with the model's chance, scaled by the level: predict() per cell."""
    chance = with_season(predict(model, index.cells), level)["probability"]
    return index.rows.select("as_of", "amount", chance.gather(index.rows["_cell"]).alias("probability"))


def _by_day(scored: pl.DataFrame) -> pl.DataFrame:
    """Per day: the open deals' sum(amount x chance) and the variance of their outcome (noise_floor's)."""
    return scored.group_by("as_of").agg((pl.col("amount") * pl.col("probability")).sum().alias("_open"),
                                        _outcome_variance().alias("_var"))


def with_prior(bt: pl.DataFrame, cells: pl.DataFrame, rows: pl.DataFrame, levels: Sequence[str],
               prior: float, weighting: str = VALUE) -> pl.DataFrame:
    """Backtest rows (without ranges) with the model's part made again with another k and weighting: per period a fit
    on the earlier periods' cells and the open deals' sum(amount x chance) per day, the chances scaled by the period's
    quarter-of-year level as the backtest scaled them (its `season` column); closed, new business, the actual and the
    baselines do not depend on k and are kept."""
    how = Fit(weighting, prior)
    return with_priors(bt, cells, rows, levels, (how,))[how]


def with_priors(bt: pl.DataFrame, cells: pl.DataFrame, rows: pl.DataFrame, levels: Sequence[str],
                fits: Sequence[Fit]) -> dict[Fit, pl.DataFrame]:
    """with_prior for several fits at once: each period's earlier cells are summed and its rows keyed by cell once
    for all of them, one period at a time (at most one period's sums and keys are held)."""
    periods = sorted(set(cells["period_start"].to_list()))
    season = dict(bt.select("period_start", "season").unique(subset="period_start").iter_rows())
    parts: dict[Fit, list[pl.DataFrame]] = {how: [] for how in fits}
    for period in bt["period_start"].unique().sort().to_list():
        sums = sums_of(cells.filter(pl.col("period_start").is_in([p for p in periods if p < period])), levels)
        index = cell_index(rows.filter(pl.col("period_start") == period), levels)
        for how in fits:
            parts[how].append(_by_day(_scored(fit_sums(sums, how.prior, how.weighting), index, season[period])))
    return {how: _with_model_part(bt, parts[how], how) for how in fits}


def _with_model_part(bt: pl.DataFrame, parts: list[pl.DataFrame], how: Fit) -> pl.DataFrame:
    """Backtest rows with from_open, forecast and noise_floor from per-day parts (_by_day) of the Fit `how`."""
    frame = bt.drop("from_open", "forecast", "noise_floor")
    if parts:
        frame = frame.join(pl.concat(parts), on="as_of", how="left", maintain_order="left")
    else:
        frame = frame.with_columns(pl.lit(None, pl.Float64).alias("_open"), pl.lit(None, pl.Float64).alias("_var"))
    frame = frame.with_columns(pl.col("_open").fill_null(0.0).alias("from_open"), pl.lit(how.prior).alias("prior"),
                               pl.lit(how.weighting).alias("weighting"))
    frame = frame.with_columns((pl.col("closed") + pl.col("from_open") + pl.col("new")).alias("forecast"))
    # noise_floor's formula, per row
    frame = frame.with_columns(pl.when(pl.col("forecast") > 0).then(
        math.sqrt(2.0 / math.pi) * pl.col("_var").fill_null(0.0).sqrt() / pl.col("forecast")).alias("noise_floor"))
    return frame.select(bt.columns)


def mape(bt: pl.DataFrame) -> float | None:
    """Mean absolute percentage error of backtest rows (those with bookings); None when there are none."""
    usable = bt.filter(pl.col("actual") > 0)
    if usable.is_empty():
        return None
    return float(((usable["forecast"] - usable["actual"]).abs() / usable["actual"]).mean())


def choose_prior(by_prior: dict[K, pl.DataFrame], before: date, default: K | float = PRIOR) -> K | float:
    """The candidate (a k, or a Fit) whose backtest erred least (MAPE over all weeks) on the quarters before `before`.

    by_prior: the backtest (same periods and days) with each candidate. Until MIN_PERIODS quarters were
    backtested before `before` there is too little to choose on: `default`. So a quarter's choice never looks at it.
    A tie keeps the first candidate of by_prior's order.
    """
    best: K | float = default
    best_err = math.inf
    for k, bt in by_prior.items():
        earlier = bt.filter(pl.col("period_start") < before)
        if earlier["period_start"].n_unique() < MIN_PERIODS:
            return default
        err = mape(earlier)
        if err is not None and err < best_err:
            best, best_err = k, err
    return best


def with_ranges(frame: pl.DataFrame) -> pl.DataFrame:
    """Backtest rows with each row's range (from errors of earlier periods only) and whether it held the actual."""
    lows, highs = [], []
    for r in frame.iter_rows(named=True):
        lo, hi, _ = error_range(r["forecast"], frame, r["weeks_left"], r["period_start"], r.get("closed") or 0.0)
        lows.append(lo)
        highs.append(hi)
    frame = frame.with_columns(pl.Series("low", lows, pl.Float64), pl.Series("high", highs, pl.Float64))
    inside = (pl.col("actual") >= pl.col("low")) & (pl.col("actual") <= pl.col("high"))
    return frame.with_columns(pl.when(pl.col("low").is_not_null()).then(inside).alias("in_range"))


def summary(bt: pl.DataFrame) -> pl.DataFrame:
    """Per week before period end: periods, MAPE and bias of the model and each baseline, the noise floor and
    range coverage.

    MAPE = mean |forecast - actual| / actual; bias = mean (forecast - actual) / actual (positive = too high);
    noise_floor_mape = mean noise floor (the MAPE even exactly right chances would have; when the rows have it);
    coverage = share of the rows with a range whose actual fell inside it. Periods with no bookings are left out.
    """
    usable = bt.filter(pl.col("actual") > 0)
    if usable.is_empty():
        return pl.DataFrame(schema={"weeks_left": pl.Int64, "periods": pl.UInt32})
    aggs: list[pl.Expr] = [pl.len().alias("periods")]
    for name in ("forecast", *BASELINES):
        err = (pl.col(name) - pl.col("actual")) / pl.col("actual")
        key = "model" if name == "forecast" else name
        aggs += [err.abs().mean().alias(f"{key}_mape"), err.mean().alias(f"{key}_bias")]
        if key == "model" and "noise_floor" in bt.columns:  # beside the model's MAPE: how low it could go
            aggs.append(pl.col("noise_floor").mean().alias("noise_floor_mape"))
    aggs += [pl.col("in_range").drop_nulls().cast(pl.Float64).mean().alias("coverage"),
             pl.col("in_range").drop_nulls().len().alias("ranges")]
    out = usable.group_by("weeks_left").agg(aggs).sort("weeks_left", descending=True)
    best = pl.min_horizontal(*(pl.col(f"{b}_mape").fill_null(math.inf) for b in BASELINES))
    return out.with_columns((pl.col("model_mape") < best).alias("beats_baselines"))


def coverage_at(bt: pl.DataFrame, week: int) -> tuple[float | None, int]:
    """How often past actuals fell inside their own range near this week, and how many ranges that is."""
    near = bt.filter(((pl.col("weeks_left") - week).abs() <= RANGE_WEEKS) & pl.col("in_range").is_not_null())
    if near.is_empty():
        return None, 0
    return float(near["in_range"].cast(pl.Float64).mean()), near.height


def manager_gap(owners: pl.DataFrame, deals: pl.DataFrame, people: pl.DataFrame) -> pl.DataFrame:
    """Per manager: the model's forecast beside the reps' call (closed + commit, + best case) and the gap.

    owners: by_owner; deals: open deals with current_owner_id, forecast_category, amount and the period's due
    flag columns; people: rep_id, manager_id, and name. The reps' call counts deals due in the period only.
    """
    due = deals.filter(_due(deals)) if deals.height else deals
    cats = due.group_by(pl.col("current_owner_id").alias("owner_id")).agg(
        pl.col("amount").filter(pl.col("forecast_category") == "commit").sum().alias("commit"),
        pl.col("amount").filter(pl.col("forecast_category") == "best_case").sum().alias("best_case"),
    ) if due.height else pl.DataFrame(schema={"owner_id": pl.String, "commit": pl.Float64, "best_case": pl.Float64})
    names = people.select(pl.col("rep_id").alias("manager_id"), pl.col("name").alias("manager"))
    frame = owners.join(cats, on="owner_id", how="left").join(
        people.select(pl.col("rep_id").alias("owner_id"), "manager_id"), on="owner_id", how="left")
    frame = frame.with_columns(pl.col("manager_id").fill_null(NONE), pl.col("commit").fill_null(0.0),
                               pl.col("best_case").fill_null(0.0))
    out = frame.group_by("manager_id").agg(
        pl.col("forecast").sum(), pl.col("closed").sum(), pl.col("commit").sum(), pl.col("best_case").sum())
    out = out.join(names, on="manager_id", how="left").with_columns(
        pl.coalesce("manager", "manager_id").alias("manager"),
        (pl.col("closed") + pl.col("commit")).alias("commit_call"),
        (pl.col("closed") + pl.col("commit") + pl.col("best_case")).alias("best_case_call"),
    ).with_columns((pl.col("forecast") - pl.col("commit_call")).alias("gap"))
    return out.select("manager_id", "manager", "closed", "commit_call", "best_case_call", "forecast", "gap").sort(
        "gap", "manager")


# ---------------------------------------------------------------- from the store: the function everyone calls

HISTORY_QUARTERS = 12  # past quarters of snapshots read (three years)
NAME_COLUMNS = ("owner_name", "team", "region", "account_name")  # shown beside the open deals, not learned from
NAMES_QUERY = "forecast_names_by_deal"  # their query
_CACHE: dict[tuple, Outcome] = {}
_CACHE_MAX = 256
# What model_forecast learned on the way, for the page sections that show it (small frames, same keys)
_STAGES: dict[tuple, pl.DataFrame] = {}  # the organisation's stage table, per snapshot and row scope
_BACKTESTS: dict[tuple, pl.DataFrame] = {}  # the backtest behind the range, per snapshot, filters and row scope
_BY_PRIOR: dict[tuple, dict[Fit, pl.DataFrame]] = {}  # the organisation's backtest with each Fit of FITS
# The organisation's History per snapshot and row scope: every group's is taken from it by deal id. Each is big (at L
# a million learning rows, about 150 MB with its cells), so only a few are kept, least recently used first, within
# the forecast_cache_mb setting: the snapshots and scopes being viewed now.
_HISTORIES: dict[tuple, History] = {}
_HISTORIES_MAX = 4
_HISTORIES_LOCK = threading.Lock()


class RunsQueries(Protocol):
    """What the forecast needs from a runner: run a named query, and the snapshot it reads."""

    snapshot: store.Snapshot
    scope: object

    def run(self, name: str, **params: object) -> pl.DataFrame:
        """Run a named query."""


def _deal_params(f: Filters) -> dict[str, list[str]]:
    """Every list filter (org and deal filters) as query parameters."""
    return {k: v for k, v in f.params().items() if k not in ("start", "end")}


@dataclass(frozen=True)
class History:
    """What the store knew at each snapshot day for a group, and what became of it."""

    rows: pl.DataFrame  # labelled learning rows: one per (snapshot day, open deal)
    calendar: pl.DataFrame  # as_of, period_start, period_end, weeks_left per snapshot day
    facts: pl.DataFrame  # point_facts: closed so far and later new business per day and owner
    wins: pl.DataFrame  # won deals: opportunity_id, owner_id, created_date, close_date, amount
    source: str = SNAPSHOTS  # SNAPSHOTS or STAGE_HISTORY (past weeks rebuilt from stage changes)
    levels: tuple[str, ...] = LEVELS  # the model's levels: the features the past pipeline knows
    too_large: int = 0  # the rebuilt rows it would have had when over forecast_max_learning_rows (then today's only)
    # The first day whose rows were read (and facts made); None: every calendar day's. With fewer than MIN_PERIODS past
    # quarters the model learns nothing (the fallback, no backtest), so only today's rows are read.
    rows_from: date | None = None

    @cached_property
    def cells(self) -> pl.DataFrame:
        """cells_of(rows, levels): what every fit on some of its periods sums.

        Made on first use only: a group's are never used (the model learns from the organisation's), nor are any
        while there are too few past quarters for the model (then grouping millions of rows would be wasted).
        """
        return cells_of(self.rows, self.levels)

    @cached_property
    def young(self) -> pl.DataFrame:
        """young_pipeline(rows): the pipeline being made each day, which scales new business (the organisation's)."""
        return young_pipeline(self.rows)

    @cached_property
    def seasons(self) -> dict[date, Season]:
        """seasons_of(cells, levels, calendar): each quarter's quarter-of-year level (the organisation's only)."""
        return seasons_of(self.cells, self.levels, self.calendar)


def _first(as_of: date) -> date:
    """The oldest snapshot day the forecast reads."""
    return add_months(period_of(as_of)[0], -3 * HISTORY_QUARTERS)


def _calls_for(f: Filters, as_of: date) -> list[tuple[str, dict[str, object]]]:
    """The two queries behind one group's history: learning rows, and won deals (a year more, for last year's pace)."""
    first = _first(as_of)
    return [("forecast_points_by_deal", {"first": first, **_deal_params(f)}),
            ("forecast_wins_by_deal", {"start": add_months(first, -12), "end": as_of, **_deal_params(f)})]


def _ids_call(f: Filters) -> tuple[str, dict[str, object]]:
    """The query of a group's deal ids, by which its rows are taken from the organisation's history."""
    return "forecast_deals_by_deal", _deal_params(f)


def calls(f: Filters, as_of: date) -> list[tuple[str, dict[str, object]]]:
    """The queries model_forecast runs for a group (the organisation's won deals, the open deals' names, and the
    group's deal ids when filtered), so a page can run them side by side beforehand.

    Not the learning rows: org_history reads them once per snapshot and scope and keeps them (not the runner), so
    run beforehand at every view they would be read again for nothing, and beside the page's other queries their
    working memory (at L about 500 MB) would add to theirs.
    """
    org = [*_calls_for(Filters(), as_of)[1:], (NAMES_QUERY, {})]
    return org if not any(_deal_params(f).values()) else [*org, _ids_call(f)]


def past_periods(days: Sequence[date], as_of: date) -> int:
    """How many quarters before as_of's have at least one of these days."""
    q_start = period_of(as_of)[0]
    return len({period_of(d)[0] for d in days if d < q_start})


def learns_from(snap: store.Snapshot, as_of: date) -> str:
    """Where the past pipeline comes from: the published snapshots, unless none is from a past quarter and the
    snapshot has stage history to rebuild past weeks from (a CRM export imported once, or weekly since this
    quarter began). Snapshots know more of each past week (expected close date, pushes, category, amount, owner),
    so a store that has them in a past quarter keeps to them."""
    days = [s.as_of for s in store.list_snapshots(snap.data_dir) if _first(as_of) <= s.as_of <= as_of]
    if past_periods(days, as_of) > 0 or not snap.has("stage_changes"):
        return SNAPSHOTS
    return STAGE_HISTORY


def rebuilt_days(as_of: date) -> list[date]:
    """The days a rebuilt history has: as_of and every seventh day before it back to the oldest day read (the same
    days forecast_rebuilt_by_deal returns rows for)."""
    first = _first(as_of)
    return [as_of - timedelta(days=7 * k) for k in range((as_of - first).days // 7 + 1)][::-1]


def history(runner: RunsQueries, f: Filters, as_of: date, source: str | None = None,
            every_day: bool = False) -> History:
    """The group's learning rows, days, point facts and won deals up to `as_of`: from the snapshots, or rebuilt from
    stage history (source: learns_from's answer; the group's must be the organisation's). every_day: the rows of
    every snapshot day even when there are too few past quarters for the model (else today's only)."""
    source = source or learns_from(runner.snapshot, as_of)
    first = _first(as_of)
    (points_name, points_params), (wins_name, wins_params) = _calls_for(f, as_of)
    # Over the limit, only the published snapshots' rows are read (no past quarter among them, or the source would
    # not be STAGE_HISTORY): the stage-probability fallback for today's open deals, saying why.
    too_large = _rebuilt_over_limit(runner, f, first, as_of) if source == STAGE_HISTORY else 0
    if source == STAGE_HISTORY and not too_large:
        points_name, points_params = "forecast_rebuilt_by_deal", {"first": first, "as_of": as_of, **_deal_params(f)}
        points = runner.run(points_name, **points_params)
        # from the first week with an open deal: empty weeks before the data began are no past quarters
        oldest = points["as_of"].min() if points.height else as_of
        days, rows_from = [d for d in rebuilt_days(as_of) if d >= oldest], None
    else:
        days = [s.as_of for s in store.list_snapshots(runner.snapshot.data_dir) if first <= s.as_of <= as_of]
        days = sorted(set(days) | {as_of})
        # too few past quarters for the model: nothing learns from the past rows (no fit, no backtest, no new
        # business), so only today's are read (the pushes so far are stored on each row): at L with one past quarter
        # 98,000 rows instead of 1.08M
        rows_from = as_of if past_periods(days, as_of) < MIN_PERIODS and not every_day else None
        points_params = {**points_params, "first": rows_from or first}
        points = _in_order(runner.run(points_name, **points_params), as_of)
    # the History keeps the rows: the runner's copy (made by this call or a page's side-by-side run) would only double
    # them outside the forecast's budget
    _forget(runner, points_name, points_params)
    wins = runner.run(wins_name, **wins_params)
    calendar = calendar_of(days)
    facts = point_facts(points, wins, _read_days(days, rows_from)).join(calendar.select("as_of", "weeks_left"),
                                                                       on="as_of", how="left")
    rows = label(points)
    levels = REBUILT_LEVELS if source == STAGE_HISTORY else LEVELS
    return History(rows, calendar, facts, wins, source, levels, too_large, rows_from)


def _read_days(days: Sequence[date], rows_from: date | None) -> list[date]:
    """The days whose rows were read: a day without its rows would count every later win as new business."""
    return [d for d in days if rows_from is None or d >= rows_from]


def _forget(runner: RunsQueries, name: str, params: dict[str, object]) -> None:
    """Drop a query's result from the runner's cache (the runner behind a page context too); nothing for a runner
    without a cache."""
    for obj in (runner, getattr(runner, "runner", None)):
        forget = getattr(obj, "forget", None)
        if callable(forget):
            forget(name, **params)
            return


def _in_order(points: pl.DataFrame, as_of: date) -> pl.DataFrame:
    """The learning rows up to as_of, by day and deal: the order every sum over them is added in.

    The query leaves them unsorted: a database sort of a million rows (at L) adds ~100 MB to the query's own working
    memory, and beside other queries. The filter copies every column, so it runs only when a row is after as_of
    (never for the runner's own snapshot).
    """
    if points.height and points["as_of"].max() > as_of:
        points = points.filter(pl.col("as_of") <= as_of)
    return points.sort("as_of", "opportunity_id", multithreaded=False)


def _rebuilt_over_limit(runner: RunsQueries, f: Filters, first: date, as_of: date) -> int:
    """The rows a rebuilt history would have when that is over forecast_max_learning_rows, else 0.

    Counted by a query that builds none of them: at XL (10M deals, no past-quarter snapshot) the rebuilt history
    is about 100M rows, which ran the server out of memory.
    """
    counted = runner.run("forecast_rebuilt_rows_by_snapshot", first=first, as_of=as_of, **_deal_params(f))
    n = int(counted["learning_rows"][0])
    return n if n > int(settings.get("forecast_max_learning_rows")) else 0


def subset(org: History, ids: pl.Series, as_of: date) -> History:
    """A group's History from the organisation's: its rows and won deals are the organisation's of its deal ids.

    The same as history() for the group's filters (its queries keep the organisation's rows of the deals the
    filters keep, one deal's rows never depending on another's), without reading and labelling every row again.
    """
    rows = org.rows.filter(pl.col("opportunity_id").is_in(ids.implode()))
    wins = org.wins.filter(pl.col("opportunity_id").is_in(ids.implode()))
    days = org.calendar["as_of"].to_list()
    if org.source == STAGE_HISTORY and not org.too_large:  # from the group's first open week, as history() does
        oldest = rows["as_of"].min() if rows.height else as_of
        days = [d for d in rebuilt_days(as_of) if d >= oldest]
    calendar = calendar_of(days)
    facts = point_facts(rows, wins, _read_days(days, org.rows_from)).join(calendar.select("as_of", "weeks_left"),
                                                                         on="as_of", how="left")
    return History(rows, calendar, facts, wins, org.source, org.levels, org.too_large, org.rows_from)


def org_history(runner: RunsQueries, as_of: date) -> History:
    """The organisation's History, kept per snapshot and row scope (a viewer's is their scope's rows only)."""
    key = _org_key(runner)
    with _HISTORIES_LOCK:
        if key is not None and key in _HISTORIES:
            _HISTORIES[key] = _HISTORIES.pop(key)  # now the most recently used
            # measured again: its cells (tens of MB at L) are made after it was first kept and counted
            trim_histories(keep=key)
            return _HISTORIES[key]
    out = history(runner, Filters(), as_of)
    if key is not None:
        with _HISTORIES_LOCK:
            _HISTORIES[key] = out
            trim_histories(keep=key)
    return out


def history_bytes(h: History) -> int:
    """What a kept History holds in memory: its frames, and its cells once made (the seasons are a few numbers)."""
    frames = [h.rows, h.calendar, h.facts, h.wins, *([h.__dict__["cells"]] if "cells" in h.__dict__ else [])]
    return sum(f.estimated_size() for f in frames)


def trim_histories(keep: tuple | None = None) -> None:
    """Drop the least recently used kept Histories until they fit forecast_cache_mb and _HISTORIES_MAX; never `keep`
    (the one just read: a page needs it even when it alone is over the budget). Call with _HISTORIES_LOCK held."""
    budget = float(settings.get("forecast_cache_mb")) * 1024 * 1024
    total = sum(history_bytes(h) for h in _HISTORIES.values())
    for k in [k for k in _HISTORIES if k != keep]:
        if total <= budget and len(_HISTORIES) <= _HISTORIES_MAX:
            break
        total -= history_bytes(_HISTORIES.pop(k))


def group_history(runner: RunsQueries, f: Filters, org: History, as_of: date) -> History:
    """The filtered group's History: the organisation's itself when nothing is filtered, else its subset."""
    if not any(_deal_params(f).values()):
        return org
    name, params = _ids_call(f)
    return subset(org, runner.run(name, **params)["opportunity_id"], as_of)


def _scope_key(runner: object) -> str | None:
    """The viewer's row-scope key, from the runner or the runner behind a page context; None when unknown."""
    for obj in (runner, getattr(runner, "runner", None)):
        scope = getattr(obj, "scope", None)
        if scope is not None:
            return str(getattr(scope, "key", scope))
    return None


def _key(runner: RunsQueries, f: Filters, period: tuple[date, date] | None) -> tuple | None:
    """The cache key: snapshot (they never change), filters, row scope and period; None when the scope is unknown."""
    scope = _scope_key(runner)
    if scope is None:  # never risk serving one viewer's forecast to another
        return None
    snap = runner.snapshot
    frozen = tuple(sorted((k, tuple(v)) for k, v in _deal_params(f).items()))
    # the store's folder too: two stores may each have a snapshot of the same id published in the same second
    return str(snap.root), snap.id, snap.manifest.get("created_at"), frozen, scope, period


def _org_key(runner: RunsQueries) -> tuple | None:
    """The cache key of what the organisation's history alone decides (the fitted model): snapshot and row scope."""
    key = _key(runner, Filters(), None)
    return None if key is None else key[:3] + key[4:5]  # without the filters and the period


def _remember(cache: dict, key: tuple | None, value: object) -> None:
    """Keep a small result under its key (nothing when the row scope is unknown), within _CACHE_MAX entries."""
    if key is None:
        return
    if len(cache) >= _CACHE_MAX:
        cache.clear()
    cache[key] = value


def model_forecast(runner: RunsQueries, f: Filters, period: tuple[date, date] | None = None) -> Outcome:
    """THE forecast for the filtered group: bookings expected to close won in the period (default: the quarter).

    The model learns from the organisation's past pipeline (snapshots, or weeks rebuilt from stage history) of
    complete quarters before this one and forecasts the group's open deals; closed so far and new business are
    the group's own. A period other than the snapshot's
    quarter (What-if) gets no new-business part and no range: both are learned per quarter.
    """
    if period == period_of(runner.snapshot.as_of):
        period = None  # the quarter asked for by its dates is the default: one cache entry, one number
    key = _key(runner, f, period)
    if key in _CACHE:
        return _CACHE[key]
    out = _model_forecast(runner, f, period)
    if key is None:
        return out
    if len(_CACHE) >= _CACHE_MAX:
        _CACHE.clear()
    _CACHE[key] = out
    return out


def _model_forecast(runner: RunsQueries, f: Filters, period: tuple[date, date] | None) -> Outcome:
    """model_forecast without the cache."""
    as_of = runner.snapshot.as_of
    quarter = period_of(as_of)
    start, end = period or quarter
    is_quarter = (start, end) == quarter
    org = org_history(runner, as_of)
    group = group_history(runner, f, org, as_of)
    past = sorted(p for p in org.calendar["period_start"].unique().to_list() if p < quarter[0])
    model, how, season = None, DEFAULT_FIT, Season()
    if len(past) >= MIN_PERIODS:
        how = choose_prior(_by_prior(runner, org, quarter[0]), quarter[0], DEFAULT_FIT)
        model = fit_cells(org.cells.filter(pl.col("period_start").is_in(past)), org.levels, how.prior, how.weighting)
        _remember(_STAGES, _org_key(runner), _stages(model))
        # learned per quarter of the year, like new business: only for the snapshot's quarter
        season = org.seasons.get(quarter[0], Season()) if is_quarter else season
    now = group.rows.filter(pl.col("as_of") == as_of)
    if not is_quarter:  # the deals' period is the one asked for
        now = add_features(now.with_columns(pl.lit(start).alias("period_start"), pl.lit(end).alias("period_end")))
    deals = with_season(predict(model, now), season.level) if model is not None else fallback_expected(now)
    deals = with_names(deals.with_columns((pl.col("amount") * pl.col("probability")).alias("expected")),
                       runner.run(NAMES_QUERY))
    won = group.wins.filter(pl.col("close_date").is_between(start, min(end, as_of)))
    closed = won.group_by("owner_id").agg(pl.col("amount").sum().alias("closed"))
    week = weeks_left(as_of, end)
    scale, new = 1.0, pl.DataFrame(schema={"owner_id": pl.String, "new": pl.Float64})
    if model is not None and is_quarter:  # new business is learned per quarter's week, like the season
        scale = growth(org.young, org.calendar, past, week, as_of)
        new = new_business(group.facts, group.calendar, past, week, scale)
    owners = by_owner(deals, closed, new)
    parts = {"closed": float(won["amount"].sum()), "from_open": float(deals["expected"].sum()),
             "new": float(new["new"].sum())}
    base = Outcome(as_of, start, end, **parts, method="model" if model is not None else FALLBACK,
                   periods=len(past), deals=deals, by_owner=owners, learned_from=org.source, prior=how.prior,
                   weighting=how.weighting, season=season, new_growth=scale,
                   no_range=(TOO_LARGE if org.too_large else FEW_PERIODS) if model is None else OTHER_PERIOD)
    if model is None or not is_quarter:
        return base
    bt = _group_backtest(runner, org, group, quarter[0])
    _remember(_BACKTESTS, _key(runner, f, None), bt)
    low, high, n = error_range(base.expected, bt, week, quarter[0], base.closed)
    cov, _ = coverage_at(bt, week)
    return replace(base, low=low, high=high, coverage=cov if low is not None else None, errors=n,
                   no_range=None if low is not None else FEW_ERRORS)


def backtest_for(runner: RunsQueries, f: Filters) -> pl.DataFrame:
    """The backtest of the filtered group over every complete past quarter with snapshots (see backtest); the one
    model_forecast made for its range when it made one."""
    key = _key(runner, f, None)
    if key is not None and key in _BACKTESTS:
        return _BACKTESTS[key]
    as_of = runner.snapshot.as_of
    q_start = period_of(as_of)[0]
    org = org_history(runner, as_of)
    group = group_history(runner, f, org, as_of)
    bt = _group_backtest(runner, org, group, q_start)
    _remember(_BACKTESTS, key, bt)
    return bt


def _by_prior(runner: RunsQueries, org: History, q_start: date) -> dict[Fit, pl.DataFrame]:
    """The organisation's backtest (without ranges) with each candidate Fit, kept per snapshot and row scope."""
    key = _org_key(runner)
    if key is not None and key in _BY_PRIOR:
        return _BY_PRIOR[key]
    base = backtest(org.rows, org.rows, org.calendar, org.facts, org.wins, q_start, prior=PRIOR, cells=org.cells,
                    levels=org.levels, ranges=False, seasons=org.seasons, growth_from=(org.young, org.calendar))
    # the five other fits in one pass: each quarter's earlier cells summed and its rows keyed by cell once for all
    others = with_priors(base, org.cells, org.rows, org.levels, [how for how in FITS if how != DEFAULT_FIT])
    out = {how: base if how == DEFAULT_FIT else others[how] for how in FITS}
    _remember(_BY_PRIOR, key, out)
    return out


def _group_backtest(runner: RunsQueries, org: History, group: History, q_start: date) -> pl.DataFrame:
    """The group's backtest, each quarter forecast with the Fit chosen on the organisation's earlier quarters."""
    by_prior = _by_prior(runner, org, q_start)
    periods = sorted(set(by_prior[DEFAULT_FIT]["period_start"].to_list()))
    fit_of = {p: choose_prior(by_prior, p, DEFAULT_FIT) for p in periods}
    if group is org:  # the same rows: take each quarter from the run with its Fit
        frame = pl.concat([by_prior[fit_of[p]].filter(pl.col("period_start") == p) for p in periods]) \
            if periods else by_prior[DEFAULT_FIT]
        return with_ranges(frame)
    return backtest(org.rows, group.rows, group.calendar, group.facts, group.wins, q_start, cells=org.cells,
                    levels=org.levels, fit_of=fit_of, seasons=org.seasons, growth_from=(org.young, org.calendar))


def _stages(model: Model) -> pl.DataFrame:
    """A model's first level: per stage, learning rows (in average deals), wins and shrunk rate."""
    return model.tables[0].select("stage", "n", "wins", "p") if model.tables else pl.DataFrame(
        schema={"stage": pl.String, "n": pl.Float64, "wins": pl.Float64, "p": pl.Float64})


def stage_table(runner: RunsQueries) -> pl.DataFrame:
    """The model's first level: each stage's learning rows, wins within the period and shrunk rate (the first
    level of a stage-only fit is the same: both shrink toward the overall rate)."""
    key = _org_key(runner)
    if key is not None and key not in _STAGES:
        model_forecast(runner, Filters())  # the organisation's model (with the k its backtest chose) keeps its table
    if key is not None and key in _STAGES:
        return _STAGES[key]
    # no model (too few past quarters, or an unknown row scope): the stage-only fit, default k
    as_of = runner.snapshot.as_of
    org = org_history(runner, as_of)
    if org.rows_from is not None:  # too few past quarters: the kept History has today's rows only, read the past's
        org = history(runner, Filters(), as_of, org.source, every_day=True)
    q_start = period_of(as_of)[0]
    past = org.cells.filter(pl.col("period_start") < q_start)
    out = _stages(fit_cells(past, levels=("stage",))) if not past.is_empty() else pl.DataFrame(
        schema={"stage": pl.String, "n": pl.UInt32, "wins": pl.Float64, "p": pl.Float64})
    _remember(_STAGES, key, out)  # the past's rows are not kept: not read again at the next call
    return out
