"""bench/forecast_seeds.py: the summaries of literal backtest rows (worked out by hand), the table, --report-only,
the reuse of a built demo and the one-line error of a failed command (no subprocess is started)."""

from __future__ import annotations

import json
import subprocess
from datetime import date
from pathlib import Path

import pytest

from bench import forecast_seeds as fs


def week(weeks_left: int, mape: float | None, periods: int, ranges: int, coverage: float | None, beats: bool,
         bias: float | None = None, noise: float | None = None) -> dict:
    """One row of `forecast-accuracy --format json` (the baselines' columns do not enter the summary)."""
    return {"weeks_left": weeks_left, "periods": periods, "model_mape": mape, "model_bias": bias,
            "noise_floor_mape": noise, "commit_mape": 0.5, "weighted_mape": 0.2, "last_year_mape": 0.3,
            "coverage": coverage, "ranges": ranges, "beats_baselines": beats}


# On every bound: MAPE at 6 weeks exactly 8%, coverage exactly 7 of 10; week 13 gave no range.
ON_BOUNDS = [week(13, 0.12, 2, 0, None, True), week(6, 0.08, 6, 4, 0.75, True, bias=-0.01, noise=0.05),
             week(5, 0.04, 6, 2, 0.5, True), week(4, 0.06, 6, 4, 0.75, True)]
# MAPE a hair over 8%, coverage exactly 9 of 10, and week 5 does not beat the baselines.
OVER = [week(6, 0.081, 6, 5, 1.0, True, bias=0.03, noise=0.04), week(5, 0.119, 6, 5, 0.8, False)]
# No six-week row, a week with no MAPE (and no range), every range covered.
NO_MID = [week(1, 0.02, 6, 3, 1.0, True), week(0, None, 0, 0, None, False)]


@pytest.mark.parametrize(("rows", "expected"), [
    # mape_all (0.12+0.08+0.04+0.06)/4; pooled (0.12*2+0.08*6+0.04*6+0.06*6)/20 = 1.32/20; covered 3+1+3 of 4+2+4.
    (ON_BOUNDS, {"mape_6": 0.08, "bias_6": -0.01, "noise_floor_6": 0.05, "mape_all": 0.075,
                 "mape_all_pooled": 0.066, "coverage": 0.7, "covered": 7, "ranges": 10, "beats_weeks": 4,
                 "weeks": 4, "bar": {"mape": True, "coverage": True, "beats": True, "all": True}}),
    # mape_all (0.081+0.119)/2, the same pooled (equal quarters); covered 5+4 of 10.
    (OVER, {"mape_6": 0.081, "bias_6": 0.03, "noise_floor_6": 0.04, "mape_all": 0.1, "mape_all_pooled": 0.1,
            "coverage": 0.9, "covered": 9, "ranges": 10, "beats_weeks": 1, "weeks": 2,
            "bar": {"mape": False, "coverage": True, "beats": False, "all": False}}),
    # Only week 1 has a MAPE; 3 of 3 covered is over 90%.
    (NO_MID, {"mape_6": None, "bias_6": None, "noise_floor_6": None, "mape_all": 0.02, "mape_all_pooled": 0.02,
              "coverage": 1.0, "covered": 3, "ranges": 3, "beats_weeks": 1, "weeks": 2,
              "bar": {"mape": False, "coverage": False, "beats": False, "all": False}}),
    # Nothing backtested: nothing to average, and no week to beat the baselines in.
    ([], {"mape_6": None, "bias_6": None, "noise_floor_6": None, "mape_all": None, "mape_all_pooled": None,
          "coverage": None, "covered": 0, "ranges": 0, "beats_weeks": 0, "weeks": 0,
          "bar": {"mape": False, "coverage": False, "beats": False, "all": False}}),
], ids=["on-bounds", "over", "no-mid", "empty"])
def test_summarise(rows: list[dict], expected: dict) -> None:
    """Each seed's summary, field by field."""
    got = fs.summarise(rows)
    assert got.keys() == expected.keys()
    for key, want in expected.items():
        assert got[key] == (want if want is None or isinstance(want, dict) else pytest.approx(want)), key


