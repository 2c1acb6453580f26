"""Streamlit's "magic" is off (.streamlit/config.toml): no page or entry script may rely on it.

With magic on, a bare expression on its own line (a name, a literal, an attribute; not a call) is written to the
page. With it off such a line would silently draw nothing, so none may exist.
"""

from __future__ import annotations

import ast
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[3]
SCRIPTS = [ROOT / "dashboard.py", ROOT / "serve.py", *sorted((ROOT / "pages").glob("*.py"))]


def _docstrings(tree: ast.Module) -> set[int]:
    """The docstring statements of a module and its functions and classes (magic leaves those alone)."""
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, (ast.Module, ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)) and node.body:
            first = node.body[0]
            if isinstance(first, ast.Expr) and isinstance(first.value, ast.Constant) and isinstance(first.value.value,
                                                                                                   str):
                found.add(id(first))
    return found


def magic_lines(source: str) -> list[int]:
    """The lines magic would write to the page: expression statements that are not calls, awaits or docstrings."""
    tree = ast.parse(source)
    docs = _docstrings(tree)
    return [node.lineno for node in ast.walk(tree) if isinstance(node, ast.Expr) and id(node) not in docs
            and not isinstance(node.value, (ast.Call, ast.Await, ast.Yield, ast.YieldFrom))]


def test_magic_is_off() -> None:
    config = tomllib.loads((ROOT / ".streamlit" / "config.toml").read_text(encoding="utf-8"))
    assert config["runner"]["magicEnabled"] is False


def test_no_script_has_a_line_magic_would_draw() -> None:
    found = {str(p.relative_to(ROOT)): magic_lines(p.read_text(encoding="utf-8")) for p in SCRIPTS}
    assert {name: lines for name, lines in found.items() if lines} == {}


def test_the_check_finds_such_lines() -> None:
    assert magic_lines('"""Doc."""\nx = 1\nx\n"shown"\nst.write(x)\ndef f():\n    """Doc."""\n    x.y\n') == [3, 4, 8]
