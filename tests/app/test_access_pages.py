"""AppTest of sign-in and row-level access: every page with every role on the tiny data.

tests/fixtures.py: M1 Mia Manager manages R1 Ann Able and R2 Bob Best (East 1, East); M2 Max Mgr manages
R3 Cy Cole (West 1, West). The users file below is written by hand for these tests.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import streamlit as st
from streamlit.testing.v1 import AppTest

from saleslens.core import access
from tests import support
from tests.access_fixtures import users_toml
from tests.support import texts

PAGES = support.existing_pages()  # (path, title key, icon, url)
H1 = {"period": "custom", "start": "2026-01-01", "end": "2026-06-30"}
READERS = {"overview", "funnel", "targets", "leaderboard", "health", "glossary"}
# From the issue: reps, managers and leaders read; analysts also use the scenario tools; admins also import.
RIGHTS = {
    "rep": READERS, "manager": READERS, "leader": READERS,
    "analyst": READERS | {"whatif"}, "admin": READERS | {"whatif", "import"},
}
USERS = [
    {"login": "rep", "name": "Ann Able", "role": "rep", "rep_id": "R1"},
    {"login": "manager", "name": "Mia Manager", "role": "manager", "rep_id": "M1"},
    {"login": "leader", "name": "Lee Leader", "role": "leader"},
    {"login": "analyst", "name": "Ana Lyst", "role": "analyst"},
    {"login": "admin", "name": "Ada Admin", "role": "admin"},
    {"login": "ghost", "name": "Gus Ghost", "role": "rep", "rep_id": "R9"},
]
ROLE_LABEL = {"rep": "Rep", "manager": "Manager", "leader": "Leader", "analyst": "Analyst", "admin": "Admin"}
OTHER_REPS = ["Bob Best", "Cy Cole", "Max Mgr", "R2", "R3", "M2", "West"]


@pytest.fixture
def users(tiny_data: Path) -> Path:
    """The tiny data with the hand-written users file."""
    (tiny_data / "users.toml").write_text(users_toml(USERS), encoding="utf-8")
    return tiny_data


@pytest.fixture
def navigation(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[dict[str, str]]]:
    """What the last st.navigation call listed: each page's url and whether it shows in the menu."""
    seen: list[dict[str, str]] = []
    original = st.navigation

    def spy(pages, *args, **kwargs):
        seen[:] = [{"url": p.url_path, "visibility": p._visibility} for p in pages]
        return original(pages, *args, **kwargs)

    monkeypatch.setattr(st, "navigation", spy)
    yield seen


def sign_in_as(monkeypatch: pytest.MonkeyPatch, login: str) -> None:
    """Local mode signs in the SALESLENS_LOCAL_USER login first."""
    monkeypatch.setenv("SALESLENS_LOCAL_USER", login)


def open_by_link(at: AppTest, url: str) -> AppTest:
    """Open a page the way a link to /<url> does: by the page registered under that url path.

    AppTest.switch_page only knows file pages; a refused page is a stand-in function registered under the
    real page's url, so look its hash up in what st.navigation registered.
    """
    hashes = [h for h, info in at._registered_pages.items() if info.get("url_pathname") == url]
    assert hashes, f"no page registered at /{url}"
    at._page_hash = hashes[0]
    return at.run()


def audit_lines(data_dir: Path) -> list[dict]:
    return access.audit_entries(data_dir)  # the audit log lives in the database of saved work


# ---------------------------------------------------------------------------------------------------------------
# Every page with every role

@pytest.mark.parametrize("role", list(RIGHTS))
def test_every_page_with_every_role(role: str, users: Path, app: Callable[..., AppTest],
                                    navigation: list[dict[str, str]], monkeypatch: pytest.MonkeyPatch) -> None:
    """The menu lists exactly the role's pages; each opens cleanly, and each other page refuses by link."""
    sign_in_as(monkeypatch, role)
    at = app(**H1)
    assert not at.exception, texts(at.exception)
    existing = {p[3] for p in PAGES}
    shown = {p["url"] or "overview" for p in navigation if p["visibility"] == "visible"}
    assert shown == RIGHTS[role] & existing
    for path, _, _, url in PAGES:
        if url in RIGHTS[role]:
            at.switch_page(path).run()
            assert not at.exception, f"{role} on {url}: {texts(at.exception)}"
            assert not at.error, f"{role} on {url}: {texts(at.error)}"
            assert at.title and at.title[0].value.strip(), f"{role} on {url}: no title"
        else:
            open_by_link(at, url)
            assert not at.exception, f"{role} on {url}: {texts(at.exception)}"
            assert texts(at.error) == f"Your role ({ROLE_LABEL[role]}) may not open this page.", url
            assert not at.title and not at.file_uploader and not at.metric, f"{url} ran for a {role}"


