"""Inputs: files, folders, globs, CSV options and Delta tables, read through DuckDB."""

from __future__ import annotations

import datetime as dt
import subprocess
import sys
import textwrap
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from deltalake import write_deltalake

from lakegate.engines import create_engine
from lakegate.errors import InputDataError
from lakegate.sources.files import CsvOptions, DeltaDataset, FileDataset, resolve_input

TABLE = pa.table(
    {
        "id": pa.array([1, 2, 3, 4], pa.int64()),
        "day": pa.array([dt.date(2024, 1, 1), dt.date(2024, 1, 1), dt.date(2024, 1, 2), None]),
        "name": ["a", "b", None, "d"],
    }
)


def rows(dataset, order: str = "id") -> list[tuple]:
    engine = create_engine()
    try:
        engine.register("t", dataset)
        from sqlglot import exp

        return engine.query(exp.select("*").from_("t").order_by(order))
    finally:
        engine.close()


def test_folder_reads_every_data_file_and_skips_metadata(tmp_path: Path) -> None:
    (tmp_path / "part=1").mkdir()
    pq.write_table(TABLE.slice(0, 2), tmp_path / "a.parquet")
    pq.write_table(TABLE.slice(2, 2), tmp_path / "part=1" / "b.parquet")
    (tmp_path / "_SUCCESS").write_text("")
    (tmp_path / ".hidden.parquet").write_text("junk")
    dataset = resolve_input(tmp_path)
    assert isinstance(dataset, FileDataset) and len(dataset.paths) == 2
    assert [r[0] for r in rows(dataset)] == [1, 2, 3, 4]


def test_glob_and_mixed_formats(tmp_path: Path) -> None:
    pq.write_table(TABLE, tmp_path / "a.parquet")
    (tmp_path / "b.csv").write_text("id\n1\n")
    assert len(resolve_input(tmp_path / "*.parquet").paths) == 1  # type: ignore[union-attr]
    with pytest.raises(InputDataError, match="mixes file formats"):
        resolve_input(tmp_path)


def test_csv_options_and_json_lines(tmp_path: Path) -> None:
    (tmp_path / "x.tsv").write_text("id\tname\n1\tNA\n2\tb\n")
    dataset = resolve_input(tmp_path / "x.tsv", csv=CsvOptions(null_values=("NA",)))
    assert rows(dataset) == [(1, None), (2, "b")]
    (tmp_path / "x.jsonl").write_text('{"id": 1, "name": "a"}\n{"id": 2, "name": null}\n')
    assert rows(resolve_input(tmp_path / "x.jsonl")) == [(1, "a"), (2, None)]


def test_partitioned_delta_table_keeps_types_order_and_nulls(tmp_path: Path) -> None:
    target = tmp_path / "delta"
    write_deltalake(target, TABLE, partition_by=["day"])
    write_deltalake(target, TABLE.slice(0, 1), mode="append", partition_by=["day"])
    dataset = resolve_input(target)
    assert isinstance(dataset, DeltaDataset)
    engine = create_engine()
    engine.register("t", dataset)
    assert list(engine.columns("t")) == ["id", "day", "name"]
    assert str(engine.columns("t")["day"].sql("duckdb")) == "DATE"
    engine.close()
    got = rows(dataset, order="id, name")
    assert got == [
        (1, dt.date(2024, 1, 1), "a"),
        (1, dt.date(2024, 1, 1), "a"),
        (2, dt.date(2024, 1, 1), "b"),
        (3, dt.date(2024, 1, 2), None),
        (4, None, "d"),
    ]


def test_delta_overwrite_reads_only_the_current_snapshot(tmp_path: Path) -> None:
    target = tmp_path / "delta"
    write_deltalake(target, TABLE)
    write_deltalake(target, TABLE.slice(0, 1), mode="overwrite")
    assert [r[0] for r in rows(resolve_input(target))] == [1]


def test_empty_delta_table(tmp_path: Path) -> None:
    target = tmp_path / "delta"
    write_deltalake(target, TABLE.slice(0, 0))
    assert rows(resolve_input(target)) == []


def test_reading_delta_never_aborts_the_process_at_exit(tmp_path: Path) -> None:
    """delta-rs issue 2184: to_pyarrow_* readers can abort at exit. Ours must not."""
    target = tmp_path / "delta"
    write_deltalake(target, TABLE, partition_by=["day"])
    script = textwrap.dedent(f"""
        from lakegate.engines import create_engine
        from lakegate.sources.files import resolve_input
        from sqlglot import exp
        engine = create_engine()
        engine.register("t", resolve_input({str(target)!r}))
        assert engine.query(exp.select("count(*)").from_("t"))[0][0] == 4
        print("ok")
    """)
    for _ in range(5):
        proc = subprocess.run(
            [sys.executable, "-c", script], capture_output=True, text=True, timeout=60
        )
        assert proc.returncode == 0, proc.stderr
        assert proc.stdout.strip() == "ok"


def test_import_lakegate_stays_light() -> None:
    script = (
        "import sys, lakegate, lakegate.validate, lakegate.cli\n"
        "heavy = {'duckdb', 'deltalake', 'pyarrow', 'pyspark', 'httpx'} & set(sys.modules)\n"
        "print(sorted(heavy))"
    )
    proc = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=60
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == "[]"


def test_delta_table_in_a_folder_with_a_space(tmp_path: Path) -> None:
    target = tmp_path / "my lake" / "t%x"
    write_deltalake(target, TABLE, partition_by=["day"])
    assert [r[0] for r in rows(resolve_input(target))] == [1, 2, 3, 4]


def test_delta_partition_values_that_need_escaping(tmp_path: Path) -> None:
    table = pa.table({"id": [1, 2], "part": ["x y:z", "it's"]})
    target = tmp_path / "sp ace" / "t"
    write_deltalake(target, table, partition_by=["part"])
    assert rows(resolve_input(target)) == [(1, "x y:z"), (2, "it's")]
