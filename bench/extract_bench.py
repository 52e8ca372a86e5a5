"""Benchmark `lakegate run` from PostgreSQL: TPC-H lineitem SF1 into Delta, against a raw read.

The issue: "extracting 6M TPC-H lineitem rows from PostgreSQL into Delta, rows/s and
peak memory, compared in the same run with connectorx (or ADBC) alone reading the same
table into Arrow. Target: the whole lakegate pipeline <= 1.5x that raw read."

1. Loads bench/data/lineitem.parquet (6,001,215 rows; generated with tpchgen-cli when
   missing) into the table ``lineitem`` of the database ``lakegate_bench`` on the local
   PostgreSQL server (PGHOST/PGPORT, default 127.0.0.1:5432, trust auth, user PGUSER,
   else ``postgres``, else ``root``): the Parquet file's types (bigint, integer,
   numeric(15,2), date, text, all NOT NULL), streamed through ADBC's ``adbc_ingest``
   (binary COPY), then a primary key (l_orderkey, l_linenumber) and VACUUM (FREEZE,
   ANALYZE). An existing database is reused when its table holds 6,001,215 rows with
   those types and that key; otherwise it is dropped and recreated.
2. Recreates the project bench/out/extract_project: lakegate.yaml (lake ./lake, SQLite
   state), a small contract (l_orderkey, l_linenumber required; l_linenumber 1..7,
   l_quantity 1..50) as the pre-load gate, and two pipelines reading the whole table
   (``type: sql``, extract strategy full):
     lineitem_pg.yaml        load strategy overwrite into ``lineitem``
     lineitem_pg_merge.yaml  load strategy merge on (l_orderkey, l_linenumber) into
                             ``lineitem_merged``: the untimed warm-up creates the table,
                             so every timed run merges 6M rows into a 6M-row table
                             (every row matches and is rewritten)
3. Times whole processes (spawn to exit, peak RSS of the process tree, CPU time; and,
   polled, the CPU time and peak RSS of the PostgreSQL server's processes meanwhile),
   one untimed warm-up each, then --runs interleaved rounds of:
     lakegate run lineitem_pg.yaml --format json        (extract, gate, load)
     lakegate run lineitem_pg_merge.yaml --format json
     raw ADBC: this script --raw-adbc (adbc_driver_postgresql, SELECT * FROM lineitem,
               cursor.fetch_arrow_table())
     raw connectorx: this script --raw-connectorx (read_sql(url, query,
               return_type="arrow")), when connectorx is installed (else skipped)
   Before each run the table is read into the OS page cache (pg_prewarm), and so are
   the Delta table's files and the code: this VM drops page cache left idle for a minute.
4. Verifies the Delta table after every lakegate run, in a separate process, with DuckDB
   over DeltaTable.file_uris() (never deltalake's to_pyarrow_* readers: delta-rs issue
   2184): 6,001,215 rows, the same sum(l_quantity) and count of distinct
   (l_orderkey, l_linenumber) as the PostgreSQL table, the column types, and every
   column of every row equal to the Parquet file's.
5. Prints a table (best, median, rows/s of the median, peak RSS), the ratios of
   lakegate to the raw reads with the verdict against the 1.5x target, and the share of
   time per step; writes every figure to bench/out/extract_results.json.

Exits 1 when a run fails or a verification does not hold; with --strict, 2 when the
overwrite pipeline costs more than TARGET_RATIO times the raw ADBC read (median).
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import importlib.util
import json
import os
import shutil
import statistics
import sys
import threading
import time
from pathlib import Path
from typing import Any

import psutil
from common import (
    CLEAN,
    OUT,
    ROOT,
    SF1_ROWS,
    Run,
    checked,
    generate,
    machine,
    mib,
    run_measured,
    summary,
    tool,
    wait_quiet,
)
from run_bench import STEPS, code_files, read_files, src_state, step_shares

PROJECT = OUT / "extract_project"
RESULTS = OUT / "extract_results.json"
PG_HOST = os.environ.get("PGHOST", "127.0.0.1")
PG_PORT = int(os.environ.get("PGPORT", "5432"))
DATABASE = "lakegate_bench"
TABLE = "lineitem"
KEYS = ("l_orderkey", "l_linenumber")
TARGET_RATIO = 1.5  # the whole lakegate pipeline <= 1.5x the raw read
RAW_QUERY = "SELECT * FROM lineitem"

# The Parquet file's types (tpchgen-cli), as PostgreSQL types; all NOT NULL.
COLUMNS = {
    "l_orderkey": "bigint",
    "l_partkey": "bigint",
    "l_suppkey": "bigint",
    "l_linenumber": "integer",
    "l_quantity": "numeric(15,2)",
    "l_extendedprice": "numeric(15,2)",
    "l_discount": "numeric(15,2)",
    "l_tax": "numeric(15,2)",
    "l_returnflag": "text",
    "l_linestatus": "text",
    "l_shipdate": "date",
    "l_commitdate": "date",
    "l_receiptdate": "date",
    "l_shipinstruct": "text",
    "l_shipmode": "text",
    "l_comment": "text",
}
CREATE_TABLE = (
    "CREATE TABLE lineitem ("
    + ", ".join(f"{name} {kind} NOT NULL" for name, kind in COLUMNS.items())
    + ")"
)

# name -> (target table, load strategy)
PIPELINES = {
    "lineitem_pg": ("lineitem", "overwrite"),
    "lineitem_pg_merge": ("lineitem_merged", "merge"),
}

PROJECT_YAML = """\
name: extract_bench
lake: ./lake
state: sqlite:///.lakegate/state.db
lineage: {transport: none}
metrics: {textfile: null}
"""

CONTRACT_YAML = """\
# The pre-load gate of the extract benchmark: keys present, two ranges.
contract: {name: tpch_lineitem_pg, version: "1.0.0", owner: bench@example.com}
schema:
  type: object
  required: [l_orderkey, l_linenumber]
  properties:
    l_orderkey:   {type: integer}
    l_linenumber: {type: integer, minimum: 1, maximum: 7}
    l_quantity:   {type: decimal, precision: 15, scale: 2, minimum: 1, maximum: 50}
