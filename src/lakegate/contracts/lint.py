"""Lint a contract: what is valid but doubtful (``lakegate contract lint``).

Loading a contract already rejects what is wrong (unknown keys, bad values, a column
reference that is not a property). The linter reports what loads but is likely a
mistake or a gap, each finding with a fix. The rules are lakegate's own, drawn from
the seeds' contract template (owner, pii, descriptions, SLAs) and data-quality
practice:

=============================  ========  ==============================================
rule                           severity  flags
=============================  ========  ==============================================
no_columns                     error     ``schema.properties`` is empty: no type, null
                                         or value check can fail
impossible_constraint          error     minimum above maximum, minLength above
                                         maxLength, min_records above max_records, an
                                         explicit range, length or row_count check
                                         with min above max, an enum value its own
                                         range, length or pattern rejects
duplicate_check_id             error     two explicit checks with one id (the
                                         contract does not compile)
consumer_unknown_field         error     a consumer requires a field the schema lacks
                                         (for contracts built in Python: loading a
                                         file already rejects it)
freshness_not_temporal         error     freshness on a column that is not a timestamp
                                         or date, or no column and not exactly one
no_owner                       warning   no ``contract.owner``: nobody to notify
required_string_unconstrained  warning   a required string with no enum, pattern,
                                         format, length, unique or check: any text
                                         passes, the empty string included
numeric_without_range          warning   a number with no minimum or maximum anywhere
unanchored_pattern             warning   a pattern with neither ``^`` nor ``$``: regex
                                         checks search the value (as GX and dbt's
                                         regex tests), so ``[A-Z]{3}`` passes
                                         ``xxABCxx``
check_never_fails              warning   a null_rate of 1.0 (a check or a completeness
                                         SLA): every share of nulls passes
enum_on_free_text              warning   an enum on a column named or described like
                                         free text, or with more than 50 values
pii_without_retention          warning   ``pii: true`` without ``retention_days``
unique_not_required            warning   a unique column that may be null (unique
                                         checks skip nulls)
versioning_conflict            warning   a rule listed as breaking and non-breaking
required_field_undocumented    info      a required field without a description
=============================  ========  ==============================================

Boolean, date, timestamp, array and object fields are not asked for constraints: the
contract format has no bounds for them.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass
from typing import Any, Literal

from lakegate.checks.model import LogicalType
from lakegate.config.contract import CheckSpec, Contract, Property

LintSeverity = Literal["error", "warning", "info"]
Loc = tuple[str | int, ...]
_NUMERIC = {LogicalType.INTEGER, LogicalType.NUMBER, LogicalType.DECIMAL}
_TEMPORAL = {LogicalType.TIMESTAMP, LogicalType.DATE}
_FREE_TEXT = {"name", "title", "description", "desc", "comment", "comments", "note", "notes"}
_FREE_TEXT |= {"text", "message", "body", "address", "reason", "remark", "remarks", "summary"}
MAX_ENUM_VALUES = 50


@dataclass(frozen=True)
class LintFinding:
    """One doubtful thing in a contract.

    Attributes:
        rule: The rule's id (see the module docstring).
        severity: error (the contract cannot work as meant), warning or info.
        field: The column it is about, or None for the contract as a whole.
        message: What is doubtful and why it matters.
        fix: What to change.
        path: The contract file, when it was loaded from one.
        line: 1-based line of the key it is about, when known.
        column: 1-based column of that key, when known.
    """

    rule: str
    severity: LintSeverity
    field: str | None
    message: str
    fix: str
    path: str | None = None
    line: int | None = None
    column: int | None = None

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class _Hit:
    field: str | None
    loc: Loc
    message: str
    fix: str


Rule = Callable[[Contract], Iterator[_Hit]]


def _props(c: Contract) -> Iterator[tuple[str, Property, bool, Loc]]:
    required = set(c.schema_.required)
    for name, prop in c.schema_.properties.items():
        yield name, prop, name in required, ("schema", "properties", name)


def _impossible_constraint(c: Contract) -> Iterator[_Hit]:
    for name, p, _, loc in _props(c):
        low = p.minimum if p.minimum is not None else p.exclusive_minimum
        high = p.maximum if p.maximum is not None else p.exclusive_maximum
        fix = "correct the bounds (is one of them in another unit?)"
        if low is not None and high is not None and low > high:
            yield _Hit(name, loc, f"{name}: minimum {low} is above maximum {high}", fix)
        if p.min_length is not None and p.max_length is not None and p.min_length > p.max_length:
            yield _Hit(
                name, loc, f"{name}: minLength {p.min_length} > maxLength {p.max_length}", fix
            )
        for value in p.enum or []:
            if why := _rejects(p, value):
                message = f"{name}: enum value {value!r} {why}, so it can never pass"
                yield _Hit(name, (*loc, "enum"), message, "fix the value or the constraint")
    for name, rule in c.quality.validity.items():
        if rule.min is not None and rule.max is not None and rule.min > rule.max:
            message = f"{name}: validity min {rule.min} is above max {rule.max}"
            yield _Hit(name, ("quality", "validity", name), message, "correct the bounds")
    volume = c.quality.volume
    if volume and _above(volume.min_records, volume.max_records):
        message = (
            f"volume min_records {volume.min_records} is above max_records "
            f"{volume.max_records}: every batch fails"
        )
        yield _Hit(None, ("quality", "volume"), message, "correct the bounds")
    for field, spec, loc in _specs(c):
        low, high = spec.params.get("min"), spec.params.get("max")
        if spec.kind in ("range", "length", "row_count") and _above(low, high):
            message = f"{spec.kind} check min {low} is above max {high}: every value fails"
            yield _Hit(field, (*loc, "params"), message, "correct the bounds")


def _above(low: Any, high: Any) -> bool:
    """True when both bounds are given, comparable, and ``low > high``."""
    try:
        return low is not None and high is not None and bool(low > high)
    except TypeError:
        return False


def _specs(c: Contract) -> Iterator[tuple[str | None, CheckSpec, Loc]]:
    """Every explicit check: its column (or None), the spec and where it is."""
    for name, p, _, loc in _props(c):
        yield from ((name, s, (*loc, "checks", i)) for i, s in enumerate(p.checks))
    for i, spec in enumerate(c.checks):
        column = spec.params.get("column")
        yield (column if isinstance(column, str) else None), spec, ("checks", i)


def _no_columns(c: Contract) -> Iterator[_Hit]:
    if not c.schema_.properties:
        message = "the contract declares no columns: no type, null or value check can fail"
        yield _Hit(None, ("schema", "properties"), message, "list the dataset's columns")


_START, _END = ("^", "\\A"), ("$", "\\Z", "\\z")


def _unanchored_pattern(c: Contract) -> Iterator[_Hit]:
    patterns: list[tuple[str, str | None, Loc]] = []
    for name, p, _, loc in _props(c):
        if p.pattern is not None:
            patterns.append((p.pattern, name, (*loc, "pattern")))
    for name, rule in c.quality.validity.items():
        if rule.pattern is not None:
            patterns.append((rule.pattern, name, ("quality", "validity", name, "pattern")))
    for field, spec, loc in _specs(c):
        if spec.kind == "regex" and isinstance(spec.params.get("pattern"), str):
            patterns.append((spec.params["pattern"], field, (*loc, "params", "pattern")))
    for pattern, field, loc in patterns:
        if not pattern.startswith(_START) and not pattern.endswith(_END):
            message = (
                f"pattern {pattern!r} has no ^ or $: regex checks search the value, so any "
                "text containing a match passes"
            )
            yield _Hit(field, loc, message, f"anchor it: '^{pattern}$'")


def _check_never_fails(c: Contract) -> Iterator[_Hit]:
    fix = "give a rate below 1.0, or remove the check"
    for field, spec, loc in _specs(c):
        if spec.kind == "null_rate" and spec.params.get("max") == 1:
            message = "null_rate max 1.0 allows every row to be null: the check never fails"
            yield _Hit(field, (*loc, "params", "max"), message, fix)
    comp = c.quality.completeness
    for key in ("required_fields_null_rate", "optional_fields_null_rate"):
        if comp is not None and getattr(comp, key) == 1:
            message = f"completeness {key} 1.0 allows every value to be null: it never fails"
            yield _Hit(None, ("quality", "completeness", key), message, fix)


def _rejects(p: Property, value: Any) -> str | None:
    if isinstance(value, int | float) and not isinstance(value, bool):
        if p.minimum is not None and value < p.minimum:
            return f"is below minimum {p.minimum}"
        if p.maximum is not None and value > p.maximum:
            return f"is above maximum {p.maximum}"
    if isinstance(value, str):
        if p.max_length is not None and len(value) > p.max_length:
            return f"is longer than maxLength {p.max_length}"
        if p.min_length is not None and len(value) < p.min_length:
            return f"is shorter than minLength {p.min_length}"
        try:
            if p.pattern is not None and re.search(p.pattern, value) is None:
                return f"does not match pattern {p.pattern!r}"
        except re.error:
            return None
    return None


def _duplicate_check_id(c: Contract) -> Iterator[_Hit]:
    seen: dict[str, Loc] = {}
    for field, spec, loc in _specs(c):
        if spec.id is None:
            continue
        if spec.id in seen:
            at = c.source.position(seen[spec.id]) if c.source else None
            where = f" (first at line {at[0]})" if at else ""
            message = f"two checks share the id {spec.id!r}{where}: the contract does not compile"
            yield _Hit(field, (*loc, "id"), message, "give each check its own id")
        seen.setdefault(spec.id, (*loc, "id"))


def _consumer_unknown_field(c: Contract) -> Iterator[_Hit]:
    for i, consumer in enumerate(c.consumers):
        for j, name in enumerate(consumer.required_fields):
            if name not in c.schema_.properties:
                message = (
                    f"consumer {consumer.name!r} requires {name!r}, which is not in the schema"
                )
                fix = "add the field, or correct the consumer's required_fields"
                yield _Hit(name, ("consumers", i, "required_fields", j), message, fix)


def _freshness_not_temporal(c: Contract) -> Iterator[_Hit]:
    props, fix = c.schema_.properties, "measure freshness on a timestamp or date column"
    fresh = c.quality.freshness
    targets: list[tuple[str, Loc]] = []
    if fresh is not None and fresh.column is not None:
        targets.append((fresh.column, ("quality", "freshness", "column")))
    elif fresh is not None:
        stamps = [n for n, p in props.items() if p.type in _TEMPORAL]
        if len(stamps) != 1:
            found = ", ".join(stamps) or "none"
            message = f"freshness names no column and the schema has {len(stamps)} temporal ones ({found})"
            yield _Hit(None, ("quality", "freshness"), message, "add quality.freshness.column")
    for name, p, _, loc in _props(c):
        targets += [
            (name, (*loc, "checks", i)) for i, s in enumerate(p.checks) if s.kind == "freshness"
        ]
    for i, spec in enumerate(c.checks):
        if spec.kind == "freshness" and isinstance(spec.params.get("column"), str):
            targets.append((spec.params["column"], ("checks", i)))
    for name, loc in targets:
        if name in props and props[name].type not in _TEMPORAL:
            message = f"freshness is measured on {name}, a {props[name].type} column"
            yield _Hit(name, loc, message, fix)


def _no_owner(c: Contract) -> Iterator[_Hit]:
    if not c.contract.owner:
        message = "the contract names no owner: nobody is told when it breaks or changes"
        yield _Hit(None, ("contract",), message, "add contract.owner (a team's address)")


def _constrained(c: Contract, name: str, p: Property) -> bool:
    given = [p.enum, p.pattern, p.format, p.min_length, p.max_length, p.checks]
    unique = c.quality.uniqueness is not None and name in c.quality.uniqueness.columns
    return any(v for v in given) or p.unique or unique or name in c.quality.validity


def _required_string_unconstrained(c: Contract) -> Iterator[_Hit]:
    for name, p, required, loc in _props(c):
        if required and p.type is LogicalType.STRING and not _constrained(c, name, p):
            message = f"required string {name} accepts any text, the empty string included"
            fix = "add minLength: 1, a maxLength, a pattern, a format or an enum"
            yield _Hit(name, loc, message, fix)


def _numeric_without_range(c: Contract) -> Iterator[_Hit]:
    for name, p, _, loc in _props(c):
        if p.type not in _NUMERIC:
            continue
        bounds = [p.minimum, p.maximum, p.exclusive_minimum, p.exclusive_maximum]
        rule = c.quality.validity.get(name)
        ranged = rule is not None and (rule.min is not None or rule.max is not None)
        if not (
            any(b is not None for b in bounds) or ranged or any(s.kind == "range" for s in p.checks)
        ):
            message = (
                f"{name} has no minimum or maximum: a sign, unit or sentinel (-1) error passes"
            )
            yield _Hit(name, loc, message, "add minimum and/or maximum")


def _enum_on_free_text(c: Contract) -> Iterator[_Hit]:
    for name, p, _, loc in _props(c):
        if not p.enum:
            continue
        words = set(re.split(r"[^a-z0-9]+", name.lower())) & _FREE_TEXT
        if "free text" in (p.description or "").lower():
            words.add("free text")
        if words or len(p.enum) > MAX_ENUM_VALUES:
            why = (
                f"named like free text ({', '.join(sorted(words))})"
                if words
                else f"{len(p.enum)} values"
            )
            message = (
                f"{name} has an enum but looks like free text ({why}): every new spelling fails"
            )
            fix = "use maxLength or a pattern, or a relationships check against a reference table"
            yield _Hit(name, (*loc, "enum"), message, fix)


def _pii_without_retention(c: Contract) -> Iterator[_Hit]:
    for name, p, _, loc in _props(c):
        if p.pii and p.retention_days is None:
            message = f"{name} is PII but has no retention_days: nobody knows when to delete it"
            yield _Hit(name, (*loc, "pii"), message, "add retention_days as agreed for this data")


def _unique_not_required(c: Contract) -> Iterator[_Hit]:
    required = set(c.schema_.required)
    sla = c.quality.uniqueness.columns if c.quality.uniqueness else []
    for name, p, _, loc in _props(c):
        if (p.unique or name in sla) and name not in required:
            message = f"{name} must be unique but may be null: unique checks skip nulls"
            yield _Hit(name, loc, message, "add it to schema.required (or a null_rate check)")


def _versioning_conflict(c: Contract) -> Iterator[_Hit]:
    v = c.versioning
    for rule in [r for r in v.breaking_changes if r in v.non_breaking_changes] if v else []:
        message = f"versioning lists {rule} as breaking and as non-breaking (diff takes breaking)"
        yield _Hit(None, ("versioning",), message, "keep the rule in one list")


def _required_field_undocumented(c: Contract) -> Iterator[_Hit]:
    for name, p, required, loc in _props(c):
        if required and not p.description:
            message = f"required field {name} has no description"
            yield _Hit(name, loc, message, "add a description: its meaning, unit and nulls")


RULES: tuple[tuple[str, LintSeverity, Rule], ...] = (
    ("no_columns", "error", _no_columns),
    ("impossible_constraint", "error", _impossible_constraint),
    ("duplicate_check_id", "error", _duplicate_check_id),
    ("consumer_unknown_field", "error", _consumer_unknown_field),
    ("freshness_not_temporal", "error", _freshness_not_temporal),
    ("no_owner", "warning", _no_owner),
    ("required_string_unconstrained", "warning", _required_string_unconstrained),
    ("numeric_without_range", "warning", _numeric_without_range),
    ("unanchored_pattern", "warning", _unanchored_pattern),
    ("check_never_fails", "warning", _check_never_fails),
    ("enum_on_free_text", "warning", _enum_on_free_text),
    ("pii_without_retention", "warning", _pii_without_retention),
    ("unique_not_required", "warning", _unique_not_required),
    ("versioning_conflict", "warning", _versioning_conflict),
    ("required_field_undocumented", "info", _required_field_undocumented),
)


def lint_contract(contract: Contract) -> list[LintFinding]:
    """Everything doubtful in a contract (see the module docstring for the rules).

    Args:
        contract: A validated contract; when loaded with ``load_contract`` the
            findings carry the file, line and column of the key they are about.

    Returns:
        The findings in file order (those without a position last).
    """
    findings = []
    source = contract.source
    for rule, severity, check in RULES:
        for hit in check(contract):
            pos = source.position(hit.loc) if source else None
            line, column = pos if pos else (None, None)
            path = str(source.path) if source else None
            findings.append(
                LintFinding(rule, severity, hit.field, hit.message, hit.fix, path, line, column)
            )
    return sorted(findings, key=lambda f: (f.line is None, f.line or 0, f.column or 0))
