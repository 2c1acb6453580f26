"""Tests of the deterministic demo generator: shape, consistency, realism and publishing."""

from __future__ import annotations

import itertools
import time
from datetime import date, datetime, timedelta
from pathlib import Path

import polars as pl
import pytest

from saleslens import demo
from saleslens.core import schema, store

AS_OF = date(2025, 11, 19)  # a Wednesday, so the last week has working days on both sides


@pytest.fixture(scope="module")
def small() -> demo.Demo:
    """The default demo, generated once for the module."""
    return demo.generate("S", 7, AS_OF)


def _internal(d: demo.Demo) -> dict[str, pl.DataFrame]:
    """The histories behind the as-of views."""
    names = ["deal_facts", "stage_spans", "amount_history", "close_history", "lead_facts"]
    return {name: getattr(d, name) for name in names}


def test_same_seed_and_day_give_identical_frames(small: demo.Demo) -> None:
    again = demo.generate("S", 7, AS_OF)
    for name, frame in {**small.tables(), **_internal(small)}.items():
        other = {**again.tables(), **_internal(again)}[name]
        assert frame.equals(other), name


def test_another_seed_gives_other_data(small: demo.Demo) -> None:
    other = demo.generate("S", 8, AS_OF)
    for name in ["reps", "accounts", "opportunities", "stage_changes", "activities", "leads", "targets"]:
        assert not small.tables()[name].equals(other.tables()[name]), name


def test_unknown_size_is_refused() -> None:
    with pytest.raises(ValueError, match="Unknown demo size"):
        demo.generate("XL", 7, AS_OF)


@pytest.mark.parametrize(("size", "years", "first", "count"), [
    # 2025-11-19 less 730 days is 2023-11-20, in the quarter that starts 2023-10-01; less 1,095 days 2022-11-19
    ("S", 2, date(2023, 10, 1), 104),
    ("S", 3, date(2022, 10, 1), 156),
    ("M", 5, date(2020, 10, 1), 260),
    ("L", 3, date(2022, 10, 1), 13),  # L publishes its last 13 weeks whatever the years
])
def test_years_set_the_history_and_the_weekly_snapshots(size: str, years: int, first: date, count: int) -> None:
    assert demo._date(demo._calendar(AS_OF, years).start) == first
    days = demo.snapshot_days(size, AS_OF, years)
    assert len(days) == count and days[-1] == AS_OF
    assert all((b - a).days == 7 for a, b in itertools.pairwise(days))


@pytest.mark.parametrize("years", [1, 6])
def test_years_outside_the_range_are_refused(years: int) -> None:
    with pytest.raises(ValueError, match=f"not {years}"):
        demo.generate("S", 7, AS_OF, years)


def test_a_longer_history_is_the_same_business_today(small: demo.Demo) -> None:
    """Three years go further back, and today's business is as big as in two: the growth starts from the two-year
    history's first day, so the deals created in the last year are about as many (Poisson draws of ~4,500: a few
    percent apart; were the growth to start three years back they would be a seventh more)."""
    longer = demo.generate("S", 7, AS_OF, 3)
    assert longer.start == date(2022, 10, 1) and small.start == date(2023, 10, 1)
    assert longer.opportunities["created_date"].min() < small.start
    year_ago = AS_OF - timedelta(days=365)

    def last_year(d: demo.Demo) -> int:
        return d.opportunities.filter(pl.col("created_date") > year_ago).height

    assert abs(last_year(longer) / last_year(small) - 1) < 0.06


def test_every_table_conforms_to_the_schema_with_unique_keys(small: demo.Demo) -> None:
    for name, frame in small.tables().items():
        spec = schema.TABLES[name]
        assert schema.conform(name, frame).schema == frame.schema, name
        assert frame.height > 0, name
        for col in spec.required:
            assert frame[col].null_count() == 0, f"{name}.{col}"
        assert not frame.select(spec.key).is_duplicated().any(), name


def test_size_s_has_the_advertised_volume(small: demo.Demo) -> None:
    assert 50 <= small.reps.height <= 75
    assert small.accounts.height == 600
    assert 6_000 <= small.opportunities.height <= 10_000
    assert 60_000 <= small.activities.height <= 100_000
    assert 5 <= small.products.height <= 8
    assert small.stages["stage"].to_list() == [
        "Prospecting", "Qualification", "Discovery", "Proposal", "Negotiation", "Closed Won", "Closed Lost",
    ]


