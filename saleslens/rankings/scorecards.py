"""Fair rep scorecards, pure functions over Polars frames: ranking, normalisation, weights, ramp.

How a score is made (the page, the review pack and the CLI all use these functions):

1. Each KPI of a rep is **normalised** to a 0-100 scale:
   - where the rep has a target for it (bookings, new logos, activities; attainment is bookings
     against the bookings target), normalised = 100 x value / ramp-adjusted target, capped at
     `cap` (150 by default), so 100 means "on target";
   - otherwise it is the rep's **percentile among peers of the same role**: the share of peers the
     rep beats, ties counting half, so the best is 100, the worst 0 and the median rep 50
     (lower is better for the sales cycle, so the ranking is reversed there);
   - a rating (1-5) maps linearly: 1 -> 0, 3 -> 50, 5 -> 100.
2. A rate built on too few deals (fewer than `min_sample`, 5 by default) is **flagged**: it is
   shown but scored at the neutral 50, the peer median, and it is left out of the peers' percentiles.
3. The **score** is the weighted mean of the normalised KPIs the rep has; a KPI the rep has no
   value for (no target for attainment, no closed deals for a win rate) is left out and the other
   weights scale up, so the effective weights always add up to 100%. A KPI's contribution is its
   effective weight x its normalised value; the contributions add up to the score.
4. Ranks are "min" ranks: equal values share the best rank and the next rank is skipped (1, 2, 2, 4).
"""

from __future__ import annotations

import bisect
import math
import re
from dataclasses import dataclass, field
from datetime import date, timedelta

import polars as pl

from saleslens.core import periods
from saleslens.kpis import registry

NEUTRAL = 50.0  # the normalised value of a flagged (uncertain) KPI: the peer median
DEFAULT_CAP = 1.5  # attainment above 150% scores as 150, so one KPI cannot swamp the others
DEFAULT_MIN_SAMPLE = 5  # fewer closed deals (or stage moves, or leads) than this: the rate is flagged
DEFAULT_RAMP = periods.linear_ramp(periods.RAMP_MONTHS)  # 25%, 50%, 75% of the target in months 1, 2, 3
SCORED_ROLES = ("AE", "SDR", "CSM")
RATING_CRITERIA = ("teamwork", "customer_satisfaction", "process")
RATING_SCALE = (1, 5)


@dataclass(frozen=True)
class Kpi:
    """One scorecard KPI as the registry (saleslens/kpis/kpis.toml) declares it, with the rep-grain wording."""

    key: str
    format: str  # money, percent, count, days
    kind: str  # leading or lagging
    higher_is_better: bool
    target_metric: str | None  # the targets.metric that sets a target for it
    sample: str | None  # the column counting the deals (or moves, leads) behind a rate
    label_key: str  # translation key of the label
    definition_key: str  # translation key of the written definition at the rep grain


def _scorecard_kpi(k: registry.Kpi) -> Kpi:
    """The scorecards' view of a registered KPI."""
    return Kpi(k.key, k.format, k.kind, k.higher_is_better, k.target_metric, k.sample, k.label_key,
               k.scorecard_definition_key)


# Built from the registry, in its scorecard order (the order of the weights, the leaderboard and the review pack).
KPIS: dict[str, Kpi] = {key: _scorecard_kpi(registry.REGISTRY[key]) for key in registry.SCORECARD}
LEADERBOARD_KPIS = tuple(KPIS)
RATING_PREFIX = "rating."


def rating_key(criterion: str) -> str:
    """The scorecard key of a rating criterion."""
    return RATING_PREFIX + criterion


def is_rating(key: str) -> bool:
    """Whether a scorecard key is a rating rather than a KPI."""
    return key.startswith(RATING_PREFIX)


SCORE_KEYS = tuple(KPIS) + tuple(rating_key(c) for c in RATING_CRITERIA)

