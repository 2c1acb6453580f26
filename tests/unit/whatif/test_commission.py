"""Commission plans: payouts against hand-worked examples, step-by-step explanations, and bad plan files."""

from __future__ import annotations

from pathlib import Path

import polars as pl
import pytest

from saleslens.core import schema
from saleslens.whatif import commission
from tests import whatif_fixtures as wf

AE = wf.plans().plan("AE")  # 8% base, decelerator 50% x 0.5, tiers 100/125/150 x 1.5/2/2.5, cap 3 x on-target


@pytest.mark.parametrize(
    ("bookings", "target", "expected"),
    [
        # Below the decelerator threshold: 40% < 50%, all bookings at 8% x 0.5 = 4%: 20,000 x 0.04 = 800.
        (20_000, 50_000, 800.0),
        # Nothing booked: still under the threshold, 0 x 4% = 0.
        (0, 50_000, 0.0),
        # Exactly at the threshold is not below it: 25,000 x 8% = 2,000.
        (25_000, 50_000, 2_000.0),
        # Base band: 80%, 40,000 x 8% = 3,200.
        (40_000, 50_000, 3_200.0),
        # Exactly on target: the on-target commission, 50,000 x 8% = 4,000.
        (50_000, 50_000, 4_000.0),
        # Tier 1: 120%, 50,000 x 8% + 10,000 x 12% = 4,000 + 1,200 = 5,200.
        (60_000, 50_000, 5_200.0),
        # Tier 2: 140%, 4,000 + 12,500 x 12% + (70,000 - 62,500) x 16% = 4,000 + 1,500 + 1,200 = 6,700.
        (70_000, 50_000, 6_700.0),
        # Tier 3: 180%, 4,000 + 1,500 + 12,500 x 16% + (90,000 - 75,000) x 20% = 4,000 + 1,500 + 2,000 + 3,000.
        (90_000, 50_000, 10_500.0),
        # At the cap: 400% would pay 4,000 + 1,500 + 2,000 + 125,000 x 20% = 32,500; cap 3 x 4,000 = 12,000.
        (200_000, 50_000, 12_000.0),
        # Just under the cap: 230% pays 4,000 + 1,500 + 2,000 + (115,000 - 75,000) x 20% = 15,500 > 12,000: capped.
        (115_000, 50_000, 12_000.0),
        # 200% pays 4,000 + 1,500 + 2,000 + 25,000 x 20% = 12,500: also over the cap of 12,000.
        (100_000, 50_000, 12_000.0),
        # 175%: 4,000 + 1,500 + 2,000 + 12,500 x 20% = 10,000, under the cap.
        (87_500, 50_000, 10_000.0),
    ],
)
def test_payout_hand_worked(bookings: float, target: float, expected: float) -> None:
    """Each band of the plan, and the cap, against arithmetic done by hand."""
    assert AE.payout(bookings, target) == pytest.approx(expected)


@pytest.mark.parametrize("target", [None, 0.0, -5.0, float("nan")])
def test_no_payout_without_a_usable_target(target: float | None) -> None:
    """No target (or none above zero) means no commission is worked out, not a division error."""
    assert AE.payout(10_000, target) is None
    assert AE.explain(10_000, target) == []


def test_explanation_names_tier_rate_and_amount() -> None:
    """120%: attainment, base band, tier 1 at 12% on 10,000, cap not reached, total 5,200."""
    steps = AE.explain(60_000, 50_000)
    assert [s.kind for s in steps] == ["attainment", "base", "tier", "cap", "total"]
    assert steps[0].band_from == pytest.approx(1.2)
    assert (steps[1].bookings, steps[1].rate, steps[1].amount) == (50_000, 0.08, pytest.approx(4_000))
    tier = steps[2]
    assert (tier.tier, tier.band_from, tier.band_to) == (1, 1.0, 1.25)
    assert tier.bookings == pytest.approx(10_000)
    assert tier.rate == pytest.approx(0.12)
    assert tier.amount == pytest.approx(1_200)
    assert steps[3].reached is False and steps[3].amount == pytest.approx(12_000)
    assert steps[4].amount == pytest.approx(5_200)


