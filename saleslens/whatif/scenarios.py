"""What-if target scenarios: pure math over the per-rep base frame (queries/whatif_base_by_rep.sql).

The base is aggregated once per snapshot and period; every slider move calls `compute`, which works
in memory on that small frame (one row per rep). No Streamlit here: the page, the CLI and the tests
share this code.

The model, per rep (all changes are relative, in percent; see docs/COMMISSION.md, "Scenario model"):

- Baseline bookings = bookings won in the period, plus, while the period is not over (its end is on
  or after the snapshot date) and `include_pipeline` is on, the open pipeline expected to close in
  the period weighted by stage probability.
- Scenario target = base target x (1 + change), where the change is the rep's override, else the
  team's, else the region's, else the global change: the most specific one wins.
- Projected bookings = baseline x win factor x deal-size factor x cycle factor, where
  - win factor = 1 + win-rate change, limited so the rep's win rate never passes 100%;
  - deal-size factor = 1 + deal-size change;
  - cycle factor = 1 - cycle change x L / D, kept within 0..2, with L the rep's average sales cycle
    (won deals of the period; the average of all reps when the rep has none) and D the period's
    length in days. Longer cycles push each deal's close date out by change x its cycle, so the
    deals closing in the last change x L days of the period slip into the next one; shorter cycles
    pull the same share of next period's run rate in.
- New reps added to a team start on the first day of the period and produce a ramping share of the
  team's average projected bookings per fully ramped rep: the ramp curve gives the share for each
  month since the start (the last value holds after the curve ends), and the period's share is the
  mean over its months. They get the same share of the team's average scenario target (a ramped
  quota), the team's most common role and region, and no baseline (they do not exist yet).
- Company target = the sum of the base targets of the reps in view (the plan of record); the gap is
  company target minus projected bookings (positive = short of target).
"""

from __future__ import annotations

import hashlib
import json
import math
import urllib.parse
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import date

import polars as pl

from saleslens.core.i18n import t
from saleslens.whatif import commission
from saleslens.whatif.errors import FieldError

DEFAULT_RAMP = (25.0, 50.0, 75.0, 100.0)
PCT_LIMIT = 1000.0  # no change above +1000%: a typo guard, not a business rule
MAX_NEW_REPS = 1000
BASE_COLUMNS = (
    "rep_id", "rep_name", "role", "team", "region", "hire_date", "target", "bookings", "deals_won",
    "deals_lost", "cycle_days", "weighted_pipeline",
)
LEVELS = ("region", "team", "rep")


class ScenarioError(FieldError):
    """A scenario input that cannot be used; names the field at fault."""


@dataclass(frozen=True)
class Scenario:
    """Every input of a what-if scenario; percentages are written as numbers (5.0 = +5%)."""

    name: str = ""
    start: date | None = None
    end: date | None = None
    snapshot: str | None = None  # None: the latest snapshot
    regions: tuple[str, ...] = ()  # scope: only these regions / teams / reps (empty = all)
    teams: tuple[str, ...] = ()
    reps: tuple[str, ...] = ()
    target_set: str | None = None  # None: the snapshot's targets table
    target_change_pct: float = 0.0
    region_change_pct: Mapping[str, float] = field(default_factory=dict)
    team_change_pct: Mapping[str, float] = field(default_factory=dict)
    rep_change_pct: Mapping[str, float] = field(default_factory=dict)
    win_rate_pct: float = 0.0
    deal_size_pct: float = 0.0
    cycle_time_pct: float = 0.0
    new_reps: Mapping[str, int] = field(default_factory=dict)  # team -> reps added
    ramp_pct: tuple[float, ...] = DEFAULT_RAMP  # share of full productivity in months 1, 2, ...
    include_pipeline: bool = True
    plans: Mapping[str, object] | None = None  # commission config embedded in a saved scenario

    def overrides(self, level: str) -> Mapping[str, float]:
        """The target-change overrides of one level: region, team or rep."""
        return {"region": self.region_change_pct, "team": self.team_change_pct, "rep": self.rep_change_pct}[level]

    def with_period(self, start: date, end: date) -> Scenario:
        """The same scenario over another period."""
        return replace(self, start=start, end=end)


