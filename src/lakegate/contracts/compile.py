"""Compile a contract into checks.

The mapping (DESIGN.md, issue 2):

=================================  ====================================
contract                           check
=================================  ====================================
property ``type``                  type
``schema.required``                not_null
``enum``                           accepted_values
``minimum`` / ``maximum``          range (``exclusive*`` -> strict bounds)
``pattern``, ``format``            regex (format on string columns only)
``maxLength`` / ``minLength``      length
``unique: true``                   unique
``quality.freshness``              freshness
``quality.volume``                 row_count
``quality.completeness``           null_rate
``quality.uniqueness``             unique / unique_combination
``quality.validity``               range / accepted_values / regex
``checks:`` (column or table)      the kind named by ``type`` (also
                                   volume_anomaly and reconciliation,
                                   which only ``checks:`` declare)
=================================  ====================================

Check ids are ``<column>.<kind>`` for column checks and ``<kind>`` (or
``unique_combination.<a>.<b>``) for table checks; a clash gets ``#2``,
``#3``, ... unless the check is an exact duplicate, which is dropped.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any, Literal

import pydantic
from pydantic import BaseModel, ConfigDict, Field

from lakegate.checks import model as m
from lakegate.config.contract import CheckSpec, Contract, Property
from lakegate.config.durations import parse_duration
from lakegate.errors import ConfigError

# Regular expressions for JSON Schema formats on string columns (search semantics, anchored).
FORMAT_PATTERNS: dict[str, str] = {
    "uuid": r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$",
    "email": r"^[^@\s]+@[^@\s]+\.[^@\s]+$",
    "date": r"^\d{4}-\d{2}-\d{2}$",
    "date-time": r"^\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:?\d{2})?$",
    "time": r"^\d{2}:\d{2}(:\d{2}(\.\d+)?)?$",
    "uri": r"^[a-zA-Z][a-zA-Z0-9+.-]*://\S+$",
    "ipv4": r"^((25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)\.){3}(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)$",
    "hostname": r"^[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?(\.[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*$",
}
FORMAT_PATTERNS["ISO8601"] = FORMAT_PATTERNS["date-time"]
FORMAT_PATTERNS["iso8601"] = FORMAT_PATTERNS["date-time"]


# ----------------------------------------------------------------------------- explicit params


class _Params(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    column: str | None = Field(default=None, description="For table-level checks only.")


class _Mostly(_Params):
    mostly: float = Field(default=1.0, gt=0, le=1)


class _TypeParams(_Mostly):
    type: m.LogicalType
    precision: int | None = None
    scale: int | None = None


class _ValuesParams(_Mostly):
    values: list[Any] = Field(min_length=1)


class _RangeParams(_Mostly):
    min: Any = None
    max: Any = None
    strict_min: bool = False
    strict_max: bool = False


class _RegexParams(_Mostly):
    pattern: str


class _FormatParams(_Mostly):
    format: str


class _LengthParams(_Mostly):
    min: int | None = Field(default=None, ge=0)
    max: int | None = Field(default=None, ge=0)


class _ExpressionParams(_Mostly):
    expression: str


class _CombinationParams(_Params):
    columns: list[str] = Field(min_length=1)


class _RelationshipParams(_Params):
    to: str
    field: str


class _RowCountParams(_Params):
    min: int | None = Field(default=None, ge=0)
    max: int | None = Field(default=None, ge=0)


class _NullRateParams(_Params):
    max: float = Field(ge=0, le=1)


class _FreshnessParams(_Params):
    max_age: str | float = Field(description="e.g. 48h, 3 days, or seconds")


class _DistributionParams(_Params):
    mean_min: float | None = None
    mean_max: float | None = None
    stddev_min: float | None = None
    stddev_max: float | None = None
    max_share: float | None = Field(default=None, gt=0, le=1)


class _SqlParams(_Params):
    sql: str


class _VolumeAnomalyParams(_Params):
    max_change: float = Field(
        default=0.5, ge=0, description="Largest abs(rows - mean) / mean (0.5 = 50%, the seeds')."
    )
    runs: int = Field(default=7, ge=1, description="Previous runs the mean is taken over.")
    min_runs: int = Field(default=3, ge=1, description="Fewer previous runs: not judged.")


class _ReconciliationParams(_Params):
    to: str = Field(min_length=1, description="lake.<table>, a lake table's name, or a path.")
    measure: Literal["count", "sum"] = "count"
    to_column: str | None = Field(default=None, description="Defaults to column.")
    tolerance: float | None = Field(
        default=None, ge=0, description="Relative; default 0 for count, 0.01 for sum."
    )
    where: str | None = Field(default=None, description="SQL boolean over this dataset.")
    to_where: str | None = Field(default=None, description="SQL boolean over the 'to' dataset.")


_PARAMS: dict[str, type[_Params]] = {
    "not_null": _Mostly,
    "type": _TypeParams,
    "accepted_values": _ValuesParams,
    "range": _RangeParams,
    "regex": _RegexParams,
    "format": _FormatParams,
    "length": _LengthParams,
    "expression": _ExpressionParams,
    "unique": _Params,
    "unique_combination": _CombinationParams,
    "relationships": _RelationshipParams,
    "row_count": _RowCountParams,
    "null_rate": _NullRateParams,
    "freshness": _FreshnessParams,
    "distribution": _DistributionParams,
    "custom_sql": _SqlParams,
    "volume_anomaly": _VolumeAnomalyParams,
    "reconciliation": _ReconciliationParams,
}
_TABLE_KINDS = {
    "unique_combination",
    "row_count",
    "custom_sql",
    "expression",
    "volume_anomaly",
    "reconciliation",
}


class _Builder:
    """Collects checks, assigns unique ids and drops exact duplicates."""

    def __init__(self, contract: Contract) -> None:
        self.contract = contract
        self.checks: list[m.Check] = []
        self._ids: set[str] = set()
        self._signatures: set[tuple[Any, ...]] = set()

    def add(
        self, cls: type[m.Check], base_id: str, explicit_id: bool = False, **kwargs: Any
    ) -> None:
        probe = cls(id=base_id, **kwargs)
        signature = (
            cls.kind,
            probe.columns,
            repr(sorted(probe.threshold().items())),
            probe.severity,
        )
        if signature in self._signatures and not explicit_id:
            return
        check_id, n = base_id, 1
        while check_id in self._ids:
            if explicit_id:
                raise ConfigError(f"two checks share the id {base_id!r}", path=self.contract.path)
            n += 1
            check_id = f"{base_id}#{n}"
        self._ids.add(check_id)
        self._signatures.add(signature)
        self.checks.append(probe if check_id == base_id else cls(id=check_id, **kwargs))


def column_type(prop: Property) -> m.ColumnType:
    """The check model's type for a contract property."""
    return m.ColumnType(prop.type, prop.precision, prop.scale)


