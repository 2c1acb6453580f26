"""kpis_by_group, bookings_by_month, filter_options_by_dimension and period_bounds_by_snapshot on the tiny set.

Every expected value below is worked out by hand from tests/fixtures.py. The deals, for reference:

    id  owner region account(segment)  product source    created  closed/expected  amount  outcome
    O1  R1    East   A1 SMB            P1 Core Inbound   01-10    closed 02-10     1000    won   (31 days)
    O2  R1    East   A1 SMB            P2 Pro  Outbound  01-15    closed 03-20     5000    lost
    O3  R2    East   A2 Enterprise     P2 Pro  Inbound   02-01    closed 04-15     6000    won   (28+31+14 = 73 days)
    O4  R3    West   A2 Enterprise     P1 Core Partner   03-01    closed 05-01     2000    won   (31+30 = 61 days)
    O5  R3    West   A2 Enterprise     P2 Pro  Partner   04-01    expects 07-15    4000    open, Proposal p=0.5
    O6  R2    East   A1 SMB            P1 Core Inbound   05-01    expects 06-30    1000    open, Prospecting p=0.1
    O7  R1    East   A1 SMB            P1 Core Inbound   05-05    closed 06-01      800    lost

Monthly bookings targets Jan-Jun: R1 1000, R2 2000, R3 1500 (Jan-Mar) then 2000 (Apr-Jun).
Activities: X1 R1 01-12, X2 R1 02-03, X3 R2 03-01, X4 R3 04-02, X5 R3 07-02 (after AS_OF 06-30: never visible).
Managers: M1 Mia Manager leads East 1 (R1, R2); M2 Max Mgr leads West 1 (R3).
"""

from __future__ import annotations

from datetime import date
from pathlib import Path

import polars as pl
import pytest

from queries.runner import Runner
from saleslens.core import store
from saleslens.kpis.registry import GROUP_BY, METRICS
from tests import fixtures

H1 = {"start": date(2026, 1, 1), "end": date(2026, 6, 30)}
COLUMNS = [
    "group_key", "group_label", "bookings", "target", "attainment", "deals_won", "deals_lost", "win_rate",
    "avg_deal_size", "cycle_days", "open_deals", "open_pipeline", "weighted_pipeline", "pipeline_coverage",
    "activities",
]
N = None


@pytest.fixture(scope="module")
def runner(tmp_path_factory: pytest.TempPathFactory) -> Runner:
    """One runner over the tiny snapshot for the whole module (queries are read-only)."""
    data_dir: Path = tmp_path_factory.mktemp("tiny")
    fixtures.build_store(data_dir)
    r = Runner(store.open_snapshot(data_dir))
    yield r
    r.close()


def row(*values: object) -> dict[str, object]:
    """A kpis_by_group row written positionally in COLUMNS order."""
    assert len(values) == len(COLUMNS)
    return dict(zip(COLUMNS, values, strict=True))


def assert_frame(frame: pl.DataFrame, expected: list[dict[str, object]]) -> None:
    """Rows equal, in order; floats compared approximately, None must be null."""
    got = frame.to_dicts()
    assert len(got) == len(expected), f"{len(got)} rows: {got}"
    for g, e in zip(got, expected, strict=True):
        for key, value in e.items():
            if value is None:
                assert g[key] is None, f"{key} of {g}"
            elif isinstance(value, float):
                assert g[key] == pytest.approx(value), f"{key} of {g}"
            else:
                assert g[key] == value, f"{key} of {g}"


