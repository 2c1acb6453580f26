"""Import: upload a CRM export, choose or edit a mapping, check and preview it, publish it, read the report.

Thin page: uploads -> saleslens.ingest (prepare: read, map, check; publish: atomic) -> report tables -> st.*.
Nothing is written to the data directory until Publish, and then in one step (see saleslens/ingest/publish.py);
with the weekly backfill, one step per rebuilt week and then the export's own snapshot (saleslens/ingest/backfill.py).
"""

from __future__ import annotations

import hashlib
from datetime import date

import streamlit as st

from saleslens.core import access, i18n, store
from saleslens.core.i18n import t
from saleslens.ingest import ImportFailed, MappingError, backfill, build, publish, readers
from saleslens.ingest import mapping as mp
from saleslens.ingest import report as rp
from saleslens.ingest.errors import busy_text
from ui import context, widgets

CUSTOM = "__custom__"
PREVIEW_ROWS = 50
_CHECKED, _FAILED, _PUBLISHED = "import_checked", "import_failed", "import_published"

ctx = context.current()
lang, data_dir = ctx.lang, ctx.data_dir


def show_report(report: dict) -> None:
    """The import report: counts per file and table, rejected rows, normalised and derived values, links, diff."""
    frames = rp.frames(report, lang)
    sources = report.get("sources", [])
    c1, c2, c3, c4 = st.columns(4)
    c1.metric(t("import.files_read", lang), i18n.count(len(report.get("files", [])), lang), border=True)
    c2.metric(t("import.rows_read", lang), i18n.count(rp.rows_read(report), lang), border=True)
    c3.metric(t("import.rows_accepted", lang), i18n.count(sum(s["accepted"] for s in sources), lang), border=True)
    c4.metric(t("import.rows_rejected", lang), i18n.count(sum(s["rejected"] for s in sources), lang), border=True)
    if report.get("files"):
        st.caption(" · ".join(
            t("ingest.report.file", lang, file=f["file"], rows=i18n.count(f["rows"], lang),
              encoding=f.get("encoding") or "–", delimiter=f.get("delimiter") or "–")
            for f in report["files"]
        ))
    show_money_and_export(report)
    sections = (("sources", "ingest.section.sources"), ("rejected", "ingest.section.rejected"),
                ("unlinked", "ingest.section.unlinked"), ("normalised", "ingest.section.normalised"),
                ("derived", "ingest.section.derived"), ("warnings", "ingest.section.warnings"),
                ("row_counts", "ingest.section.row_counts"))
    for key, title in sections:
        if frames[key].height:
            st.markdown(f"**{t(title, lang)}**")
            widgets.dataframe(frames[key], lang)
    if report.get("missing_tables"):
        st.caption(t("ingest.report.missing_tables", lang, tables=", ".join(report["missing_tables"])))
    if "diff" in report:
        st.markdown(f"**{t('ingest.section.diff', lang)}**")
        st.markdown("\n".join(f"- {line}" for line in rp.diff_lines(report, lang)))


def show_money_and_export(report: dict) -> None:
    """An adapter's notes on the export, the reporting currency and deals per currency, the stage changes inferred
    (an export without history), and each currency that had no usable rate as a warning naming its deals."""
    for title, lines in (("import.export_notes", rp.export_lines(report, lang)),
                         ("import.currency_notes", rp.currency_lines(report, lang)),
                         ("import.history_notes", rp.history_lines(report, lang))):
        if lines:
            st.markdown(f"**{t(title, lang)}**")
            st.markdown("\n".join(f"- {line}" for line in lines))
    money = report.get("currency") or {}
    for item in money.get("missing") or []:
        st.warning(t("ingest.problem.no_rate", lang, currency=item["currency"] or "?", rate=item["rate"] or "-",
                     deals=item["deals"], examples=", ".join(item["examples"]),
                     reporting=money.get("reporting") or "?"))


def weeks_to_rebuild(prepared: build.Prepared) -> list[date]:
    """The past weeks a backfill would publish now: none without history; weeks already published are kept."""
    if prepared.history is None or prepared.history.is_empty():
        return []
    have = {s.as_of for s in store.list_snapshots(data_dir)}
    return [d for d in backfill.week_ends(backfill.first_day(prepared), prepared.as_of) if d not in have]


