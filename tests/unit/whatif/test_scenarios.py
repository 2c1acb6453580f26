"""What-if scenario math against hand-worked examples, the per-rep base query, links, and bad input."""

from __future__ import annotations

from dataclasses import replace
from datetime import date

import plotly.graph_objects as go
import polars as pl
import pytest

from queries.runner import Runner
from saleslens.whatif import charts as charts_whatif
from saleslens.whatif import scenarios
from saleslens.whatif.scenarios import Scenario, ScenarioError
from tests import whatif_fixtures as wf


def run(sc: Scenario, base: pl.DataFrame | None = None, as_of: date = wf.CLOSED_AS_OF) -> scenarios.Result:
    """Compute a scenario on the literal base with the test plans."""
    return scenarios.compute(wf.base() if base is None else base, sc, wf.plans(), as_of)


def by_rep(result: scenarios.Result, column: str) -> dict[str, object]:
    """One result column keyed by rep_id."""
    return dict(result.reps.select("rep_id", column).rows())


# ---------------------------------------------------------------- the base query


def test_base_query_on_the_tiny_dataset(tiny: Runner) -> None:
    """Q2 2026 per rep, worked out from tests/fixtures.py."""
    base = tiny.run("whatif_base_by_rep", start=date(2026, 4, 1), end=date(2026, 6, 30))
    rows = {r["rep_id"]: r for r in base.to_dicts()}
    # Managers M1 and M2 have no target, no deal and no pipeline: not listed.
    assert sorted(rows) == ["R1", "R2", "R3"]
    # R1: targets 3 x 1,000; only O7 (lost 1 Jun) closed in Q2.
    assert (rows["R1"]["target"], rows["R1"]["bookings"], rows["R1"]["deals_won"], rows["R1"]["deals_lost"]) == (
        3_000, 0, 0, 1)
    assert rows["R1"]["win_rate"] == 0 and rows["R1"]["cycle_days"] is None
    # R2: 3 x 2,000; O3 won 15 Apr for 6,000 after 1 Feb -> 15 Apr = 28 + 31 + 14 = 73 days;
    # O6 open (Prospecting, 10%) expected 30 Jun: pipeline 1,000, weighted 100.
    r2 = rows["R2"]
    assert (r2["target"], r2["bookings"], r2["deals_won"], r2["cycle_days"]) == (6_000, 6_000, 1, 73)
    assert (r2["open_pipeline"], r2["weighted_pipeline"], r2["avg_deal_size"]) == (1_000, pytest.approx(100), 6_000)
    # R3: 3 x 2,000 from April; O4 won 1 May for 2,000 after 1 Mar -> 61 days; O5 expected 15 Jul is outside Q2.
    r3 = rows["R3"]
    assert (r3["target"], r3["bookings"], r3["cycle_days"], r3["open_pipeline"]) == (6_000, 2_000, 61, 0)
    assert (r3["role"], r3["team"], r3["region"], r3["hire_date"]) == ("AE", "West 1", "West", date(2026, 1, 1))


def test_base_query_follows_the_scope(tiny: Runner) -> None:
    """Team and region filters narrow the reps; the whole half-year sums six months of targets."""
    west = tiny.run("whatif_base_by_rep", start=date(2026, 4, 1), end=date(2026, 6, 30), teams=["West 1"])
    assert west["rep_id"].to_list() == ["R3"]
    half = tiny.run("whatif_base_by_rep", start=date(2026, 1, 1), end=date(2026, 6, 30), regions=["East"])
    # R1: 6 x 1,000 = 6,000 and O1 won 1,000; R2: 6 x 2,000 = 12,000.
    assert dict(half.select("rep_id", "target").rows()) == {"R1": 6_000, "R2": 12_000}
    assert dict(half.select("rep_id", "bookings").rows()) == {"R1": 1_000, "R2": 6_000}


# ---------------------------------------------------------------- baseline


