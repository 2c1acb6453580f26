"""What-if: the lines that explain why changing all targets leaves company attainment and can lower commission
(issue 16 item 3), on literal rows."""

from __future__ import annotations

from types import SimpleNamespace

import polars as pl

from saleslens.whatif import commission
from saleslens.whatif import load as wl

# 10% base rate, payout capped at 2 x on-target commission (2 x 10% x target).
PLANS = commission.parse_text("version = 1\n[plans.AE]\nbase_rate_pct = 10.0\ncap_multiple = 2.0\n"
                              "[[plans.AE.tiers]]\nfrom_pct = 100\nmultiplier = 2.0\n")
# A: target 80,000 -> cap 16,000; payout 16,000 is at the cap. B: target 100,000 -> cap 20,000; 9,000 is not.
# C: no target, no payout: not counted.
REPS = pl.DataFrame({"role": ["AE", "AE", "AE"], "target_scn": [80_000.0, 100_000.0, None],
                     "payout": [16_000.0, 9_000.0, None]})


def summary(**changes: float) -> dict:
    """A scenario summary: company target 200,000, reps' targets cut to 180,000, commission down 1,000."""
    return {"company_target": 200_000.0, "target_total": 180_000.0, "attainment": 0.9,
            "commission": 25_000.0, "commission_base": 26_000.0} | changes


def test_reps_held_at_the_cap() -> None:
    """Only A's payout equals its cap."""
    assert wl.capped_reps(REPS, PLANS) == 1


def test_cut_targets_explain_attainment_and_the_cap() -> None:
    """Targets cut and commission down: both lines, the attainment one naming the value and the company target."""
    view = SimpleNamespace(result=SimpleNamespace(summary=summary(), reps=REPS), plans=PLANS)
    attainment, cost = wl.target_notes(view, "en")
    assert attainment.startswith("Company attainment stays at 90.0%")
    assert "company target $200.0K" in attainment
    assert cost is not None and cost.endswith("(1 rep is held at the cap).")


def test_raised_targets_explain_attainment_only() -> None:
    """Targets raised to 220,000 and commission up: no cap line (nothing surprising to explain)."""
    view = SimpleNamespace(result=SimpleNamespace(
        summary=summary(target_total=220_000.0, commission=27_000.0), reps=REPS), plans=PLANS)
    attainment, cost = wl.target_notes(view, "zh")
    assert attainment is not None and "公司目标达成率保持" in attainment
    assert cost is None


def test_unchanged_targets_need_no_note() -> None:
    """The reps' targets add up to the company target: nothing to explain."""
    view = SimpleNamespace(result=SimpleNamespace(summary=summary(target_total=200_000.0), reps=REPS), plans=PLANS)
    assert wl.target_notes(view, "en") == (None, None)
