"""Conform: values cast to their contract type (DESIGN.md, "The flow of one run").

Data can hold a contract column in another type than the contract's: ``alt``, an
``integer``, arriving as text (``'1044'``) from a CSV file or an upstream export.
Such a column is *conformed*:

* the checks that judge values (range, accepted_values, regex, length, expression,
  unique, relationships, freshness, distribution, reconciliation) read
  ``TRY_CAST(column AS <contract type>)``, so they compare typed values and never
  make the engine compare text with a number;
* the column's ``type`` check reads the value as it arrived and fails each one that
  cannot be cast without loss (:func:`cast_failure`): a row violation, which
  ``lakegate validate`` reports and ``lakegate run`` quarantines with the original
  text in its dead-letter record, before the load casts the rest.

A null passes (dbt and Great Expectations semantics), so a value that does not cast
fails the ``type`` check only, not the range or accepted_values check as well. On
data that already holds the contract's types nothing is conformed and the compiled
SQL is unchanged.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from sqlglot import exp

from lakegate.checks import model as m

# Engine types each logical type accepts without a per-row cast.
_ACCEPTS: dict[m.LogicalType, set[Any]] = {  # values: exp.DataType.Type members
    m.LogicalType.STRING: set(exp.DataType.TEXT_TYPES),
    m.LogicalType.INTEGER: set(exp.DataType.INTEGER_TYPES),
    m.LogicalType.NUMBER: set(exp.DataType.NUMERIC_TYPES),
    m.LogicalType.BOOLEAN: {exp.DataType.Type.BOOLEAN},
    m.LogicalType.DATE: {exp.DataType.Type.DATE, exp.DataType.Type.DATE32},
    m.LogicalType.TIMESTAMP: {
        exp.DataType.Type.TIMESTAMP,
        exp.DataType.Type.TIMESTAMPTZ,
        exp.DataType.Type.TIMESTAMP_S,
        exp.DataType.Type.TIMESTAMP_MS,
        exp.DataType.Type.TIMESTAMP_NS,
        exp.DataType.Type.DATETIME,
        exp.DataType.Type.TIMESTAMPNTZ,
        exp.DataType.Type.TIMESTAMPLTZ,
    },
    m.LogicalType.ARRAY: {exp.DataType.Type.ARRAY, exp.DataType.Type.LIST},
    m.LogicalType.OBJECT: {exp.DataType.Type.STRUCT, exp.DataType.Type.MAP, exp.DataType.Type.JSON},
    m.LogicalType.DECIMAL: set(),
}
_NESTED = (m.LogicalType.ARRAY, m.LogicalType.OBJECT)
# Casting text to an integer rounds ('1.5' -> 2): an integer must be written as one.
_INTEGER_TEXT = r"^\s*[+-]?[0-9]+\s*$"


def engine_type(column_type: m.ColumnType) -> exp.DataType:
    """The engine-neutral SQL type a contract type is stored as (timestamps are UTC).

    Raises:
        ValueError: ``array`` and ``object`` have no scalar engine type.
    """
    name = column_type.name
    if name is m.LogicalType.DECIMAL:
        precision, scale = column_type.precision or 38, column_type.scale or 0
        return exp.DataType.build(f"DECIMAL({precision}, {scale})")
    simple = {
        m.LogicalType.STRING: "VARCHAR",
        m.LogicalType.INTEGER: "BIGINT",
        m.LogicalType.NUMBER: "DOUBLE",
        m.LogicalType.BOOLEAN: "BOOLEAN",
        m.LogicalType.DATE: "DATE",
        m.LogicalType.TIMESTAMP: "TIMESTAMPTZ",
    }
    if name not in simple:
        raise ValueError(f"{name} has no scalar engine type")
    return exp.DataType.build(simple[name])


def type_accepts(column_type: m.ColumnType, physical: exp.DataType) -> bool:
    """True when values of engine type ``physical`` are ``column_type`` as they are."""
    if column_type.name is m.LogicalType.DECIMAL:
        if not physical.is_type(exp.DataType.Type.DECIMAL):
            return False
        params = [int(p.name) for p in physical.expressions if p.name.isdigit()]
        if len(params) != 2 or column_type.precision is None:
            return column_type.precision is None and physical.is_type(exp.DataType.Type.DECIMAL)
        p, s = params
        want_p, want_s = column_type.precision, column_type.scale or 0
        return s <= want_s and p - s <= want_p - want_s
    return physical.this in _ACCEPTS[column_type.name]


def try_cast(value: exp.Expr, to: exp.DataType) -> exp.TryCast:
    """``TRY_CAST(value AS to)``: NULL where a value does not cast, in every dialect.

    ``safe=True`` makes sqlglot write ``TRY_CAST`` for Spark too; without it its Spark
    generator writes ``CAST``, which raises ``CAST_INVALID_INPUT`` under ANSI mode on
    the first value that does not cast (DuckDB writes ``TRY_CAST`` either way).
    """
    return exp.TryCast(this=value.copy(), to=to.copy(), safe=True)


def _not_null(c: exp.Expr) -> exp.Expr:
    return exp.Not(this=exp.Is(this=c.copy(), expression=exp.Null()))


def cast_failure(column_type: m.ColumnType, c: exp.Expr, physical: exp.DataType) -> exp.Expr:
    """A predicate TRUE exactly when the value ``c`` (of engine type ``physical``) is not
    null and cannot be cast to ``column_type`` without loss (never NULL).

    A numeric or temporal value must survive the round trip (1.5 as an integer is 2:
    a failure); text written as an integer must be one ('1.5' fails); text read as a
    number or decimal must not round ('1.234' as ``decimal(10,2)`` fails).
    """
    if column_type.name in _NESTED:
        return _not_null(c)  # a non-nested column cannot hold nested values
    cast = try_cast(c, engine_type(column_type))
    lost: exp.Expr = exp.Is(this=cast, expression=exp.Null())
    if physical.this not in exp.DataType.TEXT_TYPES:
        back = exp.Cast(this=cast.copy(), to=physical.copy())
        lost = exp.or_(lost, exp.NEQ(this=back, expression=c.copy()))
    elif column_type.name is m.LogicalType.INTEGER:
        written = exp.RegexpLike(this=c.copy(), expression=exp.Literal.string(_INTEGER_TEXT))
        lost = exp.or_(lost, exp.Not(this=written))
    elif column_type.name in (m.LogicalType.DECIMAL, m.LogicalType.NUMBER):
        as_double = try_cast(c, exp.DataType.build("DOUBLE"))
        back = exp.Cast(this=cast.copy(), to=exp.DataType.build("DOUBLE"))
        lost = exp.or_(lost, exp.NEQ(this=back, expression=as_double))
    return exp.and_(_not_null(c), exp.paren(lost, copy=False))


def declared_types(
    checks: Iterable[m.Check], types: Mapping[str, m.ColumnType] | None = None
) -> dict[str, m.ColumnType]:
    """The type each column is declared with: ``types`` (a contract's, see
    :func:`lakegate.contracts.compile.contract_types`), and for the other columns the
    type their first ``type`` check names.

    Args:
        checks: The checks of one evaluation.
        types: ``{column: ColumnType}`` of the contract, or None.

    Returns:
        ``{column: ColumnType}``.
    """
    found: dict[str, m.ColumnType] = {}
    for check in checks:
        if isinstance(check, m.TypeCheck):
            found.setdefault(check.column, check.type)
    return found | dict(types or {})


def conform_types(
    types: Mapping[str, m.ColumnType], physical: Mapping[str, exp.DataType]
) -> dict[str, exp.DataType]:
    """The columns to conform, with the engine type their values are cast to.

    Args:
        types: ``{column: ColumnType}`` the columns are declared with (see
            :func:`declared_types`).
        physical: ``{column: engine type}`` of the data.

    Returns:
        ``{column: engine type}`` for each declared scalar column the data holds in a
        type the declared one does not accept as it is (empty on data that already
        holds the contract's types); ``array`` and ``object`` columns are never cast.
    """
    return {
        name: engine_type(declared)
        for name, declared in types.items()
        if name in physical
        and declared.name not in _NESTED
        and not type_accepts(declared, physical[name])
    }


def conform_checks(
    types: Mapping[str, m.ColumnType],
    physical: Mapping[str, exp.DataType],
    checks: Iterable[m.Check],
) -> list[m.TypeCheck]:
    """The ``type`` checks the conform step adds to a gate, so that every value the
    load would cast and cannot is a row violation (quarantined), whatever the gate
    lists: one critical check per conformed column the gate does not already
    type-check critically with its declared type.

    Args:
        types: ``{column: ColumnType}`` of the contract.
        physical: ``{column: engine type}`` of the batch.
        checks: The gate's checks (their ids are not reused).

    Returns:
        The checks to add, ids ``<column>.type`` (``#2``, ... on a clash).
    """
    listed = list(checks)
    covered = {
        (c.column, c.type)
        for c in listed
        if isinstance(c, m.TypeCheck) and c.severity is m.Severity.CRITICAL
    }
    ids = {c.id for c in listed}
    added: list[m.TypeCheck] = []
    for name in conform_types(types, physical):
        if (name, types[name]) in covered:
            continue
        check_id, n = f"{name}.type", 1
        while check_id in ids:
            n += 1
            check_id = f"{name}.type#{n}"
        ids.add(check_id)
        added.append(m.TypeCheck(id=check_id, column=name, type=types[name]))
    return added
