"""``lakegate cost report``: what the lake's storage costs and what could be saved.

Per lake table, from metadata only (the Delta log, the Parquet footers, the files on
disk and the run history):

* storage: the snapshot's bytes at the hot storage class's price per GiB-month;
* vacuum: files no longer in the snapshot but still on storage, at the same price
  (local lakes only: an object store is not listed);
* archive: a table not read or written for ``idle_days`` (see
  :mod:`lakegate.analyze.activity`), priced as moving it to the storage class of its
  lifecycle tier;
* lifecycle: the tier of a table in use: *hot* when used within ``hot_days``, *warm*
  within ``warm_days``, *cold* before, and the saving of moving it to that tier's class
  (objects smaller than the class's minimum billable size are billed as that size, so
  a table of tiny files can cost more in a colder class: then nothing is suggested);
* compact: small files (below :data:`~lakegate.sinks.maintenance.SMALL_FILE_BYTES`)
  that compaction would merge, priced as the GET requests a full read would no longer
  make; faster planning and reading, the real gain, are not priced;
* compress: Parquet column chunks stored UNCOMPRESSED, priced as the bytes zstd would
  save (see :mod:`lakegate.analyze.compression`).

The lake is assumed to be in the hot class today. Every saving is a monthly estimate
in the pricing table's currency, from list prices: see
:mod:`lakegate.analyze.pricing`.
"""

from __future__ import annotations

import datetime as dt
import math
import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from lakegate.analyze.activity import TableActivity, last_data_commit, run_activity
from lakegate.analyze.catalog import Catalog, LakeTable
from lakegate.analyze.compression import Uncompressed, uncompressed_chunks
from lakegate.analyze.pricing import GIB, Pricing, PricingInfo, StorageClass, load_pricing
from lakegate.errors import ConfigError, UserInputError
from lakegate.sinks.maintenance import SMALL_FILE_BYTES

# Compaction's target file size (bytes): delta-rs's default.
COMPACTION_TARGET_BYTES = 100 * 2**20
# GET requests a reader makes per file it reads (the footer, then the column chunks).
GETS_PER_FILE_READ = 2


@dataclass(frozen=True)
class Suggestion:
    """One thing to do about a table, with its estimated monthly saving.

    Attributes:
        table: The table.
        kind: ``vacuum``, ``archive``, ``lifecycle``, ``compact`` or ``compress``.
        message: What was found and what to do.
        bytes: The bytes concerned.
        monthly_saving: Estimated saving per month (pricing currency, USD by default).
        model: How the saving is estimated, with the figures used.
    """

    table: str
    kind: str
    message: str
    bytes: int
    monthly_saving: float
    model: str


@dataclass(frozen=True)
class TableCost:
    """A table's storage and use.

    Attributes:
        table: Its name in the lake.
        uri: Where it is.
        files: Files in the snapshot.
        bytes: Their bytes.
        rows: Rows in the snapshot (None when a file has no statistics).
        monthly_cost: Storing the snapshot in the hot class, per month.
        unreferenced_files: Files on storage the snapshot no longer uses (None: not
            listed, the lake is on an object store).
        unreferenced_bytes: Their bytes (None: not listed).
        small_files: Snapshot files below the small-file threshold.
        uncompressed_bytes: Bytes of column chunks stored UNCOMPRESSED (estimated from
            a sample of footers; None when no footer can be read).
        last_written: When it was last written (UTC), if known.
        last_read: When a pipeline last read it (UTC), if known.
        idle_days: Days since it was last written or read; None when unknown.
        tier: ``hot``, ``warm``, ``cold``, or ``unknown``.
    """

    table: str
    uri: str
    files: int
    bytes: int
    rows: int | None
    monthly_cost: float
    unreferenced_files: int | None
    unreferenced_bytes: int | None
    small_files: int
    uncompressed_bytes: int | None
    last_written: dt.datetime | None
    last_read: dt.datetime | None
    idle_days: float | None
    tier: str


