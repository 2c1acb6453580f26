"""Commission plans per role: load and check the config file, compute payouts, explain them step by step.

The format is documented in docs/COMMISSION.md and in config/commission_plans.toml itself. In short:

- bookings up to 100% of target earn the base rate;
- a rep who ends below the decelerator threshold earns the decelerated rate (base rate x
  decelerator multiplier) on ALL bookings, so on-target commission is exactly base rate x target;
- bookings above 100% earn accelerated rates, tier by tier (marginal, like tax brackets);
- the payout is capped at `cap_multiple` times the on-target commission.
"""

from __future__ import annotations

import math
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import polars as pl

from saleslens.core import i18n, schema
from saleslens.core.i18n import t
from saleslens.whatif.errors import FieldError

FORMAT_VERSION = 1
PLANS_FILE = "commission_plans.toml"
DEFAULT_PATH = Path(__file__).resolve().parents[2] / "config" / PLANS_FILE
_PLAN_KEYS = {
    "description", "base_rate_pct", "decelerator_below_pct", "decelerator_multiplier", "cap_multiple", "tiers",
}
_TIER_KEYS = {"from_pct", "to_pct", "multiplier"}


class CommissionError(FieldError):
    """A commission plan or payout input that cannot be used; names the field at fault."""


@dataclass(frozen=True)
class Tier:
    """An accelerator band of attainment (fractions: 1.0 = 100%); `end` None means no upper end."""

    start: float
    end: float | None
    multiplier: float


@dataclass(frozen=True)
class Step:
    """One line of a payout explanation; amounts in money, rates and attainments as fractions."""

    kind: str  # attainment, decelerator, base, tier, cap, total
    band_from: float | None = None  # attainment where the band starts
    band_to: float | None = None  # attainment where it ends (None: open)
    bookings: float | None = None  # bookings paid in this band
    rate: float | None = None  # commission rate applied to them
    amount: float | None = None  # money this step pays (or the cap, or the total)
    multiplier: float | None = None
    tier: int | None = None  # 1-based tier number
    reached: bool | None = None  # for the cap: whether it cut the payout


@dataclass(frozen=True)
class Plan:
    """The commission plan of one role."""

    role: str
    base_rate: float
    decelerator_below: float = 0.0
    decelerator_multiplier: float = 1.0
    cap_multiple: float | None = None
    tiers: tuple[Tier, ...] = (Tier(1.0, None, 1.0),)
    description: str = ""

    def payout(self, bookings: float | None, target: float | None) -> float | None:
        """The payout for bookings against a target; None when there is no usable target."""
        steps = self.explain(bookings, target)
        return steps[-1].amount if steps else None

    def explain(self, bookings: float | None, target: float | None) -> list[Step]:
        """The payout worked out step by step; the last step is the total. Empty without a target.

        Missing bookings count as none booked, as in payout_expr.
        """
        if target is None or _nan(target) or target <= 0:
            return []
        b = 0.0 if bookings is None or _nan(bookings) else max(float(bookings), 0.0)
        tg, r = float(target), self.base_rate
        att = b / tg
        steps = [Step("attainment", bookings=b, amount=tg, band_from=att)]
        if att < self.decelerator_below:
            rate = r * self.decelerator_multiplier
            steps.append(Step("decelerator", 0.0, self.decelerator_below, b, rate, b * rate,
                              self.decelerator_multiplier))
        else:
            base_part = min(b, tg)
            steps.append(Step("base", 0.0, 1.0, base_part, r, base_part * r, 1.0))
            for n, tier in enumerate(self.tiers, start=1):
                top = b if tier.end is None else min(b, tg * tier.end)
                in_band = top - tg * tier.start
                if in_band <= 0:
                    break
                rate = r * tier.multiplier
                steps.append(Step("tier", tier.start, tier.end, in_band, rate, in_band * rate, tier.multiplier, n))
        total = sum(s.amount for s in steps[1:])
        if self.cap_multiple is not None:
            cap = self.cap_multiple * r * tg
            steps.append(Step("cap", amount=cap, multiplier=self.cap_multiple, reached=total > cap))
            total = min(total, cap)
        steps.append(Step("total", amount=total))
        return steps

    def payout_expr(self, bookings: pl.Expr, target: pl.Expr) -> pl.Expr:
        """The same payout as `payout`, as a Polars expression over columns (null without a target)."""
        r = self.base_rate
        b = pl.max_horizontal(bookings, pl.lit(0.0))
        pay = pl.min_horizontal(b, target) * r
        for tier in self.tiers:
            top = b if tier.end is None else pl.min_horizontal(b, target * tier.end)
            pay = pay + pl.max_horizontal(top - target * tier.start, pl.lit(0.0)) * (r * tier.multiplier)
        pay = pl.when(b < target * self.decelerator_below).then(b * (r * self.decelerator_multiplier)).otherwise(pay)
        if self.cap_multiple is not None:
            pay = pl.min_horizontal(pay, target * (self.cap_multiple * r))
        return pl.when(target.is_not_null() & (target > 0)).then(pay).otherwise(None)