def publish_checked(prepared: build.Prepared, rebuild: bool) -> tuple[store.Snapshot, list[str]]:
    """Publish the checked import, with the weeks rebuilt from its history first when asked; the export's snapshot
    and the ids of the rebuilt ones. Progress shows over the weeks."""
    bar = st.progress(0.0)
    weeks = weeks_to_rebuild(prepared) if rebuild else []
    done = []

    def tell(frac: float, msg: str) -> None:
        if msg.startswith("backfilling "):  # backfill.publish_weekly's message for each week
            done.append(msg)
            msg = t("import.backfilling", lang, day=msg.removeprefix("backfilling "), n=len(done), count=len(weeks))
        bar.progress(min(max(frac, 0.0), 1.0), text=msg)

    if not rebuild or prepared.history is None or prepared.history.is_empty():
        return publish.publish(prepared, data_dir, progress=tell), []
    snaps = backfill.publish_weekly(prepared, data_dir, tell)
    return snaps[-1], [s.id for s in snaps[:-1]]


def show_failure(failed: ImportFailed) -> None:
    """What blocked the import, one problem per line, and the counts so far."""
    st.error(t("import.failed", lang, count=len(failed.problems)))
    st.markdown("\n".join(f"- {p.text(lang)}" for p in failed.problems[:20]))
    if len(failed.problems) > 20:
        st.caption(t("ingest.more_problems", lang, count=len(failed.problems) - 20))
    if failed.report.get("sources"):
        widgets.dataframe(rp.frames(failed.report, lang)["sources"], lang)
    st.info(t("import.failed_help", lang))


def preview(prepared: build.Prepared) -> None:
    """The first rows of every table the import would publish, as the app will read them."""
    tables = {**prepared.tables, **prepared.events}
    names = [n for n in tables if tables[n].height]
    tabs = st.tabs([f"{n} ({i18n.count(tables[n].height, lang)})" for n in names])
    for tab, name in zip(tabs, names, strict=True):
        with tab:
            widgets.dataframe(tables[name].head(PREVIEW_ROWS), lang)


def show_weeks(prepared: build.Prepared) -> None:
    """What the backfill will add on Publish, or why it cannot."""
    weeks = weeks_to_rebuild(prepared)
    if weeks:
        st.info(t("import.backfill_weeks", lang, count=len(weeks), first=i18n.day(weeks[0], lang),
                  last=i18n.day(weeks[-1], lang)))
    elif prepared.history is None or prepared.history.is_empty():
        st.warning(t("import.backfill_no_history", lang))


def signature(files: list[tuple[str, bytes]], text: str, as_of: date | None, max_rejected: int) -> str:
    """A fingerprint of everything the check depends on, so Publish only publishes what was checked."""
    h = hashlib.sha256()
    for name, data in files:
        h.update(name.encode() + b"\0" + hashlib.sha256(data).digest())
    h.update(text.encode() + str(as_of).encode() + str(max_rejected).encode())
    return h.hexdigest()


st.title(t("import.title", lang))
st.caption(t("import.caption", lang))

if done := st.session_state.get(_PUBLISHED):
    snapshot_id, report, rebuilt = done
    st.success(t("import.published", lang, snapshot=snapshot_id))
    if rebuilt:
        st.success(t("ingest.report.backfilled", lang, count=len(rebuilt), first=rebuilt[0], last=rebuilt[-1]))
    with st.expander(t("import.published_report", lang), expanded=True):
        show_report(report)

# ----------------------------------------------------------------------------- 1. files
st.subheader(t("import.step_files", lang))
uploads = st.file_uploader(t("import.files", lang), type=["csv", "tsv", "txt", "xlsx", "xlsm", "zip"],
                           accept_multiple_files=True, key="import_files", help=t("import.files_help", lang))
files = [(u.name, u.getvalue()) for u in uploads or []]

# ----------------------------------------------------------------------------- 2. mapping
st.subheader(t("import.step_mapping", lang))
choices = [*mp.builtin_names(), CUSTOM]
choice = st.selectbox(
    t("import.mapping", lang), choices, key="import_mapping",
    format_func=lambda c: t("import.custom_mapping", lang) if c == CUSTOM else f"{c} — {mp.load(c).description}",
    help=t("import.mapping_help", lang),
)
if choice == CUSTOM:
    own = st.file_uploader(t("import.mapping_file", lang), type=["toml"], key="import_mapping_file")
    base_text = own.getvalue().decode("utf-8-sig", errors="replace") if own else mp.STARTER
else:
    base_text = mp.builtin_text(choice)
with st.expander(t("import.edit_mapping", lang), expanded=choice == CUSTOM):
    text_key = "import_mapping_text_" + hashlib.sha256(f"{choice}\0{base_text}".encode()).hexdigest()[:12]
    text = st.text_area(t("import.mapping_text", lang), value=base_text, height=420, key=text_key,
                        help=t("import.mapping_text_help", lang))
