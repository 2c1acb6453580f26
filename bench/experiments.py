"""Proposed performance changes, applied in the benchmark process only, to measure what they would save.

`python -m bench.run --experiments plain_scope,default_template` times the pages a second time with these
patches in place. Nothing here changes the app; each patch stands for a small edit to the named file,
described in its docstring, and produces the same results as the code it replaces.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path


def plain_scope() -> None:
    """queries/runner.py: when the viewer sees everyone, scoped views are plain `select * from raw_x`.

    Today every row of reps, opportunities, activities and leads is tested against
    `(select everyone from scope_all) or col in (select rep_id from scope_reps)`, which DuckDB cannot push into
    the Parquet scan: 9.7M activity rows are filtered one by one on the L data. The scope is known when the
    views are created, so the predicate can be left out for everyone (and be a plain semi-join otherwise).
    Views whose filter is not about scope (targets, stage_changes, payments) stay as they are.
    """
    from queries import runner

    for table in ("reps", "opportunities", "activities", "leads"):
        runner._SCOPED_VIEWS[table] = f"select * from raw_{table}"


def default_template() -> None:
    """saleslens/charts.py: set `plotly.io.templates.default = "plotly_white"` once instead of per figure.

    `fig.update_layout(template="plotly_white")` validates and copies the whole template on every figure
    (about 25 ms of CPU each); as the default template the output JSON is identical and costs about 2 ms.
    """
    import plotly.graph_objects as go
    import plotly.io as pio

    pio.templates.default = "plotly_white"
    original = go.Figure.update_layout

    def update_layout(self, dict1=None, overwrite=False, **kwargs):
        if kwargs.get("template") == "plotly_white":
            kwargs.pop("template")
        return original(self, dict1, overwrite, **kwargs)

    go.Figure.update_layout = update_layout


def query_rewrites() -> None:
    """queries/*.sql: the prototypes in bench/sql/ replace the queries of the same name (same results).

    bench/sql/kpis_by_group.sql differs from queries/kpis_by_group.sql in three places: activities are compared
    as timestamps (`occurred_at >= ts_start and occurred_at < ts_end`, so DuckDB prunes row groups, where
    `cast(occurred_at as date) between` reads all 9.7M rows), counted per rep before the join to the groups,
    and the deals CTE keeps only the period's deals and the columns used, instead of materialising all of
    them with `d.*`.
    """
    from dataclasses import replace

    from queries import catalog

    for path in sorted((Path(__file__).parent / "sql").glob("*.sql")):
        known = catalog.catalog()
        if path.stem in known:
            known[path.stem] = replace(known[path.stem], sql=path.read_text(encoding="utf-8"))


EXPERIMENTS: dict[str, Callable[[], None]] = {
    "plain_scope": plain_scope, "default_template": default_template, "query_rewrites": query_rewrites,
}


def apply(names: list[str]) -> None:
    """Apply the named patches (unknown names raise KeyError, listing the known ones)."""
    for name in names:
        if name not in EXPERIMENTS:
            raise KeyError(f"unknown experiment '{name}' (one of {', '.join(EXPERIMENTS)})")
        EXPERIMENTS[name]()
