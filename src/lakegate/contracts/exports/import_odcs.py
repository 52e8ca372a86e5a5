"""Import an Open Data Contract Standard (ODCS v3) contract as a lakegate contract.

A lakegate contract describes one table: one schema object is imported (the first,
or the one named), and the others are listed. The contract is named after the object;
its column names are the properties' ``physicalName`` (else ``name``). The reverse of
:mod:`lakegate.contracts.exports.odcs`:

==========================  ==========================================================
ODCS                        lakegate
==========================  ==========================================================
logicalType, physicalType   type (number + DECIMAL/NUMERIC(p, s): decimal(p, s))
required, unique            schema.required, unique
primaryKey                  required + unique, or a unique_combination (several keys)
logicalTypeOptions          minLength, maxLength, pattern, format, minimum, maximum,
                            exclusive*; date/timestamp bounds: a range check; a
                            timestamp's defaultTimezone (or timezone: true): timezone
classification/tag pii      pii (also the tag ``sensitive``)
relationships table.column  a relationships check
nullValues                  required / not_null (0 rows), null_rate (percent)
invalidValues               enum / accepted_values, pattern / regex (percent: mostly)
duplicateValues             unique; schema level: unique_combination
rowCount                    quality.volume (the first), else a row_count check
sql, mustBe 0               ``SELECT COUNT(*) FROM ${table} WHERE c``: expression
                            ``NOT (c)``; ``FROM (<query>) AS x``: custom_sql
custom, engine lakegate     the check its implementation names
slaProperties               freshness/latency: quality.freshness; retention
id, status                  contract.id, contract.status (kept as written)
team, support, ...          owner (role owner), team, slack_channel, domain, tags,
                            description (purpose, usage, limitations)
customProperties lakegate*  versioning, consumers, change_process, freshness extras
==========================  ==========================================================

Rule severities error/warning/info become critical/warning/info (none: critical);
a rule's ``name`` becomes the check's id unless it looks generated
(``<column>.<kind>``). Everything else (servers, roles, price, other engines'
custom rules, SQL metrics other than a count of failing rows, composite foreign
keys, a classification other than pii, a ``name`` that differs from the
``physicalName`` a column or the contract is named by, the document's ``name`` and
``dataProduct``, ...) is listed in the output's header and in :attr:`Imported.notes`.
"""

from __future__ import annotations

import math
import re
from collections import Counter, defaultdict
from dataclasses import dataclass
from pathlib import Path
from typing import Any, get_args

import yaml

from lakegate.config.contract import CHECK_TYPES, ContractStatus, load_contract
from lakegate.config.durations import parse_duration
from lakegate.contracts.compile import FORMAT_PATTERNS, contract_checks
from lakegate.contracts.exports import dump_yaml
from lakegate.contracts.exports.odcs import contract_id
from lakegate.errors import ConfigError