@dataclass(frozen=True)
class Result:
    """What a scenario does: per rep, team and region, a summary, and notes for the reader."""

    reps: pl.DataFrame
    teams: pl.DataFrame
    regions: pl.DataFrame
    summary: dict[str, float | int | None]
    warnings: tuple[Note, ...] = ()


@dataclass(frozen=True)
class Note:
    """Something the reader should know about a result (an input that changed nothing), to translate."""

    code: str  # unknown_region, unknown_team, unknown_rep, no_team_for_hires
    key: str


def note_text(note: Note, lang: str = "en") -> str:
    """A note in words."""
    return t(f"whatif.note.{note.code}", lang, name=note.key)


# ---------------------------------------------------------------- validation


def _check_pct(value: object, field_name: str, what: str) -> float:
    """A percentage change above -100% (and not absurdly large), or a ScenarioError naming the field."""
    if isinstance(value, bool) or not isinstance(value, int | float) or math.isnan(float(value)):
        raise ScenarioError(field_name, f"must be a number (percent), got {value!r}")
    value = float(value)
    if value <= -100:
        raise ScenarioError(field_name, f"{value:g}% would make {what} zero or below; it must stay above -100%")
    if value > PCT_LIMIT:
        raise ScenarioError(field_name, f"{value:g}% is more than the +{PCT_LIMIT:g}% allowed")
    return value


def validate(sc: Scenario) -> Scenario:
    """Check every input; return the scenario or raise a ScenarioError naming the first bad field."""
    if len(sc.name) > 80:
        raise ScenarioError("name", "is longer than 80 characters")
    if sc.start is None or sc.end is None:
        raise ScenarioError("period", "needs a first and a last day (pick a period with both ends, not all time)")
    if sc.start > sc.end:
        raise ScenarioError("period", f"starts ({sc.start}) after it ends ({sc.end})")
    _check_pct(sc.target_change_pct, "target_change_pct", "every target")
    for level in LEVELS:
        for key, value in sc.overrides(level).items():
            _check_pct(value, f"{level}_change_pct[{key}]", f"the targets of {level} {key}")
    _check_pct(sc.win_rate_pct, "win_rate_pct", "win rates")
    _check_pct(sc.deal_size_pct, "deal_size_pct", "deal sizes")
    _check_pct(sc.cycle_time_pct, "cycle_time_pct", "sales cycles")
    for team, n in sc.new_reps.items():
        if isinstance(n, bool) or not isinstance(n, int) or not 0 <= n <= MAX_NEW_REPS:
            raise ScenarioError(f"new_reps[{team}]", f"must be a whole number from 0 to {MAX_NEW_REPS}, got {n!r}")
    if not sc.ramp_pct or len(sc.ramp_pct) > 36:
        raise ScenarioError("ramp_pct", "needs 1 to 36 monthly values (e.g. 25, 50, 75, 100)")
    for n, v in enumerate(sc.ramp_pct, start=1):
        if isinstance(v, bool) or not isinstance(v, int | float) or not 0 <= float(v) <= 100:
            raise ScenarioError(f"ramp_pct[{n}]", f"must be a share from 0 to 100, got {v!r}")
    if sc.plans is not None:
        try:
            commission.parse(sc.plans, "the scenario's commission plans")
        except commission.CommissionError as exc:
            raise ScenarioError(f"commission_plans.{exc.field}", exc.message) from None
    return sc


def check_base(base: pl.DataFrame) -> None:
    """The base frame has the needed columns and no target of zero or below."""
    missing = [c for c in BASE_COLUMNS if c not in base.columns]
    if missing:
        raise ScenarioError("base", f"the per-rep base lacks column(s) {', '.join(missing)}")
    bad = base.filter(pl.col("target").is_not_null() & (pl.col("target") <= 0))
    if bad.height:
        shown = ", ".join(f"{r['rep_name']} ({r['rep_id']}): {r['target']:g}" for r in bad.head(5).to_dicts())
        more = f" and {bad.height - 5} more" if bad.height > 5 else ""
        raise ScenarioError("target", f"targets must be above zero; the period's target is zero or below for "
                                      f"{shown}{more}. Fix the target set or leave these reps out of the scope.")


