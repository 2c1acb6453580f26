"""funnel_by_stage and funnel_by_cohort read the stored funnel deals with filters the Parquet scan prunes with (the
open deals, the closed ones by close date; each cohort by its created dates): the same funnels as the queries before
(kept beside this file), on the S demo for every filter and kind of period, for everyone and a row-scoped viewer."""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from datetime import date, timedelta
from pathlib import Path

import polars as pl
import pytest
from polars.testing import assert_frame_equal

from queries import catalog
from queries.runner import Runner, Scope
from saleslens.core import store
from tests import support

HERE = Path(__file__).parent


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A copy of the S demo (its funnel_deals written at publish)."""
    return support.demo_copy(tmp_path_factory, "funnel-pruning")


def _cases(snap: store.Snapshot) -> Iterator[dict[str, object]]:
    """Periods (a quarter, its days so far, a month's days, open bounds) with each filter."""
    reps = pl.read_parquet(snap.table_path("reps")).filter(pl.col("role") == "AE").sort("rep_id")
    product = pl.read_parquet(snap.table_path("products"))["product_id"].sort()[0]
    segment = pl.read_parquet(snap.table_path("accounts"))["segment"].drop_nulls().sort()[0]
    a, y = snap.as_of, snap.as_of.year
    periods = [(None, None), (date(y, 10, 1), date(y, 12, 31)), (date(y, 10, 1), a), (date(y, 7, 1), date(y, 9, 30)),
               (date(y, 2, 5), date(y, 2, 20)), (None, date(y, 6, 30)), (date(y - 1, 3, 1), None)]
    filters = [{}, {"regions": [reps["region"][0]]}, {"teams": [reps["team"][0]]}, {"reps": [reps["rep_id"][0]]},
               {"products": [product]}, {"segments": [segment]}, {"sources": ["Inbound", "Referral"]}]
    for (start, end), f in itertools.product(periods, filters):
        yield {"start": start, "end": end, **f}


def _same_as_before(runner: Runner, name: str) -> int:
    """Compare the shipped query with the one before on every case (the cohort funnel also with a previous cohort
    just before the period and one overlapping it); how many cases were compared."""
    query = catalog.get(name)
    path = HERE / f"{name}_before.sql"
    before = catalog.expand(path.read_text(encoding="utf-8"), path.name)
    cur = runner._db.cursor()
    n = 0
    try:
        for params in _cases(runner.snapshot):
            variants = [params]
            if name == "funnel_by_cohort" and params["start"] is not None:
                s = params["start"]
                variants += [{**params, "prev_start": s - timedelta(days=92), "prev_end": s - timedelta(days=1)},
                             {**params, "prev_start": s - timedelta(days=40), "prev_end": s + timedelta(days=20)}]
            for p in variants:
                bound = catalog.bind(query, p)
                # amounts are whole numbers: the sums are exact whatever order they are added in
                assert_frame_equal(cur.sql(query.sql, params=bound).pl(), cur.sql(before, params=bound).pl(),
                                   check_exact=True)
                n += 1
    finally:
        cur.close()
    return n


@pytest.mark.parametrize("name, cases", [("funnel_by_stage", 7 * 7), ("funnel_by_cohort", 7 * 7 + 2 * 5 * 7)])
def test_the_s_demo_gets_the_same_funnel_as_before(demo: Path, name: str, cases: int) -> None:
    everyone = Runner(store.open_snapshot(demo))
    reps = pl.read_parquet(store.open_snapshot(demo).table_path("reps")).sort("rep_id")
    team = reps["team"].drop_nulls()[0]
    scoped = Runner(store.open_snapshot(demo),
                    Scope("one team", frozenset(reps.filter(pl.col("team") == team)["rep_id"].to_list())))
    try:
        assert _same_as_before(everyone, name) == cases
        assert _same_as_before(scoped, name) == cases
    finally:
        everyone.close()
        scoped.close()
