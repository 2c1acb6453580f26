"""docs/MAPPING.md stays true: its walkthrough imports as written, and it documents every mapping key."""

from __future__ import annotations

import re
from pathlib import Path

import polars as pl
import pytest

from saleslens import ingest
from saleslens.ingest import mapping as mp
from tests.ingest_cases import ROOT, write

DOC = (ROOT / "docs" / "MAPPING.md").read_text(encoding="utf-8")
WALKTHROUGH = DOC.split("## Walkthrough")[1].split("## Notes")[0]


def _walkthrough(tmp_path: Path, pipeline_edit: tuple[str, str] | None = None) -> tuple[Path, Path]:
    """The walkthrough's two CSV files and its mapping, assembled from the document's code blocks."""
    plain = re.findall(r"```\n(.*?)```", WALKTHROUGH, re.S)
    owners, pipeline = plain[0], plain[1]
    if pipeline_edit:
        pipeline = pipeline.replace(*pipeline_edit)
    source = write(tmp_path / "exports", {"owners.csv": owners.encode(), "pipeline.csv": pipeline.encode()})
    mapping = tmp_path / "mycrm.toml"
    mapping.write_text("\n".join(re.findall(r"```toml\n(.*?)```", WALKTHROUGH, re.S)), encoding="utf-8")
    return source, mapping


def test_walkthrough_imports_as_written(tmp_path: Path) -> None:
    """The walkthrough's files and mapping import: three deals, German amounts and day-first dates read right."""
    source, mapping = _walkthrough(tmp_path)
    snap = ingest.run_import(source, str(mapping), tmp_path / "data")

    opps = pl.read_parquet(snap.table_path("opportunities")).sort("opportunity_id")
    assert opps["amount"].to_list() == [12500.0, 8000.0, 1200.0]
    assert opps["stage"].to_list() == ["Proposal", "Won", "Lost"]
    assert str(opps["created_date"][0]) == "2026-02-03"
    account = next(u for u in snap.manifest["import_report"]["unlinked"] if u["field"] == "account_id")
    assert account["empty"] == 1  # D-102 has no company: kept, as the walkthrough says


def test_walkthrough_error_message_is_the_real_one(tmp_path: Path) -> None:
    """The error the walkthrough shows is what the import prints for an unknown stage."""
    source, mapping = _walkthrough(tmp_path, ("D-102;U2;;Verloren", "D-102;U2;;Verhandlung"))
    with pytest.raises(ingest.ImportFailed) as caught:
        ingest.run_import(source, str(mapping), tmp_path / "data")
    shown = re.search(r"The import found.*?\[\[stages\]\]", WALKTHROUGH, re.S).group(0)
    assert " ".join(shown.split()) == " ".join(str(caught.value).split())


@pytest.mark.parametrize(
    ("section", "keys"),
    [("options", mp._OPTIONS), ("source", mp._SOURCE - {"fields"}), ("field", mp._FIELD), ("stage", mp._STAGE),
     ("top", mp._TOP - {"options", "stages", "links", "tables"})],
)
def test_every_mapping_key_is_documented(section: str, keys: set[str]) -> None:
    """Each key a mapping may use appears in the format reference as `key`."""
    reference = DOC.split("## The mapping file format")[1].split("## Limits")[0]
    missing = [k for k in sorted(keys) if f"`{k}`" not in reference and f"{k} =" not in reference]
    assert not missing, f"{section} keys not documented: {missing}"