"""

PIPELINE_YAML = """\
pipeline: {{name: {name}, owner: bench@example.com}}
extract:
  source: {{type: sql, url: "{url}", table: {table}}}
  strategy: full
load:
  target: {target}
  strategy: {strategy}{keys}
contract: contracts/lineitem.yaml
quality_gates:
  pre_load: contract
"""

LABELS = {
    "lineitem_pg": "lakegate run, overwrite",
    "lineitem_pg_merge": "lakegate run, merge (6M into 6M)",
    "raw_adbc": "raw ADBC read -> Arrow",
    "raw_connectorx": "raw connectorx read -> Arrow",
}


# ----------------------------------------------------------------------------- PostgreSQL


def pg_user() -> str:
    """The first user the server accepts: PGUSER, else postgres, else root."""
    import psycopg

    problems = []
    for user in dict.fromkeys(u for u in (os.environ.get("PGUSER"), "postgres", "root") if u):
        try:
            psycopg.connect(
                host=PG_HOST, port=PG_PORT, user=user, dbname="postgres", connect_timeout=3
            ).close()
        except psycopg.OperationalError as exc:
            problems.append(f"as {user}: {str(exc).strip()}")
            continue
        return user
    sys.exit(f"PostgreSQL is not reachable at {PG_HOST}:{PG_PORT} ({'; '.join(problems)})")


def pg_url(user: str, database: str = DATABASE) -> str:
    return f"postgresql://{user}@{PG_HOST}:{PG_PORT}/{database}"


def table_state(user: str) -> dict[str, Any] | None:
    """What the benchmark database holds: rows, column types, primary key; None when
    the database or the table is missing."""
    import psycopg

    try:
        conn = psycopg.connect(pg_url(user), autocommit=True, connect_timeout=3)
    except psycopg.OperationalError:
        return None
    with conn:
        found = conn.execute("SELECT to_regclass('public.lineitem') IS NOT NULL").fetchone()
        if not found or not found[0]:
            return None
        types = conn.execute(
            "SELECT attname, format_type(atttypid, atttypmod) || "
            "CASE WHEN attnotnull THEN ' NOT NULL' ELSE '' END "
            "FROM pg_attribute WHERE attrelid = 'public.lineitem'::regclass "
            "AND attnum > 0 AND NOT attisdropped ORDER BY attnum"
        ).fetchall()
        key = conn.execute(
            "SELECT array_agg(a.attname ORDER BY k.ord) FROM pg_index i "
            "CROSS JOIN LATERAL unnest(i.indkey) WITH ORDINALITY AS k(attnum, ord) "
            "JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = k.attnum "
            "WHERE i.indrelid = 'public.lineitem'::regclass AND i.indisprimary"
        ).fetchone()
        rows = conn.execute("SELECT count(*) FROM lineitem").fetchone()
    return {
        "rows": rows[0] if rows else None,
        "columns": dict(types),
        "primary_key": list(key[0]) if key and key[0] else [],
    }


def wanted_state() -> dict[str, Any]:
    return {
        "rows": SF1_ROWS,
        "columns": {name: f"{kind} NOT NULL" for name, kind in COLUMNS.items()},
        "primary_key": list(KEYS),
    }


def setup() -> dict[str, Any]:
    """Make sure ``lakegate_bench.lineitem`` holds SF1 lineitem; returns what it did and
    the table's reference figures (computed by PostgreSQL)."""
    import psycopg
    from psycopg import sql

    user = pg_user()
    figures: dict[str, Any] = {"user": user, "url": pg_url(user)}
    state = table_state(user)
    if state == wanted_state():
        figures["reused"] = True
    else:
        figures["reused"] = False
        figures["found"] = state
        with psycopg.connect(
            host=PG_HOST, port=PG_PORT, user=user, dbname="postgres", autocommit=True
        ) as admin:
            name = sql.Identifier(DATABASE)
            admin.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(name))
            admin.execute(sql.SQL("CREATE DATABASE {}").format(name))
        figures["load"] = load_table(user)
        state = table_state(user)
        if state != wanted_state():
            sys.exit(f"the loaded table is not what was asked for: {state}")
    with psycopg.connect(pg_url(user), autocommit=True) as conn:
        conn.execute("CREATE EXTENSION IF NOT EXISTS pg_prewarm")
        row = conn.execute(
            "SELECT count(*), sum(l_quantity)::text, count(DISTINCT (l_orderkey, l_linenumber)), "
            "pg_relation_size('lineitem'), pg_total_relation_size('lineitem'), "
            "current_setting('server_version'), current_setting('shared_buffers') "
            "FROM lineitem"
        ).fetchone()
    assert row is not None
    figures.update(
        {
            "rows": row[0],
            "sum_quantity": row[1],
            "distinct_keys": row[2],
            "table_bytes": row[3],
            "table_with_index_bytes": row[4],
            "server_version": row[5],
            "shared_buffers": row[6],
            "columns": wanted_state()["columns"],
        }
    )
    return figures


