"""Access: the users file, grants from the manager hierarchy, page rights, the audit log, scoped caches, the CLI
--as option, and formula injection in exports of real query results.

Expected sets are written out by hand from the org drawn in tests/access_fixtures.py.
"""

from __future__ import annotations

import csv
import io
import json
from datetime import date
from pathlib import Path

import openpyxl
import polars as pl
import pytest

from queries.runner import Scope, runner_for
from saleslens import cli
from saleslens.core import access, export, store
from tests import access_fixtures as af
from tests import fixtures, support

# ---------------------------------------------------------------------------------------------------------------
# The users file

GOOD = af.users_toml([
    {"login": "Ann", "name": "Ann Able", "role": "rep", "rep_id": "R1"},
    {"login": "mia", "name": "Mia Manager", "role": "manager", "rep_id": "M1"},
    {"login": "lead", "role": "leader"},
    {"login": "ana", "name": "Ana Lyst", "role": "analyst"},
    {"login": "root", "name": "Root", "role": "admin"},
])


def test_users_file_is_read(tmp_path: Path) -> None:
    """Logins are matched case-insensitively; a missing name is the login; leaders need no rep_id."""
    path = tmp_path / "users.toml"
    path.write_text(GOOD, encoding="utf-8")
    users = access.load_users(path)
    assert sorted(users) == ["ana", "ann", "lead", "mia", "root"]
    assert users["ann"] == access.User("Ann", "Ann Able", "rep", "R1")
    assert users["lead"] == access.User("lead", "lead", "leader", None)
    assert users["mia"].rep_id == "M1"


def test_missing_users_file_means_no_users(tmp_path: Path) -> None:
    assert access.load_users(tmp_path / "users.toml") == {}


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("[[user]\nlogin = 'x'", "not valid TOML"),
        ("[[user]]\nrole = 'admin'\n", "user #1 has no login"),
        ("[[user]]\nlogin = '  '\nrole = 'admin'\n", "user #1 has no login"),
        ("[[user]]\nlogin = 'x'\nrole = 'god'\n", "user 'x' has role 'god'; roles are rep, manager, leader"),
        ("[[user]]\nlogin = 'x'\n", "user 'x' has role ''"),
        ("[[user]]\nlogin = 'x'\nrole = 'Rep'\nrep_id = 'R1'\n", "has role 'Rep'"),
        ("[[user]]\nlogin = 'x'\nrole = 'rep'\n", "user 'x' is a rep but names no rep_id"),
        ("[[user]]\nlogin = 'x'\nrole = 'manager'\nrep_id = ''\n", "user 'x' is a manager but names no rep_id"),
        # [user] instead of [[user]], and a plain value: both once crashed with AttributeError.
        ("[user]\nlogin = 'x'\nrole = 'admin'\n", "write each user as a [[user]] table"),
        ("user = 'x'\n", "write each user as a [[user]] table"),
        # A second entry for the same login (in any case) would silently change what the first may see.
        ("[[user]]\nlogin = 'x'\nrole = 'admin'\n[[user]]\nlogin = 'X'\nrole = 'rep'\nrep_id = 'R1'\n",
         "user 'X' is listed twice"),
    ],
)
def test_bad_users_file_is_one_clear_line(tmp_path: Path, text: str, message: str) -> None:
    path = tmp_path / "users.toml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(access.AccessError) as info:
        access.load_users(path)
    assert message in str(info.value) and str(path) in str(info.value)
    assert "\n" not in str(info.value)


def test_unreadable_users_file_is_an_access_error(tmp_path: Path) -> None:
    """A users file that is a folder (or unreadable) is told in one line, not raised as OSError."""
    (tmp_path / "users.toml").mkdir()
    with pytest.raises(access.AccessError, match="cannot be read"):
        access.load_users(tmp_path / "users.toml")


def test_numeric_rep_id_is_text(tmp_path: Path) -> None:
    """rep_id = 7 (a TOML number) matches the rep whose id is the text "7"."""
    path = tmp_path / "users.toml"
    path.write_text("[[user]]\nlogin = 'x'\nrole = 'rep'\nrep_id = 7\n", encoding="utf-8")
    assert access.load_users(path)["x"].rep_id == "7"


