"""Sales Lens entry point: page config, data check, shared filters and the page router."""

from __future__ import annotations

import time
from datetime import date
from pathlib import Path

import streamlit as st

from saleslens import settings, store
from saleslens.i18n import t
from ui import context, sidebar

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


def build_demo_if_empty(data_dir: Path, lang: str) -> None:
    """On first start with no snapshot, build the demo with visible progress."""
    if store.list_snapshots(data_dir) or settings.get("auto_demo") != "1":
        return
    from saleslens import demo  # imported here: only the first start needs it

    as_of = settings.get("demo_as_of")
    started = time.perf_counter()
    with st.status(t("app.loading_demo", lang), expanded=True) as status:
        bar = st.progress(0.0)
        snaps = demo.build(
            data_dir,
            size=settings.get("demo_size"),
            seed=int(settings.get("demo_seed")),
            as_of=date.fromisoformat(as_of) if as_of else None,
            progress=lambda f, msg: bar.progress(min(max(f, 0.0), 1.0), text=msg),
        )
        status.update(
            label=t("app.demo_ready", lang, snapshots=len(snaps), seconds=time.perf_counter() - started),
            state="complete",
        )


def no_data_page(lang: str, problem: str) -> None:
    """A clear page saying what is wrong with the data and how to fix it, instead of a traceback."""
    st.title(t("app.no_data", lang))
    st.error(problem)
    st.markdown(t("app.no_data_help", lang))


def main() -> None:
    """Prepare the shared context, then hand over to the chosen page."""
    st.set_page_config(page_title="Sales Lens", page_icon=":material/insights:", layout="wide")
    lang = sidebar.language()
    data_dir = context.data_dir()
    try:
        data_dir.mkdir(parents=True, exist_ok=True)
        store.clean_leftovers(data_dir, min_age_seconds=6 * 3600)
        build_demo_if_empty(data_dir, lang)
        snaps = store.list_snapshots(data_dir)
        snapshot_id = sidebar.snapshot_picker(snaps, lang) if snaps else None
        snap = store.open_snapshot(data_dir, snapshot_id)
        runner = context.cached_runner(str(data_dir), snap.id, snap.manifest.get("created_at", ""), "all")
        options = runner.run("filter_options_by_dimension")
    except store.StoreError as exc:
        message = str(exc)

        # Still route through st.navigation, so Streamlit never falls back to listing pages/ itself.
        def problem() -> None:
            no_data_page(lang, message)

        st.navigation([st.Page(problem, title=t("app.no_data", lang), url_path="overview")]).run()
        return
    chosen = sidebar.filters(snap.as_of, options, lang)
    if warning := st.session_state.pop("_filter_warning", None):
        st.warning(warning)
    sidebar.sync_url(lang, snap.id, snaps[-1].id, chosen)
    context.set_current(context.Context(lang, data_dir, snap, runner, chosen))
    st.sidebar.caption(
        t("app.snapshot_caption", lang, date=snap.as_of.isoformat(), snapshot=snap.id,
          source=snap.manifest.get("source", ""))
    )
    pages = [
        st.Page(path, title=t(title, lang), icon=icon, url_path=url, default=(url == "overview"))
        for path, title, icon, url in PAGES
        if (ROOT / path).exists()
    ]
    st.navigation(pages).run()


main()