def test_explanation_below_threshold_and_at_cap() -> None:
    """The decelerator step carries the reduced rate; a capped payout says the cap was reached."""
    low = AE.explain(20_000, 50_000)
    assert [s.kind for s in low] == ["attainment", "decelerator", "cap", "total"]
    assert low[1].rate == pytest.approx(0.04) and low[1].amount == pytest.approx(800)
    capped = AE.explain(200_000, 50_000)
    assert [s.kind for s in capped] == ["attainment", "base", "tier", "tier", "tier", "cap", "total"]
    # Tier 3 holds 200,000 - 75,000 = 125,000 at 20% = 25,000 before the cap.
    assert capped[4].bookings == pytest.approx(125_000) and capped[4].amount == pytest.approx(25_000)
    assert capped[5].reached is True
    assert capped[6].amount == pytest.approx(12_000)


def test_describe_reads_in_both_languages() -> None:
    """The explanation table has one row per step, in words, with the tier and the rate."""
    steps = AE.explain(60_000, 50_000)
    en = commission.describe(steps, AE, "en")
    assert en.height == len(steps)
    text = " ".join(str(v) for v in en.row(2))
    assert "Tier 1" in text and "12.00%" in text and "$1,200" in text
    zh = commission.describe(steps, AE, "zh")
    assert "第 1 档" in " ".join(str(v) for v in zh.row(2))


def test_vectorised_payouts_match_the_step_by_step_ones() -> None:
    """The Polars expression the page uses gives the same payout as the explanation, band edges included."""
    bookings = [0, 1, 24_999, 25_000, 40_000, 50_000, 62_500, 70_000, 75_000, 90_000, 120_000, 1e6, None]
    frame = pl.DataFrame({"role": ["AE"] * len(bookings), "b": bookings, "t": [50_000.0] * len(bookings)},
                         schema_overrides={"b": pl.Float64})
    frame = frame.vstack(pl.DataFrame({"role": ["AE"], "b": [10_000.0], "t": [None]},
                                      schema_overrides={"t": pl.Float64}))
    got = commission.payouts(frame, wf.plans(), "b", "t").to_list()
    want = [AE.payout(b, t) for b, t in frame.select("b", "t").rows()]
    assert got == pytest.approx(want, nan_ok=True)
    assert got[-1] is None  # no target, no payout


def test_payouts_refuse_a_role_without_a_plan() -> None:
    """A rep with a target whose role has no plan is an error naming the role."""
    frame = pl.DataFrame({"role": ["AE", "SDR"], "b": [1.0, 1.0], "t": [1.0, 1.0]})
    with pytest.raises(commission.CommissionError) as err:
        commission.payouts(frame, wf.plans(), "b", "t")
    assert err.value.field == "role" and "'SDR'" in str(err.value)
    # Without a target the role does not matter.
    frame = pl.DataFrame({"role": ["AE", "SDR"], "b": [1.0, 1.0], "t": [1.0, None]})
    assert commission.payouts(frame, wf.plans(), "b", "t").to_list()[1] is None


def _plan_text(**changes: str) -> str:
    """The test plans with lines of the AE table replaced (key -> new line, or '' to drop it)."""
    lines = []
    for line in wf.PLANS_TOML.splitlines():
        key = line.split("=")[0].strip()
        lines.append(changes.get(key, line) if key in changes else line)
    return "\n".join(lines)


TIERS = "\n[plans.AE]\nbase_rate_pct = 8\n"


@pytest.mark.parametrize(
    ("text", "field", "words"),
    [
        # A gap: the second tier starts at 130 while the first ends at 125.
        (TIERS + "[[plans.AE.tiers]]\nfrom_pct = 100\nto_pct = 125\nmultiplier = 1.5\n"
         "[[plans.AE.tiers]]\nfrom_pct = 130\nmultiplier = 2\n", "plans.AE.tiers[2].from_pct", "gap"),
        # An overlap: the second tier starts at 120, inside the first.
        (TIERS + "[[plans.AE.tiers]]\nfrom_pct = 100\nto_pct = 125\nmultiplier = 1.5\n"
         "[[plans.AE.tiers]]\nfrom_pct = 120\nmultiplier = 2\n", "plans.AE.tiers[2].from_pct", "overlaps"),
        # The first accelerator must start at 100%.
        (TIERS + "[[plans.AE.tiers]]\nfrom_pct = 90\nmultiplier = 1.5\n", "plans.AE.tiers[1].from_pct", "100%"),
        (TIERS + "[[plans.AE.tiers]]\nfrom_pct = 110\nmultiplier = 1.5\n", "plans.AE.tiers[1].from_pct", "gap"),
        # A last tier that ends leaves attainments above it without a rate.
        (TIERS + "[[plans.AE.tiers]]\nfrom_pct = 100\nto_pct = 150\nmultiplier = 1.5\n",
         "plans.AE.tiers[1].to_pct", "gap above 150%"),
        # A tier that ends where it starts.
        (TIERS + "[[plans.AE.tiers]]\nfrom_pct = 100\nto_pct = 100\nmultiplier = 1.5\n",
         "plans.AE.tiers[1].to_pct", "above from_pct"),
        (TIERS + "[[plans.AE.tiers]]\nfrom_pct = 100\nmultiplier = 0\n", "plans.AE.tiers[1].multiplier", "above 0"),
        (TIERS + "[[plans.AE.tiers]]\nfrom_pct = 100\nmultipler = 1.5\n", "plans.AE.tiers[1]", "multipler"),
    ],
)
def test_bad_tier_tables_name_the_field(text: str, field: str, words: str) -> None:
    """Gaps, overlaps and open ends in a tier table are refused with the tier and key named."""
    with pytest.raises(commission.CommissionError) as err:
        commission.parse_text("version = 1\n" + text)
    assert err.value.field == field
    assert words in err.value.message


