"""Contract lint: every rule fires on a contract crafted to break it, with the line of the
key; the project's own contracts lint clean of errors and warnings."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

from lakegate.config.contract import Contract, load_contract
from lakegate.contracts.lint import RULES, lint_contract
from tests.conftest import FLIGHTS_CONTRACT, ROOT, lakegate

SCAFFOLD = ROOT / "src" / "lakegate" / "scaffold" / "templates" / "contracts"

# Every line marked with a rule id is where that rule must point.
DOUBTFUL = """\
contract:
  name: tickets
  version: "0.1.0"
schema:
  type: object
  required: [ticket_id, subject, status_name, priority, opened_at]
  properties:
    ticket_id: {type: integer, minimum: 1, unique: true, description: Ticket number}
    subject: {type: string, description: What the customer wrote}  # required_string_unconstrained
    status_name:
      type: string
      description: Status
      enum: [open, closed]  # enum_on_free_text
    priority: {type: integer, minimum: 5, maximum: 1}  # impossible_constraint required_field_undocumented
    customer_email:
      type: string
      format: email
      pii: true  # pii_without_retention
    external_ref: {type: string, maxLength: 20, unique: true}  # unique_not_required
    code: {type: string, pattern: "[A-Z]{3}"}  # unanchored_pattern
    amount: {type: number}  # numeric_without_range
    opened_at: {type: timestamp, description: When it was opened}
    closed_at: {type: timestamp}
    reopens: {type: integer, minimum: 0, checks: [{type: null_rate, params: {max: 1.0}}]}  # check_never_fails
quality:
  freshness:
    column: ticket_id  # freshness_not_temporal
    max_delay_minutes: 60
  volume: {min_records: 100, max_records: 10}  # impossible_constraint
versioning:  # versioning_conflict
  breaking_changes: [renaming_field]
  non_breaking_changes: [renaming_field, adding_optional_field]
checks:
  - {id: sane, type: expression, params: {expression: "amount >= 0"}}
  - {id: sane, type: row_count, params: {min: 1}}  # duplicate_check_id
"""


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "tickets.yaml"
    path.write_text(text, encoding="utf-8")
    return path


def marked_lines(text: str) -> dict[str, set[int]]:
    """{rule: {line}} from the ``# rule`` markers."""
    ids = {rule for rule, _, _ in RULES}
    marks: dict[str, set[int]] = {}
    for number, line in enumerate(text.splitlines(), start=1):
        if "#" in line:
            for word in line.split("#", 1)[1].split():
                if word in ids:
                    marks.setdefault(word, set()).add(number)
    return marks


def test_every_rule_fires_on_the_crafted_contract_at_its_line(tmp_path: Path) -> None:
    findings = lint_contract(load_contract(write(tmp_path, DOUBTFUL)))
    found: dict[str, set[int]] = {}
    for f in findings:
        assert f.line is not None and f.path == str(tmp_path / "tickets.yaml")
        found.setdefault(f.rule, set()).add(f.line)
    for rule, lines in marked_lines(DOUBTFUL).items():
        assert lines <= found.get(rule, set()), (rule, lines, found.get(rule))
    # consumer_unknown_field cannot load from a file (see the next test), no_columns has a
    # test of its own; no_owner is the missing key, reported at the contract block.
    all_rules = {rule for rule, _, _ in RULES}
    assert set(found) == all_rules - {"consumer_unknown_field", "no_columns"}
    assert found["no_owner"] == {1}
    assert [f.line for f in findings] == sorted(f.line for f in findings if f.line)


def test_findings_carry_severity_message_and_fix(tmp_path: Path) -> None:
    every = lint_contract(load_contract(write(tmp_path, DOUBTFUL)))
    findings = {f.rule: f for f in every}
    impossible = next(f for f in every if f.rule == "impossible_constraint")
    assert (impossible.severity, impossible.field) == ("error", "priority")
    assert "minimum 5 is above maximum 1" in impossible.message and impossible.fix
    assert findings["enum_on_free_text"].severity == "warning"
    assert "name" in findings["enum_on_free_text"].message
    assert findings["required_field_undocumented"].severity == "info"
    assert "first at line 34" in findings["duplicate_check_id"].message


def test_consumer_requiring_an_unknown_field_is_an_error() -> None:
    data = yaml.safe_load(
        """
        contract: {name: t, version: "1.0.0", owner: team@example.com}
        schema:
          properties: {id: {type: integer, minimum: 1, description: Id}}
          required: [id]
        consumers:
          - {name: finance, required_fields: [id, amount]}
        """
    )
    findings = lint_contract(Contract.model_validate(data))
    assert [(f.rule, f.severity, f.field, f.line) for f in findings] == [
        ("consumer_unknown_field", "error", "amount", None)
    ]


def test_impossible_volume_and_check_bounds_are_errors(tmp_path: Path) -> None:
    findings = lint_contract(load_contract(write(tmp_path, DOUBTFUL)))
    messages = [f.message for f in findings if f.rule == "impossible_constraint"]
    assert "volume min_records 100 is above max_records 10: every batch fails" in messages
    text = DOUBTFUL.replace(
        "  - {id: sane, type: row_count, params: {min: 1}}",
        "  - {id: sane, type: row_count, params: {min: 5, max: 1}}\n"
        "  - {type: range, params: {column: amount, min: 10, max: 0}}",
    )
    found = [
        (f.field, f.message)
        for f in lint_contract(load_contract(write(tmp_path, text)))
        if f.rule == "impossible_constraint" and "check min" in f.message
    ]
    assert found == [
        (None, "row_count check min 5 is above max 1: every value fails"),
        ("amount", "range check min 10 is above max 0: every value fails"),
    ]


