"""The Great Expectations export: suite structure, the check-to-expectation mapping,
and that no compiled check is dropped silently.

GX itself runs these suites in tests/peers/test_great_expectations.py.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from lakegate.config.contract import Contract, load_contract
from lakegate.contracts.compile import contract_checks
from lakegate.contracts.exports.great_expectations import (
    UNSUPPORTED,
    export,
    regex_dialect_notes,
    suite,
)
from tests.conftest import FLIGHTS_CONTRACT, ROOT

SCAFFOLD = ROOT / "src" / "lakegate" / "scaffold" / "templates" / "contracts"
CONTRACTS = [FLIGHTS_CONTRACT, *sorted(SCAFFOLD.glob("*.yaml"))]

# The GX expectation each exported check kind becomes.
GX_TYPES = {
    "not_null": {"expect_column_values_to_not_be_null"},
    "null_rate": {"expect_column_values_to_not_be_null"},
    "accepted_values": {"expect_column_values_to_be_in_set"},
    "range": {"expect_column_values_to_be_between"},
    "regex": {"expect_column_values_to_match_regex"},
    "length": {"expect_column_value_lengths_to_be_between"},
    "unique": {"expect_column_values_to_be_unique"},
    "unique_combination": {"expect_compound_columns_to_be_unique"},
    "row_count": {"expect_table_row_count_to_be_between"},
    "distribution": {"expect_column_mean_to_be_between", "expect_column_stdev_to_be_between"},
}


def by_id(exported: dict[str, Any]) -> dict[str, list[dict[str, Any]]]:
    out: dict[str, list[dict[str, Any]]] = {}
    for e in exported["expectations"]:
        out.setdefault(e["meta"]["lakegate_check_id"], []).append(e)
    return out


def unsupported(exported: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {u["lakegate_check_id"]: u for u in exported["meta"]["lakegate_unsupported"]}


def text_contract(tmp_path: Path, text: str) -> Contract:
    return load_contract(tmp_path / "contract.yaml", text=text)


@pytest.mark.parametrize("path", CONTRACTS, ids=lambda p: p.parent.parent.name + "/" + p.stem)
def test_suite_structure(path: Path) -> None:
    text = export(load_contract(path))
    assert text.endswith("}\n")
    exported = json.loads(text)
    assert set(exported) == {"name", "expectations", "meta", "notes"}
    assert exported["name"] == load_contract(path).contract.name
    assert exported["meta"]["lakegate_contract"]["version"] == "1.0.0"
    for e in exported["expectations"]:
        assert set(e) == {"type", "kwargs", "meta", "severity"}
        assert e["type"] in GX_TYPES[e["meta"]["lakegate_kind"]]
        assert e["severity"] == e["meta"]["severity"]
        assert e["severity"] in {"critical", "warning", "info"}
        assert "column" in e["kwargs"] or "column_list" in e["kwargs"] or "table" in e["type"]
    assert export(load_contract(path)) == text  # deterministic


@pytest.mark.parametrize("path", CONTRACTS, ids=lambda p: p.parent.parent.name + "/" + p.stem)
def test_every_check_is_exported_or_listed_unsupported(path: Path) -> None:
    contract = load_contract(path)
    checks = {c.id: c for c in contract_checks(contract)}
    exported = suite(contract)
    expectations, left_out = by_id(exported), unsupported(exported)
    assert set(expectations) | set(left_out) == set(checks)
    for check_id, reason in left_out.items():
        assert reason["reason"]
        assert reason["lakegate_kind"] == checks[check_id].kind
        assert reason["severity"] == checks[check_id].severity.value
        if check_id in expectations:  # exported in part only
            assert reason["lakegate_part"] == "max_share"
    for check_id, found in expectations.items():
        for e in found:
            assert e["meta"]["lakegate_kind"] == checks[check_id].kind
            assert e["severity"] == checks[check_id].severity.value


def test_flights_mapping() -> None:
    exported = suite(load_contract(FLIGHTS_CONTRACT))
    e = {k: v[0] if len(v) == 1 else v for k, v in by_id(exported).items()}
    assert e["year.range"]["kwargs"] == {"column": "year", "min_value": 2013, "max_value": 2013}
    assert e["tailnum.length"]["kwargs"] == {"column": "tailnum", "min_value": 0, "max_value": 6}
    assert e["carrier.regex"]["kwargs"] == {"column": "carrier", "regex": "^[A-Z0-9]{2}$"}
    assert e["carrier.not_null"]["kwargs"] == {"column": "carrier"}
    assert e["origin.accepted_values"]["kwargs"] == {
        "column": "origin",
        "value_set": ["EWR", "JFK", "LGA"],
    }
    # optional_fields_null_rate 0.05: at least 95% of all rows not null.
    assert e["dep_time.null_rate"]["type"] == "expect_column_values_to_not_be_null"
    assert e["dep_time.null_rate"]["kwargs"] == {"column": "dep_time", "mostly": 0.95}
    assert e["dep_time.null_rate"]["severity"] == "warning"
    assert e["unique_combination.year.month.day.origin.carrier.flight"]["kwargs"] == {
        "column_list": ["year", "month", "day", "origin", "carrier", "flight"],
        "ignore_row_if": "all_values_are_missing",
    }
    assert e["row_count"]["kwargs"] == {"min_value": 300000, "max_value": 400000}
    mean = e["dep_delay.distribution"]
    assert mean["type"] == "expect_column_mean_to_be_between"
    assert mean["kwargs"] == {"column": "dep_delay", "min_value": 0, "max_value": 30}
    assert mean["meta"]["lakegate_part"] == "mean"

    left_out = unsupported(exported)
    assert left_out["dep_delay.distribution"]["lakegate_part"] == "max_share"
    assert left_out["dep_delay.distribution"]["threshold"]["max_share"] == 0.2
    assert left_out["time_hour.type"]["reason"] == UNSUPPORTED["type"]
    assert left_out["time_hour.freshness"]["reason"] == UNSUPPORTED["freshness"]
    assert left_out["tailnum.relationships"]["reason"] == UNSUPPORTED["relationships"]
    assert left_out["scheduled_hour_matches"]["reason"] == UNSUPPORTED["expression"]
    assert left_out["tailnum.relationships"]["severity"] == "warning"


def test_flights_regex_notes_name_the_dialect_difference() -> None:
    exported = suite(load_contract(FLIGHTS_CONTRACT))
    (carrier,) = by_id(exported)["carrier.regex"]
    assert carrier["meta"]["lakegate_notes"] == list(regex_dialect_notes("^[A-Z0-9]{2}$"))
    assert carrier["meta"]["lakegate_notes"][0].startswith("$: Python re")


KINDS_CONTRACT = """
contract: {name: kinds, version: "2.1.0"}
schema:
  type: object
  required: [id, status]
  properties:
    id:
      type: integer
      exclusiveMinimum: 0
      maximum: 1000
      checks:
        - {type: range, params: {max: 5, strict_max: true, strict_min: true, mostly: 0.5}}
        - {id: id.any, type: range, params: {}}
        - {type: relationships, params: {to: parents, field: id}}
    status:
      type: string
      checks:
        - {type: accepted_values, params: {values: [a, b, null], mostly: 0.9}, severity: info}
        - {type: not_null, params: {mostly: 0.8}, severity: warning}
        - {type: length, params: {max: 3, mostly: 0.75}}
    email:
      type: string
      format: email
      checks:
        - {type: regex, params: {pattern: "^[a-z]", mostly: 0.6}}
        - {type: null_rate, params: {max: 0.7}}
    day:
      type: date
      checks:
        - {type: range, params: {min: 2013-01-01, max: 2013-12-31}}
        - type: distribution
          params: {mean_min: 1, stddev_min: 0.5, stddev_max: 2}
        - {id: day.no_bounds, type: distribution, params: {}}
        - {id: day.share, type: distribution, params: {max_share: 0.5}}
    at:
      type: timestamp
      checks:
        - {type: freshness, params: {max_age: 2h}}
