"""The state store: runs, watermarks, loaded files, pipeline locks and check results.

Built on SQLAlchemy Core; the same tables (:mod:`lakegate.state.records`) live
in a SQLite file (one machine) or in PostgreSQL (state shared by several
machines). Tables are created on first use; ``lakegate_meta`` holds the
schema version.

Concurrency: every operation is one short transaction. On SQLite it starts
with ``BEGIN IMMEDIATE``, so writers queue on the file lock (up to
``SQLITE_BUSY_TIMEOUT`` seconds) rather than fail half way. A pipeline lock is
taken with an ``INSERT ... ON CONFLICT DO NOTHING`` on the pipeline (the
primary key) and taken over with an ``UPDATE`` whose ``WHERE`` still requires
the lock to be stale, so of any number of racing processes exactly one wins.
Lock times come from the server's clock on PostgreSQL, so hosts with skewed
clocks agree on when a lock is stale.

The URL's password never appears in an error message or a log line.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import os
import socket
import threading
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import asdict
from pathlib import Path
from types import TracebackType
from typing import Any
from urllib.parse import quote

import sqlalchemy as sa
from sqlalchemy import exc as sa_exc
from sqlalchemy.dialects import postgresql, sqlite

from lakegate.errors import LakegateError, UserInputError
from lakegate.state.process import holder_alive, own_start_token
from lakegate.state.records import (
    CHECK_RESULTS,
    LOADED_FILES,
    LOCKS,
    META,
    METADATA,
    MIGRATIONS,
    RUNS,
    SCHEMA_VERSION,
    SOURCE_SCHEMAS,
    WATERMARKS,
    Boundary,
    CheckRecord,
    LockInfo,
    RunRecord,
    RunStart,
    RunTotals,
    Watermark,
    check_from_row,
    check_to_row,
    decode_value,
    encode_value,
    run_from_row,
    run_to_row,
    utc,
)

log = logging.getLogger(__name__)

DEFAULT_URL = "sqlite:///.lakegate/state.db"
DEFAULT_LOCK_TTL_SECONDS = 600.0
SQLITE_BUSY_TIMEOUT = 30.0  # seconds a SQLite transaction waits for the file lock
_SCHEMA_LOCK_KEY = 0x6C616B6567617465  # "lakegate": pg advisory lock around table creation
_DRIVERS = {
    "sqlite": "sqlite",
    "postgres": "postgresql+psycopg",
    "postgresql": "postgresql+psycopg",
}


class StateStoreError(LakegateError):
    """The state database failed: unreachable, a statement refused, a newer schema.

    ``transient`` is True for connection-level failures, where a retry may help.
    """

    def __init__(self, message: str, *, transient: bool = False) -> None:
        super().__init__(message)
        self.transient = transient


class LockHeldError(LakegateError):
    """A live run holds the pipeline's lock (DESIGN.md, "One writer"). Transient.

    Attributes:
        holder: Who holds the lock.
    """

    transient = True

    def __init__(self, holder: LockInfo, ttl_seconds: float, now: dt.datetime) -> None:
        self.holder = holder
        age = (now - holder.heartbeat_at).total_seconds()
        super().__init__(
            f"pipeline {holder.pipeline!r} is locked by run {holder.run_id} (host {holder.host}, "
            f"pid {holder.pid}) since {_iso(holder.acquired_at)}, last heartbeat "
            f"{_iso(holder.heartbeat_at)} ({age:.0f} s ago). Only one run of a pipeline may "
            "write at a time: wait for that run to finish. If it is no longer running, its lock "
            f"is taken over once its heartbeat is older than {ttl_seconds:g} s (at once if its "
            f"process is gone on this host); to clear it now, call "
            f"StateStore(url).break_lock({holder.pipeline!r})."
        )


class LockLostError(LakegateError):
    """A run's lock was broken or taken over while the run still believed it held it."""


