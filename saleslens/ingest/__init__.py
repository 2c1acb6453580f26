"""Bring your own CRM data: read exports, map them to the canonical schema, check, report, publish.

    files = readers.files_from_path(Path("exports/"))
    prepared = build.prepare(files, mapping.load("salesforce"))   # raises ImportFailed, writes nothing
    snap = publish.publish(prepared, data_dir)                       # atomic

`run_import` does both. See docs/MAPPING.md for the mapping file format.
"""

from __future__ import annotations

import importlib
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING

from saleslens.ingest.errors import ImportFailed, MappingError, Problem

if TYPE_CHECKING:
    from saleslens.core import store
    from saleslens.ingest import build, mapping, publish, readers, report

__all__ = ["ImportFailed", "MappingError", "Problem", "build", "mapping", "publish", "readers", "report", "run_import"]
_SUBMODULES = {"build", "mapping", "publish", "readers", "report"}


def __getattr__(name: str) -> object:
    """The submodules on first use: the import sandbox's child starts a fresh interpreter for every file and needs only
    readers, so importing the store, DuckDB and the build here first would double its start (about 0.5 s a file)."""
    if name in _SUBMODULES:
        return importlib.import_module(f"{__name__}.{name}")
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def run_import(
    source: Path | list[readers.SourceFile],
    mapping_ref: str | mapping.Mapping,
    data_dir: Path,
    as_of: date | None = None,
    max_rejected: int = 0,
    progress: build.Progress | None = None,
) -> store.Snapshot:
    """Import a folder, a file or uploaded files with a mapping, and publish the snapshot."""
    from saleslens.ingest import build, mapping, publish, readers

    if isinstance(source, list):
        files, label = source, ", ".join(f.name for f in source)
    else:
        try:
            files = readers.files_from_path(source)
        except readers.ReadError as exc:
            raise ImportFailed([exc.problem]) from None
        label = str(source)
    chosen = mapping_ref if isinstance(mapping_ref, mapping.Mapping) else mapping.load(mapping_ref)
    prepared = build.prepare(files, chosen, as_of=as_of, max_rejected=max_rejected, progress=progress,
                             source_label=label)
    return publish.publish(prepared, data_dir, progress)
