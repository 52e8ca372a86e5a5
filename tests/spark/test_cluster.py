"""The same Delta write on the standalone cluster `make spark-cluster` starts (the
executors get the project's jars through spark.jars, as on any cluster)."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import duckdb
import pytest
from deltalake import DeltaTable

from lakegate.engines.duckdb import DuckDBEngine
from lakegate.engines.spark_jars import session_jars
from lakegate.sources.files import resolve_input

MASTER = "spark://127.0.0.1:7077"


def test_a_job_on_the_standalone_cluster_writes_delta_exactly_once(tmp_path: Path) -> None:
    if subprocess.run(["bash", "-c", "exec 3<>/dev/tcp/127.0.0.1/7077"], check=False).returncode:
        pytest.skip("no Spark master on 127.0.0.1:7077: make spark-cluster")
    path = tmp_path / "cluster_events"
    jars = ",".join(str(j) for j in session_jars())
    # A separate driver process: the session fixture of the other tests is local[2].
    script = textwrap.dedent(
        f"""
        from pyspark.sql import SparkSession
        spark = (SparkSession.builder.master({MASTER!r}).appName("lakegate-cluster-test")
                 .config("spark.jars", {jars!r})
                 .config("spark.sql.extensions", "io.delta.sql.DeltaSparkSessionExtension")
                 .config("spark.sql.catalog.spark_catalog",
                         "org.apache.spark.sql.delta.catalog.DeltaCatalog")
                 .config("spark.executor.memory", "1g").config("spark.cores.max", "2")
                 .config("spark.driver.host", "127.0.0.1").config("spark.ui.enabled", "false")
                 .getOrCreate())
        frame = spark.range(0, 2000, numPartitions=4).withColumnRenamed("id", "n")
        for _ in range(2):
            (frame.write.format("delta").mode("append").option("txnAppId", "lakegate-cluster")
             .option("txnVersion", "1").save({str(path)!r}))
        print("COUNT", spark.read.format("delta").load({str(path)!r}).count())
        spark.stop()
        """
    )
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=300, check=False
    )
    assert done.returncode == 0, done.stderr[-3000:]
    assert "COUNT 2000" in done.stdout
    assert DeltaTable(str(path)).transaction_version("lakegate-cluster") == 1


def test_lakegate_run_on_the_cluster_does_its_work_on_the_workers_executors(
    tmp_path: Path, flights_dir: Path
) -> None:
    """A pipeline on engine spark with spark.master the standalone master: the batch is
    computed by the worker's executors (the application's REST API counts their tasks),
    and the table is the one DuckDB loads."""
    if subprocess.run(["bash", "-c", "exec 3<>/dev/tcp/127.0.0.1/7077"], check=False).returncode:
        pytest.skip("no Spark master on 127.0.0.1:7077: make spark-cluster")
    jars = [str(j) for j in session_jars()]
    (tmp_path / "data").mkdir()
    shutil.copy(flights_dir / "airports.parquet", tmp_path / "data" / "airports.parquet")
    (tmp_path / "pipelines").mkdir()
    (tmp_path / "pipelines" / "airports.yaml").write_text(
        "pipeline: {name: airports}\n"
        "extract: {source: {type: file, path: data/airports.parquet}}\n"
        "load: {target: airports, strategy: merge, merge_keys: [faa]}\n"
    )
    (tmp_path / "lakegate.yaml").write_text(
        "name: cluster\nengine: spark\n"
        + json.dumps(
            {
                "spark": {
                    "master": MASTER,
                    "conf": {
                        "spark.executor.memory": "1g",
                        "spark.cores.max": "2",
                        "spark.driver.host": "127.0.0.1",
                    },
                    "jars": jars,
                }
            }
        )[1:-1]
        + "\n"
    )
    script = textwrap.dedent(
        f"""
        import json, urllib.request
        from lakegate.config.pipeline import load_pipeline
        from lakegate.config.project import load_project
        from lakegate.engines import project_engine
        from lakegate.runner import run_pipeline

        project = load_project({str(tmp_path)!r})
        engine = project_engine(project)  # the session the run reuses, kept to read its API
        result = run_pipeline(project, load_pipeline({str(tmp_path / "pipelines" / "airports.yaml")!r}))
        context = engine.session.sparkContext
        url = f"{{context.uiWebUrl}}/api/v1/applications/{{context.applicationId}}/executors"
        executors = json.load(urllib.request.urlopen(url, timeout=30))
        print("RESULT", json.dumps({{"ok": result.ok, "error": result.record.error_message,
            "loaded": result.record.rows_loaded,
            "tasks": {{e["id"]: e["totalTasks"] for e in executors}}}}))
        engine.close()
        """
    )
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=600, check=False
    )
    assert done.returncode == 0, done.stderr[-3000:]
    (line,) = [x for x in done.stdout.splitlines() if x.startswith("RESULT ")]
    result = json.loads(line.removeprefix("RESULT "))
    assert result["ok"], result["error"]
    workers = {k: v for k, v in result["tasks"].items() if k != "driver"}
    assert workers and sum(workers.values()) > 0, result["tasks"]  # the executors did the work
    con = duckdb.connect()
    (expected,) = con.execute(
        "SELECT count(*) FROM read_parquet($p)", {"p": str(flights_dir / "airports.parquet")}
    ).fetchone()
    assert result["loaded"] == expected
    engine = DuckDBEngine()
    try:
        engine.register("t", resolve_input(tmp_path / "lake" / "airports"))
        assert engine.connection.execute("SELECT count(*) FROM t").fetchone() == (expected,)
    finally:
        engine.close()