def test_baseline_payouts_one_rep_per_band() -> None:
    """No change at all: each rep's payout under the test AE plan, by hand."""
    result = run(wf.scenario())
    pay = by_rep(result, "payout_base")
    assert pay["A1"] == pytest.approx(1_600)  # 40,000 / 100,000 = 40% < 50%: 40,000 x 4%
    assert pay["A2"] == pytest.approx(6_400)  # 80%: 80,000 x 8%
    assert pay["A3"] == pytest.approx(10_400)  # 120%: 100,000 x 8% + 20,000 x 12% = 8,000 + 2,400
    assert pay["A4"] == pytest.approx(6_700)  # 140% of 50,000: 4,000 + 12,500 x 12% + 7,500 x 16%
    assert pay["A5"] == pytest.approx(12_000)  # 400%: 32,500 uncapped; cap 3 x 8% x 50,000 = 12,000
    assert pay["A7"] == pytest.approx(4_800)  # 60,000 / 80,000 = 75%: 60,000 x 8%
    assert pay["A6"] is None  # no target: no commission (and no plan for CSM needed)
    # With nothing changed the scenario equals the baseline.
    assert by_rep(result, "payout") == pay
    s = result.summary
    assert s["company_target"] == 480_000  # 100 + 100 + 100 + 50 + 50 + 80 thousand
    assert s["bookings_base"] == s["bookings"] == 580_000  # 40 + 80 + 120 + 70 + 200 + 10 + 60 thousand
    assert s["gap_base"] == -100_000  # 480,000 - 580,000: ahead of target
    assert s["commission_base"] == pytest.approx(41_900)  # 1,600 + 6,400 + 10,400 + 6,700 + 12,000 + 4,800
    assert s["commission_share_base"] == pytest.approx(41_900 / 580_000)
    assert (s["at_quota_base"], s["quota_reps_base"], s["share_at_quota_base"]) == (3, 6, 0.5)  # A3, A4, A5


def test_open_period_counts_weighted_pipeline() -> None:
    """Before the period ends, A1's 5,000 of weighted pipeline joins the baseline: 45% -> 45,000 x 4% = 1,800."""
    result = run(wf.scenario(), as_of=wf.OPEN_AS_OF)
    assert by_rep(result, "baseline")["A1"] == 45_000
    assert by_rep(result, "payout_base")["A1"] == pytest.approx(1_800)
    off = run(wf.scenario(include_pipeline=False), as_of=wf.OPEN_AS_OF)
    assert by_rep(off, "baseline")["A1"] == 40_000


def test_rollups_by_team_and_region() -> None:
    """Team and region sums of the baseline, by hand."""
    result = run(wf.scenario())
    north = result.teams.filter(pl.col("team") == "North 1").row(0, named=True)
    # Targets 300,000; bookings 240,000 -> 80%; one rep (A3) at quota; 1,600 + 6,400 + 10,400 = 18,400.
    assert (north["region"], north["target_base"], north["baseline"]) == ("North", 300_000, 240_000)
    assert north["attainment_base"] == pytest.approx(0.8)
    assert (north["at_quota_base"], north["payout_base"]) == (1, pytest.approx(18_400))
    south = result.regions.filter(pl.col("region") == "South").row(0, named=True)
    # A4 + A5 targets 100,000; bookings 70,000 + 200,000 + A6's 10,000 = 280,000; 2 reps with a target.
    assert (south["target_base"], south["baseline"], south["quota_reps"]) == (100_000, 280_000, 2)
    assert south["payout_base"] == pytest.approx(6_700 + 12_000)


# ---------------------------------------------------------------- targets


