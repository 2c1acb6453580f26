"""The funnel numbers from the command line: `query <funnel query>` and `funnel-bottleneck`."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from saleslens import cli
from tests import funnel_fixtures as ff


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("cli")
    ff.build_store(path)
    return path


def run_json(capsys: pytest.CaptureFixture, *argv: str) -> list[dict]:
    assert cli.main([*argv, "--format", "json"]) == 0
    return json.loads(capsys.readouterr().out)


def test_query_prints_the_waterfall_with_a_compare_snapshot(data_dir: Path, capsys: pytest.CaptureFixture) -> None:
    rows = run_json(capsys, "query", "pipeline_changes_by_category", "--data", str(data_dir),
                    "--param", "compare=2026-06-23", "--param", "start=2026-04-01", "--param", "end=2026-06-30")
    # Worked out in test_funnel_changes.py: 16,100 at 2026-06-23, 8,100 at 2026-06-30.
    assert (rows[0]["amount"], rows[-1]["amount"]) == (16100.0, 8100.0)


def test_query_prints_the_cohort_funnel(data_dir: Path, capsys: pytest.CaptureFixture) -> None:
    rows = run_json(capsys, "query", "funnel_by_cohort", "--data", str(data_dir), "--param", "start=2026-04-01",
                    "--param", "end=2026-06-30", "--param", "regions=East,West")
    assert [r["reached"] for r in rows] == [7, 5, 4, 2, 2]  # as in test_funnel_queries.py


def test_bottleneck_command(data_dir: Path, capsys: pytest.CaptureFixture) -> None:
    rows = run_json(capsys, "funnel-bottleneck", "--data", str(data_dir), "--from", "2026-04-01",
                    "--to", "2026-06-30", "--min-deals", "1")
    drop, low = rows
    # Cohort Q2 against Q1, counting deals that left a stage: Q->Proposal 4 of 5 (0.8) vs 2 of 2 (1.0): -0.2;
    # Proposal->Won 2 of 3 (D3 still waits in Proposal) vs 1 of 1 (E3 waits): -0.333, the bigger drop.
    assert (drop["callout"], drop["from_stage"], drop["to_stage"], drop["moved_on"], drop["decided"]) == (
        "vs_previous", "Proposal", "Closed Won", 2, 3)
    assert round(drop["change"], 4) == round(2 / 3 - 1, 4)
    # No filter: the lowest step outright is the same one, 2 of 3 (P->Q 5 of 5, Q->Proposal 4 of 5).
    assert (low["callout"], low["to_stage"], low["ref_rate"]) == ("lowest", "Closed Won", None)
    assert drop["funnel"] == "cohort"


def test_bottleneck_command_rejects_bad_input(data_dir: Path, capsys: pytest.CaptureFixture) -> None:
    assert cli.main(["funnel-bottleneck", "--data", str(data_dir), "--from", "2026-06-30", "--to",
                     "2026-04-01"]) == 2
    assert "after" in capsys.readouterr().err
    assert cli.main(["funnel-bottleneck", "--data", str(data_dir), "--from", "2026-04-01", "--to", "2026-06-30",
                     "--param", "colour=red"]) == 2
    assert "--param must be one of" in capsys.readouterr().err
