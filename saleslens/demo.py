"""Deterministic demo data: a plausible sales organisation with two (or up to five) years of CRM history, in sizes."""

from __future__ import annotations

import shutil
from collections.abc import Callable
from dataclasses import dataclass, fields, replace
from datetime import date, datetime, time, timedelta
from pathlib import Path

import numpy as np
import polars as pl

from saleslens.core import schema, store

# ---------------------------------------------------------------------------------------------------------
# Parameters and vocabularies
# ---------------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class SizeParams:
    """How big a demo is: org shape, accounts, deal and activity volume, snapshots published."""

    regions: int
    teams_per_region: int
    accounts: int
    deals_per_ae_year: float
    activity_scale: float
    snapshots: int | None  # weekly snapshots published, the last on as_of; None: every week of the history


SIZES: dict[str, SizeParams] = {
    "S": SizeParams(regions=3, teams_per_region=2, accounts=600, deals_per_ae_year=105,
                    activity_scale=1.0, snapshots=None),
    "M": SizeParams(regions=5, teams_per_region=11, accounts=5_000, deals_per_ae_year=105,
                    activity_scale=1.0, snapshots=None),
    "L": SizeParams(regions=6, teams_per_region=92, accounts=40_000, deals_per_ae_year=140,
                    activity_scale=1.0, snapshots=13),
}

STAGE_LIST = (
    ("Prospecting", 0.10), ("Qualification", 0.20), ("Discovery", 0.35), ("Proposal", 0.55),
    ("Negotiation", 0.75), ("Closed Won", 1.0), ("Closed Lost", 0.0),
)
WON, LOST = 6, 7  # stage positions of the outcomes
STAGE_NAMES = np.array([""] + [s for s, _ in STAGE_LIST], dtype=object)  # indexed by position

REGIONS_S = ("North America", "EMEA", "APAC")
REGIONS_ML = ("North America", "Latin America", "EMEA North", "EMEA South", "APAC", "Japan")
AE, SDR, CSM, MANAGER, DIRECTOR = range(5)
ROLE_NAMES = np.array(["AE", "SDR", "CSM", "Manager", "Director"], dtype=object)

SEGMENTS = ("SMB", "Mid-Market", "Enterprise")
SEGMENT_SHARE = (0.55, 0.30, 0.15)
INDUSTRIES = ("Software", "Manufacturing", "Financial Services", "Healthcare", "Retail", "Education",
              "Logistics", "Energy")

PRODUCTS = (  # id, name, family, list price
    ("P01", "Core", "Platform", 12_000.0),
    ("P02", "Pro", "Platform", 28_000.0),
    ("P03", "Enterprise Suite", "Platform", 85_000.0),
    ("P04", "Analytics Add-on", "Add-ons", 9_000.0),
    ("P05", "Security Add-on", "Add-ons", 11_000.0),
    ("P06", "Implementation Services", "Services", 15_000.0),
    ("P07", "Premium Support", "Services", 7_000.0),
)
LIST_PRICE = np.array([p[3] for p in PRODUCTS])
# Rows: SMB, Mid-Market, Enterprise, CSM expansion; columns follow PRODUCTS.
PRODUCT_MIX = np.array([
    [0.50, 0.20, 0.00, 0.10, 0.08, 0.04, 0.08],
    [0.20, 0.38, 0.08, 0.12, 0.10, 0.06, 0.06],
    [0.02, 0.20, 0.48, 0.10, 0.08, 0.07, 0.05],
    [0.00, 0.20, 0.10, 0.25, 0.20, 0.10, 0.15],
])
SEGMENT_AMOUNT = np.array([0.6, 1.0, 2.6])
SEGMENT_WIN = np.array([0.34, 0.29, 0.23])
SEGMENT_CYCLE = np.array([35.0, 70.0, 115.0])  # median calendar days from created to close

SOURCES = np.array(["Inbound", "Outbound", "Partner", "Event", "Referral", "Expansion"], dtype=object)
EXPANSION = 5
LEAD_MIX = np.array([0.35, 0.20, 0.15, 0.10, 0.20, 0.0])  # sources of opportunities that came from a lead
SELF_MIX = np.array([0.0, 0.60, 0.0, 0.15, 0.25, 0.0])  # AE-sourced opportunities without a lead
LEAD_CONVERSION = np.array([0.35, 0.12, 0.50, 0.25, 0.60])  # share of leads that become opportunities
SOURCE_WIN = np.array([1.0, 0.7, 1.25, 0.9, 1.35, 1.45])
# Highest open stage a lost deal reached: a fair share of losses come late (Proposal, Negotiation), as in real
# pipelines where a signed-off deal still dies at procurement or to a competitor.
LOST_FROM = np.array([0.30, 0.23, 0.19, 0.16, 0.12])
# Expected-close slips: the chance of a first slip, and of each further one once a deal has slipped. A slipped
# deal slips again more often than a fresh one slips at all, and deals that end up lost slip more.
FIRST_SLIP = {True: 0.38, False: 0.50}  # by won
SLIP_AGAIN = {True: 0.50, False: 0.62}
LEAD_OUTCOMES = ("converted", "qualified", "disqualified")
LOST_REASONS = np.array(["Price", "Competitor", "No decision", "Timing", "Budget", "Went dark"], dtype=object)
LOST_REASON_MIX = np.array([0.20, 0.22, 0.20, 0.14, 0.12, 0.12])

ACTIVITY_TYPES = np.array(schema.ACTIVITY_TYPES, dtype=object)  # call, email, meeting, demo, visit
DEAL_TYPE_MIX = {AE: [0.22, 0.30, 0.22, 0.16, 0.10], CSM: [0.25, 0.35, 0.28, 0.05, 0.07]}
SOLO_TYPE_MIX = np.array([  # activities not about a deal, by role
    [0.45, 0.45, 0.10, 0.00, 0.00],
    [0.52, 0.44, 0.04, 0.00, 0.00],
    [0.30, 0.40, 0.25, 0.00, 0.05],
    [0.20, 0.30, 0.35, 0.00, 0.15],
    [0.10, 0.00, 0.60, 0.00, 0.30],
])
SOLO_RATE = np.array([0.3, 1.0, 1.2, 0.6, 0.15])  # per working day at full ramp, by role

FIRST_NAMES = (
    "James", "Mary", "Robert", "Patricia", "John", "Jennifer", "Michael", "Linda", "David", "Elizabeth",
    "William", "Barbara", "Richard", "Susan", "Joseph", "Jessica", "Thomas", "Sarah", "Daniel", "Karen",
    "Matthew", "Lisa", "Anthony", "Nancy", "Mark", "Sandra", "Steven", "Ashley", "Paul", "Emily", "Andrew",
    "Donna", "Joshua", "Michelle", "Kevin", "Carol", "Brian", "Amanda", "George", "Melissa", "Timothy",
    "Deborah", "Ryan", "Stephanie", "Jacob", "Rebecca", "Nicholas", "Laura", "Eric", "Sharon", "Jonathan",
    "Cynthia", "Samuel", "Kathleen", "Benjamin", "Amy", "Aaron", "Angela", "Lukas", "Sofia", "Mateo",
    "Valentina", "Hugo", "Chloe", "Leon", "Emma", "Noah", "Mia", "Elias", "Hannah", "Luca", "Giulia", "Marco",
    "Chiara", "Pierre", "Camille", "Arjun", "Priya", "Rahul", "Ananya", "Wei", "Mei", "Hiroshi", "Yuki",
    "Kenji", "Sakura", "Min-jun", "Seo-yeon", "Omar", "Layla", "Ahmed", "Fatima", "Kwame", "Amara", "Diego",
    "Lucia", "Carlos", "Ines", "Sven", "Astrid", "Lars", "Freya", "Mikko", "Aino", "Tomasz", "Zofia", "Ivan",
    "Olga",
)
LAST_NAMES = (
    "Smith", "Johnson", "Williams", "Brown", "Jones", "Garcia", "Miller", "Davis", "Rodriguez", "Martinez",
    "Hernandez", "Lopez", "Gonzalez", "Wilson", "Anderson", "Thomas", "Taylor", "Moore", "Jackson", "Martin",
    "Lee", "Perez", "Thompson", "White", "Harris", "Sanchez", "Clark", "Ramirez", "Lewis", "Robinson",
    "Walker", "Young", "Allen", "King", "Wright", "Scott", "Torres", "Nguyen", "Hill", "Flores", "Green",
    "Adams", "Nelson", "Baker", "Hall", "Rivera", "Campbell", "Mitchell", "Carter", "Roberts", "Muller",
    "Schmidt", "Schneider", "Fischer", "Weber", "Meyer", "Wagner", "Becker", "Rossi", "Russo", "Ferrari",
    "Esposito", "Bianchi", "Dubois", "Moreau", "Laurent", "Bernard", "Petit", "Patel", "Sharma", "Singh",
    "Gupta", "Kumar", "Wang", "Li", "Zhang", "Liu", "Chen", "Sato", "Suzuki", "Takahashi", "Tanaka", "Kim",
    "Park", "Choi", "Haddad", "Khalil", "Mensah", "Okafor", "Silva", "Santos", "Oliveira", "Costa",
    "Johansson", "Andersson", "Nielsen", "Hansen", "Virtanen", "Kowalski", "Nowak", "Novak", "Ivanova",
)
COMPANY_A = (
    "Blue", "Red", "Green", "Silver", "Golden", "North", "South", "East", "West", "Bright", "Clear", "Swift",
    "Prime", "True", "Bold", "Quantum", "Apex", "Summit", "Pioneer", "Evergreen", "Crystal", "Iron", "Stone",
    "Cedar", "Maple", "Oak", "River", "Lake", "Harbor", "Coastal", "Alpine", "Urban", "Metro", "Global",
    "United", "Vertex", "Nova", "Stellar", "Lunar", "Solar", "Atlas", "Orion", "Delta", "Sigma", "Omega",
    "Polar", "Royal", "Noble", "Rapid", "Smart", "Pure", "Vivid", "Bridge", "Falcon", "Eagle", "Lion",
    "Tiger", "Wolf", "Fox", "Cobalt", "Copper", "Granite", "Ember", "Aurora", "Beacon", "Cascade", "Horizon",
    "Meridian", "Nimbus", "Onyx", "Pinnacle", "Radiant", "Sapphire", "Titan", "Zenith", "Willow", "Juniper",
    "Aspen", "Birch", "Harvest", "Keystone", "Lighthouse", "Riverstone", "Silverline", "Sterling", "Trident",
    "Unity",
)
COMPANY_B = (
    "Works", "Labs", "Logic", "Dynamics", "Systems", "Networks", "Solutions", "Partners", "Industries",
    "Holdings", "Foods", "Health", "Energy", "Retail", "Logistics", "Capital", "Analytics", "Robotics",
    "Media", "Motors", "Pharma", "Textiles", "Foundry", "Freight", "Finance", "Learning", "Care", "Power",
    "Supply", "Devices", "Machines", "Studios", "Ventures", "Materials", "Metals", "Water", "Software",
    "Security", "Cloud", "Brands", "Chemicals", "Consulting", "Engineering", "Farms", "Insurance",
    "Instruments", "Interiors", "Marine", "Mining", "Outfitters", "Packaging", "Printing", "Telecom",
    "Transport",
)
COMPANY_C = ("Inc", "Ltd", "GmbH", "Group", "Co", "AG", "SA", "LLC", "BV", "Corp", "plc", "KK")

