"""`lakegate run` with a `type: rest` source, against a real local HTTP server:
records typed by the contract, loaded into Delta; a malformed page loads nothing."""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path
from typing import Any

import duckdb
import pytest
from pytest_httpserver import HTTPServer
from werkzeug import Request, Response

from lakegate.config.pipeline import load_pipeline
from lakegate.config.project import load_project
from lakegate.engines.duckdb import DuckDBEngine
from lakegate.runner import RunOptions, run_pipeline
from lakegate.sources.files import resolve_input
from lakegate.state.store import StateStore
from tests.conftest import lakegate

CONTRACT = """\
contract: {name: flights, version: 1.0.0}
schema:
  required: [id, carrier, time_hour]
  properties:
    id: {type: integer}
    carrier: {type: string, pattern: "^[A-Z0-9]{2}$"}
    dep_delay: {type: integer}
    time_hour: {type: timestamp}
"""


@pytest.fixture
def records(flights_dir: Path) -> list[dict[str, Any]]:
    con = duckdb.connect()
    rows = con.execute(
        f"""SELECT row_number() OVER (ORDER BY time_hour, carrier, flight, origin) AS id,
                   carrier, dep_delay, strftime(time_hour AT TIME ZONE 'UTC', '%Y-%m-%dT%H:%M:%SZ') AS time_hour
            FROM '{flights_dir / "flights.parquet"}' WHERE month = 1 AND day = 1 ORDER BY id"""
    ).fetchall()
    return [dict(zip(("id", "carrier", "dep_delay", "time_hour"), r, strict=True)) for r in rows]


def serve(
    httpserver: HTTPServer, records: list[dict[str, Any]], broken_page: int | None = None
) -> None:
    def handler(request: Request) -> Response:
        offset = int(request.args.get("offset", 0))
        limit = int(request.args.get("limit", 100))
        if broken_page is not None and offset // limit + 1 == broken_page:
            return Response('{"data": [{"id": 1, "carr', content_type="application/json")
        page = records[offset : offset + limit]
        return Response(json.dumps({"data": page}), content_type="application/json")

    httpserver.expect_request("/v1/flights").respond_with_handler(handler)


def project(tmp_path: Path, url: str) -> Path:
    (tmp_path / "pipelines").mkdir()
    (tmp_path / "contracts").mkdir()
    (tmp_path / "lakegate.yaml").write_text("name: rest_test\n")
    (tmp_path / "contracts" / "flights.yaml").write_text(CONTRACT)
    path = tmp_path / "pipelines" / "p.yaml"
    path.write_text(
        "pipeline: {name: from_api}\n"
        f"extract:\n  source: {{type: rest, url: '{url}', records_path: data, "
        "pagination: {type: offset, limit: 200}}\n"
        "load: {target: flights, strategy: merge, merge_keys: [id]}\n"
        "contract: contracts/flights.yaml\n"
    )
    return path


def test_a_rest_pipeline_loads_typed_rows(tmp_path: Path, httpserver: HTTPServer, records) -> None:
    serve(httpserver, records)
    path = project(tmp_path, httpserver.url_for("/v1/flights"))
    result = run_pipeline(load_project(tmp_path), load_pipeline(path), RunOptions())
    assert result.ok, result.record.error_message
    assert result.record.rows_extracted == result.record.rows_loaded == len(records) > 800
    engine = DuckDBEngine()
    try:
        engine.register("t", resolve_input(tmp_path / "lake" / "flights"))
        types = dict(
            engine.connection.execute(
                "SELECT column_name, column_type FROM (DESCRIBE t)"
            ).fetchall()
        )
        count, keys = engine.connection.execute(
            "SELECT count(*), count(DISTINCT id) FROM t"
        ).fetchone()
    finally:
        engine.close()
    assert types["time_hour"] == "TIMESTAMP WITH TIME ZONE" and types["id"] == "BIGINT"
    assert count == keys == len(records)