# Default weights per role, in percent: leading KPIs (activities, pipeline created, conversion) and
# lagging ones (bookings or attainment, win rate), in the mix a manager of that role would start from.
# Weights need not add up to 100: the score divides by the sum of the weights the rep has values for.
DEFAULT_WEIGHTS: dict[str, dict[str, float]] = {
    "AE": {
        "attainment": 35, "win_rate": 15, "new_logos": 10,
        "pipeline_created": 15, "activities": 10, "conversion": 15,
    },
    "SDR": {"pipeline_created": 40, "activities": 30, "lead_conversion": 30},
    "CSM": {
        "bookings": 25, "win_rate": 15, "activities": 25, "conversion": 10,
        rating_key("customer_satisfaction"): 25,
    },
}


@dataclass(frozen=True)
class Definition:
    """A scorecard definition: which role it scores and the weight of each KPI and rating."""

    name: str
    role: str
    weights: dict[str, float] = field(hash=False)
    ramp: tuple[float, ...] = DEFAULT_RAMP
    min_sample: int = DEFAULT_MIN_SAMPLE
    cap: float = DEFAULT_CAP

    def active_weights(self) -> dict[str, float]:
        """The weights above zero, in scorecard order."""
        return {k: float(self.weights[k]) for k in SCORE_KEYS if self.weights.get(k, 0) > 0}


def default_definition(role: str) -> Definition:
    """The built-in scorecard of a role (AE weights for roles without their own)."""
    weights = DEFAULT_WEIGHTS.get(role, DEFAULT_WEIGHTS["AE"])
    return Definition(name=f"default:{role}", role=role, weights=dict(weights))


# ---------------------------------------------------------------- periods


_QUARTER = re.compile(r"^\s*(\d{4})\s*-?\s*[Qq]([1-4])\s*$")


def parse_quarter(text: str) -> tuple[date, date]:
    """First and last day of a quarter written like 2026Q3 (or 2026-Q3)."""
    m = _QUARTER.match(text or "")
    if not m:
        raise ValueError(f"'{text}' is not a quarter; write it like 2026Q3")
    year, q = int(m.group(1)), int(m.group(2))
    start = date(year, 3 * q - 2, 1)
    end = (date(year + 1, 1, 1) if q == 4 else date(year, 3 * q + 1, 1)) - timedelta(days=1)
    return start, end


def quarter_of(day: date) -> str:
    """The quarter a day falls in, written like 2026Q3."""
    return f"{day.year}Q{(day.month - 1) // 3 + 1}"


def previous_quarter(quarter: str) -> str:
    """The quarter before, e.g. 2026Q1 -> 2025Q4."""
    start, _ = parse_quarter(quarter)
    return quarter_of(start - timedelta(days=1))


# ---------------------------------------------------------------- ranking


def rank_min(values: list[float | None], higher_is_better: bool = True) -> list[int | None]:
    """Competition ranks: equal values share the best rank and the next is skipped; None is unranked."""
    present = sorted(v for v in values if v is not None and not _nan(v))
    n = len(present)
    out: list[int | None] = []
    for v in values:
        if v is None or _nan(v):
            out.append(None)
            continue
        better = n - bisect.bisect_right(present, v) if higher_is_better else bisect.bisect_left(present, v)
        out.append(better + 1)
    return out


def _nan(value: float) -> bool:
    return isinstance(value, float) and math.isnan(value)


def rank_change(current: pl.DataFrame, previous: pl.DataFrame) -> pl.DataFrame:
    """Current ranks with the previous period's rank and the change (positive = moved up)."""
    prev = previous.select("rep_id", pl.col("rank").alias("prev_rank"))
    return current.join(prev, on="rep_id", how="left").with_columns(
        (pl.col("prev_rank").cast(pl.Int64) - pl.col("rank").cast(pl.Int64)).alias("rank_change")
    )


# ---------------------------------------------------------------- ramp


def tenure_months(hire_date: date | None, period_start: date) -> int | None:
    """Whole months of tenure at a date, for the profile (0 = the first month); None without a date.

    The ramp does not use this: it counts calendar months (periods.ramp_factor).
    """
    if hire_date is None:
        return None
    months = (period_start.year - hire_date.year) * 12 + period_start.month - hire_date.month
    if period_start.day < hire_date.day:
        months -= 1
    return months


