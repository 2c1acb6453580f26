"""Malformed inputs, one test each: a clear message naming file, row and column, and the store unchanged."""

from __future__ import annotations

from pathlib import Path

import pytest

from saleslens import ingest
from saleslens.core import store
from saleslens.ingest import ImportFailed, MappingError
from tests import fixtures
from tests.ingest_cases import BAD_INPUTS, BAD_MAPPINGS, TINY_MAPPING, Bad, tiny_files, tree_state, write


@pytest.fixture
def data_dir(tmp_path: Path) -> Path:
    """A data directory that already serves the tiny snapshot: a failed import must leave it exactly so."""
    path = tmp_path / "data"
    fixtures.build_store(path)
    return path


def _run(tmp_path: Path, data_dir: Path, files: dict[str, bytes], mapping_text: str) -> None:
    source = write(tmp_path / "export", files)
    mapping_file = tmp_path / "mapping.toml"
    mapping_file.write_text(mapping_text, encoding="utf-8")
    ingest.run_import(source, str(mapping_file), data_dir)


@pytest.mark.parametrize("case", BAD_INPUTS, ids=[c.id for c in BAD_INPUTS])
def test_bad_input_is_named_and_changes_nothing(
    case: Bad, tmp_path: Path, data_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The import fails, the message names the file, row and column, and the store is byte for byte the same."""
    for key, value in case.env.items():
        monkeypatch.setenv(key, value)
    before = tree_state(data_dir)
    latest = store.open_snapshot(data_dir).id
    with pytest.raises(ImportFailed) as caught:
        _run(tmp_path, data_dir, case.files, case.mapping)
    assert tree_state(data_dir) == before
    assert store.open_snapshot(data_dir).id == latest
    matching = [p for p in caught.value.problems if p.code == case.code]
    assert matching, f"expected a {case.code} problem, got {[p.code for p in caught.value.problems]}"
    problem = matching[0]
    assert (problem.file, problem.row, problem.column) == (case.file, case.row, case.column)
    message = str(caught.value)
    assert "published nothing" in message
    line = next(x for x in message.splitlines() if problem.message("en") in x)
    if case.file:
        assert case.file in line
    if case.row is not None:
        assert f"row {case.row}" in line
    if case.column:
        assert f"column {case.column}" in line
    for word in case.words:
        assert word in message, f"{word!r} not in {message!r}"
    assert "ingest.problem" not in message, "a message key has no text"


def test_there_are_at_least_thirty_bad_inputs() -> None:
    """The issue asks for at least 30 malformed inputs."""
    assert len(BAD_INPUTS) >= 30
    assert len({c.id for c in BAD_INPUTS}) == len(BAD_INPUTS)


@pytest.mark.parametrize(("case_id", "text", "words"), BAD_MAPPINGS, ids=[c[0] for c in BAD_MAPPINGS])
def test_bad_mapping_is_named_and_changes_nothing(
    case_id: str, text: str, words: str, tmp_path: Path, data_dir: Path
) -> None:
    """A mapping file that cannot be used fails before any file is read, naming the mapping and the problem."""
    before = tree_state(data_dir)
    with pytest.raises(MappingError) as caught:
        _run(tmp_path, data_dir, tiny_files(), text)
    assert tree_state(data_dir) == before
    assert "mapping.toml" in str(caught.value)
    assert words in str(caught.value)


def test_bad_rows_can_be_let_through_on_request(tmp_path: Path, data_dir: Path) -> None:
    """With --max-rejected the import publishes without the bad rows and the report lists them."""
    deals = "id,owner,stage,created,closed,amount\nD1,R1,Won,2026-01-10,2026-02-10,1000\nD2,R1,Lost,soon,,5\n"
    source = write(tmp_path / "export", tiny_files(deals=deals))
    mapping = ingest.mapping.parse(TINY_MAPPING, "tiny.toml")
    snap = ingest.run_import(source, mapping, data_dir, max_rejected=1)
    assert snap.manifest["row_counts"]["opportunities"] == 1
    report = snap.manifest["import_report"]
    deals_row = next(s for s in report["sources"] if s["table"] == "opportunities")
    assert (deals_row["read"], deals_row["accepted"], deals_row["rejected"]) == (2, 1, 1)
    reason = report["rejected"][0]
    assert (reason["code"], reason["file"], reason["column"]) == ("bad_date", "deals.csv", "created")
    assert reason["count"] == 1
    assert reason["examples"][0]["row"] == 3
    assert "'soon' is not a date" in reason["examples"][0]["message"]


def test_cli_prints_the_problem_and_exits_2(tmp_path: Path, data_dir: Path, capsys: pytest.CaptureFixture) -> None:
    """The CLI shows the failure as lines naming file, row and column, and exits 2."""
    from saleslens.cli import main

    source = write(tmp_path / "export", tiny_files(deals="id,owner,stage,created,closed,amount\nD1,R1,Won,x,,1\n"))
    (tmp_path / "m.toml").write_text(TINY_MAPPING, encoding="utf-8")
    before = tree_state(data_dir)
    code = main(["import", str(source), "--mapping", str(tmp_path / "m.toml"), "--data", str(data_dir)])
    err = capsys.readouterr().err
    assert code == 2
    assert "saleslens import: error: The import found 1 problem(s) and published nothing" in err
    assert "deals.csv, row 2, column created: 'x' is not a date (created_date)" in err
    assert tree_state(data_dir) == before
