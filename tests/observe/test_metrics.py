"""Prometheus metrics from real runs of a `lakegate init` project: the textfile every
run rewrites, the Pushgateway push, `lakegate serve`'s /metrics scraped over HTTP, and
JSON application logs carrying the run id."""

from __future__ import annotations

import datetime as dt
import json
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families
from pytest_httpserver import HTTPServer

from lakegate.config.pipeline import load_pipeline
from lakegate.config.project import load_project
from lakegate.observe.lineage_facets import LAKEGATE_RUN_FACET_SCHEMA, facet_schema
from lakegate.observe.metrics import DURATION_BUCKETS, METRICS, exposed_names
from lakegate.runner import RunResult, run_pipeline
from lakegate.scaffold import create_project
from lakegate.state.store import StateStore
from tests.conftest import lakegate

Samples = dict[tuple[str, tuple[tuple[str, str], ...]], float]
needs_promtool = pytest.mark.skipif(
    shutil.which("promtool") is None,
    reason="promtool not installed (apt-get install -y prometheus); .ci/run installs it",
)


def samples(text: str) -> Samples:
    """Every sample of an exposition, keyed by (name, sorted labels)."""
    return {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
    }


def value(found: Samples, name: str, **labels: str) -> float:
    return found[(name, tuple(sorted(labels.items())))]


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A project with history: airlines twice, weather (one row quarantined), and a
    pipeline whose gate fails."""
    root = tmp_path_factory.mktemp("metrics") / "p"
    create_project(root)
    strict = (root / "pipelines" / "airlines.yaml").read_text()
    strict = strict.replace("name: airlines", "name: airlines_strict", 1)
    strict = strict.replace("target: airlines", "target: airlines_strict", 1)
    strict = strict.replace("pre_load: contract", "pre_load: [{type: row_count, min: 1000}]")
    assert "airlines_strict" in strict and "min: 1000" in strict
    (root / "pipelines" / "airlines_strict.yaml").write_text(strict)
    for name in ("airlines", "airlines", "weather", "airlines_strict"):
        run(root, name)
    return root


def run(root: Path, name: str) -> RunResult:
    return run_pipeline(load_project(root), load_pipeline(root / "pipelines" / f"{name}.yaml"))


def history(root: Path) -> list[Any]:
    with StateStore(load_project(root).state_url) as state:
        return state.runs(limit=100)


def test_every_run_rewrites_the_textfile_with_the_history(project: Path) -> None:
    found = samples((project / ".lakegate" / "metrics.prom").read_text())
    runs = history(project)
    assert value(found, "pipeline_runs_total", pipeline_name="airlines", status="success") == 2
    assert value(found, "pipeline_runs_total", pipeline_name="weather", status="success") == 1
    assert (
        value(found, "pipeline_runs_total", pipeline_name="airlines_strict", status="failed") == 1
    )
    weather = next(r for r in runs if r.pipeline_name == "weather")
    assert weather.rows_rejected == 1  # the 1,048 mph wind reading
    labels = {"pipeline_name": "weather", "table_name": "weather"}
    assert value(found, "rows_processed_total", **labels) == weather.rows_loaded == 26_114
    assert value(found, "rows_rejected_total", **labels) == 1
    assert value(found, "quality_checks_total", status="failed", **labels) == (
        weather.quality_checks_failed
    )
    assert value(found, "quality_checks_total", status="passed", **labels) == (
        weather.quality_checks_passed
    )
    # The duration histogram holds every run; its sum is their durations' sum.
    airlines = [r for r in runs if r.pipeline_name == "airlines"]
    assert value(found, "pipeline_duration_seconds_count", pipeline_name="airlines") == 2
    assert value(found, "pipeline_duration_seconds_sum", pipeline_name="airlines") == (
        pytest.approx(sum(r.duration_seconds for r in airlines))
    )
    le = str(float(DURATION_BUCKETS[-1]))
    assert value(found, "pipeline_duration_seconds_bucket", pipeline_name="airlines", le=le) == 2
    # Scores of the last gated run: weather's quarantined row costs it some validity.
    assert value(found, "data_quality_score", table_name="airlines", check_type="all") == 1.0
    score = value(found, "data_quality_score", table_name="weather", check_type="all")
    assert score == pytest.approx(weather.quality_score / 100) and score < 1.0
    assert value(found, "data_quality_score", table_name="weather", check_type="range") < 1.0
    assert (
        value(found, "data_quality_score", table_name="airlines_strict", check_type="row_count")
        == 0
    )
    # Freshness: the age of the newest observation loaded (2013), not of the load.
    newest = weather.data_newest_at
    assert newest is not None and newest.year == 2013
    age = value(found, "data_freshness_seconds", table_name="weather")
    written = (project / ".lakegate" / "metrics.prom").stat().st_mtime
    assert age == pytest.approx(written - newest.timestamp(), abs=60)
    assert value(found, "data_newest_timestamp_seconds", table_name="weather") == (
        newest.timestamp()
    )
    assert 0 <= value(found, "data_last_load_age_seconds", table_name="weather") < 600
    for name in ("data_freshness_seconds", "data_last_load_age_seconds"):
        assert (name, (("table_name", "airlines_strict"),)) not in found  # never loaded
    sla = value(found, "pipeline_sla_seconds", pipeline_name="flights")
    assert sla == load_pipeline(project / "pipelines" / "flights.yaml").pipeline.sla_minutes * 60
    # Nothing exposed that METRICS does not declare.
    assert {name for name, _ in found} <= exposed_names()
    assert all(name in METRICS for name in ("pipeline_runs_total", "data_quality_score"))


def test_check_results_are_stored_with_each_run(project: Path) -> None:
    runs = {r.pipeline_name: r for r in history(project)}
    with StateStore(load_project(project).state_url) as state:
        checks = state.check_results(runs["weather"].run_id)
        failed = state.check_results(runs["airlines_strict"].run_id)
    assert {c.table for c in checks} == {"weather:batch", "weather"}  # pre- and post-load
    assert sum(not c.passed for c in checks) == runs["weather"].quality_checks_failed
    assert [(c.type, c.passed) for c in failed] == [("row_count", False)]  # a failed run's too


def test_a_run_pushes_to_the_pushgateway(tmp_path: Path, httpserver: HTTPServer) -> None:
    root = tmp_path / "p"
    create_project(root)
    config = root / "lakegate.yaml"
    config.write_text(
        config.read_text().replace(
            "metrics: {textfile: .lakegate/metrics.prom}",
            f"metrics: {{textfile: null, pushgateway: '{httpserver.url_for('/')}'}}",
        )
    )
    httpserver.expect_request(
        f"/metrics/job/lakegate/project/{root.name}", method="PUT"
    ).respond_with_data("")
    result = run(root, "airlines")
    assert result.ok
    (request, _), *_ = httpserver.log
    found = samples(request.get_data(as_text=True))
    assert value(found, "pipeline_runs_total", pipeline_name="airlines", status="success") == 1
    assert not (root / ".lakegate" / "metrics.prom").exists()


def test_an_unreachable_pushgateway_never_fails_a_run(tmp_path: Path) -> None:
    root = tmp_path / "p"
    create_project(root)
    config = root / "lakegate.yaml"
    config.write_text(
        config.read_text().replace(
            "metrics: {textfile: .lakegate/metrics.prom}",
            "metrics: {pushgateway: 'http://127.0.0.1:1'}",
        )
    )
    proc = lakegate("--log-format", "json", "run", "pipelines/airlines.yaml", cwd=root)
    assert proc.returncode == 0, proc.stderr
    warnings = [json.loads(line) for line in proc.stderr.splitlines() if line.startswith("{")]
    assert any(
        w["level"] == "WARNING" and "MetricsObserver.run_finished failed" in w["message"]
        for w in warnings
    )
    assert (root / ".lakegate" / "metrics.prom").exists()  # the textfile still got written


def test_serve_exposes_metrics_runs_and_health(project: Path) -> None:
    server = subprocess.Popen(
        [sys.executable, "-m", "lakegate", "serve", "--port", "0", "--project", str(project)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert server.stdout is not None
        first = server.stdout.readline()
        assert first.startswith(f"serving {project.name} on http://127.0.0.1:"), first
        base = first.split(" on ")[1].split(" ")[0]
        with httpx.Client(base_url=base, timeout=10) as client:
            scraped = client.get("/metrics")
            assert scraped.status_code == 200
            assert scraped.headers["content-type"].startswith("text/plain")
            found = samples(scraped.text)
            ages = ("data_freshness_seconds", "data_last_load_age_seconds")  # grow with time
            assert found == samples((project / ".lakegate" / "metrics.prom").read_text()) | {
                key: found[key] for key in found if key[0] in ages
            }
            runs = client.get("/api/runs", params={"limit": 2}).json()
            assert [r["run_id"] for r in runs] == [r.run_id for r in history(project)[:2]]
            assert client.get("/healthz").text == "ok\n"
            page = client.get("/")
            assert page.status_code == 200 and "airlines_strict" in page.text
            assert client.get("/nowhere").status_code == 404
            for bad in ("abc", "0", "-3", "1.5", "100000"):
                refused = client.get("/api/runs", params={"limit": bad})
                assert refused.status_code == 400
                assert refused.headers["content-type"].startswith("application/json")
                assert refused.json() == {
                    "error": f"limit must be a whole number of runs from 1 to 1000, not {bad!r}"
                }
            # The custom lineage facet's schema, as the package ships it.
            schema = client.get("/openlineage/1-0-0/LakegateRunFacet.json")
            assert schema.status_code == 200 and schema.json() == facet_schema()
            assert schema.json()["$id"] == LAKEGATE_RUN_FACET_SCHEMA.split("#")[0]
    finally:
        server.terminate()
        server.wait(timeout=10)


def test_json_logs_carry_the_run_id(project: Path) -> None:
    proc = lakegate(
        "--log-format",
        "json",
        "--log-level",
        "info",
        "run",
        "--format",
        "json",
        "pipelines/airlines.yaml",
        cwd=project,
    )
    assert proc.returncode == 0, proc.stderr
    run_id = json.loads(proc.stdout)["run_id"]
    lines = [json.loads(line) for line in proc.stderr.splitlines()]  # every line is JSON
    in_run = [line for line in lines if line["logger"] == "lakegate.runner"]
    assert [line["message"] for line in in_run][:2] == ["run started", "step extract"]
    assert in_run[-1]["message"].startswith("run success: 16 rows extracted, 16 loaded")
    assert {line["run_id"] for line in in_run} == {run_id}
    assert {line["pipeline"] for line in in_run} == {"airlines"}
    assert all(line["time"].endswith("+00:00") for line in lines)


def test_metrics_command_prints_writes_and_rejects_bad_options(project: Path) -> None:
    printed = lakegate("metrics", "--project", str(project))
    assert printed.returncode == 0
    assert ("pipeline_runs_total", (("pipeline_name", "weather"), ("status", "success"))) in (
        samples(printed.stdout)
    )
    out = project / "out" / "m.prom"
    assert lakegate("metrics", "--project", str(project), "-o", str(out)).returncode == 0
    assert "pipeline_runs_total" in out.read_text()
    bad = lakegate("--log-format", "xml", "runs", "--project", str(project))
    assert bad.returncode == 2 and "log format must be text or json" in bad.stderr


@needs_promtool
def test_promtool_accepts_the_metrics(project: Path) -> None:
    """Written and served metrics pass promtool's lint (base units: seconds, not hours)."""
    for text in (
        (project / ".lakegate" / "metrics.prom").read_text(),
        lakegate("metrics", "--project", str(project)).stdout,
    ):
        assert "data_freshness_seconds{" in text
        check = subprocess.run(
            ["promtool", "check", "metrics"], input=text, capture_output=True, text=True
        )
        assert check.returncode == 0, check.stdout + check.stderr


