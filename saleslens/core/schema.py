"""The canonical data model: one table per entity, defined once and documented from here."""

from __future__ import annotations

from dataclasses import dataclass

import polars as pl

SCHEMA_VERSION = 1


@dataclass(frozen=True)
class Column:
    """One column of a canonical table."""

    name: str
    dtype: pl.DataType
    required: bool
    meaning: str


@dataclass(frozen=True)
class Table:
    """One canonical table: its columns, key, and whether it is event history."""

    name: str
    purpose: str
    key: tuple[str, ...]
    columns: tuple[Column, ...]
    # Event tables are append-only history kept once in the event store, partitioned by month.
    event_time: str | None = None

    @property
    def polars_schema(self) -> dict[str, pl.DataType]:
        """Column names mapped to their Polars types."""
        return {c.name: c.dtype for c in self.columns}

    @property
    def required(self) -> list[str]:
        """Names of the columns that must be present and non-null."""
        return [c.name for c in self.columns if c.required]


S, D, T, F, INT, B = pl.String(), pl.Date(), pl.Datetime("us"), pl.Float64(), pl.Int64(), pl.Boolean()

STAGES = Table(
    "stages",
    "The dataset's ordered stage list; stages are data because every CRM names them differently.",
    ("stage",),
    (
        Column("stage", S, True, "Stage name exactly as used in opportunities and stage changes."),
        Column("position", INT, True, "Order in the sales process, 1 = first; outcomes come last."),
        Column("is_won", B, True, "True for the stage that means the deal was won."),
        Column("is_lost", B, True, "True for the stage that means the deal was lost."),
        Column("probability", F, True, "Default chance (0-1) that a deal in this stage is won."),
    ),
)

REPS = Table(
    "reps",
    "People who own deals or do activities, with the management hierarchy.",
    ("rep_id",),
    (
        Column("rep_id", S, True, "Stable identifier of the person."),
        Column("name", S, True, "Display name."),
        Column("role", S, True, "AE, SDR, CSM, Manager or Director."),
        Column("team", S, False, "Team name; managers carry the team they lead."),
        Column("manager_id", S, False, "rep_id of the person's manager; empty at the top."),
        Column("region", S, False, "Sales region."),
        Column("hire_date", D, False, "First working day; drives ramp-up."),
        Column("leave_date", D, False, "Last working day for people who left."),
        Column("active", B, True, "True while the person works here."),
    ),
)

ACCOUNTS = Table(
    "accounts",
    "Customer and prospect companies.",
    ("account_id",),
    (
        Column("account_id", S, True, "Stable identifier of the account."),
        Column("name", S, True, "Company name."),
        Column("segment", S, False, "SMB, Mid-Market or Enterprise (or the CRM's own segments)."),
        Column("industry", S, False, "Industry or sector."),
        Column("region", S, False, "Region the account is in."),
    ),
)

PRODUCTS = Table(
    "products",
    "What is sold.",
    ("product_id",),
    (
        Column("product_id", S, True, "Stable identifier of the product."),
        Column("name", S, True, "Product name."),
        Column("family", S, False, "Product family or series."),
        Column("list_price", F, False, "List price in the dataset's currency."),
    ),
)

LEADS = Table(
    "leads",
    "Leads before they become opportunities.",
    ("lead_id",),
    (
        Column("lead_id", S, True, "Stable identifier of the lead."),
        Column("source", S, True, "Where the lead came from (Inbound, Outbound, Partner, Event, ...)."),
        Column("created_date", D, True, "Day the lead was created."),
        Column("status", S, False, "new, working, qualified, disqualified or converted; when the export has none, "
               "an import sets converted for a lead with a linked deal and qualified for one with a qualified date."),
        Column("owner_id", S, False, "rep_id working the lead, usually an SDR."),
        Column("account_id", S, False, "Account the lead belongs to, when known."),
        Column("qualified_date", D, False, "Day the lead was qualified, if it was."),
        Column("converted_opportunity_id", S, False, "Opportunity the lead became, if it converted; an import "
               "fills it from the deal's lead_id when the export links deals to leads instead."),
    ),
)

OPPORTUNITIES = Table(
    "opportunities",
    "Deals as they stand on the snapshot date.",
    ("opportunity_id",),
    (
        Column("opportunity_id", S, True, "Stable identifier of the deal."),
        Column("owner_id", S, True, "rep_id of the deal owner."),
        Column("account_id", S, False, "Account the deal is with."),
        Column("product_id", S, False, "Main product of the deal."),
        Column("source", S, False, "Lead source the deal came from."),
        Column("created_date", D, True, "Day the deal was created (engaged)."),
        Column("expected_close_date", D, False, "Day the owner expects it to close (open deals)."),
        Column("close_date", D, False, "Day it was won or lost; empty while open."),
        Column("amount", F, False, "Deal value in the dataset's reporting currency (converted at import); empty when "
               "the deal's currency has no rate."),
        Column("stage", S, True, "Current stage; one of the stage list."),
        Column("status", S, True, "open, won or lost, from the stage's flags."),
        Column("lost_reason", S, False, "Why a lost deal was lost."),
        Column("forecast_category", S, False, "commit, best_case, pipeline or omitted, where the CRM has it."),
        Column("currency", S, False, "ISO code of the deal's own currency (EUR, COP, ...), where the CRM has one; "
               "deal lists show it beside the amount."),
        Column("amount_original", F, False, "Deal value in its own currency, before conversion; deal lists show it "
               "as the original amount. Empty in snapshots published before currencies were imported."),
        Column("lead_id", S, False, "Lead the deal came from, where the CRM records it; the lead's converted "
               "deal and the deal's source are filled from it at import when empty."),
    ),
)

