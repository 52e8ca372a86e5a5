"""Benchmark `lakegate run`: a file -> Delta merge pipeline over TPC-H lineitem SF1 (`make bench`).

1. Generates TPC-H lineitem at scale factor 1 (6,001,215 rows) with tpchgen-cli
   into bench/data/lineitem.parquet, unless the file is already there.
2. Builds a lakegate project in bench/out/run_project (recreated each run): a
   contract (not_null keys, ranges), and pipelines that read a Parquet file
   (extract strategy full), add ``ship_month`` in a SQL stage, gate the batch
   and load the Delta table ``lineitem`` partitioned by ship_month:
     initial.yaml       the 6M rows, load strategy merge on (l_orderkey, l_linenumber)
     merge_<case>.yaml  a 1% change batch (60,012 rows: new l_quantity and
                        l_extendedprice on existing keys), same target, merge
     rewrite.yaml       the 6M rows again, load strategy overwrite: the baseline
   Change batches: ``realistic`` (90% of the rows shipped in the latest months,
   10% spread over the older ones), ``spread`` (uniform over all months) and
   ``recent`` (all in the latest months; not asked for, it shows what partition
   pruning alone gives).
3. Times whole `lakegate run --format json` processes (wall time, peak RSS of the
   process tree, CPU time of other processes meanwhile), after one untimed
   initial load: --runs initial loads into an empty lake, then --runs rounds of,
   per case, a merge then a full rewrite (so every merge starts from a table as
   an overwrite lays it out). The input, the table's files and the code are read
   before each run, so every run starts with a warm page cache.
4. Verifies the table after every run in a separate process (DuckDB over the
   Delta table's file_uris(), never deltalake's to_pyarrow_* readers: delta-rs
   issue 2184): 6,001,215 rows, one per key, ship_month consistent, exactly the
   batch's rows differ from the source file and carry the batch's values (none
   after a rewrite); and reads the commit's operationMetrics (files and rows
   rewritten by the merge).
5. Runs the initial load and a rewrite once more in process, through lakegate's
   run_pipeline with a progress callback, sampling RSS every 10 ms: the peak
   memory of each step (--no-profile skips it).
6. Prints a table and writes every figure to bench/out/run_results.json.

Exits 1 when a run fails or a verification does not hold; with --strict, 2 when
the realistic merge costs more than TARGET_MERGE_RATIO of the full rewrite.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import shutil
import statistics
import subprocess
import sys
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
    git_describe,
    machine,
    mib,
    run_measured,
    summary,
    tool,
    wait_quiet,
)

PROJECT = OUT / "run_project"
BARE = OUT / "run_bare" / "lineitem"  # the reference's table
TABLE = "lineitem"
KEYS = ("l_orderkey", "l_linenumber")
CHANGE_ROWS = round(SF1_ROWS / 100)  # 1%: 60,012
RECENT_SHARE = 0.9  # realistic batch: this share of the rows in the latest months
RECENT_FROM = "1998-08-01"  # the latest months: 1998-08 to 1998-12, 157,753 rows
# "the merge must cost a small fraction of" the full rewrite: our reading of "small".
TARGET_MERGE_RATIO = 0.25

# name -> (description, rows in the latest months, rows in the older months)
RECENT_ROWS = round(CHANGE_ROWS * RECENT_SHARE)
CASES: dict[str, tuple[str, int, int]] = {
    "realistic": (
        f"{RECENT_SHARE:.0%} in the latest months, the rest spread",
        RECENT_ROWS,
        CHANGE_ROWS - RECENT_ROWS,
    ),
    "spread": ("uniform over all months", 0, 0),  # sampled from the whole table
    "recent": ("all in the latest months (extra)", CHANGE_ROWS, 0),
}
STEPS = ("extract", "transform", "gate", "dead-letter", "load", "post_load_gate")

PROJECT_YAML = """\
name: lineitem_bench
lake: ./lake
state: sqlite:///.lakegate/state.db
lineage: {transport: none}
metrics: {textfile: null}
"""

CONTRACT_YAML = """\
# The pre-load gate of the run benchmark: keys present, a few ranges.
contract: {name: tpch_lineitem, version: "1.0.0", owner: bench@example.com}
schema:
  type: object
  required: [l_orderkey, l_linenumber]
  properties:
    l_orderkey:   {type: integer}
    l_linenumber: {type: integer, minimum: 1, maximum: 7}
    l_quantity:   {type: decimal, precision: 15, scale: 2, minimum: 1, maximum: 50}
    l_discount:   {type: decimal, precision: 15, scale: 2, minimum: 0, maximum: 0.10}