def ramp_rows(targets: pl.DataFrame, ramp: tuple[float, ...] = DEFAULT_RAMP) -> pl.DataFrame:
    """Target rows with their ramp `factor` and the `adjusted` value (value x factor)."""
    # One expression over the rows: a Python call per target row cost 0.1 s per period at L (100k rows).
    return targets.with_columns(
        periods.ramp_factor_expr(pl.col("hire_date"), pl.col("period_start"), ramp).alias("factor")
    ).with_columns((pl.col("value") * pl.col("factor")).alias("adjusted"))


def ramp_adjust(targets: pl.DataFrame, ramp: tuple[float, ...] = DEFAULT_RAMP,
                by: tuple[str, ...] = ()) -> pl.DataFrame:
    """Targets per rep and metric, each target period scaled by the rep's ramp factor at its start.

    In: rep_id, hire_date, metric, period_start, value (one row per target period), and the `by` columns.
    Out: the `by` columns (e.g. the scorecard period of each target, to adjust several periods at once),
    rep_id, metric, target (adjusted), target_full (as set in the CRM), ramp_factor (their ratio).
    """
    schema = {**{c: targets.schema[c] for c in by}, "rep_id": pl.String, "metric": pl.String,
              "target": pl.Float64, "target_full": pl.Float64, "ramp_factor": pl.Float64}
    if targets.height == 0:
        return pl.DataFrame(schema=schema)
    return (
        ramp_rows(targets, ramp)
        .group_by(*by, "rep_id", "metric")
        .agg(
            (pl.col("value") * pl.col("factor")).sum().alias("target"),
            pl.col("value").sum().alias("target_full"),
        )
        .with_columns((pl.col("target") / pl.col("target_full")).alias("ramp_factor"))
        .select(list(schema))
        .sort(*by, "rep_id", "metric")
    )


def with_targets(kpis: pl.DataFrame, adjusted: pl.DataFrame, by: tuple[str, ...] = ()) -> pl.DataFrame:
    """KPIs with <metric>_target columns (ramp-adjusted) and attainment = bookings / bookings target.

    `by`: more columns a KPI row and its targets share (e.g. the period, when the rows hold several).
    """
    out = kpis
    for metric in ("bookings", "new_logos", "activities"):
        part = adjusted.filter(pl.col("metric") == metric).select(
            *by, "rep_id",
            pl.col("target").alias(f"{metric}_target"),
            pl.col("target_full").alias(f"{metric}_target_full"),
        )
        out = out.join(part, on=[*by, "rep_id"], how="left")
    return out.with_columns(
        (pl.col("bookings") / pl.when(pl.col("bookings_target") > 0).then(pl.col("bookings_target")))
        .alias("attainment"),
        (pl.col("bookings_target") / pl.col("bookings_target_full")).alias("ramp_factor"),
    )


# ---------------------------------------------------------------- normalisation


def percentile_among(values: list[float | None], higher_is_better: bool = True) -> list[float | None]:
    """Each value's percentile among the others: share of peers beaten, ties half, x100; None stays None.

    With n values, percentile = (peers below + 0.5 x other peers equal) / (n - 1) x 100;
    a lone value is 50, the neutral middle.
    """
    present = sorted(v for v in values if v is not None and not _nan(v))
    return [_percentile_in(v, present, higher_is_better) for v in values]


def flagged(kpis: pl.DataFrame, key: str, min_sample: int = DEFAULT_MIN_SAMPLE) -> list[bool]:
    """Per row, whether a KPI is a rate from fewer than min_sample deals (or moves, or leads)."""
    kpi = KPIS.get(key)
    if kpi is None or kpi.sample is None or kpi.sample not in kpis.columns:
        return [False] * kpis.height
    return [(s or 0) < min_sample for s in kpis[kpi.sample].to_list()]


def _value(kpis: pl.DataFrame, key: str) -> list[float | None]:
    return kpis[key].cast(pl.Float64).to_list() if key in kpis.columns else [None] * kpis.height


def _target(kpis: pl.DataFrame, kpi: Kpi) -> list[float | None]:
    if kpi.target_metric is None:
        return [None] * kpis.height
    col = f"{kpi.target_metric}_target"
    return kpis[col].cast(pl.Float64).to_list() if col in kpis.columns else [None] * kpis.height