# ---------------------------------------------------------------------------------------------------------
# Calendar helpers: days are int64 day numbers since 1970-01-01; work happens on business days.
# ---------------------------------------------------------------------------------------------------------

EPOCH = date(1970, 1, 1)
NEVER = 10**7  # day number standing for "has not left"
US_PER_DAY = 86_400_000_000


def _dn(d: date) -> int:
    """Day number of a date."""
    return (d - EPOCH).days


def _date(n: int) -> date:
    """Date of a day number."""
    return EPOCH + timedelta(days=int(n))


DEFAULT_YEARS = 2  # years of history
YEARS = (2, 3, 4, 5)  # what `saleslens demo --years` accepts
WEEKS_PER_YEAR = 52


@dataclass(frozen=True)
class _Cal:
    """The demo's calendar: history window and a business-day index covering it with margin."""

    start: int  # first day of history (a quarter start `years` back)
    as_of: int
    warm: int  # deals may be created this early, so the pipeline is full when history starts
    bdays: np.ndarray
    # the first day of a two-year history: the business grows from 1 there, so a longer history of the same
    # business starts smaller and today's is the same size whatever the years
    anchor: int

    @property
    def b_last(self) -> int:
        """Index of the last business day on or before as_of."""
        return int(np.searchsorted(self.bdays, self.as_of, side="right")) - 1

    def b_on_or_after(self, days: np.ndarray) -> np.ndarray:
        """Business-day index of each day, rolled forward over weekends."""
        return np.searchsorted(self.bdays, days)

    def b_on_or_before(self, days: np.ndarray) -> np.ndarray:
        """Business-day index of each day, rolled back over weekends."""
        return np.searchsorted(self.bdays, days, side="right") - 1