def load_table(user: str) -> dict[str, Any]:
    """Create and fill the table: the Parquet file streamed through ADBC's bulk ingest
    (binary COPY), then the primary key, VACUUM (FREEZE, ANALYZE)."""
    import adbc_driver_postgresql.dbapi as pg
    import psycopg
    import pyarrow as pa
    import pyarrow.dataset as ds

    source = ds.dataset(CLEAN, format="parquet")
    # tpchgen-cli writes string_view columns; the driver ingests plain strings.
    schema = pa.schema(
        [
            pa.field(f.name, pa.string() if pa.types.is_string_view(f.type) else f.type)
            for f in source.schema
        ]
    )
    if list(schema.names) != list(COLUMNS):
        sys.exit(f"{CLEAN} has columns {schema.names}, expected {list(COLUMNS)}")

    def batches() -> Any:
        for batch in source.to_batches(batch_size=131_072):
            yield batch.cast(schema)

    reader = pa.RecordBatchReader.from_batches(schema, batches())
    seconds: dict[str, float] = {}
    started = time.perf_counter()
    with psycopg.connect(pg_url(user), autocommit=True) as conn:
        conn.execute(CREATE_TABLE)
    with pg.connect(pg_url(user)) as conn:
        with conn.cursor() as cur:
            rows = cur.adbc_ingest(TABLE, reader, mode="append")
        conn.commit()
    seconds["ingest"] = time.perf_counter() - started
    with psycopg.connect(pg_url(user), autocommit=True) as conn:
        mark = time.perf_counter()
        conn.execute("ALTER TABLE lineitem ADD PRIMARY KEY (l_orderkey, l_linenumber)")
        seconds["primary_key"] = time.perf_counter() - mark
        mark = time.perf_counter()
        conn.execute("VACUUM (FREEZE, ANALYZE) lineitem")
        seconds["vacuum_analyze"] = time.perf_counter() - mark
    return {
        "method": "adbc_ingest (binary COPY) from pyarrow.dataset, string_view cast to string",
        "rows_ingested": rows,
        "seconds": {k: round(v, 2) for k, v in seconds.items()},
    }


def prewarm(user: str) -> None:
    """Read the table and its key index into the OS page cache."""
    import psycopg

    with psycopg.connect(pg_url(user), autocommit=True) as conn:
        conn.execute("SELECT pg_prewarm('lineitem', 'read'), pg_prewarm('lineitem_pkey', 'read')")