def test_foreign_keys_link(small: demo.Demo) -> None:
    reps = set(small.reps["rep_id"])
    accounts, products = set(small.accounts["account_id"]), set(small.products["product_id"])
    opps = set(small.opportunities["opportunity_id"])
    o = small.opportunities
    assert set(o["owner_id"]) <= reps
    assert set(o["account_id"]) <= accounts and set(o["product_id"]) <= products
    assert set(small.reps["manager_id"].drop_nulls()) <= reps
    assert set(small.stage_changes["opportunity_id"]) == opps
    a = small.activities
    assert set(a["rep_id"]) <= reps
    assert set(a["opportunity_id"].drop_nulls()) <= opps
    assert set(a["account_id"].drop_nulls()) <= accounts
    leads = small.leads
    assert set(leads["owner_id"].drop_nulls()) <= reps
    assert set(leads["converted_opportunity_id"].drop_nulls()) <= opps
    won = set(o.filter(pl.col("status") == "won")["opportunity_id"])
    assert set(small.payments["opportunity_id"]) <= won
    t = small.targets
    assert set(t.filter(pl.col("owner_type") == "rep")["owner_id"]) <= reps
    assert set(t.filter(pl.col("owner_type") == "team")["owner_id"]) <= set(small.reps["team"].drop_nulls())
    stages = set(small.stages["stage"])
    assert set(o["stage"]) <= stages and set(small.stage_changes["to_stage"]) <= stages


def test_nothing_is_dated_after_as_of(small: demo.Demo) -> None:
    allowed = {
        ("opportunities", "expected_close_date"), ("targets", "period_start"), ("targets", "period_end"),
    }
    end = datetime.combine(AS_OF + timedelta(days=1), datetime.min.time())
    for name, frame in small.tables().items():
        for col, dtype in frame.schema.items():
            if (name, col) in allowed or dtype not in (pl.Date, pl.Datetime("us")):
                continue
            latest = frame[col].max()
            limit = AS_OF if dtype == pl.Date else end - timedelta(microseconds=1)
            assert latest is None or latest <= limit, f"{name}.{col} = {latest}"
    t = small.targets
    assert t["period_end"].max() >= date(AS_OF.year, 12, 31)  # the plan covers the year and next quarter
    assert t["period_end"].max() >= date(2026, 3, 31)


def test_org_has_directors_managers_and_teams(small: demo.Demo) -> None:
    r = small.reps
    directors = r.filter(pl.col("role") == "Director")
    assert directors.height == 3 and directors["manager_id"].null_count() == 3
    assert set(directors["region"]) == {"North America", "EMEA", "APAC"}
    managers = r.filter(pl.col("role") == "Manager")
    assert set(managers["manager_id"]) <= set(directors["rep_id"])
    members = r.filter(pl.col("role").is_in(["AE", "SDR", "CSM"]))
    lead_of = dict(zip(managers["team"], managers["rep_id"], strict=True))
    assert all(lead_of[t] == m for t, m in zip(members["team"], members["manager_id"], strict=True))
    sizes = members.group_by("team").len()["len"]
    assert sizes.min() >= 6 and sizes.max() <= 10
    shares = members["role"].value_counts(normalize=True)
    ae = shares.filter(pl.col("role") == "AE")["proportion"].item()
    assert 0.5 <= ae <= 0.75
    assert r["name"].n_unique() == r.height
    assert 1 <= r.filter(~pl.col("active")).height <= 8
    assert r.filter(pl.col("hire_date") > AS_OF - timedelta(days=365)).height >= 2


def test_leavers_do_nothing_after_leaving(small: demo.Demo) -> None:
    gone = small.reps.filter(pl.col("leave_date").is_not_null()).select("rep_id", "leave_date")
    acts = small.activities.join(gone, on="rep_id")
    assert acts.filter(pl.col("occurred_at").dt.date() > pl.col("leave_date")).height == 0
    created = small.deal_facts.join(gone, left_on="first_owner_id", right_on="rep_id")
    assert created.filter(pl.col("created_date") > pl.col("leave_date")).height == 0
    still_owned = small.opportunities.filter(pl.col("status") == "open").join(
        gone, left_on="owner_id", right_on="rep_id")
    assert still_owned.height == 0