# ---------------------------------------------------------------- model pieces


def period_days(start: date, end: date) -> int:
    """Days in the period, both ends included."""
    return (end - start).days + 1


def period_months(start: date, end: date) -> int:
    """The period's length in whole months (a quarter is 3), at least 1."""
    return max(1, round(period_days(start, end) / (365.25 / 12)))


def ramp_share(ramp_pct: tuple[float, ...], months: int) -> float:
    """Mean share of full productivity over a new rep's first `months` months (last value held)."""
    shares = [ramp_pct[min(m, len(ramp_pct) - 1)] / 100 for m in range(months)]
    return sum(shares) / len(shares)


def _months_before(day: date, months: int) -> date:
    """The same day `months` months earlier (the month's last day when it is shorter)."""
    index = day.year * 12 + day.month - 1 - months
    year, month = index // 12, index % 12 + 1
    last = (date(year + (month == 12), month % 12 + 1, 1) - date.resolution).day
    return date(year, month, min(day.day, last))


def _target_change(sc: Scenario) -> pl.Expr:
    """The change that applies to each rep: its override, else its team's, else its region's, else global."""
    change = pl.lit(sc.target_change_pct, dtype=pl.Float64)
    for level, col in (("region", "region"), ("team", "team"), ("rep", "rep_id")):
        ov = {str(k): float(v) for k, v in sc.overrides(level).items()}
        if ov:
            change = pl.coalesce(pl.col(col).replace_strict(ov, default=None, return_dtype=pl.Float64), change)
    return change


def per_rep(base: pl.LazyFrame, sc: Scenario, as_of: date, org_cycle: float) -> pl.LazyFrame:
    """Scenario target, baseline, driver factors and projected bookings per rep (see the module docstring)."""
    open_period = sc.end >= as_of and sc.include_pipeline
    # win rate as the SQL macro win_rate (queries/fragments/macros.sql) has it, here on the frame's counts
    decided = pl.col("deals_won") + pl.col("deals_lost")
    win_rate = pl.when(decided > 0).then(pl.col("deals_won") / decided)
    lift = 1 + sc.win_rate_pct / 100
    # A rep who wins 80% can at most go to 100%: the lift is limited to 1 / win rate.
    win_factor = pl.when(win_rate > 0).then(pl.min_horizontal(pl.lit(lift), 1 / win_rate)).otherwise(pl.lit(lift))
    cycle = pl.coalesce(pl.col("cycle_days"), pl.lit(org_cycle))
    cycle_factor = (1 - sc.cycle_time_pct / 100 * cycle / period_days(sc.start, sc.end)).clip(0.0, 2.0)
    pipeline = pl.col("weighted_pipeline").fill_null(0) if open_period else pl.lit(0.0)
    return base.with_columns(
        _target_change(sc).alias("change_pct"),
        (pl.col("bookings").fill_null(0) + pipeline).alias("baseline"),
        win_factor.alias("win_factor"),
        pl.lit(1 + sc.deal_size_pct / 100).alias("size_factor"),
        cycle_factor.alias("cycle_factor"),
        pl.lit(False).alias("new_hire"),
        pl.lit(None, pl.Float64).alias("ramp_share"),
    ).with_columns(
        (pl.col("target") * (1 + pl.col("change_pct") / 100)).alias("target_scn"),
        (pl.col("baseline") * pl.col("win_factor") * pl.col("size_factor") * pl.col("cycle_factor")).alias("projected"),
    )


def _org_cycle(base: pl.DataFrame) -> float:
    """Average sales cycle of all won deals in the base (days), for reps without won deals of their own."""
    won, days = base.select(pl.col("deals_won").sum(), (pl.col("cycle_days") * pl.col("deals_won")).sum()).row(0)
    return days / won if won else 0.0


