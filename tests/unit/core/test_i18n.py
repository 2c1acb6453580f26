"""Translations: every key in both languages, every key the code uses exists, placeholders agree; formats."""

from __future__ import annotations

import ast
import math
import re
import string
import tomllib
from datetime import date
from functools import cache
from pathlib import Path

import pytest

from saleslens.core import i18n
from saleslens.core.filters import LIST_FILTERS, PERIODS
from saleslens.kpis.registry import GROUP_BY, METRICS

ROOT = Path(__file__).resolve().parents[3]
LOCALE_FILES = i18n.locale_files()
CODE = sorted(
    [*(ROOT / "pages").glob("**/*.py"), *(ROOT / "ui").glob("**/*.py"), *(ROOT / "saleslens").glob("**/*.py"),
     ROOT / "dashboard.py"]
)


@pytest.fixture(autouse=True)
def _default_settings(monkeypatch: pytest.MonkeyPatch) -> None:
    """Formats and fallbacks are checked with the default language and currency."""
    monkeypatch.delenv("SALESLENS_LANGUAGE", raising=False)
    monkeypatch.delenv("SALESLENS_CURRENCY", raising=False)


# Plotly hover templates (%{x}, %{customdata[0]}) are filled by the chart, not by t(): not placeholders of t().
_PLOTLY = re.compile(r"%\{\{?[^}]*\}\}?")


def _fields(text: str) -> set[str]:
    """The {placeholder} names t() fills in a text."""
    parsed = string.Formatter().parse(_PLOTLY.sub("", text))
    return {name.split(".")[0].split("[")[0] for _, name, _, _ in parsed if name}


def test_catalog_loads_without_duplicate_keys() -> None:
    catalog = i18n.catalog()
    assert "app.title" in catalog
    total = 0
    for path in LOCALE_FILES:
        with path.open("rb") as fh:
            total += len(i18n._flatten(tomllib.load(fh)))
    assert total == len(catalog), "a key is defined in two locale files"


@pytest.mark.parametrize("path", LOCALE_FILES, ids=[p.name for p in LOCALE_FILES])
def test_every_key_has_english_and_chinese(path: Path) -> None:
    with path.open("rb") as fh:
        entries = i18n._flatten(tomllib.load(fh))
    assert entries, f"{path.name} has no keys"
    problems = []
    for key, texts in entries.items():
        for lang in i18n.LANGUAGES:
            if not str(texts.get(lang, "")).strip():
                problems.append(f"{key}: no {lang}")
        if set(texts) - set(i18n.LANGUAGES):
            problems.append(f"{key}: unknown language(s) {sorted(set(texts) - set(i18n.LANGUAGES))}")
    assert not problems, f"{path.name}: " + "; ".join(problems)


def test_placeholders_agree_between_languages() -> None:
    problems = [
        f"{key}: en {sorted(_fields(texts['en']))} zh {sorted(_fields(texts['zh']))}"
        for key, texts in i18n.catalog().items()
        if "en" in texts and "zh" in texts and _fields(texts["en"]) != _fields(texts["zh"])
    ]
    assert not problems, "; ".join(problems)


def _t_calls(path: Path) -> list[ast.Call]:
    """Calls of t(...) or i18n.t(...) in a module."""
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    return [
        node for node in ast.walk(tree)
        if isinstance(node, ast.Call)
        and ((isinstance(node.func, ast.Name) and node.func.id == "t")
             or (isinstance(node.func, ast.Attribute) and node.func.attr == "t"))
    ]


@cache
def _literal_key_calls() -> list[tuple[str, str, ast.Call]]:
    """(where, key, call) for every t() call whose key is a plain string literal (f-strings are skipped)."""
    out = []
    for path in CODE:
        for call in _t_calls(path):
            if call.args and isinstance(call.args[0], ast.Constant) and isinstance(call.args[0].value, str):
                out.append((f"{path.relative_to(ROOT)}:{call.lineno}", call.args[0].value, call))
    return out


def test_the_code_uses_translation_keys() -> None:
    keys = {key for _, key, _ in _literal_key_calls()}
    assert {"app.title", "filter.header", "export.csv"} & keys  # the scan finds the calls


def test_every_literal_key_used_in_code_exists() -> None:
    catalog = i18n.catalog()
    missing = sorted({f"{where}: {key}" for where, key, _ in _literal_key_calls() if key not in catalog})
    assert not missing, "keys used in code but missing from saleslens/*/strings*.toml: " + "; ".join(missing)


def test_literal_calls_fill_every_placeholder() -> None:
    """A call that leaves a {placeholder} unfilled shows braces to the user (or raises KeyError)."""
    catalog = i18n.catalog()
    problems = []
    for where, key, call in _literal_key_calls():
        if key not in catalog or any(kw.arg is None for kw in call.keywords):  # **kwargs: cannot tell
            continue
        given = {kw.arg for kw in call.keywords if kw.arg != "lang"}
        text = catalog[key].get("en", "")
        needed = _fields(text)
        if needed - given:
            problems.append(f"{where}: {key} needs {sorted(needed - given)}")
        if given and re.search(r"%\{[^{]", text):  # str.format would read %{x} as a placeholder of its own
            problems.append(f"{where}: {key} is filled with values: write its Plotly %{{x}} as %{{{{x}}}}")
    assert not problems, "; ".join(problems)


