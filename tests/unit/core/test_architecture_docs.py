"""docs/ARCHITECTURE.md stays true: every file it names exists, every page it lists is routed, pages stay thin."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[3]
DOC = (ROOT / "docs" / "ARCHITECTURE.md").read_text(encoding="utf-8")
# Backticked paths with a file extension and no placeholder (<feature>, <name>).
PATHS = sorted({p for p in re.findall(r"`([\w./-]+\.(?:py|toml|sql|md))`", DOC) if "/" in p or p.endswith(".py")})
PAGE_ROWS = re.findall(r"^\| [^|]+ \| `(pages/\w+\.py)` \| `(saleslens/\w+/)` \| `([\w/.]+)` \|$", DOC, re.M)
MAX_TOP_LEVEL_LINES = 150


def _top_level_lines(path: Path) -> int:
    """Lines of a module's top-level statements other than imports, defs, classes and the docstring."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    skip = (ast.Import, ast.ImportFrom, ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)
    body = tree.body[1:] if ast.get_docstring(tree) else tree.body
    return sum(node.end_lineno - node.lineno + 1 for node in body if not isinstance(node, skip))


# A bare module name in the map stands in the root or in the shared packages it is listed under.
BARE_HOMES = (ROOT, ROOT / "saleslens" / "core", ROOT / "saleslens" / "kpis")


@pytest.mark.parametrize("path", PATHS)
def test_every_file_the_map_names_exists(path: str) -> None:
    homes = BARE_HOMES if "/" not in path else (ROOT,)
    assert any((home / path).is_file() for home in homes), f"docs/ARCHITECTURE.md names {path}, which does not exist"


def test_every_page_is_in_the_table_and_routed() -> None:
    listed = {row[0] for row in PAGE_ROWS}
    assert listed == {f"pages/{p.name}" for p in (ROOT / "pages").glob("*.py")}
    routed = (ROOT / "dashboard.py").read_text(encoding="utf-8")
    for page, package, load in PAGE_ROWS:
        assert f'"{page}"' in routed, f"{page} is not in dashboard.py's st.navigation"
        assert (ROOT / package).is_dir() and (ROOT / load).is_file()


@pytest.mark.parametrize("page", sorted(p.name for p in (ROOT / "pages").glob("*.py")))
def test_pages_are_thin(page: str) -> None:
    """Pages read widgets, call load and render: no SQL, no duckdb, at most 150 lines outside functions."""
    path = ROOT / "pages" / page
    text = path.read_text(encoding="utf-8")
    assert "import duckdb" not in text and not re.search(r"\bselect\b.+\bfrom\b", text, re.I)
    assert _top_level_lines(path) <= MAX_TOP_LEVEL_LINES


def test_at_most_twelve_top_level_modules_besides_the_feature_packages() -> None:
    modules = [p.name for p in (ROOT / "saleslens").glob("*.py")]
    assert len(modules) <= 12, modules