SEVERITY = {"error": "critical", "critical": "critical", "fatal": "critical", "high": "critical"}
SEVERITY |= {"warning": "warning", "warn": "warning", "medium": "warning"}
SEVERITY |= {"info": "info", "low": "info"}
OPERATORS: tuple[str, ...] = ("mustBe", "mustNotBe", "mustBeGreaterThan", "mustBeGreaterOrEqualTo")
OPERATORS += ("mustBeLessThan", "mustBeLessOrEqualTo", "mustBeBetween", "mustNotBeBetween")
_TYPES = {"string", "integer", "number", "boolean", "date", "timestamp", "array", "object"}
_DECIMAL = re.compile(r"^\s*(?:decimal|numeric|number)\s*(?:\(\s*(\d+)\s*(?:,\s*(\d+)\s*)?\))?\s*$")
_AUTO_ID = re.compile(rf"^(?:[^.]+\.)?(?:{'|'.join(CHECK_TYPES)})(?:\.[^#]*)?(?:#\d+)?$")
_TABLE = re.compile(r"\$?\{(?:table|object)\}")
_COLUMN = re.compile(r"\$?\{(?:column|property)\}")
_COUNT = r"^\s*SELECT\s+COUNT\(\s*\*\s*\)\s+FROM\s+"
_FLAGS = re.IGNORECASE | re.DOTALL
_EXPRESSION = re.compile(
    _COUNT + r"__T__\s+WHERE\s+NOT\s+COALESCE\(\((.*)\),\s*TRUE\)\s*;?\s*$", _FLAGS
)
_WHERE = re.compile(_COUNT + r"(\S+)\s+WHERE\s+(.*?)\s*;?\s*$", _FLAGS)
_SUBQUERY = re.compile(_COUNT + r"\((.*)\)\s+(?:AS\s+)?\w+\s*;?\s*$", _FLAGS)
_DEFAULTS: dict[str, Any] = {"primaryKey": False, "partitioned": False}
_DEFAULTS |= {"criticalDataElement": False, "primaryKeyPosition": -1, "partitionKeyPosition": -1}
_PROPERTY_KEYS = {"name", "physicalName", "logicalType", "physicalType", "required", "unique"}
_PROPERTY_KEYS |= {"description", "primaryKey", "primaryKeyPosition", "classification", "tags"}
_PROPERTY_KEYS |= {"examples", "logicalTypeOptions", "relationships", "quality", "id"}
_OBJECT_KEYS = {"name", "physicalName", "properties", "quality", "logicalType"}
_OBJECT_KEYS |= {"physicalType", "id", "description", "tags"}
_TOP_KEYS = {"apiVersion", "kind", "id", "name", "version", "status", "domain", "tags"}
_TOP_KEYS |= {"description", "schema", "team", "support", "slaProperties", "customProperties"}
_TOP_KEYS |= {"slaDefaultElement"}


@dataclass(frozen=True)
class Imported:
    """An imported contract: its YAML text and what could not be imported."""

    text: str
    notes: tuple[str, ...]


def _semver(value: Any) -> str | None:
    match = re.fullmatch(r"v?(\d+)(?:\.(\d+))?(?:\.(\d+))?([-+][0-9A-Za-z.-]+)?", str(value))
    if match is None:
        return None
    major, minor, patch, rest = match.groups()
    return f"{major}.{minor or 0}.{patch or 0}{rest or ''}"


def _seconds(value: Any, unit: Any) -> float | None:
    unit = str(unit or "d").strip().lower()
    years = unit in ("y", "yr", "yrs", "year", "years")
    try:
        return float(value) * 365 * 86400 if years else parse_duration(f"{value} {unit}")
    except (ValueError, TypeError, ConfigError):
        return None


_STATUSES = get_args(ContractStatus)
_PII = {"pii", "sensitive"}
_DROPPED = {  # property keys read only in part, and why the rest is left out
    "classification": "lakegate keeps pii only",
    "tags": "lakegate keeps pii and sensitive only",
    "name": "a column is named by its physicalName",
}
_RANGE = {"minimum": "min", "maximum": "max", "exclusiveMinimum": "min", "exclusiveMaximum": "max"}
Rule = dict[str, Any]


