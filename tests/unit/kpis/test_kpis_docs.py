"""docs/KPIS.md stays true: the files and names its walkthrough points to exist, its example registers as written,
and it documents every field of the registry."""

from __future__ import annotations

import ast
import dataclasses
import re
import tomllib
from pathlib import Path

import pytest

from queries import catalog
from saleslens.kpis import registry
from saleslens.rankings import scorecards

ROOT = Path(__file__).resolve().parents[3]
DOC = (ROOT / "docs" / "KPIS.md").read_text(encoding="utf-8")
WALKTHROUGH = DOC.split("## Walkthrough")[1]
FIELDS = DOC.split("## The fields")[1].split("## Views")[0]
# A backticked file path: has a slash and a file extension, no placeholder such as <key> or *.
PATHS = sorted({p for p in re.findall(r"`([\w./-]+/[\w.-]+\.\w+)`", DOC)})


def _module_names(path: Path) -> set[str]:
    """The top-level functions, classes and assigned names of a Python file."""
    names = set()
    for node in ast.parse(path.read_text(encoding="utf-8")).body:
        if isinstance(node, ast.FunctionDef | ast.ClassDef):
            names.add(node.name)
        elif isinstance(node, ast.Assign | ast.AnnAssign):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            names.update(t.id for t in targets if isinstance(t, ast.Name))
    return names


def test_the_document_names_files() -> None:
    assert "saleslens/kpis/kpis.toml" in PATHS and "tests/unit/kpis/test_registry.py" in PATHS


@pytest.mark.parametrize("path", PATHS)
def test_every_file_the_document_names_exists(path: str) -> None:
    assert (ROOT / path).is_file(), f"docs/KPIS.md names {path}, which does not exist"


def test_walkthrough_names_exist() -> None:
    """The test names, views and queries the walkthrough tells a reader to edit or run."""
    assert {"COLUMNS", "BY_DIMENSION_H1", "test_kpis_by_group_first_half"} <= _module_names(
        ROOT / "tests/unit/kpis/test_kpis.py")
    assert "DEFAULT_WEIGHTS" in _module_names(ROOT / "saleslens/rankings/scorecards.py")
    for name in re.findall(r"`registry\.(\w+)", DOC):
        assert hasattr(registry, name), f"docs/KPIS.md names registry.{name}"
    for query in ("kpis_by_group", "scorecard_kpis_by_rep", "velocity_by_outcome"):
        assert f"`{query}" in DOC
        catalog.get(query)
    assert "[scorecard]" in WALKTHROUGH


def test_walkthrough_example_registers_as_written() -> None:
    """The walkthrough's TOML block is a valid registry entry whose test id points to a real test."""
    block = re.findall(r"```toml\n(.*?)```", WALKTHROUGH, re.S)
    assert len(block) == 1
    (key, spec), = tomllib.loads(block[0])["kpi"].items()
    kpi = registry._kpi(key, spec)
    assert (kpi.key, kpi.format, kpi.higher_is_better, kpi.grains) == ("lost_amount", "money", False, ("group",))
    path, _, function = kpi.computed[0].test.partition("::")
    assert function in _module_names(ROOT / path)
    assert f"`metric.{key}`" in WALKTHROUGH and f"`metric.{key}.definition`" in WALKTHROUGH


@pytest.mark.parametrize(
    "field", [f.name for f in dataclasses.fields(registry.Kpi) if f.name not in ("key", "computed")]
    + [f.name for f in dataclasses.fields(registry.Computed)],
)
def test_every_registry_field_is_documented(field: str) -> None:
    assert f"`{field}`" in FIELDS, f"docs/KPIS.md does not explain the field {field}"


def test_scorecard_views_named_in_the_document_exist() -> None:
    assert "`scorecards.KPIS`" in DOC and scorecards.KPIS
