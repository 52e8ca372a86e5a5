"""Contract diff: real contracts evolve, every change is classified under its rule, the
consumers that need a field are named, and the version must be bumped enough."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from lakegate.checks.model import ColumnType, LogicalType
from lakegate.config.contract import Consumer, Versioning, load_contract
from lakegate.contracts.diff import (
    Bump,
    Change,
    Column,
    ContractDiff,
    Kind,
    classify_schema_change,
    diff_contracts,
)
from lakegate.errors import ConfigError
from tests.conftest import FLIGHTS_CONTRACT, ROOT, lakegate

SCAFFOLD = ROOT / "src" / "lakegate" / "scaffold" / "templates" / "contracts"
FLIGHTS = SCAFFOLD / "flights.yaml"
AIRLINES = SCAFFOLD / "airlines.yaml"
AIRPORTS = SCAFFOLD / "airports.yaml"
PLANES = SCAFFOLD / "planes.yaml"
WEATHER = SCAFFOLD / "weather.yaml"


def evolve(source: Path, tmp_path: Path, *edits: tuple[str, str], version: str = "2.0.0") -> Path:
    """NEW: ``source`` with each (old text, new text) edit applied and ``version`` set."""
    text = source.read_text(encoding="utf-8")
    for old, new in edits:
        assert text.count(old) == 1, f"{old!r} is not once in {source.name}"
        text = text.replace(old, new)
    text = re.sub(r'version: "[^"]+"', f'version: "{version}"', text, count=1)
    path = tmp_path / f"{source.stem}-{version}.yaml"
    path.write_text(text, encoding="utf-8")
    return path


def diff(
    source: Path, tmp_path: Path, *edits: tuple[str, str], version: str = "2.0.0"
) -> ContractDiff:
    return diff_contracts(
        load_contract(source), load_contract(evolve(source, tmp_path, *edits, version=version))
    )


def one(result: ContractDiff, rule: str) -> Change:
    found = [c for c in result.changes if c.rule == rule]
    assert len(found) == 1, (rule, result.changes)
    return found[0]


def rules(result: ContractDiff) -> set[str]:
    return {c.rule for c in result.changes}


@pytest.mark.parametrize(
    "source", [*sorted(SCAFFOLD.glob("*.yaml")), FLIGHTS_CONTRACT], ids=lambda p: p.name
)
def test_a_contract_against_itself_has_no_changes(source: Path) -> None:
    contract = load_contract(source)
    result = diff_contracts(contract, contract)
    assert result.changes == ()
    assert (result.required_bump, result.version_bump, result.bump_ok) == (
        Bump.NONE,
        Bump.NONE,
        True,
    )


# ----------------------------------------------------------------------------- fields


def test_removing_a_required_field_is_breaking_and_names_its_consumer(tmp_path: Path) -> None:
    result = diff(
        AIRLINES,
        tmp_path,
        ("required: [carrier, name]", "required: [carrier]"),
        (
            "    name:\n      type: string\n      minLength: 2\n      maxLength: 100\n"
            '      description: Carrier name, e.g. "JetBlue Airways"\n',
            "",
        ),
        ("required_fields: [carrier, name]", "required_fields: [carrier]"),
    )
    change = one(result, "removing_required_field")
    assert (change.kind, change.field, change.old, change.new) == (
        Kind.BREAKING,
        "name",
        "string (required)",
        None,
    )
    assert change.consumers == ("flights pipeline",)  # named by OLD's consumer


CARRIER_NAME = """    carrier_name:
      type: string
      description: Carrier name from lake.airlines; null when the carrier is unknown
      checks:
        - {type: not_null, severity: warning}
"""
TAILNUM = """    tailnum:
      type: string
      pattern: "^[A-Z0-9]{2,6}$"
      description: Plane tail number; null when unknown
      checks:
        # About 720 tail numbers flown in 2013 are not in the registry extract: a known gap.
        - {type: relationships, params: {to: lake.planes, field: tailnum}, severity: warning}