def contract_types(contract: Contract) -> dict[str, m.ColumnType]:
    """``{column: ColumnType}`` of every property of ``contract``: the types its data is
    conformed to (see :mod:`lakegate.checks.conform`)."""
    return {name: column_type(prop) for name, prop in contract.schema_.properties.items()}


def arrow_schema(contract: Contract) -> Any:
    """The contract's columns as a ``pyarrow.Schema``, to type schemaless sources (REST).

    ``array`` and ``object`` properties are left out (their shape is not declared:
    readers infer it). Timestamps are ``timestamp[us, UTC]``; ``decimal`` without a
    precision is ``decimal128(38, 9)``.
    """
    import pyarrow as pa

    kinds = {
        m.LogicalType.STRING: pa.string(),
        m.LogicalType.INTEGER: pa.int64(),
        m.LogicalType.NUMBER: pa.float64(),
        m.LogicalType.BOOLEAN: pa.bool_(),
        m.LogicalType.DATE: pa.date32(),
        m.LogicalType.TIMESTAMP: pa.timestamp("us", tz="UTC"),
    }
    fields = []
    for name, prop in contract.schema_.properties.items():
        if prop.type == m.LogicalType.DECIMAL:
            kind = pa.decimal128(prop.precision or 38, prop.scale if prop.scale is not None else 9)
        elif prop.type in kinds:
            kind = kinds[m.LogicalType(prop.type)]
        else:
            continue
        fields.append(pa.field(name, kind))
    return pa.schema(fields)


def _property_checks(b: _Builder, name: str, prop: Property, required: bool) -> None:
    sev = m.Severity.CRITICAL
    b.add(m.TypeCheck, f"{name}.type", column=name, type=column_type(prop), severity=sev)
    if required:
        b.add(m.NotNull, f"{name}.not_null", column=name, severity=sev)
    if prop.enum is not None:
        b.add(
            m.AcceptedValues,
            f"{name}.accepted_values",
            column=name,
            values=tuple(prop.enum),
            severity=sev,
        )
    low = prop.minimum if prop.minimum is not None else prop.exclusive_minimum
    high = prop.maximum if prop.maximum is not None else prop.exclusive_maximum
    if low is not None or high is not None:
        b.add(
            m.Range,
            f"{name}.range",
            column=name,
            min=low,
            max=high,
            strict_min=prop.minimum is None and prop.exclusive_minimum is not None,
            strict_max=prop.maximum is None and prop.exclusive_maximum is not None,
            severity=sev,
        )
    if prop.pattern is not None:
        b.add(m.Regex, f"{name}.regex", column=name, pattern=prop.pattern, severity=sev)
    if prop.format is not None and prop.type is m.LogicalType.STRING:
        if prop.format not in FORMAT_PATTERNS:
            raise b.contract.error(
                f"unknown format {prop.format!r}; known: {', '.join(sorted(FORMAT_PATTERNS))} "
                "(or give a pattern)",
                ("schema", "properties", name, "format"),
            )
        b.add(
            m.Regex,
            f"{name}.format",
            column=name,
            pattern=FORMAT_PATTERNS[prop.format],
            format=prop.format,
            severity=sev,
        )
    if prop.max_length is not None or prop.min_length is not None:
        b.add(
            m.Length,
            f"{name}.length",
            column=name,
            min=prop.min_length,
            max=prop.max_length,
            severity=sev,
        )
    if prop.unique:
        b.add(m.Unique, f"{name}.unique", column=name, severity=sev)