def test_write_users_round_trips_awkward_names(tmp_path: Path) -> None:
    """Quotes, backslashes and Chinese in names survive write_users and load_users unchanged."""
    users = [
        {"login": "q", "name": 'Quinn "Q" O\'Neil \\ Jr', "role": "rep", "rep_id": "R1"},
        {"login": "zh", "name": "王小明", "role": "manager", "rep_id": "M1"},
    ]
    path = tmp_path / "users.toml"
    access.write_users(path, users)
    loaded = access.load_users(path)
    assert loaded["q"] == access.User("q", 'Quinn "Q" O\'Neil \\ Jr', "rep", "R1")
    assert loaded["zh"].name == "王小明"
    assert not list(tmp_path.glob(".*.tmp"))  # written aside, then renamed


# ---------------------------------------------------------------------------------------------------------------
# Grants from the hierarchy

ALL_ORG = {"D1", "M1", "R1", "R2", "M3", "R4", "S1", "M2", "R3"}  # everyone under the director


@pytest.mark.parametrize(
    ("role", "rep_id", "visible"),
    [
        ("rep", "R1", {"R1"}),
        ("rep", "R5", {"R5"}),  # a rep whose manager is missing still sees their own rows
        ("rep", "M1", {"M1"}),  # a manager signed in as a rep sees only their own deals
        ("manager", "M1", {"M1", "R1", "R2", "M3", "R4", "S1"}),  # three levels down, via M3
        ("manager", "M3", {"M3", "R4", "S1"}),
        ("manager", "M2", {"M2", "R3"}),  # R5 names a manager that does not exist: not M2's
        ("manager", "D1", ALL_ORG),  # everyone but R5 and the X1/X2 loop
        ("manager", "X1", {"X1", "X2"}),  # a cycle ends, with both people in it
        ("manager", "R1", {"R1"}),  # a manager nobody reports to sees themselves
        ("leader", None, None),
        ("leader", "NOPE", None),  # leaders see everything; the rep_id does not matter
        ("analyst", None, None),
        ("admin", None, None),
        ("rep", "GONE", set()),
        ("manager", "NOPE", set()),
        ("rep", None, set()),
        ("boss", "D1", set()),
        ("", None, set()),
    ],
)
def test_grant(role: str, rep_id: str | None, visible: set[str] | None) -> None:
    grant = access.grant(access.User("u", "U", role, rep_id), af.REPS)
    assert grant.rep_ids == (None if visible is None else frozenset(visible))
    assert grant.reason
    if visible == set():
        assert (role in grant.reason) if role not in access.ROLES else (str(rep_id) in grant.reason)
    # The oracle in tests/access_fixtures.py agrees with the hand-written sets.
    assert af.expected_visible(role, rep_id, af.REPS) == visible


def test_nobody_signed_in_sees_nothing() -> None:
    grant = access.grant(None, af.REPS)
    assert grant.rep_ids == frozenset() and "not signed in" in grant.reason
    assert grant.scope_key == "none"
    assert not grant.may_open("overview")


def test_a_signed_in_stranger_is_told_the_users_file_lacks_them() -> None:
    """Signed in with the identity provider but not in users.toml: say so, not 'not signed in'."""
    grant = access.grant(None, af.REPS, login="kim@example.com")
    assert grant.rep_ids == frozenset() and grant.scope_key == "none"
    assert "signed in as kim@example.com" in grant.reason and "users file" in grant.reason
    assert "not signed in" not in grant.reason


def test_grant_follows_the_snapshot_reps() -> None:
    """On tests/fixtures.py (M1 over R1, R2; M2 over R3, no director) M1 sees M1, R1, R2."""
    grant = access.grant(access.User("m", "M", "manager", "M1"), fixtures.REPS)
    assert grant.rep_ids == frozenset({"M1", "R1", "R2"})


@pytest.mark.parametrize(
    ("rep_ids", "key"),
    [
        (None, "all"),
        (frozenset(), "none"),
        (frozenset({"R2", "R1"}), 'reps:["R1", "R2"]'),
    ],
)
def test_scope_key(rep_ids: frozenset[str] | None, key: str) -> None:
    assert access.Grant(None, rep_ids, "").scope_key == key


def test_scope_keys_do_not_collide() -> None:
    """Rep ids with a comma in them once gave {"A,B"} and {"A", "B"} the same key, and so the same cached rows."""
    one = access.Grant(None, frozenset({"A,B"}), "").scope_key
    two = access.Grant(None, frozenset({"A", "B"}), "").scope_key
    assert one != two