quality:
  completeness: {required_fields_null_rate: 0.001}
  uniqueness: {id: true, combination: [[status, day], [email, at]]}
checks:
  - {type: row_count, params: {}}
  - {type: custom_sql, params: {sql: "SELECT * FROM dataset WHERE id > 7"}}
  - {type: volume_anomaly, params: {max_change: 0.5}}
  - {type: reconciliation, params: {to: source}}
  - {type: expression, params: {expression: "id > 0"}}
"""


def test_every_kind(tmp_path: Path) -> None:
    exported = suite(text_contract(tmp_path, KINDS_CONTRACT))
    e = by_id(exported)
    left_out = unsupported(exported)
    kw = {k: [x["kwargs"] for x in v] for k, v in e.items()}

    # exclusiveMinimum becomes a strict bound; a strict flag without its bound is dropped.
    assert kw["id.range"] == [
        {"column": "id", "min_value": 0, "max_value": 1000, "strict_min": True}
    ]
    assert kw["id.range#2"] == [{"column": "id", "max_value": 5, "strict_max": True, "mostly": 0.5}]
    assert left_out["id.any"]["reason"].startswith("declares no bound")
    assert kw["status.accepted_values"] == [
        {"column": "status", "value_set": ["a", "b"], "mostly": 0.9}
    ]
    assert e["status.accepted_values"][0]["severity"] == "info"
    assert kw["status.not_null"] == [{"column": "status"}]  # required
    assert kw["status.not_null#2"] == [{"column": "status", "mostly": 0.8}]
    assert kw["status.length"] == [
        {"column": "status", "min_value": 0, "max_value": 3, "mostly": 0.75}
    ]
    (email_format,) = e["email.format"]
    assert email_format["type"] == "expect_column_values_to_match_regex"
    assert email_format["kwargs"]["regex"] == r"^[^@\s]+@[^@\s]+\.[^@\s]+$"
    assert len(email_format["meta"]["lakegate_notes"]) == 2  # $ and \s
    assert kw["email.regex"] == [{"column": "email", "regex": "^[a-z]", "mostly": 0.6}]
    assert "lakegate_notes" not in e["email.regex"][0]["meta"]
    # 1 - 0.7 is 0.30000000000000004 in floats; the export writes 0.3.
    assert kw["email.null_rate"] == [{"column": "email", "mostly": 0.3}]
    assert kw["status.null_rate"] == [{"column": "status", "mostly": 0.999}]
    # Dates as ISO text (JSON has no date).
    assert kw["day.range"] == [
        {"column": "day", "min_value": "2013-01-01", "max_value": "2013-12-31"}
    ]
    assert [
        (x["type"], x["kwargs"], x["meta"]["lakegate_part"]) for x in e["day.distribution"]
    ] == [
        ("expect_column_mean_to_be_between", {"column": "day", "min_value": 1}, "mean"),
        (
            "expect_column_stdev_to_be_between",
            {"column": "day", "min_value": 0.5, "max_value": 2},
            "stddev",
        ),
    ]
    assert "day.distribution" not in left_out  # no max_share: fully exported
    assert "day.no_bounds" not in e
    assert left_out["day.no_bounds"]["reason"].startswith("declares no bound")
    assert "day.share" not in e
    assert left_out["day.share"]["lakegate_part"] == "max_share"
    assert kw["id.unique"] == [{"column": "id"}]
    assert kw["unique_combination.status.day"][0]["column_list"] == ["status", "day"]
    assert kw["unique_combination.email.at"][0]["column_list"] == ["email", "at"]
    assert kw["row_count"] == [{"min_value": 0}]  # no bound: 0 is every count's lower bound

    for check_id, kind in [
        ("id.relationships", "relationships"),
        ("at.freshness", "freshness"),
        ("custom_sql", "custom_sql"),
        ("volume_anomaly", "volume_anomaly"),
        ("reconciliation", "reconciliation"),
        ("expression", "expression"),
        ("id.type", "type"),
    ]:
        assert left_out[check_id]["reason"] == UNSUPPORTED[kind], check_id
    assert left_out["at.freshness"]["threshold"] == {"max_age_seconds": 7200.0}
    assert exported["meta"]["lakegate_contract"] == {"name": "kinds", "version": "2.1.0"}
    assert f"{len(left_out)} check(s)" in exported["notes"]


def test_unsupported_reasons_cover_every_unexported_kind() -> None:
    from lakegate.checks.model import CHECK_KINDS

    assert set(UNSUPPORTED) | set(GX_TYPES) == set(CHECK_KINDS)
    assert not set(UNSUPPORTED) & (set(GX_TYPES) - {"distribution"})


@pytest.mark.parametrize(
    ("pattern", "notes"),
    [
        ("^[A-Z]{2,6}", ()),
        ("^[A-Z]{2}$", ("$",)),
        (r"\$[0-9]+", ()),  # an escaped dollar
        ("^[$]+", ()),  # a dollar in a class
        ("^[]$]+", ()),  # ] first in a class is a literal, so $ is still inside
        ("^[^]$]+", ()),
        (r"^\d+", ("\\d",)),
        (r"^[\d.]+", ("\\d",)),
        (r"^[\b]", ()),  # backspace in a class, not a word boundary
        (r"\bword\b", ("\\d",)),
        (r"^(?=a)", ("lookarounds",)),
        (r"(a)\1", ("lookarounds",)),
        (r"^\w+$", ("$", "\\d")),
    ],
)
def test_regex_dialect_notes(pattern: str, notes: tuple[str, ...]) -> None:
    found = regex_dialect_notes(pattern)
    assert len(found) == len(notes)
    for note, start in zip(found, notes, strict=True):
        assert note.startswith(start)


def test_unsupported_lines_for_the_cli() -> None:
    from lakegate.contracts.exports import export_contract, unsupported_checks

    contract = load_contract(FLIGHTS_CONTRACT)
    assert export_contract(contract, "great-expectations") == export(contract)
    lines = unsupported_checks(contract, "great-expectations")
    assert len(lines) == len(suite(contract)["meta"]["lakegate_unsupported"])
    assert f"time_hour.freshness (freshness): {UNSUPPORTED['freshness']}" in lines
    assert any(
        line.startswith("dep_delay.distribution (distribution max_share): ") for line in lines
    )
