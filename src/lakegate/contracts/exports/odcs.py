"""Export a contract as an Open Data Contract Standard (ODCS) v3.1.0 document.

The contract becomes one schema object named after it. Contract metadata: ``id``
(``contract.id``, else a UUID derived from the contract's name: stable across
versions), ``name``, ``version``, ``status`` (``active`` when the contract has none), ``domain``,
``tags``, ``description.purpose``; ``team`` has the owner as a member with role
``owner``; the Slack channel is a ``support`` item; versioning, consumers and the
change process are kept as ``customProperties`` (``lakegateVersioning``,
``lakegateConsumers``, ``lakegateChangeProcess``; also ``lakegateFreshnessSeverity``
and ``lakegateFreshnessCheckFrequency``, which an SLA has no field for) so an import
restores them.

Checks, from the compiled checks (critical, ``mostly`` 1 checks go into the
schema; the rest become quality rules with ODCS severity error/warning/info):

==================  ================================================================
lakegate check      ODCS
==================  ================================================================
type                ``logicalType`` (decimal: number + ``physicalType DECIMAL(p, s)``); a
                    timestamp's ``timezone`` is ``logicalTypeOptions`` ``timezone: true``
                    and ``defaultTimezone``
not_null            ``required: true``; else ``nullValues`` ``mustBe: 0`` (rows)
unique              ``unique: true``; else ``duplicateValues`` ``mustBe: 0``
range               ``logicalTypeOptions`` minimum/maximum/exclusive* (numbers, dates)
regex / format      ``logicalTypeOptions.pattern`` / ``.format`` (strings); else
                    ``invalidValues`` with ``arguments.pattern``
length              ``logicalTypeOptions`` minLength/maxLength (strings)
accepted_values     ``invalidValues`` with ``arguments.validValues``, ``mustBe: 0``;
                    with ``mostly``: ``mustBeLessOrEqualTo: (1 - mostly) * 100``,
                    ``unit: percent`` (regex with ``mostly`` the same, with ``pattern``)
null_rate           ``nullValues`` ``mustBeLessOrEqualTo`` (percent)
unique_combination  schema-level ``duplicateValues`` with ``arguments.properties``
row_count           schema-level ``rowCount`` (``mustBeBetween`` and friends)
relationships       property ``relationships: [{to: <table>.<field>}]`` (``lake.`` and
                    severity kept as the relationship's customProperties)
freshness           ``slaProperties: freshness`` (value, unit, element <table>.<column>)
expression          ``type: sql``: ``SELECT COUNT(*) FROM ${table} WHERE NOT
                    COALESCE((<expression>), TRUE)``, ``mustBe: 0``
custom_sql          ``type: sql``: ``SELECT COUNT(*) FROM (<sql>) AS failing``, ``mustBe: 0``
                    (``dataset`` written ``${table}``)
==================  ================================================================

Every other check (distribution, volume_anomaly, reconciliation, a ``mostly`` below 1
on other kinds, a second check where the schema slot is taken) has no ODCS library
metric: it becomes a ``type: custom, engine: lakegate`` rule whose implementation
is the check's ``{type, params, severity}``; only lakegate runs those. They are
listed in the file's header and by :func:`unsupported`; nothing is dropped.
"""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass, field, fields
from typing import Any

from lakegate.checks import model as m
from lakegate.checks.compile import engine_type
from lakegate.checks.results import to_jsonable
from lakegate.config.contract import Contract, Property
from lakegate.contracts.compile import column_type, contract_checks
from lakegate.contracts.exports import dump_yaml, replace_dataset

