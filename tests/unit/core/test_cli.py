"""The command line: output formats on the tiny store, and one-line errors with exit status 2."""

from __future__ import annotations

import csv
import io
import json
import subprocess
import sys
from pathlib import Path

import pytest

from saleslens import cli
from saleslens.core import schema, settings

ROOT = Path(__file__).resolve().parents[3]


def run(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    """Run the CLI in-process: (exit status, stdout, stderr)."""
    try:
        code = cli.main(argv)
    except SystemExit as exc:  # argparse errors exit through Parser.error
        code = exc.code
    out, err = capsys.readouterr()
    return code, out, err


def fails(argv: list[str], capsys: pytest.CaptureFixture[str]) -> str:
    """Run a command that must fail: exit 2, nothing on stdout, exactly one line on stderr."""
    code, out, err = run(argv, capsys)
    assert code == 2, (code, out, err)
    assert out == ""
    assert err.endswith("\n") and err.count("\n") == 1, f"not one line: {err!r}"
    assert "Traceback" not in err
    return err.rstrip("\n")


@pytest.fixture(autouse=True)
def _no_env_data(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("SALESLENS_DATA", raising=False)


def test_kpis_table(tiny_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run(["kpis", "--data", str(tiny_dir)], capsys)
    assert (code, err) == (0, "")
    lines = out.splitlines()
    assert lines[0].startswith("| group_key") and "bookings" in lines[0]
    # All time: won O1 1000 + O3 6000 + O4 2000; targets 28500; open O5 4000 + O6 1000.
    assert "| org " in out and "9000.00" in out and "28500.00" in out and "5000.00" in out


def test_kpis_csv_by_region_for_a_period(tiny_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(["kpis", "--data", str(tiny_dir), "--by", "region", "--from", "2026-01-01",
                        "--to", "2026-06-30", "--format", "csv"], capsys)
    assert code == 0
    rows = list(csv.DictReader(io.StringIO(out)))
    # East 7000 of 18000 with O6 open; West 2000 of 10500 (O5 expects 07-15, after the period).
    assert [(r["group_key"], float(r["bookings"]), float(r["target"]), float(r["open_pipeline"])) for r in rows] == [
        ("East", 7000.0, 18000.0, 1000.0), ("West", 2000.0, 10500.0, 0.0),
    ]


def test_kpis_json(tiny_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(["kpis", "--data", str(tiny_dir), "--by", "rep", "--format", "json",
                        "--snapshot", "2026-06-30"], capsys)
    assert code == 0
    rows = json.loads(out)
    # All time by rep: R2 O3 6000, R3 O4 2000, R1 O1 1000; R3's activities X4 only (X5 is after AS_OF).
    assert [(r["group_key"], r["bookings"], r["activities"]) for r in rows] == [
        ("R2", 6000.0, 1), ("R3", 2000.0, 1), ("R1", 1000.0, 2),
    ]


def test_query_list(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(["query", "--list", "--format", "json"], capsys)
    assert code == 0
    listed = {r["query"]: r for r in json.loads(out)}
    assert "kpis_by_group" in listed
    assert listed["bookings_by_month"]["parameters"].startswith("start:date, end:date, regions:text[]")
    code, out, _ = run(["query", "--list"], capsys)
    assert code == 0 and "kpis_by_group" in out


def test_query_with_params(tiny_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(["query", "bookings_by_month", "--data", str(tiny_dir), "--param", "start=2026-01-01",
                        "--param", "end=2026-03-31", "--param", "reps=R1,R2", "--format", "csv"], capsys)
    assert code == 0
    rows = list(csv.DictReader(io.StringIO(out)))
    # R1 + R2 targets 1000 + 2000 a month; O1 1000 won in February.
    assert [(r["month"], float(r["bookings"]), float(r["target"])) for r in rows] == [
        ("2026-01-01", 0.0, 3000.0), ("2026-02-01", 1000.0, 3000.0), ("2026-03-01", 0.0, 3000.0),
    ]
    code, out, _ = run(["query", "kpis_by_group", "--data", str(tiny_dir), "--param", "by=region",
                        "--param", "regions=West", "--format", "json"], capsys)
    assert code == 0
    assert [(r["group_key"], r["bookings"]) for r in json.loads(out)] == [("West", 2000.0)]


def test_snapshots(tiny_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(["snapshots", "--data", str(tiny_dir), "--format", "json"], capsys)
    assert code == 0
    (row,) = json.loads(out)
    assert (row["snapshot"], row["as_of"], row["source"]) == ("2026-06-30", "2026-06-30", "tests")
    assert (row["opportunities"], row["reps"], row["activities"], row["leads"]) == (7, 5, 4, 0)


def test_schema_and_settings(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(["schema"], capsys)
    assert code == 0 and out == schema.markdown() + "\n"
    code, out, _ = run(["settings"], capsys)
    assert code == 0 and out == settings.markdown() + "\n"


@pytest.mark.parametrize(
    ("argv", "expected"),
    [
        (["frobnicate"], "saleslens: error: argument COMMAND: invalid choice: 'frobnicate'"),
        ([], "saleslens: error: the following arguments are required: COMMAND"),
        (["kpis", "--bogus"], "saleslens: error: unrecognized arguments: --bogus"),
        (["kpis", "--by", "planet"], "saleslens kpis: error: argument --by: invalid choice: 'planet'"),
        (["kpis", "--from", "2026-13-01"], "saleslens kpis: error: argument --from: invalid"),
        (["kpis", "--format", "xml"], "saleslens kpis: error: argument --format: invalid choice: 'xml'"),
        (["kpis", "--from", "2026-06-30", "--to", "2026-01-01"],
         "saleslens kpis: error: --from 2026-06-30 is after --to 2026-01-01"),
        (["query"], "saleslens query: error: give a query name, or --list to see them"),
        (["query", "nope"], "saleslens query: error: unknown query 'nope' (see `query --list`)"),
        (["query", "kpis_by_group", "--param", "by"],
         "saleslens query: error: --param must look like KEY=VALUE, got 'by'"),
        (["query", "kpis_by_group", "--param", "=x"],
         "saleslens query: error: --param must look like KEY=VALUE, got '=x'"),
        (["query", "kpis_by_group", "--param", "region=East"],
         "saleslens query: error: query kpis_by_group has no parameter 'region' (parameters: by, start"),
        (["query", "kpis_by_group", "--param", "start=2026-13-01"],
         "saleslens query: error: parameter 'start' must be date, got '2026-13-01'"),
        (["query", "bookings_by_month", "--param", "start=2026-01-01"],
         "saleslens query: error: query bookings_by_month needs parameter 'end'"),
        (["kpis", "--snapshot", "yesterday"],
         "saleslens kpis: error: 'yesterday' is not a snapshot id (they look like 2026-11-20)."),
        (["kpis", "--snapshot", "2020-01-01"], "saleslens kpis: error: There is no snapshot 2020-01-01 in "),
    ],
)
def test_errors_are_one_line_with_status_2(tiny_dir: Path, capsys: pytest.CaptureFixture[str],
                                           argv: list[str], expected: str) -> None:
    if argv and argv[0] in ("kpis", "query") and "--data" not in argv:
        argv = [*argv, "--data", str(tiny_dir)]
    assert fails(argv, capsys).startswith(expected)


def test_empty_data_directory(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert fails(["snapshots", "--data", str(tmp_path)], capsys) == (
        f"saleslens snapshots: error: no snapshot in {tmp_path}; run `python -m saleslens demo` or import data"
    )
    assert fails(["kpis", "--data", str(tmp_path)], capsys).startswith(
        f"saleslens kpis: error: The data directory {tmp_path} has no snapshot yet."
    )
    assert fails(["kpis", "--data", str(tmp_path / "missing")], capsys).startswith(
        f"saleslens kpis: error: The data directory {tmp_path / 'missing'} does not exist."
    )


def test_as_a_subprocess(tiny_dir: Path) -> None:
    """`python -m saleslens` itself: output on stdout, status 0; a bad query is one line on stderr, status 2."""
    ok = subprocess.run(
        [sys.executable, "-m", "saleslens", "kpis", "--data", str(tiny_dir), "--by", "region", "--format", "csv"],
        cwd=ROOT, capture_output=True, text=True, timeout=60,
    )
    assert ok.returncode == 0, ok.stderr
    assert ok.stdout.splitlines()[0].startswith("group_key,group_label,bookings,target")
    bad = subprocess.run(
        [sys.executable, "-m", "saleslens", "query", "kpis_by_grup", "--data", str(tiny_dir)],
        cwd=ROOT, capture_output=True, text=True, timeout=60,
    )
    assert bad.returncode == 2
    assert bad.stdout == ""
    assert bad.stderr.count("\n") == 1
    assert bad.stderr.startswith("saleslens query: error: unknown query 'kpis_by_grup' (did you mean ")


@pytest.mark.parametrize(
    ("query", "param", "message"),
    [
        # Each of these once ran and answered something else: totals under "(none)", all leads, any method.
        ("kpis_by_group", "by=regoin",
         "parameter 'by' must be one of org, region, team, manager, rep, product, segment, source; got 'regoin'"),
        ("lead_funnel_by_lead", "step=qualifed",
         "parameter 'step' must be one of leads, qualified, converted, won; got 'qualifed'"),
        ("deals_by_funnel_stage", "method=anything",
         "parameter 'method' must be one of current, cohort; got 'anything'"),
        ("health_duplicate_accounts_by_pair", "min_similarity=nan",
         "parameter 'min_similarity' must be a finite number, not nan"),
        ("health_duplicate_accounts_by_pair", "min_similarity=inf",
         "parameter 'min_similarity' must be a finite number, not inf"),
        ("health_duplicate_accounts_by_pair", "min_similarity=1.5", "parameter 'min_similarity' must be 0..1; got 1.5"),
        ("health_stale_deals_by_deal", "days=-1", "parameter 'days' must be 0 or more; got -1"),
    ],
)
def test_allow_listed_and_ranged_parameters_are_checked(
    query: str, param: str, message: str, tiny_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """`query NAME --param KEY=VALUE` with a value outside the allow-list or range: one line, status 2."""
    assert cli.main(["query", query, "--param", param, "--data", str(tiny_dir)]) == 2
    assert capsys.readouterr().err.strip() == f"saleslens query: error: {message}"


def test_demo_years_are_the_demos(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """--years offers what the demo builds (its module is imported only to build); XL refuses any but two, in a
    line that says so, and builds nothing."""
    from saleslens import demo
    from saleslens.core import cli as core_cli
    assert core_cli.DEMO_YEARS == demo.YEARS and core_cli.DEMO_YEARS[0] == demo.DEFAULT_YEARS
    assert fails(["demo", "--size", "XL", "--years", "3", "--data", str(tmp_path / "xl")], capsys) == (
        "saleslens demo: error: The XL demo has 2 years of history, not 3.")
    assert not (tmp_path / "xl").exists() or not any((tmp_path / "xl").rglob("*.parquet"))
    with pytest.raises(SystemExit):  # argparse's own message for a year it does not offer
        cli.main(["demo", "--years", "7", "--data", str(tmp_path)])
