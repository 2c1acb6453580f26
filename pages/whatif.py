"""What-if: move target and driver sliders, see attainment, reps at quota and commission cost at once.

The per-rep base is one cached query per snapshot, period and scope; every widget change recomputes
the scenario in memory (saleslens.whatif.load). Inputs live in st.query_params (p_ keys) for links.
"""

from __future__ import annotations

import hashlib
import urllib.parse
from dataclasses import replace

import polars as pl
import streamlit as st

from saleslens.core import i18n
from saleslens.core.i18n import t
from saleslens.whatif import load as whatif_load
from saleslens.whatif import scenarios
from saleslens.whatif import store as scenario_store
from saleslens.whatif.load import COUNT, MONEY, PCT, Choices, View
from saleslens.whatif.scenarios import Scenario, ScenarioError
from ui import context, widgets
from ui.saved import visibility_choice

LEVELS = scenarios.LEVELS
SLIDERS = {  # widget key -> (scenario field, min, max)
    "wi_tgt": ("target_change_pct", -50, 100),
    "wi_win": ("win_rate_pct", -50, 50),
    "wi_size": ("deal_size_pct", -50, 50),
    "wi_cycle": ("cycle_time_pct", -50, 50),
}

ctx = context.current()
lang, f = ctx.lang, ctx.filters
ss = st.session_state


def fmt(kind: str, value: object) -> str:
    """A number for people: money, percent or count."""
    return whatif_load.fmt(kind, value, lang)


def signed(kind: str, value: float | None) -> str:
    """A difference with its sign; percentages as points."""
    return whatif_load.signed(kind, value, lang)


# ---------------------------------------------------------------- state: URL, saved scenarios, widgets


def option_labels(base: pl.DataFrame) -> dict[str, tuple[str, str]]:
    """What an override can apply to: label -> (level, key), regions, then teams, then reps (kept per base)."""
    # The runner hands back the same cached frame every rerun; the period, scope and snapshot make sure.
    cache_key = (id(base), base.height, lang, ctx.snapshot.id, f.start, f.end, f.regions, f.teams, f.reps)
    if ss.get("wi_labels_key") == cache_key:
        return ss["wi_labels"]
    out = whatif_load.option_labels(base, lang)
    ss["wi_labels_key"] = cache_key
    return out


def seed_widgets(sc: Scenario, labels: dict[str, tuple[str, str]]) -> None:
    """Put a scenario's inputs into the widgets (before they render) and start fresh editors."""
    for key, (name, lo, hi) in SLIDERS.items():
        ss[key] = int(max(lo, min(hi, round(getattr(sc, name)))))
    ss["wi_pipe"] = sc.include_pipeline
    ss["wi_ramp"] = ", ".join(f"{v:g}" for v in sc.ramp_pct)
    ss["wi_tset"] = sc.target_set or ""
    back = {v: k for k, v in labels.items()}
    rows = [
        {"applies_to": back.get((level, key), f"{t(f'whatif.level.{level}', lang)}: {key}"), "change_pct": value}
        for level in LEVELS for key, value in sorted(sc.overrides(level).items())
    ]
    ss["wi_over_rows"] = ss["wi_over_last"] = rows
    ss["wi_hires"] = dict(sc.new_reps)
    ss["wi_over_open"], ss["wi_hire_open"] = bool(rows), bool(sum(sc.new_reps.values()))
    ss["wi_ver"] = ss.get("wi_ver", 0) + 1