def normalise(kpis: pl.DataFrame, key: str, min_sample: int = DEFAULT_MIN_SAMPLE,
              cap: float = DEFAULT_CAP) -> pl.DataFrame:
    """One KPI normalised for every rep: value, target, method, normalised (0-100), flagged.

    Method is "target" (attainment of the rep's own target), "percentile" (among peers of the same
    role), "neutral" (a flagged rate, scored at 50) or "missing" (no value: left out of the score).
    """
    # Polars expressions over all reps at once (a Python loop per rep cost 25 ms a KPI for 4,700 reps); the
    # percentile is percentile_among's rule: (peers below + 0.5 x other peers equal) / (n - 1) x 100.
    kpi = KPIS[key]
    frame = pl.DataFrame({
        "rep_id": pl.Series(kpis["rep_id"].to_list(), dtype=pl.String),
        "value": pl.Series(_value(kpis, key), dtype=pl.Float64),
        "target": pl.Series(_target(kpis, kpi), dtype=pl.Float64),
        "flagged": pl.Series(flagged(kpis, key, min_sample), dtype=pl.Boolean),
        "role": kpis["role"].cast(pl.String) if "role" in kpis.columns else pl.Series([""] * kpis.height),
    })
    value, target, flag = pl.col("value"), pl.col("target"), pl.col("flagged")
    missing = value.is_null() | value.is_nan()
    certain = pl.when(~missing & ~flag).then(value)
    n = certain.count().over("role")
    lo = certain.rank("min").over("role") - 1  # certain peers below
    hi = certain.rank("max").over("role")  # certain peers at or below
    below = lo if kpi.higher_is_better else n - hi
    pct = pl.when(n == 1).then(pl.lit(NEUTRAL, dtype=pl.Float64)).otherwise(
        (below.cast(pl.Float64) + 0.5 * (hi - lo - 1).cast(pl.Float64)) / (n - 1).cast(pl.Float64) * 100)
    capped = value if key == "attainment" else value / target
    by_target = (pl.lit(key == "attainment") | (target.is_not_null() & (target > 0)))
    method = (pl.when(missing).then(pl.lit("missing")).when(flag).then(pl.lit("neutral"))
              .when(by_target).then(pl.lit("target")).otherwise(pl.lit("percentile")))
    norm = (pl.when(missing).then(None).when(flag).then(pl.lit(NEUTRAL, dtype=pl.Float64))
            .when(by_target).then(pl.min_horizontal(capped, pl.lit(cap, dtype=pl.Float64)) * 100)
            .otherwise(pl.when(certain.is_not_null()).then(pct)))
    return frame.select(
        "value",
        (target if kpi.target_metric else pl.lit(None, dtype=pl.Float64)).alias("target"),
        method.alias("method"),
        norm.cast(pl.Float64).alias("normalised"),
        "flagged", "rep_id", pl.lit(key).alias("kpi"),
    )


def normalise_rating(rating: int | float | None) -> float | None:
    """A 1-5 rating on the 0-100 scale: 1 -> 0, 3 -> 50, 5 -> 100."""
    if rating is None:
        return None
    lo, hi = RATING_SCALE
    return (float(rating) - lo) / (hi - lo) * 100


# ---------------------------------------------------------------- weighted score

BREAKDOWN_SCHEMA = {
    "rep_id": pl.String, "kpi": pl.String, "value": pl.Float64, "target": pl.Float64, "method": pl.String,
    "normalised": pl.Float64, "flagged": pl.Boolean, "weight": pl.Float64, "effective_weight": pl.Float64,
    "contribution": pl.Float64,
}