@pytest.mark.parametrize(
    ("pattern", "fires"),
    [("[A-Z]{3}", True), ("^[A-Z]{3}$", False), ("^A", False), ("x$", False), (r"\A\d+\Z", False)],
)
def test_unanchored_patterns(pattern: str, fires: bool, tmp_path: Path) -> None:
    text = DOUBTFUL.replace('pattern: "[A-Z]{3}"', f"pattern: '{pattern}'")
    text += f"  - {{type: regex, params: {{column: subject, pattern: '{pattern}'}}}}\n"
    hits = [
        f
        for f in lint_contract(load_contract(write(tmp_path, text)))
        if f.rule == "unanchored_pattern"
    ]
    assert [f.field for f in hits] == (["code", "subject"] if fires else [])
    if fires:
        assert f"'^{pattern}$'" in hits[0].fix and hits[0].severity == "warning"


def test_a_completeness_sla_of_one_never_fails(tmp_path: Path) -> None:
    text = DOUBTFUL.replace(
        "  volume:", "  completeness: {optional_fields_null_rate: 1.0}\n  volume:"
    )
    hits = [
        f
        for f in lint_contract(load_contract(write(tmp_path, text)))
        if f.rule == "check_never_fails"
    ]
    assert [f.field for f in hits] == ["reopens", None]
    assert "optional_fields_null_rate" in hits[1].message


def test_a_contract_without_columns_is_an_error(tmp_path: Path) -> None:
    path = write(
        tmp_path, 'contract: {name: t, version: "1.0.0", owner: a@b.c}\nschema: {properties: {}}\n'
    )
    findings = lint_contract(load_contract(path))
    assert [(f.rule, f.severity, f.line) for f in findings] == [("no_columns", "error", 2)]
    proc = lakegate("contract", "lint", str(path))
    assert proc.returncode == 1 and "no_columns" in proc.stdout


MANY = "[" + ", ".join(f"s{i}" for i in range(60)) + "]"


@pytest.mark.parametrize(
    ("name", "enum", "rule", "fires"),
    [
        ("status_name", "[open, closed]", "enum_on_free_text", True),
        ("status", "[open, closed]", "enum_on_free_text", False),
        ("status", MANY, "enum_on_free_text", True),
        ("status", "[open, closed]\n      maxLength: 4", "impossible_constraint", True),
        ("status", "[open, shut]\n      maxLength: 4", "impossible_constraint", False),
        ("status", "[open, closed]\n      pattern: '^[a-z]{4}$'", "impossible_constraint", True),
    ],
)
def test_enum_rules(name: str, enum: str, rule: str, fires: bool, tmp_path: Path) -> None:
    text = DOUBTFUL.replace("enum: [open, closed]", f"enum: {enum}")
    text = text.replace("status_name", name)
    findings = lint_contract(load_contract(write(tmp_path, text)))
    assert any(f.rule == rule and f.field == name for f in findings) is fires


def test_freshness_without_a_column_needs_exactly_one_temporal_column(tmp_path: Path) -> None:
    text = DOUBTFUL.replace("    column: ticket_id  # freshness_not_temporal\n", "")
    findings = lint_contract(load_contract(write(tmp_path, text)))
    fresh = [f for f in findings if f.rule == "freshness_not_temporal"]
    assert len(fresh) == 1 and "opened_at, closed_at" in fresh[0].message

    one_stamp = text.replace("    closed_at: {type: timestamp}\n", "")
    findings = lint_contract(load_contract(write(tmp_path, one_stamp)))
    assert "freshness_not_temporal" not in {f.rule for f in findings}


@pytest.mark.parametrize(
    "source", [*sorted(SCAFFOLD.glob("*.yaml")), FLIGHTS_CONTRACT], ids=lambda p: p.name
)
def test_the_projects_contracts_have_no_errors_or_warnings(source: Path) -> None:
    findings = lint_contract(load_contract(source))
    # Only info: required fields without a description (year, month, day, flight, ...).
    assert {(f.rule, f.severity) for f in findings} <= {("required_field_undocumented", "info")}
    if source.name == "airlines.yaml":
        assert findings == []


# ----------------------------------------------------------------------------- CLI


def test_cli_exit_codes(tmp_path: Path) -> None:
    clean = lakegate("contract", "lint", str(SCAFFOLD / "airlines.yaml"))
    assert clean.returncode == 0 and "no findings" in clean.stdout

    infos = lakegate("contract", "lint", "--strict", str(SCAFFOLD / "planes.yaml"))
    assert infos.returncode == 0, infos.stdout  # info never fails, even with --strict

    errors = lakegate("contract", "lint", str(write(tmp_path, DOUBTFUL)))
    assert errors.returncode == 1 and "impossible_constraint" in errors.stdout

    warning_only = DOUBTFUL.replace("  name: tickets\n", "  name: tickets\n  owner: a@b.c\n")
    warned = write(tmp_path, warning_only.split("quality:")[0].replace("minimum: 5", "minimum: 0"))
    assert lakegate("contract", "lint", str(warned)).returncode == 0
    assert lakegate("contract", "lint", "--strict", str(warned)).returncode == 1

    assert lakegate("contract", "lint", str(tmp_path / "missing.yaml")).returncode == 2


def test_cli_json_shape(tmp_path: Path) -> None:
    proc = lakegate("contract", "lint", "-f", "json", str(write(tmp_path, DOUBTFUL)))
    assert proc.returncode == 1
    data = json.loads(proc.stdout)
    assert {tuple(sorted(d)) for d in data} == {
        ("column", "field", "fix", "line", "message", "path", "rule", "severity")
    }
    first = data[0]
    assert (first["rule"], first["line"], first["severity"]) == ("no_owner", 1, "warning")