def test_stage_history_skips_regresses_and_ends_at_the_current_stage(small: demo.Demo) -> None:
    pos = dict(zip(small.stages["stage"], small.stages["position"], strict=True))
    sc = small.stage_changes.with_columns(
        pl.col("from_stage").replace_strict(pos, default=None).alias("f"),
        pl.col("to_stage").replace_strict(pos).alias("t"),
    )
    moves = sc.filter(pl.col("f").is_not_null() & (pl.col("t") <= 5))
    n = small.opportunities.height
    skipped = moves.filter(pl.col("t") - pl.col("f") >= 2)["opportunity_id"].n_unique() / n
    regressed = moves.filter(pl.col("t") < pl.col("f"))["opportunity_id"].n_unique() / n
    assert 0.05 <= skipped <= 0.15 and 0.02 <= regressed <= 0.08
    first = sc.sort("changed_at").group_by("opportunity_id").first()
    assert first["from_stage"].null_count() == first.height
    last = sc.sort("changed_at").group_by("opportunity_id").last()
    joined = small.opportunities.join(last, on="opportunity_id")
    assert (joined["stage"] == joined["to_stage"]).all()
    closed = joined.filter(pl.col("status") != "open")
    assert (closed["changed_at"].dt.date() == closed["close_date"]).all()
    created = small.opportunities.join(first, on="opportunity_id")
    assert (created["changed_at"].dt.date() == created["created_date"]).all()
    assert (sc["changed_at"].dt.weekday() <= 5).all()


def test_opportunity_fields_follow_the_status(small: demo.Demo) -> None:
    o = small.opportunities
    closed = o.filter(pl.col("status") != "open")
    open_ = o.filter(pl.col("status") == "open")
    win_rate = (closed["status"] == "won").mean()
    assert 0.25 <= win_rate <= 0.35
    assert closed["close_date"].null_count() == 0 and open_["close_date"].null_count() == open_.height
    assert closed["forecast_category"].null_count() == closed.height
    assert set(open_["forecast_category"]) <= {"commit", "best_case", "pipeline", "omitted"}
    lost = o.filter(pl.col("status") == "lost")
    assert lost["lost_reason"].null_count() == 0
    assert o.filter(pl.col("status") != "lost")["lost_reason"].null_count() == o.height - lost.height
    assert open_["expected_close_date"].min() >= AS_OF - timedelta(days=14)  # at most slightly overdue
    cycle = (closed["close_date"] - closed["created_date"]).dt.total_days()
    assert cycle.min() >= 10 and cycle.max() <= 210
    by_segment = closed.join(small.accounts, on="account_id").group_by("segment").agg(
        pl.col("amount").median(), (pl.col("close_date") - pl.col("created_date")).dt.total_days().mean())
    amount = dict(zip(by_segment["segment"], by_segment["amount"], strict=True))
    assert amount["Enterprise"] > 3 * amount["Mid-Market"] > 3 * amount["SMB"] / 2


def test_quarter_end_months_book_more(small: demo.Demo) -> None:
    won = small.opportunities.filter(pl.col("status") == "won")
    by = won.group_by(((pl.col("close_date").dt.month() - 1) % 3).alias("m")).agg(pl.col("amount").sum())
    amount = dict(zip(by["m"], by["amount"], strict=True))
    assert amount[2] > 1.5 * amount[1] and amount[2] > 1.5 * amount[0]


def test_referral_and_partner_leads_convert_better_than_outbound(small: demo.Demo) -> None:
    rate = small.leads.group_by("source").agg((pl.col("status") == "converted").mean().alias("r"))
    r = dict(zip(rate["source"], rate["r"], strict=True))
    assert r["Referral"] > r["Outbound"] and r["Partner"] > r["Outbound"]
    leads = small.leads
    qualified = leads.filter(pl.col("status").is_in(["qualified", "converted"]))
    assert qualified["qualified_date"].null_count() == 0
    from_leads = leads["converted_opportunity_id"].drop_nulls().n_unique() / small.opportunities.height
    assert 0.5 < from_leads < 0.95