def score(kpis: pl.DataFrame, definition: Definition,
          ratings: dict[str, dict[str, float]] | None = None) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Score every rep in `kpis` (their peers are the reps of the same role in it).

    Returns (scores, breakdown). scores: rep_id, score, rank (within role), kpis_scored, flags.
    breakdown: one row per rep and weighted KPI with value, target, method, normalised, flagged,
    weight (as set), effective_weight (scaled over the KPIs the rep has) and contribution.
    """
    weights = definition.active_weights()
    ratings = ratings or {}
    parts = []
    for key, weight in weights.items():
        if is_rating(key):
            criterion = key[len(RATING_PREFIX):]
            vals = [ratings.get(r, {}).get(criterion) for r in kpis["rep_id"].to_list()]
            part = pl.DataFrame({
                "rep_id": kpis["rep_id"].to_list(),
                "kpi": [key] * kpis.height,
                "value": [None if v is None else float(v) for v in vals],
                "target": [None] * kpis.height,
                "method": ["missing" if v is None else "rating" for v in vals],
                "normalised": [normalise_rating(v) for v in vals],
                "flagged": [False] * kpis.height,
            }, schema={k: BREAKDOWN_SCHEMA[k] for k in
                       ("rep_id", "kpi", "value", "target", "method", "normalised", "flagged")})
        else:
            part = normalise(kpis, key, definition.min_sample, definition.cap)
        parts.append(part.with_columns(pl.lit(weight, dtype=pl.Float64).alias("weight")))
    if not parts:
        return _empty_scores(kpis), pl.DataFrame(schema=BREAKDOWN_SCHEMA)
    long = pl.concat([p.select("rep_id", "kpi", "value", "target", "method", "normalised", "flagged", "weight")
                      for p in parts])
    scored = pl.col("normalised").is_not_null()
    long = long.with_columns(
        pl.when(scored).then(pl.col("weight") / pl.col("weight").filter(scored).sum().over("rep_id"))
        .otherwise(0.0).alias("effective_weight")
    ).with_columns(
        pl.when(scored).then(pl.col("effective_weight") * pl.col("normalised")).alias("contribution")
    )
    order = {k: i for i, k in enumerate(weights)}
    breakdown = (
        long.with_columns(pl.col("kpi").replace_strict(order, return_dtype=pl.Int64).alias("_o"))
        .sort("rep_id", "_o").drop("_o").select(list(BREAKDOWN_SCHEMA))
    )
    totals = breakdown.group_by("rep_id").agg(
        pl.when(pl.col("normalised").is_not_null().any()).then(pl.col("contribution").sum()).alias("score"),
        pl.col("normalised").is_not_null().sum().cast(pl.Int64).alias("kpis_scored"),
        pl.col("flagged").sum().cast(pl.Int64).alias("flags"),
    )
    scores = kpis.select("rep_id", *(["role"] if "role" in kpis.columns else [])).join(
        totals, on="rep_id", how="left")
    return with_ranks(scores, "score"), breakdown


def _empty_scores(kpis: pl.DataFrame) -> pl.DataFrame:
    return kpis.select("rep_id").with_columns(
        pl.lit(None, dtype=pl.Float64).alias("score"), pl.lit(None, dtype=pl.Int64).alias("rank"),
        pl.lit(0, dtype=pl.Int64).alias("kpis_scored"), pl.lit(0, dtype=pl.Int64).alias("flags"),
    )


def with_ranks(frame: pl.DataFrame, column: str, higher_is_better: bool = True,
               uncertain: list[bool] | None = None) -> pl.DataFrame:
    """The frame with a `rank` column: min ranks within each role; uncertain rows stay unranked."""
    # rank_min's rule as one Polars expression per role (a Python loop cost 8 ms a call for 4,700 reps).
    parts = pl.DataFrame({
        "v": frame[column].cast(pl.Float64),
        "u": pl.Series(uncertain if uncertain is not None else [False] * frame.height, dtype=pl.Boolean),
        "role": frame["role"].cast(pl.String) if "role" in frame.columns else pl.Series([""] * frame.height),
    })
    v = pl.col("v")
    ranked = pl.when(~pl.col("u") & v.is_not_null() & ~v.is_nan()).then(v).rank(
        "min", descending=higher_is_better).over("role")
    return frame.with_columns(parts.select(ranked.cast(pl.Int64).alias("rank"))["rank"])


# ---------------------------------------------------------------- leaderboard


def leaderboard(kpis: pl.DataFrame, key: str, previous: pl.DataFrame | None = None,
                min_sample: int = DEFAULT_MIN_SAMPLE) -> pl.DataFrame:
    """Reps ranked by one KPI within their role, with the previous period's rank and the change.

    A rate from fewer than min_sample deals is flagged and left unranked; reps without a value too.
    Ranked reps come first, best first.
    """
    kpi = KPIS[key]
    base = kpis.select(
        "rep_id", *[c for c in ("name", "role", "team") if c in kpis.columns],
        pl.col(key).cast(pl.Float64).alias("value"),
        pl.Series("flagged", flagged(kpis, key, min_sample), dtype=pl.Boolean),
    )
    ranked = with_ranks(base, "value", kpi.higher_is_better, base["flagged"].to_list())
    if previous is not None and previous.height:
        prev = leaderboard(previous, key, None, min_sample).select("rep_id", "rank")
        ranked = rank_change(ranked, prev)
    else:
        ranked = ranked.with_columns(pl.lit(None, dtype=pl.Int64).alias("prev_rank"),
                                     pl.lit(None, dtype=pl.Int64).alias("rank_change"))
    return ranked.sort(["rank", "value"], descending=[False, kpi.higher_is_better], nulls_last=True)


# ---------------------------------------------------------------- rep against peers


POSITION_KEYS = ("bookings", "attainment", "win_rate", "avg_deal_size", "cycle_days", "new_logos",
                 "pipeline_created", "activities", "conversion", "lead_conversion")


def peer_position(kpis: pl.DataFrame, rep_id: str, keys: tuple[str, ...] = POSITION_KEYS,
                  min_sample: int = DEFAULT_MIN_SAMPLE) -> pl.DataFrame:
    """One rep's KPIs against target and against the median of peers of the same role.

    Columns: kpi, value, target, peer_median, percentile (among peers, certain values only), flagged.
    """
    row = kpis.filter(pl.col("rep_id") == rep_id)
    if row.height == 0:
        return pl.DataFrame(schema={"kpi": pl.String, "value": pl.Float64, "target": pl.Float64,
                                    "peer_median": pl.Float64, "percentile": pl.Float64, "flagged": pl.Boolean})
    role = row["role"][0] if "role" in row.columns else None
    peers = kpis.filter(pl.col("role") == role) if role is not None else kpis
    pos = peers["rep_id"].to_list().index(rep_id)
    out = []
    for key in keys:
        if key not in peers.columns:
            continue
        kpi = KPIS[key]
        flags = flagged(peers, key, min_sample)
        values = _value(peers, key)
        certain = [None if f else v for v, f in zip(values, flags, strict=True)]
        known = sorted(v for v in certain if v is not None and not _nan(v))
        # percentile_among(certain)[pos], for the one rep only (the whole list cost 7 ms a KPI at 4,700 reps)
        pct = _percentile_in(certain[pos], known, kpi.higher_is_better)
        target = _target(peers, kpi)[pos] if key != "attainment" else None
        out.append({"kpi": key, "value": values[pos], "target": target,
                    "peer_median": _median(known), "percentile": pct, "flagged": flags[pos]})
    return pl.DataFrame(out, schema={"kpi": pl.String, "value": pl.Float64, "target": pl.Float64,
                                     "peer_median": pl.Float64, "percentile": pl.Float64, "flagged": pl.Boolean})


def _percentile_in(value: float | None, present: list[float], higher_is_better: bool) -> float | None:
    """percentile_among's value for one of the values, given all present values sorted."""
    if value is None or _nan(value):
        return None
    n = len(present)
    if n == 1:
        return NEUTRAL
    lo, hi = bisect.bisect_left(present, value), bisect.bisect_right(present, value)
    below = lo if higher_is_better else n - hi  # peers this value beats
    equal = hi - lo - 1  # other peers with the same value
    return (below + 0.5 * equal) / (n - 1) * 100