@dataclass(frozen=True)
class CostReport:
    """The storage report of a project's lake.

    Attributes:
        project: The project's name.
        now: The time the report is as of (UTC).
        idle_days: Tables unused this many days are idle.
        hot_days: Used within this many days: hot.
        warm_days: Used within this many days (and not hot): warm; older: cold.
        pricing: Where the prices come from.
        tables: One entry per lake table, by name.
        suggestions: What to do, largest saving first.
        total_bytes: Bytes of every snapshot.
        total_monthly_cost: Storing them (and the unreferenced files) per month.
        total_monthly_saving: The sum of the suggestions' savings.
        notes: What the figures leave out.
    """

    project: str
    now: dt.datetime
    idle_days: int
    hot_days: int
    warm_days: int
    pricing: PricingInfo
    tables: tuple[TableCost, ...]
    suggestions: tuple[Suggestion, ...]
    total_bytes: int
    total_monthly_cost: float
    total_monthly_saving: float
    notes: tuple[str, ...]


def cost_report(
    project: Any,
    *,
    idle_days: int = 30,
    hot_days: int = 30,
    warm_days: int = 90,
    now: dt.datetime | None = None,
    on_error: Callable[[Path, ConfigError], None] | None = None,
) -> CostReport:
    """Storage cost and savings of every table in the project's lake.

    Args:
        project: The :class:`~lakegate.config.project.Project` (its ``pricing:`` applies).
        idle_days: A table not read or written for this many days is idle (archive it).
        hot_days: Lifecycle tiers: used within this many days is hot.
        warm_days: Used within this many days (and not hot) is warm; before, cold.
        now: The time to judge from (aware or naive UTC); default: now. Runs and
            commits after it are ignored, so a fixed ``now`` gives a stable report.
        on_error: Called with a pipeline file that does not load (then left out).

    Raises:
        UserInputError: Negative days, or ``hot_days`` above ``warm_days``.
        ConfigError: An invalid ``pricing:`` override in lakegate.yaml.
        InputDataError: A lake table cannot be read.
        StateStoreError: The state store cannot be read.
    """
    from lakegate.observe.monitor import as_of

    if min(idle_days, hot_days, warm_days) < 0 or hot_days > warm_days:
        raise UserInputError(
            f"days cannot be negative, and hot_days ({hot_days}) at most warm_days ({warm_days})"
        )
    moment = as_of(now)
    pricing = load_pricing(project)
    activity = run_activity(project, moment, on_error)
    catalog = Catalog.from_project(project)
    names = sorted(set(catalog.names()) | set(activity))
    tables: list[TableCost] = []
    suggestions: list[Suggestion] = []
    unreferenced_cost = 0.0
    for name in names:
        table = catalog.get(name)
        if table is None:
            continue  # a pipeline's target that was never written
        used = activity.get(name, TableActivity(name))
        entry, found = _table(table, used, moment, pricing, (idle_days, hot_days, warm_days))
        tables.append(entry)
        suggestions.extend(found)
        hot = pricing.storage.classes.hot
        unreferenced_cost += (entry.unreferenced_bytes or 0) / GIB * hot.usd_per_gb_month
    suggestions.sort(key=lambda s: (-s.monthly_saving, s.table, s.kind))
    notes = [
        f"list prices as of {pricing.as_of} ({pricing.region}); check them against your "
        "contract and override them under `pricing:` in lakegate.yaml",
        f"the lake is assumed to be in {pricing.storage.classes.hot.name} today",
        "reads are those of pipeline runs: ad-hoc queries leave no trace in the run history",
    ]
    if any(t.unreferenced_files is None for t in tables):
        notes.append("files no longer in a snapshot are only listed for a local lake")
    return CostReport(
        project=project.name,
        now=moment,
        idle_days=idle_days,
        hot_days=hot_days,
        warm_days=warm_days,
        pricing=pricing.info(),
        tables=tuple(tables),
        suggestions=tuple(suggestions),
        total_bytes=sum(t.bytes for t in tables),
        total_monthly_cost=sum(t.monthly_cost for t in tables) + unreferenced_cost,
        total_monthly_saving=sum(s.monthly_saving for s in suggestions),
        notes=tuple(notes),
    )