# Jan-Jun 2026. East = R1 + R2: bookings O1 1000 + O3 6000 = 7000; target 6x1000 + 6x2000 = 18000;
# won O1, O3; lost O2, O7; cycle (31 + 73) / 2 = 52; open O6 1000 (expects 06-30), weighted 1000 x 0.1 = 100;
# coverage 1000 / (18000 - 7000); activities X1 X2 X3.
# West = R3: bookings O4 2000; target 3x1500 + 3x2000 = 10500; cycle 61; O5 expects 07-15 so no open
# pipeline in the period; coverage 0 / (10500 - 2000) = 0; activities X4.
EAST_H1 = (7000.0, 18000.0, 7000 / 18000, 2, 2, 0.5, 3500.0, 52.0, 1, 1000.0, 100.0, 1000 / 11000, 3)
WEST_H1 = (2000.0, 10500.0, 2000 / 10500, 1, 0, 1.0, 2000.0, 61.0, 0, 0.0, 0.0, 0.0, 1)
BY_DIMENSION_H1 = {
    # org: 9000 booked of 28500 (18000 + 10500); 3 won of 5 closed; avg 9000 / 3; cycle (31 + 73 + 61) / 3 = 55;
    # coverage 1000 / (28500 - 9000); activities 4 (X5 is after AS_OF).
    "org": [row("org", "All", 9000.0, 28500.0, 9000 / 28500, 3, 2, 0.6, 3000.0, 55.0, 1, 1000.0, 100.0,
                1000 / 19500, 4)],
    "region": [row("East", "East", *EAST_H1), row("West", "West", *WEST_H1)],
    "team": [row("East 1", "East 1", *EAST_H1), row("West 1", "West 1", *WEST_H1)],
    "manager": [row("M1", "Mia Manager", *EAST_H1), row("M2", "Max Mgr", *WEST_H1)],
    "rep": [
        # R2: O3 6000 of 6 x 2000; O6 open; coverage 1000 / (12000 - 6000); activity X3.
        row("R2", "Bob Best", 6000.0, 12000.0, 0.5, 1, 0, 1.0, 6000.0, 73.0, 1, 1000.0, 100.0, 1000 / 6000, 1),
        # R3: O4 2000 of 10500; coverage 0 / 8500.
        row("R3", "Cy Cole", 2000.0, 10500.0, 2000 / 10500, 1, 0, 1.0, 2000.0, 61.0, 0, 0.0, 0.0, 0.0, 1),
        # R1: O1 1000 of 6 x 1000; lost O2 and O7 -> 1 of 3; coverage 0 / 5000; activities X1, X2.
        row("R1", "Ann Able", 1000.0, 6000.0, 1000 / 6000, 1, 2, 1 / 3, 1000.0, 31.0, 0, 0.0, 0.0, 0.0, 2),
    ],
    # Deal dimensions carry no targets or activities: those columns are null, never a division error.
    "product": [
        # P2 Pro: O3 won 6000, O2 lost, O5 open outside the period.
        row("P2", "Pro", 6000.0, N, N, 1, 1, 0.5, 6000.0, 73.0, 0, 0.0, 0.0, N, N),
        # P1 Core: O1 1000 + O4 2000 won, O7 lost, O6 open; cycle (31 + 61) / 2 = 46.
        row("P1", "Core", 3000.0, N, N, 2, 1, 2 / 3, 1500.0, 46.0, 1, 1000.0, 100.0, N, N),
    ],
    "segment": [
        # Enterprise (A2): O3 6000 + O4 2000; cycle (73 + 61) / 2 = 67.
        row("Enterprise", "Enterprise", 8000.0, N, N, 2, 0, 1.0, 4000.0, 67.0, 0, 0.0, 0.0, N, N),
        # SMB (A1): O1 won; O2, O7 lost; O6 open.
        row("SMB", "SMB", 1000.0, N, N, 1, 2, 1 / 3, 1000.0, 31.0, 1, 1000.0, 100.0, N, N),
    ],
    "source": [
        # Inbound: O1 1000 + O3 6000 won, O7 lost, O6 open; cycle (31 + 73) / 2 = 52.
        row("Inbound", "Inbound", 7000.0, N, N, 2, 1, 2 / 3, 3500.0, 52.0, 1, 1000.0, 100.0, N, N),
        row("Partner", "Partner", 2000.0, N, N, 1, 0, 1.0, 2000.0, 61.0, 0, 0.0, 0.0, N, N),
        # Outbound: only O2, lost: win rate 0, no average deal or cycle.
        row("Outbound", "Outbound", 0.0, N, N, 0, 1, 0.0, N, N, 0, 0.0, 0.0, N, N),
    ],
}


def test_every_group_by_value_is_covered() -> None:
    assert set(BY_DIMENSION_H1) == set(GROUP_BY)


