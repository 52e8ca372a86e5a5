"""Extract from PostgreSQL: the walkthrough `make demo` runs on a `lakegate init` project.

1. Seed the operational table (the project's ``scripts/seed_postgres.py``) unless it
   exists, and run ``pipelines/flights_from_postgres.yaml``: the first run loads every
   row; later runs read only rows changed since the watermark.
2. Change the source as an application would: flights get delayed (UPDATE with a new
   ``updated_at``), a late flight is inserted, cancelled flights are deleted.
3. Run again with ``--reconcile``: the changed rows are merged, and the hard deletes,
   which no incremental read can see, are found and deleted from the Delta table.

When no server is reachable the walkthrough is skipped with a message, and exits 0.

Usage: python examples/postgres/demo.py PROJECT_DIR
       (the server: $LAKEGATE_PG_URL, else postgresql://postgres@127.0.0.1:5432/lakegate_demo)
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import adbc_driver_postgresql.dbapi as pg

DEFAULT_URL = "postgresql://postgres@127.0.0.1:5432/lakegate_demo"
PIPELINE = "pipelines/flights_from_postgres.yaml"
DELAYED, DELETED = 25, 3


def reachable(url: str) -> str | None:
    """None when the server answers, else why not (the URL's password is never shown)."""
    parts = urlsplit(url)
    admin = urlunsplit(parts._replace(path="/postgres", query="connect_timeout=3"))
    try:
        with pg.connect(admin) as conn, conn.cursor() as cur:
            cur.execute("SELECT 1")
            cur.fetchone()
    except Exception as exc:
        return str(exc).splitlines()[0].replace(parts.password or "\0", "***")
    return None


def table_exists(url: str) -> bool:
    try:
        with pg.connect(url) as conn, conn.cursor() as cur:
            cur.execute("SELECT to_regclass('flights') IS NOT NULL")
            row = cur.fetchone()
            return bool(row and row[0])
    except Exception:  # no such database yet
        return False


def change_source(url: str) -> None:
    """Delay some flights, insert a late one, delete cancelled ones (all now)."""
    with pg.connect(url) as conn, conn.cursor() as cur:
        cur.execute(
            "UPDATE flights SET dep_delay = coalesce(dep_delay, 0) + 30, updated_at = now() "
            "WHERE id IN (SELECT id FROM flights WHERE dep_delay IS NOT NULL "
            "ORDER BY id DESC LIMIT $1)",
            (DELAYED,),
        )
        # The late flight: inserted once; a later walkthrough corrects it instead.
        cur.execute(
            "UPDATE flights SET updated_at = now() WHERE carrier = 'B6' AND flight = 9999 "
            "AND year = 2013 AND month = 12 AND day = 31"
        )
        cur.execute(
            "INSERT INTO flights (id, year, month, day, sched_dep_time, sched_arr_time, "
            "carrier, flight, origin, dest, distance, hour, minute, time_hour, updated_at) "
            "SELECT max(id) + 1, 2013, 12, 31, 2359, 2359, 'B6', 9999, 'JFK', 'BQN', 1576, "
            "23, 59, TIMESTAMPTZ '2014-01-01 04:00:00+00', now() FROM flights "
            "HAVING NOT bool_or(carrier = 'B6' AND flight = 9999 AND year = 2013 "
            "AND month = 12 AND day = 31)"
        )
        cur.execute(
            "DELETE FROM flights WHERE id IN (SELECT id FROM flights WHERE dep_time IS NULL "
            "ORDER BY id LIMIT $1)",
            (DELETED,),
        )
        conn.commit()
    print(
        f"changed the source: {DELAYED} flights delayed, 1 late flight inserted (or corrected), "
        f"{DELETED} cancelled flights deleted"
    )


def lakegate(project: Path, *args: str) -> None:
    command = [sys.executable, "-m", "lakegate", *args]
    print("$ lakegate " + " ".join(args), flush=True)
    subprocess.run(command, cwd=project, check=True)


def main() -> None:
    if len(sys.argv) != 2:
        raise SystemExit(__doc__)
    project = Path(sys.argv[1])
    url = os.environ.get("LAKEGATE_PG_URL") or DEFAULT_URL
    os.environ["LAKEGATE_PG_URL"] = url
    parts = urlsplit(url)
    server = f"{parts.hostname}:{parts.port or 5432}"
    if not (project / PIPELINE).exists():
        print(f"skipped: {project} has no {PIPELINE}; refresh it: lakegate init --force {project}")
        return
    why = reachable(url)
    if why is not None:
        print(
            f"skipped: no PostgreSQL server reachable at {server} ({why}). "
            "Set LAKEGATE_PG_URL=postgresql://user@host:port/db to run this part."
        )
        return
    if not table_exists(url):
        subprocess.run(
            [sys.executable, str(project / "scripts" / "seed_postgres.py"), url], check=True
        )
    lakegate(project, "run", PIPELINE)
    change_source(url)
    lakegate(project, "run", "--reconcile", PIPELINE)


if __name__ == "__main__":
    main()