def _table(
    table: LakeTable,
    used: TableActivity,
    now: dt.datetime,
    pricing: Pricing,
    days: tuple[int, int, int],
) -> tuple[TableCost, list[Suggestion]]:
    """One table's entry and suggestions (``days``: idle, hot and warm thresholds)."""
    idle_days, hot_days, warm_days = days
    classes = pricing.storage.classes
    sizes = [f.size_bytes for f in table.files]
    written = [t for t in (used.last_written, last_data_commit(table.uri, table.name, now)) if t]
    last_written = max(written, default=None)
    last_used = max((t for t in (last_written, used.last_read) if t), default=None)
    idle = None if last_used is None else (now - last_used).total_seconds() / 86400
    tier = _tier(idle, hot_days, warm_days)
    found: list[Suggestion] = []
    moved_to = classes.hot
    if idle is not None and (idle >= idle_days or tier != "hot"):
        target = classes.cold if tier == "cold" else classes.warm
        found.append(_move(table, sizes, (classes.hot, target), idle, idle >= idle_days))
        moved_to = target if found[-1].monthly_saving > 0 else moved_to
    unreferenced = _unreferenced(table)
    if unreferenced is not None and unreferenced[0]:
        found.append(_vacuum(table.name, *unreferenced, classes.hot))
    compact = _compaction(table, classes.hot, used.reads_last_30_days)
    plain = uncompressed_chunks(table)
    compress = _compress(table.name, plain, moved_to)
    found.extend(s for s in (compact, compress) if s is not None)
    entry = TableCost(
        table=table.name,
        uri=table.uri,
        files=len(table.files),
        bytes=table.size_bytes,
        rows=table.rows,
        monthly_cost=classes.hot.monthly_usd(sizes),
        unreferenced_files=None if unreferenced is None else unreferenced[0],
        unreferenced_bytes=None if unreferenced is None else unreferenced[1],
        small_files=sum(1 for s in sizes if s < SMALL_FILE_BYTES),
        uncompressed_bytes=plain.bytes,
        last_written=last_written,
        last_read=used.last_read,
        idle_days=idle,
        tier=tier,
    )
    return entry, found


def _tier(idle: float | None, hot_days: int, warm_days: int) -> str:
    if idle is None:
        return "unknown"
    return "hot" if idle <= hot_days else "warm" if idle <= warm_days else "cold"


def _move(
    table: LakeTable,
    sizes: list[int],
    classes: tuple[StorageClass, StorageClass],
    idle: float,
    is_idle: bool,
) -> Suggestion:
    """Archive an idle table, or move a warm or cold one to its tier's class
    (``classes``: the hot class and the target)."""
    hot, target = classes
    current = hot.monthly_usd(sizes)
    saving = current - target.monthly_usd(sizes)
    retrieval = table.size_bytes / GIB * target.retrieval_usd_per_gb
    if is_idle:
        message = (
            f"not read or written for {idle:.0f} days: archive it to {target.name}, or drop "
            f"it if nobody needs it (dropping saves all of its {_amount(current)} a month)"
        )
    else:
        message = f"last used {idle:.0f} days ago: move it to {target.name}"
    if saving <= 0:
        message += (
            f"; but {target.name} bills objects below {target.minimum_object_bytes:,} bytes "
            "as that size, so moving these small files costs more: compact them first"
        )
    return Suggestion(
        table=table.name,
        kind="archive" if is_idle else "lifecycle",
        message=message,
        bytes=table.size_bytes,
        monthly_saving=max(saving, 0.0),
        model=(
            f"{hot.name} {hot.usd_per_gb_month} minus {target.name} "
            f"{target.usd_per_gb_month} per GiB-month on {len(sizes)} file(s) (each billed as "
            f"at least {target.minimum_object_bytes:,} bytes there); reading it all once then "
            f"costs {_amount(retrieval)} in retrieval; {target.minimum_days} days minimum storage"
        ),
    )