def _dashboard_nav_keys() -> list[str]:
    """The title keys of the PAGES list in dashboard.py."""
    tree = ast.parse((ROOT / "dashboard.py").read_text(encoding="utf-8"))
    for node in tree.body:
        if isinstance(node, ast.Assign) and any(getattr(t, "id", "") == "PAGES" for t in node.targets):
            return [ast.literal_eval(elt)[1] for elt in node.value.elts]
    raise AssertionError("dashboard.py has no PAGES list")


def test_keys_built_from_names_exist() -> None:
    """Keys the code builds with f-strings from the app's own lists."""
    wanted = (
        [f"period.{p}" for p in PERIODS]
        + [f"filter.{name}" for name in LIST_FILTERS]
        + [f"group.{g}" for g in GROUP_BY]
        + [m.label_key for m in METRICS.values()]
        + [m.definition_key for m in METRICS.values()]
        + [f"format.{m.format}" for m in METRICS.values()]
        + _dashboard_nav_keys()
    )
    missing = [k for k in wanted if k not in i18n.catalog()]
    assert not missing, f"missing keys: {missing}"


def test_t_fills_placeholders_and_falls_back(monkeypatch: pytest.MonkeyPatch) -> None:
    assert i18n.t("app.title", "en") == "Sales Lens"
    assert i18n.t("app.title", "zh") == "销售透镜"
    assert i18n.t("app.demo_ready", "en", snapshots=3, seconds=1.26) == "Demo data ready: 3 snapshots in 1.3 s."
    assert i18n.t("app.demo_ready", "zh", snapshots=3, seconds=1.26) == "演示数据已就绪：3 个快照，用时 1.3 秒。"
    assert i18n.t("no.such.key", "zh") == "no.such.key"
    assert i18n.t("app.title", "fr") == "Sales Lens"  # unknown language: English
    monkeypatch.setenv("SALESLENS_LANGUAGE", "zh")
    assert i18n.t("app.title") == "销售透镜"  # the default language comes from the settings


