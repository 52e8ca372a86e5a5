"""`lakegate run` with a `type: rest` source, against a real local HTTP server:
records typed by the contract, loaded into Delta; a malformed page loads nothing."""

from __future__ import annotations

import json
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
