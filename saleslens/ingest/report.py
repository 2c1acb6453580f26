"""The import report: what was read, accepted, rejected, normalised, left unlinked, and what changed.

The report is a JSON-ready dict stored in the snapshot manifest (import_report). The functions at the
end turn it into small tables and text for the app and the CLI, in the viewer's language.
"""

from __future__ import annotations

from datetime import UTC, date, datetime

import polars as pl

from saleslens.core import schema, store
from saleslens.core.i18n import t
from saleslens.ingest.errors import Problem
from saleslens.ingest.mapping import Mapping

REPORT_VERSION = 1


def source_rows(runs: list, book) -> list[dict]:
    """Per mapping source: which file, how many rows read, accepted, rejected, merged and skipped."""
    out = []
    for run in runs:
        rejected = len(book.rejected.get(run.index, ()))
        out.append({
            "table": run.spec.table, "file": run.label or run.spec.label, "found": run.raw is not None,
            "read": run.read, "accepted": run.accepted, "rejected": rejected, "merged": run.merged,
            "skipped": run.skipped, "columns": dict(run.columns),
        })
    return out


def rows_read(report: dict) -> int:
    """Rows read from the files, each file counted once however many tables it feeds."""
    per_file: dict[str, int] = {}
    for s in report.get("sources", []):
        per_file[s["file"]] = max(per_file.get(s["file"], 0), s["read"])
    return sum(per_file.values())


def unread_columns(runs: list) -> list[dict]:
    """Per file, the columns no mapping source reads (the file may hold data the mapping leaves behind)."""
    used: dict[str, set[str]] = {}
    columns: dict[str, list[str]] = {}
    for run in runs:
        if run.raw is None:
            continue
        columns.setdefault(run.raw.label, run.raw.columns)
        used.setdefault(run.raw.label, set()).update(run.used)
    out = []
    for label, cols in columns.items():
        unread = [c for c in cols if c not in used[label] and c.strip()]
        if unread:
            out.append({"file": label, "columns": unread})
    return out


def reasons_dicts(book) -> list[dict]:
    """Rejection reasons with counts and first examples, largest first."""
    out = []
    for r in sorted(book.reasons.values(), key=lambda r: -r.count):
        out.append({
            "table": r.table, "file": r.file, "code": r.code, "column": r.column, "count": r.count,
            "examples": [p.to_dict() for p in r.examples],
        })
    return out


def build_report(mapping: Mapping, as_of: date, runs: list, book, tables: dict[str, pl.DataFrame],
                 events: dict[str, pl.DataFrame], source_label: str, seconds: float, max_rejected: int) -> dict:
    """The report of a checked import (the diff against the previous snapshot is added when it is known)."""
    files, seen = [], set()
    for run in runs:
        if run.raw is not None and run.raw.label not in seen:
            seen.add(run.raw.label)
            files.append(run.raw.describe())
    present = set(tables) | {t for t, f in events.items() if f.height}
    return {
        "version": REPORT_VERSION,
        "mapping": mapping.name,
        "mapping_description": mapping.description,
        "source": source_label,
        "as_of": as_of.isoformat(),
        "as_of_rule": mapping.as_of,
        "checked_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "seconds": round(seconds, 2),
        "max_rejected": max_rejected,
        "files": files,
        "sources": source_rows(runs, book),
        "unread_columns": unread_columns(runs),
        "tables": {name: frame.height for name, frame in {**tables, **events}.items()},
        "missing_tables": [name for name in schema.TABLES if name not in present],
        "rejected": reasons_dicts(book),
        "normalised": [
            {"table": tb, "field": f, "from": a, "to": b, "count": n}
            for (tb, f, a, b), n in sorted(book.normalised.items(), key=lambda kv: -kv[1])
        ],
        "derived": book.derived,
        "unlinked": book.unlinked,
        "warnings": [p.to_dict() for p in book.warnings],
        "stages": [s.name for s in mapping.stages],
        "diff": {},
    }


# ----------------------------------------------------------------------------- difference from before


