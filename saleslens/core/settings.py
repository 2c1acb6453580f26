"""Settings: one table of (name, default, help), each overridable by an environment variable."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class Setting:
    """One setting: its name, default, and a line of help."""

    name: str
    default: str
    help: str

    @property
    def env(self) -> str:
        """The environment variable that overrides it."""
        return "SALESLENS_" + self.name.upper()


SETTINGS: tuple[Setting, ...] = (
    Setting("data", "./data", "Data directory holding snapshots, events and saved work."),
    Setting("demo_size", "S", "Demo size built on first start when the data directory is empty (S, M or L)."),
    Setting("demo_seed", "7", "Random seed of the demo generator; same seed and as-of date, same data."),
    Setting("demo_as_of", "", "Last day of the demo data (YYYY-MM-DD); empty means today."),
    Setting("auto_demo", "1", "Build the demo on first start when there is no snapshot (1) or not (0)."),
    Setting("local_user", "admin", "Local mode (no OIDC in secrets): the users.toml login signed in at first."),
    Setting("language", "en", "Default language of the app: en or zh."),
    Setting("currency", "$", "Currency symbol used when formatting money."),
    Setting("cache_entries", "512", "Query results kept in memory per process."),
    Setting("duckdb_threads", "2", "Threads DuckDB may use per query."),
    Setting("duckdb_memory_limit", "4GB", "Memory DuckDB may use before spilling to disk."),
    Setting("import_max_mb", "200", "Largest file (in MB) an import accepts; bigger files are refused before reading."),
    Setting("import_max_rows", "2000000", "Most data rows an import accepts per file or sheet."),
    Setting("import_max_columns", "2000",
            "Most columns an import accepts per file or sheet; checked on the header before reading."),
    Setting("import_max_cells", "100000000",
            "Most cells (data rows times columns) an import accepts per file or sheet."),
    Setting("import_max_unzipped_mb", "1000",
            "Largest unpacked size (in MB) of an Excel workbook, checked before opening it."),
    Setting("import_memory_mb", "4096",
            "Memory (MB of address space) the process reading import files may use; a file needing more is refused."),
    Setting("import_read_seconds", "900",
            "Longest time (in seconds) reading an import's files may take before it is stopped."),
    Setting("database_url", "", "Database of saved work (ratings, target sets, scorecards, scenarios, users, audit "
            "log): empty means a SQLite file in the data directory; a postgresql:// URL uses PostgreSQL."),
    Setting("runner_cache_mb", "1024", "Memory (MB) the open snapshot x scope runners may hold (databases and "
            "cached results); beyond it the least recently used idle ones are closed, and reopen when used again."),
)
_BY_NAME = {s.name: s for s in SETTINGS}


def get(name: str, environ: dict[str, str] | None = None) -> str:
    """The value of a setting: its environment variable if set, else its default."""
    setting = _BY_NAME[name]
    env = os.environ if environ is None else environ
    value = env.get(setting.env, "")
    return value if value != "" else setting.default


def data_dir(cli_value: str | None = None) -> Path:
    """The data directory: --data, else SALESLENS_DATA, else ./data."""
    return Path(cli_value or get("data")).expanduser().resolve()


def markdown() -> str:
    """The settings as a Markdown table for the README."""
    rows = ["| setting | environment variable | default | what it does |", "| --- | --- | --- | --- |"]
    rows += [f"| {s.name} | `{s.env}` | `{s.default}` | {s.help} |" for s in SETTINGS]
    return "\n".join(rows)
