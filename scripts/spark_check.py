"""Start a local[2] Spark session with the project's Delta jars, write a Delta table with an
idempotent-write app id, read it back, and print what ran. Used by `make services`.

    python scripts/spark_check.py build/jvm/spark
"""

from __future__ import annotations

import sys
import tempfile
import time
from pathlib import Path

from lakegate.engines.spark_jars import session_jars


def main(folder: str) -> int:
    from pyspark.sql import SparkSession

    jars = session_jars(Path(folder))
    start = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="lakegate-spark-check-") as tmp:
        spark = (
            SparkSession.builder.master("local[2]")
            .appName("lakegate-services-check")
            .config("spark.jars", ",".join(str(j) for j in jars))
            .config("spark.sql.extensions", "io.delta.sql.DeltaSparkSessionExtension")
            .config(
                "spark.sql.catalog.spark_catalog", "org.apache.spark.sql.delta.catalog.DeltaCatalog"
            )
            .config("spark.ui.enabled", "false")
            .config("spark.sql.shuffle.partitions", "2")
            .config("spark.driver.bindAddress", "127.0.0.1")
            .config("spark.driver.host", "127.0.0.1")
            .config("spark.local.dir", tmp)
            .getOrCreate()
        )
        try:
            path = f"{tmp}/check"
            frame = spark.range(0, 1000).withColumnRenamed("id", "n")
            for _ in range(2):  # the second write is a no-op: the same txn app id and version
                (
                    frame.write.format("delta")
                    .mode("append")
                    .option("txnAppId", "lakegate-check")
                    .option("txnVersion", "1")
                    .save(path)
                )
            count = spark.read.format("delta").load(path).count()
            if count != 1000:
                print(f"expected 1000 rows after an idempotent re-write, read {count}")
                return 1
            print(
                f"Spark {spark.version} local[2] with {len(jars)} jars: Delta write, idempotent "
                f"re-write and read of {count} rows in {time.monotonic() - start:.1f} s"
            )
        finally:
            spark.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