@pytest.mark.parametrize(
    ("changes", "field", "words"),
    [
        ({"cap_multiple": "cap_multiple = 0.8"}, "plans.AE.cap_multiple", "below the base"),
        ({"base_rate_pct": "base_rate_pct = 0"}, "plans.AE.base_rate_pct", "above 0"),
        ({"base_rate_pct": ""}, "plans.AE.base_rate_pct", "missing"),
        ({"base_rate_pct": 'base_rate_pct = "8%"'}, "plans.AE.base_rate_pct", "number"),
        ({"decelerator_multiplier": "decelerator_multiplier = 1.5"}, "plans.AE.decelerator_multiplier", "0 and 1"),
        ({"decelerator_below_pct": "decelerator_below_pct = 120"}, "plans.AE.decelerator_below_pct", "0 and 100"),
        ({"version": "version = 0"}, "version", "older"),
        ({"version": "version = 2"}, "version", "newer"),
        ({"version": ""}, "version", "missing"),
        ({"[plans.AE]": "[plans.Sales]"}, "plans.Sales", "unknown role"),
        ({"description": "descripton = 'typo'"}, "plans.AE", "descripton"),
    ],
)
def test_bad_plan_fields_name_the_field(changes: dict[str, str], field: str, words: str) -> None:
    """A cap below the base, an unknown role, an old version and the like each name the field at fault."""
    text = _plan_text(**changes)
    if "[plans.AE]" in changes:  # the tiers follow the renamed table
        text = text.replace("plans.AE.tiers", "plans.Sales.tiers")
    with pytest.raises(commission.CommissionError) as err:
        commission.parse_text(text)
    assert err.value.field == field
    assert words in err.value.message


def test_bad_toml_and_missing_file_are_reported(tmp_path: Path) -> None:
    """Broken syntax and an unreadable file are errors, not tracebacks."""
    with pytest.raises(commission.CommissionError, match="not valid TOML"):
        commission.parse_text("version = = 1", "x.toml")
    with pytest.raises(commission.CommissionError, match="cannot be read"):
        commission.load(tmp_path / "none.toml")


def test_no_tiers_pays_the_base_rate_above_target() -> None:
    """A plan without tiers pays the base rate on everything: 150,000 x 2% = 3,000."""
    plan = commission.parse_text("version = 1\n[plans.Director]\nbase_rate_pct = 2\n").plan("Director")
    assert plan.payout(150_000, 100_000) == pytest.approx(3_000)


def test_shipped_plans_cover_every_role_and_a_data_dir_copy_wins(tmp_path: Path) -> None:
    """config/commission_plans.toml is valid and has a plan per role; <data>/config/ overrides it."""
    shipped = commission.load()
    assert set(shipped.plans) == set(schema.ROLES)
    assert commission.default_path(tmp_path) == commission.DEFAULT_PATH
    local = tmp_path / "config" / commission.PLANS_FILE
    local.parent.mkdir()
    local.write_text(wf.PLANS_TOML, encoding="utf-8")
    assert commission.default_path(tmp_path) == local
    assert set(commission.load(data_dir=tmp_path).plans) == {"AE"}


def test_plans_table_lists_each_role() -> None:
    """The readable plan table has a row per role with base rate, decelerator, tiers and cap."""
    table = commission.plans_table(wf.plans(), "en")
    row = table.row(0)
    assert row[0] == "AE" and row[1] == "8.00%"
    assert "50%" in row[2] and "×1.5" in row[3] and "3 ×" in row[4]
