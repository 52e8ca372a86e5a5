"""The dead-letter table: quarantined rows, with why and where they came from.

One Delta table per target, ``<lake>/_dead_letter/<target>``, with columns:
``pipeline``, ``run_id``, ``batch_version`` (the pipeline's load version),
``rejected_at`` (UTC), ``failed_checks`` (list of check ids) and ``record``
(the original row as JSON text: every value, before any cast).

Writing a batch's rejects replaces that batch's rows (a predicate overwrite
on pipeline and batch_version, in one commit), so a re-run after a crash
never duplicates a quarantined row.
"""

from __future__ import annotations

from typing import Any

from sqlglot import exp

DEAD_LETTER_FOLDER = "_dead_letter"
COLUMNS = ("pipeline", "run_id", "batch_version", "rejected_at", "failed_checks", "record")


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