@needs_promtool
def test_promtool_rejects_a_family_in_hours() -> None:
    """The lint the metrics are held to does fail on the seeds' unit."""
    text = "# HELP data_freshness_hours Hours.\n# TYPE data_freshness_hours gauge\n"
    text += 'data_freshness_hours{table_name="t"} 1\n'
    check = subprocess.run(
        ["promtool", "check", "metrics"], input=text, capture_output=True, text=True
    )
    assert check.returncode != 0 and 'base unit "seconds"' in check.stdout + check.stderr


def test_freshness_metrics_are_measured_at_collection(project: Path) -> None:
    """The ages grow with the collection time; the newest data's time does not."""
    from prometheus_client import generate_latest

    from lakegate.observe.metrics import registry_for

    proj = load_project(project)
    weather = next(r for r in history(project) if r.pipeline_name == "weather")
    assert weather.completed_at is not None and weather.data_newest_at is not None
    at = weather.completed_at + dt.timedelta(hours=2)
    found = samples(generate_latest(registry_for(proj, at)).decode())
    assert value(found, "data_freshness_seconds", table_name="weather") == pytest.approx(
        (at - weather.data_newest_at).total_seconds()
    )
    assert value(found, "data_last_load_age_seconds", table_name="weather") == pytest.approx(7200)
