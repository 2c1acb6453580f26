"""The learned stage win rates from the derived table forecast_stages_by_rep: stored at publish or computed as a
view, for a viewer who sees everyone and for a scoped viewer, with a stage change of a deal no snapshot has.

Every expected value is worked out by hand from tests/targets_fixtures.py (the deals' stage paths).
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date, datetime
from pathlib import Path

import polars as pl
import pytest

from queries.runner import Runner, Scope, derived_file
from saleslens.core import store
from saleslens.core.filters import Filters
from saleslens.targets import data as td
from tests import targets_fixtures as fx
from tests.support import sql_rows

# A move of a deal that is in no snapshot: it counts in the stage history of a viewer who sees everyone,
# never for a scoped viewer, and never as a closed deal.
GHOST = pl.DataFrame({"opportunity_id": ["G1"], "from_stage": [None], "to_stage": ["Prospecting"],
                      "changed_at": [datetime(2026, 4, 2, 12)]}, schema_overrides={"from_stage": pl.String})

# Stage changes up to AS_OF: W1 4, W2 3, W3 3, W4 2, W5 2, W6 3, W7 4, L1 2, L2 3, L3 4, L4 2,
# O1 2, O2 3, O3 1, O4 2, O5 1 = 41, and the ghost's 1.
ALL_MOVES = 42
# Ann (R1): W1 4, W3 3, W6 3, L1 2, L3 4, O1 2 = 18.
ANN_MOVES = 18
ANN = Scope('reps:["R1"]', frozenset({"R1"}))


@pytest.fixture(scope="module", params=["stored", "computed"])
def data_dir(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The fixture snapshots with the ghost move; derived tables written at publish, or left to the runner."""
    path = tmp_path_factory.mktemp(f"targets_{request.param}")
    fx.build_store(path, derive=request.param == "stored", extra_changes=GHOST)
    snap = store.open_snapshot(path)
    assert derived_file(snap, "forecast_stages_by_rep").exists() == (request.param == "stored")
    return path


@pytest.fixture
def everyone(data_dir: Path) -> Iterator[Runner]:
    """A runner on the latest snapshot for a viewer who sees every rep."""
    r = Runner(store.open_snapshot(data_dir))
    yield r
    r.close()


@pytest.fixture
def ann_only(data_dir: Path) -> Iterator[Runner]:
    """A runner on the latest snapshot for a viewer who sees only Ann's rows."""
    r = Runner(store.open_snapshot(data_dir), ANN)
    yield r
    r.close()


def _stats(r: Runner) -> dict[str, dict]:
    return {row["stage"]: row for row in r.run("forecast_by_stage").iter_rows(named=True)}


def test_derived_rows_are_per_rep_and_stage(everyone: Runner) -> None:
    rows = {(rep, stage): (deals, won, amount, won_amount, moves) for rep, stage, deals, won, amount, won_amount, moves
            in sql_rows(everyone, "select rep_id, stage, deals, won, amount, won_amount, moves "
                                  "from forecast_stages_by_rep")}
    # Ann's closed deals: W1 (P, Pr, N, CW) 2,000 won, W3 (P, Pr, CW) 1,000 won, W6 (P, Pr, CW) 1,500 won,
    # L1 (P, CL) 3,000 lost, L3 (P, Pr, N, CL) 1,000 lost; open O1 (P, Pr) moved into two stages.
    assert rows[("R1", "Prospecting")] == (5, 3, 8500.0, 4500.0, 6)
    assert rows[("R1", "Proposal")] == (4, 3, 5500.0, 4500.0, 5)
    assert rows[("R1", "Negotiation")] == (2, 1, 3000.0, 2000.0, 2)
    assert rows[("R1", "Closed Won")] == (3, 3, 4500.0, 4500.0, 3)
    assert rows[("R1", "Closed Lost")] == (2, 0, 4000.0, 0.0, 2)
    # Cy (R3) has only the open O3: a move, no closed deal. The ghost's move belongs to no rep.
    assert rows[("R3", "Prospecting")] == (0, 0, 0.0, 0.0, 1)
    assert rows[(None, "Prospecting")] == (0, 0, 0.0, 0.0, 1)
    assert sum(v[4] for v in rows.values()) == ALL_MOVES


# Per stage, (deals, won, amount, won_amount) of the closed deals that were ever in it, from the stage paths.
# Everyone: Prospecting W1 W2 W3 W4 W6 W7 won (11,000), L1 L2 L3 L4 lost; Proposal W1 W2 W3 W5 W6 W7 won (12,000),
# L2 L3 lost; Negotiation W1 W7 won (3,500), L3 lost. Ann of those: W1 W3 W6 won, L1 L3 lost. The ghost is in
# no snapshot, so it is not a closed deal; its move counts in everyone's history only.
@pytest.mark.parametrize(("viewer", "expected", "moves"), [
    ("everyone", {"Prospecting": (10, 6, 17500.0, 11000.0), "Proposal": (8, 6, 15000.0, 12000.0),
                  "Negotiation": (3, 2, 4500.0, 3500.0)}, ALL_MOVES),
    ("ann_only", {"Prospecting": (5, 3, 8500.0, 4500.0), "Proposal": (4, 3, 5500.0, 4500.0),
                  "Negotiation": (2, 1, 3000.0, 2000.0)}, ANN_MOVES),
])
def test_learned_rates_count_the_viewers_deals(viewer: str, expected: dict, moves: int, everyone: Runner,
                                               ann_only: Runner) -> None:
    stats = _stats({"everyone": everyone, "ann_only": ann_only}[viewer])
    assert {s: (v["deals"], v["won"], v["amount"], v["won_amount"]) for s, v in stats.items() if s in expected} \
        == expected
    assert {row["history_rows"] for row in stats.values()} == {moves}


def test_learned_rates_list_every_stage_and_only_the_viewers_reps(everyone: Runner, ann_only: Runner) -> None:
    assert everyone.run("forecast_by_stage")["stage"].to_list() == fx.STAGES["stage"].to_list()
    reps = {rep for (rep,) in sql_rows(ann_only, "select distinct rep_id from forecast_stages_by_rep")}
    assert reps == {"R1"}


def test_forecast_uses_the_viewers_rates(ann_only: Runner, everyone: Runner) -> None:
    fc = td.forecast_report(ann_only, Filters(period="custom"), date(2026, 4, 1), date(2026, 6, 30), 1500.0)
    # One past quarter of snapshots: the stage-default fallback. Ann sees only her deals: her only open deal
    # is O1 (Proposal .5, 2,000) and her Q2 win W6 1,500: 1,500 + 1,000.
    assert fc.deals["opportunity_id"].to_list() == ["O1"]
    assert fc.forecast.weighted == pytest.approx(1000.0) and fc.forecast.expected == pytest.approx(2500.0)
    # The whole organisation's number is not served to her from the forecast's cache, nor hers to everyone.
    org = td.forecast_report(everyone, Filters(period="custom"), date(2026, 4, 1), date(2026, 6, 30), 3000.0)
    assert org.forecast.expected == pytest.approx(5250.0)