API_VERSION = "v3.1.0"
TABLE = "${table}"
SEVERITY = {m.Severity.CRITICAL: "error", m.Severity.WARNING: "warning", m.Severity.INFO: "info"}
DIMENSION = {
    m.Dimension.COMPLETENESS: "completeness",
    m.Dimension.UNIQUENESS: "uniqueness",
    m.Dimension.VALIDITY: "conformity",
    m.Dimension.FRESHNESS: "timeliness",
    m.Dimension.VOLUME: "completeness",
}
_LOGICAL = {m.LogicalType.DECIMAL: "number"}
_NUMERIC = {m.LogicalType.INTEGER, m.LogicalType.NUMBER, m.LogicalType.DECIMAL}
_TEMPORAL = {m.LogicalType.DATE, m.LogicalType.TIMESTAMP}
_BOUNDS = ("minimum", "exclusiveMinimum", "maximum", "exclusiveMaximum")
_REF = re.compile(r"^(lake\.)?([A-Za-z_][A-Za-z0-9_]*)$")
# Table-level check kinds (a column, if any, is a parameter).
_TABLE_KINDS = {"unique_combination", "row_count", "custom_sql", "expression"}
_TABLE_KINDS |= {"volume_anomaly", "reconciliation"}
_UNITS = ((86400, "days"), (3600, "hours"), (60, "minutes"), (1, "seconds"))


def contract_id(name: str) -> str:
    """The ODCS ``id`` of a contract: a UUID derived from its name."""
    return str(uuid.uuid5(uuid.NAMESPACE_URL, f"lakegate:contract:{name}"))


def check_spec(check: m.Check, column: bool = True) -> dict[str, Any]:
    """A compiled check as a contract's explicit ``{type, params, severity}`` check.

    Args:
        check: The check.
        column: Keep its ``column`` parameter (False when written under the property).
    """
    params: dict[str, Any] = {}
    for f in fields(check):
        value = getattr(check, f.name)
        if f.name in ("id", "severity") or value is None or value == f.default:
            continue
        params[f.name] = value
    kind = check.kind
    if isinstance(check, m.TypeCheck):
        params["type"] = check.type.name.value
        extra = {"precision": check.type.precision, "scale": check.type.scale}
        params |= {k: v for k, v in extra.items() if v is not None}
    elif isinstance(check, m.Regex) and check.format:
        kind, params = "format", {"format": check.format, **params}
        params.pop("pattern")
    renames = {"keys": "columns", "max_rate": "max", "max_age_seconds": "max_age"}
    params = {renames.get(k, k): v for k, v in params.items()}
    if not column:
        params.pop("column", None)
    return {"type": kind, "params": to_jsonable(params), "severity": check.severity.value}


@dataclass
class _Doc:
    contract: Contract
    properties: dict[str, dict[str, Any]]
    table_rules: list[dict[str, Any]] = field(default_factory=list)
    sla: list[dict[str, Any]] = field(default_factory=list)
    custom: list[str] = field(default_factory=list)
    freshness_severity: m.Severity = m.Severity.CRITICAL

    def options(self, column: str) -> dict[str, Any]:
        return self.properties[column].setdefault("logicalTypeOptions", {})

    def rules(self, column: str | None) -> list[dict[str, Any]]:
        if column is None or column not in self.properties:
            return self.table_rules
        return self.properties[column].setdefault("quality", [])


def _rule(check: m.Check, body: dict[str, Any]) -> dict[str, Any]:
    return {
        "name": check.id,
        **body,
        "dimension": DIMENSION[check.dimension],
        "severity": SEVERITY[check.severity],
    }


def _library(metric: str, operator: dict[str, Any], **arguments: Any) -> dict[str, Any]:
    body: dict[str, Any] = {"type": "library", "metric": metric}
    return body | ({"arguments": arguments} if arguments else {}) | operator


def _range_options(check: m.Range, prop: Property, options: dict[str, Any]) -> bool:
    bounds = {
        "exclusiveMinimum" if check.strict_min else "minimum": check.min,
        "exclusiveMaximum" if check.strict_max else "maximum": check.max,
    }
    bounds = {k: to_jsonable(v) for k, v in bounds.items() if v is not None}
    if not bounds or any(k in options for k in _BOUNDS):
        return False
    if prop.type in _NUMERIC:
        ok = all(isinstance(v, int | float) and not isinstance(v, bool) for v in bounds.values())
    else:
        ok = prop.type in _TEMPORAL and all(isinstance(v, str) for v in bounds.values())
    if ok:
        options.update(bounds)
    return ok


