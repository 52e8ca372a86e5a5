"""Golden SQL fixtures: every rule fires on its ``fires.*.sql`` and stays silent on its
``clean.*.sql``, each in at least two dialects, with the exact positions and rewrites
recorded beside them in ``*.json``.

Regenerate the JSON after a deliberate change with ``LAKEGATE_UPDATE_GOLDEN=1 pytest
tests/analyze/test_golden.py`` and review the diff.
"""

from __future__ import annotations

import json
import os
from collections import Counter
from pathlib import Path
from typing import Any

import duckdb
import pytest
import sqlglot

from lakegate.analyze import Catalog, analyze_paths, list_rules
from lakegate.analyze.engine import REGISTRY

GOLDEN = Path(__file__).parent / "golden"
CASES = sorted(GOLDEN.glob("*/*.sql"))
UPDATE = os.environ.get("LAKEGATE_UPDATE_GOLDEN") == "1"

# Rewrites that must return the same rows as the query they replace (the others change
# the result on purpose: NOT EXISTS keeps rows NOT IN loses to a NULL, UNION ALL keeps
# duplicates, IS NULL matches what = NULL never did).
SAME_RESULT = {
    "LG001",
    "LG003",
    "LG005",
    "LG006",
    "LG007",
    "LG013",
    "LG015",
}


def _dialect(case: Path) -> str:
    return case.stem.split(".")[1]


def _ast_rules() -> list[str]:
    """The AST rules (the Spark advice rules have their own tests)."""
    list_rules()
    return [r.rule.id for r in REGISTRY.values() if not r.dialects]


def _observed(case: Path, catalog: Catalog) -> list[dict[str, Any]]:
    report = analyze_paths(
        [case], dialect=_dialect(case), catalog=catalog, recommend=True, select=_ast_rules()
    )
    return [
        {
            "rule": f.rule,
            "name": f.name,
            "line": f.line,
            "column": f.column,
            "severity": f.severity.value,
            **({"rewrite": f.rewrite} if f.rewrite else {}),
        }
        for f in report.findings
    ]


@pytest.mark.parametrize("case", CASES, ids=lambda p: f"{p.parent.name}/{p.stem}")
def test_golden_case(case: Path, catalog: Catalog) -> None:
    observed = _observed(case, catalog)
    expected_file = case.with_suffix(".json")
    if UPDATE:
        expected_file.write_text(json.dumps(observed, indent=2) + "\n", encoding="utf-8")
    expected = json.loads(expected_file.read_text(encoding="utf-8"))
    assert observed == expected
    rule = case.parent.name
    fired = {f["name"] for f in observed}
    if case.stem.split(".")[0].startswith("fires"):
        assert rule in fired, f"{rule} should fire on {case.name}"
    else:
        assert rule not in fired, f"{rule} should not fire on {case.name}"


def test_every_rule_has_firing_and_clean_fixtures_in_two_dialects() -> None:
    names = {r.name for r in list_rules() if r.id != "LG000"}
    spark_only = {r.rule.name for r in REGISTRY.values() if r.dialects}
    for name in sorted(names - spark_only):
        folder = GOLDEN / name
        for kind in ("fires", "clean"):
            dialects = {_dialect(p) for p in folder.glob(f"{kind}*.*.sql")}
            assert len(dialects) >= 2, f"{name}: {kind} fixtures in {sorted(dialects)}"


def test_every_fixture_parses_in_its_dialect() -> None:
    for case in CASES:
        assert sqlglot.parse(case.read_text(), read=_dialect(case)), case


def _rows(con: duckdb.DuckDBPyConnection, sql: str) -> Counter[tuple[Any, ...]]:
    return Counter(tuple(row) for row in con.execute(sql).fetchall())


def test_rewrites_return_the_same_rows_on_the_real_lake(lake: Path, catalog: Catalog) -> None:
    """Run each DuckDB fixture and its semantics-preserving rewrites on the lake."""
    con = duckdb.connect()
    for name in catalog.names():
        table = catalog.table(name)
        files = [f.uri for f in table.files]
        columns = [duckdb.ColumnExpression(c) for c in table.column_names]  # the Delta order
        con.read_parquet(files, hive_partitioning=True).select(*columns).create_view(name)
    checked = 0
    for case in CASES:
        if _dialect(case) != "duckdb":
            continue
        report = analyze_paths(
            [case], dialect="duckdb", catalog=catalog, recommend=True, select=_ast_rules()
        )
        original = case.read_text()
        for finding in report.findings:
            if finding.rewrite and finding.rule in SAME_RESULT:
                assert _rows(con, finding.rewrite) == _rows(con, original), (
                    f"{case}: {finding.rule} rewrite changes the result"
                )
                checked += 1
    assert checked >= 5