"""

PIPELINE_YAML = """\
pipeline: {{name: {name}, owner: bench@example.com}}
extract:
  source: {{type: file, path: {path}}}   # relative to the project folder
  strategy: full
transform:
  stages:
    - {{name: monthly, sql: "SELECT *, strftime(l_shipdate, '%Y-%m') AS ship_month FROM extract"}}
load:
  target: {table}
  strategy: {strategy}
  merge_keys: [{keys}]
  partition_by: [ship_month]
contract: contracts/lineitem.yaml
quality_gates:
  pre_load: contract
  post_load: [{{type: row_count, min: {min_rows}}}]
"""

# ----------------------------------------------------------------------------- project


def changes_file(case: str) -> Path:
    return PROJECT / "data" / f"changes_{case}.parquet"


def pipeline_file(name: str) -> Path:
    return PROJECT / "pipelines" / f"{name}.yaml"


def write_project() -> None:
    """(Re)create the project: lakegate.yaml, the contract and the pipelines."""
    shutil.rmtree(PROJECT, ignore_errors=True)
    for folder in ("pipelines", "contracts", "data"):
        (PROJECT / folder).mkdir(parents=True)
    (PROJECT / "lakegate.yaml").write_text(PROJECT_YAML)
    (PROJECT / "contracts" / "lineitem.yaml").write_text(CONTRACT_YAML)
    source = Path("..", "..", CLEAN.relative_to(OUT.parent)).as_posix()  # ../../data/...
    pipelines = {
        "initial": (source, "merge"),
        "rewrite": (source, "overwrite"),
        **{f"merge_{c}": (f"data/{changes_file(c).name}", "merge") for c in CASES},
    }
    for name, (path, strategy) in pipelines.items():
        pipeline_file(name).write_text(
            PIPELINE_YAML.format(
                name=name,
                path=path,
                table=TABLE,
                strategy=strategy,
                keys=", ".join(KEYS),
                min_rows=SF1_ROWS,
            )
        )


def reset_lake() -> None:
    """An empty lake and state store (before an initial load)."""
    for folder in ("lake", ".lakegate"):
        shutil.rmtree(PROJECT / folder, ignore_errors=True)


def run_cmd(name: str) -> list[str]:
    return [
        tool("lakegate"),
        "run",
        str(pipeline_file(name).relative_to(ROOT)),
        "--project",
        str(PROJECT.relative_to(ROOT)),
        "--format",
        "json",
    ]


# ----------------------------------------------------------------------------- children
# Both run in their own process: DuckDB keeps the memory a query used, and on Linux a
# child's ru_maxrss starts at its parent's RSS, so this process stays small.


def make_changes() -> dict[str, Any]:
    """Write the change batches; returns their rows and the monthly partitions they touch."""
    import duckdb

    con = duckdb.connect()
    con.read_parquet(str(CLEAN)).create_view("lineitem")
    # The change batches read this view; every statement below is a constant.
    con.execute(
        """
        CREATE VIEW changed AS SELECT * REPLACE (
            CAST(l_quantity % 50 + 1 AS DECIMAL(15, 2)) AS l_quantity,
            CAST(round(l_extendedprice / l_quantity * (l_quantity % 50 + 1), 2)
                 AS DECIMAL(15, 2)) AS l_extendedprice)
        FROM lineitem
        """
    ).fetchall()
    split = """
        (SELECT * FROM changed WHERE l_shipdate >= CAST(? AS DATE)
         ORDER BY hash(l_orderkey, l_linenumber, ?) LIMIT ?)
        UNION ALL
        (SELECT * FROM changed WHERE l_shipdate < CAST(? AS DATE)
         ORDER BY hash(l_orderkey, l_linenumber, ?) LIMIT ?)
    """
    anywhere = "SELECT * FROM changed ORDER BY hash(l_orderkey, l_linenumber, ?) LIMIT ?"
    figures: dict[str, Any] = {}
    for seed, (case, (_, n_recent, n_older)) in enumerate(CASES.items()):
        if case == "spread":
            query, params = anywhere, [seed, CHANGE_ROWS]
        else:
            query = split
            params = [RECENT_FROM, seed, n_recent, RECENT_FROM, seed + 100, n_older]
        path = changes_file(case)
        con.sql(query, params=params).write_parquet(str(path), compression="snappy")
        con.read_parquet(str(path)).create_view("batch")
        rows, keys, months, in_recent = con.execute(
            "SELECT count(*), count(DISTINCT (l_orderkey, l_linenumber)), "
            "count(DISTINCT strftime(l_shipdate, '%Y-%m')), "
            "count_if(l_shipdate >= CAST(? AS DATE)) FROM batch",
            [RECENT_FROM],
        ).fetchall()[0]
        figures[case] = {
            "file": str(path.relative_to(ROOT)),
            "rows": rows,
            "distinct_keys": keys,
            "partitions_touched": months,
            "rows_in_latest_months": in_recent,
        }
    months_total, recent_rows = con.execute(
        "SELECT count(DISTINCT strftime(l_shipdate, '%Y-%m')), "
        "count_if(l_shipdate >= CAST(? AS DATE)) FROM lineitem",
        [RECENT_FROM],
    ).fetchall()[0]
    figures["table"] = {"partitions": months_total, "rows_in_latest_months": recent_rows}
    if any(
        not (f["rows"] == f["distinct_keys"] == CHANGE_ROWS)
        for c, f in figures.items()
        if c in CASES
    ):
        sys.exit(f"change batches are not {CHANGE_ROWS} distinct keys: {figures}")
    # The schema must be the source's, so the merge sees the same columns and types.
    if con.execute("DESCRIBE batch").fetchall() != con.execute("DESCRIBE lineitem").fetchall():
        sys.exit("a change batch's schema differs from lineitem's")
    return figures


def verify(case: str) -> dict[str, Any]:
    """The table's state: rows, keys, partitions, rows that differ from the source file,
    rows that carry the values of ``case``'s change batch, and the latest commit's metrics."""
    import duckdb
    from deltalake import DeltaTable

    table = DeltaTable(str(PROJECT / "lake" / TABLE))
    files = table.file_uris()
    commit = table.history(limit=1)[0]
    con = duckdb.connect()
    con.read_parquet(files, hive_partitioning=True).create_view("target")
    con.read_parquet(str(CLEAN)).create_view("source")
    con.read_parquet(str(changes_file(case))).create_view("changes")
    row = con.execute(
        """
        SELECT
            (SELECT count(*) FROM target),
            (SELECT count(DISTINCT (l_orderkey, l_linenumber)) FROM target),
            (SELECT count_if(CAST(ship_month AS VARCHAR) <> strftime(l_shipdate, '%Y-%m'))
               FROM target),
            count(*),
            count_if(t.l_quantity IS DISTINCT FROM s.l_quantity
                     OR t.l_extendedprice IS DISTINCT FROM s.l_extendedprice),
            coalesce(count_if(t.l_quantity = c.l_quantity
                              AND t.l_extendedprice = c.l_extendedprice), 0),
            count_if(
                (t.l_partkey, t.l_suppkey, t.l_discount, t.l_tax, t.l_returnflag,
                 t.l_linestatus, t.l_shipdate, t.l_commitdate, t.l_receiptdate,
                 t.l_shipinstruct, t.l_shipmode, t.l_comment)
                IS DISTINCT FROM
                (s.l_partkey, s.l_suppkey, s.l_discount, s.l_tax, s.l_returnflag,
                 s.l_linestatus, s.l_shipdate, s.l_commitdate, s.l_receiptdate,
                 s.l_shipinstruct, s.l_shipmode, s.l_comment))
        FROM target t
        JOIN source s USING (l_orderkey, l_linenumber)
        LEFT JOIN changes c USING (l_orderkey, l_linenumber)
        """
    ).fetchall()[0]
    assert row is not None
    rows, keys, misplaced, joined, differing, carrying, other_columns = row
    return {
        "table_version": table.version(),
        "files": len(files),
        "file_paths": [f.removeprefix("file://") for f in files],
        "rows": rows,
        "distinct_keys": keys,
        "rows_in_wrong_partition": misplaced,
        "rows_matching_source_keys": joined,
        "rows_differing_from_source": differing,
        "rows_carrying_batch_values": carrying,
        "rows_with_other_columns_changed": other_columns,
        "operation": commit.get("operation"),
        "operation_parameters": {
            k: v for k, v in (commit.get("operationParameters") or {}).items() if k != "predicate"
        },
        "operation_metrics": commit.get("operationMetrics") or {},
    }


def profile(name: str) -> dict[str, Any]:
    """Run pipeline ``name`` in this process through lakegate's API, sampling RSS every
    10 ms: each step's seconds and peak RSS (the steps as the runner reports them)."""
    import threading
    import time

    from lakegate.config.pipeline import load_pipeline
    from lakegate.config.project import load_project
    from lakegate.runner import run_pipeline

    me = psutil.Process()
    steps: list[dict[str, Any]] = []
    current = {"peak": 0}
    done = threading.Event()

    def sample() -> None:
        while not done.is_set():
            current["peak"] = max(current["peak"], me.memory_info().rss)
            done.wait(0.01)

    def progress(step: str) -> None:
        now = time.perf_counter()
        if steps:
            steps[-1]["seconds"] = round(now - steps[-1]["seconds"], 3)
            steps[-1]["peak_rss_bytes"] = max(current["peak"], me.memory_info().rss)
        current["peak"] = me.memory_info().rss
        steps.append({"step": step, "seconds": now, "rss_at_start_bytes": current["peak"]})

    project = load_project(PROJECT)
    pipeline = load_pipeline(pipeline_file(name))
    before = me.memory_info().rss
    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    started = time.perf_counter()
    result = run_pipeline(project, pipeline, progress=progress)
    ended = time.perf_counter()
    done.set()
    sampler.join()
    steps[-1]["seconds"] = round(ended - steps[-1]["seconds"], 3)
    steps[-1]["peak_rss_bytes"] = max(current["peak"], me.memory_info().rss)
    if not result.ok:
        sys.exit(f"{name}: {result.record.error_message}")
    return {
        "rss_after_imports_bytes": before,
        "seconds": round(ended - started, 3),
        "steps": steps,
        "peak_rss_bytes": max(s["peak_rss_bytes"] for s in steps),
    }