def new_hires(reps: pl.DataFrame, sc: Scenario) -> tuple[pl.DataFrame, list[Note]]:
    """Rows for the reps added per team, ramping, and notes on teams that were not found."""
    wanted = {team: n for team, n in sc.new_reps.items() if n > 0}
    if not wanted:
        return reps.clear(), []
    share = ramp_share(sc.ramp_pct, period_months(sc.start, sc.end))
    # Fully ramped: hired at least as many months before the period as the ramp curve is long.
    cutoff = _months_before(sc.start, len(sc.ramp_pct))
    ramped = pl.col("hire_date").is_null() | (pl.col("hire_date") <= cutoff)
    teams = (
        reps.lazy()
        .filter(pl.col("target").is_not_null() & pl.col("team").is_in(list(wanted)))
        .group_by("team")
        .agg(
            pl.coalesce(pl.col("projected").filter(ramped).mean(), pl.col("projected").mean()).alias("productivity"),
            pl.coalesce(pl.col("target_scn").filter(ramped).mean(), pl.col("target_scn").mean()).alias("quota"),
            pl.col("role").drop_nulls().mode().sort().first().alias("role"),
            pl.col("region").drop_nulls().mode().sort().first().alias("region"),
        )
        .collect()
    )
    found = {row["team"]: row for row in teams.to_dicts()}
    notes = [Note("no_team_for_hires", team) for team in sorted(wanted) if team not in found]
    rows = [
        {"rep_id": f"new:{team}:{i}", "rep_name": f"New hire {i} · {team}", "role": found[team]["role"],
         "team": team, "region": found[team]["region"], "hire_date": sc.start, "new_hire": True, "target": None,
         "target_scn": found[team]["quota"] * share, "change_pct": None, "bookings": 0.0, "baseline": None,
         "projected": found[team]["productivity"] * share, "ramp_share": share}
        for team in sorted(wanted) if team in found for i in range(1, wanted[team] + 1)
    ]
    if not rows:
        return reps.clear(), notes
    frame = pl.DataFrame(rows, schema_overrides={"target": pl.Float64, "change_pct": pl.Float64,
                                                 "baseline": pl.Float64, "hire_date": pl.Date})
    return frame, notes


def _unknown_keys(reps: pl.DataFrame, sc: Scenario) -> list[Note]:
    """Notes for overrides that name a region, team or rep not in the base (they change nothing)."""
    notes = []
    for level, col in (("region", "region"), ("team", "team"), ("rep", "rep_id")):
        keys = list(sc.overrides(level))
        if keys:
            known = set(reps.select(pl.col(col).filter(pl.col(col).is_in(keys)).unique()).to_series().to_list())
            notes += [Note(f"unknown_{level}", key) for key in keys if key not in known]
    return notes


# ---------------------------------------------------------------- aggregation


def _rollup(reps: pl.LazyFrame, by: str) -> pl.LazyFrame:
    """Targets, bookings, attainment, reps at quota and commission per team or region."""
    extra = [pl.col("region").drop_nulls().mode().sort().first().alias("region")] if by == "team" else []
    cols = [by, *(["region"] if by == "team" else []), "quota_reps", "new_reps", "target_base", "target",
            "baseline", "projected", "attainment_base", "attainment", "at_quota_base", "at_quota",
            "payout_base", "payout"]
    return reps.group_by(by).agg(
        *extra,
        pl.col("target_scn").is_not_null().sum().alias("quota_reps"),
        pl.col("new_hire").sum().alias("new_reps"),
        pl.col("target").sum().alias("target_base"),
        pl.col("target_scn").sum().alias("target"),
        pl.col("baseline").sum().alias("baseline"),
        pl.col("projected").sum().alias("projected"),
        pl.col("at_quota_base").sum().alias("at_quota_base"),
        pl.col("at_quota").sum().alias("at_quota"),
        pl.col("payout_base").sum().alias("payout_base"),
        pl.col("payout").sum().alias("payout"),
    ).with_columns(
        (pl.col("baseline") / pl.col("target_base").replace(0, None)).alias("attainment_base"),
        (pl.col("projected") / pl.col("target").replace(0, None)).alias("attainment"),
    ).select(cols).sort(by, nulls_last=True)


