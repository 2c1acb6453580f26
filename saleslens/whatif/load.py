"""What the What-if page draws, computed from a DataContext and the page's widget choices.

pages/whatif.py reads its widgets into `Choices`, calls `load_setup` (the per-rep base and what the
input widgets offer) and `load` (the scenario, its numbers and charts), then one small load per tab,
only for the open tab. bench/pages.py calls the same functions, so the benchmark times the page's work.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import date

import plotly.graph_objects as go
import polars as pl

from saleslens.core import export, i18n, pymap
from saleslens.core.context import DataContext
from saleslens.core.filters import Filters
from saleslens.core.i18n import t
from saleslens.targets import forecast as fm
from saleslens.whatif import charts as charts_whatif
from saleslens.whatif import commission, scenarios
from saleslens.whatif import store as scenario_store
from saleslens.whatif.scenarios import Result, Scenario, ScenarioError

MONEY, PCT, COUNT = "money", "percent", "count"
KIND = {
    "reps": COUNT, "quota_reps_base": COUNT, "quota_reps": COUNT, "new_reps": COUNT, "at_quota_base": COUNT,
    "at_quota": COUNT, "attainment_base": PCT, "attainment": PCT, "share_at_quota_base": PCT,
    "share_at_quota": PCT, "commission_share_base": PCT, "commission_share": PCT,
}


def fmt(kind: str, value: object, lang: str) -> str:
    """A number for people: money, percent or count."""
    return i18n.fmt(kind, value, lang)


def signed(kind: str, value: float | None, lang: str) -> str:
    """A difference with its sign; percentages as points."""
    if value is None:
        return "–"
    if abs(value) < 1e-9:
        return "±0"
    if kind == PCT:
        return f"{value * 100:+.1f} pt"
    sign = "+" if value > 0 else ""
    return sign + fmt(kind, value, lang)


# ---------------------------------------------------------------- before the widgets


@dataclass(frozen=True)
class Setup:
    """The per-rep base of the filtered period and what the input widgets offer."""

    base: pl.DataFrame
    target_sets: list[str]
    quota_teams: list[str]  # teams with a quota carrier: where new reps can be added
    no_targets: bool


def load_setup(ctx: DataContext) -> Setup | None:
    """The base query for the shared filters; None when no period is chosen or no rep is in it."""
    f = ctx.filters
    if f.start is None or f.end is None:
        return None
    base = ctx.run("whatif_base_by_rep", start=f.start, end=f.end, **f.org_params())
    if base.height == 0:
        return None
    base = with_model_pipeline(ctx.runner, base, f.start, f.end, f.regions, f.teams, f.reps)
    teams = sorted(base.filter(pl.col("target").is_not_null())["team"].drop_nulls().unique().to_list())
    return Setup(base, scenario_store.target_set_names(ctx.data_dir), teams, bool(base["target"].is_null().all()))


def option_labels(base: pl.DataFrame, lang: str) -> dict[str, tuple[str, str]]:
    """What an override can apply to: label -> (level, key), regions, then teams, then reps."""
    out: dict[str, tuple[str, str]] = {}
    for region in sorted(base["region"].drop_nulls().unique().to_list()):
        out[f"{t('whatif.level.region', lang)}: {region}"] = ("region", region)
    for team in sorted(base["team"].drop_nulls().unique().to_list()):
        out[f"{t('whatif.level.team', lang)}: {team}"] = ("team", team)
    carriers = base.filter(pl.col("target").is_not_null()).select("rep_id", "rep_name").sort("rep_name")
    for rep_id, name in carriers.rows():
        out[f"{t('whatif.level.rep', lang)}: {name} ({rep_id})"] = ("rep", rep_id)
    return out


# ---------------------------------------------------------------- the scenario


@dataclass(frozen=True)
class Choices:
    """The page's inputs besides the shared filters: sliders, tables, plans and the chart grouping."""

    name: str = ""
    target_set: str | None = None
    target_change_pct: float = 0.0
    win_rate_pct: float = 0.0
    deal_size_pct: float = 0.0
    cycle_time_pct: float = 0.0
    region_change_pct: Mapping[str, float] = field(default_factory=dict)
    team_change_pct: Mapping[str, float] = field(default_factory=dict)
    rep_change_pct: Mapping[str, float] = field(default_factory=dict)
    new_reps: Mapping[str, int] = field(default_factory=dict)
    ramp_pct: tuple[float, ...] = scenarios.DEFAULT_RAMP
    include_pipeline: bool = True
    plans_upload: tuple[str, str] | None = None  # (file name, text) of an uploaded plans file
    plans_saved: tuple[Mapping[str, object], str] | None = None  # (plans, scenario name) of an opened scenario
    group_by: str = "team"