def postmaster_pid(user: str) -> int:
    import psycopg

    with psycopg.connect(pg_url(user), autocommit=True) as conn:
        row = conn.execute("SELECT pg_backend_pid()").fetchone()
    assert row is not None
    return psutil.Process(row[0]).ppid()


class ServerWatch:
    """Polls the PostgreSQL server's processes during a run: the CPU time they used
    (backends that start during the run counted from zero; the part of a backend's
    last poll interval before it exits is lost) and the peak RSS of the backends that
    started during the run (RSS includes the shared buffers they touched)."""

    def __init__(self, postmaster: int, poll_seconds: float = 0.05) -> None:
        self.postmaster = psutil.Process(postmaster)
        self.poll_seconds = poll_seconds
        self.before: dict[int, float] = {}
        self.last: dict[int, float] = {}
        self.backend_peak = 0
        self.done = threading.Event()
        self.thread = threading.Thread(target=self._poll, daemon=True)

    def _children(self) -> list[psutil.Process]:
        try:
            return [self.postmaster, *self.postmaster.children()]
        except psutil.NoSuchProcess:
            return []

    def start(self) -> None:
        for p in self._children():
            with contextlib.suppress(psutil.NoSuchProcess):
                self.before[p.pid] = sum(p.cpu_times()[:2])
        self.thread.start()

    def _poll(self) -> None:
        while True:
            rss = 0
            for p in self._children():
                with contextlib.suppress(psutil.NoSuchProcess):
                    self.last[p.pid] = sum(p.cpu_times()[:2])
                    if p.pid not in self.before:
                        rss += p.memory_info().rss
            self.backend_peak = max(self.backend_peak, rss)
            if self.done.wait(self.poll_seconds):
                return

    def stop(self) -> dict[str, Any]:
        self.done.set()
        self.thread.join()
        cpu = sum(t - self.before.get(pid, 0.0) for pid, t in self.last.items())
        return {"cpu_seconds": round(cpu, 2), "backend_peak_rss_bytes": self.backend_peak}


# ----------------------------------------------------------------------------- project


def pipeline_file(name: str) -> Path:
    return PROJECT / "pipelines" / f"{name}.yaml"


def write_project(url: str) -> None:
    """(Re)create the project: lakegate.yaml, the contract and the two pipelines."""
    shutil.rmtree(PROJECT, ignore_errors=True)
    for folder in ("pipelines", "contracts"):
        (PROJECT / folder).mkdir(parents=True)
    (PROJECT / "lakegate.yaml").write_text(PROJECT_YAML)
    (PROJECT / "contracts" / "lineitem.yaml").write_text(CONTRACT_YAML)
    for name, (target, strategy) in PIPELINES.items():
        keys = f"\n  merge_keys: [{', '.join(KEYS)}]" if strategy == "merge" else ""
        pipeline_file(name).write_text(
            PIPELINE_YAML.format(
                name=name, url=url, table=TABLE, target=target, strategy=strategy, keys=keys
            )
        )


def commands() -> dict[str, list[str]]:
    cmds = {
        name: [
            tool("lakegate"),
            "run",
            str(pipeline_file(name).relative_to(ROOT)),
            "--project",
            str(PROJECT.relative_to(ROOT)),
            "--format",
            "json",
        ]
        for name in PIPELINES
    }
    script = str(Path(__file__).resolve().relative_to(ROOT))
    cmds["raw_adbc"] = [sys.executable, script, "--raw-adbc"]
    cmds["raw_connectorx"] = [sys.executable, script, "--raw-connectorx"]
    return cmds


def have_connectorx() -> bool:
    return importlib.util.find_spec("connectorx") is not None


# ----------------------------------------------------------------------------- children
# Each runs in its own process (the raw reads are timed as whole processes, like
# `lakegate run`; the verification's DuckDB keeps the memory a query used).


def schema_of(table: Any) -> dict[str, str]:
    return {f.name: str(f.type) for f in table.schema}


def raw_adbc() -> dict[str, Any]:
    """Read the whole table into an Arrow table through ADBC, as lakegate's reader does
    (adbc_driver_postgresql, binary COPY), without lakegate."""
    import adbc_driver_postgresql.dbapi as pg

    started = time.perf_counter()
    with pg.connect(pg_url(pg_user())) as conn, conn.cursor() as cur:
        cur.execute(RAW_QUERY)
        table = cur.fetch_arrow_table()
    return {
        "rows": table.num_rows,
        "seconds_in_process": round(time.perf_counter() - started, 3),
        "arrow_bytes": table.nbytes,
        "schema": schema_of(table),
    }