@dataclass(frozen=True)
class Plans:
    """All plans of a config file, by role, and where they came from."""

    plans: Mapping[str, Plan]
    source: str
    raw: Mapping[str, object]

    def plan(self, role: str | None) -> Plan:
        """The plan of a role, or a CommissionError naming the role and the roles that have plans."""
        if role not in self.plans:
            raise CommissionError(
                "role", f"'{role}' has no commission plan in {self.source} (plans exist for "
                f"{', '.join(sorted(self.plans))}); add a [plans.{role}] table"
            )
        return self.plans[role]


def _nan(value: float) -> bool:
    return isinstance(value, float) and math.isnan(value)


def _number(table: Mapping, key: str, where: str, default: float | None = None) -> float | None:
    """A numeric field of a plan, or a CommissionError naming it."""
    if key not in table:
        if default is None:
            raise CommissionError(f"{where}.{key}", "is missing")
        return default
    value = table[key]
    if isinstance(value, bool) or not isinstance(value, int | float) or _nan(float(value)):
        raise CommissionError(f"{where}.{key}", f"must be a number, got {value!r}")
    return float(value)


def _tiers(raw: object, where: str) -> tuple[Tier, ...]:
    """Accelerator tiers: from 100% up, each starting where the last ended, the last one open."""
    if raw is None:
        return (Tier(1.0, None, 1.0),)
    if not isinstance(raw, list) or not all(isinstance(x, dict) for x in raw):
        raise CommissionError(f"{where}.tiers", "must be a list of tables ([[plans.ROLE.tiers]])")
    if not raw:
        return (Tier(1.0, None, 1.0),)
    tiers = []
    expected = 100.0
    for n, tier in enumerate(raw):
        here = f"{where}.tiers[{n + 1}]"
        unknown = set(tier) - _TIER_KEYS
        if unknown:
            raise CommissionError(here, f"unknown key(s) {', '.join(sorted(unknown))} (known: from_pct, to_pct, "
                                        "multiplier)")
        start = _number(tier, "from_pct", here)
        end = _number(tier, "to_pct", here, default=math.inf)
        mult = _number(tier, "multiplier", here)
        if start > expected:
            raise CommissionError(f"{here}.from_pct", f"leaves a gap: attainment from {expected:g}% to {start:g}% "
                                                      "has no tier")
        if start < expected:
            what = "must start at 100% (accelerators apply above target)" if n == 0 else (
                f"overlaps the tier before, which runs to {expected:g}%")
            raise CommissionError(f"{here}.from_pct", f"{start:g}% {what}")
        if end <= start:
            raise CommissionError(f"{here}.to_pct", f"{end:g}% must be above from_pct {start:g}%")
        if mult <= 0:
            raise CommissionError(f"{here}.multiplier", f"must be above 0, got {mult:g}")
        tiers.append(Tier(start / 100, None if math.isinf(end) else end / 100, mult))
        expected = end
    if not math.isinf(expected):
        raise CommissionError(f"{where}.tiers[{len(raw)}].to_pct",
                              f"leaves a gap above {expected:g}%: leave to_pct out of the last tier so every "
                              "attainment has a rate")
    return tuple(tiers)