def _totals(reps: pl.LazyFrame) -> pl.LazyFrame:
    """The sums behind the summary, in one pass."""
    existing = ~pl.col("new_hire")
    base_carrier = existing & pl.col("target").is_not_null()
    carrier = pl.col("target_scn").is_not_null()
    return reps.select(
        existing.sum().alias("reps"),
        base_carrier.sum().alias("quota_reps_base"),
        carrier.sum().alias("quota_reps"),
        pl.col("new_hire").sum().alias("new_reps"),
        pl.col("target").filter(base_carrier).sum().alias("company_target"),
        pl.col("target_scn").filter(carrier).sum().alias("target_total"),
        pl.col("baseline").filter(existing).sum().alias("bookings_base"),
        pl.col("projected").sum().alias("bookings"),
        pl.col("at_quota_base").filter(base_carrier).sum().alias("at_quota_base"),
        pl.col("at_quota").filter(carrier).sum().alias("at_quota"),
        pl.col("payout_base").filter(base_carrier).sum().alias("commission_base"),
        pl.col("payout").filter(carrier).sum().alias("commission"),
    )


def _summary(totals: dict) -> dict[str, float | int | None]:
    """The headline numbers from the totals."""
    s = {k: (int(v) if k in ("reps", "quota_reps_base", "quota_reps", "new_reps", "at_quota_base", "at_quota")
             else float(v)) for k, v in totals.items()}
    company = s["company_target"] if s["quota_reps_base"] else None
    if not s["quota_reps"]:
        s["target_total"] = None

    def ratio(num: float | None, den: float | None) -> float | None:
        return num / den if num is not None and den else None

    return {
        "reps": s["reps"], "quota_reps_base": s["quota_reps_base"], "quota_reps": s["quota_reps"],
        "new_reps": s["new_reps"], "company_target": company, "target_total": s["target_total"],
        "bookings_base": s["bookings_base"], "bookings": s["bookings"],
        "attainment_base": ratio(s["bookings_base"], company), "attainment": ratio(s["bookings"], company),
        "at_quota_base": s["at_quota_base"], "at_quota": s["at_quota"],
        "share_at_quota_base": ratio(s["at_quota_base"], s["quota_reps_base"]),
        "share_at_quota": ratio(s["at_quota"], s["quota_reps"]),
        "gap_base": None if company is None else company - s["bookings_base"],
        "gap": None if company is None else company - s["bookings"],
        "commission_base": s["commission_base"], "commission": s["commission"],
        "commission_share_base": ratio(s["commission_base"], s["bookings_base"]),
        "commission_share": ratio(s["commission"], s["bookings"]),
    }


SUMMARY_KEYS = (
    "reps", "quota_reps_base", "quota_reps", "new_reps", "company_target", "target_total", "bookings_base",
    "bookings", "attainment_base", "attainment", "at_quota_base", "at_quota", "share_at_quota_base",
    "share_at_quota", "gap_base", "gap", "commission_base", "commission", "commission_share_base",
    "commission_share",
)


def _check_roles(reps: pl.DataFrame, plans: commission.Plans) -> list[str]:
    """Roles of the reps with a target, each with a plan; the error names a rep whose role has none."""
    carriers = reps.filter(pl.col("target_scn").is_not_null())
    missing = carriers.filter(~pl.col("role").is_in(list(plans.plans)) | pl.col("role").is_null())
    for row in missing.head(1).to_dicts():
        who = f"{row['rep_name']} ({row['rep_id']})"
        if row["role"] is None:
            raise ScenarioError("role", f"{who} has a target but no role, so no commission plan applies")
        raise ScenarioError("role", f"'{row['role']}' of {who} has no commission plan in {plans.source} "
                                    f"(plans: {', '.join(sorted(plans.plans))}); add a [plans.{row['role']}] table")
    return carriers["role"].unique().to_list()


def _payout(plans: commission.Plans, roles: list[str], bookings: str, target: str) -> pl.Expr:
    """Payout per rep under the plan of its role, for the roles present only (null without a target)."""
    expr = pl.lit(None, dtype=pl.Float64)
    for role in roles:
        plan = plans.plan(role)
        expr = pl.when(pl.col("role") == role).then(plan.payout_expr(pl.col(bookings), pl.col(target))).otherwise(expr)
    return expr