# ---------------------------------------------------------------------------------------------------------------
# What a rep sees

def tiles(at: AppTest) -> dict[str, str]:
    return {m.label: m.value for m in at.metric}


def options(at: AppTest, key: str) -> list[str]:
    return list(at.multiselect(key=key).options)


def test_rep_sees_only_their_own_numbers(users: Path, app: Callable[..., AppTest],
                                         monkeypatch: pytest.MonkeyPatch) -> None:
    sign_in_as(monkeypatch, "rep")
    at = app(**H1)
    assert not at.exception and not at.error, texts(at.exception) + texts(at.error)
    shown = tiles(at)
    # R1 in H1 2026: won O1 1,000; lost O2 and O7; targets 6 x 1,000; O1 took Jan 10 -> Feb 10 = 31 days.
    assert shown["Bookings"] == "$1.0K"
    assert shown["Win rate"] == "33.3%"  # 1 won of 3 closed
    assert shown["Attainment"] == "16.7%"  # 1,000 / 6,000
    assert shown["Avg deal size"] == "$1.0K"
    assert shown["Sales cycle"] == "31 days"
    # The filter lists offer only what the rep may see (products and segments are shared reference data).
    assert options(at, "f_regions") == ["East"]
    assert options(at, "f_teams") == ["East 1"]
    assert options(at, "f_reps") == ["Ann Able (R1)"]
    assert options(at, "f_sources") == ["Inbound", "Outbound"]  # O1 Inbound, O2 Outbound, O7 Inbound
    page_text = texts(at.main.markdown) + texts(at.main.caption) + str(at.main.dataframe)
    for other in OTHER_REPS:
        assert other not in page_text


def test_rep_group_by_manager_is_not_doubled(users: Path, app: Callable[..., AppTest],
                                             monkeypatch: pytest.MonkeyPatch) -> None:
    """The Overview table by manager shows R1's bookings once (the group was counted twice before the fix)."""
    sign_in_as(monkeypatch, "rep")
    at = app(**H1)
    at.selectbox(key="overview_group").set_value("manager").run()
    assert not at.exception, texts(at.exception)
    table = at.main.dataframe[0].value
    assert table.shape[0] == 1
    assert float(table["bookings"].iloc[0]) == 1000.0 and float(table["target"].iloc[0]) == 6000.0


def test_manager_sees_their_team(users: Path, app: Callable[..., AppTest], monkeypatch: pytest.MonkeyPatch) -> None:
    sign_in_as(monkeypatch, "manager")
    at = app(**H1)
    assert not at.exception and not at.error
    # M1's team: R1 won O1 1,000 and R2 won O3 6,000 = 7,000; closed: O1, O3 won, O2, O7 lost -> 2 / 4.
    assert tiles(at)["Bookings"] == "$7.0K"
    assert tiles(at)["Win rate"] == "50.0%"
    assert options(at, "f_teams") == ["East 1"]
    assert options(at, "f_reps") == ["Ann Able (R1)", "Bob Best (R2)"]


def test_leader_sees_everyone(users: Path, app: Callable[..., AppTest], monkeypatch: pytest.MonkeyPatch) -> None:
    sign_in_as(monkeypatch, "leader")
    at = app(**H1)
    # Everyone in H1: O1 1,000 + O3 6,000 + O4 2,000 = 9,000.
    assert tiles(at)["Bookings"] == "$9.0K"
    assert options(at, "f_regions") == ["East", "West"]


def test_user_without_a_known_rep_sees_nothing(users: Path, app: Callable[..., AppTest],
                                               monkeypatch: pytest.MonkeyPatch) -> None:
    """rep_id R9 is not in the snapshot: a warning that says why, zero numbers and empty filter lists."""
    sign_in_as(monkeypatch, "ghost")
    at = app(**H1)
    assert not at.exception, texts(at.exception)
    warning = texts(at.warning)
    assert "You see no data: Your rep id 'R9' is not in this snapshot's reps." in warning
    for label, value in tiles(at).items():
        assert not any(c in value for c in "123456789"), f"{label} shows {value}"
    for key in ("f_regions", "f_teams", "f_reps", "f_sources"):
        assert options(at, key) == [], key


# ---------------------------------------------------------------------------------------------------------------
# Signing in