@dataclass(frozen=True)
class CheckDraft:
    """An explicit check, validated but not yet given its final id."""

    cls: type[m.Check]
    base_id: str
    explicit_id: bool
    kwargs: dict[str, Any]


ErrorAt = Callable[[str, tuple[str | int, ...]], ConfigError]


def draft_check(
    kind: str,
    params: Mapping[str, Any],
    *,
    severity: m.Severity,
    check_id: str | None,
    column: str | None,
    loc: tuple[str | int, ...],
    error_at: ErrorAt,
    known_columns: Iterable[str] | None = None,
) -> CheckDraft:
    """Validate an explicit ``{type, params, severity}`` check (in a contract or a gate).

    Args:
        kind: The check type (aliases already resolved).
        params: Its parameters; unknown ones are errors.
        severity: critical, warning or info.
        check_id: An explicit id, or None for ``<column>.<kind>`` / ``<kind>``.
        column: The column a column-level check sits under, or None.
        loc: Where the check is in its file, for error positions.
        error_at: Builds a positioned ConfigError from a message and a loc.
        known_columns: When given, the columns a check may name.

    Raises:
        ConfigError: Unknown or invalid parameters, or a missing or unknown column.
    """
    if kind not in _PARAMS:
        raise error_at(
            f"unknown check type {kind!r}; known: {', '.join(sorted(_PARAMS))}", (*loc, "type")
        )
    try:
        p = _PARAMS[kind].model_validate(dict(params))
    except pydantic.ValidationError as exc:
        err = exc.errors(include_url=False)[0]
        what = "unknown parameter" if err["type"] == "extra_forbidden" else err["msg"]
        raise error_at(f"{kind}: {what}", (*loc, "params", *err["loc"])) from None
    if column is not None and p.column is not None:
        raise error_at("a column check takes no 'column' parameter", (*loc, "params"))
    col = column or p.column
    if col is None and kind not in _TABLE_KINDS:
        raise error_at(f"a table-level {kind} check needs params.column", (*loc, "params"))
    if col is not None and known_columns is not None and col not in set(known_columns):
        raise error_at(
            f"names column {col!r}, which is not in schema.properties", (*loc, "params", "column")
        )
    base = check_id or (f"{col}.{kind}" if col else kind)
    if kind == "unique_combination":
        base = check_id or ".".join(["unique_combination", *p.columns])  # type: ignore[attr-defined]
    try:
        cls, kwargs = _explicit_kwargs(kind, col, p.model_dump(exclude={"column"}))
        cls(id=base, **kwargs)  # the kind's own rules (e.g. a reconciled sum needs a column)
    except ValueError as exc:
        raise error_at(str(exc), (*loc, "params")) from None
    return CheckDraft(cls, base, check_id is not None, {**kwargs, "severity": severity})


def _explicit_check(
    b: _Builder, spec: CheckSpec, column: str | None, loc: tuple[str | int, ...]
) -> None:
    d = draft_check(
        spec.kind,
        spec.params,
        severity=spec.severity,
        check_id=spec.id,
        column=column,
        loc=loc,
        error_at=b.contract.error,
        known_columns=b.contract.schema_.properties,
    )
    b.add(d.cls, d.base_id, explicit_id=d.explicit_id, **d.kwargs)