@dataclass(frozen=True)
class View:
    """Everything the page draws above its tabs; error set (and the rest empty) when it cannot compute."""

    error: str | None = None
    upload_error: str | None = None  # the uploaded plans file is bad: said, and the other plans used
    plans: commission.Plans | None = None
    plans_note: str = ""
    scenario: Scenario | None = None  # set once the plans are read, even when the scenario is refused
    result: Result | None = None
    warnings: list[str] = field(default_factory=list)
    baseline_note: str = ""
    histogram: go.Figure | None = None
    groups_chart: go.Figure | None = None
    query: dict[str, str] = field(default_factory=dict)  # the scenario's p_ URL parameters


def plans_in_use(ctx: DataContext, choices: Choices) -> tuple[commission.Plans, str, str | None]:
    """The commission plans: an uploaded file, else those saved with an opened scenario, else the file.

    Returns the plans, a note saying where they come from, and the error of a bad upload (then ignored).
    """
    lang, upload_error = ctx.lang, None
    if choices.plans_upload:
        name, text = choices.plans_upload
        try:
            return commission.parse_text(text, name), t("whatif.plans_uploaded", lang, name=name), None
        except commission.CommissionError as exc:
            # Tell what is wrong with the uploaded file and carry on with the plans in use without it.
            upload_error = t("whatif.bad_upload", lang, name=name, error=str(exc))
    if choices.plans_saved:
        raw, name = choices.plans_saved
        plans = commission.parse(raw, t("whatif.plans_of", lang, name=name))
        return plans, t("whatif.plans_saved", lang, name=name), upload_error
    path = commission.default_path(ctx.data_dir)
    shown = path.relative_to(commission.DEFAULT_PATH.parent.parent) if path == commission.DEFAULT_PATH else path
    return commission.load(path), t("whatif.plans_file", lang, path=str(shown)), upload_error


def scenario_of(ctx: DataContext, choices: Choices, plans: commission.Plans) -> Scenario:
    """The scenario on screen: the choices over the shared filters' period and scope."""
    f = ctx.filters
    return Scenario(
        name=choices.name, start=f.start, end=f.end, snapshot=ctx.snapshot.id, regions=f.regions, teams=f.teams,
        reps=f.reps, target_set=choices.target_set or None, target_change_pct=choices.target_change_pct,
        win_rate_pct=choices.win_rate_pct, deal_size_pct=choices.deal_size_pct,
        cycle_time_pct=choices.cycle_time_pct, new_reps=choices.new_reps, ramp_pct=choices.ramp_pct,
        include_pipeline=choices.include_pipeline, plans=dict(plans.raw),
        region_change_pct=choices.region_change_pct, team_change_pct=choices.team_change_pct,
        rep_change_pct=choices.rep_change_pct,
    )


def with_model_pipeline(runner: fm.RunsQueries, base: pl.DataFrame, start: date, end: date,
                        regions: Sequence[str] = (), teams: Sequence[str] = (), reps: Sequence[str] = ()
                        ) -> pl.DataFrame:
    """The base with weighted_pipeline = the one forecast's expected bookings per rep beyond what has closed.

    While the period is running (it holds the snapshot day) each rep's open deals count at the model's chance of
    closing won by the period's end, plus the rep's share of new business (saleslens.targets.forecast), so the
    baseline (bookings + weighted_pipeline) is the forecast the Targets page shows. A period that has not
    started keeps the stage-probability weighting of the base query: the model learns "won by period end" from
    the day it is asked, not from a later start.
    """
    as_of = runner.snapshot.as_of
    if base.is_empty() or not (start <= as_of <= end):
        return base
    out = fm.model_forecast(runner, Filters(regions=tuple(regions), teams=tuple(teams), reps=tuple(reps)),
                            period=(start, end))
    per_rep = out.by_owner.select(pl.col("owner_id").alias("rep_id"),
                                  (pl.col("from_open") + pl.col("new")).alias("_model"))
    return base.join(per_rep, on="rep_id", how="left").with_columns(
        pl.col("_model").fill_null(0.0).alias("weighted_pipeline")).drop("_model")


def plain_base(ctx: DataContext, sc: Scenario) -> pl.DataFrame:
    """The cached per-rep base of a scenario's period and scope, with the snapshot's targets and the forecast."""
    base = ctx.run("whatif_base_by_rep", start=sc.start, end=sc.end, regions=list(sc.regions),
                   teams=list(sc.teams), reps=list(sc.reps))
    return with_model_pipeline(ctx.runner, base, sc.start, sc.end, sc.regions, sc.teams, sc.reps)