def open_saved(name: str) -> None:
    """Callback of the Open button: load the scenario into the widgets and the shared filters."""
    try:
        sc = scenario_store.load(ctx.data_dir, name, who=ctx.grant)
        entry = scenario_store.saved_item(ctx.data_dir, name, who=ctx.grant)
    except scenario_store.SAVE_ERRORS as exc:
        ss["wi_flash"] = ("error", t("whatif.open_failed", lang, name=name, error=str(exc)))
        return
    options = ctx.run("filter_options_by_dimension")
    # The scenario's period and scope go into the shared sidebar filters, which the page reads.
    ss["f_period"], ss["f_start"], ss["f_end"] = "custom", sc.start, sc.end
    for field_name, dim in (("regions", "region"), ("teams", "team"), ("reps", "rep")):
        allowed = set(options.filter(pl.col("dimension") == dim)["value"].to_list())
        ss[f"f_{field_name}"] = [v for v in getattr(sc, field_name) if v in allowed]
    seed_widgets(sc, ss.get("wi_labels", {}))
    ss["wi_plans_raw"] = (dict(sc.plans), sc.name) if sc.plans is not None else None
    ss["wi_name"] = sc.name
    ss["wi_last"] = sc
    ss["wi_opened"] = (sc.name, entry.version if entry else 0)  # replacing it later must start from this version
    note = t("whatif.opened", lang, name=sc.name)
    if sc.snapshot and sc.snapshot != ctx.snapshot.id:
        note += " " + t("whatif.other_snapshot", lang, saved=sc.snapshot, current=ctx.snapshot.id)
    ss["wi_flash"] = ("success", note)


def save_current(sc: Scenario) -> None:
    """Callback of the Save button: save the scenario on screen under the typed name."""
    named = replace(sc, name=ss.get("wi_name", ""))
    opened_name, opened_version = ss.get("wi_opened", ("", None))
    try:
        saved = scenario_store.save(ctx.data_dir, named, overwrite=bool(ss.get("wi_overwrite")), who=ctx.grant,
                                    expected_version=opened_version if opened_name == named.name.strip() else None,
                                    visibility=ss.get("wi_visibility", "everyone"))
    except scenario_store.SAVE_ERRORS as exc:  # refusals (no right, a newer version) are told; the save audits
        ss["wi_flash"] = ("error", t("whatif.save_failed", lang, error=str(exc)))
        return
    ss["wi_opened"] = (saved.name, saved.version)
    ss["wi_flash"] = ("success", t("whatif.saved", lang, name=saved.name, path=f"v{saved.version}"))


def restore_inputs(labels: dict[str, tuple[str, str]]) -> None:
    """On a session's first visit take the inputs from the link; later visits keep the last inputs."""
    if "wi_tgt" in ss:
        return
    previous = ss.get("wi_last")
    if previous is None:
        try:
            previous = scenarios.from_query(dict(st.query_params), Scenario(start=f.start, end=f.end))
        except ScenarioError as exc:
            st.warning(t("whatif.bad_link", lang, error=str(exc)))
            previous = Scenario(start=f.start, end=f.end)
    seed_widgets(previous, labels)


# ---------------------------------------------------------------- inputs


def plans_upload() -> tuple[str, str] | None:
    """The uploaded plans file (name, text), kept while the Commission tab is closed and its uploader not drawn."""
    if "wi_plans_file" in ss:  # the uploader was on screen last run: it says what is uploaded now
        upload = ss["wi_plans_file"]
        ss["wi_plans_upload"] = (upload.name, upload.getvalue().decode("utf-8", errors="replace")) if upload else None
    return ss.get("wi_plans_upload") or None


def target_inputs(sets: list[str]) -> None:
    """Base target set, the global change, and whether the baseline counts open pipeline."""
    st.markdown(f"**{t('whatif.targets', lang)}**")
    if sets:
        st.selectbox(t("whatif.target_set", lang), ["", *sets], key="wi_tset",
                     format_func=lambda s: s or t("whatif.targets_table", lang), help=t("whatif.target_set_help", lang))
    st.slider(t("whatif.target_change", lang), *SLIDERS["wi_tgt"][1:], key="wi_tgt", format="%+d%%",
              help=t("whatif.target_change_help", lang))
    st.markdown(f"**{t('whatif.baseline', lang)}**")
    st.toggle(t("whatif.include_pipeline", lang), key="wi_pipe", help=t("whatif.include_pipeline_help", lang))