def parse_plan(role: str, table: object, where: str) -> Plan:
    """One role's plan from its config table, checked field by field."""
    if role not in schema.ROLES:
        raise CommissionError(where, f"unknown role '{role}' (roles: {', '.join(schema.ROLES)})")
    if not isinstance(table, dict):
        raise CommissionError(where, "must be a table of plan settings")
    unknown = set(table) - _PLAN_KEYS
    if unknown:
        raise CommissionError(where, f"unknown key(s) {', '.join(sorted(unknown))} "
                                     f"(known: {', '.join(sorted(_PLAN_KEYS))})")
    base = _number(table, "base_rate_pct", where)
    if not 0 < base <= 100:
        raise CommissionError(f"{where}.base_rate_pct", f"must be above 0 and at most 100, got {base:g}")
    below = _number(table, "decelerator_below_pct", where, default=0.0)
    if not 0 <= below <= 100:
        raise CommissionError(f"{where}.decelerator_below_pct", f"must be between 0 and 100, got {below:g}")
    dmult = _number(table, "decelerator_multiplier", where, default=1.0)
    if not 0 <= dmult <= 1:
        raise CommissionError(f"{where}.decelerator_multiplier", f"must be between 0 and 1, got {dmult:g}")
    cap = None
    if "cap_multiple" in table:
        cap = _number(table, "cap_multiple", where)
        if cap < 1:
            raise CommissionError(
                f"{where}.cap_multiple",
                f"{cap:g} is below the base: it would cap the payout under the on-target commission "
                "(base rate x target); use 1 or more, or leave it out for no cap",
            )
    description = table.get("description", "")
    if not isinstance(description, str):
        raise CommissionError(f"{where}.description", "must be text")
    return Plan(role, base / 100, below / 100, dmult, cap, _tiers(table.get("tiers"), where), description)


def parse(raw: Mapping[str, object], source: str = "commission plans") -> Plans:
    """Plans from a parsed config mapping; a CommissionError names the first field at fault."""
    version = raw.get("version")
    if version is None:
        raise CommissionError("version", f"is missing; write `version = {FORMAT_VERSION}` at the top of {source}")
    if isinstance(version, bool) or not isinstance(version, int):
        raise CommissionError("version", f"must be a whole number, got {version!r}")
    if version < FORMAT_VERSION:
        raise CommissionError("version", f"{source} is format version {version}, from an older Sales Lens; "
                                         f"this app reads version {FORMAT_VERSION} (see docs/COMMISSION.md)")
    if version > FORMAT_VERSION:
        raise CommissionError("version", f"{source} is format version {version}, newer than this app "
                                         f"(reads {FORMAT_VERSION})")
    unknown = set(raw) - {"version", "plans"}
    if unknown:
        raise CommissionError(", ".join(sorted(unknown)), "unknown top-level key(s) (known: version, plans)")
    tables = raw.get("plans")
    if not isinstance(tables, dict) or not tables:
        raise CommissionError("plans", "needs at least one [plans.ROLE] table")
    plans = {role: parse_plan(role, table, f"plans.{role}") for role, table in tables.items()}
    return Plans(plans, source, dict(raw))


def parse_text(text: str, source: str = "commission plans") -> Plans:
    """Plans from TOML text; a syntax error is reported with its line."""
    try:
        raw = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise CommissionError(source, f"is not valid TOML ({exc})") from None
    return parse(raw, source)


def default_path(data_dir: Path | None = None) -> Path:
    """The plans in use: <data dir>/config/commission_plans.toml when present, else the shipped default."""
    if data_dir is not None:
        local = data_dir / "config" / PLANS_FILE
        if local.exists():
            return local
    return DEFAULT_PATH


def load(path: Path | None = None, data_dir: Path | None = None) -> Plans:
    """Read and check a plans file (default: see default_path)."""
    path = path or default_path(data_dir)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise CommissionError(str(path), f"cannot be read ({exc.strerror or exc})") from None
    return parse_text(text, str(path))


