"""Settings: one documented table, each setting overridable by its environment variable."""

from __future__ import annotations

from pathlib import Path

import pytest

from saleslens.core import settings

ROOT = Path(__file__).resolve().parents[3]
README = ROOT / "README.md"


def test_names_are_unique_and_well_formed() -> None:
    names = [s.name for s in settings.SETTINGS]
    assert len(names) == len(set(names))
    for s in settings.SETTINGS:
        assert s.name.isidentifier() and s.name == s.name.lower(), s.name
        assert s.env == "SALESLENS_" + s.name.upper()


@pytest.mark.parametrize("setting", settings.SETTINGS, ids=[s.name for s in settings.SETTINGS])
def test_every_setting_has_help(setting: settings.Setting) -> None:
    assert setting.help.strip(), f"{setting.name} has no help"
    assert "|" not in setting.help, f"{setting.name}: a '|' would break the Markdown table"


def test_markdown_lists_every_setting() -> None:
    lines = settings.markdown().splitlines()
    assert lines[0] == "| setting | environment variable | default | what it does |"
    assert len(lines) == 2 + len(settings.SETTINGS)
    for s, line in zip(settings.SETTINGS, lines[2:], strict=True):
        assert line == f"| {s.name} | `{s.env}` | `{s.default}` | {s.help} |"


def test_readme_documents_every_setting() -> None:
    if not README.exists() or "| setting | environment variable |" not in README.read_text(encoding="utf-8"):
        pytest.skip("README.md has no settings table yet: paste the output of `python -m saleslens settings`")
    text = README.read_text(encoding="utf-8")
    missing = [line for line in settings.markdown().splitlines()[2:] if line not in text]
    assert not missing, (
        "README.md is out of step with saleslens/settings.py; replace its settings table with the output of "
        "`python -m saleslens settings`. Missing rows: " + "; ".join(missing)
    )


def test_environment_overrides_the_default(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("SALESLENS_LANGUAGE", raising=False)
    assert settings.get("language") == "en"
    monkeypatch.setenv("SALESLENS_LANGUAGE", "zh")
    assert settings.get("language") == "zh"
    monkeypatch.setenv("SALESLENS_LANGUAGE", "")  # set but empty: the default
    assert settings.get("language") == "en"
    assert settings.get("cache_entries", {"SALESLENS_CACHE_ENTRIES": "7"}) == "7"
    assert settings.get("cache_entries", {}) == "512"


def test_unknown_setting_is_a_key_error() -> None:
    with pytest.raises(KeyError):
        settings.get("no_such_setting")


def test_data_dir(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("SALESLENS_DATA", str(tmp_path / "env"))
    assert settings.data_dir() == tmp_path / "env"
    assert settings.data_dir(str(tmp_path / "cli")) == tmp_path / "cli"  # --data wins
    monkeypatch.delenv("SALESLENS_DATA")
    monkeypatch.chdir(tmp_path)
    assert settings.data_dir() == tmp_path / "data"
