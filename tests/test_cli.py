"""The CLI: help, exit codes and clear messages on bad input."""

from __future__ import annotations

import json
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from tests.conftest import FLIGHTS_CONTRACT, lakegate

CONTRACT = """\
contract: {name: people, version: 1.0.0}
schema:
  required: [id]
  properties:
    id: {type: integer, unique: true}
    email: {type: string, format: email}
    age: {type: integer, minimum: 0, maximum: 130}
"""


@pytest.fixture
def people(tmp_path: Path) -> tuple[Path, Path]:
    data = tmp_path / "people.parquet"
    pq.write_table(
        pa.table(
            {
                "id": [1, 2, 3, 3],
                "email": ["a@x.org", "bad", None, "c@y.com"],
                "age": [30, 140, None, 5],
            }
        ),
        data,
    )
    contract = tmp_path / "people.yaml"
    contract.write_text(CONTRACT)
    return data, contract


def test_help_explains_every_command() -> None:
    proc = lakegate("--help")
    assert proc.returncode == 0
    for command in ("validate", "profile", "contract"):
        assert command in proc.stdout
    proc = lakegate("validate", "--help")
    assert "--ref" in proc.stdout and "Exit codes" in proc.stdout


def test_failures_are_reported_with_exit_1(people: tuple[Path, Path]) -> None:
    data, contract = people
    proc = lakegate("validate", "-i", str(data), "-c", str(contract), "--format", "json")
    assert proc.returncode == 1
    report = json.loads(proc.stdout)
    failing = {c["id"]: c["failing_rows"] for c in report["checks"] if not c["passed"]}
    assert failing == {"id.unique": 2, "email.format": 1, "age.range": 1}
    assert "critical check(s) failed" in proc.stderr


def test_table_output_and_checks_filter(people: tuple[Path, Path]) -> None:
    data, contract = people
    proc = lakegate(
        "validate", "-i", str(data), "-c", str(contract), "--checks", "completeness", "--verbose"
    )
    assert proc.returncode == 0, proc.stderr
    assert "id.not_null" in proc.stdout and "id.unique" not in proc.stdout
    assert "4 rows" in proc.stdout


def test_table_lists_failures_first_and_counts_the_passing_checks(
    people: tuple[Path, Path],
) -> None:
    """Issue item 26: the few checks that matter first, as test runners report."""
    data, contract = people
    # A warning declared before the critical failures: it is listed after them.
    contract.write_text(
        CONTRACT.replace(
            "id: {type: integer, unique: true}",
            "id: {type: integer, unique: true, "
            "checks: [{type: range, params: {max: 2}, severity: warning}]}",
        )
    )
    proc = lakegate("validate", "-i", str(data), "-c", str(contract))
    assert proc.returncode == 1
    failing = ["id.unique", "email.format", "age.range", "id.range"]
    positions = [proc.stdout.find(f" {check_id} ") for check_id in failing]
    assert -1 not in positions and positions == sorted(positions), proc.stdout
    for passing in ("id.type", "id.not_null", "email.type", "age.type"):
        assert passing not in proc.stdout
    assert "4 of 8 checks passed (--verbose lists them)" in proc.stdout

    verbose = lakegate("validate", "-i", str(data), "-c", str(contract), "--verbose")
    listed = [verbose.stdout.find(f" {c} ") for c in [*failing, "id.type", "age.type"]]
    assert -1 not in listed and listed == sorted(listed), verbose.stdout
    assert "4 of 8 checks passed" in verbose.stdout and "--verbose" not in verbose.stdout

    clean = lakegate("validate", "-i", str(data), "-c", str(contract), "--checks", "completeness")
    assert clean.returncode == 0
    assert (
        "1 check passed (--verbose lists them)" in clean.stdout
        and "id.not_null" not in clean.stdout
    )


def test_output_file(people: tuple[Path, Path], tmp_path: Path) -> None:
    data, contract = people
    out = tmp_path / "r.json"
    proc = lakegate("validate", "-i", str(data), "-c", str(contract), "-f", "json", "-o", str(out))
    assert proc.returncode == 1
    assert proc.stdout == ""
    assert json.loads(out.read_text())["rows"] == 4


@pytest.mark.parametrize(
    ("make_input", "message"),
    [
        (lambda d: d / "missing.parquet", "no such file or folder"),
        (lambda d: _write(d / "corrupt.parquet", b"PAR1 this is not parquet"), "cannot read"),
        (lambda d: _write(d / "data.xlsx", b"x"), "unknown file type"),
        (lambda d: d / "*.nothing", "no file matches"),
    ],
)
def test_unreadable_input_exits_2(tmp_path: Path, people, make_input, message: str) -> None:
    _, contract = people
    proc = lakegate("validate", "-i", str(make_input(tmp_path)), "-c", str(contract))
    assert proc.returncode == 2, proc.stderr
    assert message in proc.stderr
    assert "Traceback" not in proc.stderr


