"""The Maven CRM export end to end: import with its profile, then the CLI's KPIs against plain SQL on the CSVs.

The expected numbers come from DuckDB run directly over the four CSV files in the test, not from our queries.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import duckdb
import polars as pl
import pytest

from saleslens.core import store
from tests.ingest_cases import MAVEN, ROOT

pytestmark = pytest.mark.skipif(not (MAVEN / "sales_pipeline.csv").exists(),
                                reason=f"the Maven export is not at {MAVEN}")


def _cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "saleslens", *args], cwd=ROOT, capture_output=True, text=True,
                          timeout=300)


@pytest.fixture(scope="module")
def imported(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str]:
    """`python -m saleslens import <maven> --mapping maven` into a fresh data directory: (data dir, stdout)."""
    data = tmp_path_factory.mktemp("maven") / "data"
    done = _cli("import", str(MAVEN), "--mapping", "maven", "--data", str(data))
    assert done.returncode == 0, done.stderr
    return data, done.stdout


def _plain_sql(group_sql: str, join_sql: str) -> dict[str, dict]:
    """KPIs per group computed straight from the CSV files with DuckDB."""
    con = duckdb.connect()
    sql = f"""
        select {group_sql} as grp,
               coalesce(sum(p.close_value) filter (where p.deal_stage = 'Won'), 0) as bookings,
               count(*) filter (where p.deal_stage = 'Won') as deals_won,
               count(*) filter (where p.deal_stage = 'Lost') as deals_lost,
               avg(p.close_date - p.engage_date) filter (where p.deal_stage = 'Won') as cycle_days,
               count(*) filter (where p.deal_stage in ('Prospecting', 'Engaging')) as open_deals,
               coalesce(sum(p.close_value) filter (where p.deal_stage in ('Prospecting', 'Engaging')), 0)
                   as open_pipeline
        from read_csv('{MAVEN / "sales_pipeline.csv"}') p
        {join_sql}
        group by 1
    """
    rows = con.execute(sql).fetchall()
    names = [d[0] for d in con.description]
    out = {}
    for row in rows:
        r = dict(zip(names, row, strict=True))
        r["win_rate"] = r["deals_won"] / (r["deals_won"] + r["deals_lost"])
        r["avg_deal_size"] = r["bookings"] / r["deals_won"]
        out[r.pop("grp")] = r
    return out


def _ours(data: Path, by: str, capsys: pytest.CaptureFixture | None = None) -> dict[str, dict]:
    """`kpis --by BY --format json` as a child process, or in this process when capsys is given (faster)."""
    args = ["kpis", "--by", by, "--format", "json", "--data", str(data)]
    if capsys is None:
        done = _cli(*args)
        assert done.returncode == 0, done.stderr
        out = done.stdout
    else:
        from saleslens.cli import main

        capsys.readouterr()
        assert main(args) == 0
        out = capsys.readouterr().out
    return {r["group_label"]: r for r in json.loads(out)}


def _compare(ours: dict[str, dict], expected: dict[str, dict]) -> None:
    assert set(ours) == set(expected)
    for group, exp in expected.items():
        got = ours[group]
        for key, value in exp.items():
            assert got[key] == pytest.approx(float(value), rel=1e-9), (group, key, got[key], value)


def test_kpis_by_region_match_plain_sql(imported: tuple[Path, str]) -> None:
    """`kpis --by region` equals the same KPIs from sales_pipeline.csv joined to sales_teams.csv."""
    expected = _plain_sql("t.regional_office", f"join read_csv('{MAVEN / 'sales_teams.csv'}') t using (sales_agent)")
    assert len(expected) == 3
    _compare(_ours(imported[0], "region"), expected)


def test_kpis_by_rep_match_plain_sql(imported: tuple[Path, str]) -> None:
    """`kpis --by rep` equals the same KPIs per sales agent from sales_pipeline.csv."""
    expected = _plain_sql("p.sales_agent", "")
    assert len(expected) == 30
    _compare(_ours(imported[0], "rep"), expected)


def test_kpis_by_product_match_plain_sql(imported: tuple[Path, str], capsys: pytest.CaptureFixture) -> None:
    """`kpis --by product` equals the KPIs per product of products.csv, names matched without spaces."""
    join = (f"join read_csv('{MAVEN / 'products.csv'}') pr "
            "on lower(replace(pr.product, ' ', '')) = lower(replace(p.product, ' ', ''))")
    expected = _plain_sql("pr.product", join)
    assert len(expected) == 7
    _compare(_ours(imported[0], "product", capsys), expected)


def test_org_totals_keep_deals_without_an_account(imported: tuple[Path, str], capsys: pytest.CaptureFixture) -> None:
    """No deal is dropped: the org totals count every row of sales_pipeline.csv, account or not."""
    expected = _plain_sql("'All'", "")["All"]
    ours = _ours(imported[0], "org", capsys)["All"]
    assert ours["deals_won"] + ours["deals_lost"] + ours["open_deals"] == 8800
    assert ours["open_deals"] == expected["open_deals"]


def test_report_names_what_it_could_not_link_and_what_it_normalised(imported: tuple[Path, str]) -> None:
    """The stored report counts the deals without an account and the product and sector spellings fixed."""
    data, stdout = imported
    con = duckdb.connect()
    no_account = con.execute(f"select count(*) from read_csv('{MAVEN / 'sales_pipeline.csv'}') "
                             "where account is null").fetchall()[0][0]
    gtxpro = con.execute(f"select count(*) from read_csv('{MAVEN / 'sales_pipeline.csv'}') "
                         "where product = 'GTXPro'").fetchall()[0][0]
    typo = con.execute(f"select count(*) from read_csv('{MAVEN / 'accounts.csv'}') "
                       "where sector = 'technolgy'").fetchall()[0][0]
    report = store.open_snapshot(data).manifest["import_report"]
    account = next(u for u in report["unlinked"] if u["relation"] == "opportunities.account_id → accounts")
    assert (account["empty"], account["rows"], account["policy"]) == (no_account, 0, "keep")
    normalised = {(n["field"], n["from"], n["to"]): n["count"] for n in report["normalised"]}
    assert normalised[("product_id", "GTXPro", "GTX Pro")] == gtxpro
    assert normalised[("industry", "technolgy", "technology")] == typo
    assert f"| opportunities.account_id → accounts | {8800 - no_account}" in stdout
    assert "GTXPro" in stdout and "technolgy" in stdout
    assert set(report["missing_tables"]) == {"leads", "stage_changes", "activities", "targets", "payments"}


def test_people_and_their_roles(imported: tuple[Path, str]) -> None:
    """Agents are AEs with their manager; managers are reps with role Manager; region is the regional office."""
    snap = store.open_snapshot(imported[0])
    reps = pl.read_parquet(snap.table_path("reps"))
    teams = pl.read_csv(MAVEN / "sales_teams.csv")
    managers = reps.filter(pl.col("role") == "Manager")
    assert sorted(managers["rep_id"].to_list()) == sorted(teams["manager"].unique().to_list())
    agents = reps.filter(pl.col("role") == "AE").sort("rep_id")
    expected = teams.sort("sales_agent")
    assert agents["rep_id"].to_list() == expected["sales_agent"].to_list()
    assert agents["manager_id"].to_list() == expected["manager"].to_list()
    assert agents["region"].to_list() == expected["regional_office"].to_list()
    assert snap.as_of.isoformat() == "2017-12-31"  # the last close date: the export ends there
    assert snap.manifest["events"] == {"stage_changes": 0, "activities": 0}