REP_COLUMNS = ["rep_id", "rep_name", "role", "team", "region", "hire_date", "new_hire", "target", "target_scn",
               "change_pct", "bookings", "baseline", "projected", "ramp_share", "win_factor", "size_factor",
               "cycle_factor"]


def compute(base: pl.DataFrame, sc: Scenario, plans: commission.Plans, as_of: date) -> Result:
    """Project bookings, attainment and commission for a scenario, next to the baseline.

    Few, batched Polars operations: on a few thousand reps the fixed cost per operation, not the rows,
    is what a slider move waits for.
    """
    validate(sc)
    check_base(base)
    reps = per_rep(base.lazy().select(BASE_COLUMNS), sc, as_of, _org_cycle(base)).select(REP_COLUMNS).collect()
    notes = _unknown_keys(reps, sc)
    hires, hire_notes = new_hires(reps, sc)
    notes += hire_notes
    if hires.height:
        reps = pl.concat([reps, hires.select([c for c in REP_COLUMNS if c in hires.columns])], how="diagonal_relaxed")
    roles = _check_roles(reps, plans)
    reps = reps.lazy().with_columns(
        (pl.col("baseline") / pl.col("target")).alias("attainment_base"),
        (pl.col("projected") / pl.col("target_scn")).alias("attainment"),
        _payout(plans, roles, "baseline", "target").alias("payout_base"),
        _payout(plans, roles, "projected", "target_scn").alias("payout"),
    ).with_columns(
        (pl.col("attainment_base") >= 1).alias("at_quota_base"), (pl.col("attainment") >= 1).alias("at_quota"),
    ).collect()
    done = reps.lazy()
    teams, regions, totals = pl.collect_all([_rollup(done, "team"), _rollup(done, "region"), _totals(done)])
    return Result(reps, teams, regions, _summary(totals.row(0, named=True)), tuple(notes))


# ---------------------------------------------------------------- links


URL_KEYS = ("p_tgt", "p_win", "p_size", "p_cycle", "p_ovr", "p_hire", "p_ramp", "p_tset", "p_pipe")


def _num(value: float) -> str:
    return f"{value:g}"


def _quote(text: str) -> str:
    return urllib.parse.quote(text, safe=" ")


def to_query(sc: Scenario) -> dict[str, str]:
    """The scenario's inputs as p_ URL parameters (only those that differ from the default)."""
    out: dict[str, str] = {}
    for key, value in (("p_tgt", sc.target_change_pct), ("p_win", sc.win_rate_pct), ("p_size", sc.deal_size_pct),
                       ("p_cycle", sc.cycle_time_pct)):
        if value:
            out[key] = _num(value)
    items = [f"{level}:{_quote(k)}={_num(v)}" for level in LEVELS for k, v in sorted(sc.overrides(level).items())]
    if items:
        out["p_ovr"] = ";".join(items)
    hires = [f"{_quote(team)}={n}" for team, n in sorted(sc.new_reps.items()) if n]
    if hires:
        out["p_hire"] = ";".join(hires)
    if tuple(sc.ramp_pct) != DEFAULT_RAMP:
        out["p_ramp"] = ",".join(_num(v) for v in sc.ramp_pct)
    if sc.target_set:
        out["p_tset"] = sc.target_set
    if not sc.include_pipeline:
        out["p_pipe"] = "0"
    return out


def _float(raw: str, name: str) -> float:
    try:
        return float(raw)
    except ValueError:
        raise ScenarioError(name, f"must be a number, got '{raw}'") from None