def override_inputs(labels: dict[str, tuple[str, str]]) -> dict:
    """Target-change overrides per region, team and rep, in an editable table (drawn only while open)."""
    rows = ss.get("wi_over_last", ss.get("wi_over_rows", []))
    box = st.expander(t("whatif.overrides", lang, n=len(rows)), expanded=bool(rows), key="wi_over_open",
                      on_change="rerun")
    if box.open:
        with box:
            st.caption(t("whatif.overrides_help", lang))
            key = f"wi_over_{ss.get('wi_ver', 0)}"
            if key not in ss:  # a fresh editor starts from the last rows (edits are kept while it was closed)
                ss["wi_over_rows"] = rows
            frame = pl.DataFrame(ss.get("wi_over_rows", []), schema={"applies_to": pl.String, "change_pct": pl.Float64})
            edited = st.data_editor(
                frame, key=key, num_rows="dynamic", width="stretch", hide_index=True,
                column_config={
                    "applies_to": st.column_config.SelectboxColumn(t("whatif.applies_to", lang), options=list(labels),
                                                                   required=True, width="medium"),
                    "change_pct": st.column_config.NumberColumn(t("whatif.change_pct", lang), min_value=-99,
                                                                max_value=1000, step=1, format="%+.0f%%",
                                                                required=True),
                },
            )
        edited = edited if isinstance(edited, pl.DataFrame) else pl.from_pandas(edited)
        rows = edited.to_dicts()
        ss["wi_over_last"] = rows
    over: dict[str, dict[str, float]] = {level: {} for level in LEVELS}
    for row in rows:
        if row["applies_to"] in labels and row["change_pct"] is not None:
            level, k = labels[row["applies_to"]]
            over[level][k] = float(row["change_pct"])
    return {"region_change_pct": over["region"], "team_change_pct": over["team"], "rep_change_pct": over["rep"]}


def driver_inputs() -> None:
    """Win-rate, deal-size and cycle-time changes, and whether the baseline counts open pipeline."""
    st.markdown(f"**{t('whatif.drivers', lang)}**")
    for key in ("wi_win", "wi_size", "wi_cycle"):
        name = key.removeprefix("wi_")
        st.slider(t(f"whatif.driver.{name}", lang), *SLIDERS[key][1:], key=key, format="%+d%%",
                  help=t(f"whatif.driver.{name}_help", lang))


def hire_inputs(teams: list[str]) -> dict[str, int]:
    """New reps per team, in an editable table (drawn only while open)."""
    hires = ss.get("wi_hires", {})
    box = st.expander(t("whatif.new_reps", lang, n=sum(hires.values())), expanded=bool(sum(hires.values())),
                      key="wi_hire_open", on_change="rerun")
    if not box.open:
        return {team: n for team, n in hires.items() if team in teams and n}
    with box:
        team_hash = hashlib.sha1("|".join(teams).encode()).hexdigest()[:8]
        key = f"wi_hire_{ss.get('wi_ver', 0)}_{team_hash}"
        if key not in ss:  # a fresh editor starts from the last numbers
            ss["wi_hire_frame"] = pl.DataFrame({"team": teams, "new_reps": [int(hires.get(tm, 0)) for tm in teams]},
                                               schema={"team": pl.String, "new_reps": pl.Int64})
        edited = st.data_editor(
            ss["wi_hire_frame"], key=key, num_rows="fixed", hide_index=True, width="stretch", disabled=["team"],
            column_config={
                "team": st.column_config.TextColumn(t("whatif.team", lang)),
                "new_reps": st.column_config.NumberColumn(t("whatif.new_reps_col", lang), min_value=0, max_value=100,
                                                          step=1, format="%d"),
            },
        )
    edited = edited if isinstance(edited, pl.DataFrame) else pl.from_pandas(edited)
    new = {row["team"]: int(row["new_reps"] or 0) for row in edited.to_dicts() if row["new_reps"]}
    ss["wi_hires"] = {**{k: v for k, v in hires.items() if k not in teams}, **new}
    return new