class _Importer:
    """Builds one lakegate contract, as plain data, from one ODCS schema object."""

    def __init__(self, doc: dict[str, Any], obj: dict[str, Any]) -> None:
        self.doc, self.obj, self.where = doc, obj, f"schema {obj.get('name')!r}"
        self.notes: list[str] = []
        self.props: dict[str, dict[str, Any]] = {}
        self.names: dict[str, str] = {}  # ODCS property name -> column
        self.required: list[str] = []
        self.quality: dict[str, Any] = {}
        self.checks: list[dict[str, Any]] = []
        self.ids: set[str] = set()
        self.ignored: Counter[str] = Counter()
        self.dropped: defaultdict[str, list[str]] = defaultdict(list)  # key -> values left out

    # ---------------------------------------------------------------- quality rules
    def severity(self, rule: Rule) -> str:
        return SEVERITY.get(str(rule.get("severity") or "error").lower(), "critical")

    def spec(self, kind: str, params: dict[str, Any], rule: Rule) -> dict[str, Any]:
        """An explicit check; the rule's name is its id unless it looks generated."""
        out: dict[str, Any] = {"type": kind}
        name = rule.get("name")
        if isinstance(name, str) and name not in self.ids and not _AUTO_ID.match(name):
            self.ids.add(name)
            out["id"] = name
        if params:
            out["params"] = params
        if self.severity(rule) != "critical":
            out["severity"] = self.severity(rule)
        if rule.get("description"):
            out["description"] = str(rule["description"])
        return out

    @staticmethod
    def share(rule: Rule) -> float | None:
        """The largest failing share a rule allows (0: none), or None when it says otherwise."""
        op, value = next(((op, rule[op]) for op in OPERATORS if op in rule), ("", None))
        percent = str(rule.get("unit", "rows")).lower() in ("percent", "%")
        if (op, value) in (("mustBe", 0), ("mustBeLessOrEqualTo", 0)):
            return 0.0
        if (op, value, percent) == ("mustBeLessThan", 1, False):
            return 0.0
        if percent and op == "mustBeLessOrEqualTo" and isinstance(value, int | float):
            return round(float(value) / 100, 12) if 0 <= value < 100 else None
        return None

    def rule(self, rule: Rule, column: str | None, position: int) -> None:
        """Turn one ODCS quality rule (``position``: its 0-based index in its ``quality``
        list) into lakegate checks, or a note naming it."""
        kind = str(rule.get("type") or ("library" if "metric" in rule else "text"))
        metric, args = rule.get("metric") or rule.get("rule"), rule.get("arguments") or {}
        share, checks = self.share(rule), self.checks
        if column is not None:
            checks = self.props[column].setdefault("checks", [])
        implementation = rule.get("implementation")
        if kind == "custom" and str(rule.get("engine")).lower() == "lakegate":
            if isinstance(implementation, dict):
                return checks.append(dict(implementation))
        elif kind == "sql" and share == 0 and (spec := self.sql(rule, column)) is not None:
            return (self.checks if spec["type"] == "custom_sql" else checks).append(spec)
        elif kind == "library" and metric == "rowCount":
            return self.row_count(rule)
        elif kind == "library" and metric == "duplicateValues" and share == 0:
            keys = args.get("properties") or ([] if column else list(self.names))
            if column is None or keys:
                columns = [self.column(k) or k for k in keys]
                spec = self.spec("unique_combination", {"columns": columns}, rule)
                return self.checks.append(spec)
            if self.severity(rule) != "critical":
                return checks.append(self.spec("unique", {}, rule))
            self.props[column]["unique"] = True
            return None
        elif kind == "library" and column is not None and share is not None:  # noqa: SIM102
            if self.column_rule(str(metric), args, share, rule, column):
                return None
        where = f"{self.where}{f'.{column}' if column else ''}"
        label = rule.get("name") or metric or f"#{position + 1}"
        extra = [f"engine {rule['engine']}"] if rule.get("engine") else []
        extra += [str(rule["description"])] if rule.get("description") else []
        detail = f" ({'; '.join(extra)})" if extra else ""
        self.notes.append(f"{where}: {kind} rule {label}{detail}: no equivalent")
        return None

    def column_rule(self, metric: str, args: Any, share: float, rule: Rule, column: str) -> bool:
        critical, prop = self.severity(rule) == "critical", self.props[column]
        percent = str(rule.get("unit", "rows")).lower() in ("percent", "%")
        checks = prop.setdefault("checks", [])
        if metric == "nullValues" or (metric == "missingValues" and not args):
            if percent:
                checks.append(self.spec("null_rate", {"max": share}, rule))
            elif critical and column not in self.required:
                self.required.append(column)
            elif not critical:
                checks.append(self.spec("not_null", {}, rule))
            return True
        if metric != "invalidValues" or not {"validValues", "pattern"} & set(args):
            return False
        mostly = {"mostly": round(1 - share, 12)} if share else {}
        if "validValues" in args:
            values = list(args["validValues"])
            if not mostly and critical and "enum" not in prop:
                prop["enum"] = values
            else:
                checks.append(self.spec("accepted_values", {"values": values, **mostly}, rule))
        if "pattern" in args:
            checks.append(self.spec("regex", {"pattern": str(args["pattern"]), **mostly}, rule))
        return True

    def row_count(self, rule: Rule) -> None:
        op, v = next(((op, rule[op]) for op in OPERATORS if op in rule), ("", None))
        bounds: dict[str, tuple[Any, Any]] = {}
        if isinstance(v, list) and len(v) == 2:
            bounds["mustBeBetween"] = (math.ceil(v[0]), math.floor(v[1]))
        elif isinstance(v, int | float):
            bounds = {"mustBe": (v, v), "mustBeGreaterOrEqualTo": (math.ceil(v), None)}
            bounds |= {"mustBeGreaterThan": (math.floor(v) + 1, None)}
            bounds |= {"mustBeLessThan": (None, math.ceil(v) - 1)}
            bounds |= {"mustBeLessOrEqualTo": (None, math.floor(v))}
        if op not in bounds:
            self.notes.append(f"{self.where}: rowCount {op or '(no operator)'}: no equivalent")
            return
        (low, high), severity = bounds[op], self.severity(rule)
        if "volume" in self.quality:
            params = {k: b for k, b in (("min", low), ("max", high)) if b is not None}
            self.checks.append(self.spec("row_count", params, rule))
            return
        volume = {"min_records": low, "max_records": high, "severity": severity}
        self.quality["volume"] = {k: b for k, b in volume.items() if b is not None}

    def sql(self, rule: Rule, column: str | None) -> dict[str, Any] | None:
        query = _TABLE.sub("__T__", str(rule.get("query") or ""))
        if column is not None:
            query = _COLUMN.sub(f'"{column}"', query)
        names = {"__T__", str(self.obj.get("name")), str(self.obj.get("physicalName"))}
        if match := _EXPRESSION.match(query):
            return self.spec("expression", {"expression": match.group(1)}, rule)
        if (match := _WHERE.match(query)) and match.group(1) in names:
            return self.spec("expression", {"expression": f"NOT ({match.group(2)})"}, rule)
        if match := _SUBQUERY.match(query):
            sql = match.group(1).strip().replace("__T__ AS dataset", "dataset")
            return self.spec("custom_sql", {"sql": sql.replace("__T__", "dataset")}, rule)
        return None

    # ---------------------------------------------------------------- properties
    def property(self, p: dict[str, Any]) -> tuple[str, dict[str, Any]] | None:
        column = str(p.get("physicalName") or p.get("name") or "")
        if not column:
            self.notes.append(f"{self.where}: a property without a name, not imported")
            return None
        logical, physical = str(p.get("logicalType")), str(p.get("physicalType") or "").lower()
        decimal = _DECIMAL.match(physical) if logical == "number" else None
        out: dict[str, Any] = {"type": "decimal" if decimal else logical}
        if decimal and decimal.group(1):
            out |= {"precision": int(decimal.group(1)), "scale": int(decimal.group(2) or 0)}
        if logical not in _TYPES:
            out["type"] = "string"
            self.notes.append(f"{self.where}.{column}: logicalType {logical} read as string")
        if p.get("description"):
            out["description"] = str(p["description"])
        tags = {str(t).lower() for t in p.get("tags") or []}
        classification = str(p.get("classification") or "")
        if classification.lower() == "pii" or tags & _PII:
            out["pii"] = True
        if classification and classification.lower() != "pii":
            self.dropped["classification"].append(classification)
        self.dropped["tags"] += [str(t) for t in p.get("tags") or [] if str(t).lower() not in _PII]
        if p.get("physicalName") and p.get("name") and p["name"] != p["physicalName"]:
            self.dropped["name"].append(str(p["name"]))
        if p.get("examples"):
            out["examples"] = list(p["examples"])
        if p.get("unique"):
            out["unique"] = True
        for key in set(p) - _PROPERTY_KEYS:
            if p[key] not in (None, [], {}, _DEFAULTS.get(key, ())):
                self.ignored[key] += 1
        return column, out

    def options(self, column: str, p: dict[str, Any]) -> None:
        options, prop = dict(p.get("logicalTypeOptions") or {}), self.props[column]
        keys = ["minLength", "maxLength", "pattern"] if prop["type"] == "string" else []
        if prop["type"] in ("integer", "number", "decimal"):
            keys = ["minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum"]
        prop |= {k: options.pop(k) for k in keys if k in options}
        if prop["type"] == "string" and options.get("format") in FORMAT_PATTERNS:
            prop["format"] = options.pop("format")
        if prop["type"] == "timestamp" and {"timezone", "defaultTimezone"} & set(options):
            aware, zone = options.pop("timezone", None), options.pop("defaultTimezone", None)
            if zone or aware:  # ODCS: without a defaultTimezone, UTC is used
                prop["timezone"] = str(zone or "UTC")
        if prop["type"] in ("date", "timestamp"):
            bounds = {k: options.pop(k) for k in list(options) if k in _RANGE}
            params: dict[str, Any] = {_RANGE[k]: str(v) for k, v in bounds.items()}
            params |= {f"strict_{_RANGE[k]}": True for k in bounds if k.startswith("exclusive")}
            if params:
                prop.setdefault("checks", []).append({"type": "range", "params": params})
        for key in options:
            self.notes.append(f"{self.where}.{column}: logicalTypeOptions.{key} not imported")

    def relationship(self, column: str, rel: dict[str, Any]) -> None:
        to = rel.get("to")
        custom = {c.get("property"): c.get("value") for c in rel.get("customProperties") or []}
        if not isinstance(to, str) or not re.fullmatch(r"[A-Za-z_]\w*\.[A-Za-z_]\w*", to):
            self.notes.append(f"{self.where}.{column}: relationship to {to!r} not imported")
            return
        table, field = to.split(".")
        spec: dict[str, Any] = {"type": "relationships"}
        spec["params"] = {"to": str(custom.get("dataset") or table), "field": field}
        if custom.get("severity") in ("warning", "info"):
            spec["severity"] = custom["severity"]
        self.props[column].setdefault("checks", []).append(spec)

    # ---------------------------------------------------------------- the contract
    def column(self, name: str) -> str | None:
        """The column an ODCS property name or physical name refers to."""
        return self.names.get(name) or (name if name in self.props else None)

    def schema(self) -> dict[str, Any]:
        found: list[tuple[dict[str, Any], str]] = []
        for p in self.obj.get("properties") or []:
            if (item := self.property(p)) is not None:
                found.append((p, item[0]))
                self.props[item[0]], self.names[str(p.get("name") or item[0])] = item[1], item[0]
                self.required += [item[0]] if p.get("required") else []
        keys = sorted(
            (int(p.get("primaryKeyPosition") or 0), c) for p, c in found if p.get("primaryKey")
        )
        self.required += [c for _, c in keys if c not in self.required]
        if len(keys) == 1:
            self.props[keys[0][1]]["unique"] = True
        elif keys:
            columns = [c for _, c in keys]
            self.checks.append({"type": "unique_combination", "params": {"columns": columns}})
        for p, column in found:
            self.options(column, p)
            for rel in p.get("relationships") or []:
                self.relationship(column, rel)
            for i, rule in enumerate(p.get("quality") or []):
                self.rule(rule, column, i)
        for i, rule in enumerate(self.obj.get("quality") or []):
            self.rule(rule, None, i)
        physical, name = self.obj.get("physicalName"), self.obj.get("name")
        if physical and physical != name:
            self.notes.append(
                f"{self.where}.physicalName {physical!r}: not imported (the contract is "
                f"named after the object, {name!r})"
            )
        for key in sorted(set(self.obj) - _OBJECT_KEYS):
            self.notes.append(f"{self.where}.{key}: not imported")
        for key, count in sorted(self.ignored.items()):
            self.notes.append(f"{self.where}: {key} of {count} properties not imported")
        for key, values in self.dropped.items():
            if values:
                shown, why = ", ".join(dict.fromkeys(values)), _DROPPED[key]
                self.notes.append(
                    f"{self.where}: {key} of {len(values)} properties not imported ({why}): {shown}"
                )
        for prop in self.props.values():
            if not prop.get("checks", True):
                del prop["checks"]
        return {"type": "object", "required": self.required, "properties": self.props}

    def sla(self, custom: dict[str, Any]) -> None:
        default = str(self.doc.get("slaDefaultElement") or "")
        for item in self.doc.get("slaProperties") or []:
            prop, element = str(item.get("property")), str(item.get("element") or default)
            column = self.column(element.rsplit(".", 1)[-1])
            seconds = _seconds(item.get("value"), item.get("unit"))
            first = prop in ("freshness", "latency") and "freshness" not in self.quality
            if first and column and seconds:
                freshness = {"column": column, "max_delay_minutes": seconds / 60}
                freshness["severity"] = custom.get("lakegateFreshnessSeverity", "critical")
                if custom.get("lakegateFreshnessCheckFrequency"):
                    freshness["check_frequency"] = custom["lakegateFreshnessCheckFrequency"]
                self.quality["freshness"] = freshness
            elif prop == "retention" and column and seconds:
                self.props[column]["retention_days"] = round(seconds / 86400)
            else:
                self.notes.append(f"slaProperties {prop} ({element or 'no element'}): not imported")

    def identity(self) -> str | None:
        """The document's ``id``, or None when absent or the one lakegate's export derives
        from the contract's name (the export derives it again)."""
        value = self.doc.get("id")
        if value in (None, "") or str(value) == contract_id(str(self.obj.get("name"))):
            return None
        return str(value)

    def meta(self) -> dict[str, Any]:
        doc, version = self.doc, _semver(self.doc.get("version", ""))
        if version is None:
            self.notes.append(f"version {doc.get('version')!r} is not semantic: read as 0.0.0")
        team = doc.get("team") or {}
        members = team.get("members", []) if isinstance(team, dict) else team
        owners = [m for m in members if str(m.get("role", "")).lower() == "owner"] or members
        slack = [s for s in doc.get("support") or [] if str(s.get("tool")).lower() == "slack"]
        status = str(doc.get("status"))
        if doc.get("status") and status not in _STATUSES:
            known = ", ".join(_STATUSES)
            self.notes.append(f"status {doc['status']!r}: not imported (lakegate knows {known})")
        tags = [*(doc.get("tags") or []), *(self.obj.get("tags") or [])]
        meta = {
            "name": str(self.obj.get("name")),
            "id": self.identity(),
            "version": version or "0.0.0",
            "owner": owners[0].get("username") if owners else None,
            "team": team.get("name") if isinstance(team, dict) else None,
            "slack_channel": slack[0].get("channel") if slack else None,
            "domain": doc.get("domain"),
            "status": status if status in _STATUSES else None,
            "tags": list(dict.fromkeys(str(t) for t in tags)) or None,
        }
        return {k: v for k, v in meta.items() if v is not None}

    def contract(self) -> dict[str, Any]:
        doc = self.doc
        custom = {c.get("property"): c.get("value") for c in doc.get("customProperties") or []}
        schema = self.schema()
        self.sla(custom)
        out: dict[str, Any] = {"contract": self.meta()}
        about = doc["description"] if isinstance(doc.get("description"), dict) else {}
        parts = [str(p) for p in (self.obj.get("description"), about.get("purpose")) if p]
        parts += [f"{k.title()}: {about[k]}" for k in ("usage", "limitations") if about.get(k)]
        if parts:
            out["description"] = parts[0] if len(parts) == 1 else "\n\n".join(parts).strip()
        out["schema"] = schema
        if self.quality:
            out["quality"] = self.quality
        if self.checks:
            out["checks"] = self.checks
        restored = {"lakegateVersioning": "versioning", "lakegateConsumers": "consumers"}
        restored["lakegateChangeProcess"] = "change_process"
        out |= {restored[k]: v for k, v in custom.items() if k in restored}
        for key in custom:
            if key not in restored and not str(key).startswith("lakegateFreshness"):
                self.notes.append(f"customProperties {key}: not imported")
        if doc.get("name") not in (None, self.obj.get("name")):
            self.notes.append(
                f"name {doc['name']!r}: not imported (the contract is named after its schema "
                f"object, {self.obj.get('name')!r})"
            )
        for key in sorted(set(doc) - _TOP_KEYS):
            value = doc[key]
            shown = f" {value!r}" if isinstance(value, str | int | float) else ""
            self.notes.append(f"{key}{shown}: not imported")
        return out


