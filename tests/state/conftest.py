"""Fixtures for the state store tests: every behaviour test runs on a SQLite file and
on the real PostgreSQL server (127.0.0.1:5432, trust auth, user ``root`` or ``postgres``;
PGHOST, PGPORT and PGUSER override these).

The PostgreSQL tests get a fresh database per test session, dropped at the end,
and the store's tables are dropped after every test. When the server cannot be
reached they fail, unless LAKEGATE_SKIP_POSTGRES=1 is set (then they are skipped).
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest
import sqlalchemy as sa
from psycopg import sql

from lakegate.state import StateStore
from lakegate.state.records import METADATA

PG_HOST = os.environ.get("PGHOST", "127.0.0.1")
PG_PORT = int(os.environ.get("PGPORT", "5432"))
SKIP_POSTGRES = "LAKEGATE_SKIP_POSTGRES"
BACKENDS = ["sqlite", "postgresql"]


def _admin() -> tuple[psycopg.Connection, str]:
    """An autocommit connection to the ``postgres`` database, and the user it is for."""
    problems = []
    for user in dict.fromkeys(u for u in (os.environ.get("PGUSER"), "root", "postgres") if u):
        try:
            conn = psycopg.connect(
                host=PG_HOST, port=PG_PORT, user=user, dbname="postgres", connect_timeout=3
            )
        except psycopg.OperationalError as exc:
            problems.append(f"as {user}: {str(exc).strip()}")
            continue
        conn.autocommit = True
        return conn, user
    message = (
        f"PostgreSQL is not reachable at {PG_HOST}:{PG_PORT} ({'; '.join(problems)}). "
        f"Start it with `make services`, or set {SKIP_POSTGRES}=1 to skip the PostgreSQL tests."
    )
    if os.environ.get(SKIP_POSTGRES) == "1":
        pytest.skip(message)
    pytest.fail(message, pytrace=False)


@pytest.fixture(scope="session")
def postgres_url() -> Iterator[str]:
    """The URL of a fresh database on the local server, dropped after the session."""
    admin, user = _admin()
    name = f"lakegate_test_{secrets.token_hex(6)}"
    admin.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    try:
        yield f"postgresql+psycopg://{user}@{PG_HOST}:{PG_PORT}/{name}"
    finally:
        admin.execute(
            sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
        )
        admin.close()


@pytest.fixture(params=BACKENDS)
def state_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A state URL with no lakegate tables in it yet, on each backend."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'state.db'}"
        return
    url = request.getfixturevalue("postgres_url")
    yield url
    engine = sa.create_engine(url)
    METADATA.drop_all(engine)
    engine.dispose()


@pytest.fixture
def store(state_url: str) -> Iterator[StateStore]:
    with StateStore(state_url) as store:
        yield store