def bare_write() -> dict[str, Any]:
    """The reference: the same rows and partitioning written by hand, streamed from DuckDB
    into delta-rs (no contract, no gate, no staging), into a table of its own."""
    import duckdb
    from deltalake import DeltaTable, write_deltalake

    shutil.rmtree(BARE, ignore_errors=True)
    con = duckdb.connect()
    reader = con.sql(
        "SELECT *, strftime(l_shipdate, '%Y-%m') AS ship_month FROM read_parquet(?)",
        params=[str(CLEAN)],
    ).to_arrow_reader(122_880)
    write_deltalake(str(BARE), reader, partition_by=["ship_month"])
    table = DeltaTable(str(BARE))
    rows = sum(table.get_add_actions(flatten=True).column("num_records").to_pylist())
    return {"rows": rows, "files": len(table.file_uris())}


def src_state() -> str:
    """The code measured: the commit, and a digest of src/'s uncommitted changes if any."""
    import hashlib

    def git(*args: str) -> str:
        return subprocess.run(
            ["git", *args], cwd=ROOT, capture_output=True, text=True, check=False
        ).stdout

    changes = git("status", "--porcelain", "--untracked-files=all", "--", "src")
    if not changes:
        return git_describe() or "unknown"
    digest = hashlib.sha1((changes + git("diff", "HEAD", "--", "src")).encode()).hexdigest()
    return f"{git_describe()} (uncommitted src changes {digest[:10]})"


