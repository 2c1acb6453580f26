"""Row scope, property-based: every user of every role, any filters, every named query and its exports.

The oracle is independent of saleslens.core.access and of the runner's scoped views: tests/access_fixtures.py walks
the manager hierarchy itself and publishes a second store holding only the rows the viewer may see. A scoped
runner over the full store must return exactly what an unscoped runner over that restricted store returns,
for every query; and no id or name of a person the viewer may not see may appear in any row or export.

What a viewer may see besides their reps: the direct manager of a visible rep, as that rep's manager
(manager_id / manager_name, and the group of kpis_by_group by manager). The deals view names each deal's
manager from the whole org on purpose, so a rep's deals say who their manager is.
"""

from __future__ import annotations

import io
import re
from datetime import date, timedelta
from pathlib import Path

import openpyxl
import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from polars.testing import assert_frame_equal

from queries import catalog
from queries.runner import Runner, Scope, runner_for
from saleslens.core import access, export, store
from saleslens.core.filters import PERIODS, period_bounds
from saleslens.kpis.registry import GROUP_BY
from tests import access_fixtures as af

# Every named query, and kpis_by_group once per dimension: (name, extra parameters).
QUERIES = [(n, {}) for n in catalog.catalog() if n != "kpis_by_group"] + [
    ("kpis_by_group", {"by": by}) for by in GROUP_BY
]
ROLES = [*access.ROLES, "boss", ""]  # "boss" and "" are roles Sales Lens does not know: default deny
REP_CHOICES = [*af.REP_IDS, "GONE", "NOPE", None]
ROLE_VALUES = ["AE", "SDR", "CSM", "Manager", "Director"]
# Columns naming the person a row belongs to, and columns naming that person's manager.
OWNER_COLUMNS = ("owner_id", "rep_id")
MANAGER_COLUMNS = ("manager_id",)


@pytest.fixture(scope="module")
def full_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The access dataset, all of it."""
    path = tmp_path_factory.mktemp("access_full")
    af.build_store(path)
    return path


class Oracles:
    """Unscoped runners over stores restricted by the oracle, one per visible set, built on first use."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.runners: dict[frozenset[str], Runner] = {}

    def get(self, visible: set[str]) -> Runner:
        key = frozenset(visible)
        if key not in self.runners:
            path = self.root / f"oracle_{len(self.runners)}"
            path.mkdir()
            self.runners[key] = Runner(af.build_restricted_store(path, visible))
        return self.runners[key]

    def close(self) -> None:
        for runner in self.runners.values():
            runner.close()


@pytest.fixture(scope="module")
def oracles(tmp_path_factory: pytest.TempPathFactory) -> Oracles:
    """The oracle stores, shared by every example of the module."""
    o = Oracles(tmp_path_factory.mktemp("access_oracles"))
    yield o
    o.close()


def scoped_runner(data_dir: Path, user: access.User | None) -> tuple[Runner, access.Grant]:
    """The runner the app would give this user: grant from the snapshot's reps, then the shared scoped runner."""
    snap = store.open_snapshot(data_dir)
    grant = access.grant(user, access.reps_of(snap))
    return runner_for(data_dir, snap.id, Scope(grant.scope_key, grant.rep_ids)), grant


def params_for(name: str, extra: dict, start: date | None, end: date | None, lists: dict[str, list[str]]) -> dict:
    """The parameters a query declares, filled from the drawn filters; required dates get a fallback."""
    out: dict[str, object] = dict(extra)
    for p in catalog.get(name).params:
        if p.name in lists:
            out[p.name] = lists[p.name]
        elif p.name in ("start", "end", "as_of"):
            value = {"start": start, "end": end, "as_of": af.AS_OF}[p.name]
            if value is None and p.default is catalog._REQUIRED:  # all_time, for a query that needs a period
                value = {"start": date(2025, 1, 1), "end": af.AS_OF}.get(p.name)
            out[p.name] = value
        elif p.type == "date" and p.default is catalog._REQUIRED and p.name not in out:
            out[p.name] = date(2025, 1, 1)  # another required day (the forecast's oldest snapshot): all of them
    return out


def allowed_people(visible: set[str] | None) -> set[str] | None:
    """The people whose id or name may appear: the visible reps and, as their manager, their direct managers."""
    if visible is None:
        return None
    managers = af.REPS.filter(pl.col("rep_id").is_in(sorted(visible)))["manager_id"].drop_nulls().to_list()
    return visible | set(managers)