def headcount_inputs() -> tuple[float, ...] | None:
    """The ramp-up curve of new reps."""
    st.markdown(f"**{t('whatif.headcount', lang)}**")
    st.text_input(t("whatif.ramp", lang), key="wi_ramp", help=t("whatif.ramp_help", lang))
    try:
        ramp = scenarios.parse_ramp(ss.get("wi_ramp", ""))
    except ScenarioError as exc:
        st.error(t("whatif.bad_input", lang, error=str(exc)))
        ramp = None
    return ramp


# ---------------------------------------------------------------- outputs


def tile(col, label: str, value: str, diff: float | None, kind: str, help_text: str, inverse: bool = False) -> None:
    """One metric tile with its change against the baseline (grey and arrowless when unchanged)."""
    unchanged = diff is None or abs(diff) < 1e-9
    col.metric(
        label, value, delta="±0" if unchanged else signed(kind, diff),
        delta_color="off" if unchanged else ("inverse" if inverse else "normal"),
        delta_arrow="off" if unchanged else "auto", delta_description=t("whatif.kpi.vs_baseline", lang),
        help=help_text, border=True,
    )


def tiles(s: dict, notes: tuple[str | None, str | None] = (None, None)) -> None:
    """The headline numbers, scenario against baseline, in two rows: targets and attainment, then reps and cost;
    under each row its note, when the scenario moves targets (why attainment stays, why cost can fall)."""
    row1 = st.columns(4)
    tile(row1[0], t("whatif.kpi.bookings", lang), fmt(MONEY, s["bookings"]), _diff(s["bookings"], s["bookings_base"]),
         MONEY, t("whatif.kpi.bookings_help", lang, base=fmt(MONEY, s["bookings_base"])))
    tile(row1[1], t("whatif.kpi.attainment", lang), fmt(PCT, s["attainment"]),
         _diff(s["attainment"], s["attainment_base"]), PCT,
         t("whatif.kpi.attainment_help", lang, target=fmt(MONEY, s["company_target"]),
           base=fmt(PCT, s["attainment_base"])))
    surplus = None if s["gap"] is None else -s["gap"]
    surplus_base = None if s["gap_base"] is None else -s["gap_base"]
    tile(row1[2], t("whatif.kpi.vs_target", lang), signed(MONEY, surplus), _diff(surplus, surplus_base), MONEY,
         t("whatif.kpi.vs_target_help", lang, target=fmt(MONEY, s["company_target"]),
           base=signed(MONEY, surplus_base)))
    tile(row1[3], t("whatif.kpi.assigned", lang), fmt(MONEY, s["target_total"]),
         _diff(s["target_total"], s["company_target"]), MONEY,
         t("whatif.kpi.assigned_help", lang, target=fmt(MONEY, s["company_target"])), inverse=True)
    attainment_note, cost_note = notes
    if attainment_note:
        st.caption(attainment_note)
    row2 = st.columns(4)
    tile(row2[0], t("whatif.kpi.at_quota", lang), t("whatif.kpi.at_quota_value", lang, n=s["at_quota"],
                                                     of=s["quota_reps"]),
         _diff(s["at_quota"], s["at_quota_base"]), COUNT,
         t("whatif.kpi.at_quota_help", lang, n=s["at_quota_base"], of=s["quota_reps_base"]))
    tile(row2[1], t("whatif.kpi.share_at_quota", lang), fmt(PCT, s["share_at_quota"]),
         _diff(s["share_at_quota"], s["share_at_quota_base"]), PCT,
         t("whatif.kpi.share_at_quota_help", lang, base=fmt(PCT, s["share_at_quota_base"])))
    tile(row2[2], t("whatif.kpi.commission", lang), fmt(MONEY, s["commission"]),
         _diff(s["commission"], s["commission_base"]), MONEY,
         t("whatif.kpi.commission_help", lang, base=fmt(MONEY, s["commission_base"])), inverse=True)
    tile(row2[3], t("whatif.kpi.commission_share", lang), fmt(PCT, s["commission_share"]),
         _diff(s["commission_share"], s["commission_share_base"]), PCT,
         t("whatif.kpi.commission_share_help", lang, base=fmt(PCT, s["commission_share_base"])), inverse=True)
    if cost_note:
        st.caption(cost_note)