def with_target_set(ctx: DataContext, sc: Scenario, base: pl.DataFrame) -> pl.DataFrame:
    """The base with the scenario's target set in place of the snapshot's targets, when it names one."""
    if not sc.target_set:
        return base
    targets = scenario_store.target_set_targets(ctx.data_dir, sc.target_set, sc.start, sc.end)
    return scenario_store.with_targets(base, targets)


def base_for(ctx: DataContext, sc: Scenario) -> pl.DataFrame:
    """The cached per-rep base of a scenario's period and scope, with its target set applied."""
    return with_target_set(ctx, sc, plain_base(ctx, sc))


def result_of(ctx: DataContext, sc: Scenario, plans: commission.Plans) -> Result:
    """A saved scenario's outputs, with the commission plans saved with it when it has them."""
    own = commission.parse(sc.plans, sc.name) if sc.plans is not None else plans
    return scenarios.compute(base_for(ctx, sc), sc, own, ctx.snapshot.as_of)


def baseline_note(ctx: DataContext, sc: Scenario, base: pl.DataFrame, plans_note: str) -> str:
    """What the baseline counts: bookings won, plus weighted open pipeline while the period is open."""
    lang = ctx.lang
    open_period = sc.end >= ctx.snapshot.as_of
    pipeline = base["weighted_pipeline"].sum() if open_period and sc.include_pipeline else 0.0
    return t("whatif.baseline_open" if pipeline else "whatif.baseline_closed", lang,
             won=fmt(MONEY, base["bookings"].sum(), lang), pipeline=fmt(MONEY, pipeline, lang)) + " " + plans_note


def load(ctx: DataContext, choices: Choices) -> View:
    """The scenario of the choices computed on the filtered base: numbers, notes, the two charts, the link."""
    lang = ctx.lang
    try:
        plans, plans_note, upload_error = plans_in_use(ctx, choices)
    except commission.CommissionError as exc:
        return View(error=t("whatif.bad_plans", lang, error=str(exc)))
    sc = scenario_of(ctx, choices, plans)
    view = View(upload_error=upload_error, plans=plans, plans_note=plans_note, scenario=sc)
    base = plain_base(ctx, sc)  # the period and scope of the shared filters: a cache hit after load_setup
    try:
        result = scenarios.compute(with_target_set(ctx, sc, base), sc, plans, ctx.snapshot.as_of)
    except ScenarioError as exc:
        return replace(view, error=t("whatif.bad_input", lang, error=str(exc)))
    by = choices.group_by
    groups = result.teams if by == "team" else result.regions
    return replace(
        view, result=result, query=scenarios.to_query(sc),
        warnings=[scenarios.note_text(note, lang) for note in result.warnings],
        baseline_note=baseline_note(ctx, sc, base, plans_note),
        histogram=charts_whatif.attainment_histogram(result.reps, lang),
        groups_chart=charts_whatif.bookings_by_group(groups, by, t(f"whatif.level.{by}", lang), lang),
    )


def capped_reps(reps: pl.DataFrame, plans: commission.Plans) -> int:
    """How many reps' scenario payouts are held at their plan's cap (a multiple of base rate x scenario target)."""
    n = 0
    for row in reps.filter(pl.col("payout").is_not_null() & (pl.col("target_scn") > 0)).iter_rows(named=True):
        plan = plans.plans.get(row["role"])
        if plan is not None and plan.cap_multiple is not None:
            # The payout equals the cap when the cap cut it (a tolerance for float sums).
            n += row["payout"] >= plan.cap_multiple * plan.base_rate * row["target_scn"] - 0.005
    return n


def target_notes(view: View, lang: str) -> tuple[str | None, str | None]:
    """One line each under the attainment and the commission tiles when the scenario moves targets: why company
    attainment stays put (it is against the plan of record), and why lower targets can cost less (the cap)."""
    s = view.result.summary if view.result else None
    if s is None or s["company_target"] is None or abs((s["target_total"] or 0) - s["company_target"]) < 0.5:
        return None, None
    attainment = t("whatif.note.attainment", lang, value=fmt(PCT, s["attainment"], lang),
                   target=fmt(MONEY, s["company_target"], lang))
    cost = None
    cheaper = s["commission"] is not None and s["commission_base"] is not None and \
        s["commission"] < s["commission_base"] - 0.5
    if cheaper and s["target_total"] < s["company_target"] and view.plans is not None:
        n = capped_reps(view.result.reps, view.plans)
        held = i18n.plural(n, t("whatif.note.held_one", lang, n=n), t("whatif.note.held_other", lang, n=n), lang)
        cost = t("whatif.note.commission_cap", lang, held=held)
    return attainment, cost