def _median(values: list[float]) -> float | None:
    if not values:
        return None
    s = sorted(values)
    mid = len(s) // 2
    return s[mid] if len(s) % 2 else (s[mid - 1] + s[mid]) / 2


def strengths_weaknesses(position: pl.DataFrame, n: int = 3) -> tuple[list[str], list[str]]:
    """The KPIs furthest above peers (percentile over 50) and furthest below (under 50), n of each."""
    certain = position.filter(pl.col("percentile").is_not_null() & ~pl.col("flagged"))
    strong = certain.filter(pl.col("percentile") > NEUTRAL).sort(["percentile", "kpi"], descending=[True, False])
    weak = certain.filter(pl.col("percentile") < NEUTRAL).sort(["percentile", "kpi"])
    return strong["kpi"].head(n).to_list(), weak["kpi"].head(n).to_list()


# ---------------------------------------------------------------- top performers


MIN_FOR_QUARTILES = 4
ACTIVITY_TYPE_COLUMNS = {"call": "calls", "email": "emails", "meeting": "meetings", "demo": "demos",
                         "visit": "visits"}


def top_quartile(scores: pl.DataFrame, column: str = "score") -> set[str]:
    """rep_ids in the top quartile: the best ceil(n/4) by score, plus any tied with the last of them."""
    known = scores.filter(pl.col(column).is_not_null())
    if known.height < MIN_FOR_QUARTILES:
        return set()
    k = math.ceil(known.height / 4)
    threshold = sorted(known[column].to_list(), reverse=True)[k - 1]
    return set(known.filter(pl.col(column) >= threshold)["rep_id"].to_list())