def _schema_slot(doc: _Doc, check: m.Check, column: str) -> bool:
    """Put a critical, ``mostly``-1 check into the property itself, if it fits there."""
    prop = doc.contract.schema_.properties[column]
    text = prop.type is m.LogicalType.STRING
    if isinstance(check, m.TypeCheck):
        return check.type == column_type(prop)
    if isinstance(check, m.NotNull | m.Unique):
        doc.properties[column]["required" if isinstance(check, m.NotNull) else "unique"] = True
        return True
    options = doc.options(column)
    if isinstance(check, m.Range):
        return _range_options(check, prop, options)
    if isinstance(check, m.Regex) and text:
        key, value = ("format", check.format) if check.format else ("pattern", check.pattern)
        if key not in options:
            options[key] = value
            return True
    if isinstance(check, m.Length) and text and not {"minLength", "maxLength"} & set(options):
        bounds = {"minLength": check.min, "maxLength": check.max}
        options.update({k: v for k, v in bounds.items() if v is not None})
        return True
    return False


def _quality_rule(doc: _Doc, check: m.Check) -> dict[str, Any] | None:
    """The ODCS rule of a check, or None when it has no library or SQL form."""
    no_rows = {"mustBe": 0}
    mostly = getattr(check, "mostly", 1.0)
    # The failing share the import reads back as mostly (ODCS counts percent of rows). A
    # format's pattern would come back as a plain regex: only lakegate keeps the format.
    share = {"mustBeLessOrEqualTo": round((1 - mostly) * 100, 10), "unit": "percent"}
    if mostly < 1 and isinstance(check, m.AcceptedValues):
        return _library("invalidValues", share, validValues=to_jsonable(list(check.values)))
    if mostly < 1 and isinstance(check, m.Regex) and not check.format:
        return _library("invalidValues", share, pattern=check.pattern)
    if mostly < 1:
        return None
    if isinstance(check, m.NotNull):
        return _library("nullValues", no_rows | {"unit": "rows"})
    if isinstance(check, m.Unique):
        return _library("duplicateValues", no_rows | {"unit": "rows"})
    if isinstance(check, m.AcceptedValues):
        return _library("invalidValues", no_rows, validValues=to_jsonable(list(check.values)))
    if isinstance(check, m.Regex):
        return _library("invalidValues", no_rows, pattern=check.pattern)
    if isinstance(check, m.NullRate):
        percent = round(check.max_rate * 100, 10)
        return _library("nullValues", {"mustBeLessOrEqualTo": percent, "unit": "percent"})
    if isinstance(check, m.UniqueCombination):
        return _library("duplicateValues", no_rows | {"unit": "rows"}, properties=list(check.keys))
    if isinstance(check, m.RowCount):
        low, high = check.min, check.max
        operator: dict[str, Any] = {"mustBeLessOrEqualTo": high}
        if low is not None and high is not None:
            operator = {"mustBe": low} if low == high else {"mustBeBetween": [low, high]}
        elif low is not None:
            operator = {"mustBeGreaterOrEqualTo": low}
        return _library("rowCount", operator)
    # ODCS SQL rules are templates for other tools (``${table}`` is not SQL): the user's
    # expression and query are kept verbatim so that an import gives them back unchanged.
    if isinstance(check, m.Expression):
        where = f"NOT COALESCE(({check.expression}), TRUE)"
        query = f"SELECT COUNT(*) FROM {TABLE} WHERE {where}"  # noqa: S608
        return {"type": "sql", "query": query, **no_rows}
    if isinstance(check, m.CustomSql):
        inner = replace_dataset(check.sql, TABLE).strip()
        query = f"SELECT COUNT(*) FROM ({inner}) AS failing"  # noqa: S608
        return {"type": "sql", "query": query, **no_rows}
    return None