"""


def test_removing_an_optional_field_is_breaking_unless_versioning_says_otherwise(
    tmp_path: Path,
) -> None:
    change = one(diff(FLIGHTS, tmp_path, (TAILNUM, "")), "removing_optional_field")
    assert (change.kind, change.field, change.consumers) == (Kind.BREAKING, "tailnum", ())

    allowed = (
        "non_breaking_changes: [adding_optional_field",
        "non_breaking_changes: [removing_optional_field, adding_optional_field",
    )
    result = diff(FLIGHTS, tmp_path, (TAILNUM, ""), allowed, version="1.1.0")
    assert one(result, "removing_optional_field").kind is Kind.NON_BREAKING
    assert result.required_bump is Bump.MINOR and result.bump_ok


def test_a_consumer_keeps_removing_its_field_breaking_whatever_versioning_says(
    tmp_path: Path,
) -> None:
    result = diff(
        FLIGHTS,
        tmp_path,
        (
            "non_breaking_changes: [adding_optional_field",
            "non_breaking_changes: [removing_optional_field, adding_optional_field",
        ),
        (CARRIER_NAME, ""),
        ("carrier, carrier_name, origin", "carrier, origin"),
    )
    change = one(result, "removing_optional_field")
    assert change.kind is Kind.BREAKING and change.consumers == ("on-time-dashboard",)
    assert change.note and "on-time-dashboard" in change.note


def test_a_rename_is_detected_as_a_rename_with_its_consumer(tmp_path: Path) -> None:
    result = diff(
        FLIGHTS,
        tmp_path,
        ("    carrier_name:\n", "    airline_name:\n"),
        ("carrier, carrier_name, origin", "carrier, airline_name, origin"),
    )
    change = one(result, "renaming_field")
    assert (change.kind, change.field, change.old, change.new) == (
        Kind.BREAKING,
        "airline_name",
        "carrier_name",
        "airline_name",
    )
    assert change.consumers == ("on-time-dashboard",)
    assert not rules(result) & {"removing_optional_field", "adding_optional_field"}


def test_a_field_dropped_here_and_another_added_there_is_not_a_rename(tmp_path: Path) -> None:
    added = "    aircraft_reg: {type: string, maxLength: 10}\n\nquality:"
    result = diff(FLIGHTS, tmp_path, (TAILNUM, ""), ("\nquality:", added))
    assert {"removing_optional_field", "adding_optional_field"} <= rules(result)
    assert "renaming_field" not in rules(result)


def test_a_rename_can_be_declared_non_breaking_when_no_consumer_needs_the_field(
    tmp_path: Path,
) -> None:
    result = diff(
        FLIGHTS,
        tmp_path,
        ("    tailnum:\n", "    tail_number:\n"),
        (
            "non_breaking_changes: [adding_optional_field",
            "non_breaking_changes: [renaming_field, adding_optional_field",
        ),
        (
            "breaking_changes: [removing_required_field, changing_field_type, renaming_field]",
            "breaking_changes: [removing_required_field, changing_field_type]",
        ),
        version="1.1.0",
    )
    change = one(result, "renaming_field")
    assert (change.kind, change.old, change.consumers) == (Kind.NON_BREAKING, "tailnum", ())
    assert result.bump_ok


def test_adding_fields_required_is_breaking_optional_is_not(tmp_path: Path) -> None:
    field = "    country: {type: string, maxLength: 60, description: Country}\n\nquality:"
    optional = diff(AIRPORTS, tmp_path, ("\nquality:", field), version="1.1.0")
    change = one(optional, "adding_optional_field")
    assert (change.kind, change.field, change.new) == (
        Kind.NON_BREAKING,
        "country",
        "string (optional)",
    )
    assert optional.required_bump is Bump.MINOR and optional.bump_ok

    required = diff(AIRPORTS, tmp_path, ("\nquality:", field), ("tz, dst]", "tz, dst, country]"))
    assert one(required, "adding_required_field").kind is Kind.BREAKING


def test_nullability_either_way_is_breaking(tmp_path: Path) -> None:
    stricter = diff(AIRPORTS, tmp_path, ("tz, dst]", "tz, dst, tzone]"))
    change = one(stricter, "making_field_required")
    assert (change.kind, change.field, change.old, change.new) == (
        Kind.BREAKING,
        "tzone",
        False,
        True,
    )

    # Consumers may now receive nulls: breaking, as dbt model contracts and datacontract-cli.
    looser = diff(AIRPORTS, tmp_path, ("lon, alt, tz", "lon, tz"), version="1.1.0")
    change = one(looser, "making_field_optional")
    assert (change.kind, change.field, change.what) == (Kind.BREAKING, "alt", "required")
    assert change.note and "receive nulls" in change.note and "non_breaking_changes" in change.note
    assert (looser.required_bump, looser.bump_ok) == (Bump.MAJOR, False)
    assert rules(looser) == {"making_field_optional"}


def test_making_a_field_optional_can_be_declared_non_breaking(tmp_path: Path) -> None:
    allowed = (
        "non_breaking_changes: [adding_optional_field",
        "non_breaking_changes: [making_field_optional, adding_optional_field",
    )
    result = diff(AIRPORTS, tmp_path, ("lon, alt, tz", "lon, tz"), allowed, version="1.1.0")
    change = one(result, "making_field_optional")
    assert change.kind is Kind.NON_BREAKING and change.note and "versioning lists" in change.note
    assert result.bump_ok


def test_an_explicit_critical_not_null_is_the_same_as_required(tmp_path: Path) -> None:
    spelled = diff(
        AIRPORTS,
        tmp_path,
        ("lon, alt, tz", "lon, tz"),
        ("Altitude in feet}", "Altitude in feet, checks: [{type: not_null}]}"),
        version="1.0.0",
    )
    assert spelled.changes == () and spelled.bump_ok


def test_type_changes_only_a_lossless_decimal_widening_is_non_breaking(tmp_path: Path) -> None:
    retyped = diff(WEATHER, tmp_path, ("wind_dir:   {type: integer", "wind_dir:   {type: number"))
    change = one(retyped, "changing_field_type")
    assert (change.kind, change.field, change.old, change.new) == (
        Kind.BREAKING,
        "wind_dir",
        "integer",
        "number",
    )

    precip = ("precip:     {type: number,", "precip:     {type: decimal, precision: 4, scale: 2,")
    v1 = evolve(WEATHER, tmp_path, precip, version="1.0.0")
    wider = diff(
        v1, tmp_path, ("precision: 4, scale: 2", "precision: 6, scale: 2"), version="1.1.0"
    )
    change = one(wider, "loosening_constraint")
    assert (change.what, change.old, change.new, change.kind) == (
        "type",
        "decimal(4,2)",
        "decimal(6,2)",
        Kind.NON_BREAKING,
    )
    narrower = diff(v1, tmp_path, ("precision: 4, scale: 2", "precision: 4, scale: 1"))
    assert one(narrower, "changing_field_type").kind is Kind.BREAKING


# ----------------------------------------------------------------------------- constraints


UNIQUE_CARRIER = ("      unique: true\n", "")
UNIQUE_CARRIER_SLA = ("  uniqueness:\n    carrier: true\n", "")


# Constraints are compared as the checks they compile to: ``what`` names the check.
@pytest.mark.parametrize(
    ("source", "edits", "rule", "field", "what"),
    [
        (
            FLIGHTS,
            [
                (
                    "year:           {type: integer, minimum: 2013, maximum: 2100}",
                    "year:           {type: integer, minimum: 2013, maximum: 2050}",
                )
            ],
            "tightening_constraint",
            "year",
            "check year.range max",
        ),
        (
            FLIGHTS,
            [
                (
                    "year:           {type: integer, minimum: 2013, maximum: 2100}",
                    "year:           {type: integer, minimum: 2000, maximum: 2100}",
                )
            ],
            "widening_range",
            "year",
            "check year.range min",
        ),
        (
            FLIGHTS,
            [
                (
                    "year:           {type: integer, minimum: 2013, maximum: 2100}",
                    "year:           {type: integer}",
                )
            ],
            "widening_range",
            "year",
            "check year.range",
        ),
        (
            AIRLINES,
            [("maxLength: 100", "maxLength: 50")],
            "tightening_constraint",
            "name",
            "check name.length max",
        ),
        (
            AIRLINES,
            [("maxLength: 100", "maxLength: 200")],
            "loosening_constraint",
            "name",
            "check name.length max",
        ),
        (
            AIRLINES,
            [('pattern: "^[A-Z0-9]{2}$"', 'pattern: "^[A-Z]{2}$"')],
            "tightening_constraint",
            "carrier",
            "check carrier.regex pattern",
        ),
        (
            AIRLINES,
            [('      pattern: "^[A-Z0-9]{2}$"\n', "")],
            "loosening_constraint",
            "carrier",
            "check carrier.regex",
        ),
        (
            AIRLINES,
            [("      maxLength: 100\n", "      maxLength: 100\n      format: email\n")],
            "tightening_constraint",
            "name",
            "check name.format",
        ),
        (
            AIRLINES,
            [UNIQUE_CARRIER, UNIQUE_CARRIER_SLA],
            "loosening_constraint",
            "carrier",
            "check carrier.unique",
        ),
        (
            PLANES,
            [
                (
                    "model:        {type: string, maxLength: 50}",
                    "model:        {type: string, maxLength: 50, unique: true}",
                )
            ],
            "tightening_constraint",
            "model",
            "check model.unique",
        ),
        (
            AIRPORTS,
            [
                (
                    "      maxLength: 200\n",
                    "      maxLength: 200\n      enum: [John F Kennedy Intl, La Guardia]\n",
                )
            ],
            "tightening_constraint",
            "name",
            "check name.accepted_values",
        ),
        (
            PLANES,
            [("Reciprocating, 4 Cycle]", "Reciprocating]")],
            "removing_enum_value",
            "engine",
            "check engine.accepted_values values",
        ),
        (
            FLIGHTS,
            [("enum: [EWR, JFK, LGA]", "enum: [EWR, JFK, LGA, SWF]")],
            "adding_enum_value",
            "origin",
            "check origin.accepted_values values",
        ),
    ],
)
def test_constraint_rules(
    source: Path,
    edits: list[tuple[str, str]],
    rule: str,
    field: str,
    what: str,
    tmp_path: Path,
) -> None:
    result = diff(source, tmp_path, *edits)
    change = one(result, rule)
    assert (change.field, change.what) == (field, what)
    breaking = ("tightening_constraint", "removing_enum_value", "widening_range")
    expected = Kind.BREAKING if rule in breaking else Kind.NON_BREAKING
    assert change.kind is expected
    assert rules(result) == {rule}


def test_a_widened_range_is_breaking_and_explained_unless_versioning_allows_it(
    tmp_path: Path,
) -> None:
    wider = (
        "year:           {type: integer, minimum: 2013, maximum: 2100}",
        "year:           {type: integer, minimum: 2013, maximum: 2200}",
    )
    result = diff(FLIGHTS, tmp_path, wider, version="1.1.0")
    change = one(result, "widening_range")
    assert (change.kind, change.old, change.new) == (Kind.BREAKING, 2100, 2200)
    assert change.note and "outside the old range" in change.note
    assert (result.required_bump, result.bump_ok) == (Bump.MAJOR, False)
    allowed = (
        "non_breaking_changes: [adding_optional_field",
        "non_breaking_changes: [widening_range, adding_optional_field",
    )
    result = diff(FLIGHTS, tmp_path, wider, allowed, version="1.1.0")
    assert one(result, "widening_range").kind is Kind.NON_BREAKING and result.bump_ok
    # The property's and the validity SLA's range (one compiled check) widen; the CLI says why.
    sla = ("dep_delay: {min: -120, max: 1440}", "dep_delay: {min: -240, max: 1440}")
    prop = (
        "dep_delay:      {type: integer, minimum: -120",
        "dep_delay:      {type: integer, minimum: -240",
    )
    new = evolve(FLIGHTS_CONTRACT, tmp_path, sla, prop, version="1.1.0")
    proc = lakegate("contract", "diff", str(FLIGHTS_CONTRACT), str(new), "--format", "json")
    assert proc.returncode == 1, proc.stderr
    (change,) = json.loads(proc.stdout)["changes"]
    assert (change["rule"], change["what"], change["old"], change["new"]) == (
        "widening_range",
        "check dep_delay.range min",
        -120,
        -240,
    )
    assert "outside the old range" in change["note"]


def test_one_unique_spelled_twice_is_still_unique(tmp_path: Path) -> None:
    # airlines says unique: true and quality.uniqueness.carrier: both compile to one check.
    assert diff(AIRLINES, tmp_path, UNIQUE_CARRIER, version="1.0.0").changes == ()
    assert diff(AIRLINES, tmp_path, UNIQUE_CARRIER_SLA, version="1.0.0").changes == ()


def test_a_removed_enum_value_names_the_consumers_of_the_field(tmp_path: Path) -> None:
    change = one(
        diff(PLANES, tmp_path, ("Reciprocating, 4 Cycle]", "Reciprocating]")), "removing_enum_value"
    )
    assert (change.old, change.new, change.consumers) == ("4 Cycle", None, ("fleet-analytics",))


def test_a_pattern_change_is_tightening_because_its_direction_is_unknown(tmp_path: Path) -> None:
    change = one(
        diff(AIRLINES, tmp_path, ('"^[A-Z0-9]{2}$"', '"^[A-Z0-9]{2,3}$"')), "tightening_constraint"
    )
    assert change.note and "cannot tell" in change.note


def test_descriptions_and_pii_are_documentation_and_classification(tmp_path: Path) -> None:
    doc = diff(
        AIRLINES,
        tmp_path,
        ('e.g. "JetBlue Airways"', 'e.g. "JetBlue Airways" or "Delta Air Lines Inc."'),
        version="1.0.1",
    )
    change = one(doc, "changing_description")
    assert (change.kind, change.field, change.consumers) == (
        Kind.INFO,
        "name",
        ("flights pipeline",),
    )
    assert doc.required_bump is Bump.PATCH and doc.bump_ok

    pii = diff(
        FLIGHTS,
        tmp_path,
        ('pattern: "^[A-Z0-9]{2,6}$"\n', 'pattern: "^[A-Z0-9]{2,6}$"\n      pii: true\n'),
        version="1.1.0",
    )
    assert one(pii, "changing_classification").kind is Kind.NON_BREAKING
    assert pii.required_bump is Bump.MINOR


# ----------------------------------------------------------------------------- SLAs and checks


def test_quality_slas_gate_or_monitor_by_severity(tmp_path: Path) -> None:
    volume = diff(FLIGHTS, tmp_path, ("min_records: 500 ", "min_records: 5000 "))
    change = one(volume, "tightening_constraint")
    assert (change.field, change.what, change.old, change.new) == (
        None,
        "check row_count min",
        500,
        5000,
    )
    assert change.consumers == ("on-time-dashboard",)  # a table-level change: every consumer
    assert one(
        diff(FLIGHTS, tmp_path, ("min_records: 500 ", "min_records: 100 ")), "loosening_constraint"
    )

    # The freshness SLA is a warning: it never stops a load, so a stricter one is no break.
    fresher = diff(
        FLIGHTS, tmp_path, ("max_delay_minutes: 1440", "max_delay_minutes: 720"), version="1.1.0"
    )
    assert one(fresher, "changing_monitor").kind is Kind.NON_BREAKING and fresher.bump_ok
    gate = diff(
        FLIGHTS,
        tmp_path,
        ("    severity: warning\n  completeness", "    severity: critical\n  completeness"),
    )
    change = one(gate, "tightening_constraint")
    assert (change.what, change.old, change.new) == (
        "check time_hour.freshness severity",
        "warning",
        "critical",
    )


def test_validity_and_uniqueness_slas(tmp_path: Path) -> None:
    validity = diff(
        FLIGHTS_CONTRACT,
        tmp_path,
        ("dep_delay: {min: -120, max: 1440}", "dep_delay: {min: -120, max: 720}"),
    )
    change = one(validity, "tightening_constraint")
    # A second range on dep_delay (the property keeps its own): a new critical check.
    assert (change.field, change.what, change.new, change.consumers) == (
        "dep_delay",
        "check dep_delay.range#2",
        {"min": -120, "max": 720},
        ("on-time-dashboard",),
    )

    dropped = diff(
        WEATHER,
        tmp_path,
        (
            "  uniqueness:\n    combination: [origin, time_hour]"
            " # local hours repeat when clocks go back; UTC hours do not\n",
            "",
        ),
    )
    assert one(dropped, "loosening_constraint").what == "check unique_combination.origin.time_hour"


def test_equivalent_spellings_of_a_check_are_no_change(tmp_path: Path) -> None:
    # quality.uniqueness.combination and an explicit unique_combination check compile to
    # one check (an ODCS export imported back spells it the second way); so do an enum and
    # a critical accepted_values check.
    respelled = diff(
        WEATHER,
        tmp_path,
        (
            "  uniqueness:\n    combination: [origin, time_hour]"
            " # local hours repeat when clocks go back; UTC hours do not\n",
            "",
        ),
        (
            "\nchecks:\n",
            "\nchecks:\n  - {type: unique_combination, params: {columns: [origin, time_hour]}}\n",
        ),
        version="1.0.0",
    )
    assert respelled.changes == () and respelled.bump_ok
    enum = diff(
        FLIGHTS,
        tmp_path,
        (
            "      enum: [EWR, JFK, LGA]\n      checks:\n",
            "      checks:\n        - {type: accepted_values, params: {values: [EWR, JFK, LGA]}}\n",
        ),
        version="1.0.0",
    )
    assert enum.changes == ()
    # A real change next to a respelling is still found, alone.
    stricter = diff(
        WEATHER,
        tmp_path,
        (
            "  uniqueness:\n    combination: [origin, time_hour]"
            " # local hours repeat when clocks go back; UTC hours do not\n",
            "",
        ),
        ("\nchecks:\n", "\nchecks:\n  - {type: unique_combination, params: {columns: [origin]}}\n"),
    )
    assert [(c.rule, c.what) for c in stricter.changes] == [
        ("tightening_constraint", "check unique_combination.origin"),
        ("loosening_constraint", "check unique_combination.origin.time_hour"),
    ]


CHECK = """
  - id: positive_distance
    type: expression
    params: {expression: "distance > 0"}