def test_output_columns_are_the_metrics() -> None:
    """Every KPI in saleslens.kpis.registry is a column of kpis_by_group, and nothing else besides the group."""
    assert COLUMNS[2:] == list(METRICS)


@pytest.mark.parametrize("by", list(BY_DIMENSION_H1))
def test_kpis_by_group_first_half(runner: Runner, by: str) -> None:
    frame = runner.run("kpis_by_group", by=by, **H1)
    assert frame.columns == COLUMNS
    assert_frame(frame, BY_DIMENSION_H1[by])


# All time (no period): the same closed deals and targets (all fall in H1), but both open deals count:
# O5 (R3, West) 4000 weighted 0.5 -> 2000 and O6 (R2, East) 1000 weighted 100. X5 stays invisible.
ALL_TIME = {
    "org": [row("org", "All", 9000.0, 28500.0, 9000 / 28500, 3, 2, 0.6, 3000.0, 55.0, 2, 5000.0, 2100.0,
                5000 / 19500, 4)],
    "region": [
        row("East", "East", *EAST_H1),
        # West: coverage 4000 / (10500 - 2000); activities only X4 although X5 is R3's too.
        row("West", "West", 2000.0, 10500.0, 2000 / 10500, 1, 0, 1.0, 2000.0, 61.0, 1, 4000.0, 2000.0,
            4000 / 8500, 1),
    ],
    "product": [
        row("P2", "Pro", 6000.0, N, N, 1, 1, 0.5, 6000.0, 73.0, 1, 4000.0, 2000.0, N, N),
        row("P1", "Core", 3000.0, N, N, 2, 1, 2 / 3, 1500.0, 46.0, 1, 1000.0, 100.0, N, N),
    ],
}


@pytest.mark.parametrize("by", list(ALL_TIME))
def test_kpis_by_group_all_time(runner: Runner, by: str) -> None:
    assert_frame(runner.run("kpis_by_group", by=by), ALL_TIME[by])
    # null start and end mean the same as leaving them out
    assert_frame(runner.run("kpis_by_group", by=by, start=None, end=None), ALL_TIME[by])


def test_second_quarter_by_rep_has_zero_attainment_not_null(runner: Runner) -> None:
    """Apr-Jun: closes O3 (R2 won 6000), O4 (R3 won 2000), O7 (R1 lost); targets 3 x the monthly value."""
    frame = runner.run("kpis_by_group", by="rep", start=date(2026, 4, 1), end=date(2026, 6, 30))
    assert_frame(frame, [
        # R2: 6000 of 3 x 2000 = 1.0; nothing left to cover, so coverage is null; no activity in Q2.
        row("R2", "Bob Best", 6000.0, 6000.0, 1.0, 1, 0, 1.0, 6000.0, 73.0, 1, 1000.0, 100.0, N, 0),
        # R3: 2000 of 3 x 2000; coverage 0 / 4000; X4 on 04-02.
        row("R3", "Cy Cole", 2000.0, 6000.0, 1 / 3, 1, 0, 1.0, 2000.0, 61.0, 0, 0.0, 0.0, 0.0, 1),
        # R1: nothing won against 3 x 1000: attainment 0 (a target exists), win rate 0 of 1, coverage 0 / 3000.
        row("R1", "Ann Able", 0.0, 3000.0, 0.0, 0, 1, 0.0, N, N, 0, 0.0, 0.0, 0.0, 0),
    ])


def test_june_by_region(runner: Runner) -> None:
    """June: only O7 closes (lost, East); O6 expects 06-30; targets R1 1000 + R2 2000 and R3 2000; no activity."""
    frame = runner.run("kpis_by_group", by="region", start=date(2026, 6, 1), end=date(2026, 6, 30))
    assert_frame(frame, [
        row("East", "East", 0.0, 3000.0, 0.0, 0, 1, 0.0, N, N, 1, 1000.0, 100.0, 1000 / 3000, 0),
        # West: no closed deal, so win rate, average deal and cycle are null rather than a division error.
        row("West", "West", 0.0, 2000.0, 0.0, 0, 0, N, N, N, 0, 0.0, 0.0, 0.0, 0),
    ])