def test_most_specific_target_change_wins() -> None:
    """Rep beats team beats region beats global; commission follows the new targets."""
    sc = wf.scenario(target_change_pct=10, region_change_pct={"North": 5, "South": -50},
                     team_change_pct={"South 1": 20}, rep_change_pct={"A3": 0})
    result = run(sc)
    targets = by_rep(result, "target_scn")
    assert targets["A1"] == pytest.approx(105_000)  # region North +5% (beats the global +10%)
    assert targets["A3"] == pytest.approx(100_000)  # rep override 0% (beats region North)
    assert targets["A4"] == pytest.approx(60_000)  # team South 1 +20% (beats region South -50%)
    assert targets["A7"] == pytest.approx(88_000)  # nothing specific: global +10%
    assert targets["A6"] is None
    pay = by_rep(result, "payout")
    assert pay["A1"] == pytest.approx(1_600)  # 40,000 / 105,000 = 38%: still decelerated, 40,000 x 4%
    assert pay["A4"] == pytest.approx(6_000)  # 70,000 / 60,000 = 117%: 60,000 x 8% + 10,000 x 12% = 4,800 + 1,200
    # A5: 200,000 / 60,000 = 333%; uncapped 4,800 + 15,000 x 12% + 15,000 x 16% + 110,000 x 20% = 31,000;
    # the cap rises with the target: 3 x 8% x 60,000 = 14,400.
    assert pay["A5"] == pytest.approx(14_400)
    s = result.summary
    assert s["target_total"] == pytest.approx(518_000)  # 105 + 105 + 100 + 60 + 60 + 88 thousand
    assert s["company_target"] == 480_000  # the plan of record does not move with the scenario
    assert s["commission"] == pytest.approx(43_600)  # 1,600 + 6,400 + 10,400 + 6,000 + 14,400 + 4,800
    assert (s["at_quota"], s["quota_reps"]) == (3, 6)
    assert by_rep(result, "change_pct")["A1"] == 5


# ---------------------------------------------------------------- drivers


def test_drivers_win_rate_deal_size_and_cycle() -> None:
    """Win rate +25%, deal size +10%, cycle +10% over the 90-day quarter, per rep by hand."""
    result = run(wf.scenario(win_rate_pct=25, deal_size_pct=10, cycle_time_pct=10))
    projected = by_rep(result, "projected")
    # A1: win rate 40% -> 50% (x 1.25), x 1.1, cycle 1 - 0.1 x 45 / 90 = 0.95: 40,000 x 1.30625 = 52,250.
    assert projected["A1"] == pytest.approx(52_250)
    # A4: 70% -> 87.5% (x 1.25), x 1.1, cycle 1 - 0.1 x 90 / 90 = 0.9: 70,000 x 1.2375 = 86,625.
    assert projected["A4"] == pytest.approx(86_625)
    # A5 already wins 100%: no win-rate lift; x 1.1 x (1 - 0.1 x 40 / 90): 200,000 x 1.0511... = 210,222.22.
    assert projected["A5"] == pytest.approx(200_000 * 1.1 * (1 - 4 / 90))
    # A2: 50% -> 62.5%; cycle 1 - 6 / 90: 80,000 x 1.375 x 0.93333 = 102,666.67.
    assert projected["A2"] == pytest.approx(102_666.6667)
    factors = result.reps.filter(pl.col("rep_id") == "A5").row(0, named=True)
    assert (factors["win_factor"], factors["size_factor"]) == (1.0, pytest.approx(1.1))
    # A2's payout follows: 102,666.67 / 100,000 = 102.7%: 8,000 + 2,666.67 x 12% = 8,320.
    assert by_rep(result, "payout")["A2"] == pytest.approx(8_320)


def test_win_rate_is_capped_at_100_percent() -> None:
    """A3 wins 10 of 15 (66.7%): +100% would be 133%, so the lift stops at 1 / 0.667 = 1.5."""
    result = run(wf.scenario(win_rate_pct=100))
    assert by_rep(result, "win_factor")["A3"] == pytest.approx(1.5)
    assert by_rep(result, "projected")["A3"] == pytest.approx(180_000)


def test_cycle_factor_stays_between_0_and_2() -> None:
    """Cycles +200% for A4 (90-day cycle in a 90-day quarter) would give 1 - 2 x 1 = -1: held at 0."""
    longer = run(wf.scenario(cycle_time_pct=200))
    assert by_rep(longer, "cycle_factor")["A4"] == 0.0
    assert by_rep(longer, "projected")["A4"] == 0.0
    # Cycles -50% pull in 0.5 x 90 / 90 = 50% more for A4: factor 1.5.
    shorter = run(wf.scenario(cycle_time_pct=-50))
    assert by_rep(shorter, "cycle_factor")["A4"] == pytest.approx(1.5)


# ---------------------------------------------------------------- headcount