def from_query(query: Mapping[str, str], base: Scenario) -> Scenario:
    """A scenario from p_ URL parameters on top of `base` (which supplies period and scope); checked."""
    over: dict[str, dict[str, float]] = {level: {} for level in LEVELS}
    for item in filter(None, query.get("p_ovr", "").split(";")):
        level, _, rest = item.partition(":")
        key, eq, value = rest.rpartition("=")
        if level not in LEVELS or not eq or not key:
            raise ScenarioError("p_ovr", f"'{item}' should look like team:NAME=5 (levels: {', '.join(LEVELS)})")
        over[level][urllib.parse.unquote(key)] = _float(value, f"p_ovr[{level}:{urllib.parse.unquote(key)}]")
    hires: dict[str, int] = {}
    for item in filter(None, query.get("p_hire", "").split(";")):
        team, eq, value = item.rpartition("=")
        # isascii too: "²".isdigit() is true but int("²") raises, which showed a traceback for such a link.
        if not eq or not team or not (value.strip().isascii() and value.strip().isdigit()):
            raise ScenarioError("p_hire", f"'{item}' should look like TEAM=2")
        hires[urllib.parse.unquote(team)] = int(value)
    ramp = base.ramp_pct
    if query.get("p_ramp"):
        ramp = tuple(_float(v, "p_ramp") for v in query["p_ramp"].split(",") if v.strip())
    sc = replace(
        base,
        target_change_pct=_float(query.get("p_tgt", "0") or "0", "p_tgt"),
        win_rate_pct=_float(query.get("p_win", "0") or "0", "p_win"),
        deal_size_pct=_float(query.get("p_size", "0") or "0", "p_size"),
        cycle_time_pct=_float(query.get("p_cycle", "0") or "0", "p_cycle"),
        region_change_pct=over["region"], team_change_pct=over["team"], rep_change_pct=over["rep"],
        new_reps=hires, ramp_pct=ramp, target_set=query.get("p_tset") or None,
        include_pipeline=query.get("p_pipe", "1") != "0",
    )
    return validate(sc)


def parse_ramp(text: str) -> tuple[float, ...]:
    """A ramp curve typed as '25, 50, 75, 100' (percent per month), checked."""
    parts = [p.strip().rstrip("%") for p in text.replace(";", ",").split(",") if p.strip()]
    values = tuple(_float(p, "ramp_pct") for p in parts)
    validate(Scenario(start=date(2000, 1, 1), end=date(2000, 1, 1), ramp_pct=values))
    return values


# ---------------------------------------------------------------- comparison


def inputs_table(sc: Scenario) -> list[tuple[str, str]]:
    """The scenario's inputs as (input, value) pairs, in a fixed order, for tables and exports."""
    def pct(v: float) -> str:
        # No leading + or - sign: spreadsheets would read the cell as a formula (export.py quotes it).
        return f"{v:g}%".replace("-", "−")

    def mapping(m: Mapping[str, object], suffix: str = "%") -> str:
        return "; ".join(f"{k}: {v:+g}{suffix}" if suffix else f"{k}: {v}" for k, v in sorted(m.items())) or "–"

    return [
        ("period", f"{sc.start} – {sc.end}"),
        ("snapshot", sc.snapshot or "latest"),
        ("scope", "; ".join(filter(None, [", ".join(sc.regions), ", ".join(sc.teams), ", ".join(sc.reps)])) or "all"),
        ("target_set", sc.target_set or "targets table"),
        ("target_change_pct", pct(sc.target_change_pct)),
        ("region_change_pct", mapping(sc.region_change_pct)),
        ("team_change_pct", mapping(sc.team_change_pct)),
        ("rep_change_pct", mapping(sc.rep_change_pct)),
        ("win_rate_pct", pct(sc.win_rate_pct)),
        ("deal_size_pct", pct(sc.deal_size_pct)),
        ("cycle_time_pct", pct(sc.cycle_time_pct)),
        ("new_reps", mapping({k: v for k, v in sc.new_reps.items() if v}, suffix="")),
        ("ramp_pct", ", ".join(f"{v:g}%" for v in sc.ramp_pct)),
        ("include_pipeline", "yes" if sc.include_pipeline else "no"),
        ("commission_plans", plans_fingerprint(sc.plans)),
    ]


def plans_fingerprint(raw: Mapping[str, object] | None) -> str:
    """A short description of embedded commission plans: base rate per role and a hash of the whole."""
    if raw is None:
        return "current plans file"
    plans = raw.get("plans", {})
    rates = ", ".join(f"{role} {table.get('base_rate_pct', '?')}%" for role, table in sorted(plans.items())
                      if isinstance(table, dict))
    digest = hashlib.sha1(json.dumps(raw, sort_keys=True, default=str).encode()).hexdigest()[:6]
    return f"{rates} (#{digest})"