def excel(view: View, lang: str) -> bytes:
    """The scenario as a workbook: inputs, summary, reps, teams, regions (built only when downloaded)."""
    return export.to_excel(scenarios.export_tables(view.scenario, view.result, lang))


# ---------------------------------------------------------------- the tabs, each only while open


def load_reps(view: View, lang: str) -> pl.DataFrame:
    """The Reps tab: one row per rep, best attainment first, columns translated."""
    reps = scenarios.rep_table(view.result, lang).sort("attainment", descending=True, nulls_last=True)
    return scenarios.labelled(reps.select(scenarios.REP_COLS), lang)


def load_groups(view: View, lang: str) -> list[tuple[str, list[str], pl.DataFrame]]:
    """The Teams and regions tab: (level, result columns, translated table) for teams, then regions."""
    out = []
    for level, frame in (("team", view.result.teams), ("region", view.result.regions)):
        cols = [level, *(["region"] if level == "team" else []), *scenarios.GROUP_COLS]
        out.append((level, cols, scenarios.labelled(frame.select(cols), lang)))
    return out


@dataclass(frozen=True)
class Commission:
    """The Commission tab: the quota carriers to explain (largest payout first) and the plans."""

    carriers: pl.DataFrame
    plans_table: pl.DataFrame


def load_commission(view: View, lang: str) -> Commission:
    """The Commission tab's carriers and plans table."""
    carriers = scenarios.rep_table(view.result, lang).filter(pl.col("target").is_not_null()).sort(
        "payout", descending=True, nulls_last=True)
    return Commission(carriers, commission.plans_table(view.plans, lang))


@dataclass(frozen=True)
class Explained:
    """One rep's payout step by step: the plan, then per (title, table or None) baseline and scenario."""

    role: str
    description: str
    new_hire: bool
    steps: list[tuple[str, pl.DataFrame | None]]


def explain_rep(view: View, carriers: pl.DataFrame, rep_id: str, lang: str) -> Explained:
    """The payout of one chosen rep, baseline and scenario (None where there is nothing to explain)."""
    row = carriers.filter(pl.col("rep_id") == rep_id).row(0, named=True)
    plan = view.plans.plan(row["role"])
    steps = []
    for title, bookings, target in (
        (t("whatif.col.baseline", lang), row["baseline"], row["target_base"]),
        (t("whatif.col.scenario", lang), row["projected"], row["target"]),
    ):
        explained = plan.explain(bookings, target)
        steps.append((title, commission.describe(explained, plan, lang) if explained else None))
    return Explained(row["role"], plan.description, bool(row["new_hire"]), steps)


@dataclass(frozen=True)
class Comparison:
    """The Compare tab: outputs side by side with differences, the inputs, and scenarios that failed."""

    errors: list[str]
    outputs: pl.DataFrame | None = None  # None: fewer than two scenarios to compare
    inputs: pl.DataFrame | None = None


def load_compare(ctx: DataContext, view: View, chosen: list[str], with_current: bool) -> Comparison:
    """Two or three scenarios side by side: the one on screen (if asked) and the chosen saved ones."""
    lang = ctx.lang
    named: list[tuple[str, Scenario, Result]] = []
    errors = []
    if with_current:
        named.append((t("whatif.on_screen", lang), view.scenario, view.result))
    for name in chosen:
        try:
            sc = scenario_store.load(ctx.data_dir, name, who=getattr(ctx, "grant", None))
            named.append((name, sc, result_of(ctx, sc, view.plans)))
        except (ValueError, commission.CommissionError) as exc:
            errors.append(t("whatif.open_failed", lang, name=name, error=str(exc)))
    if len(named) < 2:
        return Comparison(errors)
    outputs, inputs = scenarios.compare(named)
    first = named[0][0]
    shown = []
    for row in outputs.to_dicts():
        kind = KIND.get(row["measure"], MONEY)
        item = {t("whatif.col.measure", lang): t(f"whatif.summary.{row['measure']}", lang)}
        for name, _, _ in named:
            item[name] = fmt(kind, row[name], lang)
        for name, _, _ in named[1:]:
            item[t("whatif.compare_diff", lang, name=name, first=first)] = signed(kind, row[f"{name} − {first}"], lang)
        shown.append(item)
    # Labels made on this thread, not with map_elements: a Python function in Polars' pool can deadlock (pymap).
    table = inputs.with_columns(pymap.map_values(inputs["input"], lambda k: t(f"whatif.input.{k}", lang), pl.String))
    table = table.with_columns(pl.col("differs").replace_strict({True: "≠", False: ""}, return_dtype=pl.String))
    table = table.rename({"input": t("whatif.col.input", lang), "differs": t("whatif.col.differs", lang)})
    return Comparison(errors, pl.DataFrame(shown), table)