def _relationship(check: m.Relationships) -> dict[str, Any] | None:
    match = _REF.match(check.to)
    if match is None or not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", check.field):
        return None
    out: dict[str, Any] = {"type": "foreignKey", "to": f"{match.group(2)}.{check.field}"}
    extra = [{"property": "dataset", "value": check.to}] if match.group(1) else []
    if check.severity is not m.Severity.CRITICAL:
        extra.append({"property": "severity", "value": check.severity.value})
    return out | ({"customProperties": extra} if extra else {})


def _freshness(doc: _Doc, check: m.Freshness) -> bool:
    if any(s["property"] == "freshness" for s in doc.sla):
        return False
    seconds = check.max_age_seconds
    count, unit = next(
        (seconds / size, unit) for size, unit in _UNITS if seconds % size == 0 or size == 1
    )
    value = int(count) if float(count).is_integer() else count
    element = f"{doc.contract.contract.name}.{check.column}"
    doc.sla.append({"property": "freshness", "value": value, "unit": unit, "element": element})
    doc.freshness_severity = check.severity
    return True


def _place(doc: _Doc, check: m.Check) -> None:
    column = getattr(check, "column", None)
    props = doc.contract.schema_.properties
    on_column = column in props and check.kind not in _TABLE_KINDS
    plain = check.severity is m.Severity.CRITICAL and getattr(check, "mostly", 1.0) == 1
    if on_column and plain and _schema_slot(doc, check, str(column)):
        return
    if isinstance(check, m.Relationships) and (relationship := _relationship(check)):
        doc.properties[check.column].setdefault("relationships", []).append(relationship)
        return
    if isinstance(check, m.Freshness) and _freshness(doc, check):
        return
    rule = _quality_rule(doc, check)
    if rule is None:
        implementation = check_spec(check, column=not on_column)
        rule = {"type": "custom", "engine": "lakegate", "implementation": implementation}
        doc.custom.append(
            f"{check.id} ({check.kind}): no ODCS library metric; a custom rule (engine: "
            "lakegate) only lakegate runs"
        )
    doc.rules(column if on_column else None).append(_rule(check, rule))


def _property(name: str, prop: Property, dropped: list[str]) -> dict[str, Any]:
    """The ODCS property of ``prop``; what ODCS cannot say is appended to ``dropped``."""
    out: dict[str, Any] = {"name": name, "logicalType": _LOGICAL.get(prop.type, prop.type.value)}
    if prop.type is m.LogicalType.DECIMAL and prop.precision is None:
        out["physicalType"] = "DECIMAL"
    elif prop.type not in (m.LogicalType.ARRAY, m.LogicalType.OBJECT):
        out["physicalType"] = engine_type(column_type(prop)).sql()
    if prop.timezone is not None and prop.type is m.LogicalType.TIMESTAMP:
        out["logicalTypeOptions"] = {"timezone": True, "defaultTimezone": prop.timezone}
    elif prop.timezone is not None:
        dropped.append(f"{name} timezone {prop.timezone}: ODCS gives timestamps only a timezone")
    for key in ("default", "breaking_change"):
        if getattr(prop, key) is not None:
            dropped.append(f"{name} {key}: ODCS has no field for it; not exported")
    if prop.description:
        out["description"] = prop.description
    if prop.pii:
        out["classification"] = "pii"
    if prop.examples:
        out["examples"] = to_jsonable(prop.examples)
    if prop.properties:
        out["properties"] = [
            _property(f"{name}.{n}", p, dropped) | {"name": n} for n, p in prop.properties.items()
        ]
    if prop.items is not None:
        items = _property(f"{name}[]", prop.items, dropped)
        out["items"] = {k: v for k, v in items.items() if k != "name"}
    return out