def leaks(text: str, allowed: set[str]) -> list[str]:
    """The ids and names of people outside `allowed` that occur in a text."""
    found = []
    for rep_id, name in af.NAMES.items():
        if rep_id in allowed:
            continue
        if re.search(rf"(?<![\w-]){re.escape(rep_id)}(?![\w-])", text):
            found.append(rep_id)
        if name in text:
            found.append(name)
    return found


def check_frame(name: str, extra: dict, frame: pl.DataFrame, visible: set[str] | None) -> None:
    """Owner columns hold only visible reps, manager columns only their managers, and nobody else is named."""
    if visible is None:
        return
    allowed = allowed_people(visible)
    by = extra.get("by")
    if "owner_type" in frame.columns:  # targets: a team target's owner_id is the team, which must be theirs
        teams = set(af.REPS.filter(pl.col("rep_id").is_in(sorted(visible)))["team"].to_list())
        team_owners = set(frame.filter(pl.col("owner_type") == "team")["owner_id"].to_list())
        assert team_owners <= teams, f"{name}: targets of teams {sorted(team_owners - teams)}"
        frame = frame.filter(pl.col("owner_type") != "team")
    for col in frame.columns:
        values = set(frame[col].cast(pl.String).drop_nulls().to_list()) - {"(none)"}
        if col in OWNER_COLUMNS or (col == "group_key" and by == "rep"):
            assert values <= visible, f"{name} {extra}: {col} shows {sorted(values - visible)}"
        if col in MANAGER_COLUMNS or (col == "group_key" and by == "manager"):
            assert values <= allowed, f"{name} {extra}: {col} shows {sorted(values - allowed)}"
    text = "\n".join(" | ".join(str(v) for v in row) for row in frame.iter_rows())
    assert not leaks(text, allowed), f"{name} {extra}: rows name {leaks(text, allowed)}"


def check_exports(frames: dict[str, pl.DataFrame], visible: set[str] | None) -> None:
    """The CSV of each frame and one workbook of all of them name nobody outside the allowed people."""
    if visible is None:
        return
    allowed = allowed_people(visible)
    for label, frame in frames.items():
        text = export.to_csv(frame).decode("utf-8")
        assert not leaks(text, allowed), f"CSV of {label} names {leaks(text, allowed)}"
    sheets = {f"q{n}": frame for n, frame in enumerate(frames.values())}
    book = openpyxl.load_workbook(io.BytesIO(export.to_excel(sheets)), read_only=True)
    cells = "\n".join(
        str(v) for sheet in book.worksheets for row in sheet.iter_rows(values_only=True) for v in row if v is not None
    )
    book.close()
    assert not leaks(cells, allowed), f"workbook names {leaks(cells, allowed)}"


def compare(name: str, extra: dict, got: pl.DataFrame, want: pl.DataFrame) -> None:
    """The scoped result equals the restricted store's, row for row (in any order)."""
    if name == "kpis_by_group" and extra.get("by") == "manager":
        # The label of a manager group comes from the deals view, which names a visible rep's manager from the
        # whole org (allowed, see the module docstring); the restricted store does not have that person.
        got, want = got.drop("group_label"), want.drop("group_label")
    try:
        assert_frame_equal(got, want, check_row_order=False, check_dtypes=False)
    except AssertionError as exc:
        raise AssertionError(f"{name} {extra}: scoped rows differ from the oracle's\n{got}\n{want}\n{exc}") from None


def run_and_check(runner: Runner, oracles: Oracles, visible: set[str] | None,
                  queries: list[tuple[str, dict]], params: dict[tuple, dict]) -> None:
    """Run each query scoped and on the oracle, compare, check owner columns and exports."""
    frames = {}
    for name, extra in queries:
        p = params[(name, tuple(sorted(extra.items())))]
        got = runner.run(name, **p)
        if visible is not None:
            compare(name, extra, got, oracles.get(visible).run(name, **p))
        check_frame(name, extra, got, visible)
        frames[f"{name} {extra}"] = got
    check_exports(frames, visible)


def h1_params(lists: dict[str, list[str]] | None = None) -> dict[tuple, dict]:
    """Parameters of every query for H1 2026 with the given list filters."""
    lists = lists or {}
    return {(n, tuple(sorted(e.items()))): params_for(n, e, date(2026, 1, 1), date(2026, 6, 30), lists)
            for n, e in QUERIES}


# ---------------------------------------------------------------------------------------------------------------
# Every query for a user of every kind, no filters: the full catalog, deterministic. (M2 beside the orphan R5
# is left to the random examples and to test_access.py's grant table: each full pass costs seconds.)

