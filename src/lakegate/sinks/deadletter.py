"""The dead-letter table: quarantined rows, with why and where they came from.

One Delta table per target, ``<lake>/_dead_letter/<target>``, one row per failing
record (not per rejection), with columns:

* ``rejection_id``: unique; ``<pipeline>:<run_id>:<n>`` of the run that first rejected
  the record (``<pipeline>:<batch_version>:<n>`` in tables of older lakegates).
* ``pipeline``; ``record`` (the original row as JSON text: every value, before any
  cast); ``record_types`` (JSON text: each column's engine type in the batch, so a
  replay rebuilds the row exactly).
* ``record_key``: what makes a record the same record again: the SHA-256 of ``record``
  (hex), with ``#<k>`` appended for the k-th identical copy (k >= 2) in one batch, so
  identical rows of an append load stay as many rows as they were. Unique per pipeline.
* ``run_id``, ``batch_version`` (the pipeline's load version), ``rejected_at`` (UTC),
  ``failed_checks`` (list of check ids): of the **last** run that rejected the record,
  so the table says what is failing now.
* ``first_run_id``, ``first_rejected_at``: the first run that rejected it;
  ``times_rejected``: how many runs did.
* ``replayed_in``: NULL, or the load version of a replay under way.

Writing a batch's rejects is one Delta MERGE on ``(pipeline, record_key)``
(:func:`write_rejects`): a record seen before is updated (last run, checks, one more
rejection), a new one inserted. So a re-run of the same input, or a re-run after a
crash, never stores a failing record twice (the seeds' "dead letter queue": one entry
per bad record, with its reason). Tables written before ``record_key`` existed are read
as they are (:func:`read_select` fills the missing columns), and rewritten once by the
first write (:func:`upgrade_select`), which folds the copies of a record that earlier
runs stored again into one row.

A replay (``lakegate dlq replay``) takes rows out exactly once, in three
idempotent steps around the target's commit: (1) :func:`mark_replayed` sets
``replayed_in`` to the replay's load version on the rows leaving the table;
(2) the target commits that version (a Delta app transaction); (3)
:func:`settle_replays` deletes the rows marked with a version the target holds
and unmarks the rest. A crash anywhere is settled by the next run of the
pipeline: marked rows whose version never committed stay quarantined.
"""

from __future__ import annotations

import logging
from collections.abc import Collection
from typing import Any

from sqlglot import exp

log = logging.getLogger(__name__)

DEAD_LETTER_FOLDER = "_dead_letter"
COLUMNS = (
    "rejection_id",
    "pipeline",
    "run_id",
    "batch_version",
    "rejected_at",
    "failed_checks",
    "record",
    "record_types",
    "replayed_in",
    "record_key",
    "first_run_id",
    "first_rejected_at",
    "times_rejected",
)
# The columns __rejects-like tables hold (the runner's quarantine step): one row per rejected row.
REJECT_COLUMNS = ("pipeline", "run_id", "rejected_at", "failed_checks", "record", "record_types")
_BIGINT = exp.DataType.build("BIGINT")
_VARCHAR = exp.DataType.build("VARCHAR")


def dead_letter_uri(lake_uri: str, target: str) -> str:
    """Where the dead-letter table of ``target`` lives."""
    return f"{lake_uri.rstrip('/')}/{DEAD_LETTER_FOLDER}/{target}"


def _c(name: str, table: str | None = None) -> exp.Column:
    return exp.column(name, table, quoted=True)


def _concat(*parts: exp.Expr) -> exp.Expr:
    result = parts[0]
    for part in parts[1:]:
        result = exp.DPipe(this=result, expression=part, safe=True)
    return result


def _copy_suffix(number: exp.Expr) -> exp.Expr:
    """``''`` for the first copy of a record, ``'#k'`` for the k-th."""
    return exp.Case(
        ifs=[
            exp.If(
                this=exp.GT(this=number.copy(), expression=exp.Literal.number(1)),
                true=_concat(exp.Literal.string("#"), exp.cast(number.copy(), _VARCHAR)),
            )
        ],
        default=exp.Literal.string(""),
    )


def _by(column: exp.Expr) -> exp.Order:
    return exp.Order(expressions=[exp.Ordered(this=column.copy())])


def _sha256(value: exp.Expr) -> exp.Expr:
    """SHA-256 of ``value`` as 64 hex characters (DuckDB ``sha256``, Spark ``sha2(x, 256)``)."""
    return exp.SHA2(this=value, length=exp.Literal.number(256))