# ---------------------------------------------------------------------------------------------------------------
# Page rights

PAGES = [p[3] for p in support.planned_pages()]
# From the issue: reps, managers and leaders read; analysts also use the scenario tools; admins also import.
READERS = {"overview", "funnel", "targets", "leaderboard", "health", "glossary"}
RIGHTS = {
    "rep": READERS, "manager": READERS, "leader": READERS,
    "analyst": READERS | {"whatif"}, "admin": READERS | {"whatif", "import"},
}


@pytest.mark.parametrize("role", [*access.ROLES, "boss"])
def test_page_rights(role: str) -> None:
    grant = access.Grant(access.User("u", "U", role, "R1"), None, "")
    opens = {page for page in PAGES if grant.may_open(page)}
    assert opens == RIGHTS.get(role, set())


def test_every_planned_page_is_open_to_someone() -> None:
    """A page no role may open would be dead: every url in dashboard.PAGES has a right somewhere."""
    assert set(PAGES) == set().union(*access.PAGE_RIGHTS.values())


# ---------------------------------------------------------------------------------------------------------------
# Demo users

def test_demo_users_are_real_people_of_each_role(tmp_path: Path) -> None:
    """On the access org: the first active Director, Manager and an AE of that manager, plus admin and analyst."""
    users = access.demo_users(af.REPS)
    by_login = {u["login"]: u for u in users}
    assert by_login["leader"] == {"login": "leader", "name": "Dana Director", "role": "leader", "rep_id": "D1"}
    assert by_login["manager"] == {"login": "manager", "name": "Mia Manager", "role": "manager", "rep_id": "M1"}
    assert by_login["rep"] == {"login": "rep", "name": "Ann Able", "role": "rep", "rep_id": "R1"}
    assert {u["role"] for u in users} == set(access.ROLES)
    path = tmp_path / "users.toml"
    access.write_users(path, users)
    assert {u.role for u in access.load_users(path).values()} == set(access.ROLES)


def test_demo_users_without_a_director(tmp_path: Path) -> None:
    """tests/fixtures.py has no director: no leader user, and the rest still there."""
    logins = [u["login"] for u in access.demo_users(fixtures.REPS)]
    assert logins == ["admin", "analyst", "manager", "rep"]


# ---------------------------------------------------------------------------------------------------------------
# The audit log

def test_audit_log_appends(tmp_path: Path) -> None:
    """Each call adds one entry to the database (who, action, what, when); earlier entries stay as they were."""
    access.audit(tmp_path, "ann", "sign-in", "local")
    first = access.audit_entries(tmp_path)
    access.audit(tmp_path, "王", "export", "kpis.csv (scope none)")
    lines = access.audit_entries(tmp_path)
    assert lines[:1] == first
    assert [(r["who"], r["action"], r["what"]) for r in lines] == [
        ("ann", "sign-in", "local"), ("王", "export", "kpis.csv (scope none)"),
    ]
    assert all(r["at"].endswith("+00:00") and len(r["at"]) == 25 for r in lines)
    assert not (tmp_path / "audit").exists()


# ---------------------------------------------------------------------------------------------------------------
# Caches: one scope never gets another's rows

def test_two_scopes_never_share_cached_results(tiny_dir: Path) -> None:
    """The same query and parameters for a rep and for another manager: each gets their own rows, every time."""
    rep = runner_for(tiny_dir, None, Scope('reps:["R1"]', frozenset({"R1"})))
    west = runner_for(tiny_dir, None, Scope('reps:["M2", "R3"]', frozenset({"M2", "R3"})))
    assert rep is not west
    for _ in range(2):  # the second round is served from the caches
        # All time, by rep: R1 won O1 1,000; R3 won O4 2,000.
        mine = rep.run("kpis_by_group", by="rep")
        theirs = west.run("kpis_by_group", by="rep")
        assert mine.select("group_key", "bookings").rows() == [("R1", 1000.0)]
        assert theirs.select("group_key", "bookings").rows() == [("R3", 2000.0)]
    assert runner_for(tiny_dir, None, Scope('reps:["R1"]', frozenset({"R1"}))) is rep


