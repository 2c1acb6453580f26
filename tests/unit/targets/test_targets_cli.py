"""The targets commands print what the page shows; bad input is one line and exit status 2."""

from __future__ import annotations

import json

import pytest

from saleslens import cli
from tests import targets_fixtures as fx


@pytest.fixture(scope="module")
def data(tmp_path_factory: pytest.TempPathFactory) -> str:
    """The fixture store (three snapshots) as a data directory."""
    path = tmp_path_factory.mktemp("targets_cli")
    fx.build_store(path)
    return str(path)


def run(capsys: pytest.CaptureFixture, *argv: str) -> tuple[int, object, str]:
    """Run the CLI; return the exit status, the JSON it printed (when it did) and stderr."""
    code = cli.main(list(argv))
    out, err = capsys.readouterr()
    try:
        return code, json.loads(out), err
    except ValueError:
        return code, out, err


def test_pacing_forecast_and_coverage(capsys: pytest.CaptureFixture, data: str) -> None:
    code, rows, _ = run(capsys, "pacing", "--data", data, "--format", "json")
    # Q2 target 16,500 x share 0.3 = 4,950 expected; closed 3,000 -> 1,950 behind.
    assert code == 0 and rows[0]["expected"] == pytest.approx(4950.0) and rows[0]["status"] == "behind"
    code, rows, err = run(capsys, "forecast", "--data", data, "--format", "json")
    # One past quarter: the stage-default fallback, 3,000 closed + 2,250 (see test_forecast.py), said on stderr.
    assert rows[0]["forecast"] == pytest.approx(5250.0) and rows[0]["open_deals"] == 4
    assert rows[0]["method"] == "stage_default" and rows[0]["low"] is None and "fallback" in err
    code, rows, _ = run(capsys, "coverage", "--data", data, "--format", "json")
    assert rows[0]["pipeline_needed"] == pytest.approx(21600.0) and rows[0]["win_rate_source"] == "group"
    code, rows, _ = run(capsys, "pacing", "--data", data, "--by", "team", "--format", "json")
    assert {r["group_key"]: r["target"] for r in rows} == {"North": 13500.0, "Solo": 3000.0}


def test_attainment_heatmap_data_and_accuracy(capsys: pytest.CaptureFixture, data: str) -> None:
    code, rows, _ = run(capsys, "attainment", "--data", data, "--by", "team", "--grain", "quarter",
                        "--from", "2026-01-01", "--to", "2026-06-30", "--format", "json")
    assert code == 0
    got = {(r["group_key"], r["period_start"]): r["target"] for r in rows}
    assert got[("North", "2026-04-01")] == 13500.0 and got[("Solo", "2026-01-01")] == 3000.0
    code, _, err = run(capsys, "forecast-accuracy", "--data", data, "--format", "json")
    assert code == 2 and "nothing to backtest" in err  # two quarters of snapshots: none to check yet
    code, rows, _ = run(capsys, "leading", "--data", data, "--conversion", "--format", "json")
    assert [r["count"] for r in rows] == [9.0, 3.0, 4.0, 2.0]


def test_decompose_save_and_use_a_set(capsys: pytest.CaptureFixture, data: str) -> None:
    code, rows, err = run(capsys, "targets", "decompose", "--data", data, "--team", "North", "--year", "2027",
                          "--parent", "120000", "--months", "even", "--reps", "capacity", "--save", "North 2027",
                          "--format", "json")
    # Evenly 10,000 a month; all three reps work all of 2027 (Cy's ramp ended in July 2026): 40,000 each.
    assert code == 0 and [r["value"] for r in rows] == [40000.0, 40000.0, 40000.0]
    assert "saved target set 'North 2027'" in err
    code, rows, _ = run(capsys, "targets", "sets", "--data", data, "--format", "json")
    assert rows[0]["name"] == "North 2027" and rows[0]["rows"] == 12 + 36
    code, rows, _ = run(capsys, "attainment", "--data", data, "--set", "North 2027", "--grain", "quarter",
                        "--from", "2027-01-01", "--to", "2027-12-31", "--format", "json")
    assert [r["target"] for r in rows] == [30000.0] * 4
    code, _, _ = run(capsys, "targets", "delete", "--data", data, "North 2027")
    assert code == 0


@pytest.mark.parametrize(("argv", "message"), [
    (["targets", "decompose", "--team", "North", "--year", "2027", "--parent", "9000",
      "--rep-values", "R1=3000,R2=-1,R3=6001"], "Row 'Bob Best' is negative"),
    (["targets", "decompose", "--team", "North", "--year", "2027", "--parent", "9000",
      "--rep-values", "R1=3000,R2=3500,R3=3000"], "not the target"),
    (["targets", "decompose", "--team", "North", "--year", "2027", "--parent", "1200",
      "--month-values", "100,100,x"], "value 3 ('x') is not a number"),
    (["targets", "decompose", "--team", "Nowhere", "--year", "2027"], "there is no team 'Nowhere'"),
    (["targets", "decompose", "--team", "Solo", "--year", "2030"], "has no target for 2030"),
    (["targets", "show", "ghost"], "There is no target set 'ghost'"),
    (["pacing", "--team", "Nowhere"], "nobody in the data matches"),
])
def test_bad_input_is_one_line(capsys: pytest.CaptureFixture, data: str, argv: list[str], message: str) -> None:
    code, _, err = run(capsys, *argv, "--data", data)
    assert code == 2 and message in err and len(err.strip().splitlines()) == 1


def test_one_rep_team_gets_a_note(capsys: pytest.CaptureFixture, data: str) -> None:
    code, rows, err = run(capsys, "targets", "decompose", "--data", data, "--team", "Solo", "--year", "2027",
                          "--parent", "1000", "--format", "json")
    assert code == 0 and rows[0]["value"] == 1000.0 and "whole target goes to Dee Solo" in err