"""


def test_table_checks_added_removed_and_changed(tmp_path: Path) -> None:
    added = diff(FLIGHTS, tmp_path, ("\nchecks:", "\nchecks:" + CHECK.rstrip("\n")))
    change = one(added, "tightening_constraint")
    assert (change.what, change.field) == ("check positive_distance", None)

    warning = CHECK + "    severity: warning"
    monitor = diff(FLIGHTS, tmp_path, ("\nchecks:", "\nchecks:" + warning), version="1.1.0")
    assert one(monitor, "changing_monitor").kind is Kind.NON_BREAKING

    removed = """  - id: air_time_under_a_day
    type: expression
    params:
      expression: "air_time IS NULL OR air_time < 24 * 60"
"""
    assert (
        one(diff(FLIGHTS, tmp_path, (removed, "")), "loosening_constraint").what
        == "check air_time_under_a_day"
    )

    reworded = diff(
        FLIGHTS,
        tmp_path,
        ('"air_time IS NULL OR air_time < 24 * 60"', '"air_time IS NULL OR air_time < 23 * 60"'),
    )
    change = one(reworded, "tightening_constraint")
    assert change.what == "check air_time_under_a_day expression" and change.note


def test_contract_metadata_is_info(tmp_path: Path) -> None:
    result = diff(
        FLIGHTS,
        tmp_path,
        ('slack_channel: "#flights-data"', 'slack_channel: "#flights"'),
        version="1.0.1",
    )
    change = one(result, "changing_metadata")
    assert (change.kind, change.what, change.consumers) == (Kind.INFO, "slack_channel", ())
    assert result.bump_ok
    renamed = diff(FLIGHTS, tmp_path, ("  name: flights\n", "  name: departures\n"))
    assert one(renamed, "renaming_contract").kind is Kind.BREAKING


# ----------------------------------------------------------------------------- versioning overrides


def test_a_rule_listed_as_breaking_is_breaking(tmp_path: Path) -> None:
    field = "    gusty: {type: boolean}\n\nquality:"
    strict = (
        "breaking_changes: [removing_required_field",
        "breaking_changes: [adding_optional_field, removing_required_field",
    )
    result = diff(WEATHER, tmp_path, ("\nquality:", field), strict, version="1.1.0")
    assert one(result, "adding_optional_field").kind is Kind.BREAKING
    assert result.required_bump is Bump.MAJOR and not result.bump_ok


def test_airlines_versioning_lists_tightening_and_loosening_explicitly(tmp_path: Path) -> None:
    result = diff(AIRLINES, tmp_path, ("minLength: 2", "minLength: 1"), version="1.1.0")
    assert one(result, "loosening_constraint").kind is Kind.NON_BREAKING and result.bump_ok


# ----------------------------------------------------------------------------- versions


@pytest.mark.parametrize(
    ("edit", "version", "needed", "ok"),
    [
        (("maxLength: 100", "maxLength: 50"), "2.0.0", Bump.MAJOR, True),
        (("maxLength: 100", "maxLength: 50"), "1.9.0", Bump.MAJOR, False),
        (("minLength: 2", "minLength: 1"), "1.1.0", Bump.MINOR, True),
        (("minLength: 2", "minLength: 1"), "1.0.1", Bump.MINOR, False),
        (("IATA code", "IATA airline code"), "1.0.1", Bump.PATCH, True),
        (("IATA code", "IATA airline code"), "1.0.0", Bump.PATCH, False),
        (("IATA code", "IATA code"), "1.0.0", Bump.NONE, True),
        (("IATA code", "IATA code"), "3.0.0", Bump.NONE, True),
    ],
)
def test_the_required_bump(
    edit: tuple[str, str], version: str, needed: Bump, ok: bool, tmp_path: Path
) -> None:
    result = diff(AIRLINES, tmp_path, edit, version=version)
    assert (result.required_bump, result.bump_ok) == (needed, ok)
    if not ok:
        assert "at least" in result.verdict


def test_a_version_going_backwards_fails(tmp_path: Path) -> None:
    result = diff(AIRLINES, tmp_path, ("minLength: 2", "minLength: 1"), version="0.9.0")
    assert not result.bump_ok and "goes backwards" in result.verdict and "1.1.0" in result.verdict


def test_initial_development_and_pre_releases(tmp_path: Path) -> None:
    tighter = ("maxLength: 100", "maxLength: 50")
    v0 = evolve(AIRLINES, tmp_path, version="0.3.0")
    result = diff(v0, tmp_path, tighter, version="0.4.0")
    assert (result.required_bump, result.bump_ok) == (Bump.MINOR, True)

    rc = evolve(AIRLINES, tmp_path, version="2.0.0-rc.1")
    assert diff(rc, tmp_path, tighter, version="2.0.0").bump_ok
    assert not diff(rc, tmp_path, tighter, version="2.0.0-rc.0").bump_ok


def test_a_version_that_is_not_semver_is_a_clear_error() -> None:
    old = load_contract(AIRLINES)
    new = old.model_copy(update={"contract": old.contract.model_copy(update={"version": "v2"})})
    with pytest.raises(ConfigError, match="not a semantic version"):
        diff_contracts(old, new)


# ----------------------------------------------------------------------------- schema drift reuse


def test_classify_schema_change_on_plain_columns() -> None:
    old = {
        "id": ("BIGINT", False),
        "email": ("VARCHAR", True),
        "amount": Column(ColumnType(LogicalType.DECIMAL, 10, 2)),
    }
    new = {
        "id": ("BIGINT", False),
        "e_mail": ("VARCHAR", True),
        "amount": Column(ColumnType(LogicalType.DECIMAL, 12, 2)),
        "note": Column("VARCHAR"),
    }
    consumers = [Consumer(name="crm", required_fields=["email"])]
    changes = {c.rule: c for c in classify_schema_change(old, new, consumers=consumers)}
    assert set(changes) == {"renaming_field", "loosening_constraint", "adding_optional_field"}
    assert changes["renaming_field"].consumers == ("crm",)
    assert changes["loosening_constraint"].what == "type"

    dropped = classify_schema_change(
        old,
        {"id": ("INTEGER", True)},
        versioning=Versioning(non_breaking_changes=["removing_optional_field"]),
    )
    kinds = {(c.rule, c.field): c.kind for c in dropped}
    assert kinds == {
        ("changing_field_type", "id"): Kind.BREAKING,
        ("making_field_optional", "id"): Kind.BREAKING,
        ("removing_optional_field", "email"): Kind.NON_BREAKING,
        ("removing_optional_field", "amount"): Kind.NON_BREAKING,
    }


@pytest.mark.parametrize(
    ("old", "new", "renamed"),
    [
        # Same type, same place, names that share nothing: a removal and an addition.
        ({"tzone": "VARCHAR", "alt": "INT"}, {"wind_speed": "VARCHAR", "alt": "INT"}, False),
        ({"a": "INT", "tzone": "VARCHAR"}, {"a": "INT", "tz_name": "VARCHAR"}, False),
        # Similar names (difflib ratio >= 0.8) of the same type: a rename.
        ({"tzone": "VARCHAR", "alt": "INT"}, {"t_zone": "VARCHAR", "alt": "INT"}, True),
        # Similar names of other types: not a rename.
        ({"tzone": "VARCHAR"}, {"t_zone": "BIGINT"}, False),
    ],
)
def test_a_rename_needs_the_same_type_and_a_similar_name(
    old: dict[str, str], new: dict[str, str], renamed: bool
) -> None:
    found = classify_schema_change(
        {n: (t, True) for n, t in old.items()}, {n: (t, True) for n, t in new.items()}
    )
    assert ("renaming_field" in {c.rule for c in found}) is renamed
    if not renamed:
        assert {"removing_optional_field", "adding_optional_field"} <= {c.rule for c in found}


def test_a_rename_by_description_or_constraints_in_contracts(tmp_path: Path) -> None:
    # tailnum -> registration: names far apart (ratio 0.42), the same description and checks.
    result = diff(FLIGHTS, tmp_path, ("    tailnum:\n", "    registration:\n"))
    change = one(result, "renaming_field")
    assert (change.old, change.new, change.note) == (
        "tailnum",
        "registration",
        "same type and description",
    )
    assert rules(result) == {"renaming_field"}  # its checks moved with it: no other change
    undocumented = diff(
        FLIGHTS,
        tmp_path,
        ("    tailnum:\n", "    registration:\n"),
        ("      description: Plane tail number; null when unknown\n", ""),
    )
    assert one(undocumented, "renaming_field").note == "same type and constraints"


# ----------------------------------------------------------------------------- CLI


def test_cli_exit_codes_follow_the_version_bump(tmp_path: Path) -> None:
    tighter = ("maxLength: 100", "maxLength: 50")
    enough = lakegate(
        "contract", "diff", str(AIRLINES), str(evolve(AIRLINES, tmp_path, tighter, version="2.0.0"))
    )
    assert enough.returncode == 0, enough.stderr
    assert "tightening_constraint" in enough.stdout and "ok" in enough.stdout

    short = lakegate(
        "contract", "diff", str(AIRLINES), str(evolve(AIRLINES, tmp_path, tighter, version="1.1.0"))
    )
    assert short.returncode == 1
    assert "at least 2.0.0" in short.stdout

    missing = lakegate("contract", "diff", str(AIRLINES), str(tmp_path / "nope.yaml"))
    assert missing.returncode == 2 and "file not found" in missing.stderr


def test_cli_json_shape(tmp_path: Path) -> None:
    new = evolve(
        FLIGHTS,
        tmp_path,
        ("    carrier_name:\n", "    airline_name:\n"),
        ("carrier, carrier_name, origin", "carrier, airline_name, origin"),
        version="1.1.0",
    )
    proc = lakegate("contract", "diff", str(FLIGHTS), str(new), "--format", "json")
    assert proc.returncode == 1, proc.stderr
    data = json.loads(proc.stdout)
    assert set(data) == {
        "old_version",
        "new_version",
        "changes",
        "required_bump",
        "version_bump",
        "bump_ok",
        "verdict",
        "counts",
    }
    assert (data["required_bump"], data["version_bump"], data["bump_ok"]) == (
        "major",
        "minor",
        False,
    )
    rename = next(c for c in data["changes"] if c["rule"] == "renaming_field")
    assert rename == {
        "rule": "renaming_field",
        "kind": "breaking",
        "field": "airline_name",
        "what": "name",
        "old": "carrier_name",
        "new": "airline_name",
        "consumers": ["on-time-dashboard"],
        "note": "same type and description",
    }
    assert data["counts"]["breaking"] == 1


def test_a_field_promised_never_to_break_says_so(tmp_path: Path) -> None:
    never = ("      unique: true\n", "      unique: true\n      breaking_change: never\n")
    v1 = evolve(AIRLINES, tmp_path, never, version="1.0.0")
    change = one(diff(v1, tmp_path, ('"^[A-Z0-9]{2}$"', '"^[A-Z]{2}$"')), "tightening_constraint")
    assert change.note and "breaking_change: never" in change.note


def test_old_versioning_applies_when_new_has_none(tmp_path: Path) -> None:
    versioning = AIRLINES.read_text(encoding="utf-8").split("versioning:")[1].split("\n\n")[0]
    result = diff(
        AIRLINES,
        tmp_path,
        ("versioning:" + versioning + "\n", ""),
        ("minLength: 2", "minLength: 1"),
        version="1.1.0",
    )
    assert one(result, "loosening_constraint").kind is Kind.NON_BREAKING
    assert one(result, "changing_metadata").what == "versioning"