class StateStore:
    """Run history, watermarks, loaded files, locks and check results in one database.

    Args:
        url: A SQLAlchemy URL: ``sqlite:///path/state.db`` (its folder is
            created) or ``postgresql://user:password@host/db`` (psycopg 3).

    Raises:
        UserInputError: When ``url`` cannot be parsed or names another database.

    Nothing connects until the first call. Every method but :meth:`close`
    raises :class:`StateStoreError` when the database fails. Usable as a
    context manager, which closes the store.
    """

    def __init__(self, url: str = DEFAULT_URL) -> None:
        try:
            parsed = sa.make_url(url)
        except (sa_exc.ArgumentError, ValueError):
            raise UserInputError(  # not echoing the URL: it may hold a password
                "the state URL is not a valid SQLAlchemy URL "
                "(expected sqlite:///path or postgresql://user:password@host/db)"
            ) from None
        backend = parsed.get_backend_name()
        if backend not in _DRIVERS:
            raise UserInputError(
                f"unsupported state database {parsed.render_as_string(hide_password=True)}: "
                "use sqlite or postgresql"
            )
        parsed = parsed.set(drivername=_DRIVERS.get(parsed.drivername, parsed.drivername))
        self._password = parsed.password or ""
        self.url = parsed.render_as_string(hide_password=True)
        """The URL with its password masked, safe to show."""
        self.is_sqlite = backend == "sqlite"
        if self.is_sqlite and parsed.database not in (None, "", ":memory:"):
            Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
        connect_args = {"timeout": SQLITE_BUSY_TIMEOUT} if self.is_sqlite else {}
        self._engine = sa.create_engine(parsed, connect_args=connect_args, pool_pre_ping=True)
        if self.is_sqlite:
            sa.event.listen(self._engine, "connect", _sqlite_manual_transactions)
            sa.event.listen(self._engine, "begin", _sqlite_begin_immediate)
        self._ready = False
        self._ready_lock = threading.Lock()
        self._host = socket.gethostname()
        log.debug("state store at %s", self.url)

    def __repr__(self) -> str:
        return f"StateStore({self.url!r})"

    def close(self) -> None:
        """Close the pooled connections."""
        self._engine.dispose()

    def __enter__(self) -> StateStore:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    # -- runs ------------------------------------------------------------------------------

    def begin_run(self, run: RunStart) -> RunRecord:
        """Record a run as ``running`` at stage ``begin``.

        Returns:
            The running record.

        Raises:
            StateStoreError: Also when the run id exists already.
        """
        record = RunRecord(
            pipeline_name=run.pipeline_name,
            run_id=run.run_id,
            started_at=utc(run.started_at),
            watermark_before=run.watermark_before,
        )
        with self._begin() as conn:
            conn.execute(RUNS.insert().values(**run_to_row(record), run_date=run.run_date))
        return record

    def finish_run(self, record: RunRecord) -> None:
        """Write a begun run's final record (any status) on its own.

        Raises:
            StateStoreError: Also when the run was never begun.
        """
        self.commit_run(record)

    def commit_run(
        self,
        record: RunRecord,
        watermark: tuple[Any, int] | None = None,
        files: Mapping[str, tuple[int, int]] | None = None,
        source_schema: Sequence[tuple[str, str]] | None = None,
        checks: Sequence[tuple[str, Sequence[Mapping[str, Any]]]] = (),
        boundary: Boundary | None = None,
    ) -> None:
        """Write the run record, the new watermark and the loaded files in ONE transaction.

        All of them are stored or none is: the watermark advances only with
        the run it belongs to (DESIGN.md, "Exactly-once under crashes").

        Args:
            record: The run's final record.
            watermark: ``(value, version)`` to store as the pipeline's watermark
                (see :meth:`set_watermark`), or None to leave it.
            files: ``{path: (size_bytes, mtime_ns)}`` of the files the run loaded
                (new-files mode), or None.
            source_schema: The source's columns ``[(name, type), ...]`` to remember (see
                :meth:`source_schema`), or None to leave them.
            checks: ``[(table, results), ...]``: the run's check results per judged table
                (the dicts of :meth:`record_check_results`).
            boundary: The rows loaded at the new watermark's value, stored with it (see
                :class:`~lakegate.state.records.Boundary`); ignored without ``watermark``.

        Raises:
            StateStoreError: Also when the run was never begun.
            TypeError: For a watermark value of an unsupported type.
        """
        with self._begin() as conn:
            now = self._now(conn)
            self._write_run(conn, record)
            if watermark is not None:
                self._write_watermark(conn, record.pipeline_name, *watermark, now, boundary)
            if files:
                self._write_files(conn, record.pipeline_name, record.run_id, files, now)
            rows = [
                {"run_id": record.run_id, "pipeline": record.pipeline_name, "table_name": table}
                | check_to_row(result)
                | {"recorded_at": now}
                for table, results in checks
                for result in results
            ]
            if rows:
                conn.execute(CHECK_RESULTS.insert(), rows)
            if source_schema is not None:
                row = {
                    "pipeline": record.pipeline_name,
                    "columns": json.dumps([list(c) for c in source_schema]),
                    "run_id": record.run_id,
                    "captured_at": now,
                }
                insert = self._insert(SOURCE_SCHEMAS).values(**row)
                conn.execute(
                    insert.on_conflict_do_update(
                        index_elements=[SOURCE_SCHEMAS.c.pipeline],
                        set_={k: v for k, v in row.items() if k != "pipeline"},
                    )
                )

    def source_schema(self, pipeline: str) -> list[tuple[str, str]] | None:
        """The source columns ``[(name, type), ...]`` the pipeline's last successful run
        saw, or None before its first."""
        with self._begin() as conn:
            raw = conn.execute(
                sa.select(SOURCE_SCHEMAS.c.columns).where(SOURCE_SCHEMAS.c.pipeline == pipeline)
            ).scalar_one_or_none()
        return None if raw is None else [(name, kind) for name, kind in json.loads(raw)]

    def runs(self, pipeline: str | None = None, limit: int = 20) -> list[RunRecord]:
        """Runs, newest (by ``started_at``) first.

        Args:
            pipeline: Only this pipeline's runs, or None for all pipelines.
            limit: At most this many runs.
        """
        query = RUNS.select().order_by(RUNS.c.started_at.desc(), RUNS.c.run_id.desc()).limit(limit)
        if pipeline is not None:
            query = query.where(RUNS.c.pipeline_name == pipeline)
        with self._begin() as conn:
            return [run_from_row(row) for row in conn.execute(query).mappings()]

    def runs_since_reconcile(self, pipeline: str) -> int | None:
        """How many runs of ``pipeline`` loaded (``success`` or ``partial``) since its last
        run that reconciled hard deletes; None when none ever did."""
        loaded = (RUNS.c.pipeline_name == pipeline, RUNS.c.status.in_(("success", "partial")))
        last = (
            sa.select(sa.func.max(RUNS.c.started_at))
            .where(*loaded, RUNS.c.keys_deleted_at_source.is_not(None))
            .scalar_subquery()
        )
        with self._begin() as conn:
            if conn.execute(sa.select(last)).scalar() is None:
                return None
            since = sa.select(sa.func.count()).where(*loaded, RUNS.c.started_at > last)
            return int(conn.execute(since).scalar_one())

    def run_totals(self) -> list[RunTotals]:
        """Every pipeline's finished runs summed by target and status (the counters of
        the Prometheus metrics); runs still ``running`` are left out."""
        c = RUNS.c
        query = (
            sa.select(
                c.pipeline_name,
                c.target,
                c.status,
                sa.func.count(),
                sa.func.sum(c.rows_loaded),
                sa.func.sum(c.rows_rejected),
                sa.func.sum(c.quality_checks_passed),
                sa.func.sum(c.quality_checks_failed),
                sa.func.sum(c.duration_seconds),
            )
            .where(c.status != "running")
            .group_by(c.pipeline_name, c.target, c.status)
            .order_by(c.pipeline_name, c.target, c.status)
        )
        with self._begin() as conn:
            return [
                RunTotals(
                    pipeline=row[0],
                    target=row[1],
                    status=row[2],
                    runs=int(row[3]),
                    rows_loaded=int(row[4] or 0),
                    rows_rejected=int(row[5] or 0),
                    checks_passed=int(row[6] or 0),
                    checks_failed=int(row[7] or 0),
                    duration_seconds=float(row[8] or 0.0),
                )
                for row in conn.execute(query)
            ]

    def run_durations(self) -> list[tuple[str, float]]:
        """``(pipeline, duration_seconds)`` of every finished run (for histograms)."""
        query = sa.select(RUNS.c.pipeline_name, RUNS.c.duration_seconds).where(
            RUNS.c.status != "running", RUNS.c.duration_seconds.is_not(None)
        )
        with self._begin() as conn:
            return [(row[0], float(row[1])) for row in conn.execute(query)]

    def pipelines(self) -> list[str]:
        """The names of every pipeline that has run, sorted."""
        query = sa.select(RUNS.c.pipeline_name).distinct().order_by(RUNS.c.pipeline_name)
        with self._begin() as conn:
            return [row[0] for row in conn.execute(query)]

    def last_successful_run(self, pipeline: str) -> RunRecord | None:
        """The newest run of ``pipeline`` with status ``success``, or None."""
        query = (
            RUNS.select()
            .where(RUNS.c.pipeline_name == pipeline, RUNS.c.status == "success")
            .order_by(RUNS.c.started_at.desc(), RUNS.c.run_id.desc())
            .limit(1)
        )
        with self._begin() as conn:
            row = conn.execute(query).mappings().first()
        return run_from_row(row) if row is not None else None

    # -- watermarks and loaded files -------------------------------------------------------

    def get_watermark(self, pipeline: str) -> Watermark | None:
        """The pipeline's watermark, or None before its first one was stored."""
        with self._begin() as conn:
            row = conn.execute(WATERMARKS.select().where(WATERMARKS.c.pipeline == pipeline)).first()
        if row is None:
            return None
        return Watermark(
            pipeline,
            decode_value(row.value),
            row.version,
            row.updated_at,
            Boundary.from_json(row.boundary),
        )

    def set_watermark(
        self, pipeline: str, value: Any, version: int, boundary: Boundary | None = None
    ) -> None:
        """Store the pipeline's watermark on its own (:meth:`commit_run` is the atomic form).

        Args:
            pipeline: The pipeline's name.
            value: An int, float, str, Decimal, date or datetime (naive or
                aware); it reads back equal and of the same type.
            version: The Delta table version the watermark belongs to.
            boundary: The rows loaded at ``value``, or None.

        Raises:
            TypeError: For None or a value of another type.
        """
        with self._begin() as conn:
            self._write_watermark(conn, pipeline, value, version, self._now(conn), boundary)

    def loaded_files(self, pipeline: str) -> dict[str, tuple[int, int]]:
        """The files the pipeline has loaded: ``{path: (size_bytes, mtime_ns)}``."""
        t = LOADED_FILES
        query = sa.select(t.c.path, t.c.size_bytes, t.c.mtime_ns).where(t.c.pipeline == pipeline)
        with self._begin() as conn:
            return {path: (size, mtime) for path, size, mtime in conn.execute(query)}

    def record_loaded_files(
        self, pipeline: str, run_id: str, files: Mapping[str, tuple[int, int]]
    ) -> None:
        """Remember files as loaded; a path seen before takes its new size and mtime.

        Args:
            pipeline: The pipeline's name.
            run_id: The run that loaded them.
            files: ``{path: (size_bytes, mtime_ns)}``.
        """
        if files:
            with self._begin() as conn:
                self._write_files(conn, pipeline, run_id, files, self._now(conn))

    # -- locks -----------------------------------------------------------------------------

    def acquire_lock(
        self, pipeline: str, run_id: str, ttl_seconds: float = DEFAULT_LOCK_TTL_SECONDS
    ) -> Lock:
        """Take the pipeline's writer lock, taking a stale one over.

        A lock is stale when its last heartbeat is older than ``ttl_seconds``, or
        when its holder ran on this host and is no longer running: its pid is gone,
        is a zombie (killed, not yet reaped), or belongs to a process that started
        at another moment than the one recorded with the lock (a reused pid; see
        :mod:`lakegate.state.process`). The holder should call :meth:`Lock.heartbeat`
        well within the ttl (:meth:`Lock.kept_alive` does, every ttl/3), and every
        runner of a pipeline should use the same ttl. The run that holds the lock
        gets it again. The run a stale lock was taken from is in
        :attr:`Lock.taken_over`; :meth:`close_lost_runs` closes its record.

        Args:
            pipeline: The pipeline to lock.
            run_id: The run that will hold the lock.
            ttl_seconds: Seconds without a heartbeat after which a lock is stale.

        Returns:
            The held lock: release it, or use it as a context manager.

        Raises:
            LockHeldError: When a live run holds the lock.
        """
        mine: dict[str, Any] = dict(
            pipeline=pipeline,
            run_id=run_id,
            host=self._host,
            pid=os.getpid(),
            pid_started=own_start_token(),
        )
        for _ in range(5):  # the lock may change hands while we look at it
            with self._begin() as conn:
                now = self._now(conn)
                info = LockInfo(**mine, acquired_at=now, heartbeat_at=now)
                claim = self._insert(LOCKS).values(**asdict(info)).on_conflict_do_nothing()
                # RETURNING, not rowcount: drivers need not report rowcount for an INSERT.
                if conn.execute(claim.returning(LOCKS.c.pipeline)).first() is not None:
                    return Lock(self, info, ttl_seconds)
            with self._begin() as conn:
                now = self._now(conn)
                holder = self._lock_info(conn, pipeline)
                if holder is None:
                    continue
                stale = [
                    LOCKS.c.heartbeat_at < now - dt.timedelta(seconds=ttl_seconds),
                    LOCKS.c.run_id == run_id,
                ]
                if holder.host == self._host and not holder_alive(holder.pid, holder.pid_started):
                    stale.append(_is_holder(holder))  # only while that dead holder still has it
                info = LockInfo(**mine, acquired_at=now, heartbeat_at=now)
                takeover = LOCKS.update().where(LOCKS.c.pipeline == pipeline, sa.or_(*stale))
                if conn.execute(takeover.values(**asdict(info))).rowcount:
                    if holder.run_id == run_id:
                        return Lock(self, info, ttl_seconds)
                    log.warning(
                        "took over the stale lock of pipeline %r from run %s (host %s, pid %s)",
                        *(pipeline, holder.run_id, holder.host, holder.pid),
                    )
                    return Lock(self, info, ttl_seconds, taken_over=holder)
                if self._lock_info(conn, pipeline) != holder:
                    continue  # another run got in first: judge the new holder
            raise LockHeldError(holder, ttl_seconds, now)
        raise StateStoreError(f"could not lock pipeline {pipeline!r}: its lock kept changing hands")

    def lock_info(self, pipeline: str) -> LockInfo | None:
        """Who holds the pipeline's lock, or None when it is free."""
        with self._begin() as conn:
            return self._lock_info(conn, pipeline)

    def break_lock(self, pipeline: str) -> LockInfo | None:
        """Remove the pipeline's lock, whoever holds it (an operator's tool).

        Returns:
            The holder that was removed, or None when the lock was free.
        """
        with self._begin() as conn:
            holder = self._lock_info(conn, pipeline)
            if holder is not None:
                conn.execute(LOCKS.delete().where(_is_holder(holder)))
        if holder is not None:
            log.warning("broke the lock of pipeline %r held by run %s", pipeline, holder.run_id)
        return holder

    def close_lost_runs(
        self, pipeline: str, holder_run_id: str, taken_over: LockInfo | None = None
    ) -> list[RunRecord]:
        """Close the runs of ``pipeline`` that a dead process left ``running``.

        Only the run holding the pipeline's lock begins a run record (DESIGN.md, "One
        writer"), so while ``holder_run_id`` holds it, any other run of the pipeline still
        ``running`` lost its process without finishing: killed (``SIGKILL``, the
        out-of-memory killer, ``timeout -s KILL``), or its host went down. Each becomes
        ``failed`` with an error message saying so, ``completed_at`` the time it was
        found and its watermark unmoved; its ``duration_seconds`` stays None (how long
        it ran is unknown).

        Args:
            pipeline: The pipeline's name.
            holder_run_id: The run that holds the pipeline's lock now.
            taken_over: The stale lock's holder that run took over (see
                :attr:`Lock.taken_over`), named in its run's message; or None.

        Returns:
            The closed records (empty when ``holder_run_id`` does not hold the lock).
        """
        c = RUNS.c
        with self._begin() as conn:
            now = self._now(conn)
            lock = self._lock_info(conn, pipeline)
            if lock is None or lock.run_id != holder_run_id:
                return []
            lost = (c.pipeline_name == pipeline, c.status == "running", c.run_id != holder_run_id)
            ids = [row[0] for row in conn.execute(sa.select(c.run_id).where(*lost))]
            for run_id in ids:
                holder = taken_over if taken_over and taken_over.run_id == run_id else None
                conn.execute(
                    RUNS.update()
                    .where(c.run_id == run_id, *lost)
                    .values(
                        status="failed",
                        completed_at=now,
                        error_message=_lost_message(holder_run_id, holder, now),
                        watermark_after=c.watermark_before,
                    )
                )
            closed = conn.execute(RUNS.select().where(c.run_id.in_(ids))).mappings().all()
        records = [run_from_row(row) for row in closed]
        for record in records:
            log.warning(
                "closed run %s of pipeline %r: %s", record.run_id, pipeline, record.error_message
            )
        return records

    # -- check results ---------------------------------------------------------------------

    def record_check_results(
        self, run_id: str, pipeline: str, table: str, results: list[dict[str, Any]]
    ) -> None:
        """Store the outcomes of a run's checks on one table.

        Args:
            run_id: The run.
            pipeline: The pipeline's name.
            table: The table (or batch) the checks judged.
            results: One dict per check: ``id``, ``type``, ``severity``, ``passed``,
                ``observed`` (JSON-serialisable; other values are stored as text)
                and ``failing_rows`` (int or None). Other keys are ignored, so a
                ``CheckResult.to_dict()`` fits.

        Raises:
            ValueError: When a dict lacks ``id``, ``type``, ``severity`` or ``passed``.
        """
        where = {"run_id": run_id, "pipeline": pipeline, "table_name": table}
        rows = [where | check_to_row(result) for result in results]
        if rows:
            with self._begin() as conn:
                now = self._now(conn)
                conn.execute(CHECK_RESULTS.insert(), [row | {"recorded_at": now} for row in rows])

    def check_results(self, run_id: str) -> list[CheckRecord]:
        """The check results stored for a run, in the order they were recorded."""
        query = CHECK_RESULTS.select().where(CHECK_RESULTS.c.run_id == run_id)
        with self._begin() as conn:
            return [check_from_row(row) for row in conn.execute(query.order_by("seq"))]

    # -- internals -------------------------------------------------------------------------

    @contextmanager
    def _begin(self) -> Iterator[sa.Connection]:
        """One transaction; database errors come out as :class:`StateStoreError`."""
        self._ensure_schema()
        with self._translate_errors(), self._engine.begin() as conn:
            yield conn

    @contextmanager
    def _translate_errors(self) -> Iterator[None]:
        try:
            yield
        except sa_exc.SQLAlchemyError as exc:
            detail = str(exc.orig) if isinstance(exc, sa_exc.DBAPIError) else str(exc)
            for secret in {self._password, quote(self._password, safe="")} - {""}:
                detail = detail.replace(secret, "***")
            transient = isinstance(
                exc, sa_exc.OperationalError | sa_exc.InterfaceError | sa_exc.TimeoutError
            )
            # "from None": the driver's error, chained, could quote the password.
            raise StateStoreError(
                f"state store {self.url}: {detail.strip()}", transient=transient
            ) from None

    def _ensure_schema(self) -> None:
        if self._ready:
            return
        with self._ready_lock, self._translate_errors(), self._engine.begin() as conn:
            if self._ready:
                return
            if not self.is_sqlite:  # on SQLite, BEGIN IMMEDIATE serialises already
                conn.execute(sa.select(sa.func.pg_advisory_xact_lock(_SCHEMA_LOCK_KEY)))
            METADATA.create_all(conn)
            version = sa.select(META.c.value).where(META.c.key == "schema_version")
            stored = conn.execute(version).scalar_one_or_none()
            if stored is None:
                conn.execute(META.insert().values(key="schema_version", value=str(SCHEMA_VERSION)))
            elif int(stored) < SCHEMA_VERSION:  # an older lakegate's store: migrate it
                quote = conn.dialect.identifier_preparer.quote
                for step in range(int(stored) + 1, SCHEMA_VERSION + 1):
                    for table, column, kind in MIGRATIONS.get(step, ()):
                        present = {c["name"] for c in sa.inspect(conn).get_columns(table)}
                        if column not in present:
                            conn.execute(
                                sa.text(
                                    f"ALTER TABLE {quote(table)} ADD COLUMN {quote(column)} {kind}"
                                )
                            )
                conn.execute(
                    META.update()
                    .where(META.c.key == "schema_version")
                    .values(value=str(SCHEMA_VERSION))
                )
            elif int(stored) > SCHEMA_VERSION:
                raise StateStoreError(
                    f"state store {self.url} has schema version {stored}, newer than this "
                    f"lakegate's {SCHEMA_VERSION}: upgrade lakegate"
                )
            self._ready = True

    def _now(self, conn: sa.Connection) -> dt.datetime:
        """Now, in UTC: the PostgreSQL server's clock, or this machine's for SQLite."""
        if self.is_sqlite:
            return dt.datetime.now(dt.UTC)
        return utc(conn.execute(sa.select(sa.func.clock_timestamp())).scalar_one())

    def _insert(self, table: sa.Table) -> Any:
        """The dialect's INSERT, which has ``on_conflict_do_nothing/update``."""
        return (sqlite.insert if self.is_sqlite else postgresql.insert)(table)

    def _write_run(self, conn: sa.Connection, record: RunRecord) -> None:
        mine = RUNS.c.run_id == record.run_id, RUNS.c.pipeline_name == record.pipeline_name
        if not conn.execute(RUNS.update().where(*mine).values(**run_to_row(record))).rowcount:
            raise StateStoreError(
                f"run {record.run_id} of pipeline {record.pipeline_name!r} was never begun "
                "(call begin_run first)"
            )

    def _write_watermark(
        self,
        conn: sa.Connection,
        pipeline: str,
        value: Any,
        version: int,
        now: dt.datetime,
        boundary: Boundary | None = None,
    ) -> None:
        if value is None:
            raise TypeError("a watermark value cannot be None")
        stmt = self._insert(WATERMARKS).values(
            pipeline=pipeline,
            value=encode_value(value),
            version=int(version),
            updated_at=now,
            boundary=boundary.to_json() if boundary is not None else None,
        )
        new = {c: stmt.excluded[c] for c in ("value", "version", "updated_at", "boundary")}
        conn.execute(stmt.on_conflict_do_update(index_elements=["pipeline"], set_=new))

    def _write_files(
        self,
        conn: sa.Connection,
        pipeline: str,
        run_id: str,
        files: Mapping[str, tuple[int, int]],
        now: dt.datetime,
    ) -> None:
        stmt = self._insert(LOADED_FILES)
        new = {c: stmt.excluded[c] for c in ("size_bytes", "mtime_ns", "run_id", "loaded_at")}
        stmt = stmt.on_conflict_do_update(index_elements=["pipeline", "path"], set_=new)
        rows = [
            {"pipeline": pipeline, "path": path, "size_bytes": int(size), "mtime_ns": int(mtime)}
            for path, (size, mtime) in files.items()
        ]
        conn.execute(stmt, [row | {"run_id": run_id, "loaded_at": now} for row in rows])

    def _lock_info(self, conn: sa.Connection, pipeline: str) -> LockInfo | None:
        row = conn.execute(LOCKS.select().where(LOCKS.c.pipeline == pipeline)).mappings().first()
        return LockInfo(**row) if row is not None else None


