"""How new a table's data is: the newest value of its freshness column, recorded per run.

Freshness is the age of the newest data a table holds (the seeds' ``data_freshness_hours``,
"hours since last data update"), not the time since the last run: a run that loads
data from 2013 today leaves a table that is years stale, and a run that finds no new
file leaves it as stale as it was. A run records the newest data in its run record
(``RunRecord.data_newest_at``) as it loads, so ``lakegate status`` and the metrics read it
without scanning the table:

1. the *freshness column* (:func:`freshness_column`) is the contract's
   ``quality.freshness`` column (its ``column:``, or the contract's only date or
   timestamp property), else the column of a ``freshness`` check of the pipeline's
   gates, else the extract's ``incremental_key``;
2. the run's value is ``MAX(column)`` over the rows it loads (rejected rows are not
   loaded), when the column is a date or timestamp (a date is its midnight, UTC; a
   naive timestamp is UTC);
3. without such a column, the newest modification time of the source files the run
   read stands in (the "source modification time");
4. the table's value is the newer of the run's value and the one recorded by the run
   before (:func:`table_newest`); a load that replaces the whole table (``overwrite``)
   keeps only the run's value. A run that loads nothing carries the value over.

The time since the last successful run is reported next to it, separately.
"""

from __future__ import annotations

import datetime as dt
import os
from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING, Any

from sqlglot import exp

from lakegate.errors import ConfigError

if TYPE_CHECKING:
    from lakegate.checks.model import Check
    from lakegate.config.contract import Contract
    from lakegate.config.pipeline import Pipeline
    from lakegate.engines.base import Engine
    from lakegate.state.records import RunRecord
    from lakegate.state.store import StateStore

# Runs read back to find the value recorded before (runs killed before they finished
# record none).
PREVIOUS_RUNS = 20


def freshness_column(
    pipeline: Pipeline, contract: Contract | None, checks: Iterable[Check] = ()
) -> str | None:
    """The column a pipeline's freshness is measured on (rule 1 of the module docstring).

    Args:
        pipeline: The pipeline (its ``incremental_key`` is the last resort).
        contract: Its data contract, or None.
        checks: The compiled checks of its gates (pre-load, then post-load); a
            ``freshness`` check among them names the column when the contract does not.

    Returns:
        The column's name, or None when nothing names one.
    """
    from lakegate.checks.model import Freshness
    from lakegate.contracts.compile import contract_checks

    found: list[Check] = []
    if contract is not None and contract.quality.freshness is not None:
        try:
            found = list(contract_checks(contract, ["freshness"]))
        except ConfigError:  # no column and several timestamps: the gate says so
            found = []
    found += list(checks)
    column = next((c.column for c in found if isinstance(c, Freshness)), None)
    return column or pipeline.extract.incremental_key


def batch_newest(
    engine: Engine, table: str, column: str | None, files: Sequence[str] = ()
) -> dt.datetime | None:
    """The newest data of a batch (rules 2 and 3 of the module docstring).

    Args:
        engine: The engine holding the batch.
        table: The batch's table or view on the engine.
        column: The freshness column (:func:`freshness_column`), or None.
        files: The source files the batch was read from (absolute paths), or empty.

    Returns:
        The newest value (aware UTC), or None when the batch holds none (no rows, only
        nulls, no date or timestamp column and no file).
    """
    types = engine.columns(table)
    kind = types.get(column) if column is not None else None
    if column is not None and kind is not None and kind.this in exp.DataType.TEMPORAL_TYPES:
        query = exp.select(exp.Max(this=exp.column(column, quoted=True))).from_(
            exp.Table(this=exp.to_identifier(table, quoted=True))
        )
        return as_utc(engine.query(query)[0][0])
    stamps = [os.stat(path).st_mtime for path in files if os.path.exists(path)]
    return dt.datetime.fromtimestamp(max(stamps), dt.UTC) if stamps else None


def table_newest(
    before: dt.datetime | None, batch: dt.datetime | None, *, replaces: bool
) -> dt.datetime | None:
    """The table's newest data after a load (rule 4 of the module docstring).

    Args:
        before: What the run before recorded, or None.
        batch: The loaded batch's newest data (:func:`batch_newest`), or None.
        replaces: True when the load replaces the whole table (``overwrite``).
    """
    if replaces or before is None or batch is None:
        return batch if replaces or batch is not None else before
    return max(before, batch)


def recorded_newest(state: StateStore, pipeline: str) -> dt.datetime | None:
    """The newest data the pipeline's latest run that recorded one holds, or None.

    Args:
        state: An open state store.
        pipeline: The pipeline's name.
    """
    return newest_of(state.runs(pipeline, limit=PREVIOUS_RUNS))


def newest_of(runs: Sequence[RunRecord]) -> dt.datetime | None:
    """``data_newest_at`` of the newest finished run that recorded one.

    Args:
        runs: Run records, newest first.
    """
    return next(
        (r.data_newest_at for r in runs if r.status != "running" and r.data_newest_at), None
    )


def as_utc(value: Any) -> dt.datetime | None:
    """A date or datetime as an aware UTC datetime (naive means UTC; a date is its
    midnight), or None for anything else."""
    if isinstance(value, dt.datetime):
        return value.replace(tzinfo=dt.UTC) if value.tzinfo is None else value.astimezone(dt.UTC)
    if isinstance(value, dt.date):
        return dt.datetime(value.year, value.month, value.day, tzinfo=dt.UTC)
    return None
