"""``lakegate cost report`` on a real project: Delta tables written into its lake and
runs recorded in its state store, judged at a fixed ``now``.

Expected figures come from the files on disk and their Parquet footers (os.stat,
pyarrow.parquet), never from the code under test.
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from deltalake import DeltaTable, WriterProperties, write_deltalake

from lakegate.analyze.storage import CostReport, cost_report
from lakegate.config.project import load_project
from lakegate.errors import UserInputError
from lakegate.state import RunRecord, RunStart, StateStore
from tests.conftest import lakegate

GIB = 2**30
# S3 list prices of the packaged pricing table (USD per GiB-month, per 1,000 GETs).
HOT, WARM, COLD, GET = 0.023, 0.0125, 0.004, 0.0004
MIN_OBJECT = 128 * 1024  # Standard-IA and Glacier IR bill smaller objects as 128 KiB
# The tables are written now, so their commits are 200 days old at NOW.
NOW = (dt.datetime.now(dt.UTC) + dt.timedelta(days=200)).replace(microsecond=0)

PIPELINES = {
    "load_events": ("events", None),
    "load_clicks": ("clicks", None),
    "read_clicks": ("clicks_daily", "SELECT count(*) AS n FROM lake.clicks"),
    "read_raw": ("raw_summary", "SELECT max(amount) AS m FROM lake.raw"),
}


@dataclass
class Lake:
    root: Path
    vacuumable: int  # bytes of the file the overwrite left behind

    def files(self, table: str) -> list[Path]:
        """The snapshot's data files, from the Delta log's file URIs."""
        return [
            Path(u.removeprefix("file://"))
            for u in DeltaTable(self.root / "lake" / table).file_uris()
        ]

    def sizes(self, table: str) -> list[int]:
        return [f.stat().st_size for f in self.files(table)]


def rows(n: int, seed: int = 0) -> pa.Table:
    """Deterministic rows that compress somewhat (not random floats)."""
    return pa.table(
        {
            "id": pa.array(range(seed, seed + n), pa.int64()),
            "amount": pa.array([(i * 7919) % 100_003 for i in range(n)], pa.int64()),
            "label": [f"label-{(i * 31) % 5_000:05d}" for i in range(n)],
        }
    )


def record(
    store: StateStore, pipeline: str, run_id: str, started: dt.datetime, status: str
) -> None:
    store.begin_run(RunStart(pipeline_name=pipeline, run_id=run_id, started_at=started))
    store.finish_run(
        RunRecord(
            pipeline_name=pipeline,
            run_id=run_id,
            started_at=started,
            completed_at=started + dt.timedelta(minutes=5),
            status=status,
            stage="finish",
            duration_seconds=300.0,
            target=PIPELINES[pipeline][0],
        )
    )


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory) -> Lake:
    root = tmp_path_factory.mktemp("costs")
    (root / "lakegate.yaml").write_text("name: costs\n")
    (root / "pipelines").mkdir()
    for name, (target, sql) in PIPELINES.items():
        stages = f"transform:\n  stages:\n    - {{name: s, sql: '{sql}'}}\n" if sql else ""
        (root / "pipelines" / f"{name}.yaml").write_text(
            f"pipeline: {{name: {name}}}\n"
            "extract: {source: {type: file, path: data/in.parquet}}\n"
            f"{stages}load: {{target: {target}}}\n"
        )
    lake = root / "lake"
    write_deltalake(lake / "events", rows(60_000))  # one file, idle
    for i in range(10):  # ten small files
        write_deltalake(lake / "clicks", rows(100, seed=i * 100), mode="append")
    write_deltalake(
        lake / "raw", rows(60_000), writer_properties=WriterProperties(compression="UNCOMPRESSED")
    )
    write_deltalake(lake / "snapshots", rows(20_000))
    (old,) = DeltaTable(lake / "snapshots").file_uris()
    vacuumable = Path(old.removeprefix("file://")).stat().st_size
    write_deltalake(lake / "snapshots", rows(20_000, seed=7), mode="overwrite")

    day = dt.timedelta(days=1)
    with StateStore(load_project(root).state_url) as store:
        record(store, "load_events", "e1", NOW - 250 * day, "success")
        record(store, "load_clicks", "c1", NOW - 1 * day, "success")
        record(store, "load_clicks", "c0", NOW - 0.5 * day, "failed")  # wrote nothing
        for i, age in enumerate((2, 10, 20, 40)):  # three reads in the last 30 days
            record(store, "read_clicks", f"r{i}", NOW - age * day, "success")
        record(store, "read_raw", "w1", NOW - 45 * day, "failed")  # a failed run still read
        record(store, "read_raw", "w2", NOW + 1 * day, "success")  # after NOW: ignored
    return Lake(root, vacuumable)


def report(lake: Lake, **options: int) -> CostReport:
    return cost_report(load_project(lake.root), now=NOW, **options)


def by_kind(found: CostReport, table: str) -> dict[str, float]:
    return {s.kind: s.monthly_saving for s in found.suggestions if s.table == table}


def chunk_bytes(files: list[Path]) -> tuple[int, int]:
    """``(bytes of UNCOMPRESSED chunks, all chunk bytes)`` from the footers."""
    plain = every = 0
    for file in files:
        meta = pq.read_metadata(file)
        for g in range(meta.num_row_groups):
            for c in range(meta.num_columns):
                chunk = meta.row_group(g).column(c)
                every += chunk.total_compressed_size
                plain += chunk.total_compressed_size if chunk.compression == "UNCOMPRESSED" else 0
    return plain, every


def test_storage_per_table_and_its_monthly_cost(project: Lake) -> None:
    found = report(project, idle_days=60)
    tables = {t.table: t for t in found.tables}
    assert sorted(tables) == ["clicks", "events", "raw", "snapshots"]  # targets never written: none
    for name, entry in tables.items():
        sizes = project.sizes(name)
        assert (entry.files, entry.bytes) == (len(sizes), sum(sizes))
        assert entry.monthly_cost == pytest.approx(sum(sizes) / GIB * HOT)
    assert tables["events"].rows == 60_000
    assert found.total_bytes == sum(t.bytes for t in tables.values())
    assert found.total_monthly_cost == pytest.approx(
        (found.total_bytes + project.vacuumable) / GIB * HOT
    )
    assert found.total_monthly_saving == pytest.approx(
        sum(s.monthly_saving for s in found.suggestions)
    )
    assert [s.monthly_saving for s in found.suggestions] == sorted(
        (s.monthly_saving for s in found.suggestions), reverse=True
    )
    assert found.pricing.as_of == dt.date(2025, 6, 1)


def test_an_idle_table_is_archived_to_the_cold_class(project: Lake) -> None:
    found = report(project, idle_days=60)
    events = next(t for t in found.tables if t.table == "events")
    # The Delta commit (200 days ago) is newer than the run that wrote it (250 days ago).
    assert events.idle_days == pytest.approx(200, abs=0.1)
    assert events.tier == "cold" and events.last_read is None
    (size,) = project.sizes("events")
    assert size > MIN_OBJECT  # else Glacier IR's 128 KiB minimum would eat the saving
    assert by_kind(found, "events") == {
        "archive": pytest.approx(size / GIB * HOT - size / GIB * COLD)
    }
    archive = next(s for s in found.suggestions if s.table == "events")
    assert "not read or written for 200 days" in archive.message
    assert "S3 Glacier Instant Retrieval" in archive.message


def test_a_table_in_use_is_hot_and_small_files_are_compacted(project: Lake) -> None:
    found = report(project, idle_days=60)
    clicks = next(t for t in found.tables if t.table == "clicks")
    assert clicks.tier == "hot" and clicks.small_files == 10
    # The last loaded run completed 5 minutes after it started; the failed one wrote nothing.
    assert clicks.last_written == NOW - dt.timedelta(days=1) + dt.timedelta(minutes=5)
    assert clicks.last_read == NOW - dt.timedelta(days=2)
    sizes = project.sizes("clicks")
    # 10 files become 1: 9 fewer files * 2 GETs per read * 3 reads in the last 30 days.
    assert by_kind(found, "clicks") == {"compact": pytest.approx(9 * 2 * 3 * GET / 1000)}
    compact = next(s for s in found.suggestions if s.table == "clicks")
    assert compact.bytes == sum(sizes)
    assert "lakegate table optimize clicks" in compact.message


def test_uncompressed_data_and_a_warm_table(project: Lake, tmp_path: Path) -> None:
    found = report(project, idle_days=60)
    raw = next(t for t in found.tables if t.table == "raw")
    files = project.files("raw")
    plain, every = chunk_bytes(files)
    assert plain == every > 0  # every chunk was written UNCOMPRESSED
    assert raw.uncompressed_bytes == plain
    assert next(t for t in found.tables if t.table == "events").uncompressed_bytes == 0
    # Read 45 days ago (the run after NOW does not count): warm, not idle at 60 days.
    assert raw.last_read == NOW - dt.timedelta(days=45)
    assert raw.tier == "warm"
    sizes = project.sizes("raw")
    savings = by_kind(found, "raw")
    assert savings["lifecycle"] == pytest.approx(
        sum(sizes) / GIB * HOT - sum(max(s, MIN_OBJECT) for s in sizes) / GIB * WARM
    )
    # zstd, measured independently: the same rows written by delta-rs with ZSTD.
    write_deltalake(
        tmp_path / "zstd", rows(60_000), writer_properties=WriterProperties(compression="ZSTD")
    )
    zstd_files = [
        Path(u.removeprefix("file://")) for u in DeltaTable(tmp_path / "zstd").file_uris()
    ]
    _, zstd_bytes = chunk_bytes(zstd_files)
    ratio = zstd_bytes / plain
    assert ratio < 0.9
    # Priced at the warm class's price, where the lifecycle suggestion moves it.
    implied = 1 - savings["compress"] * GIB / WARM / plain
    assert implied == pytest.approx(ratio, rel=0.25)
    assert set(savings) == {"lifecycle", "compress"}


def test_files_left_by_an_overwrite_can_be_vacuumed(project: Lake) -> None:
    found = report(project, idle_days=60)
    snapshots = next(t for t in found.tables if t.table == "snapshots")
    assert (snapshots.unreferenced_files, snapshots.unreferenced_bytes) == (1, project.vacuumable)
    assert next(t for t in found.tables if t.table == "clicks").unreferenced_files == 0
    savings = by_kind(found, "snapshots")
    assert savings["vacuum"] == pytest.approx(project.vacuumable / GIB * HOT)
    assert set(savings) == {"vacuum", "archive"}  # no pipeline: its commits are 200 days old


def test_idle_days_decide_what_is_archived(project: Lake) -> None:
    default = report(project)  # 30 days: raw, read 45 days ago, is idle too
    assert by_kind(default, "raw").keys() == {"archive", "compress"}
    assert (
        by_kind(default, "raw")["archive"]
        == by_kind(report(project, idle_days=60), "raw")["lifecycle"]
    )
    everything = report(project, idle_days=300, hot_days=300, warm_days=400)
    assert {t.tier for t in everything.tables} == {"hot"}
    assert not [s for s in everything.suggestions if s.kind in ("archive", "lifecycle")]
    with pytest.raises(UserInputError, match="hot_days"):
        report(project, hot_days=100, warm_days=90)


def test_the_cli_report(project: Lake) -> None:
    args = ("--project", str(project.root), "--idle-days", "60", "--now", NOW.isoformat())
    result = lakegate("cost", "report", *args, "--format", "json")
    assert result.returncode == 0, result.stderr
    data = json.loads(result.stdout)
    expected = report(project, idle_days=60)
    assert [(s["table"], s["kind"]) for s in data["suggestions"]] == [
        (s.table, s.kind) for s in expected.suggestions
    ]
    assert data["total_monthly_saving"] == pytest.approx(expected.total_monthly_saving)
    assert data["now"] == NOW.isoformat()
    assert {t["table"]: t["tier"] for t in data["tables"]} == {
        "clicks": "hot",
        "events": "cold",
        "raw": "warm",
        "snapshots": "cold",
    }
    table = lakegate("cost", "report", *args)
    assert table.returncode == 0, table.stderr
    for text in ("archive", "vacuum", "compact", "compress", "lifecycle", "2025-06-01"):
        assert text in table.stdout