def test_app_runners_are_cached_per_scope(tiny_dir: Path) -> None:
    """ui.context.runner_for_grant: two users with the same rows share a runner; different rows never do."""
    from ui import context

    snap = store.open_snapshot(tiny_dir)
    reps = fixtures.REPS
    ann = access.grant(access.User("ann", "Ann", "rep", "R1"), reps)
    also_r1 = access.grant(access.User("ann2", "Ann again", "rep", "R1"), reps)
    mia = access.grant(access.User("mia", "Mia", "manager", "M1"), reps)
    boss = access.grant(access.User("lead", "Lead", "leader"), reps)
    runners = [context.runner_for_grant(tiny_dir, snap, g) for g in (ann, also_r1, mia, boss)]
    assert runners[0] is runners[1]
    assert len({id(r) for r in runners}) == 3
    # H1 2026 bookings: R1 1,000; M1's team R1 + R2 (O3 6,000) = 7,000; everyone 9,000.
    h1 = {"start": date(2026, 1, 1), "end": date(2026, 6, 30)}
    assert [r.run("kpis_by_group", **h1)["bookings"][0] for r in runners] == [1000.0, 1000.0, 7000.0, 9000.0]


def test_comma_in_rep_ids_gets_its_own_runner(tiny_dir: Path) -> None:
    """Scopes {"R1,R2"} and {"R1", "R2"} are different rows, so different shared runners."""
    odd = access.Grant(None, frozenset({"R1,R2"}), "")
    two = access.Grant(None, frozenset({"R1", "R2"}), "")
    a = runner_for(tiny_dir, None, Scope(odd.scope_key, odd.rep_ids))
    b = runner_for(tiny_dir, None, Scope(two.scope_key, two.rep_ids))
    assert a is not b
    assert a.run("kpis_by_group", by="rep").height == 0  # nobody has the id "R1,R2"
    assert sorted(b.run("kpis_by_group", by="rep")["group_key"]) == ["R1", "R2"]


# ---------------------------------------------------------------------------------------------------------------
# The CLI: --as USER