def raw_connectorx() -> dict[str, Any]:
    """Read the whole table into an Arrow table with connectorx (one connection)."""
    import connectorx as cx

    started = time.perf_counter()
    table = cx.read_sql(pg_url(pg_user()), RAW_QUERY, return_type="arrow")
    return {
        "rows": table.num_rows,
        "seconds_in_process": round(time.perf_counter() - started, 3),
        "arrow_bytes": table.nbytes,
        "schema": schema_of(table),
    }


def verify(name: str) -> dict[str, Any]:
    """The Delta table of pipeline ``name``, read by DuckDB: rows, sum(l_quantity), keys,
    types, rows that differ from the Parquet file in any column, and the latest commit."""
    import duckdb
    from deltalake import DeltaTable

    table = DeltaTable(str(PROJECT / "lake" / PIPELINES[name][0]))
    files = table.file_uris()
    commit = table.history(limit=1)[0]
    con = duckdb.connect()
    con.read_parquet(files).create_view("target")
    con.read_parquet(str(CLEAN)).create_view("source")
    row = con.execute(
        "SELECT count(*), sum(l_quantity)::VARCHAR, "
        "count(DISTINCT (l_orderkey, l_linenumber)) FROM target"
    ).fetchone()
    assert row is not None
    rows, sum_quantity, keys = row
    types = {c: t for c, t, *_ in con.execute("DESCRIBE target").fetchall()}
    # Every column of every row against the Parquet file (full outer join on the key).
    diff = con.execute(
        """
        SELECT count_if(t.l_orderkey IS NULL), count_if(s.l_orderkey IS NULL),
            count_if(t.l_orderkey IS NOT NULL AND s.l_orderkey IS NOT NULL AND
                (t.l_partkey, t.l_suppkey, t.l_quantity, t.l_extendedprice, t.l_discount,
                 t.l_tax, t.l_returnflag, t.l_linestatus, t.l_shipdate, t.l_commitdate,
                 t.l_receiptdate, t.l_shipinstruct, t.l_shipmode, t.l_comment)
                IS DISTINCT FROM
                (s.l_partkey, s.l_suppkey, s.l_quantity, s.l_extendedprice, s.l_discount,
                 s.l_tax, s.l_returnflag, s.l_linestatus, s.l_shipdate, s.l_commitdate,
                 s.l_receiptdate, s.l_shipinstruct, s.l_shipmode, s.l_comment))
        FROM target t FULL JOIN source s USING (l_orderkey, l_linenumber)
        """
    ).fetchone()
    assert diff is not None
    metrics = commit.get("operationMetrics") or {}
    return {
        "table_version": table.version(),
        "files": len(files),
        "file_paths": [f.removeprefix("file://") for f in files],
        "rows": rows,
        "sum_quantity": sum_quantity,
        "distinct_keys": keys,
        "types": types,
        "source_rows_missing": diff[0],
        "rows_not_in_source": diff[1],
        "rows_differing_from_source": diff[2],
        "operation": commit.get("operation"),
        "operation_metrics": {
            k: metrics.get(k)
            for k in (
                "execution_time_ms",
                "num_added_files",
                "num_removed_files",
                "num_source_rows",
                "num_target_rows_updated",
                "num_target_rows_inserted",
                "num_target_rows_copied",
                "num_target_files_added",
                "num_target_files_removed",
            )
            if k in metrics
        },
    }


def child(*args: str) -> dict[str, Any]:
    import subprocess

    done = subprocess.run(
        [sys.executable, __file__, *args], cwd=ROOT, capture_output=True, text=True
    )
    if done.returncode != 0:
        sys.exit(f"{' '.join(args)} failed:\n{done.stderr}")
    result: dict[str, Any] = json.loads(done.stdout)
    return result


def expectations(name: str, state: dict[str, Any], source: dict[str, Any]) -> list[str]:
    """What must hold after a run of pipeline ``name``."""
    merged = PIPELINES[name][1] == "merge"
    want = {
        "rows": source["rows"],
        "sum_quantity": source["sum_quantity"],
        "distinct_keys": source["distinct_keys"],
        "source_rows_missing": 0,
        "rows_not_in_source": 0,
        "rows_differing_from_source": 0,
    }
    problems = [
        f"after {name}: {key} is {state[key]!r}, expected {value!r}"
        for key, value in want.items()
        if state[key] != value
    ]
    if state["operation"] not in (("MERGE", "WRITE") if merged else ("WRITE",)):
        problems.append(f"after {name}: the last commit is a {state['operation']}")
    if merged and state["operation"] == "MERGE":
        m = state["operation_metrics"]
        if (m.get("num_target_rows_updated"), m.get("num_target_rows_inserted")) != (SF1_ROWS, 0):
            problems.append(f"after {name}: the merge updated/inserted {m}")
    return problems