USERS = [
    pytest.param(access.User("ann", "Ann", "rep", "R1"), {"R1"}, id="rep"),
    # M1 -> R1, R2, M3 -> R4, S1: the whole chain below, not just direct reports.
    pytest.param(access.User("mia", "Mia", "manager", "M1"), {"M1", "R1", "R2", "M3", "R4", "S1"},
                 id="manager-of-a-chain"),
    pytest.param(access.User("xia", "Xia", "manager", "X1"), {"X1", "X2"}, id="manager-in-a-cycle"),
    pytest.param(access.User("lead", "Lead", "leader"), None, id="leader"),
    pytest.param(access.User("who", "Who", "boss", "R1"), set(), id="unknown-role"),
    pytest.param(access.User("ghost", "Ghost", "rep", "GONE"), set(), id="rep-not-in-reps"),
    pytest.param(None, set(), id="nobody-signed-in"),
]


@pytest.mark.parametrize(("user", "visible"), USERS)
def test_every_query_shows_exactly_the_users_rows(user: access.User | None, visible: set[str] | None,
                                                  full_dir: Path, oracles: Oracles) -> None:
    """For H1 2026 with no filter, every query (kpis_by_group by every dimension) matches the oracle."""
    runner, grant = scoped_runner(full_dir, user)
    assert grant.rep_ids == (None if visible is None else frozenset(visible))
    run_and_check(runner, oracles, visible, QUERIES, h1_params())


# ---------------------------------------------------------------------------------------------------------------
# Random users, filters and a sample of queries.

dates = st.dates(min_value=date(2025, 11, 1), max_value=date(2026, 8, 31))


@st.composite
def users(draw: st.DrawFn) -> access.User | None:
    """A user of any role (known or not) tied to any rep (known or not), or nobody."""
    if draw(st.integers(0, 9)) == 0:
        return None
    return access.User("u", "U", draw(st.sampled_from(ROLES)), draw(st.sampled_from(REP_CHOICES)))


@st.composite
def periods(draw: st.DrawFn) -> tuple[date | None, date | None]:
    """A preset period relative to the snapshot date, or a custom one."""
    preset = draw(st.sampled_from(PERIODS))
    if preset != "custom":
        return period_bounds(preset, af.AS_OF)
    start = draw(dates)
    return start, start + timedelta(days=draw(st.integers(0, 200)))


def subsets(values: list[str]) -> st.SearchStrategy[list[str]]:
    """A small subset, sometimes with a value the data does not have."""
    return st.lists(st.sampled_from([*values, "Atlantis"]), max_size=3, unique=True)


list_filters = st.fixed_dictionaries({
    "regions": subsets(af.REGIONS), "teams": subsets(af.TEAMS), "reps": subsets(af.REP_IDS),
    "products": subsets(af.PRODUCT_IDS), "segments": subsets(af.SEGMENTS), "sources": subsets(af.SOURCES),
    "roles": subsets(ROLE_VALUES),
})


# No example database (a failure prints the example to reproduce it); hypothesis still keeps a small cache in
# .hypothesis/, which git ignores.
@settings(max_examples=40, deadline=None, database=None, print_blob=True)
@given(user=users(), period=periods(), lists=list_filters,
       picked=st.lists(st.sampled_from(QUERIES), min_size=4, max_size=7, unique_by=lambda q: (q[0], str(q[1]))))
def test_any_user_any_filters_sees_only_their_rows(
    user: access.User | None, period: tuple[date | None, date | None], lists: dict[str, list[str]],
    picked: list[tuple[str, dict]], full_dir: Path, oracles: Oracles,
) -> None:
    """Whatever the user and the filters (including reps they may not see), the rows are the oracle's."""
    visible = af.expected_visible(user.role if user else None, user.rep_id if user else None, af.REPS)
    runner, grant = scoped_runner(full_dir, user)
    assert grant.rep_ids == (None if visible is None else frozenset(visible))
    start, end = period
    params = {(n, tuple(sorted(e.items()))): params_for(n, e, start, end, lists) for n, e in picked}
    run_and_check(runner, oracles, visible, picked, params)


def test_asking_for_a_hidden_rep_by_filter_returns_nothing_of_theirs(full_dir: Path) -> None:
    """A rep who puts another rep's id in the rep filter gets empty results, not that rep's rows."""
    runner, _ = scoped_runner(full_dir, access.User("ann", "Ann", "rep", "R1"))
    deals = runner.run("rep_deals_by_deal", start=date(2025, 1, 1), end=af.AS_OF, reps=["R2", "R3"])
    assert deals.height == 0
    kpis = runner.run("kpis_by_group", by="rep", reps=["R2", "R3"])
    # Nothing of R2 or R3 survives: no bookings, no deals, no target.
    assert kpis["bookings"].sum() == 0 and kpis["deals_won"].sum() == 0
    assert kpis["target"].drop_nulls().sum() == 0