def test_period_without_data_is_empty(runner: Runner) -> None:
    frame = runner.run("kpis_by_group", by="region", start=date(2025, 1, 1), end=date(2025, 12, 31))
    assert frame.height == 0
    assert frame.columns == COLUMNS


# Each list filter, grouped by org over H1. Deal filters (product, segment, source) narrow the deals only;
# targets and activities follow the org filters, so they stay at the whole org's 28500 and 4.
FILTERED = [
    # R3 only: O4 2000 of 10500; X4.
    ({"regions": ["West"]}, (2000.0, 10500.0, 2000 / 10500, 1, 0, 1.0, 2000.0, 61.0, 0, 0.0, 0.0, 0.0, 1)),
    ({"teams": ["East 1"]}, EAST_H1),
    # R2 only: O3 6000 of 12000; O6 open; X3.
    ({"reps": ["R2"]}, (6000.0, 12000.0, 0.5, 1, 0, 1.0, 6000.0, 73.0, 1, 1000.0, 100.0, 1000 / 6000, 1)),
    # P2: O3 won 6000, O2 lost, O5 open after the period.
    ({"products": ["P2"]}, (6000.0, 28500.0, 6000 / 28500, 1, 1, 0.5, 6000.0, 73.0, 0, 0.0, 0.0, 0.0, 4)),
    # SMB: O1 won 1000; O2, O7 lost; O6 open; coverage 1000 / (28500 - 1000).
    ({"segments": ["SMB"]}, (1000.0, 28500.0, 1000 / 28500, 1, 2, 1 / 3, 1000.0, 31.0, 1, 1000.0, 100.0,
                             1000 / 27500, 4)),
    # Partner: O4 won 2000; O5 open after the period.
    ({"sources": ["Partner"]}, (2000.0, 28500.0, 2000 / 28500, 1, 0, 1.0, 2000.0, 61.0, 0, 0.0, 0.0, 0.0, 4)),
    # Two values: Inbound or Partner -> O1 + O3 + O4 won 9000, O7 lost, O6 open; cycle 165 / 3 = 55.
    ({"sources": ["Inbound", "Partner"]}, (9000.0, 28500.0, 9000 / 28500, 3, 1, 0.75, 3000.0, 55.0, 1, 1000.0,
                                           100.0, 1000 / 19500, 4)),
    # A deal filter matching no deal still shows the org's targets: 0 of 28500 is 0 attainment.
    ({"sources": ["Nope"]}, (0.0, 28500.0, 0.0, 0, 0, N, N, N, 0, 0.0, 0.0, 0.0, 4)),
]


@pytest.mark.parametrize(("filters", "expected"), FILTERED, ids=[str(f) for f, _ in FILTERED])
def test_list_filters(runner: Runner, filters: dict, expected: tuple) -> None:
    frame = runner.run("kpis_by_group", by="org", **H1, **filters)
    assert_frame(frame, [row("org", "All", *expected)])


def test_deal_filter_grouped_by_region(runner: Runner) -> None:
    """P1 only: East O1 won 1000, O7 lost, O6 open; West O4 won 2000; targets are not split by product."""
    frame = runner.run("kpis_by_group", by="region", products=["P1"], **H1)
    assert_frame(frame, [
        row("West", "West", 2000.0, 10500.0, 2000 / 10500, 1, 0, 1.0, 2000.0, 61.0, 0, 0.0, 0.0, 0.0, 1),
        row("East", "East", 1000.0, 18000.0, 1000 / 18000, 1, 1, 0.5, 1000.0, 31.0, 1, 1000.0, 100.0,
            1000 / 17000, 3),
    ])


@pytest.mark.parametrize(
    ("by", "filters"),
    [
        ("org", {"regions": ["Nowhere"]}),
        ("region", {"teams": ["No team"]}),
        ("rep", {"reps": ["nobody"]}),
        ("org", {"regions": ["East"], "reps": ["R3"]}),  # R3 is in the West: the two filters exclude each other
        ("product", {"products": ["P9"]}),
        ("segment", {"segments": ["Government"]}),
        ("source", {"sources": ["Nope"]}),
    ],
)
def test_filters_matching_nothing_give_an_empty_frame(runner: Runner, by: str, filters: dict) -> None:
    frame = runner.run("kpis_by_group", by=by, **H1, **filters)
    assert frame.height == 0
    assert frame.columns == COLUMNS