def rejects_select(table: str, *, batch_version: int) -> exp.Select:
    """The dead-letter rows (:data:`COLUMNS`) of one batch's rejects, keyed for
    :func:`write_rejects`.

    Args:
        table: A table (DuckDB) with :data:`REJECT_COLUMNS`, one row per rejected row, all
            of one run.
        batch_version: The pipeline's load version of the batch.

    Returns:
        A DuckDB query; each row a first rejection (``first_*`` from this run,
        ``times_rejected`` 1), which the merge keeps only for records not seen before.
    """
    record = _c("record")
    numbered = exp.select(
        *[_c(c) for c in REJECT_COLUMNS],
        # Numbered in the records' order: the same ids on every engine (Spark wants an order).
        exp.Window(this=exp.RowNumber(), order=_by(record)).as_("__n"),
        exp.Window(this=exp.RowNumber(), partition_by=[record.copy()], order=_by(record)).as_(
            "__copy"
        ),
    ).from_(exp.to_table(table, quoted=True))
    sep = exp.Literal.string(":")
    return exp.select(
        _concat(_c("pipeline"), sep, _c("run_id"), sep, exp.cast(_c("__n"), _VARCHAR)).as_(
            "rejection_id"
        ),
        _c("pipeline"),
        _c("run_id"),
        exp.cast(exp.Literal.number(batch_version), _BIGINT).as_("batch_version"),
        *[_c(c) for c in ("rejected_at", "failed_checks", "record", "record_types")],
        exp.cast(exp.null(), _BIGINT).as_("replayed_in"),
        _concat(_sha256(record.copy()), _copy_suffix(_c("__copy"))).as_("record_key"),
        _c("run_id").as_("first_run_id"),
        _c("rejected_at").as_("first_rejected_at"),
        exp.cast(exp.Literal.number(1), _BIGINT).as_("times_rejected"),
    ).from_(numbered.subquery("numbered"))


def read_select(table: str, present: Collection[str]) -> exp.Select:
    """Every :data:`COLUMNS` of a dead-letter table of any lakegate version.

    Args:
        table: The dead-letter table as registered in DuckDB.
        present: The columns it has (a table of an older lakegate lacks some).

    Returns:
        A DuckDB query: a missing ``replayed_in`` and ``record_key`` are NULL, a missing
        ``first_run_id``/``first_rejected_at`` is the row's run and time, a missing
        ``times_rejected`` is 1 (such tables held one row per rejection).
    """
    defaults: dict[str, exp.Expr] = {
        "replayed_in": exp.cast(exp.null(), _BIGINT),
        "record_key": exp.cast(exp.null(), _VARCHAR),
        "first_run_id": _c("run_id"),
        "first_rejected_at": _c("rejected_at"),
        "times_rejected": exp.cast(exp.Literal.number(1), _BIGINT),
    }
    return exp.select(*[_c(c) if c in present else defaults[c].as_(c) for c in COLUMNS]).from_(
        exp.to_table(table, quoted=True)
    )


def needs_upgrade(uri: str) -> bool:
    """Whether ``uri`` is a dead-letter table written before ``record_key`` existed."""
    import pyarrow as pa
    from deltalake import DeltaTable

    if not DeltaTable.is_deltatable(uri):
        return False
    return "record_key" not in pa.schema(DeltaTable(uri).schema().to_arrow()).names


