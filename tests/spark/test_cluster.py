"""The same Delta write on the standalone cluster `make spark-cluster` starts (the
executors get the project's jars through spark.jars, as on any cluster)."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from deltalake import DeltaTable

from lakegate.engines.spark_jars import session_jars

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