def payouts(frame: pl.DataFrame, plans: Plans, bookings: str, target: str, role: str = "role") -> pl.Series:
    """Payout per row of a frame (null where the target is missing); an unplanned role is an error."""
    needs_plan = frame.filter(pl.col(target).is_not_null() & (pl.col(target) > 0))
    for r in needs_plan[role].unique().to_list():
        plans.plan(r)  # raises CommissionError naming the role
    expr = pl.lit(None, dtype=pl.Float64)
    for name, plan in plans.plans.items():
        expr = pl.when(pl.col(role) == name).then(plan.payout_expr(pl.col(bookings), pl.col(target))).otherwise(expr)
    return frame.select(expr.cast(pl.Float64).alias("payout")).to_series()


def _pct(value: float | None, lang: str) -> str:
    if value is None:
        return "∞"
    return i18n.percent(value, lang, digits=1 if round(value * 100, 1) != round(value * 100) else 0)


def describe(steps: list[Step], plan: Plan, lang: str) -> pl.DataFrame:
    """An explanation as a table (step, what, bookings, rate, amount), in words, for people."""
    rows = []
    money = lambda v: i18n.money(v, lang, compact=False)  # noqa: E731 - a local formatter reads best here
    for n, s in enumerate(steps, start=1):
        bookings = money(s.bookings) if s.bookings is not None else ""
        rate = i18n.percent(s.rate, lang, digits=2) if s.rate is not None else ""
        if s.kind == "attainment":
            what = t("commission.step.attainment", lang, bookings=money(s.bookings), target=money(s.amount),
                     attainment=_pct(s.band_from, lang))
            bookings, amount = "", ""
        elif s.kind == "decelerator":
            what = t("commission.step.decelerator", lang, threshold=_pct(s.band_to, lang),
                     base=i18n.percent(plan.base_rate, lang, digits=2), multiplier=f"{s.multiplier:g}")
            amount = money(s.amount)
        elif s.kind == "base":
            what = t("commission.step.base", lang)
            amount = money(s.amount)
        elif s.kind == "tier":
            what = t("commission.step.tier" if s.band_to is not None else "commission.step.tier_open", lang, n=s.tier,
                     start=_pct(s.band_from, lang), end=_pct(s.band_to, lang), multiplier=f"{s.multiplier:g}")
            amount = money(s.amount)
        elif s.kind == "cap":
            key = "commission.step.cap_reached" if s.reached else "commission.step.cap_not_reached"
            what = t(key, lang, multiple=f"{s.multiplier:g}", cap=money(s.amount))
            amount = money(s.amount) if s.reached else ""
        else:
            what = t("commission.step.total", lang)
            amount = money(s.amount)
        rows.append({
            t("commission.col.step", lang): n, t("commission.col.what", lang): what,
            t("commission.col.bookings", lang): bookings, t("commission.col.rate", lang): rate,
            t("commission.col.amount", lang): amount,
        })
    return pl.DataFrame(rows)


def plans_table(plans: Plans, lang: str) -> pl.DataFrame:
    """The plans as a readable table: one row per role."""
    rows = []
    for role, p in plans.plans.items():
        tiers = "; ".join(
            (f"{_pct(tr.start, lang)}–{_pct(tr.end, lang)}" if tr.end is not None else f"≥{_pct(tr.start, lang)}")
            + f" ×{tr.multiplier:g}" for tr in p.tiers
        )
        rows.append({
            t("commission.col.role", lang): role,
            t("commission.col.base_rate", lang): i18n.percent(p.base_rate, lang, digits=2),
            t("commission.col.decelerator", lang): (
                t("commission.decelerator_rule", lang, threshold=_pct(p.decelerator_below, lang),
                  multiplier=f"{p.decelerator_multiplier:g}") if p.decelerator_below > 0 else "–"),
            t("commission.col.tiers", lang): tiers,
            t("commission.col.cap", lang): (
                t("commission.cap_rule", lang, multiple=f"{p.cap_multiple:g}") if p.cap_multiple else "–"),
        })
    return pl.DataFrame(rows)