def upgrade_select(table: str, present: Collection[str]) -> exp.Select:
    """An older dead-letter table's rows as they are stored now: keyed, one per record.

    Older lakegates stored a record again each time a run rejected it; those copies
    fold into one row (first and last run, ``times_rejected`` = how many there were).
    Identical rows of one batch stay separate rows (``record_key`` ``#k``).

    Args:
        table: The older table as registered in DuckDB.
        present: Its columns.

    Returns:
        A DuckDB query with :data:`COLUMNS`.
    """
    rows = read_select(table, present)
    copy = exp.Window(
        this=exp.RowNumber(),
        partition_by=[_c("pipeline"), _c("batch_version"), _c("record")],
        order=exp.Order(expressions=[exp.Ordered(this=_c("rejection_id"))]),
    )
    keyed = exp.select(
        *[_c(c) for c in COLUMNS if c != "record_key"],
        _concat(_sha256(_c("record")), _copy_suffix(copy)).as_("record_key"),
    ).from_(rows.subquery("legacy"))
    version = _c("batch_version")

    def first(name: str) -> exp.Expr:
        return exp.func("arg_min", _c(name), version.copy())

    def last(name: str) -> exp.Expr:
        return exp.func("arg_max", _c(name), version.copy())

    return (
        exp.select(
            first("rejection_id").as_("rejection_id"),
            _c("pipeline"),
            last("run_id").as_("run_id"),
            exp.Max(this=version.copy()).as_("batch_version"),
            exp.Max(this=_c("rejected_at")).as_("rejected_at"),
            last("failed_checks").as_("failed_checks"),
            exp.func("any_value", _c("record")).as_("record"),
            last("record_types").as_("record_types"),
            exp.Max(this=_c("replayed_in")).as_("replayed_in"),
            _c("record_key"),
            first("first_run_id").as_("first_run_id"),
            exp.Min(this=_c("first_rejected_at")).as_("first_rejected_at"),
            exp.cast(exp.Sum(this=_c("times_rejected")), _BIGINT).as_("times_rejected"),
        )
        .from_(keyed.subquery("keyed"))
        .group_by(_c("pipeline"), _c("record_key"))
    )


def rewrite(uri: str, rows: Any) -> None:
    """Replace the whole dead-letter table, schema included, in one commit (the upgrade of
    an older table: ``rows`` from :func:`upgrade_select`, materialised first, since they
    are read from the table being replaced)."""
    from deltalake import write_deltalake

    write_deltalake(uri, rows, mode="overwrite", schema_mode="overwrite")


def write_rejects(uri: str, rows: Any, *, pipeline: str) -> tuple[int, int]:
    """Store one batch's rejects: new records are inserted, records seen before updated.

    A record is the same when its ``record_key`` is (see the module docstring); its row
    then takes the new run's ``run_id``, ``batch_version``, ``rejected_at``,
    ``failed_checks`` and ``record_types``, and ``times_rejected`` grows by one (not for
    a second write of the same run). ``rejection_id`` and the ``first_*`` columns stay.

    Args:
        uri: The dead-letter table (created on first use); upgraded already when older
            (:func:`needs_upgrade`).
        rows: A ``pyarrow.RecordBatchReader`` or table from :func:`rejects_select`
            (:data:`COLUMNS`, ``record_key`` unique); may be empty.
        pipeline: The pipeline the batch belongs to.

    Returns:
        ``(records new to the table, records seen again)``.
    """
    from deltalake import DeltaTable, write_deltalake

    if not DeltaTable.is_deltatable(uri):
        import pyarrow as pa

        table = pa.table(rows) if not isinstance(rows, pa.Table) else rows
        write_deltalake(uri, table, mode="append")
        return table.num_rows, 0
    on = exp.and_(
        *[
            exp.EQ(this=_c(c, "target"), expression=_c(c, "source"))
            for c in ("pipeline", "record_key")
        ],
        exp.EQ(this=_c("pipeline", "target"), expression=exp.Literal.string(pipeline)),
    )
    again = exp.Case(
        ifs=[
            exp.If(
                this=exp.EQ(this=_c("run_id", "target"), expression=_c("run_id", "source")),
                true=_c("times_rejected", "target"),
            )
        ],
        default=exp.Add(this=_c("times_rejected", "target"), expression=exp.Literal.number(1)),
    )
    latest = ("run_id", "batch_version", "rejected_at", "failed_checks", "record_types")
    updates = {f'"{c}"': _c(c, "source").sql(dialect="postgres") for c in latest}
    updates['"times_rejected"'] = again.sql(dialect="postgres")
    metrics = (
        DeltaTable(uri)
        .merge(rows, on.sql(dialect="postgres"), source_alias="source", target_alias="target")
        .when_matched_update(updates)
        .when_not_matched_insert_all()
        .execute()
    )
    new = int(metrics.get("num_target_rows_inserted") or 0)
    seen = int(metrics.get("num_target_rows_updated") or 0)
    log.info("dead-letter rows of %s: %d new, %d failing again", pipeline, new, seen)
    return new, seen


def _pipeline_is(pipeline: str) -> exp.Expr:
    return exp.EQ(this=exp.column("pipeline", quoted=True), expression=exp.Literal.string(pipeline))


