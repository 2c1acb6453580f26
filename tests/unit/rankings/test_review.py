"""The review pack: HTML that renders its charts offline in Chromium, a workbook with its tables, a PDF with pages."""

from __future__ import annotations

import io
import re
from pathlib import Path

import openpyxl
import pytest

from queries.runner import Runner
from saleslens.cli import main as cli_main
from saleslens.core import access, store
from saleslens.rankings import ratings, review
from tests import scorecard_fixtures as F
from tests import support


@pytest.fixture(scope="module")
def pack_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The scorecard dataset with one rating, and the A2 and team North packs written as files."""
    data = tmp_path_factory.mktemp("review_data")
    F.build_store(data)
    ratings.save(data, ratings.Rating("A2", "2026Q3", {"teamwork": 4}, "Steady quarter; = not a formula"),
                 who=access.User("boss", "Boss", "admin"))
    runner = Runner(store.open_snapshot(data))
    out = data / "out"
    try:
        requests = {"a2": review.Request("2026Q3", rep="A2"), "north": review.Request("2026Q3", team="North")}
        for name, req in requests.items():
            review.write(review.make(runner, data, F.AS_OF, req), out / name)
    finally:
        runner.close()
    return out


def pdf_pages(data: bytes) -> int:
    """Pages of a PDF: pypdf when installed, else the /Type /Page objects (not /Pages)."""
    try:
        from pypdf import PdfReader
    except ImportError:
        return len(re.findall(rb"/Type\s*/Page(?![a-zA-Z])", data))
    return len(PdfReader(io.BytesIO(data)).pages)


@pytest.mark.parametrize(("name", "charts"), [("a2", 6), ("north", 2)])
def test_html_renders_its_charts_offline(pack_dir: Path, name: str, charts: int) -> None:
    """Chromium opens the file with every network request refused; every Plotly chart is drawn."""
    if not Path(support.CHROMIUM).exists():
        pytest.skip("Chromium is not installed")
    from playwright.sync_api import sync_playwright

    html = (pack_dir / f"{name}.html").read_text(encoding="utf-8")
    # plotly.js is inline: no script is loaded from anywhere (the bundle only mentions a CDN for map data).
    assert "<script src=" not in html
    outside = []
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=support.CHROMIUM, args=support.CHROMIUM_ARGS)
        try:
            page = browser.new_page()

            def refuse(route) -> None:
                if not route.request.url.startswith("file://"):
                    outside.append(route.request.url)
                    route.abort()
                else:
                    route.continue_()

            page.route("**/*", refuse)
            page.goto((pack_dir / f"{name}.html").as_uri())
            page.wait_for_function(f"document.querySelectorAll('.js-plotly-plot .main-svg').length >= {charts}",
                                   timeout=30_000)
            assert page.locator(".js-plotly-plot").count() == charts
            assert page.locator("h1").inner_text().startswith("Quarterly review")
        finally:
            browser.close()
    assert outside == []


def test_rep_workbook_has_its_tables(pack_dir: Path) -> None:
    """The workbook opens with openpyxl: one sheet per table, the numbers behind the score included."""
    book = openpyxl.load_workbook(pack_dir / "a2.xlsx")
    assert book.sheetnames == ["KPIs", "Score breakdown", "Against peers", "Monthly trend", "Score history",
                               "Activity mix", "Conversion by stage", "Deals behind the KPIs", "Open deals",
                               "Ratings", "Definitions"]
    rows = list(book["Score breakdown"].iter_rows(values_only=True))
    header, body = rows[0], rows[1:]
    contribution = header.index("Contribution")
    # A2's contributions (see test_scorecards.test_ae_scores_end_to_end): 23.33 + 0 + 5 + 10 + 3.33 + 0 = 41.67.
    assert sum(r[contribution] for r in body) == pytest.approx(125 / 3)
    # The deals behind the KPIs: A2's 6 closed and 1 created-and-open deal in Q3.
    assert book["Deals behind the KPIs"].max_row == 1 + 7
    # The comment starting with "=" stays text (formula injection neutralised).
    ratings_rows = list(book["Ratings"].iter_rows(values_only=True))
    assert ratings_rows[1][0] == "Ben Birch" and ratings_rows[1][1] == "4 / 5"


def test_team_workbook_lists_members(pack_dir: Path) -> None:
    """The team pack lists the North AEs, SDR and CSM with their scores."""
    book = openpyxl.load_workbook(pack_dir / "north.xlsx")
    assert {"Members", "KPIs", "Score breakdown", "Ratings"} <= set(book.sheetnames)
    names = [r[0] for r in book["Members"].iter_rows(min_row=2, values_only=True)]
    assert sorted(names) == ["Ava Ames", "Ben Birch", "Cara Cole", "Sia Sand"]


@pytest.mark.parametrize("name", ["a2", "north"])
def test_pdf_has_pages(pack_dir: Path, name: str) -> None:
    """The PDF is a PDF with at least two pages of text and tables."""
    data = (pack_dir / f"{name}.pdf").read_bytes()
    assert data.startswith(b"%PDF-")
    assert pdf_pages(data) >= 2


def test_html_shows_the_rating_and_the_flags(pack_dir: Path) -> None:
    """The manager's comment is in the pack, escaped; the breakdown names its normalisation."""
    html = (pack_dir / "a2.html").read_text(encoding="utf-8")
    assert "Steady quarter; = not a formula" in html
    assert "percentile among peers" in html and "own target" in html


