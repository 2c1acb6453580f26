"""The one KPI registry, read from saleslens/kpis/kpis.toml: format, direction, grains, SQL and tests of every KPI.

Labels and definitions are the translations metric.<key> and metric.<key>.definition (saleslens/kpis/strings.toml),
so t() finds them like any other text. METRICS (the KPIs of kpis_by_group) and GROUP_BY stay as views for the
many callers; scorecards.KPIS is built from SCORECARD. docs/KPIS.md explains how to add a KPI.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from pathlib import Path

import polars as pl

from saleslens.core import i18n

REGISTRY_FILE = Path(__file__).with_name("kpis.toml")
FORMATS = ("money", "percent", "count", "days", "ratio")
KINDS = ("leading", "lagging")


@dataclass(frozen=True)
class Computed:
    """Where a KPI is computed at one grain: a named query's output column, and the test that checks it."""

    grain: str  # group (kpis_by_group: org or a GROUP_BY dimension), rep (scorecards), org
    query: str
    column: str
    test: str  # path::function of the literal-row test
    via: str | None = None  # the library function that adds the column to the query's result, if any


@dataclass(frozen=True)
class Kpi:
    """One KPI as registered: its key (a query column and URL value), format, direction and where it is computed."""

    key: str
    format: str  # money, percent, count, days, ratio
    higher_is_better: bool = True
    kind: str | None = None  # leading or lagging (scorecard KPIs)
    target_metric: str | None = None  # the targets.metric that sets a target for it
    sample: str | None = None  # the column counting the deals (or moves, leads) behind a rate
    min_sample: int | None = None  # fewer than this in `sample`: the rate is flagged
    ratio: tuple[str, str] | None = None  # (numerator, denominator) columns
    computed: tuple[Computed, ...] = ()

    @property
    def label_key(self) -> str:
        """The translation key of the label."""
        return f"metric.{self.key}"

    @property
    def definition_key(self) -> str:
        """The translation key of the definition."""
        return f"metric.{self.key}.definition"

    @property
    def scorecard_definition_key(self) -> str:
        """The definition's key at the rep grain: the scorecards' own wording (targets, flags) where it has one."""
        key = f"metric.{self.key}.scorecard"
        return key if key in i18n.catalog() else self.definition_key

    @property
    def grains(self) -> tuple[str, ...]:
        """The grains it is computed at."""
        return tuple(c.grain for c in self.computed)

    def at(self, grain: str) -> Computed | None:
        """Where it is computed at a grain, if it is."""
        return next((c for c in self.computed if c.grain == grain), None)


def _kpi(key: str, spec: dict) -> Kpi:
    """A Kpi from its table in kpis.toml."""
    fields = {k: v for k, v in spec.items() if k not in ("computed", "ratio")}
    ratio = tuple(spec["ratio"]) if "ratio" in spec else None
    computed = tuple(Computed(**c) for c in spec.get("computed", ()))
    return Kpi(key=key, ratio=ratio, computed=computed, **fields)


def load(path: Path = REGISTRY_FILE) -> tuple[dict[str, Kpi], tuple[str, ...]]:
    """Every registered KPI by key, in file order, and the scorecard KPIs' keys in scorecard order."""
    with path.open("rb") as fh:
        data = tomllib.load(fh)
    kpis = {key: _kpi(key, spec) for key, spec in data["kpi"].items()}
    return kpis, tuple(data["scorecard"]["kpis"])


REGISTRY, SCORECARD = load()
# The Overview's KPIs: the columns of kpis_by_group, in its order (selectboxes, tables, ?metric= values).
METRICS: dict[str, Kpi] = {k: m for k, m in REGISTRY.items() if m.at("group")}

# Dimensions a user may group by: the allow-list the SQL's case expression implements.
GROUP_BY = ("org", "region", "team", "manager", "rep", "product", "segment", "source")


def ratio_expr(key: str) -> pl.Expr:
    """A ratio KPI from its two columns, empty (not infinite) where the denominator is 0, as the SQL's nullif."""
    num, den = REGISTRY[key].ratio
    return (pl.col(num) / pl.when(pl.col(den) != 0).then(pl.col(den))).alias(key)
