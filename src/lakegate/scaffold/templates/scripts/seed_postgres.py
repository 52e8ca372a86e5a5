"""Load this project's sample flights into PostgreSQL, as an operational table.

pipelines/flights_from_postgres.yaml extracts from it. The table ``flights`` gets
the 2013 departures of ``data/flights/`` with two columns an application database
has: ``id`` (the primary key) and ``updated_at`` (when the row last changed, indexed,
the pipeline's watermark column). The database is created when missing; the table
is replaced.

Usage: python scripts/seed_postgres.py [URL]
       (default: $LAKEGATE_PG_URL, else postgresql://postgres@127.0.0.1:5432/lakegate_demo)
"""

from __future__ import annotations

import os
import sys
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import adbc_driver_postgresql.dbapi as pg
import duckdb
from sqlglot import exp

DEFAULT_URL = "postgresql://postgres@127.0.0.1:5432/lakegate_demo"
PROJECT = Path(__file__).resolve().parent.parent
CREATE_TABLE = """CREATE TABLE flights (
    id bigint PRIMARY KEY, year integer, month integer, day integer, dep_time integer,
    sched_dep_time integer, dep_delay integer, arr_time integer, sched_arr_time integer,
    arr_delay integer, carrier text, flight integer, tailnum text, origin text, dest text,
    air_time integer, distance integer, hour integer, minute integer,
    time_hour timestamptz, updated_at timestamptz NOT NULL
)"""
ROWS_SQL = """
SELECT row_number() OVER (ORDER BY time_hour, carrier, flight, origin)::BIGINT AS id,
       year::INT AS year, month::INT AS month, day::INT AS day, dep_time::INT AS dep_time,
       sched_dep_time::INT AS sched_dep_time, dep_delay::INT AS dep_delay,
       arr_time::INT AS arr_time, sched_arr_time::INT AS sched_arr_time,
       arr_delay::INT AS arr_delay, carrier, flight::INT AS flight, tailnum, origin, dest,
       air_time::INT AS air_time, distance::INT AS distance, hour::INT AS hour,
       minute::INT AS minute, time_hour, time_hour AS updated_at
FROM read_parquet($files)
ORDER BY id
"""


def create_database(url: str) -> None:
    """Create the URL's database unless it exists (connecting to ``postgres``)."""
    parts = urlsplit(url)
    name = parts.path.lstrip("/")
    admin = urlunsplit(parts._replace(path="/postgres"))
    with pg.connect(admin, autocommit=True) as conn, conn.cursor() as cur:
        cur.execute("SELECT 1 FROM pg_database WHERE datname = $1", (name,))
        if cur.fetchone() is None:
            create = exp.Create(kind="DATABASE", this=exp.to_identifier(name, quoted=True))
            cur.execute(create.sql(dialect="postgres"))


def seed(url: str) -> int:
    """Replace the table ``flights`` with the sample; returns its rows."""
    files = sorted(str(p) for p in (PROJECT / "data" / "flights").glob("*.parquet"))
    if not files:
        raise SystemExit(
            f"no flights in {PROJECT / 'data' / 'flights'}: is this a lakegate project?"
        )
    rows = duckdb.connect().sql(ROWS_SQL, params={"files": files}).to_arrow_table()
    create_database(url)
    with pg.connect(url) as conn, conn.cursor() as cur:
        cur.execute("DROP TABLE IF EXISTS flights")
        cur.execute(CREATE_TABLE)
        cur.adbc_ingest("flights", rows, mode="append")
        cur.execute("CREATE INDEX flights_updated_at ON flights (updated_at)")
        conn.commit()
    return rows.num_rows


def main() -> None:
    url = sys.argv[1] if len(sys.argv) > 1 else os.environ.get("LAKEGATE_PG_URL") or DEFAULT_URL
    rows = seed(url)
    shown = urlsplit(url)
    where = f"{shown.hostname}:{shown.port or 5432}{shown.path}"
    print(f"loaded {rows:,} flights into {where} (table flights)")


if __name__ == "__main__":
    main()
