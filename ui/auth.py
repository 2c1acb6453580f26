"""Sign-in: Streamlit's OIDC (st.login / st.user) when configured in secrets, else local mode with a users file."""

from __future__ import annotations

import os
import threading
from collections import OrderedDict
from pathlib import Path

import polars as pl
import streamlit as st

from saleslens.core import access, settings, store
from saleslens.core.i18n import t

_SIGNED_IN = "_saleslens_signed_in"
# Local mode keeps the chosen user in the link (?as=login): a page reload starts a new Streamlit session, which
# signed the reader back in as the first user (an admin). No password is checked in local mode anyway.
USER_PARAM = "as"


# _reps' memory: a snapshot's reps file (by path and stat, so a folder published again under the same id is read
# again) -> its reps table. Reading the Parquet file on every page run cost about ten milliseconds.
_REPS: OrderedDict[tuple, pl.DataFrame] = OrderedDict()
_REPS_LOCK = threading.Lock()
REPS_KEPT = 8  # snapshots whose reps are kept: the few that sessions have open


def _reps(snap: store.Snapshot) -> pl.DataFrame:
    """The snapshot's reps table (access.reps_of), read once per snapshot and process."""
    path = snap.table_path("reps")
    try:
        info = os.stat(path) if path is not None else None
    except OSError:
        info = None
    if info is None:  # access.reps_of says what is wrong
        return access.reps_of(snap)
    key = (str(path), info.st_ino, info.st_mtime_ns, info.st_size)
    with _REPS_LOCK:
        reps = _REPS.get(key)
        if reps is not None:
            _REPS.move_to_end(key)
            return reps
    reps = access.reps_of(snap)
    with _REPS_LOCK:
        _REPS[key] = reps
        while len(_REPS) > REPS_KEPT:
            _REPS.popitem(last=False)
    return reps


def oidc_configured() -> bool:
    """Whether secrets configure an identity provider for st.login."""
    try:
        return "auth" in st.secrets
    except Exception:  # no secrets file at all: Streamlit raises its own error type
        return False


def _ensure_users_file(data_dir: Path, snap: store.Snapshot) -> None:
    """Give a fresh data directory example users of each role, taken from the snapshot's people."""
    path = access.users_path(data_dir)
    if not path.exists():
        access.write_users(path, access.demo_users(access.reps_of(snap)))


def _note_sign_in(data_dir: Path, user: access.User | None, how: str) -> None:
    """Audit a sign-in once per session and user."""
    login = user.login if user else "(unknown)"
    if st.session_state.get(_SIGNED_IN) != login:
        st.session_state[_SIGNED_IN] = login
        access.audit(data_dir, login, "sign-in", how)


def _oidc_login() -> str:
    """The signed-in e-mail (lower case), as the users file is keyed."""
    return str(st.user.get("email") or "").lower()


def _oidc_user(users: dict[str, access.User], lang: str) -> access.User | None:
    """The OIDC user mapped to the users file by e-mail; stops the run with a sign-in button when signed out."""
    if not st.user.is_logged_in:
        st.title(t("app.title", lang))
        st.button(t("auth.sign_in", lang), on_click=st.login, type="primary")
        st.stop()
    st.sidebar.button(t("auth.sign_out", lang), on_click=st.logout)
    return users.get(_oidc_login())


def _local_user(users: dict[str, access.User], lang: str) -> access.User | None:
    """Local mode: pick who you are from the users file, under a banner that says no password is checked."""
    st.sidebar.info(t("auth.local_mode", lang), icon=":material/lock_open:")
    logins = sorted(users, key=lambda k: (access.ROLES.index(users[k].role) * -1, k))
    if not logins:
        return None
    if st.session_state.get("auth_user") not in logins:
        st.session_state["auth_user"] = _remembered_login(logins)
    login = st.sidebar.selectbox(
        t("auth.signed_in_as", lang), logins, key="auth_user",
        format_func=lambda k: f"{users[k].name} · {t('role.' + users[k].role, lang)}",
    )
    if st.query_params.get(USER_PARAM) != login:
        st.query_params[USER_PARAM] = login
    return users[login]


def _remembered_login(logins: list[str]) -> str:
    """The login a new session starts as: the one in the link (a reload), else the setting, else the first."""
    for wanted in (st.query_params.get(USER_PARAM, ""), settings.get("local_user")):
        if wanted and wanted.lower() in logins:
            return wanted.lower()
    return logins[0]


# With no snapshot there are no people to write a users file from. In local mode whoever runs the app on this
# machine can already import from the command line, so they may import from the page too.
LOCAL_ADMIN = access.User(login="local-admin", name="Local admin", role="admin")
_NO_REPS = pl.DataFrame(schema={"rep_id": pl.String, "name": pl.String, "role": pl.String, "manager_id": pl.String,
                                "team": pl.String, "active": pl.Boolean})


def sign_in(data_dir: Path, snap: store.Snapshot | None, lang: str) -> access.Grant:
    """Who is reading and what they may see; default deny when anything is missing.

    With no snapshot yet (an empty data directory) there are no reps: only an admin gets anything, the Import page.
    """
    reps = _reps(snap) if snap else _NO_REPS
    oidc = oidc_configured()
    try:
        if snap and not oidc:
            _ensure_users_file(data_dir, snap)
        users = access.load_users(access.users_path(data_dir))
    except access.AccessError as exc:
        st.error(t("auth.bad_users_file", lang, error=str(exc)))
        return access.grant(None, reps)
    if oidc:
        user = _oidc_user(users, lang)
    elif users or snap:
        user = _local_user(users, lang)
    else:
        st.sidebar.info(t("auth.local_mode", lang), icon=":material/lock_open:")
        user = LOCAL_ADMIN
    _note_sign_in(data_dir, user, "oidc" if oidc else "local")
    return access.grant(user, reps, login=_oidc_login() if oidc and user is None else "")