def test_new_hires_ramp_on_the_team_average() -> None:
    """One new rep in North 1 and two in South 1 over a quarter with the ramp 25, 50, 75, 100."""
    result = run(wf.scenario(new_reps={"North 1": 1, "South 1": 2}, ramp_pct=(25, 50, 75, 100)))
    hires = result.reps.filter(pl.col("new_hire")).sort("rep_id")
    assert hires.height == 3
    # A quarter is 3 months: the mean share is (25% + 50% + 75%) / 3 = 50%.
    assert hires["ramp_share"].to_list() == [pytest.approx(0.5)] * 3
    north = hires.filter(pl.col("team") == "North 1").row(0, named=True)
    # North 1's fully ramped reps A1, A2, A3 average (40 + 80 + 120) / 3 = 80,000 and a 100,000 target:
    # the new rep books 50% x 80,000 = 40,000 against 50% x 100,000 = 50,000; 80% -> 40,000 x 8% = 3,200.
    assert (north["projected"], north["target_scn"]) == (pytest.approx(40_000), pytest.approx(50_000))
    assert north["payout"] == pytest.approx(3_200)
    assert (north["role"], north["region"], north["baseline"]) == ("AE", "North", None)
    south = hires.filter(pl.col("team") == "South 1").row(0, named=True)
    # South 1: A4 was hired 1 Nov 2026, 2 months before the quarter (< 4 ramp months), so only A5 counts:
    # 50% x 200,000 = 100,000 against 50% x 50,000 = 25,000 -> 400%, capped at 3 x 8% x 25,000 = 6,000.
    assert (south["projected"], south["target_scn"]) == (pytest.approx(100_000), pytest.approx(25_000))
    assert south["payout"] == pytest.approx(6_000)
    s = result.summary
    assert s["new_reps"] == 3
    assert s["bookings"] == pytest.approx(580_000 + 40_000 + 2 * 100_000)
    assert s["commission"] == pytest.approx(41_900 + 3_200 + 2 * 6_000)
    assert (s["at_quota"], s["quota_reps"]) == (5, 9)  # A3, A4, A5 and both South hires
    assert s["company_target"] == 480_000
    team = result.teams.filter(pl.col("team") == "North 1").row(0, named=True)
    assert (team["new_reps"], team["target"], team["projected"]) == (1, pytest.approx(350_000),
                                                                     pytest.approx(280_000))
    # The baseline histogram leaves the new reps out: they do not exist yet.
    assert result.reps.filter(pl.col("new_hire"))["attainment_base"].null_count() == 3


@pytest.mark.parametrize(
    ("ramp", "months", "share"),
    [
        ((25, 50, 75, 100), 3, 0.5),  # (25 + 50 + 75) / 3
        ((25, 50, 75, 100), 6, 0.75),  # (25 + 50 + 75 + 100 + 100 + 100) / 6 = 450 / 6
        ((25, 50, 75, 100), 1, 0.25),
        ((50,), 3, 0.5),  # a flat curve
    ],
)
def test_ramp_share(ramp: tuple, months: int, share: float) -> None:
    """Mean share of full productivity over a period, the last value held."""
    assert scenarios.ramp_share(ramp, months) == pytest.approx(share)


@pytest.mark.parametrize(
    ("start", "end", "months"),
    [(date(2027, 1, 1), date(2027, 3, 31), 3), (date(2027, 1, 1), date(2027, 1, 31), 1),
     (date(2027, 1, 1), date(2027, 12, 31), 12), (date(2027, 1, 1), date(2027, 6, 30), 6)],
)
def test_period_months(start: date, end: date, months: int) -> None:
    """Quarters, months, years and halves count as whole months."""
    assert scenarios.period_months(start, end) == months


def test_inputs_that_change_nothing_are_noted() -> None:
    """An override for an unknown team and hires for a team without targets come back as notes."""
    result = run(wf.scenario(team_change_pct={"Nowhere": 5}, new_reps={"Ghosts": 2}))
    assert {(n.code, n.key) for n in result.warnings} == {("unknown_team", "Nowhere"), ("no_team_for_hires", "Ghosts")}
    assert not result.reps["new_hire"].any()
    assert "Nowhere" in scenarios.note_text(result.warnings[0], "en")


# ---------------------------------------------------------------- bad input


