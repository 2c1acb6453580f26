"""Settings: one table of (name, default, help), each overridable by an environment variable."""

from __future__ import annotations

import os
import tomllib
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


# The table itself is data: saleslens/core/settings.toml, one [name] with its default and help, in order.
SETTINGS: tuple[Setting, ...] = tuple(
    Setting(name, row["default"], row["help"])
    for name, row in tomllib.loads((Path(__file__).parent / "settings.toml").read_text(encoding="utf-8")).items()
)
_BY_NAME = {s.name: s for s in SETTINGS}


def get(name: str, environ: dict[str, str] | None = None) -> str:
    """The value of a setting: its environment variable if set, else its default."""
    setting = _BY_NAME[name]
    env = os.environ if environ is None else environ
    value = env.get(setting.env, "")
    return value if value != "" else setting.default


def data_dir(cli_value: str | None = None) -> Path:
    """The data directory: --data, else SALESLENS_DATA, else ./data; for an s3:// URL, the store's local mirror."""
    value = cli_value or get("data")
    if value.startswith("s3://"):
        from saleslens.core import objectstore  # only deployments on object storage need it

        return objectstore.attach(value)
    return Path(value).expanduser().resolve()


def markdown() -> str:
    """The settings as a Markdown table for the README."""
    rows = ["| setting | environment variable | default | what it does |", "| --- | --- | --- | --- |"]
    rows += [f"| {s.name} | `{s.env}` | `{s.default}` | {s.help} |" for s in SETTINGS]
    return "\n".join(rows)
