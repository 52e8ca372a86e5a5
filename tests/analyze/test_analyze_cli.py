"""``lakegate analyze`` end to end: pipeline stages located in their YAML, JSON and
SARIF output, exit codes, parse errors, and a project's lake as the catalog."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

from lakegate.analyze import Catalog, analyze_paths
from tests.conftest import lakegate

PIPELINE = """\
pipeline:
  name: delays
  owner: data@example.com
extract:
  source: {type: file, path: data/flights.parquet}
transform:
  stages:
    - name: recent
      sql: |
        SELECT f.carrier, f.dep_delay
        FROM lake.flights AS f
        WHERE f.dep_delay = NULL
    - {name: summary, sql: "SELECT carrier FROM recent UNION SELECT carrier FROM lake.airlines"}
load:
  target: delays
"""


def _position(text: str, needle: str, occurrence: int = 1) -> tuple[int, int]:
    """1-based (line, column) of the ``occurrence``-th ``needle`` in ``text``."""
    start = -1
    for _ in range(occurrence):
        start = text.index(needle, start + 1)
    line = text.count("\n", 0, start) + 1
    return line, start - (text.rfind("\n", 0, start) + 1) + 1


def test_inline_stages_are_located_in_the_pipeline_file(tmp_path: Path, lake: Path) -> None:
    pipeline = tmp_path / "delays.yaml"
    pipeline.write_text(PIPELINE)
    report = analyze_paths([pipeline], catalog=Catalog(str(lake)))
    found = {f.rule: f for f in report.findings}
    # The block scalar: = NULL on its third line, indented by 8.
    null = found["LG012"]
    assert (null.line, null.column) == _position(PIPELINE, "f.dep_delay = NULL")
    assert null.path == str(pipeline) and null.origin.startswith("stage 'recent'")
    # flights is partitioned by month and read without a month filter.
    scan = found["LG002"]
    assert (scan.line, scan.column) == _position(PIPELINE, "flights AS f")
    # The one-line quoted scalar: UNION is reported at the second branch's first column.
    union = found["LG010"]
    assert (union.line, union.column) == _position(PIPELINE, "carrier FROM lake.airlines")
    # `recent` is an earlier stage, not a lake table: no star or scan finding for it.
    assert {f.rule for f in report.findings} == {"LG002", "LG010", "LG012"}


def test_json_output_and_exit_code(tmp_path: Path) -> None:
    sql = tmp_path / "q.sql"
    sql.write_text("SELECT a FROM t WHERE b NOT IN (SELECT c FROM u);\nSELECT a FROM t;\n")
    result = lakegate("analyze", str(sql), "--format", "json", "--recommend", cwd=tmp_path)
    assert result.returncode == 1, result.stderr  # an error-severity finding
    data = json.loads(result.stdout)
    assert data["summary"]["statements"] == 2
    assert data["summary"]["by_severity"]["error"] == 1
    [finding] = data["findings"]
    assert finding["rule"] == "LG008" and (finding["line"], finding["column"]) == (1, 23)
    assert "NOT EXISTS" in finding["rewrite"]
    assert "u.c = t.b" in finding["rewrite"].replace("\n", " ")

    relaxed = lakegate("analyze", str(sql), "--fail-on", "never", "-f", "json", cwd=tmp_path)
    assert relaxed.returncode == 0
    assert json.loads(relaxed.stdout)["findings"][0].get("rewrite") is None


def test_sarif_output_points_at_rules_and_regions(tmp_path: Path) -> None:
    sql = tmp_path / "queries" / "q.sql"
    sql.parent.mkdir()
    sql.write_text("SELECT *\nFROM orders\nWHERE name LIKE '%x';\n")
    result = lakegate("analyze", "queries", "--format", "sarif", cwd=tmp_path)
    assert result.returncode == 0, result.stderr  # warnings only
    log = json.loads(result.stdout)
    assert log["version"] == "2.1.0"
    run = log["runs"][0]
    rules = run["tool"]["driver"]["rules"]
    assert len({r["id"] for r in rules}) == len(rules) >= 16
    results = {r["ruleId"]: r for r in run["results"]}
    assert set(results) == {"LG001", "LG011"}
    for result_ in results.values():
        assert rules[result_["ruleIndex"]]["id"] == result_["ruleId"]
        location = result_["locations"][0]["physicalLocation"]
        assert location["artifactLocation"] == {"uri": "queries/q.sql", "uriBaseId": "%SRCROOT%"}
        assert result_["level"] == "warning"
    assert results["LG011"]["locations"][0]["physicalLocation"]["region"] == {
        "startLine": 3,
        "startColumn": 17,
    }
    assert run["originalUriBaseIds"]["%SRCROOT%"]["uri"] == tmp_path.resolve().as_uri() + "/"


def test_a_statement_that_does_not_parse_does_not_hide_the_others(tmp_path: Path) -> None:
    sql = tmp_path / "q.sql"
    sql.write_text("SELECT a FROM t WHERE a = NULL;\nSELECT FROM WHERE;\nSELECT * FROM t;\n")
    report = analyze_paths([sql])
    assert [(f.rule, f.line) for f in report.findings] == [
        ("LG012", 1),
        ("LG000", 2),
        ("LG001", 3),
    ]
    assert report.statements == 2


def test_bad_input_exits_2(tmp_path: Path) -> None:
    missing = lakegate("analyze", str(tmp_path / "nope.sql"), cwd=tmp_path)
    assert missing.returncode == 2 and "nope.sql: no such file or folder" in missing.stderr
    (tmp_path / "q.sql").write_text("SELECT 1;\n")
    unknown = lakegate("analyze", "q.sql", "--select", "LG999", cwd=tmp_path)
    assert unknown.returncode == 2 and "unknown rule 'LG999'" in unknown.stderr
    notes = tmp_path / "notes.txt"
    notes.write_text("hello")
    other = lakegate("analyze", str(notes), cwd=tmp_path)
    assert other.returncode == 2 and "not a .sql file" in other.stderr


def test_project_default_paths_and_lake_catalog(tmp_path: Path, lake: Path) -> None:
    """In a project, ``lakegate analyze`` reads the pipelines folder and judges lake
    references against the project's own lake."""
    project = tmp_path / "proj"
    assert lakegate("init", str(project)).returncode == 0
    shutil.copytree(lake / "flights", project / "lake" / "flights")
    stage = project / "sql" / "flights_enrich.sql"
    enrich = stage.read_text().replace("lake.airlines", "lake.flights")
    stage.write_text(enrich.replace("a.name AS carrier_name", "a.tailnum AS other_tailnum"))
    result = lakegate("analyze", "-f", "json", cwd=project)
    assert result.returncode == 0, result.stderr
    data = json.loads(result.stdout)
    sources = {Path(f["path"]).name for f in data["findings"]}
    assert "flights_enrich.sql" in sources
    scan = next(f for f in data["findings"] if f["rule"] == "LG002")
    assert scan["origin"].startswith("stage 'enrich' of ")
    assert scan["details"]["partitions"] == 12


def test_list_rules() -> None:
    result = lakegate("analyze", "--list-rules", "-f", "json")
    assert result.returncode == 0
    rules = json.loads(result.stdout)
    names = {r["name"] for r in rules}
    assert {"select-star", "not-in-nullable-subquery", "parse-error"} <= names
    assert all(r["fix"] and r["impact"] for r in rules)


def test_parallel_jobs_find_the_same(lake: Path) -> None:
    """--jobs 2 analyzes the sources in worker processes, with the lake rebuilt there."""
    golden = Path(__file__).parent / "golden"
    one = analyze_paths([golden], catalog=Catalog(str(lake)), recommend=True)
    two = analyze_paths([golden], catalog=Catalog(str(lake)), recommend=True, jobs=2)
    assert one.findings == two.findings
    assert (one.sources, one.statements) == (two.sources, two.statements)
    assert any(f.rule == "LG002" for f in two.findings)  # the workers saw the lake