def run_cli(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    try:
        code = cli.main(argv)
    except SystemExit as exc:
        code = exc.code
    out, err = capsys.readouterr()
    return code, out, err


@pytest.fixture
def cli_dir(tiny_dir: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The tiny store with a users file: a rep (R1), a manager (M1), a leader and a rep whose id is not in reps."""
    monkeypatch.delenv("SALESLENS_DATA", raising=False)
    (tiny_dir / "users.toml").write_text(af.users_toml([
        {"login": "rep", "name": "Ann Able", "role": "rep", "rep_id": "R1"},
        {"login": "manager", "name": "Mia Manager", "role": "manager", "rep_id": "M1"},
        {"login": "leader", "name": "Lee", "role": "leader"},
        {"login": "ghost", "name": "Ghost", "role": "rep", "rep_id": "R9"},
    ]), encoding="utf-8")
    return tiny_dir


def csv_rows(text: str) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(text)))


H1_ARGS = ["--from", "2026-01-01", "--to", "2026-06-30", "--format", "csv"]


def test_cli_kpis_as_rep_shows_only_r1(cli_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run_cli(["kpis", "--data", str(cli_dir), "--by", "rep", "--as", "rep", *H1_ARGS], capsys)
    assert (code, err) == (0, "")
    rows = csv_rows(out)
    # H1: R1 won O1 1,000, lost O2 and O7; targets 6 x 1,000; activities X1, X2.
    assert [(r["group_key"], float(r["bookings"]), float(r["target"]), int(r["deals_lost"]), int(r["activities"]))
            for r in rows] == [("R1", 1000.0, 6000.0, 2, 2)]
    for other in ("R2", "R3", "Bob Best", "Cy Cole"):
        assert other not in out


def test_cli_kpis_by_manager_as_rep_counts_once(cli_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """By manager, the rep's one group (their manager M1) holds their numbers once, not twice.

    The deals label the group with M1's name while the scoped reps cannot: the group was listed twice and
    every sum doubled (bookings 2,000, target 12,000) until kpis_by_group merged groups by key.
    """
    code, out, _ = run_cli(["kpis", "--data", str(cli_dir), "--by", "manager", "--as", "rep", *H1_ARGS], capsys)
    assert code == 0
    rows = csv_rows(out)
    assert [(r["group_key"], float(r["bookings"]), float(r["target"]), int(r["activities"])) for r in rows] == [
        ("M1", 1000.0, 6000.0, 2),
    ]


def test_cli_kpis_as_manager_and_leader(cli_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run_cli(["kpis", "--data", str(cli_dir), "--by", "rep", "--as", "MANAGER", *H1_ARGS], capsys)
    assert code == 0
    # M1's team: R2 won O3 6,000, R1 won O1 1,000; M1 has no deals, targets or activities, so no row.
    assert [(r["group_key"], float(r["bookings"])) for r in csv_rows(out)] == [("R2", 6000.0), ("R1", 1000.0)]
    code, out, _ = run_cli(["kpis", "--data", str(cli_dir), "--by", "rep", "--as", "leader", *H1_ARGS], capsys)
    assert code == 0
    assert [r["group_key"] for r in csv_rows(out)] == ["R2", "R3", "R1"]


def test_cli_query_as_rep(cli_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """A drill-down through `query` is scoped too, even when it asks for another rep by filter."""
    code, out, _ = run_cli(["query", "rep_deals_by_deal", "--data", str(cli_dir), "--as", "rep",
                            "--param", "start=2026-01-01", "--param", "end=2026-06-30", "--format", "json"], capsys)
    assert code == 0
    assert sorted(r["opportunity_id"] for r in json.loads(out)) == ["O1", "O2", "O7"]
    code, out, _ = run_cli(["query", "rep_deals_by_deal", "--data", str(cli_dir), "--as", "rep",
                            "--param", "start=2026-01-01", "--param", "end=2026-06-30", "--param", "reps=R2,R3",
                            "--format", "json"], capsys)
    assert code == 0 and json.loads(out) == []


def test_cli_scorecard_as_rep(cli_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """The scorecard command honours --as as well: only R1 is ranked."""
    code, out, _ = run_cli(["scorecard", "--quarter", "2026Q2", "--data", str(cli_dir), "--as", "rep",
                            "--format", "csv"], capsys)
    assert code == 0
    assert [r["rep_id"] for r in csv_rows(out)] == ["R1"]


def test_cli_review_as_rep_cannot_review_another_rep(cli_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """A review pack is built from the scoped runner: R1 cannot write R2's pack, and nothing is written."""
    code, out, err = run_cli(["review", "--rep", "R2", "--quarter", "2026Q2", "--out", str(cli_dir / "pack"),
                              "--data", str(cli_dir), "--as", "rep"], capsys)
    assert code == 2 and out == ""
    assert "no AE, SDR or CSM with id 'R2' worked in 2026Q2" in err
    assert not list(cli_dir.glob("pack*"))


@pytest.mark.parametrize(
    ("login", "message"),
    [
        ("nobody", "--as nobody: no such user in "),
        ("ghost", "--as ghost: Your rep id 'R9' is not in this snapshot's reps."),
    ],
)
def test_cli_as_unknown_user_fails_in_one_line(cli_dir: Path, capsys: pytest.CaptureFixture[str], login: str,
                                               message: str) -> None:
    code, out, err = run_cli(["kpis", "--data", str(cli_dir), "--as", login], capsys)
    assert code == 2 and out == ""
    assert err.count("\n") == 1 and err.startswith("saleslens kpis: error: ")
    assert message in err


def test_cli_bad_users_file_fails_in_one_line(cli_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (cli_dir / "users.toml").write_text("[user]\nlogin = 'rep'\n", encoding="utf-8")
    code, out, err = run_cli(["kpis", "--data", str(cli_dir), "--as", "rep"], capsys)
    assert code == 2 and out == "" and err.count("\n") == 1
    assert "write each user as a [[user]] table" in err


# ---------------------------------------------------------------------------------------------------------------
# Formula injection, through real query results

PAYLOADS = {
    "=": '=HYPERLINK("http://evil.example","click")',
    "+": "+1+cmd|' /C calc'!A0",
    "-": "-2+3",
    "@": "@SUM(A1:A9)",
    "tab": "\t=1+1",
    "cr": "\r=1+1",
}


@pytest.fixture
def hostile_dir(tmp_path: Path) -> Path:
    """The tiny org with account, rep, source and lost-reason text that a spreadsheet would run, and a credit note."""
    accounts = fixtures.ACCOUNTS.with_columns(pl.Series("name", [PAYLOADS["="], "Globex"]),
                                              pl.Series("segment", [PAYLOADS["@"], "Enterprise"]))
    reps = fixtures.REPS.with_columns(
        pl.when(pl.col("rep_id") == "R1").then(pl.lit(PAYLOADS["+"])).otherwise(pl.col("name")).alias("name"))
    opps = fixtures.OPPORTUNITIES.with_columns(
        pl.when(pl.col("opportunity_id") == "O2").then(pl.lit(-5000.0)).otherwise(pl.col("amount")).alias("amount"),
        pl.when(pl.col("opportunity_id") == "O1").then(pl.lit(PAYLOADS["-"]))
        .when(pl.col("opportunity_id") == "O7").then(pl.lit(PAYLOADS["tab"]))
        .otherwise(pl.col("source")).alias("source"),
        pl.when(pl.col("status") == "lost").then(pl.lit(PAYLOADS["cr"])).otherwise(None).alias("lost_reason"),
    )
    store.publish_snapshot(tmp_path, fixtures.AS_OF, {
        "stages": fixtures.STAGES, "reps": reps, "accounts": accounts, "products": fixtures.PRODUCTS,
        "opportunities": opps, "targets": fixtures.TARGETS,
    }, source="tests")
    return tmp_path


def _hostile_frame(data_dir: Path) -> pl.DataFrame:
    """R1's closed deals drill-down (the rep's own scope), with every payload in it."""
    runner = runner_for(data_dir, None, Scope('reps:["R1"]', frozenset({"R1"})))
    frame = runner.run("deals_by_win_rate_group", by="source", start=date(2026, 1, 1), end=date(2026, 6, 30))
    # Hand-checked: R1 closed O1 (won 1,000), O2 (lost, a -5,000 credit) and O7 (lost 800).
    assert sorted(frame["opportunity_id"]) == ["O1", "O2", "O7"]
    return frame


def test_csv_export_of_query_results_neutralises_formulas(hostile_dir: Path) -> None:
    frame = _hostile_frame(hostile_dir)
    data = export.to_csv(frame)
    rows = list(csv.DictReader(io.StringIO(data[3:].decode("utf-8"), newline="")))
    cells = [v for r in rows for v in r.values() if v]
    for cell in cells:
        assert not cell.startswith(("=", "+", "@", "\t", "\r")), repr(cell)
        assert not cell.startswith("-") or _number(cell), repr(cell)
    texts = {v for r in rows for v in r.values()}
    for payload in PAYLOADS.values():
        assert "'" + payload in texts, f"{payload!r} not exported as quoted text"
    by_id = {r["opportunity_id"]: r for r in rows}
    assert by_id["O2"]["amount"] == "-5000.0"  # a real negative number stays a number


def _number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def test_excel_export_of_query_results_neutralises_formulas(hostile_dir: Path) -> None:
    frame = _hostile_frame(hostile_dir)
    book = openpyxl.load_workbook(io.BytesIO(export.to_excel({"deals": frame})))
    sheet = book["deals"]
    header = [c.value for c in sheet[1]]
    body = list(sheet.iter_rows(min_row=2))
    texts = set()
    for row in body:
        for cell in row:
            assert cell.data_type != "f", f"formula in {cell.coordinate}: {cell.value!r}"
            if isinstance(cell.value, str):
                value = cell.value.replace("_x000D_", "\r")  # openpyxl leaves the OOXML escape of CR as it is
                assert not value.startswith(("=", "+", "-", "@", "\t", "\r")), repr(value)
                texts.add(value)
    for payload in PAYLOADS.values():
        assert "'" + payload in texts, f"{payload!r} not written as quoted text"
    amounts = {row[header.index("opportunity_id")].value: row[header.index("amount")] for row in body}
    assert amounts["O2"].value == -5000.0 and amounts["O2"].data_type == "n"
    assert amounts["O1"].value == 1000.0 and amounts["O1"].data_type == "n"


def test_cli_csv_neutralises_formulas(hostile_dir: Path, capsys: pytest.CaptureFixture[str],
                                      monkeypatch: pytest.MonkeyPatch) -> None:
    """`query ... --format csv` is a CSV export too: the same payloads come out quoted, numbers stay numbers."""
    monkeypatch.delenv("SALESLENS_DATA", raising=False)
    code, out, _ = run_cli(["query", "deals_by_win_rate_group", "--data", str(hostile_dir), "--param", "by=source",
                            "--format", "csv"], capsys)
    assert code == 0
    rows = csv_rows(out)
    for payload in PAYLOADS.values():
        assert any(v == "'" + payload for r in rows for v in r.values()), f"{payload!r} not quoted"
    assert any(r["amount"] == "-5000.0" for r in rows)