def odcs_document(contract: Contract) -> tuple[dict[str, Any], list[str]]:
    """The ODCS document of ``contract`` (see the module doc) and what ODCS cannot
    express: the checks exported only as lakegate custom rules, ``<check id> (<kind>):
    <reason>``, and the property settings left out, ``<column> <key>: <reason>``.

    Raises:
        ConfigError: The contract's checks do not compile.
    """
    meta, props = contract.contract, contract.schema_.properties
    dropped: list[str] = []
    doc = _Doc(contract, {name: _property(name, prop, dropped) for name, prop in props.items()})
    doc.custom += dropped
    for check in contract_checks(contract):
        _place(doc, check)
    for prop_doc in doc.properties.values():
        if not prop_doc.get("logicalTypeOptions", True):
            del prop_doc["logicalTypeOptions"]
    for name, prop in props.items():
        if prop.retention_days is not None:
            element = f"{meta.name}.{name}"
            retention = {"value": prop.retention_days, "unit": "days", "element": element}
            doc.sla.append({"property": "retention", **retention})
    out: dict[str, Any] = {
        "apiVersion": API_VERSION,
        "kind": "DataContract",
        "id": meta.id or contract_id(meta.name),
        "name": meta.name,
        "version": meta.version,
        "status": meta.status or "active",
    }
    if meta.domain:
        out["domain"] = meta.domain
    if meta.tags:
        out["tags"] = list(meta.tags)
    if contract.description:
        out["description"] = {"purpose": contract.description}
    table: dict[str, Any] = {"name": meta.name, "physicalName": meta.name}
    table |= {"physicalType": "table", "logicalType": "object"}
    table["properties"] = list(doc.properties.values())
    if doc.table_rules:
        table["quality"] = doc.table_rules
    out["schema"] = [table]
    if meta.owner or meta.team:
        team: dict[str, Any] = {"name": meta.team} if meta.team else {}
        if meta.owner:
            team["members"] = [{"username": meta.owner, "role": "owner"}]
        out["team"] = team
    if meta.slack_channel:
        out["support"] = [{"channel": meta.slack_channel, "tool": "slack"}]
    if doc.sla:
        out["slaProperties"] = doc.sla
    custom = _custom_properties(contract, doc.freshness_severity)
    if custom:
        out["customProperties"] = custom
    return out, doc.custom


def _custom_properties(contract: Contract, freshness: m.Severity) -> list[dict[str, Any]]:
    """What ODCS has no field for, restored by the import."""
    parts: dict[str, Any] = {
        "lakegateVersioning": contract.versioning,
        "lakegateConsumers": contract.consumers or None,
        "lakegateChangeProcess": contract.change_process,
    }
    if freshness is not m.Severity.CRITICAL:
        parts["lakegateFreshnessSeverity"] = freshness.value
    if contract.quality.freshness and contract.quality.freshness.check_frequency:
        parts["lakegateFreshnessCheckFrequency"] = contract.quality.freshness.check_frequency
    out = []
    for name, value in parts.items():
        if isinstance(value, list):
            value = [v.model_dump(exclude_defaults=True) for v in value]
        elif value is not None and not isinstance(value, str):
            value = value.model_dump(exclude_defaults=True)
        if value:
            out.append({"property": name, "value": to_jsonable(value)})
    return out


def export(contract: Contract) -> str:
    """The ODCS v3.1.0 YAML text of ``contract`` (see the module doc), with a header
    comment listing the checks kept only as lakegate custom rules and what was left out.

    Raises:
        ConfigError: The contract's checks do not compile.
    """
    document, custom = odcs_document(contract)
    header = [
        f"ODCS {API_VERSION} data contract for lakegate contract {contract.contract.name} "
        f"{contract.contract.version} (lakegate contract export --format odcs)."
    ]
    if custom:
        header += ["No ODCS equivalent (custom rules, engine: lakegate; or left out):"]
        header += [f"  - {note}" for note in custom]
    return "".join(f"# {line}\n" for line in header) + dump_yaml(document)


def unsupported(contract: Contract) -> list[str]:
    """What ODCS cannot express (see :func:`odcs_document`), one line each."""
    return odcs_document(contract)[1]