def _group_median(kpis: pl.DataFrame, key: str, ids: set[str], certain_only: bool, min_sample: int) -> float | None:
    flags = flagged(kpis, key, min_sample) if certain_only else [False] * kpis.height
    vals = [
        v for rid, v, f in zip(kpis["rep_id"].to_list(), _value(kpis, key), flags, strict=True)
        if rid in ids and not f and v is not None and not _nan(v)
    ]
    return _median(vals)


def _pooled(kpis: pl.DataFrame, num: str, den: str, ids: set[str]) -> float | None:
    part = kpis.filter(pl.col("rep_id").is_in(list(ids)))
    total = part[den].sum() if den in part.columns else 0
    return None if not total else float(part[num].sum()) / float(total)


def compare_top(kpis: pl.DataFrame, top: set[str], by_stage: pl.DataFrame | None = None,
                min_sample: int = DEFAULT_MIN_SAMPLE) -> pl.DataFrame:
    """What the top quartile does differently from the rest: one row per measure.

    Activity mix is each type's share of all activities of the group (pooled); activities per deal,
    deal size and cycle time are medians of the reps' values (rates from too few deals left out);
    conversion by stage is pooled: forward moves out of the stage over all moves out of it.
    Columns: group (activity_mix, per_rep, stage), measure, format, top, rest, difference.
    """
    rest = set(kpis["rep_id"].to_list()) - top
    rows = []
    for typ, col in ACTIVITY_TYPE_COLUMNS.items():
        if col in kpis.columns:
            rows.append(("activity_mix", typ, "percent", _pooled(kpis, col, "activities", top),
                         _pooled(kpis, col, "activities", rest)))
    for key, fmt in (("activities", "count"), ("activities_per_deal", "ratio"), ("avg_deal_size", "money"),
                     ("cycle_days", "days"), ("win_rate", "percent"), ("pipeline_created", "money")):
        if key in kpis.columns:
            rows.append(("per_rep", key, fmt, _group_median(kpis, key, top, True, min_sample),
                         _group_median(kpis, key, rest, True, min_sample)))
    if by_stage is not None and by_stage.height:
        for stage in by_stage.sort("position")["stage"].unique(maintain_order=True).to_list():
            part = by_stage.filter(pl.col("stage") == stage)
            rows.append(("stage", stage, "percent", _pooled(part, "forward", "exits", top),
                         _pooled(part, "forward", "exits", rest)))
    frame = pl.DataFrame(rows, schema={"group": pl.String, "measure": pl.String, "format": pl.String,
                                       "top": pl.Float64, "rest": pl.Float64}, orient="row")
    return frame.with_columns((pl.col("top") - pl.col("rest")).alias("difference"))