# ----------------------------------------------------------------------------- measuring


def measured(
    cmd: list[str], user: str, postmaster: int, warm: list[Path], settle: float
) -> tuple[Run, dict[str, Any], float]:
    """One timed run of ``cmd``: the process's figures, the PostgreSQL server's during it,
    and the seconds waited for a quiet machine before it."""
    waited = wait_quiet(settle) if settle > 0 else 0.0
    prewarm(user)
    read_files(warm)
    watch = ServerWatch(postmaster)
    watch.start()
    run = run_measured(cmd)
    return run, watch.stop(), waited


def describe(
    runs: list[Run],
    servers: list[dict[str, Any]],
    records: list[dict[str, Any]] | None = None,
) -> dict[str, Any]:
    """Timing figures of the runs of one command; for `lakegate run`, its run records'
    steps and the median run's shares of wall time."""
    figures = summary(runs)
    nproc = len(psutil.Process().cpu_affinity() or [0]) or 1
    figures.update(
        {
            "rows": SF1_ROWS,
            "rows_per_second_best": round(SF1_ROWS / figures["best_seconds"]),
            "rows_per_second_median": round(SF1_ROWS / figures["median_seconds"]),
            "cpu_seconds": [round(r.cpu_seconds, 2) for r in runs],
            "cpus_used": [round(r.cpu_seconds / r.seconds, 2) for r in runs],
            # The PostgreSQL server's processes (polled), its share of all CPUs.
            "server_cpu_seconds": [s["cpu_seconds"] for s in servers],
            "server_backend_peak_rss_bytes": max(s["backend_peak_rss_bytes"] for s in servers),
            # CPU time of every other process (the server's included), share of all CPUs.
            "other_cpu_share": [round(r.other_cpu_seconds / (r.seconds * nproc), 3) for r in runs],
            # The same without the server's: what other jobs on the machine used.
            "foreign_cpu_share": [
                round(max(0.0, r.other_cpu_seconds - s["cpu_seconds"]) / (r.seconds * nproc), 3)
                for r, s in zip(runs, servers, strict=True)
            ],
            "load_average_at_start": [round(r.load_average_at_start, 2) for r in runs],
        }
    )
    if records is None:
        return figures
    middle = sorted(range(len(runs)), key=lambda i: runs[i].seconds)[(len(runs) - 1) // 2]
    wall = runs[middle].seconds
    figures.update(
        {
            "duration_seconds": [r["duration_seconds"] for r in records],
            "step_seconds": [r["step_seconds"] for r in records],
            "median_run": {
                "seconds": round(wall, 4),
                "step_seconds": records[middle]["step_seconds"],
                "share_of_wall": step_shares(wall, records[middle]["step_seconds"]),
            },
        }
    )
    return figures


def ratio(a: dict[str, Any], b: dict[str, Any]) -> dict[str, Any]:
    best = round(a["best_seconds"] / b["best_seconds"], 3)
    median = round(a["median_seconds"] / b["median_seconds"], 3)
    return {
        "best": best,
        "median": median,
        "peak_rss": round(a["peak_rss_bytes"] / b["peak_rss_bytes"], 2),
        "target": TARGET_RATIO,
        "met": median <= TARGET_RATIO,
    }


# ----------------------------------------------------------------------------- report


def print_report(results: dict[str, Any]) -> None:
    m, src, t = results["machine"], results["source"], results["timing"]
    print()
    print(
        f"machine: {m['nproc']} CPUs ({m['cpu']}), {m['memory_bytes'] / 1024**3:.1f} GiB RAM, "
        f"Python {m['python']}, DuckDB {m['duckdb']}, deltalake {m['deltalake']}, "
        f"pyarrow {m['pyarrow']}, adbc-driver-postgresql {m['adbc_driver_postgresql']}, "
        f"connectorx {m['connectorx']}, lakegate {m['lakegate']} ({m['lakegate_commit']})"
    )
    print(
        f"source: PostgreSQL {src['server_version']} at {PG_HOST}:{PG_PORT}, "
        f"{DATABASE}.{TABLE}: {src['rows']:,} rows, {src['table_bytes'] / 1e6:,.0f} MB heap "
        f"({src['table_with_index_bytes'] / 1e6:,.0f} MB with the key index), "
        + ("reused" if src["reused"] else f"loaded in {sum(src['load']['seconds'].values()):.0f} s")
    )
    print()
    print(
        f"{'whole process':34} {'best':>7} {'median':>7} {'rows/s':>10} {'peak RSS':>10} "
        f"{'CPUs':>5} {'PG CPU':>7} {'other':>6}"
    )
    for key, label in LABELS.items():
        if key not in t:
            print(f"{label:34} skipped: {results['skipped'].get(key, '')}")
            continue
        s = t[key]
        print(
            f"{label:34} {s['best_seconds']:>6.2f}s {s['median_seconds']:>6.2f}s "
            f"{s['rows_per_second_median']:>10,} {mib(s['peak_rss_bytes']):>10} "
            f"{statistics.median(s['cpus_used']):>5.2f} "
            f"{statistics.median(s['server_cpu_seconds']):>6.1f}s "
            f"{max(s['foreign_cpu_share']):>6.0%}"
        )
    print(
        "(rows/s of the median; CPUs: the process's CPU time / wall, median; PG CPU: the "
        "server's processes' CPU time during the run, median; other: the most CPU other jobs "
        "used during a run, share of all CPUs, the server excluded)"
    )
    print()
    print("share of wall time per step, median run (`lakegate run` step_seconds):")
    cols = (*STEPS, "outside steps")
    heads = ("extract", "transform", "gate", "dead-letter", "load", "post-load", "outside")
    print(f"  {'':34}" + "".join(f"{h:>12}" for h in heads))
    for key in PIPELINES:
        run = t[key]["median_run"]
        print(f"  {LABELS[key]:34}" + "".join(f"{run['share_of_wall'][c]:>12.0%}" for c in cols))
        steps = ", ".join(f"{k} {v:.2f}s" for k, v in run["step_seconds"].items())
        print(f"  {'':34}  {steps}; wall {run['seconds']:.2f}s")
    print()
    print(f"lakegate / raw read (target <= {TARGET_RATIO}x, on the median):")
    for key, r in results["ratios"].items():
        verdict = "met" if r["met"] else "MISSED"
        print(
            f"  {key:36} best {r['best']:.2f}x, median {r['median']:.2f}x, "
            f"peak RSS {r['peak_rss']:.1f}x  {verdict}"
        )
    print()
    problems = results["correctness"]["problems"]
    print(
        f"correctness: {results['correctness']['verified_runs']} tables verified "
        f"({SF1_ROWS:,} rows, sum(l_quantity) {src['sum_quantity']}, every column equal to "
        "the Parquet file's): " + ("all hold" if not problems else f"{len(problems)} PROBLEMS")
    )
    print(f"figures: {RESULTS.relative_to(ROOT)}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=3, help="timed runs per command (default 3)")
    parser.add_argument(
        "--settle",
        type=float,
        default=0,
        help="before each timed run, wait up to this many seconds for other processes to "
        "leave the CPUs idle (default 0: do not wait)",
    )
    parser.add_argument(
        "--strict", action="store_true", help="exit 2 when the overwrite misses its target"
    )
    parser.add_argument("--setup", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--raw-adbc", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--raw-connectorx", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--verify", choices=PIPELINES, help=argparse.SUPPRESS)
    args = parser.parse_args()

    if args.setup:  # the child processes started below
        print(json.dumps(setup()))
        return 0
    if args.raw_adbc:
        print(json.dumps(raw_adbc()))
        return 0
    if args.raw_connectorx:
        print(json.dumps(raw_connectorx()))
        return 0
    if args.verify:
        print(json.dumps(verify(args.verify)))
        return 0

    started = time.perf_counter()
    OUT.mkdir(parents=True, exist_ok=True)
    generated = generate()
    print(f"PostgreSQL: {DATABASE}.{TABLE} (loaded unless it already holds SF1)", flush=True)
    source = child("--setup")
    print("  reused" if source["reused"] else f"  loaded: {source['load']['seconds']}", flush=True)
    user = source["user"]
    write_project(source["url"])
    cmds = commands()
    skipped: dict[str, str] = {}
    if not have_connectorx():
        skipped["raw_connectorx"] = "connectorx is not installed in this virtualenv"
        del cmds["raw_connectorx"]
    from importlib.metadata import version

    results: dict[str, Any] = {
        "date": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "machine": machine()
        | {
            "adbc_driver_postgresql": version("adbc-driver-postgresql"),
            "connectorx": version("connectorx") if have_connectorx() else None,
        },
        "commands": {k: " ".join(c) for k, c in cmds.items()},
        "source": source | {"file": str(CLEAN.relative_to(ROOT)), "generation": generated},
        "project": str(PROJECT.relative_to(ROOT)),
        "settle_seconds": args.settle,
        "skipped": skipped,
    }
    results["machine"]["bench_process_rss_bytes"] = psutil.Process().memory_info().rss
    code_at_start = src_state()
    postmaster = postmaster_pid(user)
    code = code_files()
    problems: list[str] = []
    verified = 0
    table_files: dict[str, list[Path]] = {name: [] for name in PIPELINES}
    runs: dict[str, list[Run]] = {}
    servers: dict[str, list[dict[str, Any]]] = {}
    records: dict[str, list[dict[str, Any]]] = {}
    raw: dict[str, list[dict[str, Any]]] = {}
    states: dict[str, list[dict[str, Any]]] = {}
    warmups: dict[str, dict[str, Any]] = {}
    waits: list[float] = []

    def one(key: str, timed: bool) -> None:
        nonlocal verified
        print(f"  {LABELS[key]}", flush=True)
        warm = code + table_files.get(key, [])
        run, server, waited = measured(
            cmds[key], user, postmaster, warm, args.settle if timed else 0
        )
        checked(run, key, (0,))
        out = json.loads(run.stdout)
        if key in PIPELINES:
            if out["status"] != "success" or out["rows_loaded"] != SF1_ROWS:
                sys.exit(
                    f"{key}: {out['status']}, {out['rows_loaded']} rows: {out['error_message']}"
                )
            (OUT / f"extract_{key}.json").write_text(run.stdout)
            state = child("--verify", key)
            table_files[key] = [Path(p) for p in state.pop("file_paths")]
            problems.extend(expectations(key, state, source))
            verified += 1
        elif out["rows"] != SF1_ROWS:
            problems.append(f"{key} read {out['rows']} rows")
        if not timed:
            warmups[key] = {
                "seconds": round(run.seconds, 3),
                "peak_rss_bytes": run.peak,
                "server": server,
            } | ({"operation": state["operation"]} if key in PIPELINES else {})
            return
        runs.setdefault(key, []).append(run)
        servers.setdefault(key, []).append(server)
        waits.append(round(waited, 1))
        if key in PIPELINES:
            records.setdefault(key, []).append(out)
            states.setdefault(key, []).append(state)
        else:
            raw.setdefault(key, []).append(out)

    print("warm-up: one untimed run each (the merge's creates its table)", flush=True)
    for key in cmds:
        one(key, timed=False)
    for i in range(args.runs):
        print(f"round {i + 1}/{args.runs}", flush=True)
        for key in cmds:
            one(key, timed=True)

    timing = {key: describe(runs[key], servers[key], records.get(key)) for key in runs}
    for key, outs in raw.items():
        timing[key]["in_process_seconds"] = [o["seconds_in_process"] for o in outs]
        timing[key]["arrow_bytes"] = outs[-1]["arrow_bytes"]
        timing[key]["schema"] = outs[-1]["schema"]
    for key, st in states.items():
        timing[key]["delta_commit_ms"] = [
            s["operation_metrics"].get("execution_time_ms") for s in st
        ]
        timing[key]["table_after_last_run"] = st[-1]
    results["timing"] = timing
    results["warmups"] = warmups
    results["ratios"] = {
        f"{a} / {b}": ratio(timing[a], timing[b])
        for a in PIPELINES
        for b in ("raw_adbc", "raw_connectorx")
        if b in timing
    }
    results["waited_for_quiet_seconds"] = waits
    code_at_end = src_state()
    results["machine"]["src_at_start"] = code_at_start
    results["machine"]["src_at_end"] = code_at_end
    if code_at_end != code_at_start:
        problems.append(
            f"src/ changed during the benchmark ({code_at_start} -> {code_at_end}): "
            "the figures mix two versions of lakegate; run it again"
        )
    results["correctness"] = {"verified_runs": verified, "problems": problems}
    results["script_seconds"] = round(time.perf_counter() - started, 1)
    RESULTS.write_text(json.dumps(results, indent=2) + "\n")
    print_report(results)
    print(f"took {results['script_seconds']:.0f} s")
    for problem in problems:
        print("PROBLEM:", problem, file=sys.stderr)
    if problems:
        return 1
    if args.strict and not results["ratios"]["lineitem_pg / raw_adbc"]["met"]:
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