class Lock:
    """A pipeline's writer lock, held by one run; a context manager that releases it.

    Args:
        store: The store the lock is in.
        info: The lock as acquired.
        ttl_seconds: Seconds without a heartbeat after which other runs may take it.
        taken_over: The stale holder this lock was taken from, or None.

    Attributes:
        info: The pipeline, run, host, pid and times of the lock as acquired.
        ttl_seconds: The ttl it was acquired with, in seconds.
        taken_over: Who held the lock before, when it was taken over as stale (its run
            died, or stopped sending heartbeats): that run never finished.
    """

    def __init__(
        self,
        store: StateStore,
        info: LockInfo,
        ttl_seconds: float = DEFAULT_LOCK_TTL_SECONDS,
        taken_over: LockInfo | None = None,
    ) -> None:
        self._store = store
        self.info = info
        self.ttl_seconds = ttl_seconds
        self.taken_over = taken_over

    @property
    def pipeline(self) -> str:
        """The locked pipeline."""
        return self.info.pipeline

    @property
    def run_id(self) -> str:
        """The run holding the lock."""
        return self.info.run_id

    def heartbeat(self) -> dt.datetime:
        """Tell other runs that this lock's holder is alive.

        Returns:
            The new heartbeat time (UTC).

        Raises:
            LockLostError: When the lock no longer belongs to this run (it was
                broken, or taken over after missed heartbeats): stop writing.
        """
        with self._store._begin() as conn:
            now = self._store._now(conn)
            update = LOCKS.update().where(*self._mine()).values(heartbeat_at=now)
            if not conn.execute(update).rowcount:
                raise LockLostError(
                    f"run {self.run_id} lost the lock of pipeline {self.pipeline!r}: it was "
                    "broken, or taken over by another run after missed heartbeats"
                )
        return now

    @contextmanager
    def kept_alive(self, every_seconds: float | None = None) -> Iterator[Lock]:
        """Send :meth:`heartbeat` from a background thread while the block runs, so a
        run longer than the ttl keeps its lock.

        Args:
            every_seconds: Seconds between heartbeats; default a third of the ttl.

        A heartbeat that fails is logged: a state store that is briefly down is tried
        again at the next beat; a lost lock (:class:`LockLostError`) ends the beats.
        """
        interval = every_seconds if every_seconds is not None else self.ttl_seconds / 3
        stop = threading.Event()

        def beat() -> None:
            while not stop.wait(interval):
                try:
                    self.heartbeat()
                except LockLostError as exc:
                    log.error("%s", exc)
                    return
                except StateStoreError as exc:
                    log.warning("lock heartbeat of run %s failed: %s", self.run_id, exc)

        thread = threading.Thread(target=beat, name=f"lakegate-heartbeat-{self.run_id}")
        thread.daemon = True
        thread.start()
        try:
            yield self
        finally:
            stop.set()
            thread.join()

    def release(self) -> bool:
        """Release the lock, only if it still belongs to this run.

        Returns:
            True when this run's lock was removed, False when another run (or
            nobody) holds it now.
        """
        with self._store._begin() as conn:
            return bool(conn.execute(LOCKS.delete().where(*self._mine())).rowcount)

    def _mine(self) -> tuple[sa.ColumnElement[bool], ...]:
        return LOCKS.c.pipeline == self.pipeline, LOCKS.c.run_id == self.run_id

    def __enter__(self) -> Lock:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.release()