def test_chinese_pack(tmp_path: Path) -> None:
    """A pack in Chinese has Chinese headings; the PDF still has pages (in English without a Chinese font)."""
    F.build_store(tmp_path)
    runner = Runner(store.open_snapshot(tmp_path))
    try:
        files = review.make(runner, tmp_path, F.AS_OF, review.Request("2026Q3", rep="A1", lang="zh"))
    finally:
        runner.close()
    assert "季度评估" in files.html.decode("utf-8")
    assert pdf_pages(files.pdf) >= 1


@pytest.mark.parametrize(
    ("req", "message"),
    [
        (review.Request("2026Q3", rep="NOPE"), "no AE, SDR or CSM"),
        (review.Request("2026Q3", team="Nowhere"), "no AE, SDR or CSM"),
        (review.Request("2027Q1", rep="A1"), "after the data ends"),
        (review.Request("2026Q3"), "either a rep or a team"),
    ],
)
def test_bad_requests(tmp_path: Path, req: review.Request, message: str) -> None:
    """An unknown rep or team, a quarter after the data, or no subject: a clear one-line error."""
    F.build_store(tmp_path)
    runner = Runner(store.open_snapshot(tmp_path))
    try:
        with pytest.raises(review.ReviewError, match=message):
            review.build(runner, tmp_path, F.AS_OF, req)
    finally:
        runner.close()


def test_cli_writes_three_files(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    """`review --rep A1 --quarter 2026Q3 --out FILE` writes FILE.html, FILE.xlsx and FILE.pdf."""
    data = tmp_path / "data"
    F.build_store(data)
    code = cli_main(["review", "--rep", "A1", "--quarter", "2026Q3", "--out", str(tmp_path / "pack"),
                     "--data", str(data)])
    assert code == 0
    for ext in ("html", "xlsx", "pdf"):
        assert (tmp_path / f"pack.{ext}").stat().st_size > 1000
    assert capsys.readouterr().out.split() == [str(tmp_path / f"pack.{ext}") for ext in ("html", "xlsx", "pdf")]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--rep", "NOPE", "--quarter", "2026Q3"], "no AE, SDR or CSM"),
        (["--rep", "A1", "--quarter", "Q3"], "2026Q3"),
        (["--team", "North", "--quarter", "2026Q3", "--scorecard", "missing"], "no saved scorecard"),
    ],
)
def test_cli_errors_are_one_line(tmp_path: Path, capsys: pytest.CaptureFixture, args: list, message: str) -> None:
    """Bad input exits 2 with one line on stderr and writes nothing."""
    data = tmp_path / "data"
    F.build_store(data)
    code = cli_main(["review", *args, "--out", str(tmp_path / "pack"), "--data", str(data)])
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 2
    assert message in err[-1] and err[-1].startswith("saleslens review: error:")
    assert not list(tmp_path.glob("pack.*"))


def test_cli_scorecard(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    """`scorecard` prints the scores the page shows (A1 first with 101.89)."""
    F.build_store(tmp_path)
    assert cli_main(["scorecard", "--quarter", "2026Q3", "--data", str(tmp_path), "--format", "csv"]) == 0
    lines = capsys.readouterr().out.strip().splitlines()
    assert lines[0].startswith("rank,prev_rank,rank_change,rep_id")
    assert lines[1].startswith("1,1,0,A1,Ava Ames,North,101.88")
