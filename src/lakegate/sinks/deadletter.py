"""The dead-letter table: quarantined rows, with why and where they came from.

One Delta table per target, ``<lake>/_dead_letter/<target>``, with columns:
``rejection_id`` (``<pipeline>:<batch_version>:<n>``, unique), ``pipeline``,
``run_id``, ``batch_version`` (the pipeline's load version), ``rejected_at``
(UTC), ``failed_checks`` (list of check ids), ``record`` (the original row as
JSON text: every value, before any cast), ``record_types`` (JSON text: each
column's engine type in the batch, so a replay rebuilds the row exactly) and
``replayed_in`` (NULL, or the load version of a replay under way).

Writing a batch's rejects replaces that batch's rows (a predicate overwrite
on pipeline and batch_version, in one commit), so a re-run after a crash
never duplicates a quarantined row.

A replay (``lakegate dlq replay``) takes rows out exactly once, in three
idempotent steps around the target's commit: (1) :func:`mark_replayed` sets
``replayed_in`` to the replay's load version on the rows leaving the table;
(2) the target commits that version (a Delta app transaction); (3)
:func:`settle_replays` deletes the rows marked with a version the target holds
and unmarks the rest. A crash anywhere is settled by the next run of the
pipeline: marked rows whose version never committed stay quarantined.
"""

from __future__ import annotations

from typing import Any

from sqlglot import exp

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
)


def dead_letter_uri(lake_uri: str, target: str) -> str:
    """Where the dead-letter table of ``target`` lives."""
    return f"{lake_uri.rstrip('/')}/{DEAD_LETTER_FOLDER}/{target}"


def batch_predicate(pipeline: str, batch_version: int) -> str:
    """A delta-rs predicate selecting one batch's rows (built by sqlglot, quoted)."""
    return exp.and_(
        exp.EQ(this=exp.column("pipeline", quoted=True), expression=exp.Literal.string(pipeline)),
        exp.EQ(
            this=exp.column("batch_version", quoted=True),
            expression=exp.Literal.number(batch_version),
        ),
    ).sql(dialect="postgres")


def write_rejects(uri: str, rows: Any, *, pipeline: str, batch_version: int) -> None:
    """Replace the rows of one batch in the dead-letter table with ``rows``.

    Args:
        uri: The dead-letter table (created on first use).
        rows: A ``pyarrow.RecordBatchReader`` or table with :data:`COLUMNS`; may be empty.
        pipeline: The pipeline the batch belongs to.
        batch_version: The pipeline's load version of the batch.
    """
    from deltalake import DeltaTable, write_deltalake

    predicate = batch_predicate(pipeline, batch_version)
    if DeltaTable.is_deltatable(uri):
        write_deltalake(uri, rows, mode="overwrite", predicate=predicate)
    else:
        write_deltalake(uri, rows, mode="append")


def _pipeline_is(pipeline: str) -> exp.Expr:
    return exp.EQ(this=exp.column("pipeline", quoted=True), expression=exp.Literal.string(pipeline))


def pending_predicate(
    pipeline: str, *, run_id: str | None = None, check: str | None = None
) -> exp.Expr:
    """The rows of ``pipeline`` waiting in the dead-letter table (not under replay),
    optionally only those of one run, or those that failed one check id."""
    conditions: list[exp.Expr] = [
        _pipeline_is(pipeline),
        exp.column("replayed_in", quoted=True).is_(exp.null()),
    ]
    if run_id is not None:
        conditions.append(
            exp.EQ(this=exp.column("run_id", quoted=True), expression=exp.Literal.string(run_id))
        )
    if check is not None:
        conditions.append(
            exp.func(
                "list_contains", exp.column("failed_checks", quoted=True), exp.Literal.string(check)
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