def child(*args: str) -> dict[str, Any]:
    done = subprocess.run(
        [sys.executable, __file__, *args], cwd=ROOT, capture_output=True, text=True
    )
    if done.returncode != 0:
        sys.exit(f"{' '.join(args)} failed:\n{done.stderr}")
    result: dict[str, Any] = json.loads(done.stdout)
    return result


def expectations(after: str, batch: str, state: dict[str, Any]) -> list[str]:
    """What must hold after the run of pipeline ``after`` (compared with ``batch``'s
    change batch: a merge of it applies it, an initial load or a rewrite does not)."""
    merged = after.startswith("merge_")
    want = {
        "rows": SF1_ROWS,
        "distinct_keys": SF1_ROWS,
        "rows_in_wrong_partition": 0,
        "rows_matching_source_keys": SF1_ROWS,
        "rows_differing_from_source": CHANGE_ROWS if merged else 0,
        "rows_carrying_batch_values": CHANGE_ROWS if merged else 0,
        "rows_with_other_columns_changed": 0,
        "operation": "MERGE" if merged else "WRITE",
    }
    problems = [
        f"after {after} ({batch} batch): {key} is {state[key]!r}, expected {value!r}"
        for key, value in want.items()
        if state[key] != value
    ]
    if merged:
        metrics = state["operation_metrics"]
        for key, value in (
            ("num_target_rows_updated", CHANGE_ROWS),
            ("num_target_rows_inserted", 0),
        ):
            if metrics.get(key) != value:
                problems.append(f"after {after}: merge {key} {metrics.get(key)}, expected {value}")
    return problems


