"""Every Overview tile and chart says which days it covers; the Leaderboard's rank change names its own window
(issue 16 item 1). Dates worked out by hand for a snapshot of Wed 2 Dec 2026."""

from __future__ import annotations

from datetime import date

from saleslens.core import windows
from saleslens.core.filters import from_query
from saleslens.overview import load as ol

AS_OF = date(2026, 12, 2)


def plain(text: str) -> str:
    """CLDR writes an interval's dash between thin spaces; the expected texts use plain ones."""
    return text.replace("\u2009", " ")


def test_window_words() -> None:
    """A running quarter is "to date" up to the snapshot; a finished one is named; other windows are spans."""
    q4 = windows.label(date(2026, 10, 1), date(2026, 12, 31), AS_OF, "en")
    assert plain(q4) == "Q4 2026 to date, 1 Oct – 2 Dec 2026"
    assert plain(windows.label(date(2026, 7, 1), date(2026, 9, 30), AS_OF, "en")).startswith("Q3 2026, 1 Jul – 30 Sept")
    assert plain(windows.label(date(2026, 10, 1), date(2026, 12, 31), AS_OF, "zh")) == \
        "2026年第4季度至今，2026年10月1日 – 12月2日"
    assert windows.name(date(2026, 1, 1), date(2026, 12, 31), "en") == "2026"
    assert windows.name(date(2026, 11, 1), date(2026, 11, 30), "en") == "Nov 2026"
    assert windows.name(date(2026, 11, 2), date(2026, 11, 30), "en") is None


def test_running_quarter_tiles() -> None:
    """Q4 to date: 1 Oct – 2 Dec is 62 days after the start, so the same days of Q3 run 1 Jul – 1 Sep.
    Closed-deal tiles and attainment compare with them; open pipeline (today's open deals) shows no change."""
    f = from_query({}, AS_OF)
    current, previous = f.compared(AS_OF)
    w = ol.describe_windows(f, AS_OF, current, previous, "en")
    caption, tiles = plain(w.caption), {k: plain(v) for k, v in w.tiles.items()}
    assert caption.startswith("Q4 2026 to date, 1 Oct – 2 Dec 2026.")
    assert "same days of Q3 2026, 1 Jul – 1 Sept" in caption
    assert tiles["bookings"].startswith("Deals closed 1 Oct – 2 Dec 2026 · vs 1 Jul – 1 Sept")
    assert tiles["attainment"].startswith("Bookings 1 Oct – 2 Dec 2026 ÷ Q4 2026 target")
    assert tiles["open_pipeline"] == "Open on 2 Dec 2026, expected to close 1 Oct – 31 Dec 2026"
    assert w.compared == {"bookings": True, "attainment": True, "win_rate": True, "avg_deal_size": True,
                          "open_pipeline": False, "cycle_days": True}
    # The trend shows the 12 months to the quarter's end.
    assert plain(w.trend).startswith("Each month 1 Jan – 31 Dec 2026")


def test_finished_quarter_compares_with_the_whole_previous_one() -> None:
    """Last quarter (Q3) is over: compared with all of Q2, 1 Apr – 30 Jun."""
    f = from_query({"period": "last_quarter"}, AS_OF)
    current, previous = f.compared(AS_OF)
    w = ol.describe_windows(f, AS_OF, current, previous, "en")
    caption = plain(w.caption)
    assert caption.startswith("Q3 2026, 1 Jul – 30 Sept")
    assert caption.endswith("1 Apr – 30 Jun 2026.")


def test_all_time_has_no_change() -> None:
    """No period: every tile covers all time and none shows a change."""
    f = from_query({"period": "all_time"}, AS_OF)
    w = ol.describe_windows(f, AS_OF, f, f, "en")
    assert set(w.tiles.values()) == {"All time"} and not any(w.compared.values())
