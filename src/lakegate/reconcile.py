"""Hard-delete reconciliation: keys the target holds that the source no longer has.

An incremental extract reads rows changed since the watermark, so a row deleted at
the source never shows up in a batch ("won't catch hard deletes — add periodic full
reconciliation", the seeds). A reconciling run also reads every merge key of the
source, and the keys of the target (and of the batch) that the source lacks are
*deleted at the source*. The run reports how many (``keys_deleted_at_source`` in the
run log) and, as configured, deletes them from the target, marks them (soft delete)
or, for an SCD2 target, closes their current version.

Order matters and is what makes it safe:

1. the batch is extracted, then the source's keys are read: a row deleted between
   the two is in the batch but not in the keys, so it is deleted after the load;
2. the deleted keys are computed and checked *before anything is written*; more than
   ``max_delete_fraction`` of the target's keys missing at the source (a truncated
   table, a wrong database) fails the run with nothing written;
3. the load commits, then the deletions commit. Deleting keys already gone changes
   nothing, so a crash in between is repaired by reconciling again: the next run
   recovers the committed load, records it as not reconciled, and reconciles itself.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

from sqlglot import exp

from lakegate.config.pipeline import Pipeline, Reconcile, SqlSource
from lakegate.state.store import StateStore

SOURCE_KEYS = "__source_keys"
DELETED_KEYS = "__deleted_keys"
CLOSED_AT = "__lakegate_closed_at"


def reconcile_config(pipeline: Pipeline) -> Reconcile | None:
    """The pipeline's reconciliation settings, or None when it has none.

    Raises:
        ConfigError: Reconciliation with a load that has no merge keys, or a soft delete
            on an SCD2 target; the error points at ``extract.source.reconcile``.
    """
    source = pipeline.extract.source
    config = source.reconcile if isinstance(source, SqlSource) else None
    if config is None:
        return None
    where = ("extract", "source", "reconcile")
    if pipeline.load.strategy not in ("merge", "scd2"):
        raise pipeline.error(
            f"reconcile needs a merge or scd2 load (its merge_keys name the rows), not "
            f"{pipeline.load.strategy}",
            where,
        )
    if pipeline.load.strategy == "scd2" and config.action == "soft_delete":
        raise pipeline.error(
            "an scd2 target keeps history: use action delete, which closes the current "
            "version of each deleted key",
            (*where, "action"),
        )
    return config


def is_due(state: StateStore, pipeline: str, config: Reconcile) -> bool:
    """True when this run should reconcile: on the first run, then once every
    ``config.every_runs`` loading runs (``success`` or ``partial``)."""
    since = state.runs_since_reconcile(pipeline)
    return since is None or since + 1 >= config.every_runs


def _keys(
    relation: str, keys: Sequence[str], types: dict[str, exp.DataType], where: exp.Expr | None
) -> exp.Select:
    select = exp.select(
        *[
            exp.cast(exp.column(k, quoted=True), types[k].copy()).as_(k, quoted=True)
            if k in types
            else exp.column(k, quoted=True)
            for k in keys
        ]
    ).from_(_t(relation))
    return select.where(where) if where is not None else select


def live_rows(
    columns: dict[str, exp.DataType], config: Reconcile, scd2_is_current: str | None
) -> exp.Expr | None:
    """The target's rows a reconciliation compares: an SCD2 table's current versions;
    rows not already soft-deleted; or every row (None)."""
    if scd2_is_current is not None:
        return exp.EQ(this=exp.column(scd2_is_current, quoted=True), expression=exp.true())
    if config.action == "soft_delete" and config.soft_delete_column in columns:
        flag = exp.column(config.soft_delete_column, quoted=True)
        return exp.Not(this=exp.Coalesce(this=flag, expressions=[exp.false()]))
    return None


def deleted_keys_query(
    keys: Sequence[str],
    *,
    target: str | None,
    target_columns: dict[str, exp.DataType],
    live: exp.Expr | None,
    batch: str,
    closed_at: dt.datetime | None = None,
) -> exp.Query:
    """The keys of the target (its live rows) and of the batch that are not in
    :data:`SOURCE_KEYS`, typed like the target's key columns.

    Args:
        keys: The merge keys.
        target: The registered target relation, or None when the table does not exist.
        target_columns: The target's column types (empty without a target).
        live: The target rows compared (see :func:`live_rows`).
        batch: The relation being loaded.
        closed_at: For an SCD2 target, adds :data:`CLOSED_AT`, the time the closed
            versions end, typed like the target's ``valid_to`` (passed in ``target_columns``
            under :data:`CLOSED_AT`).
    """
    held: exp.Query = _keys(batch, keys, target_columns, None)
    if target is not None:
        held = exp.union(_keys(target, keys, target_columns, live), held, distinct=True)
    held_keys = exp.select(*[exp.column(k, quoted=True) for k in keys]).from_(held.subquery("held"))
    missing = exp.except_(held_keys, _keys(SOURCE_KEYS, keys, target_columns, None), distinct=True)
    if closed_at is None:
        return missing
    at = exp.cast(
        exp.Literal.string(closed_at.astimezone(dt.UTC).isoformat()),
        exp.DataType.build("TIMESTAMPTZ"),
    )
    if CLOSED_AT in target_columns:
        at = exp.cast(at, target_columns[CLOSED_AT].copy())
    return exp.select(exp.Star(), at.as_(CLOSED_AT, quoted=True)).from_(missing.subquery("deleted"))


def target_keys_count(keys: Sequence[str], target: str, live: exp.Expr | None) -> exp.Select:
    """How many distinct keys the target's live rows hold."""
    select = exp.select(
        exp.Count(
            this=exp.Distinct(
                expressions=[exp.Tuple(expressions=[exp.column(k, quoted=True) for k in keys])]
            )
        )
    ).from_(_t(target))
    return select.where(live) if live is not None else select


def _t(name: str) -> exp.Table:
    return exp.to_table(exp.to_identifier(name, quoted=True).sql(dialect="duckdb"))