def compare(named: list[tuple[str, Scenario, Result]]) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Outputs and inputs of 2-3 scenarios side by side, with each one's difference to the first."""
    names = [n for n, _, _ in named]
    first = names[0]
    outputs = pl.DataFrame({"measure": list(SUMMARY_KEYS)})
    for name, _, result in named:
        outputs = outputs.with_columns(
            pl.Series(name, [_as_float(result.summary.get(k)) for k in SUMMARY_KEYS], dtype=pl.Float64)
        )
    for name in names[1:]:
        outputs = outputs.with_columns((pl.col(name) - pl.col(first)).alias(f"{name} − {first}"))
    rows = {name: dict(inputs_table(sc)) for name, sc, _ in named}
    keys = [k for k, _ in inputs_table(named[0][1])]
    inputs = pl.DataFrame(
        {"input": keys, **{name: [rows[name][k] for k in keys] for name in names},
         "differs": [len({rows[name][k] for name in names}) > 1 for k in keys]}
    )
    return outputs, inputs


def _as_float(value: object) -> float | None:
    return None if value is None else float(value)


# ---------------------------------------------------------------- tables for people and exports

REP_COLS = ["rep_name", "team", "region", "role", "target_base", "target", "baseline", "projected", "attainment_base",
            "attainment", "payout_base", "payout"]
GROUP_COLS = ["quota_reps", "new_reps", "target_base", "target", "baseline", "projected", "attainment_base",
              "attainment", "at_quota_base", "at_quota", "payout_base", "payout"]


def rep_table(result: Result, lang: str) -> pl.DataFrame:
    """Per-rep results named as the team and region tables name them (target_base, target = scenario),
    with new reps named in the reader's language."""
    reps = result.reps
    if reps["new_hire"].any():
        names = {
            rep_id: t("whatif.new_hire_name", lang, n=rep_id.rsplit(":", 1)[1], team=team)
            for rep_id, team in reps.filter(pl.col("new_hire")).select("rep_id", "team").rows()
        }
        reps = reps.with_columns(pl.col("rep_id").replace_strict(names, default=pl.col("rep_name")).alias("rep_name"))
    return reps.rename({"target": "target_base"}).rename({"target_scn": "target"})


def column_label(col: str, lang: str) -> str:
    """The translated header of a result column."""
    return t("whatif.col.baseline_bookings" if col == "baseline" else f"whatif.col.{col}", lang)


def labelled(frame: pl.DataFrame, lang: str) -> pl.DataFrame:
    """A result frame with translated column names."""
    return frame.rename({c: column_label(c, lang) for c in frame.columns})


def export_tables(sc: Scenario, result: Result, lang: str) -> dict[str, pl.DataFrame]:
    """The scenario as workbook sheets: inputs, summary (numbers, not text), reps, teams, regions."""
    inputs = pl.DataFrame(
        {t("whatif.col.input", lang): [t(f"whatif.input.{k}", lang) for k, _ in [("name", ""), *inputs_table(sc)]],
         t("whatif.col.value", lang): [sc.name or "–", *(v for _, v in inputs_table(sc))]}
    )
    summary = pl.DataFrame(
        {t("whatif.col.measure", lang): [t(f"whatif.summary.{k}", lang) for k in SUMMARY_KEYS],
         t("whatif.col.value", lang): [_as_float(result.summary[k]) for k in SUMMARY_KEYS]},
        schema_overrides={t("whatif.col.value", lang): pl.Float64},
    )
    return {
        t("whatif.sheet.inputs", lang): inputs,
        t("whatif.sheet.summary", lang): summary,
        t("whatif.sheet.reps", lang): labelled(rep_table(result, lang).select(["rep_id", *REP_COLS, "change_pct"]),
                                               lang),
        t("whatif.sheet.teams", lang): labelled(result.teams.select(["team", "region", *GROUP_COLS]), lang),
        t("whatif.sheet.regions", lang): labelled(result.regions.select(["region", *GROUP_COLS]), lang),
    }