@pytest.mark.parametrize(("mape", "coverage", "beats", "weeks", "expected"), [
    (0.08, 0.70, 14, 14, (True, True, True)),
    (0.0801, 0.70, 14, 14, (False, True, True)),
    (0.08, 0.6999, 14, 14, (True, False, True)),
    (0.08, 0.90, 14, 14, (True, True, True)),
    (0.08, 0.9001, 14, 14, (True, False, True)),
    (0.08, 0.80, 13, 14, (True, True, False)),
    (None, None, 0, 0, (False, False, False)),
])
def test_bar_bounds(mape: float | None, coverage: float | None, beats: int, weeks: int,
                    expected: tuple[bool, bool, bool]) -> None:
    """8% and 70-90% are inclusive; one week not beating the baselines fails that part."""
    got = fs.bar(mape, coverage, beats, weeks)
    assert (got["mape"], got["coverage"], got["beats"]) == expected
    assert got["all"] is all(expected)


def test_across_seeds() -> None:
    """The three seeds above together: a seed with no six-week MAPE is left out of that spread, not counted 0."""
    got = fs.across([fs.summarise(r) for r in (ON_BOUNDS, OVER, NO_MID)])
    assert got["seeds"] == 3
    assert got["mape_6"] == {"n": 2, "mean": pytest.approx(0.0805), "median": pytest.approx(0.0805),
                             "min": pytest.approx(0.08), "max": pytest.approx(0.081)}
    # (0.075 + 0.1 + 0.02) / 3; median of 0.02, 0.075, 0.1.
    assert got["mape_all"] == {"n": 3, "mean": pytest.approx(0.065), "median": pytest.approx(0.075),
                               "min": pytest.approx(0.02), "max": pytest.approx(0.1)}
    assert got["noise_floor_6"]["mean"] == pytest.approx(0.045)
    assert (got["meet_mape"], got["meet_coverage"], got["meet_beats"], got["meet_all"]) == (1, 2, 1, 1)


def test_forecast_fields() -> None:
    """Shrinkage, weighting and forecast keys (and the range) are kept; the rest is not; a missing key is fine."""
    row = {"forecast": 13.0, "low": 7.8, "high": 18.3, "shrinkage_k": 5.0, "weighting": "count",
           "forecast_attainment": 1.27, "season_level": 1.2, "closed": 4.2}
    assert fs.forecast_fields(row) == {"forecast": 13.0, "low": 7.8, "high": 18.3, "shrinkage_k": 5.0,
                                       "weighting": "count", "forecast_attainment": 1.27}
    assert fs.forecast_fields({"closed": 1.0}) == {}