# ----------------------------------------------------------------------------- measuring


def read_files(paths: list[Path]) -> None:
    """Read ``paths`` whole, so the page cache holds them."""
    for path in paths:
        try:
            with path.open("rb") as fh:
                while fh.read(1 << 22):
                    pass
        except OSError:
            pass


def code_files() -> list[Path]:
    """The files a `lakegate run` process loads: the virtualenv's packages and lakegate's."""
    import sysconfig

    roots = [Path(sysconfig.get_paths()["purelib"]), ROOT / "src" / "lakegate"]
    return [p for root in roots for p in root.rglob("*") if p.is_file()]


def measured(name: str, settle: float, warm: list[Path]) -> tuple[Run, dict[str, Any], float]:
    """One timed `lakegate run` of pipeline ``name``; its run record, and the seconds waited
    for a quiet machine before it.

    ``warm`` is read first: this VM's memory reclaim (DAMON) drops page-cache pages
    left idle for about a minute, and the runs must all start with a warm cache.
    """
    waited = wait_quiet(settle) if settle > 0 else 0.0
    read_files(warm)
    run = run_measured(run_cmd(name))
    if run.returncode != 0:
        sys.exit(f"lakegate run {name} exited {run.returncode}:\n{run.stdout}\n{run.stderr}")
    record = json.loads(run.stdout)
    if record["status"] != "success":
        sys.exit(f"lakegate run {name}: {record['status']}: {record['error_message']}")
    (OUT / f"run_{name}.json").write_text(run.stdout)
    return run, record, waited


def step_shares(wall: float, steps: dict[str, float]) -> dict[str, float]:
    """Each step's share of the process's wall time, and the rest (start-up, config, exit)."""
    shares = {s: round(steps.get(s, 0.0) / wall, 4) for s in STEPS}
    shares["outside steps"] = round(1 - sum(shares.values()), 4)
    return shares


