"""Loading contracts: valid files compile; every mistake names file, line, column and key."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from lakegate.checks import model as m
from lakegate.config.contract import contract_json_schema, load_contract
from lakegate.contracts.compile import contract_checks
from lakegate.errors import ConfigError
from tests.conftest import FLIGHTS_CONTRACT

BASE = """\
contract:
  name: orders
  version: "2.0.0"
schema:
  type: object
  required: [order_id, total]
  properties:
    order_id: {type: string, format: uuid, unique: true}
    total: {type: decimal, precision: 10, scale: 2, minimum: 0}
    status:
      type: string
      enum: [pending, shipped]
      maxLength: 10
"""


def load(text: str, tmp_path: Path):
    path = tmp_path / "contract.yaml"
    path.write_text(textwrap.dedent(text), encoding="utf-8")
    return load_contract(path)


def error_of(text: str, tmp_path: Path) -> ConfigError:
    with pytest.raises(ConfigError) as info:
        load(text, tmp_path)
    return info.value


def test_flights_contract_compiles_to_the_expected_checks() -> None:
    contract = load_contract(FLIGHTS_CONTRACT)
    checks = {c.id: c for c in contract_checks(contract)}
    assert contract.contract.name == "flights"
    assert checks["origin.accepted_values"] == m.AcceptedValues(
        id="origin.accepted_values", column="origin", values=("EWR", "JFK", "LGA")
    )
    assert checks["tailnum.relationships"].severity is m.Severity.WARNING
    assert checks["unique_combination.year.month.day.origin.carrier.flight"].columns == (
        "year",
        "month",
        "day",
        "origin",
        "carrier",
        "flight",
    )
    assert checks["row_count"] == m.RowCount(id="row_count", min=300_000, max=400_000)
    assert checks["time_hour.freshness"].max_age_seconds == 1440 * 60
    # One type check per property, one not_null per required field.
    assert sum(c.kind == "type" for c in checks.values()) == len(contract.schema_.properties)
    assert sum(c.kind == "not_null" for c in checks.values()) == len(contract.schema_.required)


def test_each_contract_rule_maps_to_its_check(tmp_path: Path) -> None:
    checks = {c.id: c for c in contract_checks(load(BASE, tmp_path))}
    assert checks["order_id.format"].pattern.startswith("^[0-9a-fA-F]{8}")
    assert isinstance(checks["order_id.unique"], m.Unique)
    assert checks["total.type"].type == m.ColumnType(m.LogicalType.DECIMAL, 10, 2)
    assert checks["total.range"] == m.Range(id="total.range", column="total", min=0)
    assert checks["status.length"] == m.Length(id="status.length", column="status", max=10)
    assert isinstance(checks["total.not_null"], m.NotNull)
    assert "status.not_null" not in checks


def test_quality_sections_compile(tmp_path: Path) -> None:
    text = BASE + textwrap.dedent("""\
        quality:
          completeness: {optional_fields_null_rate: 0.1}
          uniqueness: {order_id: true, combination: [order_id, status]}
          validity:
            total: {min: 0, max: 1000000}
            status: {allowed_values: [pending, shipped, cancelled]}
          volume: {min_daily_records: 10, max_daily_records: 100}
        """)
    checks = contract_checks(load(text, tmp_path))
    by_id = {c.id: c for c in checks}
    assert by_id["status.null_rate"] == m.NullRate(
        id="status.null_rate", column="status", max_rate=0.1, severity=m.Severity.WARNING
    )
    assert by_id["row_count"] == m.RowCount(id="row_count", min=10, max=100)
    assert by_id["unique_combination.order_id.status"].columns == ("order_id", "status")
    # The validity range differs from the property's, so both are kept with distinct ids.
    assert by_id["total.range#2"].max == 1_000_000
    assert by_id["status.accepted_values#2"].values == ("pending", "shipped", "cancelled")
    # order_id.unique is declared twice identically: kept once.
    assert sum(c.id.startswith("order_id.unique") for c in checks) == 1
    dims = contract_checks(load(text, tmp_path), dimensions=["volume"])
    assert [c.id for c in dims] == ["row_count"]


def test_unknown_nested_key_names_line_column_and_key(tmp_path: Path) -> None:
    err = error_of(BASE.replace("minimum: 0}", "minimun: 0}"), tmp_path)
    assert err.path == str(tmp_path / "contract.yaml")
    assert (err.line, err.column) == (9, 53)
    assert err.key == "schema.properties.total.minimun"
    assert "unknown key" in str(err)


def test_unknown_top_level_key(tmp_path: Path) -> None:
    err = error_of(BASE + "qualty: {}\n", tmp_path)
    assert (err.line, err.key) == (14, "qualty")


def test_malformed_yaml_names_the_line(tmp_path: Path) -> None:
    err = error_of("contract:\n  name: [unclosed\n  version: 1\n", tmp_path)
    assert "invalid YAML" in str(err)
    assert err.line == 3


def test_duplicate_key_is_an_error(tmp_path: Path) -> None:
    err = error_of(BASE + "description: a\ndescription: b\n", tmp_path)
    assert "duplicate key 'description'" in str(err)
    assert err.line == 15


def test_wrong_value_type(tmp_path: Path) -> None:
    err = error_of(BASE.replace("type: decimal", "type: money"), tmp_path)
    assert err.key == "schema.properties.total.type"
    assert err.line == 9


def test_bad_version(tmp_path: Path) -> None:
    err = error_of(BASE.replace('"2.0.0"', '"two"'), tmp_path)
    assert (err.key, err.line) == ("contract.version", 3)


def test_required_names_unknown_column(tmp_path: Path) -> None:
    err = error_of(BASE.replace("[order_id, total]", "[order_id, totl]"), tmp_path)
    assert err.key == "schema.required.1"
    assert "'totl'" in str(err)


def test_explicit_check_with_unknown_param(tmp_path: Path) -> None:
    text = BASE + "      checks:\n        - type: range\n          params: {min: 0, maxx: 5}\n"
    with pytest.raises(ConfigError) as info:
        contract_checks(load(text, tmp_path))
    assert info.value.key == "schema.properties.status.checks.0.params.maxx"
    assert info.value.line == 16
    assert "unknown parameter" in str(info.value)


def test_unknown_check_type(tmp_path: Path) -> None:
    text = BASE + "checks:\n  - {type: not_nul}\n"
    err = error_of(text, tmp_path)
    assert (err.key, err.line) == ("checks.0.type", 15)


def test_table_check_needs_a_column(tmp_path: Path) -> None:
    text = BASE + "checks:\n  - {type: range, params: {min: 1}}\n"
    with pytest.raises(ConfigError, match=r"needs params\.column"):
        contract_checks(load(text, tmp_path))


def test_unknown_format(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="unknown format 'ssn'") as info:
        contract_checks(load(BASE.replace("format: uuid", "format: ssn"), tmp_path))
    assert info.value.line == 8


def test_uniqueness_column_values_must_be_booleans(tmp_path: Path) -> None:
    err = error_of(BASE + "quality:\n  uniqueness: {order_id: sure}\n", tmp_path)
    assert err.key == "quality.uniqueness.order_id"


def test_freshness_needs_an_unambiguous_column(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="cannot tell which column"):
        contract_checks(load(BASE + "quality:\n  freshness: {max_delay_minutes: 5}\n", tmp_path))


def test_missing_file_and_empty_file(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="file not found"):
        load_contract(tmp_path / "nope.yaml")
    with pytest.raises(ConfigError, match="empty"):
        load("", tmp_path)


def test_json_schema_describes_contracts() -> None:
    schema = contract_json_schema()
    assert set(schema["required"]) == {"contract", "schema"}
    assert schema["additionalProperties"] is False
    prop = schema["$defs"]["Property"]["properties"]
    assert {"maxLength", "exclusiveMinimum", "enum", "pii"} <= set(prop)
