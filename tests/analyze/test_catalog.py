"""The analyzer's view of lake tables: metadata from the Delta log and Parquet footers,
and measurements taken with DuckDB."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from deltalake import write_deltalake

from lakegate.analyze.catalog import Catalog, load_table
from lakegate.analyze.measure import truncation_counts
from lakegate.errors import InputDataError


def test_flights_metadata_matches_the_files(catalog: Catalog) -> None:
    flights = catalog.table("lake.flights")
    assert flights.rows == 336_776
    assert flights.partition_columns == ("month",)
    assert len(flights.partitions()) == 12
    assert flights.size_bytes == sum(Path(f.uri).stat().st_size for f in flights.files)
    # Column bytes come from the footers: every file is sampled here, so they add up
    # to the table's size and match the footers' own sums.
    by_column = flights.column_bytes
    assert by_column["month"].compressed == 0  # a partition column lives in the path
    assert abs(sum(c.compressed for c in by_column.values()) - flights.size_bytes) <= 20
    footer_total = {"carrier": 0, "all": 0}
    for data_file in flights.files:
        meta = pq.read_metadata(data_file.uri)
        for g in range(meta.num_row_groups):
            for c in range(meta.num_columns):
                chunk = meta.row_group(g).column(c)
                footer_total["all"] += chunk.total_compressed_size
                if chunk.path_in_schema == "carrier":
                    footer_total["carrier"] += chunk.total_compressed_size
    share = footer_total["carrier"] / footer_total["all"]
    assert by_column["carrier"].compressed == pytest.approx(share * flights.size_bytes, rel=1e-6)
    # File statistics: each file's month is its partition; day ranges 1-31.
    march = next(f for f in flights.files if f.partition["month"] == 3)
    assert (march.minimum["day"], march.maximum["day"]) == (1, 31)


def test_profile_measures_distinct_values_nulls_and_the_top_value(catalog: Catalog) -> None:
    profiles = catalog.table("flights").profile(["carrier", "tailnum", "month"])
    assert profiles["carrier"].distinct == 16
    assert (profiles["carrier"].top_value, profiles["carrier"].top_rows) == ("UA", 58_665)
    assert profiles["tailnum"].nulls == 2_512
    assert profiles["month"].distinct == 12 and profiles["month"].top_rows == 29_425


def test_unknown_names_and_stage_names(catalog: Catalog, lake: Path) -> None:
    assert catalog.get("orders") is None
    with pytest.raises(InputDataError, match=r"no Delta table 'orders'.*airlines, airports"):
        catalog.table("orders")
    assert Catalog(None).get("flights") is None


def test_awkward_partition_values_and_naive_timestamps(tmp_path: Path) -> None:
    """A path with a space, partition values needing escapes, and a timestamp without
    time zone (the timestampNtz reader feature): metadata, footers and measurements
    still work, and the table can be measured more than once."""
    root = tmp_path / "my lake" / "events"
    data = pa.table(
        {
            "region": ["eu west", "us/east", "eu west", None],
            "at": pa.array([dt.datetime(2024, m, 1, 12) for m in (1, 1, 2, 3)], pa.timestamp("us")),
            "n": [1, 2, 3, 4],
        }
    )
    write_deltalake(str(root), data, partition_by=["region"])
    table = load_table(str(root))
    assert all(Path(f.uri).exists() for f in table.files)
    assert sum(b.compressed for b in table.column_bytes.values()) > 0
    first = table.profile(["n", "region"])
    assert first["n"].distinct == 4 and first["region"].nulls == 1
    assert first["region"].top_value == "eu west" and first["region"].top_rows == 2
    counts = truncation_counts(table, [("at", "month"), ("at", "year")])
    assert counts == {("at", "month"): (3, 2), ("at", "year"): (1, 4)}