def describe(
    rows: int,
    runs: list[Run],
    records: list[dict[str, Any]] | None = None,
    states: list[dict[str, Any]] | None = None,
) -> dict[str, Any]:
    """Timing figures of the runs of one command; for `lakegate run`, also the steps of each
    run (``records``), the Delta commit's time (``states``) and the median run's breakdown."""
    figures = summary(runs)
    nproc = len(psutil.Process().cpu_affinity() or [0]) or 1
    figures.update(
        {
            "rows": rows,
            "rows_per_second_best": round(rows / figures["best_seconds"]),
            "rows_per_second_median": round(rows / figures["median_seconds"]),
            "cpu_seconds": [round(r.cpu_seconds, 2) for r in runs],
            # CPUs busy on average: the process's CPU time over its wall time.
            "cpus_used": [round(r.cpu_seconds / r.seconds, 2) for r in runs],
            # CPU time of other processes, as a share of the machine's CPUs over the run.
            "other_cpu_share": [round(r.other_cpu_seconds / (r.seconds * nproc), 3) for r in runs],
            "load_average_at_start": [round(r.load_average_at_start, 2) for r in runs],
        }
    )
    if records is None or states is None:
        return figures
    middle = sorted(range(len(runs)), key=lambda i: runs[i].seconds)[(len(runs) - 1) // 2]
    wall = runs[middle].seconds
    commit_ms = [s["operation_metrics"].get("execution_time_ms") for s in states]
    figures.update(
        {
            "duration_seconds": [r["duration_seconds"] for r in records],
            "step_seconds": [r["step_seconds"] for r in records],
            # The Delta commit's own execution_time_ms (inside the load step).
            "delta_commit_ms": commit_ms,
            "median_run": {
                "seconds": round(wall, 4),
                "step_seconds": records[middle]["step_seconds"],
                "share_of_wall": step_shares(wall, records[middle]["step_seconds"]),
                "delta_commit_ms": commit_ms[middle],
            },
        }
    )
    return figures


def merge_metrics(states: list[dict[str, Any]]) -> dict[str, Any]:
    """The Delta MERGE commit's operationMetrics (the same every run; timings as medians)."""
    metrics = [s["operation_metrics"] for s in states]
    first = metrics[0]
    out = {
        k: first.get(k)
        for k in (
            "num_source_rows",
            "num_target_rows_updated",
            "num_target_rows_inserted",
            "num_target_rows_copied",
            "num_output_rows",
            "num_target_files_added",
            "num_target_files_removed",
            "num_target_files_scanned",
            "num_target_files_skipped_during_scan",
        )
    }
    for k in ("execution_time_ms", "scan_time_ms", "rewrite_time_ms"):
        out[f"{k}_median"] = statistics.median(m.get(k, 0) for m in metrics)
    out["varied_between_runs"] = [
        k for k in out if not k.endswith("_median") and len({m.get(k) for m in metrics}) > 1
    ]
    return out


# ----------------------------------------------------------------------------- report


LABELS = {
    "initial": "1 initial load (merge, empty table)",
    "merge_realistic": "2 merge 1%, realistic",
    "merge_spread": "3 merge 1%, spread",
    "merge_recent": "  merge 1%, recent only (extra)",
    "rewrite": "4 full rewrite (overwrite)",
}


def print_report(results: dict[str, Any]) -> None:
    m = results["machine"]
    d = results["data"]
    t = results["timing"]
    files = results["table_after_initial_load"]["files"]
    print()
    print(
        f"machine: {m['nproc']} CPUs ({m['cpu']}), {m['memory_bytes'] / 1024**3:.1f} GiB RAM, "
        f"Python {m['python']}, DuckDB {m['duckdb']}, deltalake {m['deltalake']}, "
        f"lakegate {m['lakegate']} ({m['lakegate_commit']})"
    )
    print(
        f"data: {SF1_ROWS:,} rows, {d['file_bytes'] / 1e6:,.0f} MB Parquet -> Delta table "
        f"partitioned by ship_month ({d['changes']['table']['partitions']} partitions, "
        f"{files} files); change batches {CHANGE_ROWS:,} rows"
    )
    print()
    print(
        f"{'whole `lakegate run` process':36} {'best':>7} {'median':>7} {'rows/s':>10} "
        f"{'peak RSS':>10} {'CPUs':>5} {'other':>6}"
    )
    for key, label in LABELS.items():
        s = t[key]
        print(
            f"{label:36} {s['best_seconds']:>6.2f}s {s['median_seconds']:>6.2f}s "
            f"{s['rows_per_second_median']:>10,} {mib(s['peak_rss_bytes']):>10} "
            f"{statistics.median(s['cpus_used']):>5.2f} {max(s['other_cpu_share']):>6.0%}"
        )
    b = t["bare"]
    print(
        f"{'reference: DuckDB -> write_deltalake':36} {b['best_seconds']:>6.2f}s "
        f"{b['median_seconds']:>6.2f}s {b['rows_per_second_median']:>10,} "
        f"{mib(b['peak_rss_bytes']):>10} {statistics.median(b['cpus_used']):>5.2f} "
        f"{max(b['other_cpu_share']):>6.0%}"
    )
    print(
        "(rows/s of the median; CPUs: the run's CPU time / wall, median; other: the most CPU"
        " other processes used during a run, share of all CPUs)"
    )
    print()
    print("share of wall time per step, median run (`lakegate run` step_seconds):")
    cols = (*STEPS, "outside steps")
    heads = ("extract", "transform", "gate", "dead-letter", "load", "post-load", "outside")
    print(f"  {'':31}" + "".join(f"{h:>12}" for h in heads) + "  Delta commit in load")
    for key, label in LABELS.items():
        run = t[key]["median_run"]
        shares = run["share_of_wall"]
        commit = (run["delta_commit_ms"] or 0) / 1000
        print(
            f"  {label.strip()[:31]:31}"
            + "".join(f"{shares[c]:>12.0%}" for c in cols)
            + f"  {commit:.2f}s of {run['step_seconds'].get('load', 0):.2f}s load"
        )
    print()
    print("merges (Delta MERGE operationMetrics):")
    print(
        f"  {'case':10} {'partitions':>10} {'files rewritten':>16} {'rows copied':>12} "
        f"{'merge ms':>9} {'scan ms':>8} {'rewrite ms':>10}"
    )
    for case in CASES:
        mm = results["merges"][case]["delta_metrics"]
        touched = d["changes"][case]["partitions_touched"]
        print(
            f"  {case:10} {touched:>10} {mm['num_target_files_removed']:>6} of {files:<6} "
            f"{mm['num_target_rows_copied']:>12,} {mm['execution_time_ms_median']:>9,.0f} "
            f"{mm['scan_time_ms_median']:>8,.0f} {mm['rewrite_time_ms_median']:>10,.0f}"
        )
    rw = results["rewrite_delta_write_ms_median"]
    print(f"  full rewrite: {files} files, Delta WRITE {rw:,.0f} ms (median)")
    print()
    print(f"merge / full rewrite (target <= {TARGET_MERGE_RATIO}x on the whole process):")
    for case in CASES:
        r = results["merges"][case]["ratio_to_full_rewrite"]
        verdict = "met" if r["best"] <= TARGET_MERGE_RATIO else "MISSED"
        extra = "  (extra)" if case == "recent" else f"  {verdict}"
        print(
            f"  {case:10} whole process: best {r['best']:.2f}x, median {r['median']:.2f}x;"
            f"  Delta commit alone: {r['delta_commit_median']:.2f}x{extra}"
        )
    if "profiles" in results:
        print()
        print("in process, RSS sampled every 10 ms (lakegate's run_pipeline, one run each):")
        for name, prof in results["profiles"].items():
            parts = ", ".join(
                f"{s['step']} {s['seconds']:.1f}s {mib(s['peak_rss_bytes'])}" for s in prof["steps"]
            )
            print(
                f"  {name}: after imports {mib(prof['rss_after_imports_bytes'])}; "
                f"{parts} (peak of each step)"
            )
    print()
    problems = results["correctness"]["problems"]
    print(
        f"correctness: {results['correctness']['verified_runs']} tables verified "
        f"({SF1_ROWS:,} rows, one per key, exactly the batch's rows changed): "
        + ("all hold" if not problems else f"{len(problems)} PROBLEMS")
    )
    print(f"figures: {(OUT / 'run_results.json').relative_to(ROOT)}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=3, help="timed runs per step (default 3)")
    parser.add_argument(
        "--settle",
        type=float,
        default=0,
        help="before each timed run, wait up to this many seconds for other processes to "
        "leave the CPUs idle (default 0: do not wait)",
    )
    parser.add_argument(
        "--no-profile", action="store_true", help="skip the per-step memory profile"
    )
    parser.add_argument(
        "--strict", action="store_true", help="exit 2 when the realistic merge misses its target"
    )
    parser.add_argument("--make-changes", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--verify", choices=CASES, help=argparse.SUPPRESS)
    parser.add_argument("--profile", choices=("initial", "rewrite"), help=argparse.SUPPRESS)
    parser.add_argument("--bare-write", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()

    if args.make_changes:  # the child processes started below
        print(json.dumps(make_changes()))
        return 0
    if args.verify:
        print(json.dumps(verify(args.verify)))
        return 0
    if args.profile:
        print(json.dumps(profile(args.profile)))
        return 0
    if args.bare_write:
        print(json.dumps(bare_write()))
        return 0

    OUT.mkdir(parents=True, exist_ok=True)
    generated = generate()
    print("writing the project", PROJECT.relative_to(ROOT), "and the change batches", flush=True)
    write_project()
    changes = child("--make-changes")
    results: dict[str, Any] = {
        "date": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "machine": machine(),
        "commands": {name: " ".join(run_cmd(name)) for name in ("initial", "rewrite")}
        | {f"merge_{c}": " ".join(run_cmd(f"merge_{c}")) for c in CASES},
        "data": {
            "file": str(CLEAN.relative_to(ROOT)),
            "file_bytes": CLEAN.stat().st_size,
            "generation_seconds": generated,
            "project": str(PROJECT.relative_to(ROOT)),
            "change_rows": CHANGE_ROWS,
            "latest_months_from": RECENT_FROM,
            "cases": {c: description for c, (description, *_) in CASES.items()},
            "changes": changes,
        },
        "settle_seconds": args.settle,
    }
    results["machine"]["bench_process_rss_bytes"] = psutil.Process().memory_info().rss
    code_at_start = src_state()
    problems: list[str] = []
    verified = 0

    table_files: list[Path] = []
    code = code_files()

    def check(after: str, batch: str) -> dict[str, Any]:
        nonlocal verified, table_files
        state = child("--verify", batch)
        problems.extend(expectations(after, batch, state))
        verified += 1
        table_files = [Path(p) for p in state.pop("file_paths")]
        return state

    runs: dict[str, list[Run]] = {}
    records: dict[str, list[dict[str, Any]]] = {}
    states: dict[str, list[dict[str, Any]]] = {}
    waits: list[float] = []
    merges = {f"merge_{c}" for c in CASES}

    def timed(name: str, batch: str) -> None:
        print(f"  lakegate run {name}", flush=True)
        source = [changes_file(name.removeprefix("merge_"))] if name in merges else [CLEAN]
        run, record, waited = measured(name, args.settle, source + table_files + code)
        runs.setdefault(name, []).append(run)
        records.setdefault(name, []).append(record)
        waits.append(round(waited, 1))
        states.setdefault(name, []).append(check(name, batch))

    print("warm-up: one initial load, not timed", flush=True)
    reset_lake()
    read_files(code)
    checked(run_measured(run_cmd("initial")), "lakegate run initial", (0,))
    for i in range(args.runs):
        print(f"initial load {i + 1}/{args.runs} (empty lake)", flush=True)
        reset_lake()
        timed("initial", "realistic")
        print("  reference: DuckDB -> write_deltalake", flush=True)
        read_files([CLEAN, *code])
        bare = checked(
            run_measured([sys.executable, __file__, "--bare-write"]), "the reference", (0,)
        )
        if json.loads(bare.stdout) != {"rows": SF1_ROWS, "files": len(table_files)}:
            problems.append(f"the reference wrote {bare.stdout.strip()}")
        runs.setdefault("bare", []).append(bare)
    results["table_after_initial_load"] = states["initial"][-1]
    for i in range(args.runs):
        print(f"round {i + 1}/{args.runs}: each merge, then a full rewrite", flush=True)
        for case in CASES:
            timed(f"merge_{case}", case)
            timed("rewrite", case)  # the rewrite must undo the batch
    if not args.no_profile:
        # Where the memory goes: the same runs in process, RSS sampled per step.
        print("profiling the initial load and a rewrite in process", flush=True)
        reset_lake()
        profiles = {}
        for name in ("initial", "rewrite"):
            if args.settle > 0:
                wait_quiet(args.settle)
            read_files([CLEAN, *table_files, *code])
            profiles[name] = child("--profile", name)
            profiles[name]["table"] = check(name, "realistic")
        results["profiles"] = profiles

    results["timing"] = {
        name: describe(
            CHANGE_ROWS if name in merges else SF1_ROWS, r, records.get(name), states.get(name)
        )
        for name, r in runs.items()
    }
    results["commands"]["bare"] = f"{sys.executable} {__file__} --bare-write"
    rewrite = results["timing"]["rewrite"]
    rewrite_ms = statistics.median(
        s["operation_metrics"].get("execution_time_ms", 0) for s in states["rewrite"]
    )
    results["rewrite_delta_write_ms_median"] = rewrite_ms
    results["merges"] = {}
    for case in CASES:
        merge = results["timing"][f"merge_{case}"]
        metrics = merge_metrics(states[f"merge_{case}"])
        results["merges"][case] = {
            "description": CASES[case][0],
            "delta_metrics": metrics,
            "ratio_to_full_rewrite": {
                "best": round(merge["best_seconds"] / rewrite["best_seconds"], 3),
                "median": round(merge["median_seconds"] / rewrite["median_seconds"], 3),
                # The Delta commits alone: MERGE vs WRITE execution_time_ms.
                "delta_commit_median": round(metrics["execution_time_ms_median"] / rewrite_ms, 3),
            },
            "target": TARGET_MERGE_RATIO,
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
    (OUT / "run_results.json").write_text(json.dumps(results, indent=2) + "\n")
    print_report(results)
    for problem in problems:
        print("PROBLEM:", problem, file=sys.stderr)
    if problems:
        return 1
    realistic = results["merges"]["realistic"]["ratio_to_full_rewrite"]["best"]
    if args.strict and realistic > TARGET_MERGE_RATIO:
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