def test_activities_sit_on_deals_their_rep_worked_while_open(small: demo.Demo) -> None:
    a = small.activities
    assert a["opportunity_id"].is_not_null().mean() > 0.5
    assert (a["occurred_at"].dt.weekday() > 5).mean() < 0.02
    on_deal = a.drop_nulls("opportunity_id").join(
        small.deal_facts.select("opportunity_id", "owner_id", "first_owner_id"), on="opportunity_id"
    ).join(small.opportunities.select("opportunity_id", "created_date", "close_date"), on="opportunity_id")
    day = pl.col("occurred_at").dt.date()
    assert on_deal.filter(day < pl.col("created_date")).height == 0
    assert on_deal.filter(day > pl.col("close_date")).height == 0
    by_owner = (pl.col("rep_id") == pl.col("owner_id")) | (pl.col("rep_id") == pl.col("first_owner_id"))
    assert on_deal.filter(~by_owner).height == 0
    per_deal = on_deal.group_by("opportunity_id").len().join(small.opportunities, on="opportunity_id")
    mean = per_deal.group_by("status").agg(pl.col("len").mean())
    m = dict(zip(mean["status"], mean["len"], strict=True))
    assert m["won"] > m["lost"]


def test_targets_ramp_rise_and_roll_up(small: demo.Demo) -> None:
    t = small.targets
    assert set(t["metric"]) == {"bookings", "activities", "new_logos"}
    rep_b = t.filter((pl.col("owner_type") == "rep") & (pl.col("metric") == "bookings"))
    team_b = t.filter(pl.col("owner_type") == "team")
    summed = rep_b.join(small.reps.select("rep_id", "team"), left_on="owner_id", right_on="rep_id").group_by(
        "team", "period_start").agg(pl.col("value").sum())
    check = team_b.join(summed, left_on=["owner_id", "period_start"], right_on=["team", "period_start"])
    assert check.height == team_b.height and ((check["value"] - check["value_right"]).abs() <= 500).all()
    monthly = team_b.group_by("period_start").agg(pl.col("value").sum())
    plan = dict(zip(monthly["period_start"], monthly["value"], strict=True))
    assert plan[date(2025, 1, 1)] > 1.08 * plan[date(2024, 12, 1)]  # January starts a higher plan
    logos = t.filter(pl.col("metric") == "new_logos")
    assert ((logos["period_end"] - logos["period_start"]).dt.total_days() > 80).all()
    # Attainment over complete months lands near plan, with a spread across reps.
    won = small.opportunities.filter((pl.col("status") == "won") & (pl.col("close_date") < date(2025, 11, 1)))
    done = rep_b.filter(pl.col("period_end") < date(2025, 11, 1))
    att = done.group_by("owner_id").agg(pl.col("value").sum()).join(
        won.group_by("owner_id").agg(pl.col("amount").sum()), on="owner_id", how="left").fill_null(0)
    overall = att["amount"].sum() / att["value"].sum()
    assert 0.8 <= overall <= 1.1
    ratio = att["amount"] / att["value"]
    assert ratio.max() > 1.2 and ratio.min() < 0.6


def test_new_hires_ramp_their_targets(small: demo.Demo) -> None:
    hired = pl.col("hire_date")
    recent = small.reps.filter(
        (pl.col("role") == "AE") & (hired > date(2025, 1, 1)) & (hired < date(2025, 6, 1))
    )
    assert recent.height >= 1
    rep = recent["rep_id"][0]
    mine = (pl.col("owner_id") == rep) & (pl.col("metric") == "bookings")
    values = small.targets.filter(mine & (pl.col("period_start").dt.year() == 2025)).sort("period_start")
    values = values["value"]
    assert values[0] < values[-1]


def test_payments_follow_won_deals(small: demo.Demo) -> None:
    p = small.payments.join(small.opportunities, on="opportunity_id")
    lag = (p["invoiced_date"] - p["close_date"]).dt.total_days()
    assert lag.min() >= 0 and lag.max() <= 30
    paid = p.drop_nulls("paid_date")
    assert ((paid["paid_date"] - paid["invoiced_date"]).dt.total_days() >= 15).all()
    assert 0 < p["paid_date"].null_count() < p.height / 3
    assert (p["amount"] == p["amount_right"]).all()


