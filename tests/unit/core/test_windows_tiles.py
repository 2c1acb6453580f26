"""The short quarter of a tile label and the line under a KPI tile (issue 16): dates worked out by hand."""

from __future__ import annotations

from datetime import date

from saleslens.core import windows

AS_OF = date(2026, 12, 2)  # a Wednesday, day 63 of Q4 2026
Q4 = (date(2026, 10, 1), date(2026, 12, 31))


def plain(text: str) -> str:
    """CLDR writes an interval's dash between thin spaces; the expected texts use plain ones."""
    return text.replace("\u2009", " ")


def test_short_quarter_keeps_english_and_drops_the_chinese_ordinal() -> None:
    """English keeps "Q4 2026" (CLDR's yQQQ); Chinese uses CLDR's abbreviated quarter "4季度", not "第4季度"."""
    assert windows.short_quarter(date(2026, 11, 15), "en") == "Q4 2026"
    assert windows.short_quarter(date(2026, 4, 1), "en") == "Q2 2026"
    assert windows.short_quarter(date(2026, 11, 15), "zh") == "2026年4季度"
    assert windows.short_quarter(date(2027, 3, 31), "zh") == "2027年1季度"
    assert len(windows.short_quarter(date(2026, 11, 15), "zh")) < len(windows.name(*Q4, "zh"))


def test_a_running_period_counts_up_to_the_snapshot() -> None:
    """Q4 on 2 Dec: the data stop on 2 Dec; a finished Q3 and a period not started yet cover all their days."""
    assert windows.last_day(*Q4, AS_OF) == AS_OF
    assert windows.last_day(date(2026, 7, 1), date(2026, 9, 30), AS_OF) == date(2026, 9, 30)
    assert windows.last_day(date(2027, 1, 1), date(2027, 3, 31), AS_OF) == date(2027, 3, 31)


def test_tile_lines_by_what_the_kpi_counts() -> None:
    """Closed-deal KPIs, created pipeline and activities count 1 Oct - 2 Dec; attainment divides by the whole Q4."""
    line = {k: plain(windows.tile(k, *Q4, AS_OF, "en")) for k in
            ("bookings", "win_rate", "cycle_days", "pipeline_created", "activities", "attainment")}
    assert line["bookings"] == line["win_rate"] == line["cycle_days"] == "Deals closed 1 Oct – 2 Dec 2026"
    assert line["pipeline_created"] == "Deals created 1 Oct – 2 Dec 2026"
    assert line["activities"] == "Activities logged 1 Oct – 2 Dec 2026"
    assert line["attainment"] == "Bookings 1 Oct – 2 Dec 2026 ÷ Q4 2026 target"
    assert plain(windows.tile("bookings", date(2026, 7, 1), date(2026, 9, 30), AS_OF, "zh")) == \
        "2026年7月1日 – 9月30日 关闭的商机"
    # A period with no calendar name: its target is named by its days.
    assert plain(windows.tile("attainment", date(2026, 11, 2), date(2026, 12, 31), AS_OF, "en")) == \
        "Bookings 2 Nov – 2 Dec 2026 ÷ 2 Nov – 31 Dec 2026 target"