def _vacuum(table: str, count: int, size: int, hot: StorageClass) -> Suggestion:
    """Deleting the files the snapshot no longer uses."""
    return Suggestion(
        table=table,
        kind="vacuum",
        message=(
            f"{count} file(s) ({size:,} bytes) are no longer in the snapshot: `lakegate table "
            f"vacuum {table} --no-dry-run` deletes those removed more than 7 days ago (time "
            "travel to older versions then stops working)"
        ),
        bytes=size,
        monthly_saving=size / GIB * hot.usd_per_gb_month,
        model=f"{size:,} bytes / 2^30 * {hot.usd_per_gb_month} per GiB-month ({hot.name})",
    )


def _compress(table: str, plain: Uncompressed, where: StorageClass) -> Suggestion | None:
    """Rewriting UNCOMPRESSED column chunks with zstd, priced in the class ``where``."""
    if not plain.bytes or plain.zstd_ratio >= 1:
        return None
    saved = round(plain.bytes * (1 - plain.zstd_ratio))
    how = "measured on a sample row group" if plain.measured else "assumed"
    return Suggestion(
        table=table,
        kind="compress",
        message=(
            f"{plain.bytes:,} bytes of column chunks are stored UNCOMPRESSED: rewrite the "
            f"files with zstd (about {saved:,} bytes smaller)"
        ),
        bytes=plain.bytes,
        monthly_saving=saved / GIB * where.usd_per_gb_month,
        model=(
            f"{plain.bytes:,} bytes * (1 - zstd ratio {plain.zstd_ratio:.3f}, {how}) / 2^30 * "
            f"{where.usd_per_gb_month} per GiB-month ({where.name})"
        ),
    )


def _compaction(table: LakeTable, hot: StorageClass, reads: int) -> Suggestion | None:
    """Merging each partition's small files, priced as the GET requests saved."""
    groups: dict[tuple[Any, ...], list[int]] = {}
    for key, files in table.partitions().items():
        sizes = [f.size_bytes for f in files if f.size_bytes < SMALL_FILE_BYTES]
        if len(sizes) > 1:
            groups[key] = sizes
    before = sum(len(s) for s in groups.values())
    after = sum(math.ceil(sum(s) / COMPACTION_TARGET_BYTES) for s in groups.values())
    if before <= after:
        return None
    size = sum(sum(s) for s in groups.values())
    per_month = max(reads, 1)
    saving = (before - after) * GETS_PER_FILE_READ * per_month * hot.usd_per_1000_get / 1000
    return Suggestion(
        table=table.name,
        kind="compact",
        message=(
            f"{before} small files (below {SMALL_FILE_BYTES // 2**20} MiB, {size:,} bytes) in "
            f"{len(groups)} partition(s): `lakegate table optimize {table.name}` merges them "
            f"into about {after}, so every full read opens {before - after} fewer files"
        ),
        bytes=size,
        monthly_saving=saving,
        model=(
            f"{before - after} fewer files * {GETS_PER_FILE_READ} GET requests per file read * "
            f"{per_month} read(s) a month (pipeline runs in the last 30 days, at least 1) * "
            f"{hot.usd_per_1000_get} per 1,000 GET ({hot.name}); faster queries are not priced"
        ),
    )


def _unreferenced(table: LakeTable) -> tuple[int, int] | None:
    """``(files, bytes)`` under a local table's folder that its snapshot does not use
    (the log and names starting with ``_`` or ``.`` excluded, as vacuum does); None on
    an object store."""
    root = table.uri
    if "://" in root or not os.path.isdir(root):
        return None
    used = {os.path.normpath(f.uri) for f in table.files}
    count = size = 0
    for folder, dirs, files in os.walk(root):
        dirs[:] = [d for d in dirs if not d.startswith(("_", "."))]
        for name in files:
            path = os.path.normpath(os.path.join(folder, name))
            if name.startswith(("_", ".")) or path in used:
                continue
            count += 1
            size += os.path.getsize(path)
    return count, size


def _amount(value: float) -> str:
    """An amount of money for a message: 2 decimals, or 6 below 1."""
    return f"{value:,.2f}" if value >= 1 else f"{value:.6f}"