def _diff(a: float | None, b: float | None) -> float | None:
    return None if a is None or b is None else a - b


def column_config(cols: list[str]) -> dict:
    """Number formats for result columns, keyed by their translated names."""
    money = {"target", "target_scn", "target_base", "baseline", "projected", "payout_base", "payout"}
    pct = {"attainment_base", "attainment"}
    config = {}
    for c in cols:
        label = scenarios.column_label(c, lang)
        if c in money:
            config[label] = widgets.money_column(label)
        elif c in pct:
            config[label] = st.column_config.NumberColumn(label, format="percent")
    return config


def explain_rep(view: View, carriers: pl.DataFrame) -> None:
    """The payout of one chosen rep, baseline and scenario, step by step."""
    if carriers.height == 0:
        st.info(t("whatif.no_quota_reps", lang))
        return
    ids = carriers["rep_id"].to_list()
    names = dict(carriers.select("rep_id", "rep_name").rows())
    if ss.get("wi_rep") not in ids:
        ss["wi_rep"] = ids[0]
    rep_id = st.selectbox(t("whatif.explain_rep", lang), ids, key="wi_rep", persist_state="page",
                          format_func=lambda r: f"{names[r]} ({r})" if not r.startswith("new:") else names[r])
    explained = whatif_load.explain_rep(view, carriers, rep_id, lang)
    st.caption(t("whatif.explain_plan", lang, role=explained.role, description=explained.description))
    for title, table in explained.steps:
        st.markdown(f"**{title}**")
        if table is None:
            st.info(t("whatif.no_baseline" if explained.new_hire else "whatif.no_target", lang))
            continue
        widgets.dataframe(table, lang,
                     column_config={table.columns[1]: st.column_config.TextColumn(width="large")})


def commission_tab(view: View) -> None:
    """One rep's payout explained, then the plans in use, where another plans file can be uploaded."""
    loaded = whatif_load.load_commission(view, lang)
    explain_rep(view, loaded.carriers)
    with st.expander(t("whatif.plans", lang)):
        st.caption(view.plans_note)
        widgets.dataframe(loaded.plans_table, lang)
        st.file_uploader(t("whatif.plans_upload", lang), type=["toml"], key="wi_plans_file",
                         help=t("whatif.plans_upload_help", lang))
        if ss.get("wi_plans_raw"):
            st.button(t("whatif.plans_reset", lang), key="wi_plans_reset",
                      on_click=lambda: ss.update({"wi_plans_raw": None}))


def compare_tab(view: View, saved: list[scenario_store.Saved]) -> None:
    """Two or three scenarios side by side: outputs with differences, then the inputs that differ."""
    names = [s.name for s in saved if s.error is None]
    if not names:
        st.info(t("whatif.compare_none", lang))
        return
    with_current = st.checkbox(t("whatif.compare_current", lang), key="wi_cmp_cur", value=True, persist_state="page")
    # A fixed limit: changing max_selections would make a new widget and drop the choice.
    chosen = st.multiselect(t("whatif.compare_pick", lang), names, key="wi_cmp", max_selections=3,
                            persist_state="page")
    room = 3 - int(with_current)  # two or three scenarios side by side in all
    if len(chosen) > room:
        st.caption(t("whatif.compare_first_n", lang, n=room))
        chosen = chosen[:room]
    compared = whatif_load.load_compare(ctx, view, chosen, with_current)
    for error in compared.errors:
        st.error(error)
    if compared.outputs is None:
        st.info(t("whatif.compare_pick_more", lang))
        return
    widgets.dataframe(compared.outputs, lang)
    st.markdown(f"**{t('whatif.compare_inputs', lang)}**")
    widgets.dataframe(compared.inputs, lang)