@pytest.mark.parametrize(
    ("inputs", "field"),
    [
        ({"target_change_pct": -100}, "target_change_pct"),
        ({"team_change_pct": {"North 1": -150}}, "team_change_pct[North 1]"),
        ({"rep_change_pct": {"A1": "ten"}}, "rep_change_pct[A1]"),
        ({"win_rate_pct": -100}, "win_rate_pct"),
        ({"deal_size_pct": 5000}, "deal_size_pct"),
        ({"cycle_time_pct": float("nan")}, "cycle_time_pct"),
        ({"new_reps": {"North 1": -1}}, "new_reps[North 1]"),
        ({"new_reps": {"North 1": 1.5}}, "new_reps[North 1]"),
        ({"ramp_pct": ()}, "ramp_pct"),
        ({"ramp_pct": (25, 120)}, "ramp_pct[2]"),
        ({"end": date(2026, 12, 1)}, "period"),
        ({"start": None}, "period"),
        ({"plans": {"version": 1, "plans": {"AE": {"base_rate_pct": 8, "cap_multiple": 0.5}}}},
         "commission_plans.plans.AE.cap_multiple"),
    ],
)
def test_bad_inputs_name_the_field(inputs: dict, field: str) -> None:
    """Each unusable input is refused with the field named, before anything is computed."""
    sc = replace(wf.scenario(), **inputs)
    with pytest.raises(ScenarioError) as err:
        run(sc)
    assert err.value.field == field


@pytest.mark.parametrize("value", [0.0, -1_000.0])
def test_targets_of_zero_or_below_are_refused(value: float) -> None:
    """A base target of zero or below names the field and the rep."""
    with pytest.raises(ScenarioError) as err:
        run(wf.scenario(), base=wf.base(wf.rows_with("A2", target=value)))
    assert err.value.field == "target"
    assert "Rep A2 (A2)" in err.value.message


def test_unknown_role_is_refused_naming_it() -> None:
    """A rep with a target whose role has no plan: the role and the rep are named."""
    with pytest.raises(ScenarioError) as err:
        run(wf.scenario(), base=wf.base(wf.rows_with("A7", role="Closer")))
    assert err.value.field == "role"
    assert "'Closer'" in err.value.message and "A7" in err.value.message


# ---------------------------------------------------------------- links and comparison


def test_link_round_trip_keeps_every_input() -> None:
    """p_ parameters carry every input, names with separators included, and read back identical."""
    sc = wf.scenario(
        target_change_pct=7.5, region_change_pct={"EMEA; North": -5}, team_change_pct={"A=B:1": 12},
        rep_change_pct={"A1": 3}, win_rate_pct=-4, deal_size_pct=2, cycle_time_pct=10,
        new_reps={"North 1": 2, "South%1": 1}, ramp_pct=(30, 60, 100), target_set="FY27 v2", include_pipeline=False,
    )
    query = scenarios.to_query(sc)
    assert set(query) <= set(scenarios.URL_KEYS)
    assert query["p_tgt"] == "7.5"
    back = scenarios.from_query(query, wf.scenario())
    assert back == sc


def test_default_scenario_has_an_empty_link() -> None:
    """Nothing changed: no p_ parameter at all."""
    assert scenarios.to_query(wf.scenario()) == {}
    assert scenarios.from_query({}, wf.scenario()) == wf.scenario()


@pytest.mark.parametrize(
    ("query", "field"),
    [({"p_tgt": "abc"}, "p_tgt"), ({"p_ovr": "team=5"}, "p_ovr"), ({"p_ovr": "city:X=5"}, "p_ovr"),
     ({"p_hire": "North 1=two"}, "p_hire"), ({"p_ramp": "25,x"}, "p_ramp"), ({"p_tgt": "-100"}, "target_change_pct")],
)
def test_bad_links_name_the_parameter(query: dict[str, str], field: str) -> None:
    """A hand-edited link with a bad value is refused naming the parameter."""
    with pytest.raises(ScenarioError) as err:
        scenarios.from_query(query, wf.scenario())
    assert err.value.field == field


def test_parse_ramp() -> None:
    """A typed ramp curve: commas or semicolons, optional % signs; nonsense is refused."""
    assert scenarios.parse_ramp("25, 50;75%, 100") == (25, 50, 75, 100)
    with pytest.raises(ScenarioError):
        scenarios.parse_ramp("fast")
    with pytest.raises(ScenarioError):
        scenarios.parse_ramp("")