def _history_start(as_of: date, years: int) -> date:
    """The quarter start about `years` years before as_of: the first day of history."""
    back = as_of - timedelta(days=365 * years)
    return date(back.year, 3 * ((back.month - 1) // 3) + 1, 1)


def _calendar(as_of: date, years: int = DEFAULT_YEARS) -> _Cal:
    """Calendar whose history starts at the quarter start about `years` years before as_of."""
    start = _history_start(as_of, years)
    warm = _dn(start) - 190
    days = np.arange(warm - 200, _dn(as_of) + 900, dtype=np.int64)
    anchor = _dn(_history_start(as_of, DEFAULT_YEARS))
    return _Cal(_dn(start), _dn(as_of), warm, days[(days + 3) % 7 < 5], anchor)


def _month_no(days: np.ndarray) -> np.ndarray:
    """Months since January 1970 of each day."""
    return days.astype("datetime64[D]").astype("datetime64[M]").astype(np.int64)


def _month_first(months: np.ndarray) -> np.ndarray:
    """First day number of each month number."""
    return np.asarray(months, dtype=np.int64).astype("datetime64[M]").astype("datetime64[D]").astype(np.int64)


def _stamp(cal: _Cal, t: np.ndarray) -> np.ndarray:
    """Microseconds since epoch for business-day floats: the fraction maps to 08:00-18:00, whole seconds."""
    b = np.floor(t).astype(np.int64)
    seconds = 8 * 3600 + np.floor((t - b) * 36_000).astype(np.int64)
    return cal.bdays[b] * US_PER_DAY + seconds * 1_000_000


def _date_series(name: str, days: np.ndarray) -> pl.Series:
    """A polars Date series from day numbers."""
    return pl.Series(name, np.asarray(days, dtype=np.int64).astype("datetime64[D]"))


def _ts_series(name: str, us: np.ndarray) -> pl.Series:
    """A polars Datetime(us) series from microseconds since epoch."""
    return pl.Series(name, np.asarray(us, dtype=np.int64).astype("datetime64[us]"))


def _ids(prefix: str, n: int, width: int) -> pl.Series:
    """Identifiers like R0001: a prefix and a zero-padded running number from 1."""
    return pl.select(
        pl.concat_str(pl.lit(prefix), pl.int_range(1, n + 1, eager=False).cast(pl.String).str.zfill(width))
    ).to_series()


def _pick(values: pl.Series | tuple | np.ndarray, idx: np.ndarray, missing: np.ndarray | None = None,
          name: str = "") -> pl.Series:
    """Values at indices as a polars Series (no Python objects per row), null where missing."""
    base = values if isinstance(values, pl.Series) else pl.Series(name, list(values), dtype=pl.String)
    out = base.gather(np.maximum(idx, 0)).alias(name or base.name)
    return out if missing is None else _null_where(out, missing)


def _null_where(values: pl.Series, mask: np.ndarray) -> pl.Series:
    """The series with nulls where the mask is true."""
    return values.set(pl.Series(mask), None)


def _draw(rng: np.random.Generator, probs: np.ndarray, n: int) -> np.ndarray:
    """n draws of an index with the given probabilities."""
    cum = np.cumsum(probs) / np.sum(probs)
    return np.minimum(np.searchsorted(cum, rng.random(n), side="right"), len(probs) - 1)


def _draw_rows(rng: np.random.Generator, table: np.ndarray, rows: np.ndarray) -> np.ndarray:
    """One draw per element, from the probability row of the table that element points at."""
    cum = np.cumsum(table, axis=1)
    cum = cum / cum[:, -1:]
    u = rng.random(len(rows))
    out = np.zeros(len(rows), dtype=np.int64)
    for r in range(len(table)):
        sel = rows == r
        out[sel] = np.searchsorted(cum[r], u[sel], side="right")
    return np.minimum(out, table.shape[1] - 1)


# ---------------------------------------------------------------------------------------------------------
# Organisation, accounts, products
# ---------------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Org:
    """The people as arrays, one element per rep in rep_id order."""

    ids: pl.Series
    role: np.ndarray
    team: np.ndarray  # team index, -1 for directors
    region: np.ndarray
    hire: np.ndarray
    leave: np.ndarray  # NEVER for people still here
    skill: np.ndarray
    team_names: list[str]
    regions: tuple[str, ...]
    frame: pl.DataFrame

    @property
    def team_region(self) -> np.ndarray:
        """Region index of each team."""
        out = np.zeros(len(self.team_names), dtype=np.int64)
        out[self.team[self.team >= 0]] = self.region[self.team >= 0]
        return out


def _member_roles(n: int) -> list[int]:
    """Roles in a team of n members: mostly AEs, one or two SDRs and a CSM or two."""
    sdr = max(1, round(0.2 * n))
    csm = max(1, round(0.15 * n))
    return [AE] * (n - sdr - csm) + [SDR] * sdr + [CSM] * csm


def _make_org(rng: np.random.Generator, p: SizeParams, cal: _Cal) -> _Org:
    """Regions with a Director, teams with a Manager and 6-10 members, hire dates, leavers and skill."""
    regions = REGIONS_S if p.regions <= 3 else REGIONS_ML[: p.regions]
    role, team, region, manager, team_names = [], [], [], [], []
    for r in range(len(regions)):
        director = len(role)
        role.append(DIRECTOR), team.append(-1), region.append(r), manager.append(-1)
        for _ in range(p.teams_per_region):
            t = len(team_names)
            team_names.append(f"{regions[r]} {t - r * p.teams_per_region + 1}")
            lead = len(role)
            role.append(MANAGER), team.append(t), region.append(r), manager.append(director)
            for m_role in _member_roles(int(rng.integers(6, 11))):
                role.append(m_role), team.append(t), region.append(r), manager.append(lead)
    role_a, n = np.array(role), len(role)
    hire, leave = _hire_and_leave(rng, role_a, cal)
    skill = rng.lognormal(0.0, 0.35, n) * np.where(leave < NEVER, 0.8, 1.0)  # weaker people leave more
    ids = _ids("R", n, 4)
    pick = rng.choice(len(FIRST_NAMES) * len(LAST_NAMES), size=n, replace=False)
    names = [f"{FIRST_NAMES[i // len(LAST_NAMES)]} {LAST_NAMES[i % len(LAST_NAMES)]}" for i in pick]
    mgr = np.array(manager)
    id_list = ids.to_list()
    team_a = np.array(team)
    frame = pl.DataFrame({
        "rep_id": ids,
        "name": names,
        "role": ROLE_NAMES[role_a].tolist(),
        "team": [team_names[t] if t >= 0 else None for t in team],
        "manager_id": [id_list[m] if m >= 0 else None for m in mgr],
        "region": [regions[r] for r in region],
        "hire_date": _date_series("hire_date", hire),
        "leave_date": _null_where(_date_series("leave_date", leave), leave >= NEVER),
        "active": leave >= NEVER,
    })
    return _Org(ids, role_a, team_a, np.array(region), hire, leave, skill, team_names, regions, frame)


def _hire_and_leave(rng: np.random.Generator, role: np.ndarray, cal: _Cal) -> tuple[np.ndarray, np.ndarray]:
    """Hire days spread over years with recent hires; about 5% of the team members have left."""
    n = len(role)
    u = rng.random(n)
    years_back = np.where(u < 0.12, rng.uniform(0.04, 1.0, n),
                          np.where(u < 0.22, rng.uniform(1.0, 2.0, n), rng.uniform(2.0, 8.0, n)))
    senior = role >= MANAGER  # leaders have been here a while
    years_back = np.where(senior, rng.uniform(3.0, 11.0, n), years_back)
    hire = cal.as_of - np.round(years_back * 365.25).astype(np.int64)
    hire = cal.bdays[cal.b_on_or_after(hire)]
    eligible = ~senior & (hire < cal.as_of - 365)
    leaves = eligible & (rng.random(n) < 0.075)
    lo = np.maximum(cal.start + 60, hire + 120)
    day = lo + (rng.random(n) * np.maximum(cal.as_of - 14 - lo, 1)).astype(np.int64)
    leave = np.where(leaves, cal.bdays[cal.b_on_or_before(day)], NEVER)
    return hire, leave


@dataclass(frozen=True)
class _Accounts:
    """Accounts as arrays, sorted by region and then by the day they were first engaged."""

    region: np.ndarray
    segment: np.ndarray
    engaged: np.ndarray  # day the company first showed up; no deal or lead before it
    offset: np.ndarray  # first account of each region
    count: np.ndarray  # accounts per region
    ids: pl.Series
    frame: pl.DataFrame

    def pick(self, rng: np.random.Generator, region: np.ndarray, day: np.ndarray) -> np.ndarray:
        """A random account of the region already engaged on the day (the earliest if none was yet)."""
        known = np.ones(len(region), dtype=np.int64)
        for r in range(len(self.count)):
            sel = region == r
            ends = self.engaged[self.offset[r]: self.offset[r] + self.count[r]]
            known[sel] = np.maximum(np.searchsorted(ends, day[sel], side="right"), 1)
        return self.offset[region] + (rng.random(len(region)) * known).astype(np.int64)


def _make_accounts(rng: np.random.Generator, p: SizeParams, org: _Org, cal: _Cal) -> _Accounts:
    """Companies in each sales region, with segment and industry, first engaged over time."""
    weights = np.bincount(org.region[org.role == AE], minlength=len(org.regions)).astype(float)
    count = rng.multinomial(p.accounts, weights / weights.sum())
    offset = np.concatenate([[0], np.cumsum(count)[:-1]])
    region = np.repeat(np.arange(len(count)), count)
    # A few companies were known before the history; the rest show up steadily, so new logos keep coming.
    engaged = np.where(rng.random(p.accounts) < 0.15, cal.warm - rng.integers(1, 1500, p.accounts),
                       rng.integers(cal.warm, cal.as_of - 10, p.accounts))
    engaged = engaged[np.lexsort((engaged, region))]
    segment = _draw(rng, np.array(SEGMENT_SHARE), p.accounts)
    industry = rng.integers(0, len(INDUSTRIES), p.accounts)
    nb, nc = len(COMPANY_B), len(COMPANY_C)
    pick = rng.choice(len(COMPANY_A) * nb * nc, size=p.accounts, replace=False)
    names = [f"{COMPANY_A[i // (nb * nc)]} {COMPANY_B[i // nc % nb]} {COMPANY_C[i % nc]}" for i in pick]
    # Ids run in the order the CRM met the companies.
    rank = np.empty(p.accounts, dtype=np.int64)
    rank[np.lexsort((np.arange(p.accounts), engaged))] = np.arange(p.accounts)
    ids = _ids("A", p.accounts, 5).gather(rank)
    frame = pl.DataFrame({
        "account_id": ids,
        "name": names,
        "segment": [SEGMENTS[s] for s in segment],
        "industry": [INDUSTRIES[i] for i in industry],
        "region": [org.regions[r] for r in region],
    }).sort("account_id")
    return _Accounts(region, segment, engaged, offset, count, ids, frame)


def _products_frame() -> pl.DataFrame:
    """The product catalogue."""
    return pl.DataFrame(
        {"product_id": [p[0] for p in PRODUCTS], "name": [p[1] for p in PRODUCTS],
         "family": [p[2] for p in PRODUCTS], "list_price": LIST_PRICE},
    )


def _stages_frame() -> pl.DataFrame:
    """The ordered stage list with outcome flags and default probabilities."""
    return pl.DataFrame({
        "stage": [s for s, _ in STAGE_LIST],
        "position": list(range(1, len(STAGE_LIST) + 1)),
        "is_won": [i + 1 == WON for i in range(len(STAGE_LIST))],
        "is_lost": [i + 1 == LOST for i in range(len(STAGE_LIST))],
        "probability": [pr for _, pr in STAGE_LIST],
    })


def _pick_active(
    rng: np.random.Generator, table: np.ndarray, group: np.ndarray, lo: np.ndarray, hi: np.ndarray,
    org: _Org, tries: int = 12,
) -> np.ndarray:
    """For each element a random member of its group (a padded table row) employed from lo to hi, or -1."""
    if table.shape[1] <= tries:
        cand = table[group]
    else:  # wide groups: test a few random members rather than all of them
        size = (table >= 0).sum(axis=1)[group]
        cand = table[group[:, None], (rng.random((len(group), tries)) * size[:, None]).astype(np.int64)]
    safe = np.maximum(cand, 0)
    ok = (cand >= 0) & (org.hire[safe] <= lo[:, None]) & (org.leave[safe] >= hi[:, None])
    score = np.where(ok, rng.random(cand.shape) + 1.0, 0.0)
    best = score.argmax(axis=1)
    return np.where(ok.any(axis=1), cand[np.arange(len(group)), best], -1)


def _group_table(keys: np.ndarray, members: np.ndarray, n_groups: int) -> np.ndarray:
    """A padded table, one row per group key, listing the member indices in it (-1 padded)."""
    order = np.argsort(keys[members], kind="stable")
    members, k = members[order], keys[members][order]
    counts = np.bincount(k, minlength=n_groups)
    table = np.full((n_groups, max(1, counts.max(initial=0))), -1, dtype=np.int64)
    slot = np.arange(len(k)) - np.concatenate([[0], np.cumsum(counts)[:-1]])[k]
    table[k, slot] = members
    return table


def _staff(
    rng: np.random.Generator, org: _Org, roles: list[int], team: np.ndarray, lo: np.ndarray, hi: np.ndarray,
) -> np.ndarray:
    """Someone with one of the roles employed from lo to hi: from the team, else the region, else anyone."""
    members = np.flatnonzero(np.isin(org.role, roles))
    out = _pick_active(rng, _group_table(org.team, members, len(org.team_names)), team, lo, hi, org)
    miss = np.flatnonzero(out < 0)
    if len(miss):
        table = _group_table(org.region, members, len(org.regions))
        region = org.team_region[team[miss]]
        found = _pick_active(rng, table, region, lo[miss], hi[miss], org)
        # Nobody of the role was there the whole time: someone there at the start, else the region's first.
        start_only = _pick_active(rng, table, region, lo[miss], lo[miss], org)
        out[miss] = np.where(found >= 0, found, np.where(start_only >= 0, start_only, table[region, 0]))
    return out


# ---------------------------------------------------------------------------------------------------------
# Deals: who, what, when, outcome
# ---------------------------------------------------------------------------------------------------------


@dataclass
class _Deals:
    """One element per opportunity, sorted by creation."""

    owner: np.ndarray  # owner at the end (after any hand-over)
    first_owner: np.ndarray
    handover: np.ndarray  # day the deal changed hands, NEVER if it did not
    account: np.ndarray
    segment: np.ndarray
    product: np.ndarray
    source: np.ndarray
    from_lead: np.ndarray
    b_created: np.ndarray
    b_close: np.ndarray  # planned close; later than as_of for deals still open
    won: np.ndarray
    top_stage: np.ndarray
    amount0: np.ndarray
    lost_reason: np.ndarray
    start_f: np.ndarray  # business-day float of creation
    end_f: np.ndarray  # business-day float of the close

    def take(self, keep: np.ndarray) -> None:
        """Keep only some deals, in place."""
        for f in fields(self):
            setattr(self, f.name, getattr(self, f.name)[keep])


def _deal_slots(rng: np.random.Generator, p: SizeParams, cal: _Cal, org: _Org) -> tuple[np.ndarray, ...]:
    """Owner and creation business day of every deal: Poisson per owner per day, ramped and growing."""
    owners = np.flatnonzero(np.isin(org.role, [AE, CSM]))
    grid = np.arange(cal.b_on_or_after(np.array([cal.warm]))[0], cal.b_last + 1)
    days = cal.bdays[grid]
    growth = 1.0 + 0.40 * (days - cal.anchor) / 730.0
    md = days.astype("datetime64[D]")
    month = md.astype("datetime64[M]").astype(np.int64) % 12 + 1
    dom = (md - md.astype("datetime64[M]")).astype(np.int64) + 1
    season = np.where((month == 12) & (dom >= 20), 0.4, np.where(month == 8, 0.85, 1.0))
    role_rate = np.where(org.role[owners] == CSM, 0.35, 1.0)  # CSMs sell expansions now and then
    rate = p.deals_per_ae_year / 250.0 * role_rate * org.skill[owners] ** 0.4
    tenure = days[None, :] - org.hire[owners][:, None]
    ramp = np.clip(tenure / 182.0, 0.0, 1.0) * (days[None, :] <= org.leave[owners][:, None])
    counts = rng.poisson(rate[:, None] * ramp * (growth * season)[None, :])
    flat = np.repeat(np.arange(counts.size), counts.ravel())
    return owners[flat // len(grid)], grid[flat % len(grid)]


def _close_day(
    rng: np.random.Generator, created: np.ndarray, won: np.ndarray, top: np.ndarray, seg: np.ndarray,
    csm: np.ndarray,
) -> np.ndarray:
    """Planned close day: a segment's cycle, bunched into quarter ends and pulled into December."""
    n = len(created)
    cycle = SEGMENT_CYCLE[seg] * rng.lognormal(0.0, 0.35, n) * np.where(csm, 0.7, 1.0)
    cycle = np.where(won, np.clip(cycle, 20, 180), np.clip(cycle * (0.35 + 0.65 * top / 5), 14, 180))
    close = created + cycle.astype(np.int64)
    month = _month_no(close)
    q_end = _month_first(month - month % 3 + 3) - 1
    q4 = month % 12 >= 9
    move = np.where(won, rng.random(n) < np.where(q4, 0.7, 0.45), rng.random(n) < 0.15)
    target = q_end - rng.integers(0, 18, n)  # reps and buyers push to sign before the quarter ends
    span = target - created
    ok = move & (span >= np.where(won, 20, 14)) & (span <= 200)
    close = np.where(ok, target, close)
    dom = close - _month_first(_month_no(close)) + 1
    jan = won & (_month_no(close) % 12 == 0) & (dom <= 25) & (rng.random(n) < 0.45)
    december = _month_first(_month_no(close)) - 1 - rng.integers(0, 12, n)  # year-end budget flush
    return np.where(jan & (december - created >= 20), december, close)


def _make_deals(
    rng: np.random.Generator, p: SizeParams, cal: _Cal, org: _Org, acc: _Accounts,
) -> tuple[_Deals, np.ndarray]:
    """All deals with their planned course; returns them and their creation day numbers."""
    owner, b_created = _deal_slots(rng, p, cal, org)
    order = np.lexsort((owner, b_created))
    owner, b_created = owner[order], b_created[order]
    n = len(owner)
    csm = org.role[owner] == CSM
    region = org.region[owner]
    account = acc.pick(rng, region, cal.bdays[b_created])
    seg = acc.segment[account]
    from_lead = ~csm & (rng.random(n) < 0.78)
    source = np.where(from_lead, _draw(rng, LEAD_MIX, n), _draw(rng, SELF_MIX, n))
    source = np.where(csm, EXPANSION, source)
    product = _draw_rows(rng, PRODUCT_MIX, np.where(csm, 3, seg))
    amount = LIST_PRICE[product] * SEGMENT_AMOUNT[seg] * rng.lognormal(0.0, 0.45, n) * np.where(csm, 0.6, 1.0)
    amount0 = np.maximum(500.0, np.round(amount, -2))
    p_win = np.clip(SEGMENT_WIN[seg] * SOURCE_WIN[source] * org.skill[owner] ** 0.6, 0.03, 0.85)
    won = rng.random(n) < p_win
    top = np.where(won, np.where(rng.random(n) < 0.1, 4, 5), 1 + _draw(rng, LOST_FROM, n))
    created = cal.bdays[b_created]
    close = _close_day(rng, created, won, top, seg, csm)
    year_end = won & (_month_no(close) % 12 >= 9)  # year-end deals are bigger: budgets left to spend
    amount0 = np.where(year_end, np.round(amount0 * 1.3, -2), amount0)
    b_close = np.maximum(cal.b_on_or_before(close), b_created + 1)
    reason = _draw(rng, LOST_REASON_MIX, n)
    start_f = b_created + rng.random(n) * 0.45
    end_f = b_close + 0.5 + rng.random(n) * 0.45
    deals = _Deals(owner, owner.copy(), np.full(n, NEVER), account, seg, product, source, from_lead,
                   b_created, b_close, won, top, amount0, reason, start_f, end_f)
    deals.take(cal.bdays[b_close] >= cal.start)  # deals over before history starts are not kept
    _hand_over(rng, org, deals, cal)
    return deals, cal.bdays[deals.b_created]


def _hand_over(rng: np.random.Generator, org: _Org, deals: _Deals, cal: _Cal) -> None:
    """Deals still open when their owner leaves go to a colleague of the same role who stays to the end."""
    leave = org.leave[deals.owner]
    close = cal.bdays[deals.b_close]
    moving = np.flatnonzero(leave < close)
    if len(moving) == 0:
        return
    old = deals.owner[moving]
    day = leave[moving] + 1
    new = np.empty(len(moving), dtype=np.int64)
    for role in (AE, CSM):
        sel = org.role[old] == role
        new[sel] = _staff(rng, org, [role], org.team[old[sel]], day[sel], close[moving][sel])
    deals.owner[moving] = new
    deals.handover[moving] = day


# ---------------------------------------------------------------------------------------------------------
# Stage history
# ---------------------------------------------------------------------------------------------------------


def _stage_paths(rng: np.random.Generator, won: np.ndarray, top: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Each deal's ordered stage positions (padded with 0) and their count: skips, regressions, outcome."""
    n = len(top)
    stage = np.zeros((n, 8), dtype=np.int64)
    key = np.full((n, 8), np.inf)
    for j in range(1, 6):
        reached = j <= top
        stage[:, j - 1] = np.where(reached, j, 0)
        key[:, j - 1] = np.where(reached, 2.0 * j, np.inf)
    skip = (top >= 3) & (rng.random(n) < 0.16)
    s = 2 + (rng.random(n) * np.maximum(top - 2, 1)).astype(np.int64)  # never the first or the last
    rows = np.flatnonzero(skip)
    stage[rows, s[rows] - 1], key[rows, s[rows] - 1] = 0, np.inf
    back = (top >= 2) & (rng.random(n) < 0.065)
    k = 2 + (rng.random(n) * (top - 1)).astype(np.int64)
    k = np.where(skip & (k == s), k + 1, k)  # regress from a stage the deal actually reached
    stage[:, 5] = np.where(back, k - 1, 0)
    stage[:, 6] = np.where(back, k, 0)
    key[:, 5] = np.where(back, 2.0 * k + 0.3, np.inf)
    key[:, 6] = np.where(back, 2.0 * k + 0.6, np.inf)
    stage[:, 7] = np.where(won, WON, LOST)
    key[:, 7] = 20.0
    order = np.argsort(key, axis=1, kind="stable")
    stage = np.take_along_axis(stage, order, axis=1)
    return stage, (stage > 0).sum(axis=1)


def _stage_times(rng: np.random.Generator, deals: _Deals, length: np.ndarray) -> np.ndarray:
    """Business-day float of every path step: creation first, the outcome exactly at the planned close."""
    n = len(length)
    w = rng.gamma(2.0, 1.0, (n, 7)) * (np.arange(7)[None, :] < (length - 1)[:, None])
    frac = np.cumsum(w, axis=1) / w.sum(axis=1, keepdims=True)
    frac = np.concatenate([np.zeros((n, 1)), frac], axis=1)
    frac[np.arange(n), length - 1] = 1.0
    return deals.start_f[:, None] + frac * (deals.end_f - deals.start_f)[:, None]


def _stage_history(
    rng: np.random.Generator, cal: _Cal, deals: _Deals, opp_ids: pl.Series,
) -> tuple[pl.DataFrame, pl.DataFrame]:
    """stage_changes up to as_of, and spans (stage, since, until) used to rebuild state at any day."""
    stage, length = _stage_paths(rng, deals.won, deals.top_stage)
    t = _stamp(cal, np.minimum(_stage_times(rng, deals, length), len(cal.bdays) - 1))
    # Rounding to whole seconds may tie two steps; nudge later ones forward so each deal's moves are ordered.
    steps = np.arange(8)[None, :] * 1_000_000
    t = np.maximum.accumulate(t - steps, axis=1) + steps
    valid = (stage > 0) & (t < (cal.as_of + 1) * US_PER_DAY)
    row, col = np.nonzero(valid)
    nxt = np.where(col + 1 < 8, col + 1, 7)
    has_next = valid[row, nxt] & (col + 1 < 8)
    frm = np.where(col > 0, stage[row, np.maximum(col - 1, 0)], 0)
    changes = pl.DataFrame({
        "opportunity_id": opp_ids.gather(row),
        "from_stage": _pick(STAGE_NAMES, frm, frm == 0),
        "to_stage": _pick(STAGE_NAMES, stage[row, col]),
        "changed_at": _ts_series("changed_at", t[row, col]),
    })
    spans = pl.DataFrame({
        "_i": row.astype(np.int32),
        "stage": changes["to_stage"],
        "since": changes["changed_at"],
        "until": _null_where(_ts_series("until", t[row, nxt]), ~has_next),
    })
    return changes, spans


# ---------------------------------------------------------------------------------------------------------
# Revisions of amount and expected close date
# ---------------------------------------------------------------------------------------------------------


def _slip_counts(rng: np.random.Generator, won: np.ndarray) -> np.ndarray:
    """How many times each deal's expected close date is revised (0-3): slips beget slips, losers slip more."""
    n = len(won)
    first = np.where(won, FIRST_SLIP[True], FIRST_SLIP[False])
    again = np.where(won, SLIP_AGAIN[True], SLIP_AGAIN[False])
    draws = rng.random((n, 3))
    s1 = draws[:, 0] < first
    s2 = s1 & (draws[:, 1] < again)
    s3 = s2 & (draws[:, 2] < again)
    return s1.astype(np.int64) + s2 + s3


def _close_revisions(
    rng: np.random.Generator, cal: _Cal, created: np.ndarray, close: np.ndarray, won: np.ndarray,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Expected-close history: rows (deal, from day, expected close). Many deals slip, some again; a few pull in."""
    n = len(created)
    k = _slip_counts(rng, won)
    after = close.copy()  # expected close after the revision, walking back from the last revision
    prev_day = close + 1
    alive = np.ones(n, dtype=bool)
    rows, days, values = [], [], []
    for j in range(1, 4):
        pull = rng.random(n) < 0.15
        delta = np.where(pull, -rng.integers(7, 31, n), rng.integers(7, 46, n))
        before = after - delta
        # A slip is entered around the old date (a few days early or late); a pull-in well before the new one.
        slip_day = np.minimum(before + rng.integers(-10, 6, n), close)
        day = np.where(pull, after - rng.integers(5, 31, n), slip_day)
        alive &= (j <= k) & (day > created) & (day < prev_day) & (before >= created + 7)
        idx = np.flatnonzero(alive)
        rows.append(idx), days.append(day[idx]), values.append(after[idx])
        after = np.where(alive, before, after)
        prev_day = np.where(alive, day, prev_day)
    rows.append(np.arange(n)), days.append(created), values.append(after)
    return np.concatenate(rows), np.concatenate(days), np.concatenate(values)


def _amount_revisions(
    rng: np.random.Generator, created: np.ndarray, close: np.ndarray, amount0: np.ndarray,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Amount history: rows (deal, from day, amount). Some deals are resized once or twice, up or down."""
    n = len(created)
    k = _draw(rng, np.array([0.68, 0.24, 0.08]), n)
    frac = np.sort(rng.uniform(0.1, 0.95, (n, 2)), axis=1)
    day = created[:, None] + np.floor(frac * (close - created)[:, None]).astype(np.int64)
    up = rng.random((n, 2)) < 0.55
    factor = np.where(up, rng.uniform(1.1, 1.5, (n, 2)), rng.uniform(0.6, 0.92, (n, 2)))
    rows, days, values = [np.arange(n)], [created], [amount0]
    amount, last = amount0.copy(), created.copy()
    for j in range(2):
        ok = (j < k) & (day[:, j] > last) & (day[:, j] < close)
        amount = np.where(ok, np.maximum(500.0, np.round(amount * factor[:, j], -2)), amount)
        idx = np.flatnonzero(ok)
        rows.append(idx), days.append(day[idx, j]), values.append(amount[idx])
        last = np.where(ok, day[:, j], last)
    return np.concatenate(rows), np.concatenate(days), np.concatenate(values), amount


def _history_frame(rows: np.ndarray, days: np.ndarray, values: np.ndarray, as_of: int) -> pl.DataFrame:
    """A validity-interval table (_i, valid_from, valid_to, value) of one deal field, up to as_of."""
    keep = days <= as_of
    rows, days, values = rows[keep], days[keep], values[keep]
    order = np.lexsort((days, rows))
    rows, days, values = rows[order], days[order], values[order]
    more = np.append(rows[1:] == rows[:-1], False)  # the next row revises the same deal
    return pl.DataFrame({
        "_i": rows.astype(np.int32),
        "valid_from": _date_series("valid_from", days),
        "valid_to": _null_where(_date_series("valid_to", np.append(days[1:], 0)), ~more),
        "value": values,
    })


# ---------------------------------------------------------------------------------------------------------
# Leads
# ---------------------------------------------------------------------------------------------------------


def _make_leads(
    rng: np.random.Generator, cal: _Cal, org: _Org, acc: _Accounts, deals: _Deals, opp_ids: pl.Series,
) -> tuple[pl.DataFrame, tuple[np.ndarray, ...]]:
    """Leads with their final outcome and when it happened; converted ones point at their deal."""
    conv = np.flatnonzero(deals.from_lead)
    b_opp = deals.b_created[conv]
    b_lead = b_opp - rng.integers(2, 26, len(conv))
    b_qual = np.maximum(b_opp - rng.integers(0, 4, len(conv)), b_lead)
    src = deals.source[conv]
    team = org.team[deals.first_owner[conv]]
    account = deals.account[conv]
    # Leads that did not convert, so each source converts at its own rate.
    extra_b, extra_src = [], []
    for s in range(len(LEAD_CONVERSION)):
        pool = b_lead[src == s]
        n_s = int(rng.poisson(len(pool) * (1 / LEAD_CONVERSION[s] - 1)))
        if len(pool) and n_s:
            extra_b.append(rng.choice(pool, n_s) + rng.integers(-15, 16, n_s))
            extra_src.append(np.full(n_s, s))
    e_b = np.minimum(np.concatenate(extra_b), cal.b_last)
    e_src = np.concatenate(extra_src)
    n_e = len(e_b)
    e_qual = rng.random(n_e) < 0.10  # qualified but no deal yet, the rest get disqualified
    e_decided = e_b + np.where(e_qual, rng.integers(2, 16, n_e), rng.integers(3, 41, n_e))
    e_team = rng.integers(0, len(org.team_names), n_e)
    e_region = org.team_region[e_team]
    e_account = np.where(rng.random(n_e) < 0.7, acc.pick(rng, e_region, cal.bdays[e_b]), -1)
    b = np.concatenate([b_lead, e_b])
    created = cal.bdays[b]
    owner = _staff(rng, org, [SDR], np.concatenate([team, e_team]), created, created)
    status = np.concatenate([np.full(len(conv), 0), np.where(e_qual, 1, 2)])
    qual_b = np.concatenate([b_qual, np.where(e_qual, e_decided, -1)])
    decided_b = np.concatenate([b_opp, e_decided])
    order = np.lexsort((np.concatenate([conv, len(deals.owner) + np.arange(n_e)]), b))
    opp = np.concatenate([conv, np.full(n_e, -1)])[order]
    acct = np.concatenate([account, e_account])[order]
    qual = qual_b[order]
    frame = pl.DataFrame({
        "lead_id": _ids("L", len(b), 7),
        "source": _pick(SOURCES, np.concatenate([src, e_src])[order]),
        "created_date": _date_series("created_date", created[order]),
        "final_status": _pick(LEAD_OUTCOMES, status[order]),
        "owner_id": org.ids.gather(owner[order]),
        "account_id": _pick(acc.ids, acct, acct < 0),
        "qualified_on": _null_where(_date_series("qualified_on", cal.bdays[np.maximum(qual, 0)]), qual < 0),
        "decided_on": _date_series("decided_on", cal.bdays[decided_b[order]]),
        "opportunity_id": _pick(opp_ids, opp, opp < 0),
    })
    return frame, (b[order], np.minimum(decided_b[order], cal.b_last + 1), owner[order], acct)


# ---------------------------------------------------------------------------------------------------------
# Activities
# ---------------------------------------------------------------------------------------------------------


def _spread(
    rng: np.random.Generator, lo: np.ndarray, hi: np.ndarray, rate: np.ndarray,
) -> tuple[np.ndarray, np.ndarray]:
    """Poisson many events per window [lo, hi) at rate per business day: (window index, time) per event."""
    dur = np.maximum(hi - lo, 0.0)
    n = rng.poisson(rate * dur)
    idx = np.repeat(np.arange(len(lo)), n)
    return idx, lo[idx] + rng.random(len(idx)) * dur[idx]


def _deal_activities(
    rng: np.random.Generator, p: SizeParams, cal: _Cal, org: _Org, deals: _Deals,
) -> tuple[np.ndarray, ...]:
    """Activities on open deals by whoever owned the deal at the time; won deals get more attention."""
    lo = np.maximum(deals.start_f, cal.b_on_or_after(np.array([cal.start]))[0])
    hi = np.minimum(deals.end_f, cal.b_last + 1.0)
    csm = org.role[deals.first_owner] == CSM
    rate = (0.13 * p.activity_scale * np.where(deals.won, 1.5, 1.0) * np.where(csm, 0.8, 1.0)
            * org.skill[deals.first_owner] ** 0.5)
    rate = rate * np.array([0.9, 1.1, 1.3])[deals.segment]  # bigger deals, more meetings
    i, t = _spread(rng, lo, hi, rate)
    handover_b = cal.b_on_or_after(np.minimum(deals.handover, cal.bdays[-1]))
    rep = np.where(t >= handover_b[i], deals.owner[i], deals.first_owner[i])
    mix = np.array([DEAL_TYPE_MIX.get(role, DEAL_TYPE_MIX[AE]) for role in range(len(ROLE_NAMES))])
    kind = _draw_rows(rng, mix, org.role[rep])
    return rep, i, deals.account[i], kind, t


def _lead_activities(
    rng: np.random.Generator, p: SizeParams, cal: _Cal, org: _Org, b_lead: np.ndarray, b_end: np.ndarray,
    owner: np.ndarray, account: np.ndarray,
) -> tuple[np.ndarray, ...]:
    """SDR touches on leads while they are worked, before the SDR leaves."""
    first = np.maximum(cal.b_on_or_after(org.hire[owner]), cal.b_on_or_after(np.array([cal.start]))[0])
    lo = np.maximum(b_lead, first).astype(float)
    leave_b = cal.b_on_or_before(np.minimum(org.leave[owner], cal.bdays[-1])) + 1.0
    hi = np.minimum(np.maximum(b_end, b_lead + 1).astype(float), leave_b)
    rate = 0.04 * p.activity_scale * org.skill[owner] ** 0.5
    i, t = _spread(rng, lo, hi, rate)
    kind = _draw_rows(rng, SOLO_TYPE_MIX, np.full(len(i), SDR))
    return owner[i], account[i], kind, t


def _solo_activities(
    rng: np.random.Generator, p: SizeParams, cal: _Cal, org: _Org, acc: _Accounts,
) -> tuple[np.ndarray, ...]:
    """Prospecting, check-ins and internal meetings not tied to a deal: per rep per working day."""
    grid = np.arange(cal.b_on_or_after(np.array([cal.start]))[0], cal.b_last + 1)
    days = cal.bdays[grid]
    tenure = days[None, :] - org.hire[:, None]
    ramp = np.clip(tenure / 182.0, 0.0, 1.0) * (days[None, :] <= org.leave[:, None])
    lam = (SOLO_RATE[org.role] * p.activity_scale * org.skill ** 0.5)[:, None] * ramp
    counts = rng.poisson(lam)
    flat = np.repeat(np.arange(counts.size), counts.ravel())
    rep, b = flat // len(grid), grid[flat % len(grid)]
    t = b + rng.random(len(rep))
    region = org.region[rep]
    with_account = (rng.random(len(rep)) < 0.65) & (org.role[rep] != DIRECTOR)
    account = np.where(with_account, acc.pick(rng, region, cal.bdays[b]), -1)
    kind = _draw_rows(rng, SOLO_TYPE_MIX, org.role[rep])
    return rep, account, kind, t


def _make_activities(
    rng: np.random.Generator, p: SizeParams, cal: _Cal, org: _Org, acc: _Accounts, deals: _Deals,
    opp_ids: pl.Series, lead_parts: tuple[np.ndarray, ...],
) -> tuple[pl.DataFrame, np.ndarray, np.ndarray]:
    """All activities up to as_of, ids in time order; also each one's rep and day for the targets."""
    d_rep, d_opp, d_acc, d_kind, d_t = _deal_activities(rng, p, cal, org, deals)
    l_rep, l_acc, l_kind, l_t = _lead_activities(rng, p, cal, org, *lead_parts)
    s_rep, s_acc, s_kind, s_t = _solo_activities(rng, p, cal, org, acc)
    rep = np.concatenate([d_rep, l_rep, s_rep])
    opp = np.concatenate([d_opp, np.full(len(l_rep) + len(s_rep), -1)])
    account = np.concatenate([d_acc, l_acc, s_acc])
    kind = np.concatenate([d_kind, l_kind, s_kind])
    us = _stamp(cal, np.concatenate([d_t, l_t, s_t]))
    # A few emails go out on Saturdays, from Friday's prospecting work.
    friday = ((us // US_PER_DAY + 3) % 7 == 4) & (opp < 0) & (rng.random(len(us)) < 0.08)
    sat = us + US_PER_DAY
    friday &= (sat // US_PER_DAY <= np.minimum(cal.as_of, org.leave[rep]))
    us = np.where(friday, sat, us)
    kind = np.where(friday, 1, kind)
    order = np.argsort(us, kind="stable")
    rep, opp, account, kind, us = rep[order], opp[order], account[order], kind[order], us[order]
    frame = pl.DataFrame({
        "activity_id": _ids("ACT", len(us), 8),
        "rep_id": org.ids.gather(rep),
        "opportunity_id": _pick(opp_ids, opp, opp < 0),
        "account_id": _pick(acc.ids, account, account < 0),
        "type": _pick(ACTIVITY_TYPES, kind),
        "occurred_at": _ts_series("occurred_at", us),
    })
    return frame, rep, us // US_PER_DAY


# ---------------------------------------------------------------------------------------------------------
# Targets and payments
# ---------------------------------------------------------------------------------------------------------

TARGET_GROWTH = 1.12  # plans rise at every year start and stay flat within the year


@dataclass(frozen=True)
class _Months:
    """The target calendar: months from history start to the end of the plan."""

    no: np.ndarray  # month numbers since January 1970
    first: np.ndarray  # first day of each month
    last: np.ndarray  # last day of each month
    share: np.ndarray  # reps x months: capacity share from days employed and tenure ramp
    hist: np.ndarray  # months complete by as_of, used to calibrate


def _target_months(cal: _Cal, org: _Org) -> _Months:
    """Months of the plan (to the later of year end and next quarter end) and each rep's capacity share."""
    m0, m1 = _month_no(np.array([cal.start]))[0], _month_no(np.array([cal.as_of]))[0]
    end = max(m1 - m1 % 12 + 11, m1 - m1 % 3 + 5)
    no = np.arange(m0, end + 1)
    first, last = _month_first(no), _month_first(no + 1) - 1
    days = (last - first + 1).astype(float)
    overlap = np.minimum(last[None, :], org.leave[:, None]) - np.maximum(first[None, :], org.hire[:, None])
    overlap = overlap + 1
    ramp = np.clip((last[None, :] - org.hire[:, None]) / 182.0, 0.0, 1.0)  # new hires ramp over ~6 months
    share = np.clip(overlap, 0, None) / days[None, :] * ramp
    return _Months(no, first, last, share, last <= cal.as_of)


def _rep_target_rows(
    org: _Org, months: _Months, metric: str, values: np.ndarray, roles: list[int],
) -> pl.DataFrame:
    """Monthly rep target rows for people of some roles, dropping empty ones."""
    rep, col = np.nonzero((values > 0) & np.isin(org.role, roles)[:, None])
    return pl.DataFrame({
        "owner_type": "rep",
        "owner_id": org.ids.gather(rep),
        "period_start": _date_series("period_start", months.first[col]),
        "period_end": _date_series("period_end", months.last[col]),
        "metric": metric,
        "value": values[rep, col].astype(float),
    })


def _bookings_targets(
    cal: _Cal, org: _Org, months: _Months, won_owner: np.ndarray, won_day: np.ndarray, won_amount: np.ndarray,
) -> np.ndarray:
    """Monthly bookings target per rep: calibrated so reps attain about 95% of plan overall."""
    year = months.no // 12
    weight = TARGET_GROWTH ** (year - year[0])
    capacity = months.share * weight[None, :]
    won_month = np.searchsorted(months.no, _month_no(won_day))
    out = np.zeros_like(capacity)
    for role in (AE, CSM):
        reps = org.role == role
        sel = (org.role[won_owner] == role) & (won_month < len(months.no))
        sel &= months.hist[np.minimum(won_month, len(months.no) - 1)] & (won_day >= cal.start)
        booked = won_amount[sel].sum()
        base = booked / max(capacity[reps][:, months.hist].sum(), 1e-9) / 0.95
        out[reps] = np.round(base * capacity[reps] / 500.0) * 500.0
    return out


def _activity_targets(org: _Org, months: _Months, act_rep: np.ndarray, act_day: np.ndarray) -> np.ndarray:
    """Monthly activity target per rep: a little above what a fully ramped colleague of the role logs."""
    col = np.searchsorted(months.no, _month_no(act_day))
    hist = months.hist[np.minimum(col, len(months.no) - 1)] & (col < len(months.no))
    out = np.zeros_like(months.share)
    for role in (AE, SDR, CSM):
        reps = org.role == role
        done = np.count_nonzero(hist & (org.role[act_rep] == role))
        base = done / max(months.share[reps][:, months.hist].sum(), 1e-9) * 1.05
        out[reps] = np.round(base * months.share[reps] / 10.0) * 10.0
    return out


def _new_logo_targets(
    org: _Org, months: _Months, won_owner: np.ndarray, won_day: np.ndarray, won_account: np.ndarray,
) -> pl.DataFrame:
    """Quarterly new-logo target per AE from the recent rate of first wins at an account."""
    order = np.argsort(won_day, kind="stable")
    _, first = np.unique(won_account[order], return_index=True)
    logo_owner, logo_day = won_owner[order][first], won_day[order][first]
    n_q = len(months.no) // 3
    share_q = months.share.reshape(len(org.role), n_q, 3).mean(axis=2)
    hist_q = months.hist.reshape(n_q, 3).all(axis=1)
    recent = np.flatnonzero(hist_q)[-4:]
    q_of = (np.searchsorted(months.no, _month_no(logo_day))) // 3
    is_ae = org.role == AE
    counted = np.isin(q_of, recent) & is_ae[logo_owner]
    base = counted.sum() / max(share_q[is_ae][:, recent].sum(), 1e-9)
    value = np.where((share_q >= 0.25) & is_ae[:, None], np.maximum(1.0, np.round(base * share_q * 1.1)), 0.0)
    rep, q = np.nonzero(value > 0)
    return pl.DataFrame({
        "owner_type": "rep",
        "owner_id": org.ids.gather(rep),
        "period_start": _date_series("period_start", months.first[q * 3]),
        "period_end": _date_series("period_end", months.last[q * 3 + 2]),
        "metric": "new_logos",
        "value": value[rep, q],
    })


def _make_targets(
    cal: _Cal, org: _Org, deals: _Deals, final_amount: np.ndarray, act_rep: np.ndarray, act_day: np.ndarray,
) -> pl.DataFrame:
    """Bookings and activity targets per rep and month, new logos per AE and quarter, bookings per team."""
    months = _target_months(cal, org)
    close = cal.bdays[deals.b_close]
    won = deals.won & (close <= cal.as_of)
    bookings = _bookings_targets(cal, org, months, deals.owner[won], close[won], final_amount[won])
    activities = _activity_targets(org, months, act_rep, act_day)
    reps = _rep_target_rows(org, months, "bookings", bookings, [AE, CSM])
    team_of = pl.DataFrame({"owner_id": org.ids, "team": org.frame["team"]})
    teams = (
        reps.join(team_of, on="owner_id")
        .group_by("team", "period_start", "period_end")
        .agg((pl.col("value").sum() / 1000).round() * 1000)
        .select(pl.lit("team").alias("owner_type"), pl.col("team").alias("owner_id"), "period_start",
                "period_end", pl.lit("bookings").alias("metric"), "value")
    )
    logos = _new_logo_targets(org, months, deals.owner[won], close[won], deals.account[won])
    act = _rep_target_rows(org, months, "activities", activities, [AE, SDR, CSM])
    out = pl.concat([reps, act, logos, teams])
    return schema.conform("targets", out).sort("owner_type", "owner_id", "metric", "period_start")


def _make_payments(
    rng: np.random.Generator, cal: _Cal, deals: _Deals, final_amount: np.ndarray, opp_ids: pl.Series,
) -> pl.DataFrame:
    """One invoice per won deal 0-30 days after the close, most paid 15-90 days later, some never."""
    close = cal.bdays[deals.b_close]
    won = np.flatnonzero(deals.won & (close <= cal.as_of))
    invoiced = close[won] + rng.integers(0, 31, len(won))
    paid = np.where(rng.random(len(won)) < 0.9, invoiced + rng.integers(15, 91, len(won)), NEVER)
    keep = invoiced <= cal.as_of
    won, invoiced, paid = won[keep], invoiced[keep], paid[keep]
    order = np.lexsort((won, invoiced))
    won, invoiced, paid = won[order], invoiced[order], paid[order]
    return pl.DataFrame({
        "payment_id": _ids("INV", len(won), 7),
        "opportunity_id": opp_ids.gather(won),
        "invoiced_date": _date_series("invoiced_date", invoiced),
        # Payments after as_of have not happened yet.
        "paid_date": _null_where(_date_series("paid_date", np.minimum(paid, cal.as_of)), paid > cal.as_of),
        "amount": final_amount[won],
    })


# ---------------------------------------------------------------------------------------------------------
# The demo and its state on any day
# ---------------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Demo:
    """A generated dataset: the canonical tables as of as_of, plus the histories to rebuild earlier days."""

    size: str
    seed: int
    as_of: date
    start: date
    stages: pl.DataFrame
    reps: pl.DataFrame
    accounts: pl.DataFrame
    products: pl.DataFrame
    leads: pl.DataFrame
    opportunities: pl.DataFrame
    stage_changes: pl.DataFrame
    activities: pl.DataFrame
    targets: pl.DataFrame
    payments: pl.DataFrame
    # Histories behind the as-of views (internal, not canonical tables).
    deal_facts: pl.DataFrame
    stage_spans: pl.DataFrame
    amount_history: pl.DataFrame
    close_history: pl.DataFrame
    lead_facts: pl.DataFrame

    def tables(self) -> dict[str, pl.DataFrame]:
        """The canonical tables by name."""
        return {name: getattr(self, name) for name in schema.TABLES}


def _deal_facts(
    rng: np.random.Generator, cal: _Cal, org: _Org, acc: _Accounts, deals: _Deals, opp_ids: pl.Series,
) -> pl.DataFrame:
    """What does not change about a deal, plus the draws that fix its forecast category per stage."""
    n = len(deals.owner)
    lost_known = ~deals.won & (cal.bdays[deals.b_close] <= cal.as_of)  # an open deal's fate is not known yet
    handed = deals.handover < NEVER
    return pl.DataFrame({
        "_i": np.arange(n, dtype=np.int32),
        "opportunity_id": opp_ids,
        "owner_id": org.ids.gather(deals.owner),
        "first_owner_id": org.ids.gather(deals.first_owner),
        "handover_on": _null_where(_date_series("handover_on", np.where(handed, deals.handover, 0)), ~handed),
        "account_id": acc.ids.gather(deals.account),
        "product_id": _pick(tuple(p[0] for p in PRODUCTS), deals.product),
        "source": _pick(SOURCES, deals.source),
        "created_date": _date_series("created_date", cal.bdays[deals.b_created]),
        "lost_reason": _pick(LOST_REASONS, deals.lost_reason, ~lost_known),
        "fc_draw": rng.random(n),
        "fc_omitted": rng.random(n) < 0.04,
    })


def _day_end(day: date) -> datetime:
    """Midnight after a day: events before it happened on or before the day."""
    return datetime.combine(day + timedelta(days=1), time())


def _valid_on(day: date) -> pl.Expr:
    """Rows of a validity-interval history in force on a day."""
    return (pl.col("valid_from") <= day) & (pl.col("valid_to").is_null() | (pl.col("valid_to") > day))


def _forecast_category(stage: pl.Expr, status: pl.Expr) -> pl.Expr:
    """commit mostly in Negotiation, best_case in Proposal, pipeline earlier, omitted now and then."""
    u = pl.col("fc_draw")
    return (
        pl.when(status != "open").then(None)
        .when(pl.col("fc_omitted")).then(pl.lit("omitted"))
        .when(stage == "Negotiation").then(
            pl.when(u < 0.85).then(pl.lit("commit")).otherwise(pl.lit("best_case")))
        .when(stage == "Proposal").then(
            pl.when(u < 0.1).then(pl.lit("commit")).when(u < 0.85).then(pl.lit("best_case"))
            .otherwise(pl.lit("pipeline")))
        .when(stage == "Discovery").then(
            pl.when(u < 0.1).then(pl.lit("best_case")).otherwise(pl.lit("pipeline")))
        .otherwise(pl.lit("pipeline"))
    )


def opportunities_as_of(demo: Demo, day: date) -> pl.DataFrame:
    """The opportunities table as it stood at the end of a day: deals created by then, in their state then."""
    end = _day_end(day)
    stage = demo.stage_spans.filter(
        (pl.col("since") < end) & (pl.col("until").is_null() | (pl.col("until") >= end))
    )
    amount = demo.amount_history.filter(_valid_on(day)).select("_i", pl.col("value").alias("amount"))
    expected = demo.close_history.filter(_valid_on(day)).select(
        "_i", pl.col("value").alias("expected_close_date"))
    df = (
        demo.deal_facts.filter(pl.col("created_date") <= day)
        .join(stage.drop("until"), on="_i", how="left")
        .join(amount, on="_i", how="left")
        .join(expected, on="_i", how="left")
    )
    status = (
        pl.when(pl.col("stage") == STAGE_LIST[WON - 1][0]).then(pl.lit("won"))
        .when(pl.col("stage") == STAGE_LIST[LOST - 1][0]).then(pl.lit("lost"))
        .otherwise(pl.lit("open"))
    )
    df = df.with_columns(status.alias("status")).with_columns(
        pl.when(pl.col("handover_on").is_not_null() & (pl.col("handover_on") > day))
        .then(pl.col("first_owner_id")).otherwise(pl.col("owner_id")).alias("owner_id"),
        pl.when(pl.col("status") != "open").then(pl.col("since").dt.date()).alias("close_date"),
        pl.when(pl.col("status") == "lost").then(pl.col("lost_reason")).alias("lost_reason"),
        _forecast_category(pl.col("stage"), pl.col("status")).alias("forecast_category"),
    )
    return schema.conform("opportunities", df.sort("_i"))


def leads_as_of(demo: Demo, day: date) -> pl.DataFrame:
    """The leads table at the end of a day: leads created by then, with the status they had then."""
    decided = pl.col("decided_on").is_not_null() & (pl.col("decided_on") <= day)
    qualified = pl.col("qualified_on").is_not_null() & (pl.col("qualified_on") <= day)
    df = demo.lead_facts.filter(pl.col("created_date") <= day).with_columns(
        pl.when(decided).then(pl.col("final_status"))
        .when(qualified).then(pl.lit("qualified"))
        .when(pl.col("created_date") > day - timedelta(days=7)).then(pl.lit("new"))
        .otherwise(pl.lit("working")).alias("status"),
        pl.when(qualified).then(pl.col("qualified_on")).alias("qualified_date"),
        pl.when(decided & (pl.col("final_status") == "converted")).then(pl.col("opportunity_id"))
        .alias("converted_opportunity_id"),
    )
    return schema.conform("leads", df)


def payments_as_of(demo: Demo, day: date) -> pl.DataFrame:
    """Invoices sent by a day, with payments after it not yet made."""
    return demo.payments.filter(pl.col("invoiced_date") <= day).with_columns(
        pl.when(pl.col("paid_date") <= day).then(pl.col("paid_date")).alias("paid_date")
    )


def reps_as_of(demo: Demo, day: date) -> pl.DataFrame:
    """People as known on a day: someone who left later was still active then."""
    gone = pl.col("leave_date").is_not_null() & (pl.col("leave_date") <= day)
    return demo.reps.with_columns(
        pl.when(gone).then(pl.col("leave_date")).alias("leave_date"),
        (~gone).alias("active"),
    )


def snapshot_tables(demo: Demo, day: date) -> dict[str, pl.DataFrame]:
    """All snapshot tables as they stood on a day."""
    return {
        "stages": demo.stages,
        "reps": reps_as_of(demo, day),
        "accounts": demo.accounts,
        "products": demo.products,
        "leads": leads_as_of(demo, day),
        "opportunities": opportunities_as_of(demo, day),
        "targets": demo.targets,
        "payments": payments_as_of(demo, day),
    }


def _lead_facts(frame: pl.DataFrame, as_of: date) -> pl.DataFrame:
    """Lead facts with nothing known after as_of: later decisions and qualifications are blanked."""
    later = pl.col("decided_on") > as_of
    return frame.with_columns(
        pl.when(later).then(None).otherwise(pl.col("decided_on")).alias("decided_on"),
        pl.when(later).then(None).otherwise(pl.col("final_status")).alias("final_status"),
        pl.when(pl.col("qualified_on") > as_of).then(None).otherwise(pl.col("qualified_on"))
        .alias("qualified_on"),
    )


def check_years(size: str, years: int) -> None:
    """ValueError unless the size's demo can have `years` of history (XL, streamed in blocks, has only two)."""
    allowed = (DEFAULT_YEARS,) if size == "XL" else YEARS
    if years not in allowed:
        raise ValueError(f"The {size} demo has {', '.join(map(str, allowed))} years of history, not {years}.")


def generate(size: str = "S", seed: int = 7, as_of: date | None = None, years: int = DEFAULT_YEARS) -> Demo:
    """Generate a demo dataset; the same size, seed, as_of and years always give the same frames."""
    if size not in SIZES:
        raise ValueError(f"Unknown demo size {size!r}; choose one of {', '.join(SIZES)}.")
    check_years(size, years)
    p, as_of = SIZES[size], as_of or date.today()
    rng = np.random.default_rng(seed)
    cal = _calendar(as_of, years)
    org = _make_org(rng, p, cal)
    acc = _make_accounts(rng, p, org, cal)
    deals, created = _make_deals(rng, p, cal, org, acc)
    opp_ids = _ids("OPP", len(created), 7)
    close = cal.bdays[deals.b_close]
    changes, spans = _stage_history(rng, cal, deals, opp_ids)
    a_rows, a_days, a_vals, final_amount = _amount_revisions(rng, created, close, deals.amount0)
    c_rows, c_days, c_vals = _close_revisions(rng, cal, created, close, deals.won)
    lead_frame, lead_parts = _make_leads(rng, cal, org, acc, deals, opp_ids)
    activities, act_rep, act_day = _make_activities(rng, p, cal, org, acc, deals, opp_ids, lead_parts)
    targets = _make_targets(cal, org, deals, final_amount, act_rep, act_day)
    payments = _make_payments(rng, cal, deals, final_amount, opp_ids)
    facts = _deal_facts(rng, cal, org, acc, deals, opp_ids)
    demo = Demo(
        size=size, seed=seed, as_of=as_of, start=_date(cal.start),
        stages=_stages_frame(), reps=org.frame, accounts=acc.frame, products=_products_frame(),
        leads=schema.empty_frame("leads"), opportunities=schema.empty_frame("opportunities"),
        stage_changes=schema.conform("stage_changes", changes),
        activities=schema.conform("activities", activities),
        targets=targets, payments=schema.conform("payments", payments),
        deal_facts=facts, stage_spans=spans,
        amount_history=_history_frame(a_rows, a_days, a_vals, cal.as_of),
        close_history=_history_frame(c_rows, c_days, c_vals.astype("datetime64[D]"), cal.as_of),
        lead_facts=_lead_facts(lead_frame, as_of),
    )
    demo = replace(demo, opportunities=opportunities_as_of(demo, as_of), leads=leads_as_of(demo, as_of))
    return demo


def snapshot_days(size: str, as_of: date, years: int = DEFAULT_YEARS) -> list[date]:
    """The weekly snapshot days of a demo, oldest first, the last one on as_of."""
    n = SIZES[size].snapshots or WEEKS_PER_YEAR * years
    return [as_of - timedelta(days=7 * k) for k in reversed(range(n))]


def build(
    data_dir: Path,
    size: str = "S",
    seed: int = 7,
    as_of: date | None = None,
    progress: Callable[[float, str], None] | None = None,
    years: int = DEFAULT_YEARS,
) -> list[store.Snapshot]:
    """Generate the demo (`years` of history), write its event history and publish its weekly snapshots, oldest first.

    Into a data directory with no snapshot the demo is built aside and moved in whole at the end, holding the
    import lock throughout: a page opened meanwhile waits instead of showing the first weeks as if they were all,
    and a build killed halfway leaves only a staging folder the next start removes.
    """
    say = progress or (lambda fraction, message: None)
    as_of = as_of or date.today()
    check_years(size, years)  # before the lock and the folder: a refused build leaves nothing
    data_dir.mkdir(parents=True, exist_ok=True)
    with store.import_lock(data_dir, timeout=store.LOCK_WAIT_SECONDS):
        publish = _publish_xl if size == "XL" else _publish
        if store.list_snapshots(data_dir):  # adding to existing data: each snapshot appears whole, as an import's
            return publish(data_dir, size, seed, as_of, say, years)
        store.clean_leftovers(data_dir)  # a build killed earlier left its staging folder
        built = store.staging_dir(data_dir)
        try:
            count = len(publish(built, size, seed, as_of, say, years))
            snaps = store.move_in(built, data_dir)[-count:]
        finally:
            shutil.rmtree(built, ignore_errors=True)
    say(1.0, "Demo ready")
    return snaps


def demo_source(size: str, seed: int, years: int = DEFAULT_YEARS) -> str:
    """What a demo snapshot's manifest says it came from (the years only when not the default two)."""
    return f"demo size={size} seed={seed}" + (f" years={years}" if years != DEFAULT_YEARS else "")


def _publish(data_dir: Path, size: str, seed: int, as_of: date,
             say: Callable[[float, str], None], years: int = DEFAULT_YEARS) -> list[store.Snapshot]:
    """Generate the demo and publish its weekly snapshots into data_dir, oldest first."""
    from queries.runner import build_derived  # DuckDB only when publishing
    say(0.0, f"Generating the {size} demo")
    demo = generate(size, seed, as_of, years)
    say(0.35, "Writing history and snapshots")
    days = snapshot_days(size, as_of, years)
    snaps = []
    # The whole history is the first snapshot's batch (each snapshot sees it up to its own day), so the later
    # ones add none; the caller holds the import lock, so no import publishes in between.
    history = {"stage_changes": demo.stage_changes, "activities": demo.activities}
    for k, day in enumerate(days):
        say(0.4 + 0.6 * k / len(days), f"Publishing snapshot {k + 1} of {len(days)} ({day.isoformat()})")
        tables = snapshot_tables(demo, day)
        # Only the latest snapshot gets its derived tables now (that is the one pages open); the runner computes
        # them for older ones, and `saleslens derive` stores them, so a first start stays quick.
        latest = k == len(days) - 1
        snaps.append(store.publish_snapshot(data_dir, day, tables, source=demo_source(size, seed, years),
                                            derive=build_derived if latest else None,
                                            events=history if k == 0 else None))
    return snaps


# ---------------------------------------------------------------------------------------------------------
# XL: L's organisation repeated in independent blocks, generated, written and published one block at a time
# ---------------------------------------------------------------------------------------------------------

XL_BLOCK_SIZE = "L"  # each block is an L organisation (about 5,000 people)
XL_BLOCKS = 10
# Four weekly snapshots, not L's 13: each one copies ~10M opportunities, and pages open the latest.
XL_SNAPSHOTS = 4
# Identifier columns a block prefixes with its number (product ids are shared: one catalogue).
_ID_COLUMNS = ("rep_id", "manager_id", "account_id", "lead_id", "owner_id", "converted_opportunity_id",
               "opportunity_id", "activity_id", "payment_id")
# What DuckDB may use while sorting and copying the XL parts; it spills beyond (bounded memory).
XL_DUCKDB_MEMORY = "2GB"


def block_seed(seed: int, block: int) -> int:
    """An independent seed for one block of a blocked demo, fixed by the demo seed and the block number."""
    return int(np.random.SeedSequence([seed, block]).generate_state(1)[0])


def _relabel(table: str, df: pl.DataFrame, block: int, teams_per_region: int) -> pl.DataFrame:
    """A block's table with identifiers unique across blocks: R0001 -> R070001, team "EMEA 3" -> "EMEA 647"."""
    def ids(col: str) -> pl.Expr:
        return pl.col(col).str.replace(r"^([A-Z]+)", "${1}" + f"{block:02d}")

    def team(col: pl.Expr) -> pl.Expr:
        number = col.str.extract(r"(\d+)$", 1).cast(pl.Int64) + block * teams_per_region
        return pl.concat_str(col.str.replace(r"\d+$", ""), number.cast(pl.String))

    out = []
    for col in df.columns:
        if table == "targets" and col == "owner_id":  # a rep id, or the team name for team targets
            out.append(pl.when(pl.col("owner_type") == "team").then(team(pl.col(col))).otherwise(ids(col))
                       .alias(col))
        elif col in _ID_COLUMNS:
            out.append(ids(col).alias(col))
        elif table == "reps" and col == "team":
            out.append(team(pl.col(col)).alias(col))
        else:
            out.append(pl.col(col))
    return df.select(out)


def xl_block(seed: int, block: int, as_of: date, size: str = XL_BLOCK_SIZE) -> Demo:
    """One block of the XL demo: the size's demo with the block's own seed (relabelled by block_tables)."""
    return generate(size, block_seed(seed, block), as_of)


def block_tables(demo: Demo, block: int, day: date) -> dict[str, pl.DataFrame]:
    """A block's snapshot tables on a day, identifiers made unique across blocks."""
    teams = SIZES[demo.size].teams_per_region
    return {name: _relabel(name, df, block, teams) for name, df in snapshot_tables(demo, day).items()}


def block_history(demo: Demo, block: int) -> dict[str, pl.DataFrame]:
    """A block's event history, identifiers made unique across blocks."""
    teams = SIZES[demo.size].teams_per_region
    return {name: _relabel(name, getattr(demo, name), block, teams) for name in schema.EVENT_TABLES}


def xl_snapshot_days(as_of: date, count: int = XL_SNAPSHOTS) -> list[date]:
    """The XL demo's weekly snapshot days, oldest first, the last one on as_of."""
    return [as_of - timedelta(days=7 * k) for k in reversed(range(count))]


def _write_part(frame: pl.DataFrame, path: Path) -> None:
    """One Parquet part of a block (its folder made)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    frame.write_parquet(path, row_group_size=200_000, statistics=True)


def _write_block(parts: Path, demo: Demo, block: int, days: list[date]) -> None:
    """Write a block's history (one part per month, so a month's copy reads only its files) and its tables."""
    for name, frame in block_history(demo, block).items():
        col = schema.TABLES[name].event_time
        keyed = frame.with_columns(pl.col(col).dt.strftime("%Y-%m").alias("_month"))
        for (month,), part in keyed.partition_by("_month", as_dict=True).items():
            _write_part(part.drop("_month").sort(col), parts / "events" / name / f"{month}-{block:02d}.parquet")
    for k, day in enumerate(days):
        for name, frame in block_tables(demo, block, day).items():
            if name in ("stages", "products") and block > 0:  # one catalogue, the same in every block
                continue
            # Conformed here: the streamed publish copies the parts' columns as they are.
            _write_part(schema.conform(name, frame), parts / f"snapshot-{k}" / name / f"{block:02d}.parquet")


def build_blocks(
    data_dir: Path, seed: int, as_of: date, say: Callable[[float, str], None], blocks: int = XL_BLOCKS,
    size: str = XL_BLOCK_SIZE, snapshots: int = XL_SNAPSHOTS, memory_limit: str = XL_DUCKDB_MEMORY,
) -> list[store.Snapshot]:
    """Generate a blocked demo one block at a time into Parquet parts, then publish its snapshots from them.

    Only one block is in memory at a time; the snapshots are published from the parts by DuckDB (sorting
    out of core), so memory stays bounded whatever the number of blocks. The whole history is the first
    snapshot's batch, as in _publish. The parts folder sits beside data_dir (inside its parent's .tmp when
    data_dir is a staging folder), where the publishing clean-up of data_dir does not reach.
    """
    from queries.runner import build_derived  # DuckDB only when publishing
    days = xl_snapshot_days(as_of, snapshots)
    parts = data_dir.parent / f"{data_dir.name}-parts"
    shutil.rmtree(parts, ignore_errors=True)
    try:
        for block in range(blocks):
            say(0.7 * block / blocks, f"Generating block {block + 1} of {blocks}")
            _write_block(parts, xl_block(seed, block, as_of, size), block, days)
        say(0.7, "Writing history and snapshots")
        history = {name: sorted((parts / "events" / name).glob("*.parquet")) for name in schema.EVENT_TABLES}
        snaps = []
        for k, day in enumerate(days):
            say(0.7 + 0.3 * k / len(days), f"Publishing snapshot {k + 1} of {len(days)} ({day.isoformat()})")
            tables = {p.name: sorted(p.glob("*.parquet")) for p in sorted((parts / f"snapshot-{k}").iterdir())}
            latest = k == len(days) - 1
            snaps.append(store.publish_snapshot_parts(
                data_dir, day, tables, source=f"demo size=XL blocks={blocks}x{size} seed={seed}",
                derive=build_derived if latest else None, events=history if k == 0 else None,
                memory_limit=memory_limit))
            shutil.rmtree(parts / f"snapshot-{k}", ignore_errors=True)
        return snaps
    finally:
        shutil.rmtree(parts, ignore_errors=True)


def _publish_xl(data_dir: Path, size: str, seed: int, as_of: date,
                say: Callable[[float, str], None], years: int = DEFAULT_YEARS) -> list[store.Snapshot]:
    """The XL demo (L's organisation in XL_BLOCKS blocks), streamed: _publish's counterpart for build."""
    return build_blocks(data_dir, seed, as_of, say)