# bookings_by_month, Jan-Aug 2026. Targets: Jan-Mar 1000 + 2000 + 1500 = 4500, Apr-Jun 1000 + 2000 + 2000 = 5000
# (R3's target rises in April), none in Jul-Aug. Won: Feb O1 1000, Apr O3 6000, May O4 2000.
MONTHS = [
    # month, bookings, deals_won, target, attainment, cumulative bookings, cumulative target
    (date(2026, 1, 1), 0.0, 0, 4500.0, 0.0, 0.0, 4500.0),
    (date(2026, 2, 1), 1000.0, 1, 4500.0, 1000 / 4500, 1000.0, 9000.0),
    (date(2026, 3, 1), 0.0, 0, 4500.0, 0.0, 1000.0, 13500.0),
    (date(2026, 4, 1), 6000.0, 1, 5000.0, 1.2, 7000.0, 18500.0),
    (date(2026, 5, 1), 2000.0, 1, 5000.0, 0.4, 9000.0, 23500.0),
    (date(2026, 6, 1), 0.0, 0, 5000.0, 0.0, 9000.0, 28500.0),
    (date(2026, 7, 1), 0.0, 0, N, N, 9000.0, 28500.0),
    (date(2026, 8, 1), 0.0, 0, N, N, 9000.0, 28500.0),
]
MONTH_COLUMNS = ["month", "bookings", "deals_won", "target", "attainment", "cumulative_bookings",
                 "cumulative_target"]


def test_bookings_by_month_spine_target_change_and_running_totals(runner: Runner) -> None:
    frame = runner.run("bookings_by_month", start=date(2026, 1, 1), end=date(2026, 8, 31))
    assert frame.columns == MONTH_COLUMNS
    assert_frame(frame, [dict(zip(MONTH_COLUMNS, m, strict=True)) for m in MONTHS])


def test_bookings_by_month_rounds_start_down_to_its_month(runner: Runner) -> None:
    """03-15 .. 05-20 covers March, April and May in full months of target; O4 closes 05-01, inside."""
    frame = runner.run("bookings_by_month", start="2026-03-15", end="2026-05-20")
    assert_frame(frame, [dict(zip(MONTH_COLUMNS, m, strict=True)) for m in [
        (date(2026, 3, 1), 0.0, 0, 4500.0, 0.0, 0.0, 4500.0),
        (date(2026, 4, 1), 6000.0, 1, 5000.0, 1.2, 6000.0, 9500.0),
        (date(2026, 5, 1), 2000.0, 1, 5000.0, 0.4, 8000.0, 14500.0),
    ]])


def test_bookings_by_month_region_filter_follows_r3_target_change(runner: Runner) -> None:
    """West is R3 alone: 1500 a month to March, 2000 from April; O4 2000 won in May."""
    frame = runner.run("bookings_by_month", start=date(2026, 1, 1), end=date(2026, 6, 30), regions=["West"])
    assert frame["target"].to_list() == [1500.0, 1500.0, 1500.0, 2000.0, 2000.0, 2000.0]
    assert frame["bookings"].to_list() == [0.0, 0.0, 0.0, 0.0, 2000.0, 0.0]
    assert frame["cumulative_target"].to_list() == [1500.0, 3000.0, 4500.0, 6500.0, 8500.0, 10500.0]
    assert frame["cumulative_bookings"].to_list() == [0.0, 0.0, 0.0, 0.0, 2000.0, 2000.0]
    assert frame["attainment"].to_list() == [0.0, 0.0, 0.0, 0.0, 1.0, 0.0]


def test_bookings_by_month_deal_filter_keeps_targets(runner: Runner) -> None:
    """Product P2 keeps only O3 (Apr 6000); the target line is the same as unfiltered."""
    frame = runner.run("bookings_by_month", start=date(2026, 1, 1), end=date(2026, 6, 30), products=["P2"])
    assert frame["bookings"].to_list() == [0.0, 0.0, 0.0, 6000.0, 0.0, 0.0]
    assert frame["target"].to_list() == [4500.0, 4500.0, 4500.0, 5000.0, 5000.0, 5000.0]


