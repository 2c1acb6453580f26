"""The Glossary's rows: every registered KPI with its definition, format, direction and where it is computed."""

from __future__ import annotations

from saleslens.core.i18n import t
from saleslens.kpis.registry import REGISTRY, Computed, Kpi


def where(c: Computed, lang: str) -> str:
    """One place a KPI is computed: query.column (grain), naming the library function that completes it."""
    via = f" + {c.via.rsplit('.', 1)[-1]}()" if c.via else ""
    return f"{c.query}.{c.column}{via} ({t(f'kpi.grain.{c.grain}', lang)})"


def row(kpi: Kpi, lang: str) -> dict[str, str]:
    """One KPI's Glossary row, columns named in the language."""
    scorecard = kpi.scorecard_definition_key
    return {
        t("glossary.metric", lang): t(kpi.label_key, lang),
        t("glossary.definition", lang): t(kpi.definition_key, lang),
        t("glossary.format", lang): t(f"format.{kpi.format}", lang),
        t("glossary.better", lang): t("glossary.higher" if kpi.higher_is_better else "glossary.lower", lang),
        t("glossary.computed", lang): "; ".join(where(c, lang) for c in kpi.computed),
        # Only the scorecards' own wording (ramp-adjusted targets, flags); empty where it is the definition.
        t("glossary.scorecard", lang): t(scorecard, lang) if scorecard != kpi.definition_key else "",
    }


def rows(lang: str) -> list[dict[str, str]]:
    """Every registered KPI's row, in registry order."""
    return [row(k, lang) for k in REGISTRY.values()]
