"""Export a contract as a JSON Schema (draft 2020-12) of one record.

A record is valid when lakegate would not quarantine it: the schema carries the
contract's critical row-level checks (critical row-level failures quarantine a
row; warnings and info are only reported). Built from the compiled checks:

===============  ===================================================================
lakegate check   JSON Schema
===============  ===================================================================
type             ``type`` (date: string + ``format: date``; timestamp: string +
                 ``format: date-time``; decimal(p, s): number with
                 ``-10^(p-s) < x < 10^(p-s)``, the scale is not checked)
not_null         the column is ``required`` and its type excludes null; any other
                 column also accepts null (a null passes every other check)
accepted_values  ``enum`` (plus null when the column may be null)
range            ``minimum``/``maximum`` (``exclusive*`` when strict), numbers only
regex / format   ``pattern`` (ECMA-262, search semantics like lakegate's; a format's
                 name is kept as ``format``), string columns only
length           ``minLength``/``maxLength``, string columns only
===============  ===================================================================

A second check of the same kind on a column goes into the column's ``allOf``.
Everything else is listed in ``x-lakegate-unsupported`` with the reason, never
dropped silently: set-level checks (unique, unique_combination, relationships,
row_count, null_rate, freshness, distribution, custom_sql, volume_anomaly,
reconciliation: a schema sees one record), expressions (SQL), checks with
``mostly`` below 1 (a share of rows), warning and info checks, and bounds or
patterns on columns JSON Schema cannot compare them with.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from lakegate.checks import model as m
from lakegate.checks.results import to_jsonable
from lakegate.config.contract import Contract, Property
from lakegate.contracts.compile import contract_checks

DRAFT = "https://json-schema.org/draft/2020-12/schema"
_NUMERIC = {m.LogicalType.INTEGER, m.LogicalType.NUMBER, m.LogicalType.DECIMAL}
_TYPES: dict[m.LogicalType, dict[str, Any]] = {
    m.LogicalType.STRING: {"type": "string"},
    m.LogicalType.INTEGER: {"type": "integer"},
    m.LogicalType.NUMBER: {"type": "number"},
    m.LogicalType.DECIMAL: {"type": "number"},
    m.LogicalType.BOOLEAN: {"type": "boolean"},
    m.LogicalType.DATE: {"type": "string", "format": "date"},
    m.LogicalType.TIMESTAMP: {"type": "string", "format": "date-time"},
    m.LogicalType.ARRAY: {"type": "array"},
    m.LogicalType.OBJECT: {"type": "object"},
}


@dataclass
class _Column:
    schema: dict[str, Any]
    nullable: bool = True
    more: list[dict[str, Any]] = field(default_factory=list)

    def add(self, keywords: dict[str, Any]) -> None:
        """Set ``keywords``, or add them to ``allOf`` when one is already set."""
        if any(k in self.schema for k in keywords):
            self.more.append(keywords)
        else:
            self.schema.update(keywords)


def _annotations(prop: Property) -> dict[str, Any]:
    out: dict[str, Any] = {}
    if prop.description:
        out["description"] = prop.description
    if prop.default is not None:
        out["default"] = to_jsonable(prop.default)
    if prop.examples:
        out["examples"] = [to_jsonable(e) for e in prop.examples]
    if prop.pii:
        out["x-lakegate-pii"] = True
    return out


def _number(value: Any) -> int | float | None:
    if isinstance(value, bool) or not isinstance(value, int | float | Decimal):
        return None
    return value if isinstance(value, int | float) else float(value)


def _type_keywords(check: m.TypeCheck) -> tuple[dict[str, Any], str | None]:
    keywords = dict(_TYPES[check.type.name])
    if check.type.name is not m.LogicalType.DECIMAL or check.type.precision is None:
        return keywords, None
    digits = check.type.precision - (check.type.scale or 0)
    keywords |= {"exclusiveMinimum": -(10**digits), "exclusiveMaximum": 10**digits}
    keywords["x-lakegate-type"] = str(check.type)
    return keywords, f"only its integer digits are checked, not its scale ({check.type.scale})"


def _keywords(check: m.Check, prop: Property) -> tuple[dict[str, Any] | None, str | None]:
    """The JSON Schema keywords of one critical, ``mostly``-1 row-level check, and a
    note when they say less than the check; ``(None, reason)`` when there are none."""
    text = prop.type is m.LogicalType.STRING
    if isinstance(check, m.TypeCheck):
        return _type_keywords(check)
    if isinstance(check, m.NotNull):
        return {}, None
    if isinstance(check, m.AcceptedValues):
        return {"enum": [to_jsonable(v) for v in check.values if v is not None]}, None
    if isinstance(check, m.Range):
        low, high = _number(check.min), _number(check.max)
        if prop.type not in _NUMERIC or (check.min, check.max) != (low, high):
            return None, "JSON Schema compares numbers only"
        out: dict[str, Any] = {}
        if low is not None:
            out["exclusiveMinimum" if check.strict_min else "minimum"] = low
        if high is not None:
            out["exclusiveMaximum" if check.strict_max else "maximum"] = high
        return out, None
    if isinstance(check, m.Regex):
        if not text:
            return None, "JSON Schema matches patterns on strings only"
        return {"pattern": check.pattern} | ({"format": check.format} if check.format else {}), None
    if isinstance(check, m.Length):
        if not text:
            return None, "JSON Schema measures the length of strings only"
        bounds = {"minLength": check.min, "maxLength": check.max}
        return {k: v for k, v in bounds.items() if v is not None}, None
    return None, "no JSON Schema equivalent"


def _skip_reason(check: m.Check) -> str | None:
    if check.row_level and check.severity is not m.Severity.CRITICAL:
        return f"severity {check.severity.value}: lakegate reports it but keeps the row"
    mostly = getattr(check, "mostly", 1.0)
    if mostly < 1:
        return f"mostly {mostly}: a share of rows, not a property of one record"
    return None


def record_schema(contract: Contract) -> tuple[dict[str, Any], list[dict[str, str]]]:
    """The JSON Schema of one record of ``contract``, and the checks it leaves out.

    Returns:
        ``(schema, unsupported)``; each unsupported item is ``{check, type, reason}``
        (also in the schema's ``x-lakegate-unsupported``).

    Raises:
        ConfigError: The contract's checks do not compile.
    """
    props = contract.schema_.properties
    columns = {name: _Column(_annotations(prop)) for name, prop in props.items()}
    unsupported: list[dict[str, str]] = []
    for check in contract_checks(contract):
        column = getattr(check, "column", None)
        keywords: dict[str, Any] | None = None
        reason = _skip_reason(check)
        if reason is None and check.row_level and column in props:
            keywords, reason = _keywords(check, props[column])
        elif reason is None:
            reason = (
                "a SQL expression has no JSON Schema equivalent"
                if isinstance(check, m.Expression)
                else "a set-level check: a JSON Schema judges one record"
            )
        if reason is not None:  # left out, or exported with a caveat when keywords is set
            unsupported.append({"check": check.id, "type": check.kind, "reason": reason})
        if keywords is None or column is None:
            continue
        if isinstance(check, m.NotNull):
            columns[column].nullable = False
        columns[column].add(keywords)
    properties = {name: _finish(col) for name, col in columns.items()}
    schema: dict[str, Any] = {
        "$schema": DRAFT,
        "title": f"{contract.contract.name} {contract.contract.version}",
    }
    if contract.description:
        schema["description"] = contract.description.strip()
    schema |= {
        "type": "object",
        "properties": properties,
        "required": [n for n, c in columns.items() if not c.nullable],
        "x-lakegate-contract": {
            "name": contract.contract.name,
            "version": contract.contract.version,
        },
    }
    if unsupported:
        schema["x-lakegate-unsupported"] = unsupported
    return schema, unsupported


def _finish(col: _Column) -> dict[str, Any]:
    """The column's schema; a nullable column also accepts null in ``type`` and ``enum``."""

    def allow_null(keywords: dict[str, Any]) -> dict[str, Any]:
        if "type" in keywords:
            keywords["type"] = [keywords["type"], "null"]
        if "enum" in keywords:
            keywords["enum"] = [*keywords["enum"], None]
        return keywords

    schema = dict(col.schema)
    more = [dict(k) for k in col.more]
    if col.nullable:
        schema, more = allow_null(schema), [allow_null(k) for k in more]
    if more:
        schema["allOf"] = more
    return schema


def export(contract: Contract) -> str:
    """The JSON Schema of one record of ``contract`` as JSON text (see the module doc).

    Raises:
        ConfigError: The contract's checks do not compile.
    """
    schema, _ = record_schema(contract)
    return json.dumps(schema, indent=2, ensure_ascii=False) + "\n"


def unsupported(contract: Contract) -> list[str]:
    """The checks the JSON Schema leaves out (or narrows), ``<id> (<kind>): <reason>``."""
    _, items = record_schema(contract)
    return [f"{i['check']} ({i['type']}): {i['reason']}" for i in items]