def test_t_falls_back_to_english_for_a_missing_translation(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(i18n, "catalog", lambda: {"only.en": {"en": "Hello {name}"}})
    assert i18n.t("only.en", "zh", name="Ann") == "Hello Ann"


NAN = math.nan
FORMATS = [
    # money, compact: K/M/B in English, 万 (1e4) / 亿 (1e8) in Chinese
    (i18n.money, 1_234_567, "en", "$1.2M"),
    (i18n.money, 999_999, "en", "$1.0M"),  # rounds up into the next unit, not "$1,000.0K"
    (i18n.money, 1_500, "en", "$1.5K"),
    (i18n.money, 999, "en", "$999"),
    (i18n.money, 0, "en", "$0"),
    (i18n.money, -2_500, "en", "-$2.5K"),
    (i18n.money, 2.5e9, "en", "$2.5B"),
    (i18n.money, 1_234_567, "zh", "$123.5万"),  # 123.4567 x 10,000
    (i18n.money, 2.5e8, "zh", "$2.5亿"),
    (i18n.money, 9_999, "zh", "$9,999"),
    (i18n.money, 99_999_999, "zh", "$1.0亿"),
    (i18n.money, 3_530_000, "zh", "$353.0万"),
    (i18n.money, -12_345, "en", "-$12.3K"),
    (i18n.money, -12_345, "zh", "-$1.2万"),
    (i18n.money, None, "en", "–"),
    (i18n.money, NAN, "zh", "–"),
    # percent
    (i18n.percent, 0.25, "en", "25.0%"),
    (i18n.percent, 7000 / 18000, "zh", "38.9%"),
    (i18n.percent, 1.2, "en", "120.0%"),
    (i18n.percent, 0, "en", "0.0%"),
    (i18n.percent, -0.05, "en", "-5.0%"),
    (i18n.percent, None, "en", "–"),
    (i18n.percent, NAN, "en", "–"),
    # days, counts, ratios
    (i18n.days, 52, "en", "52 days"),
    (i18n.days, 52.4, "zh", "52天"),  # CLDR writes no space in Chinese
    (i18n.days, 1, "en", "1 day"),  # CLDR's plural rule: one day, not "1 days"
    (i18n.days, 1_234, "en", "1,234 days"),
    (i18n.count, 1_234_567, "zh", "1,234,567"),
    (i18n.days, None, "en", "–"),
    (i18n.count, 12_345, "en", "12,345"),
    (i18n.count, None, "zh", "–"),
    (i18n.ratio, 1000 / 11000 * 10, "en", "0.9x"),
    (i18n.ratio, 3.21, "zh", "3.2x"),
    (i18n.ratio, None, "en", "–"),
    (i18n.number, 40 * 12 / 52, "en", "9.2"),
    (i18n.number, 1234.56, "zh", "1,234.6"),
    # dates
    (i18n.day, date(2026, 6, 30), "en", "30 Jun 2026"),
    (i18n.day, date(2026, 1, 5), "en", "5 Jan 2026"),
    (i18n.day, date(2026, 6, 30), "zh", "2026年6月30日"),
    (i18n.day, date(2026, 1, 5), "zh", "2026年1月5日"),
    (i18n.day, None, "zh", "–"),
    (i18n.month, date(2026, 6, 1), "en", "Jun 2026"),
    (i18n.month, date(2026, 6, 1), "zh", "2026年6月"),  # month names follow the language
    (i18n.short_day, date(2026, 1, 5), "en", "5 Jan"),
    (i18n.short_day, date(2026, 1, 5), "zh", "1月5日"),
]


@pytest.mark.parametrize(("func", "value", "lang", "text"), FORMATS,
                         ids=[f"{f.__name__}-{v}-{lang}" for f, v, lang, _ in FORMATS])
def test_formats(func: object, value: object, lang: str, text: str) -> None:
    assert func(value, lang) == text


def test_money_full_digits_and_currency_setting(monkeypatch: pytest.MonkeyPatch) -> None:
    assert i18n.money(1_234_567.4, "en", compact=False) == "$1,234,567"
    assert i18n.money(-1_234_567.4, "zh", compact=False) == "-$1,234,567"
    monkeypatch.setenv("SALESLENS_CURRENCY", "¥")
    assert i18n.money(1_500, "zh") == "¥1,500"
    assert i18n.money(15_000, "zh") == "¥1.5万"


def test_money_in_any_reporting_currency() -> None:
    """The reporting currency's symbol prefixes every amount; units still follow the language."""
    try:
        i18n.use_currency("EUR")
        assert i18n.money(1_500_000, "en") == "€1.5M"
        assert i18n.money(1_500_000, "zh") == "€150.0万"
        i18n.use_currency("COP")
        assert i18n.money(2_000, "en") == "COP\u20092.0K"
    finally:
        i18n.use_currency(None)


@pytest.mark.parametrize(("value", "lang", "text"), [
    (2_000_000, "en", "$2M"), (2_500_000, "en", "$2.5M"), (2_000_000, "zh", "$200万"), (0, "zh", "$0"),
    (10_440_000, "zh", "$1,044万"), (1_250_000, "en", "$1.25M"), (-1_500, "zh", "-$1,500"),
])
def test_money_ticks_drop_a_trailing_zero(value: float, lang: str, text: str) -> None:
    assert i18n.money_tick(value, lang) == text


def test_unknown_language_formats_as_english() -> None:
    assert i18n.money(1_234_567, "xx") == "$1.2M"
    assert i18n.day(date(2026, 6, 30), "xx") == "30 Jun 2026"


def test_plural_follows_the_language() -> None:
    assert i18n.plural(1, "deal", "deals", "en") == "deal"
    assert i18n.plural(2, "deal", "deals", "en") == "deals"
    assert i18n.plural(1, "笔", "笔们", "zh") == "笔们"  # Chinese has one form: CLDR calls it "other"


def test_fmt_by_metric_kind() -> None:
    assert [i18n.fmt(m.format, None) for m in METRICS.values()] == ["–"] * len(METRICS)
    assert i18n.fmt("money", 1_500) == "$1.5K"
    assert i18n.fmt("percent", 0.5, "zh") == "50.0%"
    for kind in ("money", "percent", "count", "days", "ratio"):
        assert i18n.tick_format(kind)


def test_access_reasons_are_translated() -> None:
    """The "you see nothing because ..." reasons read in Chinese on a Chinese page; English stays as the CLI prints."""
    import polars as pl

    from saleslens.core import access

    reps = pl.DataFrame({"rep_id": ["R1"], "name": ["Ann"], "role": ["Rep"], "manager_id": [None], "team": ["A"],
                         "active": [True]})
    users = [None, access.User("x", "X", "boss"), access.User("l", "L", "leader"), access.User("r", "R", "rep", "R9"),
             access.User("r", "R", "rep", "R1")]
    grants = [access.grant(None, reps, login="kim@example.com"), *(access.grant(u, reps) for u in users)]
    assert grants[0].reason_in("zh") == ("您已以 kim@example.com 登录，但用户文件（数据目录中的 users.toml）中没有您；"
                                         "请管理员添加。")
    assert grants[3].reason == "leader: every rep" and grants[3].reason_in("zh") == "销售负责人：全部销售代表"
    assert grants[4].reason_in("zh") == "您的销售代表编号“R9”不在此快照的销售代表中。"
    for g in grants:
        assert g.reason_in("en") == g.reason
        assert g.reason_in("zh") != g.reason and "{" not in g.reason_in("zh")