STAGE_CHANGES = Table(
    "stage_changes",
    "Every move of a deal from one stage to another (history, kept in the event store).",
    ("opportunity_id", "changed_at", "to_stage"),
    (
        Column("opportunity_id", S, True, "The deal that moved."),
        Column("from_stage", S, False, "Stage before the move; empty when the deal was created."),
        Column("to_stage", S, True, "Stage after the move."),
        Column("changed_at", T, True, "When the move happened."),
        Column("inferred", B, False, "True for a move an import inferred by comparing the deal's stage in the "
               "previous snapshot with the new export (an export without stage history); such a move is dated at "
               "the deal's close date when it closed in between, else at the middle day of the interval. Empty "
               "for moves from the CRM's own history."),
    ),
    event_time="changed_at",
)

ACTIVITIES = Table(
    "activities",
    "Calls, emails, meetings, demos and visits (history, kept in the event store).",
    ("activity_id",),
    (
        Column("activity_id", S, True, "Stable identifier of the activity."),
        Column("rep_id", S, True, "Who did it."),
        Column("opportunity_id", S, False, "Deal it was about, if any."),
        Column("account_id", S, False, "Account it was about, if any."),
        Column("type", S, True, "call, email, meeting, demo or visit."),
        Column("occurred_at", T, True, "When it happened."),
    ),
    event_time="occurred_at",
)

TARGETS = Table(
    "targets",
    "Targets per rep or team and period; they change over time.",
    ("owner_type", "owner_id", "period_start", "metric"),
    (
        Column("owner_type", S, True, "rep or team."),
        Column("owner_id", S, True, "rep_id, or the team name."),
        Column("period_start", D, True, "First day of the period."),
        Column("period_end", D, True, "Last day of the period."),
        Column("metric", S, True, "bookings, new_logos or activities."),
        Column("value", F, True, "Target value for the period."),
    ),
)

PAYMENTS = Table(
    "payments",
    "Invoices and payments for won deals, where the CRM has them.",
    ("payment_id",),
    (
        Column("payment_id", S, True, "Stable identifier of the invoice."),
        Column("opportunity_id", S, True, "The won deal invoiced."),
        Column("invoiced_date", D, True, "Day the invoice was sent."),
        Column("paid_date", D, False, "Day it was paid; empty while unpaid."),
        Column("amount", F, True, "Invoiced amount."),
    ),
)

TABLES: dict[str, Table] = {
    t.name: t
    for t in (
        STAGES, REPS, ACCOUNTS, PRODUCTS, LEADS, OPPORTUNITIES, STAGE_CHANGES, ACTIVITIES,
        TARGETS, PAYMENTS,
    )
}
SNAPSHOT_TABLES = [name for name, t in TABLES.items() if t.event_time is None]
EVENT_TABLES = [name for name, t in TABLES.items() if t.event_time is not None]
# A snapshot cannot be used without these; the others degrade gracefully when missing.
CORE_TABLES = ["stages", "reps", "opportunities"]

ROLES = ("AE", "SDR", "CSM", "Manager", "Director")
ACTIVITY_TYPES = ("call", "email", "meeting", "demo", "visit")
STATUSES = ("open", "won", "lost")
TARGET_METRICS = ("bookings", "new_logos", "activities")


def empty_frame(table: str) -> pl.DataFrame:
    """An empty frame with the canonical columns of a table."""
    return pl.DataFrame(schema=TABLES[table].polars_schema)


def conform(table: str, df: pl.DataFrame) -> pl.DataFrame:
    """Select and cast a frame to the canonical columns, adding missing optional ones as null."""
    spec = TABLES[table]
    missing = [c for c in spec.required if c not in df.columns]
    if missing:
        raise ValueError(f"{table}: missing required column(s) {', '.join(missing)}")
    cols = [
        (pl.col(c.name) if c.name in df.columns else pl.lit(None)).cast(c.dtype).alias(c.name)
        for c in spec.columns
    ]
    return df.select(cols)


def markdown() -> str:
    """The schema as Markdown, one table per entity: the documentation is generated from here."""
    out = [
        "# Canonical schema",
        "",
        f"Schema version {SCHEMA_VERSION}. Generated from `saleslens/core/schema.py` by "
        "`python -m saleslens schema`; a test keeps this file in step with the code.",
        "",
    ]
    for t in TABLES.values():
        kind = "event history (event store, partitioned by month)" if t.event_time else "snapshot table"
        out += [f"## {t.name}", "", f"{t.purpose} Key: `{', '.join(t.key)}`. Kind: {kind}.", ""]
        out += ["| column | type | required | meaning |", "| --- | --- | --- | --- |"]
        out += [
            f"| `{c.name}` | {c.dtype} | {'yes' if c.required else 'no'} | {c.meaning} |"
            for c in t.columns
        ]
        out.append("")
    return "\n".join(out + _MONEY_NOTES)


# Not columns: what the snapshot manifest says about money and history, and how the app shows it.
_MONEY_NOTES = [
    "## Money and rebuilt snapshots",
    "",
    "- `reporting_currency` (manifest): the ISO code every `amount`, KPI, chart, export and review pack is in; "
    "money is labelled with it (\"Amounts in USD\", deal lists' \"Amount (USD)\"). Absent: single-currency data, "
    "money in the `currency` setting. `rates` (manifest): the rates the import used.",
    "- A deal whose currency had no usable rate keeps `currency` and `amount_original` and has no `amount`: it is "
    "left out of money figures, and the Overview and Funnel say how many such deals each currency has.",
    "- `backfilled: true` (manifest): a snapshot rebuilt from the deals' history by `import --backfill weekly` "
    "(or the Import page's choice); the app labels it \"(rebuilt from history)\".",
    "",
]