def test_compare_two_scenarios() -> None:
    """Outputs side by side with the difference to the first; the inputs that differ are marked."""
    plain = wf.scenario()
    stretch = wf.scenario(target_change_pct=10, region_change_pct={"North": 5, "South": -50},
                          team_change_pct={"South 1": 20}, rep_change_pct={"A3": 0})
    outputs, inputs = scenarios.compare([("plain", plain, run(plain)), ("stretch", stretch, run(stretch))])
    row = outputs.filter(pl.col("measure") == "commission").row(0, named=True)
    # 43,600 - 41,900 (see the two tests above).
    assert row["stretch − plain"] == pytest.approx(1_700)
    differs = dict(inputs.select("input", "differs").rows())
    assert differs["target_change_pct"] and differs["team_change_pct"] and not differs["win_rate_pct"]


# ---------------------------------------------------------------- figures


def test_attainment_bins() -> None:
    """10-point bins; exactly 100% is in 100-110%; 200% and up share the last bin; no attainment is skipped."""
    counts = charts_whatif.attainment_bins([1.0, 0.999, 2.0, 5.0, None, -0.1, 0.35])
    assert counts[10] == 1 and counts[9] == 1 and counts[20] == 2 and counts[0] == 1 and counts[3] == 1
    assert sum(counts) == 6


def test_figures_are_valid_and_labelled() -> None:
    """Both figures pass plotly's full validation and carry titles, axis titles and the hand-worked bars."""
    result = run(wf.scenario(target_change_pct=10))
    hist = charts_whatif.attainment_histogram(result.reps, "en")
    go.Figure(hist.to_dict())  # full validation: raises on any invalid property
    assert hist.layout.title.text.replace("<br>", " ") == "Attainment distribution: baseline vs scenario"
    assert hist.layout.xaxis.title.text and hist.layout.yaxis.title.text == "Reps"
    base, scen = (list(trace.y) for trace in hist.data)
    # Baseline: A1 40%, A7 75%, A2 80%, A3 120%, A4 140%, A5 400% (A6 has no target).
    assert [i for i, n in enumerate(base) if n] == [4, 7, 8, 12, 14, 20]
    # +10%: A1 36%, A7 68%, A2 73%, A3 109%, A4 127%, A5 364%.
    assert [i for i, n in enumerate(scen) if n] == [3, 6, 7, 10, 12, 20]
    groups = charts_whatif.bookings_by_group(result.teams, "team", "Team", "en")
    go.Figure(groups.to_dict())
    assert groups.layout.title.text.replace("<br>", " ") == "Bookings against target by team"
    # money ticks are written by i18n (the language's units), at round values from zero
    assert groups.layout.xaxis.ticktext[:2] == ("$0", "$100K") and groups.layout.yaxis.title.text == "Team"
    bars = {trace.name: dict(zip(trace.y, trace.x, strict=True)) for trace in groups.data}
    assert bars["Scenario target"]["North 1"] == pytest.approx(330_000)  # 300,000 x 1.1
    assert bars["Baseline"]["South 1"] == 280_000


def test_excel_export_has_every_sheet_with_numbers() -> None:
    """The workbook: inputs, summary (as numbers), reps, teams and regions, headers translated."""
    import io

    import openpyxl

    from saleslens.core import export

    sc = wf.scenario(name="Stretch", target_change_pct=10, new_reps={"North 1": 1})
    book = openpyxl.load_workbook(io.BytesIO(export.to_excel(scenarios.export_tables(sc, run(sc), "en"))))
    assert book.sheetnames == ["Inputs", "Summary", "Reps", "Teams", "Regions"]
    inputs = {row[0]: row[1] for row in book["Inputs"].iter_rows(min_row=2, values_only=True)}
    assert inputs["Name"] == "Stretch" and inputs["Change of all targets"] == "10%"
    summary = {row[0]: row[1] for row in book["Summary"].iter_rows(min_row=2, values_only=True)}
    assert summary["New reps"] == 1
    assert summary["Company target"] == 480_000
    reps = list(book["Reps"].iter_rows(values_only=True))
    assert reps[0][:3] == ("Rep ID", "Rep", "Team")
    assert ("new:North 1:1", "New hire 1 · North 1") in {r[:2] for r in reps[1:]}
