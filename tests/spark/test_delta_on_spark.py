"""Delta Lake on Spark and delta-rs share one table and one exactly-once record (`txn`)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import duckdb
import pyarrow as pa
from deltalake import CommitProperties, DeltaTable, Transaction, write_deltalake


def _count(path: Path) -> int:
    files = DeltaTable(str(path)).file_uris()
    con = duckdb.connect()
    (count,) = con.execute("SELECT count(*) FROM read_parquet(?)", [files]).fetchall()[0]
    con.close()
    return int(count)


def _append_ten(spark: Any, path: Path, *, app_id: str, version: int) -> None:
    """Append 10 rows with Delta's idempotent-write options ``txnAppId``/``txnVersion``."""
    (
        spark.range(0, 10)
        .withColumnRenamed("id", "n")
        .write.format("delta")
        .mode("append")
        .option("txnAppId", app_id)
        .option("txnVersion", str(version))
        .save(str(path))
    )


def test_spark_idempotent_writes_record_the_txn_delta_rs_reads(spark: Any, tmp_path: Path) -> None:
    path = tmp_path / "events"
    frame = spark.range(0, 500).withColumnRenamed("id", "n")
    for _ in range(2):  # the same app id and version twice: the second is skipped by Delta
        (
            frame.write.format("delta")
            .mode("append")
            .option("txnAppId", "lakegate-flights")
            .option("txnVersion", "7")
            .save(str(path))
        )
    table = DeltaTable(str(path))
    assert table.transaction_version("lakegate-flights") == 7
    assert _count(path) == 500


def test_spark_reads_and_respects_a_txn_written_by_delta_rs(spark: Any, tmp_path: Path) -> None:
    path = tmp_path / "shared"
    write_deltalake(
        str(path),
        pa.table({"n": pa.array(range(100), pa.int64())}),
        commit_properties=CommitProperties(app_transactions=[Transaction("lakegate-x", 3)]),
    )
    assert spark.read.format("delta").load(str(path)).count() == 100
    # Spark skips a write whose version delta-rs already committed for the app id ...
    _append_ten(spark, path, app_id="lakegate-x", version=3)
    assert _count(path) == 100
    # ... and commits the next one.
    _append_ten(spark, path, app_id="lakegate-x", version=4)
    assert _count(path) == 110
    assert DeltaTable(str(path)).transaction_version("lakegate-x") == 4