def test_local_mode_banner_and_user_switch_are_audited(users: Path, app: Callable[..., AppTest],
                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    """The banner says local mode is on; each sign-in (first run, then a switch) is one audit line."""
    sign_in_as(monkeypatch, "rep")
    at = app(**H1)
    assert "Local mode: no password is checked" in texts(at.sidebar.info)
    assert at.selectbox(key="auth_user").value == "rep"
    assert [(r["who"], r["action"], r["what"]) for r in audit_lines(users)] == [("rep", "sign-in", "local")]
    at.run()  # a rerun is not a new sign-in
    assert len(audit_lines(users)) == 1
    at.selectbox(key="auth_user").set_value("manager").run()
    assert not at.exception
    assert tiles(at)["Bookings"] == "$7.0K"  # the manager's team now
    assert [(r["who"], r["action"]) for r in audit_lines(users)] == [("rep", "sign-in"), ("manager", "sign-in")]


def test_first_start_writes_example_users(tiny_data: Path, app: Callable[..., AppTest]) -> None:
    """No users file: one is made from the snapshot's people, and the default login (admin) is signed in."""
    at = app()
    assert not at.exception, texts(at.exception)
    text = (tiny_data / "users.toml").read_text(encoding="utf-8")
    assert 'rep_id = "R1"' in text and 'rep_id = "M1"' in text
    assert at.selectbox(key="auth_user").value == "admin"


@pytest.mark.parametrize(
    ("content", "says"),
    [
        ("[[user]\nlogin = 'rep'\n", "not valid TOML"),
        ("[user]\nlogin = 'rep'\nrole = 'rep'\n", "write each user as a [[user]] table"),
        ("[[user]]\nlogin = 'rep'\nrole = 'boss'\n", "has role 'boss'"),
    ],
)
def test_bad_users_file_is_a_clear_error(tiny_data: Path, app: Callable[..., AppTest], content: str, says: str,
                                         navigation: list[dict[str, str]]) -> None:
    """A broken users file: one error naming the problem, no traceback, nothing shown, no page open."""
    (tiny_data / "users.toml").write_text(content, encoding="utf-8")
    at = app(**H1)
    assert not at.exception, texts(at.exception)
    errors = texts(at.error)
    assert "The users file cannot be used:" in errors and says in errors
    assert "You see no data: You are not signed in." in texts(at.warning)
    assert not [p for p in navigation if p["visibility"] == "visible"]
    assert not at.metric


OIDC = {"redirect_uri": "http://localhost:8501/oauth2callback", "cookie_secret": "x" * 32, "client_id": "id",
        "client_secret": "secret", "server_metadata_url": "https://id.example/.well-known/openid-configuration"}


def oidc_app(user: dict) -> AppTest:
    """dashboard.py with [auth] in its secrets and the given st.user."""
    at = AppTest.from_file(str(support.DASHBOARD), default_timeout=60)
    at.secrets["auth"] = OIDC
    at.user = user
    at.query_params.update(H1)
    return at.run()


def test_oidc_configured_asks_to_sign_in(users: Path) -> None:
    """With [auth] in secrets and nobody signed in, the app shows a sign-in button and nothing else."""
    at = oidc_app({"is_logged_in": False})
    assert not at.exception, texts(at.exception)
    assert [b.label for b in at.button] == ["Sign in"]
    assert not at.metric and not at.sidebar.info and not at.multiselect
    assert audit_lines(users) == []


def test_oidc_user_is_mapped_by_email(users: Path) -> None:
    """A signed-in OIDC user is the users-file login equal to their e-mail: no local banner, no user picker."""
    (users / "users.toml").write_text(users_toml(
        [{"login": "ann@example.com", "name": "Ann Able", "role": "rep", "rep_id": "R1"}]), encoding="utf-8")
    at = oidc_app({"is_logged_in": True, "email": "Ann@Example.com", "name": "Ann"})
    assert not at.exception, texts(at.exception)
    assert tiles(at)["Bookings"] == "$1.0K"  # R1's O1, as for the local rep
    assert not at.sidebar.info and not [s for s in at.selectbox if s.key == "auth_user"]
    assert "Sign out" in [b.label for b in at.sidebar.button]
    assert [(r["who"], r["action"], r["what"]) for r in audit_lines(users)] == [("ann@example.com", "sign-in", "oidc")]


def test_oidc_user_not_in_the_users_file_sees_nothing(users: Path) -> None:
    """Signed in with the identity provider but not listed: default deny, with a warning."""
    at = oidc_app({"is_logged_in": True, "email": "stranger@example.com"})
    assert not at.exception, texts(at.exception)
    assert "You see no data" in texts(at.warning)
    for label, value in tiles(at).items():
        assert not any(c in value for c in "123456789"), f"{label} shows {value}"
