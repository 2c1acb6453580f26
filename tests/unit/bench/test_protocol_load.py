"""The protocol load generator: its message building, its summaries and the capacity rule (the smoke run against a
real server is tests/e2e/test_protocol_smoke.py)."""

from __future__ import annotations

import pytest
from streamlit.proto.BackMsg_pb2 import BackMsg

from bench import load, protocol


def test_user_key_is_read_from_the_widget_id() -> None:
    assert protocol.user_key("$$ID-0f3a9c-f_regions") == "f_regions"
    assert protocol.user_key("$$ID-0f3a9c-my-key-2") == "my-key-2"  # keys may hold dashes; the hash never does
    assert protocol.user_key("$$ID-0f3a9c-None") is None  # a widget without key=
    assert protocol.user_key("plain-id") is None


def test_rerun_request_carries_page_link_and_widgets() -> None:
    """The BackMsg is a rerun_script with the page, its hash once known, the link and the values set."""
    session = protocol.Session("http://127.0.0.1:1")
    session.page, session.query = "funnel", "period=last_quarter&region=EMEA"
    session.page_hashes = {"": "h-overview", "funnel": "h-funnel"}
    session.widgets = {"wi_tgt": protocol.Widget("slider", "$$ID-ab-wi_tgt", None)}
    session.values["$$ID-ab-wi_tgt"] = protocol.WidgetState(id="$$ID-ab-wi_tgt")
    session.values["$$ID-ab-wi_tgt"].double_array_value.data.extend([10.0])
    msg = BackMsg()
    msg.ParseFromString(session._back_msg())
    assert msg.WhichOneof("type") == "rerun_script"
    state = msg.rerun_script
    assert (state.page_name, state.page_script_hash) == ("funnel", "h-funnel")
    assert state.query_string == "period=last_quarter&region=EMEA"
    [widget] = state.widget_states.widgets
    assert widget.id == "$$ID-ab-wi_tgt" and list(widget.double_array_value.data) == [10.0]




def test_summary_counts_pages_errors_and_memory() -> None:
    """Worked by hand: three reruns of 0.1, 0.2 and 0.4 s, one error; 2 users, memory 300 -> 340 MB."""
    results = [protocol.RunResult("overview", 0.1, elements=10), protocol.RunResult("overview", 0.2, elements=20),
               protocol.RunResult("funnel", 0.4, elements=30), protocol.RunResult("funnel", 0.0, ["boom"])]
    sampler = load.Sampler([])
    sampler.samples = [(0, "before", 300.0), (1, "during", 340.0), (2, "during", 320.0), (3, "after", 310.0)]
    r = load.summarise(results, sampler, wall=2.0, users=2, minutes=0.1, think=0, processes=1, server_cpu=1.0,
                       peak=345.0, load_before=0.5, logs="")
    assert r["reruns"] == 3 and r["reruns_per_second"] == 1.5 and r["error_count"] == 1
    assert r["by_page"]["overview"]["p50_s"] == pytest.approx(0.15)
    assert r["by_page"]["funnel"] == {"n": 1, "p50_s": 0.4, "p95_s": 0.4}
    assert r["p95_s"] == 0.4 and r["elements_per_rerun"] == 20
    assert (r["rss_start_mb"], r["rss_peak_mb"], r["rss_end_mb"], r["mb_per_session"]) == (300, 340, 310, 20)
    assert r["cpu_per_rerun_s"] == pytest.approx(1 / 3)  # 1 s of server CPU over 3 reruns
    assert "| errors | 1 |" in load.protocol_markdown(r) and "| server CPU per rerun | 333 ms |" in \
        load.protocol_markdown(r)


def test_cold_start_split_between_server_and_browser() -> None:
    """Worked by hand: the server sends the Overview 2.8 s after start; the browser drew it at 4.0 s: 1.2 s is
    the browser's."""
    from bench import run

    text = "\n".join(run.cold_split({"median_healthy_s": 1.0, "median_first_run_s": 1.5, "median_ready_s": 2.8},
                                    {"median_ready_s": 4.0}))
    assert "| process start to health check answered (Python, Streamlit, the app's server) | 1.0 s |" in text
    assert "| process start to the Overview sent, no browser | 2.8 s |" in text
    assert "(browser figure − the line above) | 1.2 s |" in text
    assert run.cold_split(None, {"median_ready_s": 4.0}) == []


def test_capacity_is_the_largest_count_with_p95_under_two_seconds_and_no_error() -> None:
    from bench import capacity

    def row(users: int, p95: float, errors: int) -> dict:
        return {"users": users, "processes": 1, "reruns_per_second": 1.0, "p50_s": p95 / 2, "p95_s": p95,
                "error_count": errors, "rss_start_mb": 300.0, "rss_peak_mb": 400.0, "mb_per_session": 1.0,
                "server_cpu_share": 0.5, "load_avg_at_start": 1.0}

    # 25 users meet the limit; 50 have a fast p95 but an error; 100 are too slow
    text = capacity.markdown([row(10, 0.4, 0), row(25, 1.9, 0), row(50, 1.5, 1), row(100, 2.5, 0)])
    assert "(p95 < 2 s, no error): **25**" in text
    assert "| 50 | 1 | 1.0 | 750 ms | 1,500 ms | 1 |" in text and text.count("| over |") == 2
    assert "**none of those tried**" in capacity.markdown([row(10, 2.0, 0)])  # 2.0 s is not under 2 s