def _result() -> dict:
    """A small stored result, written out by hand."""
    def summary(m6: float | None, bias: float | None, nf: float | None, mall: float, pooled: float,
                cov: float | None, covered: float, ranges: int, beats: int, bar: tuple) -> dict:
        return {"mape_6": m6, "bias_6": bias, "noise_floor_6": nf, "mape_all": mall, "mape_all_pooled": pooled,
                "coverage": cov, "covered": covered, "ranges": ranges, "beats_weeks": beats, "weeks": 14,
                "bar": dict(zip(("mape", "coverage", "beats", "all"), bar, strict=True))}

    def spread(n: int, mean: float | None, median: float | None, lo: float | None, hi: float | None) -> dict:
        return {"n": n, "mean": mean, "median": median, "min": lo, "max": hi}

    return {
        "size": "S", "seeds": [7, 1], "as_of": "2026-12-02", "commit": "abc1234", "date": "2026-12-02 11:00",
        "runs": [
            {"seed": 7, "forecast": {"shrinkage_k": 5.0, "forecast": 13.0}, "weeks": [],
             "summary": summary(0.152, 0.047, 0.064, 0.134, 0.132, 41 / 48, 41.0, 48, 7,
                                (False, True, False, False))},
            {"seed": 1, "forecast": {"shrinkage_k": 20.0, "weighting": "count"}, "weeks": [],
             "summary": summary(0.08, -0.02, 0.05, 0.1, 0.09, 0.7, 7.0, 10, 14, (True, True, True, True))},
        ],
        "summary": {"seeds": 2, "mape_6": spread(2, 0.116, 0.116, 0.08, 0.152),
                    "noise_floor_6": spread(2, 0.057, 0.057, 0.05, 0.064),
                    "mape_all": spread(2, 0.117, 0.117, 0.1, 0.134),
                    "mape_all_pooled": spread(2, 0.111, 0.111, 0.09, 0.132),
                    "coverage": spread(2, 0.777, 0.777, 0.7, 0.854),
                    "meet_mape": 1, "meet_coverage": 2, "meet_beats": 1, "meet_all": 1},
    }