def sync_link(wanted: dict[str, str]) -> str:
    """Write the scenario's p_ parameters into the URL; return the link to share."""
    for key in scenarios.URL_KEYS:
        if key in wanted and st.query_params.get(key) != wanted[key]:
            st.query_params[key] = wanted[key]
        elif key not in wanted and key in st.query_params:
            del st.query_params[key]
    query = urllib.parse.urlencode(dict(st.query_params.items()))
    return f"{st.context.url or ''}?{query}"


def inputs(setup: whatif_load.Setup, labels: dict[str, tuple[str, str]]) -> Choices:
    """The scenario's input widgets, in a box; what they say now."""
    with st.container(border=True):
        c1, c2, c3 = st.columns(3, gap="large")
        with c1:
            target_inputs(setup.target_sets)
        with c2:
            driver_inputs()
        with c3:
            ramp = headcount_inputs()
        e1, e2 = st.columns([3, 2], gap="large")
        with e1:
            overrides = override_inputs(labels)
        with e2:
            new_reps = hire_inputs(setup.quota_teams)
    return Choices(
        name=ss.get("wi_name", ""), target_set=ss.get("wi_tset") or None, target_change_pct=float(ss["wi_tgt"]),
        win_rate_pct=float(ss["wi_win"]), deal_size_pct=float(ss["wi_size"]), cycle_time_pct=float(ss["wi_cycle"]),
        new_reps=new_reps, ramp_pct=ramp or scenarios.DEFAULT_RAMP, include_pipeline=bool(ss["wi_pipe"]),
        plans_upload=plans_upload(), plans_saved=ss.get("wi_plans_raw") or None,
        # The chart's grouping is drawn below the first chart; its last value is in the session already.
        group_by=ss.get("wi_by") or "team", **overrides,
    )


def keep_share(view: View, saved: list[scenario_store.Saved], link: str) -> None:
    """Open a saved scenario, save the one on screen, export it or copy its link."""
    scenario = view.scenario
    with st.container(border=True):
        k1, k2, k3 = st.columns([1.2, 1.4, 1], gap="medium")
        with k1:
            st.markdown(f"**{t('whatif.open', lang)}**")
            good = [x.name for x in saved if x.error is None]
            if good:
                pick = st.selectbox(t("whatif.saved_scenarios", lang), good, key="wi_pick",
                                    label_visibility="collapsed")
                st.button(t("whatif.open_button", lang), key="wi_open", on_click=open_saved, args=(pick,),
                          icon=":material/folder_open:")
            else:
                st.caption(t("whatif.none_saved", lang))
            for bad in (x for x in saved if x.error is not None):
                st.caption(t("whatif.unreadable", lang, name=bad.name, error=bad.error))
        with k2:
            st.markdown(f"**{t('whatif.save', lang)}**")
            st.text_input(t("whatif.name", lang), key="wi_name", placeholder=t("whatif.name_placeholder", lang),
                          label_visibility="collapsed")
            s1, s2 = st.columns([1, 1.4])
            s1.button(t("whatif.save_button", lang), key="wi_save", on_click=save_current, args=(scenario,),
                      type="primary", icon=":material/save:")
            s2.checkbox(t("whatif.overwrite", lang), key="wi_overwrite")
            visibility_choice("wi_visibility", lang)
        with k3:
            st.markdown(f"**{t('whatif.share', lang)}**")
            workbook = f"whatif-{scenario.start}-{scenario.end}.xlsx"
            st.download_button(t("whatif.export_excel", lang),
                               widgets.audited(lambda: whatif_load.excel(view, lang), workbook),
                               file_name=workbook, on_click="ignore",
                               mime="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
                               key="wi_xlsx", icon=":material/download:")
            with st.popover(t("whatif.share_link", lang), icon=":material/link:"):
                st.caption(t("whatif.share_help", lang))
                st.code(link, language=None, wrap_lines=True)