def convert_odcs(text: str | dict[str, Any], object_name: str | None = None) -> Imported:
    """Read an ODCS v3 document and build the lakegate contract of one of its schema
    objects (see the module doc for the mapping).

    Args:
        text: The ODCS YAML, or the document already parsed (to import several of its
            objects without parsing it again; it is not modified).
        object_name: The schema object to import (its ``name`` or ``physicalName``);
            None takes the first and lists the others.

    Returns:
        The contract's YAML text (a header comment lists what was not imported) and
        the notes.

    Raises:
        ConfigError: Not YAML, not an ODCS document with schema objects, an unknown
            ``object_name``, or (a bug) an import lakegate cannot load.
    """
    doc: Any = text
    if isinstance(text, str):
        try:  # libyaml when installed: an ODCS file of 70 tables parses 10 times faster
            doc = yaml.load(text, Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))
        except yaml.YAMLError as exc:
            raise ConfigError(f"not YAML: {exc}") from None
    objects = doc.get("schema") if isinstance(doc, dict) else None
    if not isinstance(objects, list) or not objects:
        raise ConfigError("not an ODCS v3 contract: no 'schema' list of objects")
    names = [str(o.get("name")) for o in objects]
    chosen = objects[0]
    if object_name is not None:
        matches = [o for o in objects if object_name in (o.get("name"), o.get("physicalName"))]
        if not matches:
            raise ConfigError(f"no schema object {object_name!r}; objects: {', '.join(names)}")
        chosen = matches[0]
    importer = _Importer(doc, chosen)
    contract = importer.contract()
    others = [n for n in names if n != chosen.get("name")]
    if others:
        importer.notes.insert(
            0,
            "other schema objects (a lakegate contract is one table; choose with --object): "
            f"{', '.join(others)}",
        )
    header = [
        f"Imported from ODCS {doc.get('apiVersion', '')} contract {doc.get('id', '')} "
        f"(schema object {chosen.get('name')!r}) by lakegate contract import."
    ]
    if importer.notes:
        header += ["Not imported:", *(f"  - {n}" for n in importer.notes)]
    text = "".join(f"# {line}\n" for line in header) + dump_yaml(contract)
    try:
        contract_checks(load_contract(Path(f"{chosen.get('name')}.yaml"), text))
    except ConfigError as exc:
        raise ConfigError(f"the imported contract is not valid: {exc}") from None
    return Imported(text, tuple(importer.notes))


def import_odcs(text: str | dict[str, Any], object_name: str | None = None) -> str:
    """The lakegate contract YAML of an ODCS v3 contract (see :func:`convert_odcs`).

    Raises:
        ConfigError: See :func:`convert_odcs`.
    """
    return convert_odcs(text, object_name).text
