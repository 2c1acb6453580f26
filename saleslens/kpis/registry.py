"""KPI definitions in one place: label, format and plain-language definition.

Pages, the CLI and the Glossary read them from here; the SQL that computes them is
queries/kpis_by_group.sql, whose output columns carry the same keys.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Metric:
    """One KPI: its key (a query column), label key, format and definition key for translation."""

    key: str
    format: str  # money, percent, count, days, ratio
    higher_is_better: bool = True

    @property
    def label_key(self) -> str:
        """The translation key of the label."""
        return f"metric.{self.key}"

    @property
    def definition_key(self) -> str:
        """The translation key of the definition."""
        return f"metric.{self.key}.definition"


METRICS: dict[str, Metric] = {
    m.key: m
    for m in (
        Metric("bookings", "money"),
        Metric("target", "money"),
        Metric("attainment", "percent"),
        Metric("deals_won", "count"),
        Metric("deals_lost", "count", higher_is_better=False),
        Metric("win_rate", "percent"),
        Metric("avg_deal_size", "money"),
        Metric("cycle_days", "days", higher_is_better=False),
        Metric("open_deals", "count"),
        Metric("open_pipeline", "money"),
        Metric("weighted_pipeline", "money"),
        Metric("pipeline_coverage", "ratio"),
        Metric("activities", "count"),
    )
}

# Dimensions a user may group by: the allow-list the SQL's case expression implements.
GROUP_BY = ("org", "region", "team", "manager", "rep", "product", "segment", "source")