def _filled_fields(tables: dict[str, pl.DataFrame]) -> dict[str, list[str]]:
    """Per table, the fields that have at least one value."""
    return {name: [c for c in f.columns if f[c].null_count() < f.height] for name, f in tables.items() if f.height}


def _previous_filled(snap: store.Snapshot) -> dict[str, list[str]]:
    out = {}
    for name in schema.SNAPSHOT_TABLES:
        path = snap.table_path(name)
        if path is None:
            continue
        try:
            counts = pl.scan_parquet(path, glob=False).select(pl.len().alias("__n"), pl.all().null_count()).collect()
        except Exception:  # a damaged earlier snapshot must not stop a new import
            continue
        n = counts["__n"][0]
        if n:
            out[name] = [c for c in counts.columns if c != "__n" and counts[c][0] < n]
    return out


def diff(report: dict, tables: dict[str, pl.DataFrame], previous: store.Snapshot | None,
         event_counts: dict[str, int] | None = None) -> dict:
    """Differences from the previous snapshot: schema, row counts per table, the stage list.

    History rows are counted as the new snapshot will see them (event_counts, from the event store after
    the import's history is merged) when known, else as the rows this import brings.
    """
    if previous is None:
        return {"previous": None}
    before_counts = {**previous.manifest.get("row_counts", {}), **previous.manifest.get("events", {})}
    after_counts = {**report["tables"], **(event_counts or {})}
    before_tables = {k for k, v in before_counts.items() if v}
    after_tables = {k for k, v in after_counts.items() if v}
    before_fields = _previous_filled(previous)
    after_fields = _filled_fields(tables)
    gained, lost = [], []
    for name in sorted(set(before_fields) | set(after_fields)):
        b, a = set(before_fields.get(name, [])), set(after_fields.get(name, []))
        gained += [f"{name}.{c}" for c in sorted(a - b)] if name in before_fields else []
        lost += [f"{name}.{c}" for c in sorted(b - a)] if name in after_fields else []
    stages_before = previous.manifest.get("stages", [])
    stages_after = report["stages"]
    common = [s for s in stages_before if s in stages_after]
    return {
        "previous": previous.id,
        "previous_as_of": previous.manifest.get("as_of"),
        "previous_source": previous.manifest.get("source", ""),
        "same_source": previous.manifest.get("source", "") == f"import:{report['mapping']}",
        "schema_version": [previous.manifest.get("schema_version"), schema.SCHEMA_VERSION],
        "tables_added": sorted(after_tables - before_tables),
        "tables_removed": sorted(before_tables - after_tables),
        "fields_filled": gained,
        "fields_emptied": lost,
        "row_counts": [
            {"table": name, "before": before_counts.get(name, 0), "after": after_counts.get(name, 0)}
            for name in schema.TABLES
            if before_counts.get(name, 0) or after_counts.get(name, 0)
        ],
        "stages_added": [s for s in stages_after if s not in stages_before],
        "stages_removed": [s for s in stages_before if s not in stages_after],
        "stage_order_changed": common != [s for s in stages_after if s in stages_before],
    }


# ----------------------------------------------------------------------------- rendering


def _problem(d: dict) -> Problem:
    return Problem(d["code"], d.get("values", {}), d.get("file"), d.get("row"), d.get("column"), d.get("table"))


def reason_text(reason: dict, lang: str) -> str:
    """A rejection reason in words, from its first example."""
    if reason.get("examples"):
        return _problem(reason["examples"][0]).message(lang)
    return reason["code"]


def derived_text(item: dict, lang: str) -> str:
    """What was filled in, in words."""
    return t(f"ingest.derived.{item['rule']}", lang, **item.get("values", {}))