try:
    chosen = mp.parse(text, f"{choice if choice != CUSTOM else 'custom'} mapping")
except MappingError as exc:
    chosen = None
    st.error(t("import.bad_mapping", lang, error=str(exc)))

# ----------------------------------------------------------------------------- 3. check and publish
st.subheader(t("import.step_check", lang))
c1, c2 = st.columns(2)
as_of = c1.date_input(t("import.as_of", lang), value=None, key="import_as_of", help=t("import.as_of_help", lang))
max_rejected = int(c2.number_input(t("import.max_rejected", lang), min_value=0, value=0, step=1,
                                   key="import_max_rejected", help=t("import.max_rejected_help", lang)))
# Only an adapter's export (Salesforce: OpportunityHistory) carries the deals' past states to rebuild weeks from.
rebuild = chosen is not None and chosen.adapter is not None and st.checkbox(
    t("import.backfill", lang), key="import_backfill", help=t("import.backfill_help", lang))
sig = signature(files, text, as_of, max_rejected)
b1, b2 = st.columns(2)
check = b1.button(t("import.check", lang), key="import_check", disabled=not files or chosen is None,
                  icon=":material/fact_check:", width="stretch")
if not files:
    st.info(t("import.no_files", lang))

if check and chosen is not None:
    st.session_state.pop(_CHECKED, None)
    st.session_state.pop(_FAILED, None)
    st.session_state.pop(_PUBLISHED, None)
    with st.status(t("import.checking", lang), expanded=False) as status:
        bar = st.progress(0.0)
        try:
            prepared = build.prepare(
                readers.files_from_uploads(files), chosen, as_of=as_of, max_rejected=max_rejected,
                progress=lambda frac, msg: bar.progress(min(max(frac, 0.0), 1.0), text=msg),
                source_label=", ".join(name for name, _ in files),
            )
            st.session_state[_CHECKED] = (sig, prepared, publish.with_diff(prepared, data_dir))
            status.update(label=t("import.check_ok", lang), state="complete")
        except ImportFailed as exc:
            st.session_state[_FAILED] = (sig, exc)
            status.update(label=t("import.check_failed", lang), state="error")

checked = st.session_state.get(_CHECKED)
ready = checked is not None and checked[0] == sig
publish_clicked = b2.button(t("import.publish", lang), key="import_publish", type="primary", disabled=not ready,
                            icon=":material/publish:", width="stretch", help=t("import.publish_help", lang))

if publish_clicked and ready:
    _, prepared, _ = checked
    with st.status(t("import.publishing", lang), expanded=rebuild) as status:
        try:
            snap, rebuilt = publish_checked(prepared, rebuild)
        except store.ImportBusy as exc:  # another import holds the lock: say so, publish nothing
            status.update(label=busy_text(exc, lang), state="error")
            st.error(busy_text(exc, lang))
            st.stop()
        status.update(label=t("import.published", lang, snapshot=snap.id), state="complete")
    access.audit(data_dir, ctx.who, "import", f"snapshot {snap.id} from {snap.manifest.get('source', '')}"
                 + (f", {len(rebuilt)} week(s) rebuilt from history" if rebuilt else ""))
    st.session_state[_PUBLISHED] = (snap.id, snap.manifest["import_report"], rebuilt)
    st.session_state.pop(_CHECKED, None)
    # Show the new snapshot everywhere, even when it is dated before the latest one: forget the viewer's
    # snapshot choice and put the new one in the link, which the sidebar reads when it has no choice.
    st.session_state.pop("snapshot", None)
    st.query_params["snapshot"] = snap.id
    st.rerun()

failed = st.session_state.get(_FAILED)
if failed is not None and failed[0] == sig:
    show_failure(failed[1])
elif checked is not None:
    if not ready:
        st.warning(t("import.inputs_changed", lang))
    else:
        _, prepared, report = checked
        st.success(t("import.ready", lang, as_of=i18n.day(prepared.as_of, lang),
                     deals=i18n.count(prepared.tables["opportunities"].height, lang)))
        if rebuild:
            show_weeks(prepared)
        show_report(report)
        st.markdown(f"**{t('import.preview', lang)}**")
        preview(prepared)

# ----------------------------------------------------------------------------- the current snapshot's report
if ctx.snapshot is not None:  # None: the data directory is still empty
    stored = ctx.snapshot.manifest.get("import_report") or {}
    st.divider()
    st.subheader(t("import.current_report", lang, snapshot=ctx.snapshot.id))
    if stored.get("sources"):
        show_report(stored)
    else:
        st.caption(t("import.no_report", lang, source=ctx.snapshot.manifest.get("source", "–")))