def test_opportunities_as_of_an_earlier_day(small: demo.Demo) -> None:
    day = AS_OF - timedelta(days=60)
    then = demo.opportunities_as_of(small, day)
    assert then["created_date"].max() <= day
    assert then["close_date"].drop_nulls().max() <= day
    assert then.height < small.opportunities.height
    # State matches the stage history cut at that day.
    end = datetime.combine(day + timedelta(days=1), datetime.min.time())
    last = small.stage_changes.filter(pl.col("changed_at") < end).sort("changed_at").group_by(
        "opportunity_id").last()
    joined = then.join(last, on="opportunity_id")
    assert joined.height == then.height and (joined["stage"] == joined["to_stage"]).all()
    # Some deals were open then and closed since; revisions make amounts and dates differ for others.
    now = small.opportunities.join(then, on="opportunity_id", suffix="_then")
    assert now.filter((pl.col("status_then") == "open") & (pl.col("status") != "open")).height > 100
    assert now.filter(pl.col("amount") != pl.col("amount_then")).height > 20
    assert demo.opportunities_as_of(small, AS_OF).equals(small.opportunities)


def _waterfall(prev: pl.DataFrame, cur: pl.DataFrame) -> dict[str, int]:
    """How many deals fall in each pipeline-movement category between two snapshots."""
    both = prev.join(cur, on="opportunity_id", suffix="_cur")
    was_open = both.filter(pl.col("status") == "open")
    still_open = was_open.filter(pl.col("status_cur") == "open")
    return {
        "new": cur.join(prev, on="opportunity_id", how="anti").height,
        "increased": still_open.filter(pl.col("amount_cur") > pl.col("amount")).height,
        "decreased": still_open.filter(pl.col("amount_cur") < pl.col("amount")).height,
        "pushed": still_open.filter(pl.col("expected_close_date_cur") > pl.col("expected_close_date")).height,
        "pulled": still_open.filter(pl.col("expected_close_date_cur") < pl.col("expected_close_date")).height,
        "won": was_open.filter(pl.col("status_cur") == "won").height,
        "lost": was_open.filter(pl.col("status_cur") == "lost").height,
    }


def test_build_publishes_weekly_snapshots_with_pipeline_movement(tmp_path: Path) -> None:
    calls: list[tuple[float, str]] = []
    started = time.perf_counter()
    snaps = demo.build(tmp_path, "S", 7, AS_OF, progress=lambda f, m: calls.append((f, m)))
    print(f"\ndemo.build S took {time.perf_counter() - started:.1f} s")
    # two years of weekly snapshots: the forecast learns from them
    assert len(snaps) == len(demo.snapshot_days("S", AS_OF)) == 104
    assert [s.as_of for s in snaps] == [AS_OF - timedelta(days=7 * k) for k in range(103, -1, -1)]
    listed = store.list_snapshots(tmp_path)
    assert [s.id for s in listed] == [s.id for s in snaps] and listed[-1].as_of == AS_OF
    assert store.open_snapshot(tmp_path).id == AS_OF.isoformat()
    fractions = [f for f, _ in calls]
    assert fractions == sorted(fractions) and fractions[-1] == 1.0 and all(m for _, m in calls)
    last = snaps[-1]
    assert set(last.manifest["row_counts"]) == set(schema.SNAPSHOT_TABLES)
    assert last.manifest["events"]["activities"] > 0 and last.manifest["events"]["stage_changes"] > 0
    assert last.manifest["source"] == "demo size=S seed=7"
    prev = pl.read_parquet(snaps[-2].table_path("opportunities"))
    cur = pl.read_parquet(last.table_path("opportunities"))
    moves = _waterfall(prev, cur)
    assert all(n > 0 for n in moves.values()), moves
    payments = pl.read_parquet(snaps[0].table_path("payments"))
    assert payments["invoiced_date"].max() <= snaps[0].as_of
    assert payments["paid_date"].drop_nulls().max() <= snaps[0].as_of
    leads = pl.read_parquet(snaps[0].table_path("leads"))
    assert leads["created_date"].max() <= snaps[0].as_of
    assert not list((tmp_path / store.TMP).iterdir())