def test_bookings_by_month_filter_matching_nothing_keeps_the_month_spine(runner: Runner) -> None:
    frame = runner.run("bookings_by_month", start=date(2026, 1, 1), end=date(2026, 3, 31), reps=["nobody"])
    assert frame["month"].to_list() == [date(2026, 1, 1), date(2026, 2, 1), date(2026, 3, 1)]
    assert frame["bookings"].to_list() == [0.0, 0.0, 0.0]
    assert frame["target"].to_list() == [None, None, None]
    assert frame["attainment"].to_list() == [None, None, None]


def test_filter_options_by_dimension(runner: Runner) -> None:
    """Sorted by dimension then label; managers are not offered as reps."""
    frame = runner.run("filter_options_by_dimension")
    assert frame.rows() == [
        ("product", "P1", "Core"), ("product", "P2", "Pro"),
        ("region", "East", "East"), ("region", "West", "West"),
        ("rep", "R1", "Ann Able (R1)"), ("rep", "R2", "Bob Best (R2)"), ("rep", "R3", "Cy Cole (R3)"),
        ("segment", "Enterprise", "Enterprise"), ("segment", "SMB", "SMB"),
        ("source", "Inbound", "Inbound"), ("source", "Outbound", "Outbound"), ("source", "Partner", "Partner"),
        ("team", "East 1", "East 1"), ("team", "West 1", "West 1"),
    ]


def test_period_bounds_by_snapshot(runner: Runner) -> None:
    """First created O1 01-10; last close-or-created: O7 closed 06-01 (open O6 created 05-01); last expected O5."""
    frame = runner.run("period_bounds_by_snapshot")
    assert frame.rows() == [(date(2026, 1, 10), date(2026, 6, 1), date(2026, 7, 15), 7)]


def test_group_without_target_has_null_attainment(tmp_path: Path) -> None:
    """O8: manager M1 (no target, no manager of her own) wins 500, created 02-01, closed 03-01 (28 days)."""
    o8 = pl.DataFrame({
        "opportunity_id": ["O8"], "owner_id": ["M1"], "account_id": ["A1"], "product_id": ["P1"],
        "source": ["Inbound"], "created_date": [date(2026, 2, 1)], "expected_close_date": [None],
        "close_date": [date(2026, 3, 1)], "amount": [500.0], "stage": ["Closed Won"], "status": ["won"],
    }, schema=fixtures.OPPORTUNITIES.schema)
    fixtures.build_store(tmp_path, opportunities=pl.concat([fixtures.OPPORTUNITIES, o8]))
    runner = Runner(store.open_snapshot(tmp_path))
    try:
        by_rep = runner.run("kpis_by_group", by="rep", **H1)
        assert_frame(by_rep.filter(pl.col("group_key") == "M1"), [
            row("M1", "Mia Manager", 500.0, N, N, 1, 0, 1.0, 500.0, 28.0, 0, 0.0, 0.0, N, 0),
        ])
        # East now books 7000 + 500 against the same 18000; cycle (31 + 73 + 28) / 3 = 44.
        assert_frame(runner.run("kpis_by_group", by="region", regions=["East"], **H1), [
            row("East", "East", 7500.0, 18000.0, 7500 / 18000, 3, 2, 0.6, 2500.0, 44.0, 1, 1000.0, 100.0,
                1000 / 10500, 3),
        ])
        # M1 has no manager: her own deal falls in a "(none)" manager group, with no target.
        by_manager = runner.run("kpis_by_group", by="manager", **H1)
        assert by_manager.select("group_key", "group_label", "bookings", "target", "attainment").rows() == [
            ("M1", "Mia Manager", 7000.0, 18000.0, pytest.approx(7000 / 18000)),
            ("M2", "Max Mgr", 2000.0, 10500.0, pytest.approx(2000 / 10500)),
            ("(none)", "(none)", 500.0, None, None),
        ]
    finally:
        runner.close()
