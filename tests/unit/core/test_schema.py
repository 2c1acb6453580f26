"""The canonical schema: the generated documentation is current; conform() adds and rejects columns."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import polars as pl
import pytest

from saleslens.core import schema

DOC = Path(__file__).resolve().parents[3] / "docs" / "SCHEMA.md"


def test_docs_schema_is_current() -> None:
    assert DOC.exists(), "docs/SCHEMA.md is missing: run `python -m saleslens schema > docs/SCHEMA.md`"
    assert DOC.read_text(encoding="utf-8").rstrip("\n") == schema.markdown().rstrip("\n"), (
        "docs/SCHEMA.md is out of date: run `python -m saleslens schema > docs/SCHEMA.md`"
    )


def test_markdown_has_every_table_and_column() -> None:
    text = schema.markdown()
    for table in schema.TABLES.values():
        assert f"## {table.name}\n" in text
        for column in table.columns:
            assert f"| `{column.name}` |" in text


def test_tables_are_well_formed() -> None:
    assert set(schema.SNAPSHOT_TABLES) | set(schema.EVENT_TABLES) == set(schema.TABLES)
    assert set(schema.CORE_TABLES) <= set(schema.SNAPSHOT_TABLES)
    for table in schema.TABLES.values():
        names = [c.name for c in table.columns]
        assert len(names) == len(set(names)), table.name
        assert set(table.key) <= set(table.required), f"{table.name}: key columns must be required"
        assert all(c.meaning for c in table.columns), table.name
        if table.event_time:
            assert table.event_time in table.required


def test_conform_adds_missing_optional_columns_casts_and_orders() -> None:
    raw = pl.DataFrame({
        "extra": [1],  # unknown columns are dropped
        "name": ["Ann"], "rep_id": ["R1"], "role": ["AE"], "active": [True],
        "hire_date": ["2026-01-05"],
    })
    out = schema.conform("reps", raw.with_columns(pl.col("hire_date").str.to_date()))
    assert out.columns == [c.name for c in schema.REPS.columns]
    assert out.schema == pl.Schema(schema.REPS.polars_schema)
    assert out.row(0, named=True) == {
        "rep_id": "R1", "name": "Ann", "role": "AE", "team": None, "manager_id": None, "region": None,
        "hire_date": date(2026, 1, 5), "leave_date": None, "active": True,
    }


def test_conform_casts_numbers() -> None:
    raw = pl.DataFrame({"stage": ["Won"], "position": [3.0], "is_won": [True], "is_lost": [False],
                        "probability": [1]})
    out = schema.conform("stages", raw)
    assert out.schema["position"] == pl.Int64 and out.schema["probability"] == pl.Float64


@pytest.mark.parametrize(
    ("table", "drop", "message"),
    [
        ("opportunities", ["stage"], "opportunities: missing required column(s) stage"),
        ("reps", ["rep_id", "active"], "reps: missing required column(s) rep_id, active"),
    ],
)
def test_conform_rejects_missing_required_columns(table: str, drop: list[str], message: str) -> None:
    full = schema.empty_frame(table)
    with pytest.raises(ValueError) as exc:
        schema.conform(table, full.drop(drop))
    assert str(exc.value) == message
