"""The XL demo's building blocks: S unchanged, blocks relabelled apart, a blocked build published streamed."""

from __future__ import annotations

import hashlib
from dataclasses import fields
from datetime import date, timedelta
from pathlib import Path

import polars as pl
import pytest

from saleslens import demo
from saleslens.core import schema

AS_OF = date(2025, 11, 19)

# sha256 of every frame of demo.generate("S", 7, date(2025, 11, 19)) (each frame's name, schema and CSV text, in
# the Demo's field order), computed with main's code at 0d07bfd, before the XL additions, by _digest below run
# from /work/main. S, M and L take the unchanged path, so S's frames must still give this digest.
S_DIGEST = "2bb478e7ae835fadd568812f6883ae9868f1fb307b5da17b48452db6e52ef4a3"


def _digest(d: demo.Demo) -> str:
    """One hash of every frame of a demo: name, schema and values."""
    h = hashlib.sha256()
    for f in fields(d):
        value = getattr(d, f.name)
        if isinstance(value, pl.DataFrame):
            h.update(f.name.encode())
            h.update(str(value.schema).encode())
            h.update(value.write_csv().encode())
    return h.hexdigest()


def test_the_s_demo_is_unchanged_by_the_xl_path() -> None:
    assert _digest(demo.generate("S", 7, AS_OF)) == S_DIGEST


def test_xl_is_not_a_size_generate_takes() -> None:
    # XL is built block by block; generate keeps refusing sizes it does not know.
    with pytest.raises(ValueError, match="Unknown demo size"):
        demo.generate("XL", 7, AS_OF)


def test_block_seeds_are_fixed_and_distinct() -> None:
    seeds = [demo.block_seed(7, b) for b in range(10)]
    assert seeds == [demo.block_seed(7, b) for b in range(10)]
    assert len(set(seeds)) == 10 and demo.block_seed(8, 0) not in seeds


def test_relabel_prefixes_ids_with_the_block_and_renumbers_teams() -> None:
    reps = pl.DataFrame({"rep_id": ["R0001", "R0002"], "team": [None, "EMEA North 2"],
                         "manager_id": [None, "R0001"], "region": ["EMEA North", "EMEA North"]})
    out = demo._relabel("reps", reps, 3, 92)
    # Block 3 of 92 teams a region: team 2 becomes 3 * 92 + 2 = 278; ids get "03" after their letters.
    assert out.to_dict(as_series=False) == {"rep_id": ["R030001", "R030002"], "team": [None, "EMEA North 278"],
                                            "manager_id": [None, "R030001"], "region": ["EMEA North"] * 2}
    targets = pl.DataFrame({"owner_type": ["rep", "team"], "owner_id": ["R0042", "APAC 1"]})
    assert demo._relabel("targets", targets, 3, 92)["owner_id"].to_list() == ["R030042", "APAC 277"]
    acts = pl.DataFrame({"activity_id": ["ACT00000007"], "opportunity_id": [None], "account_id": ["A00012"],
                         "type": ["call"]}, schema_overrides={"opportunity_id": pl.String})
    assert demo._relabel("activities", acts, 12, 2).row(0) == ("ACT1200000007", None, "A1200012", "call")


def test_block_tables_keep_the_numbers_and_make_keys_unique_across_blocks() -> None:
    day = AS_OF - timedelta(days=7)
    first, second = demo.xl_block(7, 0, AS_OF, "S"), demo.xl_block(7, 1, AS_OF, "S")
    plain = demo.snapshot_tables(second, day)
    a, b = demo.block_tables(first, 0, day), demo.block_tables(second, 1, day)
    assert plain["opportunities"]["amount"].equals(b["opportunities"]["amount"])  # only labels change
    assert plain["opportunities"]["opportunity_id"][0] == "OPP0000001"
    assert b["opportunities"]["opportunity_id"][0] == "OPP010000001"
    for name in ("reps", "accounts", "opportunities", "leads", "payments"):
        key = list(schema.TABLES[name].key)
        both = pl.concat([a[name], b[name]])
        assert both.select(key).is_unique().all(), name
    teams = pl.concat([a["reps"], b["reps"]])["team"].drop_nulls().unique()
    assert teams.len() == 2 * 3 * demo.SIZES["S"].teams_per_region  # 3 regions of 2 teams, per block
    assert "North America 3" in b["reps"]["team"].to_list()  # block 1's first team, after block 0's two
    history = demo.block_history(second, 1)
    assert history["activities"]["rep_id"].str.starts_with("R01").all()
    assert history["stage_changes"].height == second.stage_changes.height


def test_a_blocked_build_publishes_every_block(tmp_path: Path) -> None:
    blocks = [demo.xl_block(7, b, AS_OF, "S") for b in range(2)]
    snaps = demo.build_blocks(tmp_path / "data", 7, AS_OF, lambda f, m: None, blocks=2, size="S", snapshots=2)
    assert [s.as_of for s in snaps] == [AS_OF - timedelta(days=7), AS_OF]
    last = snaps[-1].manifest
    assert last["row_counts"]["reps"] == sum(b.reps.height for b in blocks)
    assert last["row_counts"]["opportunities"] == sum(b.opportunities.height for b in blocks)
    assert last["row_counts"]["stages"] == 7 and last["row_counts"]["products"] == 7  # one catalogue
    assert last["events"]["activities"] == sum(b.activities.height for b in blocks)
    assert last["derived"] and snaps[0].manifest.get("derived") is None  # only the latest gets rollups now
    opps = pl.read_parquet(snaps[-1].table_path("opportunities"))
    reps = pl.read_parquet(snaps[-1].table_path("reps"))
    assert opps["owner_id"].is_in(reps["rep_id"].implode()).all()
    assert opps["close_date"].drop_nulls().is_sorted()  # sorted for pruning, as publish_snapshot does
    assert not (tmp_path / "data-parts").exists()  # the parts are scratch
