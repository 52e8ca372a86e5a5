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
    )
}