def test_report_only_prints_the_table(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """--report-only re-prints a stored result: one row per seed, the summary row and the verdict."""
    path = tmp_path / "result.json"
    path.write_text(json.dumps(_result()), encoding="utf-8")
    assert fs.main(["--report-only", str(path)]) == 0
    out = capsys.readouterr().out.splitlines()
    # a result written before --years had two years of history
    assert out[0].startswith("S demo, seeds 7, 1, as of 2026-12-02, 2 years of history (commit abc1234, "
                             "run 2026-12-02 11:00)")
    table = [line for line in out if line.startswith("|")]
    assert len(table) == 5  # header, rule, two seeds, summary
    assert table[2] == ("| 7 | 15.2% (+4.7%) | 6.4% | 13.4% | 13.2% | 85% (41 of 48) | 7 of 14 weeks | 5 | "
                        "no / yes / no |")
    assert table[3] == ("| 1 | 8.0% (-2.0%) | 5.0% | 10.0% | 9.0% | 70% (7 of 10) | 14 of 14 weeks | 20, count | "
                        "yes / yes / yes |")
    assert table[4] == ("| all 2 | 11.6% (median 11.6%; 8.0% – 15.2%) | 5.7% (mean) | "
                        "11.7% (median 11.7%; 10.0% – 13.4%) | 11.1% (median 11.1%; 9.0% – 13.2%) | "
                        "2 of 2 in 70–90% | 1 of 2 every week | | 1 / 2 / 1 of 2 |")
    assert out[-1] == "Seeds meeting the 8% bar at six weeks: **1 of 2**; the whole bar: **1 of 2**."


def test_report_only_bad_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """A file that is not a result: one error line, exit 1."""
    path = tmp_path / "other.json"
    path.write_text("[1, 2]", encoding="utf-8")
    assert fs.main(["--report-only", str(path)]) == 1
    err = capsys.readouterr().err
    assert err.startswith(f"error: {path} is not a forecast_seeds result") and err.count("\n") == 1


def _snapshots(data: Path, n: int, source: str = "demo size=S seed=7", as_of: str = "2026-12-02") -> None:
    """n snapshot folders with manifests, the last one dated as_of."""
    for i in range(n):
        day = as_of if i == n - 1 else f"2025-{1 + i // 28:02d}-{1 + i % 28:02d}"
        folder = data / "snapshots" / day
        folder.mkdir(parents=True)
        (folder / "manifest.json").write_text(json.dumps({"as_of": day, "source": source}), encoding="utf-8")


def test_demo_state(tmp_path: Path) -> None:
    """Nothing published counts 0; this demo counts its snapshots; another demo, size or day counts -1."""
    assert fs.demo_state(tmp_path / "absent", "S", 7, date(2026, 12, 2)) == 0
    _snapshots(tmp_path / "s7", 104)
    assert fs.demo_state(tmp_path / "s7", "S", 7, date(2026, 12, 2)) == 104
    assert fs.demo_state(tmp_path / "s7", "S", 1, date(2026, 12, 2)) == -1
    assert fs.demo_state(tmp_path / "s7", "M", 7, date(2026, 12, 2)) == -1
    assert fs.demo_state(tmp_path / "s7", "S", 7, date(2026, 11, 25)) == -1
    _snapshots(tmp_path / "half", 3)
    assert fs.demo_state(tmp_path / "half", "S", 7, date(2026, 12, 2)) == 3
    # a three-year demo names its years; the two-year demo's folder is not it, nor it the two-year one
    _snapshots(tmp_path / "s7-3y", 156, source="demo size=S seed=7 years=3")
    assert fs.demo_state(tmp_path / "s7-3y", "S", 7, date(2026, 12, 2), 3) == 156
    assert fs.demo_state(tmp_path / "s7-3y", "S", 7, date(2026, 12, 2)) == -1
    assert fs.demo_state(tmp_path / "s7", "S", 7, date(2026, 12, 2), 3) == -1


@pytest.mark.parametrize(("years", "weeks"), [(2, 104), (3, 156), (5, 260)])
def test_demo_source_is_the_demos_own(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, years: int, weeks: int) -> None:
    """The bench recognises a demo folder by the source and snapshot count the demo itself writes: a folder of that
    demo's weekly snapshots (52 a year, counted by hand) is reused, not built again."""
    from saleslens import demo
    assert fs.demo_source("M", 4, years) == demo.demo_source("M", 4, years)
    monkeypatch.setattr(fs, "run_cli", lambda *args: pytest.fail("the demo must not be built"))
    _snapshots(tmp_path / "M-4", weeks, source=demo.demo_source("M", 4, years))
    assert fs.ensure_demo(tmp_path / "M-4", "M", 4, date(2026, 12, 2), 60, years) is False


def test_ensure_demo_reuses_or_refuses(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A folder holding the demo's 104 snapshots is reused without a build; one holding 3 is neither built into
    nor removed."""
    def no_build(*args: object) -> str:
        raise AssertionError("the demo must not be built")

    monkeypatch.setattr(fs, "run_cli", no_build)
    _snapshots(tmp_path / "S-7", 104)
    assert fs.ensure_demo(tmp_path / "S-7", "S", 7, date(2026, 12, 2), 60) is False
    _snapshots(tmp_path / "S-1", 3, source="demo size=S seed=1")
    with pytest.raises(fs.BenchError, match=r"seed 1: .*S-1 holds something other than the S demo of seed 1"):
        fs.ensure_demo(tmp_path / "S-1", "S", 1, date(2026, 12, 2), 60)
    assert len(list((tmp_path / "S-1" / "snapshots").iterdir())) == 3
    with pytest.raises(fs.BenchError, match="with 156 snapshots"):  # the two-year demo is not the three-year one
        fs.ensure_demo(tmp_path / "S-7", "S", 7, date(2026, 12, 2), 60, 3)


def test_ensure_demo_builds_with_its_years(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """An empty folder gets `saleslens demo` with the years asked for."""
    calls: list[list[str]] = []
    monkeypatch.setattr(fs, "run_cli", lambda seed, args, timeout: calls.append(args) or "")
    assert fs.ensure_demo(tmp_path / "S-2-3y", "S", 2, date(2026, 12, 2), 60, 3) is True
    assert calls == [["demo", "--size", "S", "--seed", "2", "--as-of", "2026-12-02", "--years", "3",
                      "--data", str(tmp_path / "S-2-3y")]]


def _failing_run(cmd: list[str], **kwargs: object) -> subprocess.CompletedProcess:
    """A saleslens command that leaves a folder behind, redraws progress with \\r and fails."""
    data = Path(cmd[cmd.index("--data") + 1])
    data.mkdir(parents=True)
    (data / "partial").write_text("x", encoding="utf-8")
    return subprocess.CompletedProcess(cmd, 2, "", " 0% Generating\r40% Publishing\nTraceback (most recent call "
                                                  "last):\n  File x\nOSError: disk full\n")


def test_failed_command_is_one_line(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                    capsys: pytest.CaptureFixture[str]) -> None:
    """The seed, the command and its last stderr lines on one line; the folders the run made are removed, the
    work dir it was given is kept, and no result is written."""
    monkeypatch.setattr(fs.subprocess, "run", _failing_run)
    work, out = tmp_path / "work", tmp_path / "out.json"
    work.mkdir()
    assert fs.main(["--seeds", "3", "--work", str(work), "--out", str(out)]) == 1
    err = capsys.readouterr().err.strip().splitlines()[-1]
    assert err == (f"error: seed 3: `python -m saleslens demo --size S --seed 3 --as-of 2026-12-02 --data "
                   f"{work / 'S-3'}` failed (exit 2): Traceback (most recent call last): | File x | OSError: disk full")
    assert work.is_dir() and not (work / "S-3").exists() and not out.exists()


def test_seeds_argument() -> None:
    """Comma-separated integers; anything else is refused."""
    assert fs._seeds("1,2, 7") == [1, 2, 7]
    with pytest.raises(Exception, match="not a comma-separated list"):
        fs._seeds("1,x")
    with pytest.raises(Exception, match="not a comma-separated list"):
        fs._seeds("")


def _fake_cli(cmd: list[str], **kwargs: object) -> subprocess.CompletedProcess:
    """The demo builds a folder; the backtest prints ON_BOUNDS; the forecast prints one row; git is absent."""
    if cmd[0] == "git":
        return subprocess.CompletedProcess(cmd, 128, "", "fatal: not a git repository\n")
    data = Path(cmd[cmd.index("--data") + 1])
    outputs = {"demo": "published 104 snapshots", "forecast-accuracy": json.dumps(ON_BOUNDS),
               "forecast": json.dumps([{"forecast": 12.0, "shrinkage_k": 20.0, "closed": 4.0}])}
    if cmd[3] == "demo":
        data.mkdir(parents=True)
    return subprocess.CompletedProcess(cmd, 0, outputs[cmd[3]], "")


def test_run_writes_the_result_and_removes_its_temp_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                       capsys: pytest.CaptureFixture[str]) -> None:
    """Without --work and --keep the demos go to a new folder under the temp dir, removed at the end; the JSON
    holds each seed's summary, weekly rows and forecast fields, and a commit git cannot give is null."""
    monkeypatch.setattr(fs.subprocess, "run", _fake_cli)
    monkeypatch.setattr(fs.tempfile, "gettempdir", lambda: str(tmp_path))
    out = tmp_path / "result.json"
    assert fs.main(["--seeds", "4,2", "--out", str(out)]) == 0
    assert [p.name for p in tmp_path.iterdir()] == ["result.json"]
    result = json.loads(out.read_text(encoding="utf-8"))
    assert (result["size"], result["seeds"], result["as_of"], result["commit"]) == ("S", [4, 2], "2026-12-02", None)
    assert [r["seed"] for r in result["runs"]] == [4, 2]
    assert result["runs"][0]["weeks"] == ON_BOUNDS
    assert result["runs"][0]["forecast"] == {"forecast": 12.0, "shrinkage_k": 20.0}
    assert result["runs"][1]["summary"]["mape_6"] == pytest.approx(0.08)
    assert result["summary"]["meet_all"] == 2
    assert "| 4 | 8.0% (-1.0%) | 5.0% | 7.5% | 6.6% | 70% (7 of 10) | 4 of 4 weeks | 20 | yes / yes / yes |" in (
        capsys.readouterr().out)