def result_tabs(view: View, saved: list[scenario_store.Saved]) -> None:
    """The detail tabs; only the open tab runs (on_change="rerun"), so a slider move recomputes what is shown."""
    tab_reps, tab_groups, tab_comm, tab_cmp, tab_method = st.tabs([
        t("whatif.tab.reps", lang), t("whatif.tab.groups", lang), t("whatif.tab.commission", lang),
        t("whatif.tab.compare", lang), t("whatif.tab.method", lang),
    ], key="wi_tab", on_change="rerun")
    if tab_reps.open:
        with tab_reps:
            widgets.dataframe(whatif_load.load_reps(view, lang), lang,
                         column_config=column_config(scenarios.REP_COLS))
    if tab_groups.open:
        with tab_groups:
            for level, cols, table in whatif_load.load_groups(view, lang):
                st.markdown(f"**{t(f'whatif.by_{level}', lang)}**")
                widgets.dataframe(table, lang, column_config=column_config(cols))
    if tab_comm.open:
        with tab_comm:
            commission_tab(view)
    if tab_cmp.open:
        with tab_cmp:
            compare_tab(view, saved)
    if tab_method.open:
        with tab_method:
            st.markdown(t("whatif.method", lang))


# ---------------------------------------------------------------- the page

st.title(t("whatif.title", lang))
if f.start is None or f.end is None:
    st.info(t("whatif.need_period", lang))
    st.stop()

if flash := ss.pop("wi_flash", None):
    (st.success if flash[0] == "success" else st.error)(flash[1])

setup = whatif_load.load_setup(ctx)
if setup is None:
    st.info(t("whatif.no_reps", lang, start=i18n.day(f.start, lang), end=i18n.day(f.end, lang)))
    st.stop()
labels = option_labels(setup.base)
ss["wi_labels"] = labels
restore_inputs(labels)
if ss.get("wi_tset") and ss["wi_tset"] not in setup.target_sets:
    st.warning(t("whatif.no_target_set", lang, name=ss["wi_tset"]))
    ss["wi_tset"] = ""

if setup.no_targets:
    st.info(t("whatif.no_targets", lang))
st.caption(t("whatif.caption", lang, start=i18n.day(f.start, lang), end=i18n.day(f.end, lang),
             snapshot=ctx.snapshot.id))

view = whatif_load.load(ctx, inputs(setup, labels))
if view.upload_error:
    st.error(view.upload_error)
    ss["wi_plans_upload"] = None  # said once; the plans in use without it are shown
if view.scenario is None:  # the plans file cannot be read
    st.error(view.error)
    st.stop()
ss["wi_last"] = replace(view.scenario, plans=None)
if view.result is None:  # the scenario's inputs are refused
    st.error(view.error)
    st.stop()
link = sync_link(view.query)
for note in view.warnings:
    st.warning(note)

st.caption(view.baseline_note)
tiles(view.result.summary, whatif_load.target_notes(view, lang))

left, right = st.columns(2)
left.plotly_chart(view.histogram, width="stretch", key="wi_hist")
right.segmented_control(t("whatif.group_by", lang), ["team", "region"], key="wi_by", default="team",
                        format_func=lambda g: t(f"whatif.level.{g}", lang))
right.plotly_chart(view.groups_chart, width="stretch", key="wi_groups")

saved = scenario_store.list_saved(ctx.data_dir, who=ctx.grant)
keep_share(view, saved, link)
result_tabs(view, saved)