def test_a_malformed_page_loads_nothing(tmp_path: Path, httpserver: HTTPServer, records) -> None:
    serve(httpserver, records, broken_page=3)
    path = project(tmp_path, httpserver.url_for("/v1/flights"))
    result = run_pipeline(load_project(tmp_path), load_pipeline(path), RunOptions())
    assert not result.ok
    assert "page 3" in result.record.error_message and "/v1/flights" in result.record.error_message
    assert not (tmp_path / "lake" / "flights").exists()
    with StateStore(load_project(tmp_path).state_url) as state:
        assert state.get_watermark("from_api") is None


MONEY_CONTRACT = """\
contract: {name: payments, version: 1.0.0}
schema:
  required: [id]
  properties:
    id: {type: integer}
    amount: {type: decimal, precision: 18, scale: 4, maximum: 99999999999999}
"""


def test_json_numbers_reach_a_decimal_column_and_the_dead_letters_exactly(
    tmp_path: Path, httpserver: HTTPServer
) -> None:
    """JSON numbers are never rounded through a float: on the way into a decimal(18,4)
    Delta column, and in a quarantined row's record (whether the column was typed
    decimal or kept as text because one value does not fit)."""
    # As the API writes them; a float would make them 12345678901234.568, 1e14, ...
    first = (
        '{"data": [{"id": 1, "amount": 12345678901234.5678},'
        ' {"id": 2, "amount": 99999999999999.9999}, {"id": 3, "amount": 0.0001}]}'
    )
    second = (  # 15 integer digits and 5 decimals do not fit decimal(18,4): text, exact
        '{"data": [{"id": 4, "amount": 123456789012345.6789},'
        ' {"id": 5, "amount": 1.23456}, {"id": 6, "amount": 9007199254740.9993}]}'
    )
    for body in (first, second):
        httpserver.expect_ordered_request("/v1/payments").respond_with_data(
            body, content_type="application/json"
        )
    path = project(tmp_path, httpserver.url_for("/v1/payments"))
    (tmp_path / "contracts" / "flights.yaml").write_text(MONEY_CONTRACT)
    path.write_text(
        path.read_text().replace("pagination: {type: offset, limit: 200}", "pagination: {}")
        + "error_handling: {max_rejected_fraction: 1}\n"
    )

    results = [run_pipeline(load_project(tmp_path), load_pipeline(path)) for _ in range(2)]

    for result in results:
        record = result.record
        assert result.ok, record.error_message
        assert record.rows_extracted == 3
        assert record.rows_extracted == (
            record.rows_loaded + record.rows_rejected + record.rows_deduplicated
        )
    engine = DuckDBEngine()
    try:
        engine.register("t", resolve_input(tmp_path / "lake" / "flights"))
        engine.register("dlq", resolve_input(tmp_path / "lake" / "_dead_letter" / "flights"))
        con = engine.connection
        kind = con.execute(
            "SELECT column_type FROM (DESCRIBE t) WHERE column_name = 'amount'"
        ).fetchone()
        loaded = con.execute("SELECT id, amount FROM t ORDER BY id").fetchall()
        rejected = con.execute("SELECT record, failed_checks FROM dlq ORDER BY record").fetchall()
    finally:
        engine.close()
    assert kind == ("DECIMAL(18,4)",)
    assert loaded == [
        (1, Decimal("12345678901234.5678")),
        (3, Decimal("0.0001")),
        (6, Decimal("9007199254740.9993")),
    ]
    records = {
        json.loads(text)["id"]: (json.loads(text, parse_float=Decimal)["amount"], checks)
        for text, checks in rejected
    }
    assert records == {
        2: (Decimal("99999999999999.9999"), ["amount.range"]),  # typed decimal: a number
        4: ("123456789012345.6789", ["amount.type"]),  # kept as text: the API's digits
        5: ("1.23456", ["amount.type"]),
    }

    shown = lakegate("dlq", "show", "flights", "--format", "json", cwd=tmp_path)
    assert shown.returncode == 0, shown.stderr
    amounts = {
        r["record"]["id"]: r["record"]["amount"]
        for r in json.loads(shown.stdout, parse_float=Decimal)["rows"]
    }
    assert amounts == {
        2: Decimal("99999999999999.9999"),
        4: "123456789012345.6789",
        5: "1.23456",
    }
    table = lakegate("dlq", "show", "flights", cwd=tmp_path)
    assert table.returncode == 0 and "99999999999999.9999" in table.stdout, table.stdout