def test_contract_naming_missing_column_exits_2(people: tuple[Path, Path], tmp_path: Path) -> None:
    data, _ = people
    contract = tmp_path / "c.yaml"
    contract.write_text(CONTRACT + "    height: {type: number}\n")
    proc = lakegate("validate", "-i", str(data), "-c", str(contract))
    assert proc.returncode == 2
    assert "lacks contract column(s) height" in proc.stderr


def test_malformed_contract_exits_2_with_position(
    people: tuple[Path, Path], tmp_path: Path
) -> None:
    data, _ = people
    contract = tmp_path / "c.yaml"
    contract.write_text(CONTRACT.replace("minimum: 0", "minimum: [0"))
    proc = lakegate("validate", "-i", str(data), "-c", str(contract))
    assert proc.returncode == 2
    assert f"{contract}:7:51:" in proc.stderr and "invalid YAML" in proc.stderr


def test_bad_flags_exit_2(people: tuple[Path, Path]) -> None:
    data, contract = people
    assert lakegate("validate", "-i", str(data)).returncode == 2  # no --contract
    proc = lakegate("validate", "-i", str(data), "-c", str(contract), "--ref", "nobinding")
    assert proc.returncode == 2 and "NAME=PATH" in proc.stderr
    proc = lakegate("validate", "-i", str(data), "-c", str(contract), "--checks", "speed")
    assert proc.returncode == 2 and "unknown check dimension" in proc.stderr
    proc = lakegate("validate", "-i", str(data), "-c", str(contract), "--as-of", "yesterday")
    assert proc.returncode == 2


def test_unbound_relationship_parent_exits_2(tmp_path: Path) -> None:
    proc = lakegate("validate", "-i", str(tmp_path / "x.parquet"), "-c", str(FLIGHTS_CONTRACT))
    assert proc.returncode == 2
    data = tmp_path / "f.parquet"
    pq.write_table(pa.table({"carrier": ["UA"]}), data)
    contract = tmp_path / "c.yaml"
    contract.write_text(
        "contract: {name: f, version: 1.0.0}\nschema:\n  properties:\n    carrier:\n"
        "      type: string\n      checks: [{type: relationships, params: {to: airlines, field: carrier}}]\n"
    )
    proc = lakegate("validate", "-i", str(data), "-c", str(contract))
    assert proc.returncode == 2
    assert "--ref airlines=PATH" in proc.stderr


def test_csv_input_with_na_nulls(tmp_path: Path) -> None:
    data = tmp_path / "p.csv"
    data.write_text("id;age\n1;NA\n2;40\n")
    contract = tmp_path / "c.yaml"
    contract.write_text(
        "contract: {name: p, version: 1.0.0}\nschema:\n  required: [id, age]\n"
        "  properties:\n    id: {type: integer}\n    age: {type: integer}\n"
    )
    proc = lakegate(
        "validate",
        "-i",
        str(data),
        "-c",
        str(contract),
        "--csv-delimiter",
        ";",
        "--null-value",
        "NA",
        "-f",
        "json",
    )
    assert proc.returncode == 1
    checks = {c["id"]: c for c in json.loads(proc.stdout)["checks"]}
    assert checks["age.not_null"]["failing_rows"] == 1
    assert checks["age.type"]["passed"]


def test_contract_schema_and_check_commands() -> None:
    proc = lakegate("contract", "schema")
    assert proc.returncode == 0
    assert json.loads(proc.stdout)["title"] == "lakegate data contract"
    proc = lakegate("contract", "check", str(FLIGHTS_CONTRACT), "--format", "json")
    assert proc.returncode == 0
    ids = [c["id"] for c in json.loads(proc.stdout)]
    assert "origin.accepted_values" in ids and len(ids) == len(set(ids))


def _write(path: Path, content: bytes) -> Path:
    path.write_bytes(content)
    return path


def test_profile_suggests_a_contract_the_data_passes(
    people: tuple[Path, Path], tmp_path: Path
) -> None:
    data, _ = people
    suggested = tmp_path / "suggested.yaml"
    proc = lakegate("profile", "-i", str(data), "-f", "json", "--suggest-contract", str(suggested))
    assert proc.returncode == 0, proc.stderr
    profile = json.loads(proc.stdout)
    assert profile["rows"] == 4
    age = next(c for c in profile["columns"] if c["name"] == "age")
    assert (age["null_count"], age["min"], age["max"]) == (1, 5, 140)
    proc = lakegate("validate", "-i", str(data), "-c", str(suggested), "-f", "json")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert json.loads(proc.stdout)["passed"] is True
    assert lakegate("profile", "-i", str(tmp_path / "none.csv")).returncode == 2