def _explicit_kwargs(
    kind: str, col: str | None, a: dict[str, Any]
) -> tuple[type[m.Check], dict[str, Any]]:
    on_col = {"column": col} if col is not None else {}
    if kind == "type":
        return m.TypeCheck, {
            **on_col,
            "type": m.ColumnType(a["type"], a["precision"], a["scale"]),
            "mostly": a["mostly"],
        }
    if kind == "accepted_values":
        return m.AcceptedValues, {**on_col, "values": tuple(a["values"]), "mostly": a["mostly"]}
    if kind == "format":
        if a["format"] not in FORMAT_PATTERNS:
            raise ValueError(
                f"unknown format {a['format']!r}; known: {', '.join(sorted(FORMAT_PATTERNS))}"
            )
        return m.Regex, {
            **on_col,
            "pattern": FORMAT_PATTERNS[a["format"]],
            "format": a["format"],
            "mostly": a["mostly"],
        }
    if kind == "unique_combination":
        return m.UniqueCombination, {"keys": tuple(a["columns"])}
    if kind == "null_rate":
        return m.NullRate, {**on_col, "max_rate": a["max"]}
    if kind == "freshness":
        return m.Freshness, {**on_col, "max_age_seconds": parse_duration(a["max_age"])}
    if kind == "volume_anomaly" and col is not None:
        raise ValueError("volume_anomaly judges the whole dataset and takes no column")
    if kind == "expression" and col is not None:
        # A column-level expression reads its column; it is written in terms of it.
        return m.Expression, {"expression": a["expression"], "mostly": a["mostly"]}
    return m.CHECK_KINDS[kind], {**on_col, **a}


def _quality_checks(b: _Builder) -> None:
    c = b.contract
    q, props, required = c.quality, c.schema_.properties, set(c.schema_.required)
    for name, rule in q.validity.items():
        if rule.min is not None or rule.max is not None:
            b.add(
                m.Range,
                f"{name}.range",
                column=name,
                min=rule.min,
                max=rule.max,
                severity=rule.severity,
            )
        if rule.allowed_values is not None:
            b.add(
                m.AcceptedValues,
                f"{name}.accepted_values",
                column=name,
                values=tuple(rule.allowed_values),
                severity=rule.severity,
            )
        if rule.pattern is not None:
            b.add(
                m.Regex, f"{name}.regex", column=name, pattern=rule.pattern, severity=rule.severity
            )
    if q.completeness:
        comp = q.completeness
        for name in props:
            rate = (
                comp.required_fields_null_rate
                if name in required
                else comp.optional_fields_null_rate
            )
            if rate is None or (name in required and rate == 0):
                continue  # required fields with rate 0 are covered by not_null
            b.add(
                m.NullRate, f"{name}.null_rate", column=name, max_rate=rate, severity=comp.severity
            )
    if q.uniqueness:
        for name in q.uniqueness.columns:
            b.add(m.Unique, f"{name}.unique", column=name, severity=q.uniqueness.severity)
        for combo in q.uniqueness.combinations:
            b.add(
                m.UniqueCombination,
                ".".join(["unique_combination", *combo]),
                keys=tuple(combo),
                severity=q.uniqueness.severity,
            )
    if q.freshness:
        column = q.freshness.column or _only_timestamp(c)
        b.add(
            m.Freshness,
            f"{column}.freshness",
            column=column,
            max_age_seconds=q.freshness.max_delay_minutes * 60,
            severity=q.freshness.severity,
        )
    if q.volume and (q.volume.min_records is not None or q.volume.max_records is not None):
        b.add(
            m.RowCount,
            "row_count",
            min=q.volume.min_records,
            max=q.volume.max_records,
            severity=q.volume.severity,
        )


def _only_timestamp(c: Contract) -> str:
    stamps = [
        n
        for n, p in c.schema_.properties.items()
        if p.type in (m.LogicalType.TIMESTAMP, m.LogicalType.DATE)
    ]
    if len(stamps) != 1:
        found = f"found {', '.join(stamps)}" if stamps else "found none"
        raise c.error(
            f"cannot tell which column freshness is measured on ({found}); add 'column:'",
            ("quality", "freshness"),
        )
    return stamps[0]


def contract_checks(contract: Contract, dimensions: Iterable[str] | None = None) -> list[m.Check]:
    """Every check a contract declares, in a stable order.

    Args:
        contract: A loaded contract.
        dimensions: Keep only checks of these quality dimensions (completeness,
            uniqueness, validity, freshness, volume); None keeps all.

    Returns:
        The checks, ids unique.

    Raises:
        ConfigError: An explicit check has bad params, names an unknown column, or
            a quality rule cannot be compiled; positioned in the contract file.
    """
    b = _Builder(contract)
    required = set(contract.schema_.required)
    for name, prop in contract.schema_.properties.items():
        _property_checks(b, name, prop, name in required)
        for i, spec in enumerate(prop.checks):
            _explicit_check(b, spec, name, ("schema", "properties", name, "checks", i))
    _quality_checks(b)
    for i, spec in enumerate(contract.checks):
        _explicit_check(b, spec, None, ("checks", i))
    if dimensions is None:
        return b.checks
    wanted = set(dimensions)
    unknown = wanted - {d.value for d in m.Dimension}
    if unknown:
        raise ConfigError(
            f"unknown check dimension(s) {', '.join(sorted(unknown))}; choose from "
            f"{', '.join(d.value for d in m.Dimension)}"
        )
    return [c for c in b.checks if c.dimension.value in wanted]