def frames(report: dict, lang: str = "en") -> dict[str, pl.DataFrame]:
    """The report as small tables with translated headers: sources, rejected, normalised, derived, unlinked,
    warnings, diff."""
    h = lambda key: t(f"ingest.col.{key}", lang)  # noqa: E731 - a short local alias keeps the tables readable
    out: dict[str, pl.DataFrame] = {}
    out["sources"] = pl.DataFrame(
        [{h("table"): s["table"], h("file"): s["file"], h("read"): s["read"], h("accepted"): s["accepted"],
          h("rejected"): s["rejected"], h("merged"): s["merged"] + s.get("skipped", 0)}
         for s in report.get("sources", [])],
        schema={h("table"): pl.String, h("file"): pl.String, h("read"): pl.Int64, h("accepted"): pl.Int64,
                h("rejected"): pl.Int64, h("merged"): pl.Int64},
    )
    out["rejected"] = pl.DataFrame(
        [{h("table"): r["table"], h("file"): r["file"], h("column"): r.get("column") or "",
          h("count"): r["count"], h("reason"): reason_text(r, lang),
          h("rows"): ", ".join(str(e["row"]) for e in r.get("examples", []) if e.get("row") is not None)}
         for r in report.get("rejected", [])],
        schema={h("table"): pl.String, h("file"): pl.String, h("column"): pl.String, h("count"): pl.Int64,
                h("reason"): pl.String, h("rows"): pl.String},
    )
    out["normalised"] = pl.DataFrame(
        [{h("field"): f"{n['table']}.{n['field']}", h("from"): n["from"], h("to"): n["to"], h("count"): n["count"]}
         for n in report.get("normalised", [])],
        schema={h("field"): pl.String, h("from"): pl.String, h("to"): pl.String, h("count"): pl.Int64},
    )
    out["derived"] = pl.DataFrame(
        [{h("field"): f"{d['table']}.{d['field']}", h("file"): d.get("file") or "",
          h("rule"): derived_text(d, lang), h("count"): d["count"]} for d in report.get("derived", [])],
        schema={h("field"): pl.String, h("file"): pl.String, h("rule"): pl.String, h("count"): pl.Int64},
    )
    out["unlinked"] = pl.DataFrame(
        [{h("relation"): u["relation"], h("linked"): u["linked"], h("not_found"): u["rows"],
          h("empty"): u["empty"], h("policy"): t(f"ingest.policy.{u['policy']}", lang),
          h("examples"): ", ".join(f"{e['value']} ({e['rows']})" for e in u.get("examples", []))}
         for u in report.get("unlinked", [])],
        schema={h("relation"): pl.String, h("linked"): pl.Int64, h("not_found"): pl.Int64, h("empty"): pl.Int64,
                h("policy"): pl.String, h("examples"): pl.String},
    )
    out["warnings"] = pl.DataFrame(
        {h("warning"): [_problem(w).text(lang) for w in report.get("warnings", [])]}, schema={h("warning"): pl.String}
    )
    d = report.get("diff") or {}
    out["row_counts"] = pl.DataFrame(
        [{h("table"): r["table"], h("before"): r["before"], h("after"): r["after"],
          h("change"): r["after"] - r["before"]} for r in d.get("row_counts", [])],
        schema={h("table"): pl.String, h("before"): pl.Int64, h("after"): pl.Int64, h("change"): pl.Int64},
    )
    return out


def diff_lines(report: dict, lang: str = "en") -> list[str]:
    """The differences from the previous snapshot as sentences (schema and stage list)."""
    d = report.get("diff") or {}
    if not d.get("previous"):
        return [t("ingest.diff.first", lang)]
    lines = [t("ingest.diff.against", lang, snapshot=d["previous"], source=d.get("previous_source", ""))]
    if not d.get("same_source", True):
        lines.append(t("ingest.diff.other_source", lang, source=d.get("previous_source", "")))
    checks = (("tables_added", "ingest.diff.tables_added"), ("tables_removed", "ingest.diff.tables_removed"),
              ("fields_filled", "ingest.diff.fields_filled"), ("fields_emptied", "ingest.diff.fields_emptied"),
              ("stages_added", "ingest.diff.stages_added"), ("stages_removed", "ingest.diff.stages_removed"))
    for key, text_key in checks:
        if d.get(key):
            lines.append(t(text_key, lang, items=", ".join(d[key])))
    if d.get("stage_order_changed"):
        lines.append(t("ingest.diff.stage_order", lang))
    version = d.get("schema_version") or [None, None]
    if version[0] != version[1]:
        lines.append(t("ingest.diff.schema_version", lang, before=version[0], after=version[1]))
    if len(lines) == 1 + (not d.get("same_source", True)):
        lines.append(t("ingest.diff.same_shape", lang))
    return lines


