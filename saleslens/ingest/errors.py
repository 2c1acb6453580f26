"""Problems found while importing, each tied to a file, row and column where there is one."""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from saleslens.core.i18n import t

# How many problems an error message lists before it says "and N more".
SHOWN = 10


@dataclass(frozen=True)
class Problem:
    """One thing wrong with the input: a message key and its values, and where it was found."""

    code: str
    values: dict = field(default_factory=dict, hash=False, compare=False)
    file: str | None = None
    row: int | None = None
    column: str | None = None
    table: str | None = None

    def where(self, lang: str = "en") -> str:
        """'deals.csv, row 5, column Amount' (as much of it as is known)."""
        parts = []
        if self.file:
            parts.append(t("ingest.where.file", lang, file=self.file))
        if self.row is not None:
            parts.append(t("ingest.where.row", lang, row=self.row))
        if self.column:
            parts.append(t("ingest.where.column", lang, column=self.column))
        return t("ingest.where.sep", lang).join(parts)

    def message(self, lang: str = "en") -> str:
        """The problem itself, without the place."""
        return t(f"ingest.problem.{self.code}", lang, **self.values)

    def text(self, lang: str = "en") -> str:
        """Place and problem in one line."""
        where = self.where(lang)
        return f"{where}: {self.message(lang)}" if where else self.message(lang)

    def __str__(self) -> str:
        return self.text("en")

    def to_dict(self) -> dict:
        """A JSON-ready form for the import report."""
        return {
            "code": self.code, "file": self.file, "row": self.row, "column": self.column,
            "table": self.table, "values": {k: str(v) for k, v in self.values.items()}, "message": self.message("en"),
        }


class MappingError(ValueError):
    """A mapping file that cannot be used, told in one line."""


class ImportFailed(ValueError):
    """The import found problems and published nothing; the message lists the first of them."""

    def __init__(self, problems: list[Problem], report: dict | None = None) -> None:
        self.problems = problems
        self.report = report or {}
        super().__init__(self.text("en"))

    def text(self, lang: str = "en") -> str:
        """A headline and the first problems, one per line."""
        lines = [t("ingest.failed", lang, count=len(self.problems))]
        lines += [f"  - {p.text(lang)}" for p in self.problems[:SHOWN]]
        if len(self.problems) > SHOWN:
            lines.append("  " + t("ingest.more_problems", lang, count=len(self.problems) - SHOWN))
        return "\n".join(lines)


# store.ImportBusy's message names the lock's holder as the holder wrote it: "process 123, since 2026-06-30 09:15".
_HOLDER = re.compile(r"\(process (?P<pid>\d+), since (?P<since>[^)]*?)(?: UTC)?\)")


def busy_text(exc: Exception, lang: str = "en") -> str:
    """store.ImportBusy in the viewer's language: another import holds the data directory (who, since when), and
    what to do. The store writes its message in English; its logic stays as it is."""
    found = _HOLDER.search(getattr(exc, "message", str(exc)))
    if found is None:
        return t("ingest.busy.plain", lang)
    return t("ingest.busy.holder", lang, pid=found["pid"], since=found["since"])
