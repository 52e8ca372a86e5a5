"""A local Spark session with the project's Delta jars, shared by the Spark tests
(`make test-spark`; the jars come from `make services`)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from lakegate.engines.spark_jars import session_jars


@pytest.fixture(scope="session")
def spark(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    pyspark_sql = pytest.importorskip(
        "pyspark.sql", reason="pyspark is not installed: make services"
    )
    local: Path = tmp_path_factory.mktemp("spark-local")
    session = (
        pyspark_sql.SparkSession.builder.master("local[2]")
        .appName("lakegate-tests")
        .config("spark.jars", ",".join(str(j) for j in session_jars()))
        .config("spark.sql.extensions", "io.delta.sql.DeltaSparkSessionExtension")
        .config(
            "spark.sql.catalog.spark_catalog", "org.apache.spark.sql.delta.catalog.DeltaCatalog"
        )
        .config("spark.ui.enabled", "false")
        .config("spark.sql.shuffle.partitions", "2")
        .config("spark.driver.host", "127.0.0.1")
        .config("spark.driver.bindAddress", "127.0.0.1")
        .config("spark.local.dir", str(local))
        .getOrCreate()
    )
    yield session
    session.stop()
