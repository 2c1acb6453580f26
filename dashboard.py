"""Sales Lens entry point: page config, data check, shared filters and the page router."""

from __future__ import annotations

from pathlib import Path

import streamlit as st
from streamlit.runtime.pages_manager import PagesManager

from saleslens.core import access, db, store
from saleslens.core.filters import Filters
from saleslens.core.i18n import t, use_currency
from ui import auth, context, first_start, sidebar, widgets

# Planned pages in menu order; a page appears once its file exists.
PAGES = [
    ("pages/overview.py", "nav.overview", ":material/dashboard:", "overview"),
    ("pages/funnel.py", "nav.funnel", ":material/filter_alt:", "funnel"),
    ("pages/targets.py", "nav.targets", ":material/flag:", "targets"),
    ("pages/leaderboard.py", "nav.leaderboard", ":material/leaderboard:", "leaderboard"),
    ("pages/whatif.py", "nav.whatif", ":material/tune:", "whatif"),
    ("pages/import_data.py", "nav.import", ":material/upload_file:", "import"),
    ("pages/health.py", "nav.health", ":material/health_and_safety:", "health"),
    ("pages/glossary.py", "nav.glossary", ":material/menu_book:", "glossary"),
]
ROOT = Path(__file__).parent
ICON = ROOT / "ui" / "icon.png"  # the browser tab's icon


def no_data_page(lang: str, problem: str) -> None:
    """A clear page saying what is wrong with the data and how to fix it, instead of a traceback."""
    st.title(t("app.no_data", lang))
    st.error(problem)
    st.markdown(t("app.no_data_help", lang))


def problem_page(lang: str, kind: str, problem: str) -> None:
    """One page saying which part failed and why, instead of a traceback: kind "db" (the database, its URL's
    password masked) or "store" (the snapshot store; credentials never enter the message)."""
    def page() -> None:
        st.title(t(f"app.{kind}_problem", lang))
        st.error(problem)
        st.markdown(t(f"app.{kind}_problem_help", lang))

    st.navigation([st.Page(page, title=t(f"app.{kind}_problem", lang), url_path="overview", default=True)]).run()


def import_without_data(data_dir: Path, lang: str) -> list:
    """An empty data directory (no demo built): the Import page for an admin, so the first import needs no CLI."""
    grant = auth.sign_in(data_dir, None, lang)
    if not grant.may_open("import"):
        return []
    context.set_current(context.Context(lang, data_dir, None, None, Filters(), grant))
    path, title, icon, url = next(p for p in PAGES if p[3] == "import")
    return [st.Page(path, title=t(title, lang), icon=icon, url_path=url)]


def main() -> None:
    """Prepare the shared context, then hand over to the chosen page."""
    if PagesManager.uses_pages_directory:
        # Until st.navigation has run once in the process, Streamlit treats pages/ as an old-style page folder and
        # runs this file as one of its pages: its widgets then get other ids than in every later run, so the first
        # visitor of a fresh server would lose their first filter change. Switch that off and start again.
        PagesManager.uses_pages_directory = False
        st.rerun()
    # The icon is a file served by this server: a Material or emoji icon would make every browser fetch it from
    # Google's or a CDN's servers, which a local-first app must not do (and which fails offline).
    st.set_page_config(page_title="Sales Lens", page_icon=str(ICON), layout="wide")
    widgets.page_style()
    lang = sidebar.language()
    try:
        data_dir = context.data_dir()
        store.check_store(data_dir)  # a store on object storage: reached once per run, before anything reads it
    except store.StoreError as exc:
        problem_page(lang, "store", str(exc))
        return
    try:
        db.get(data_dir)  # saved work, users and the audit log: migrated and imported once per process
    except db.DatabaseError as exc:
        problem_page(lang, "db", str(exc))
        return
    try:
        data_dir.mkdir(parents=True, exist_ok=True)
        context.tidy(data_dir)  # what killed imports left behind, once a minute at most
        first_start.build_demo_if_empty(data_dir, lang)
        snaps = store.list_snapshots(data_dir)
        snapshot_id = sidebar.snapshot_picker(snaps, lang) if snaps else None
        snap = store.open_snapshot(data_dir, snapshot_id)
        use_currency(snap.manifest.get("reporting_currency"))  # every money figure of this run in the data's currency
        grant = auth.sign_in(data_dir, snap, lang)
        # Every query of this session runs on a runner scoped to the grant: charts, tables, filter options.
        runner = context.runner_for_grant(data_dir, snap, grant)
        options = runner.run("filter_options_by_dimension")
    except store.StoreError as exc:
        message = str(exc)

        # Still route through st.navigation, so Streamlit never falls back to listing pages/ itself.
        def problem() -> None:
            no_data_page(lang, message)

        pages = [st.Page(problem, title=t("app.no_data", lang), url_path="overview", default=True)]
        if not store.list_snapshots(data_dir):
            pages += import_without_data(data_dir, lang)
        st.navigation(pages).run()
        return
    chosen = sidebar.filters(snap.as_of, options, lang)
    if warning := st.session_state.pop("_filter_warning", None):
        st.warning(warning)
    sidebar.sync_url(lang, snap.id, snaps[-1].id, chosen)
    context.set_current(context.Context(lang, data_dir, snap, runner, chosen, grant))
    st.sidebar.caption(
        t("app.snapshot_caption", lang, date=snap.as_of.isoformat(), snapshot=sidebar.snapshot_label(snap, lang),
          source=snap.manifest.get("source", ""))
    )
    if grant.rep_ids is not None and not grant.rep_ids:
        st.warning(t("auth.no_access", lang, reason=grant.reason_in(lang)))
    st.navigation(pages_for(grant, lang)).run()


def pages_for(grant: access.Grant, lang: str) -> list:
    """The pages the user's role may open; the others answer a link with a refusal instead of running."""
    role = t(f"role.{grant.user.role}", lang) if grant.user else "–"
    pages = []
    for path, title, icon, url in PAGES:
        if not (ROOT / path).exists():
            continue
        if grant.may_open(url):
            pages.append(st.Page(path, title=t(title, lang), icon=icon, url_path=url, default=(url == "overview")))
        else:
            pages.append(st.Page(_refusal(role, lang, url), title=t(title, lang), icon=icon, url_path=url,
                                 visibility="hidden"))
    return pages


def _refusal(role: str, lang: str, url: str):
    """A stand-in page that refuses to run a page the role may not open."""
    def refuse() -> None:
        st.error(t("auth.page_refused", lang, role=role))

    refuse.__name__ = f"refuse_{url}"
    return refuse


main()
