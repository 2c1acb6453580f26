"""A data directory whose path has glob characters ([ ] * ?) is read as written, never as a pattern (#14 item 11)."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from saleslens import cli
from tests import fixtures


@pytest.mark.parametrize("name", ["br[a]ck", "star*dir", "what?", "x[1-9]y"])
def test_data_directory_with_glob_characters(name: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    data_dir = tmp_path / name
    fixtures.build_store(data_dir)
    assert cli.main(["kpis", "--by", "org", "--format", "csv", "--data", str(data_dir)]) == 0
    out = capsys.readouterr()
    # tests/fixtures.py: won with a close date at any time: O1 1,000 + O3 6,000 + O4 2,000 = 9,000.
    assert out.out.splitlines()[1].split(",")[2] == "9000.0", out
    assert out.err == ""


def test_a_damaged_file_is_never_answered_with_advice_to_delete(tmp_path: Path,
                                                                capsys: pytest.CaptureFixture[str]) -> None:
    data_dir = tmp_path / "data"
    fixtures.build_store(data_dir)
    stages = next(data_dir.glob("snapshots/*/stages.parquet"))
    stages.write_bytes(b"not parquet")
    before = sorted(p.name for p in data_dir.rglob("*"))
    assert cli.main(["kpis", "--by", "org", "--data", str(data_dir)]) == 2
    err = capsys.readouterr().err
    assert "stages.parquet is damaged" in err and "delete" not in err.lower()
    assert sorted(p.name for p in data_dir.rglob("*")) == before
    shutil.rmtree(data_dir)