def export_lines(report: dict, lang: str = "en") -> list[str]:
    """What an adapter did to the export (deleted rows, empty ids, dates filled...), one sentence each."""
    out = []
    for note in report.get("export", []):
        line = t(f"ingest.export.{note['code']}", lang, count=note["count"], **note.get("values", {}))
        out.append(f"{note['file']}: {line}" if note.get("file") else line)
    return out


def currency_lines(report: dict, lang: str = "en") -> list[str]:
    """The reporting currency, how many deals were converted, and the deals per currency."""
    money = report.get("currency")
    if not money:
        return []
    source = (money.get("rates") or {}).get("source") or "-"
    lines = [t("ingest.currency.reporting", lang, reporting=money.get("reporting") or "?",
               converted=money.get("converted", 0), kept=money.get("kept_from_crm", 0), source=source)]
    per = money.get("deals_per_currency") or {}
    if per:
        lines.append(t("ingest.currency.deals", lang, items=", ".join(f"{c} {n}" for c, n in per.items())))
    return lines


def history_lines(report: dict, lang: str = "en") -> list[str]:
    """How many stage changes were inferred against the previous snapshot (an export without stage history)."""
    found = report.get("inferred")
    if not found:
        return []
    key = "ingest.history.inferred" if found.get("count") else "ingest.history.none_inferred"
    return [t(key, lang, count=found.get("count", 0), previous=found.get("previous", ""),
              previous_as_of=found.get("previous_as_of", ""), middle=found.get("middle", ""))]


def text(report: dict, lang: str = "en") -> str:
    """The whole report as plain text for the terminal."""
    parts = [t("ingest.report.title", lang, mapping=report.get("mapping", ""), as_of=report.get("as_of", ""))]
    for f in report.get("files", []):
        parts.append("  " + t("ingest.report.file", lang, file=f["file"], rows=f["rows"],
                                encoding=f.get("encoding") or "-", delimiter=f.get("delimiter") or "-"))
    for key, lines in (("ingest.section.export", export_lines(report, lang)),
                       ("ingest.section.currency", currency_lines(report, lang)),
                       ("ingest.section.history", history_lines(report, lang))):
        if lines:
            parts += ["", t(key, lang)] + ["  " + line for line in lines]
    tables = frames(report, lang)
    titles = (("sources", "ingest.section.sources"), ("rejected", "ingest.section.rejected"),
              ("normalised", "ingest.section.normalised"), ("derived", "ingest.section.derived"),
              ("unlinked", "ingest.section.unlinked"), ("warnings", "ingest.section.warnings"),
              ("row_counts", "ingest.section.row_counts"))
    with pl.Config(tbl_rows=40, tbl_cols=-1, tbl_width_chars=400, fmt_str_lengths=200, tbl_hide_dataframe_shape=True,
                   tbl_hide_column_data_types=True, tbl_formatting="ASCII_MARKDOWN"):
        for key, title in titles:
            frame = tables[key]
            if frame.height:
                parts += ["", t(title, lang), str(frame.head(40))]
    for item in report.get("unread_columns", []):
        parts += ["", t("ingest.report.unread_columns", lang, file=item["file"], count=len(item["columns"]),
                        columns=", ".join(item["columns"]))]
    if report.get("missing_tables"):
        parts += ["", t("ingest.report.missing_tables", lang, tables=", ".join(report["missing_tables"]))]
    parts += ["", t("ingest.section.diff", lang)] + ["  " + line for line in diff_lines(report, lang)]
    return "\n".join(parts)