def _is_holder(holder: LockInfo) -> sa.ColumnElement[bool]:
    """The lock row, while exactly this holder still has it."""
    return sa.and_(
        LOCKS.c.pipeline == holder.pipeline,
        LOCKS.c.run_id == holder.run_id,
        LOCKS.c.host == holder.host,
        LOCKS.c.pid == holder.pid,
    )


def _lost_message(by: str, holder: LockInfo | None, now: dt.datetime) -> str:
    """Why a run found ``running`` without a live process was closed."""
    why = (
        "lost: the run stopped without finishing: its process was killed (SIGKILL, e.g. "
        "by the out-of-memory killer or `timeout -s KILL`) or its host went down"
    )
    if holder is None:
        return f"{why}; it no longer held the pipeline's lock; closed by run {by} at {_iso(now)}"
    return (
        f"{why}; its process (pid {holder.pid} on host {holder.host}) was gone, last "
        f"heartbeat {_iso(holder.heartbeat_at)}; run {by} took over its lock at {_iso(now)}"
    )


def _iso(value: dt.datetime) -> str:
    return utc(value).isoformat(timespec="seconds").replace("+00:00", "Z")


def _sqlite_manual_transactions(dbapi_conn: Any, _record: Any) -> None:
    # pysqlite's own BEGIN is deferred and late; let the "begin" event below issue it.
    dbapi_conn.isolation_level = None


def _sqlite_begin_immediate(conn: sa.Connection) -> None:
    conn.exec_driver_sql("BEGIN IMMEDIATE")