def pending_predicate(
    pipeline: str, *, run_id: str | None = None, check: str | None = None
) -> exp.Expr:
    """The rows of ``pipeline`` waiting in the dead-letter table (not under replay),
    optionally only those one run rejected (first or last), or those that failed one
    check id (in the last run that rejected them). Over :func:`read_select`'s columns."""
    conditions: list[exp.Expr] = [
        _pipeline_is(pipeline),
        exp.column("replayed_in", quoted=True).is_(exp.null()),
    ]
    if run_id is not None:  # the first or the last run that rejected the record
        conditions.append(
            exp.or_(
                *[
                    exp.EQ(this=_c(column), expression=exp.Literal.string(run_id))
                    for column in ("run_id", "first_run_id")
                ]
            )
        )
    if check is not None:
        conditions.append(
            exp.ArrayContains(
                this=exp.column("failed_checks", quoted=True), expression=exp.Literal.string(check)
            )
        )
    return exp.and_(*conditions)


def mark_replayed(uri: str, rejection_ids: Any, *, pipeline: str, version: int) -> int:
    """Step 1 of a replay: mark the rows leaving the table with the replay's load version.

    Args:
        uri: The dead-letter table.
        rejection_ids: A pyarrow array (or list) of ``rejection_id`` values.
        pipeline: The pipeline replaying.
        version: The load version the replay commits to the target.

    Returns:
        The rows marked (0 commits nothing).
    """
    import pyarrow as pa
    from deltalake import DeltaTable

    ids = pa.table({"rejection_id": pa.array(rejection_ids, pa.string())})
    if not ids.num_rows:
        return 0
    on = exp.and_(
        exp.EQ(
            this=exp.column("rejection_id", "target", quoted=True),
            expression=exp.column("rejection_id", "source", quoted=True),
        ),
        exp.EQ(
            this=exp.column("pipeline", "target", quoted=True),
            expression=exp.Literal.string(pipeline),
        ),
    )
    metrics = (
        DeltaTable(uri)
        .merge(ids, on.sql(dialect="postgres"), source_alias="source", target_alias="target")
        .when_matched_update({'"replayed_in"': str(int(version))})
        .execute()
    )
    return int(metrics.get("num_target_rows_updated") or 0)


def settle_replays(uri: str, *, pipeline: str, committed: int | None) -> tuple[int, int]:
    """Step 3 of a replay, and crash recovery: rows marked with a load version the target
    holds (``<= committed``) leave the table; rows marked with a later one are unmarked
    (that replay never committed, so they stay quarantined).

    Args:
        uri: The dead-letter table (nothing happens when it does not exist).
        pipeline: The pipeline whose rows to settle.
        committed: The pipeline's committed load version in the target, or None.

    Returns:
        ``(rows removed, rows unmarked)``; a step that matches nothing commits nothing.
    """
    import pyarrow as pa
    from deltalake import DeltaTable

    if not DeltaTable.is_deltatable(uri):
        return 0, 0
    table = DeltaTable(uri)
    if "replayed_in" not in pa.schema(table.schema().to_arrow()).names or not _any_marked(table):
        return 0, 0
    marked = exp.column("replayed_in", quoted=True)
    removed = released = 0
    if committed is not None:
        done = exp.and_(
            _pipeline_is(pipeline), exp.LTE(this=marked, expression=exp.Literal.number(committed))
        )
        removed = int(table.delete(done.sql(dialect="postgres")).get("num_deleted_rows") or 0)
    after = exp.Literal.number(committed if committed is not None else -1)
    undone = exp.and_(_pipeline_is(pipeline), exp.GT(this=marked, expression=after))
    released = int(
        table.update(
            updates={'"replayed_in"': "NULL"}, predicate=undone.sql(dialect="postgres")
        ).get("num_updated_rows")
        or 0
    )
    return removed, released


def _any_marked(table: Any) -> bool:
    """Whether any row may have ``replayed_in`` set, from the files' statistics alone
    (every run settles, so the common case, nothing marked, must not scan the table).
    True when a file lacks statistics."""
    import pyarrow as pa

    actions = pa.table(table.get_add_actions(flatten=True))
    column = "null_count.replayed_in"
    if column not in actions.column_names:
        return actions.num_rows > 0
    nulls = actions.column(column).to_pylist()
    rows = actions.column("num_records").to_pylist()
    return any(n is None or r is None or n < r for n, r in zip(nulls, rows, strict=True))
