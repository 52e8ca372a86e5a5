"""Check kinds as frozen dataclasses: the data a check engine compiles to SQL.

A check is plain, immutable data. It knows its kind, its quality dimension
and whether it judges single rows (row-level: each row passes or fails and a
failing row can be quarantined) or the dataset as a whole (set-level: the
batch passes or fails). Compilation to SQL lives in :mod:`lakegate.checks.compile`.

Null semantics follow dbt and Great Expectations: a null passes every check
but ``not_null`` (and ``null_rate``, which measures nulls). ``mostly`` is the
fraction of the evaluated (non-null) rows that must pass, as in Great
Expectations' ``mostly`` argument.
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from enum import StrEnum
from typing import Any, ClassVar

# Parameters left out of reports while they hold their default.
_OPTIONAL_PARAMS = frozenset({"mostly", "strict_min", "strict_max", "format"})


class Severity(StrEnum):
    """How a failing check is treated. Critical row-level failures quarantine
    the row; critical set-level failures stop the load; warnings and info are
    reported and counted."""

    CRITICAL = "critical"
    WARNING = "warning"
    INFO = "info"


class Dimension(StrEnum):
    """Quality dimensions a check contributes to (the seeds' quality dimensions)."""

    COMPLETENESS = "completeness"
    UNIQUENESS = "uniqueness"
    VALIDITY = "validity"
    FRESHNESS = "freshness"
    VOLUME = "volume"


class LogicalType(StrEnum):
    """The contract's column types, independent of any engine."""

    STRING = "string"
    INTEGER = "integer"
    NUMBER = "number"
    DECIMAL = "decimal"
    BOOLEAN = "boolean"
    DATE = "date"
    TIMESTAMP = "timestamp"
    ARRAY = "array"
    OBJECT = "object"


@dataclass(frozen=True)
class ColumnType:
    """A contract column type; ``precision``/``scale`` apply to decimals only."""

    name: LogicalType
    precision: int | None = None
    scale: int | None = None

    def __str__(self) -> str:
        if self.name is LogicalType.DECIMAL and self.precision is not None:
            return f"decimal({self.precision},{self.scale or 0})"
        return self.name.value


@dataclass(frozen=True, kw_only=True)
class Check:
    """Base of every check kind.

    Attributes:
        id: Unique within one evaluation; used in results and dead-letter rows.
        severity: What a failure means (see :class:`Severity`).
    """

    kind: ClassVar[str]
    dimension: ClassVar[Dimension]
    row_level: ClassVar[bool] = False

    id: str
    severity: Severity = Severity.CRITICAL

    @property
    def columns(self) -> tuple[str, ...]:
        """The dataset columns the check reads (empty for whole-table checks)."""
        column = getattr(self, "column", None)
        return (column,) if column is not None else ()

    @property
    def ref(self) -> str | None:
        """The other dataset the check reads (its ``to``), which the caller binds to an
        engine table through ``refs``; None for checks that read only their dataset."""
        return None

    def threshold(self) -> dict[str, Any]:
        """The check's parameters as a JSON-friendly dict, for reports."""
        skip = {"id", "severity", "column", "keys"}
        optional = {f.name: f.default for f in fields(self) if f.name in _OPTIONAL_PARAMS}
        return {
            k: v
            for k, v in self.__dict__.items()
            if k not in skip and v is not None and not (k in optional and v == optional[k])
        }


# ----------------------------------------------------------------------------- row-level


@dataclass(frozen=True, kw_only=True)
class NotNull(Check):
    """Fails each row whose ``column`` is null. ``mostly`` counts over all rows."""

    kind = "not_null"
    dimension = Dimension.COMPLETENESS
    row_level = True
    column: str
    mostly: float = 1.0


@dataclass(frozen=True, kw_only=True)
class TypeCheck(Check):
    """Fails each non-null value that cannot be represented as ``type`` without loss."""

    kind = "type"
    dimension = Dimension.VALIDITY
    row_level = True
    column: str
    type: ColumnType
    mostly: float = 1.0

    def threshold(self) -> dict[str, Any]:
        return {"type": str(self.type)} | ({"mostly": self.mostly} if self.mostly < 1 else {})


@dataclass(frozen=True, kw_only=True)
class AcceptedValues(Check):
    """Fails each non-null value not in ``values``."""

    kind = "accepted_values"
    dimension = Dimension.VALIDITY
    row_level = True
    column: str
    values: tuple[Any, ...]
    mostly: float = 1.0


@dataclass(frozen=True, kw_only=True)
class Range(Check):
    """Fails each non-null value outside [min, max] (bounds exclusive when ``strict_*``)."""

    kind = "range"
    dimension = Dimension.VALIDITY
    row_level = True
    column: str
    min: Any = None
    max: Any = None
    strict_min: bool = False
    strict_max: bool = False
    mostly: float = 1.0


@dataclass(frozen=True, kw_only=True)
class Regex(Check):
    """Fails each non-null value in which ``pattern`` finds no match (search semantics,
    as JSON Schema's ``pattern`` and GX's ``expect_column_values_to_match_regex``).
    ``format`` names the format the pattern was derived from, if any."""

    kind = "regex"
    dimension = Dimension.VALIDITY
    row_level = True
    column: str
    pattern: str
    format: str | None = None
    mostly: float = 1.0


@dataclass(frozen=True, kw_only=True)
class Length(Check):
    """Fails each non-null value whose length in characters is outside [min, max]."""

    kind = "length"
    dimension = Dimension.VALIDITY
    row_level = True
    column: str
    min: int | None = None
    max: int | None = None
    mostly: float = 1.0


@dataclass(frozen=True, kw_only=True)
class Expression(Check):
    """Fails each row for which the SQL boolean ``expression`` is false (null passes,
    as dbt's ``expression_is_true``)."""

    kind = "expression"
    dimension = Dimension.VALIDITY
    row_level = True
    expression: str
    mostly: float = 1.0


# ----------------------------------------------------------------------------- set-level


@dataclass(frozen=True, kw_only=True)
class Unique(Check):
    """Fails when a non-null value of ``column`` occurs more than once. Failing rows
    count every row that holds a duplicated value (as Great Expectations does), not
    only the extra copies."""

    kind = "unique"
    dimension = Dimension.UNIQUENESS
    column: str


@dataclass(frozen=True, kw_only=True)
class UniqueCombination(Check):
    """Fails when a combination of ``columns`` occurs more than once. Rows where every
    column is null are ignored; failing rows count all rows of a duplicated combination."""

    kind = "unique_combination"
    dimension = Dimension.UNIQUENESS
    keys: tuple[str, ...]

    @property
    def columns(self) -> tuple[str, ...]:
        return self.keys


@dataclass(frozen=True, kw_only=True)
class Relationships(Check):
    """Fails when a non-null ``column`` value has no match in ``field`` of the parent
    dataset ``to`` (a name bound with ``--ref``, or a path). Failing rows count the
    orphan rows."""

    kind = "relationships"
    dimension = Dimension.VALIDITY
    column: str
    to: str
    field: str

    @property
    def ref(self) -> str:
        return self.to


@dataclass(frozen=True, kw_only=True)
class RowCount(Check):
    """Fails when the number of rows is outside [min, max]."""

    kind = "row_count"
    dimension = Dimension.VOLUME
    min: int | None = None
    max: int | None = None


@dataclass(frozen=True, kw_only=True)
class NullRate(Check):
    """Fails when the share of null values in ``column`` exceeds ``max_rate`` (0..1)."""

    kind = "null_rate"
    dimension = Dimension.COMPLETENESS
    column: str
    max_rate: float


@dataclass(frozen=True, kw_only=True)
class Freshness(Check):
    """Fails when the newest ``column`` value is older than ``max_age_seconds`` at the
    evaluation's reference time (an empty or all-null column is not fresh)."""

    kind = "freshness"
    dimension = Dimension.FRESHNESS
    column: str
    max_age_seconds: float


@dataclass(frozen=True, kw_only=True)
class Distribution(Check):
    """Bounds on a column's distribution: the mean and sample standard deviation of
    a numeric column, and the largest share (0..1) any single value may hold."""

    kind = "distribution"
    dimension = Dimension.VALIDITY
    column: str
    mean_min: float | None = None
    mean_max: float | None = None
    stddev_min: float | None = None
    stddev_max: float | None = None
    max_share: float | None = None


@dataclass(frozen=True, kw_only=True)
class CustomSql(Check):
    """A SELECT over the table ``dataset`` that returns the failing rows (dbt's
    singular-test semantics): the check passes when it returns no row."""

    kind = "custom_sql"
    dimension = Dimension.VALIDITY
    sql: str


@dataclass(frozen=True, kw_only=True)
class VolumeAnomaly(Check):
    """Fails when the batch's row count moves more than ``max_change`` away from the
    mean row count of the previous runs (the seeds' "Data Volume Variance":
    ``abs(today_rows - avg_7d_rows) / avg_7d_rows``, alert above 50%).

    The previous runs' row counts are not read by the check engine: the caller passes
    them (``evaluate_checks(history=...)``; the runner gives the batches of the
    pipeline's earlier successful and partial runs).

    Attributes:
        max_change: The largest allowed ``abs(rows - mean) / mean``, a fraction
            (0.5 = 50%). With a mean of 0 rows, only an empty batch passes.
        runs: How many previous runs (the newest) the mean is taken over.
        min_runs: With fewer previous runs than this, the check passes with a note
            saying the history is too short to judge.
    """

    kind = "volume_anomaly"
    dimension = Dimension.VOLUME
    max_change: float = 0.5
    runs: int = 7
    min_runs: int = 3

    def __post_init__(self) -> None:
        if self.max_change < 0:
            raise ValueError(f"max_change must be >= 0, got {self.max_change}")
        if self.runs < 1 or self.min_runs < 1:
            raise ValueError("runs and min_runs must be at least 1")
        if self.min_runs > self.runs:
            raise ValueError(
                f"min_runs ({self.min_runs}) exceeds runs ({self.runs}): the check could "
                "never judge"
            )


MEASURES = ("count", "sum")


@dataclass(frozen=True, kw_only=True)
class Reconciliation(Check):
    """Fails when the dataset's total differs from the total of the dataset ``to`` by
    more than ``tolerance`` of the ``to`` total (the seeds' cross-system
    reconciliation: ``variance < 0.01 * source_total``, judged here with ``<=`` so
    that a tolerance of 0 demands equal totals).

    ``to`` is usually the source and the checked dataset the target (a post-load
    gate: the loaded table against ``lake.raw``).

    Attributes:
        to: The other dataset: a name the caller binds through ``refs`` (the runner
            binds ``lake.X`` or a lake table's name to that table, else a path).
        measure: ``count`` (rows, or non-null values of ``column`` when one is given)
            or ``sum`` (of ``column``, which must be numeric).
        column: The measured column of the checked dataset (required for ``sum``).
        to_column: The measured column of ``to``; defaults to ``column``.
        tolerance: The largest allowed ``abs(total - to_total) / abs(to_total)``, a
            fraction; None means the default, 0 for count and 0.01 (1%, the seeds')
            for sum. With a ``to`` total of 0, only a total of 0 passes.
        where: A SQL boolean over the checked dataset's columns; only rows for which
            it is true are measured (parsed by sqlglot, never pasted into SQL).
        to_where: The same, over the columns of ``to``.
    """

    kind = "reconciliation"
    dimension = Dimension.COMPLETENESS
    to: str
    measure: str = "count"
    column: str | None = None
    to_column: str | None = None
    tolerance: float | None = None
    where: str | None = None
    to_where: str | None = None

    def __post_init__(self) -> None:
        if self.measure not in MEASURES:
            raise ValueError(f"measure must be one of {', '.join(MEASURES)}, not {self.measure!r}")
        if self.measure == "sum" and self.column is None:
            raise ValueError("measure sum needs a column")
        if self.to_column is not None and self.column is None:
            raise ValueError("to_column needs column (the measured column of this dataset)")
        if self.tolerance is not None and self.tolerance < 0:
            raise ValueError(f"tolerance must be >= 0, got {self.tolerance}")

    @property
    def ref(self) -> str:
        return self.to

    @property
    def effective_tolerance(self) -> float:
        """``tolerance``, or the measure's default (0 for count, 0.01 for sum)."""
        if self.tolerance is not None:
            return self.tolerance
        return 0.01 if self.measure == "sum" else 0.0

    def threshold(self) -> dict[str, Any]:
        return super().threshold() | {"tolerance": self.effective_tolerance}


CHECK_KINDS: dict[str, type[Check]] = {
    cls.kind: cls
    for cls in (
        NotNull,
        TypeCheck,
        AcceptedValues,
        Range,
        Regex,
        Length,
        Expression,
        Unique,
        UniqueCombination,
        Relationships,
        RowCount,
        NullRate,
        Freshness,
        Distribution,
        CustomSql,
        VolumeAnomaly,
        Reconciliation,
    )
}
