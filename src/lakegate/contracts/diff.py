"""Breaking-change rules between two versions of a contract (``lakegate contract diff``).

:func:`diff_contracts` lists every difference between an OLD and a NEW contract,
classifies each under a rule as ``breaking``, ``non_breaking`` or ``info``
(non-breaking, documentation only), names the consumers it affects and computes the
smallest semantic-version bump the changes need. Rules ([seeds]: the seeds'
``versioning`` block and schema change management; [lakegate]: our own):

========================  ============  ====================================================
rule                      default       when
========================  ============  ====================================================
removing_required_field   breaking      a required field is removed [seeds]
removing_optional_field   breaking      an optional field is removed: a query selecting it
                                        breaks, declared consumer or not [seeds]
renaming_field            breaking      a removed and an added field of the same type at the
                                        same place among the kept fields, or with a similar
                                        name (ratio >= 0.8) or the same description [seeds]
changing_field_type       breaking      another logical type (integer -> number too: float64
                                        cannot hold every int64), a narrower decimal, another
                                        timezone, another nested shape [seeds]
adding_required_field     breaking      producers must now send it [lakegate]
making_field_required     breaking      a nullable field becomes required [lakegate]
tightening_constraint     breaking      a higher minimum, lower maximum or maxLength, a
                                        pattern/format/enum/unique added, a pattern or any
                                        parameter without a direction changed, a critical
                                        check or SLA added or made stricter, a check made
                                        critical: yesterday's data can fail the gate [lakegate]
removing_enum_value       breaking      an enum or allowed_values value is removed [lakegate]
renaming_contract         breaking      contract.name changes [lakegate]
adding_optional_field     non_breaking  [seeds]
adding_enum_value         non_breaking  [seeds]
loosening_constraint      non_breaking  the reverse of tightening; a required field made
                                        nullable; a decimal widened so every old value fits
                                        (as Delta Lake's type widening) [lakegate]
changing_classification   non_breaking  pii or retention_days changes [lakegate]
changing_monitor          non_breaking  a warning/info check or SLA is added, removed or
                                        changed: it never stops a load [lakegate]
changing_description      info          descriptions, examples, defaults (the seeds list it
                                        as non-breaking; it needs only a patch) [seeds]
changing_metadata         info          owner, team, tags, status, consumers, versioning,
                                        change process, check_frequency [lakegate]
========================  ============  ====================================================

NEW's ``versioning`` lists (OLD's when NEW has none) override the defaults: a rule
listed as breaking is breaking, one listed as non-breaking is non-breaking (an info
default stays info). Exception: removing or renaming a field that a declared consumer
lists in ``required_fields`` stays breaking. The last four [lakegate] rules are not in
the contract vocabulary, so they keep their default.

Bumps: breaking needs major, non_breaking minor, info patch; while OLD's major is 0
(semver's initial development) breaking needs minor and the rest patch, as Cargo does.
From a pre-release to a later pre-release or the release of the same version any
change is accepted: semver promises nothing across pre-releases.

Reuse: :func:`classify_schema_change` runs the same field rules (added, removed,
renamed, retyped, nullability) on plain ``{name: Column(type, nullable)}`` or
``{name: (type, nullable)}`` mappings, e.g. for a source's schema drift at run time.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
from enum import StrEnum
from typing import Any

from pydantic import BaseModel

from lakegate.checks.model import ColumnType, LogicalType, Severity
from lakegate.config.contract import CheckSpec, Consumer, Contract, Property, Quality, Versioning
from lakegate.config.durations import parse_duration
from lakegate.contracts.compile import column_type


class Kind(StrEnum):
    """How a change is classified; ``info`` is non-breaking and documentation only."""

    BREAKING = "breaking"
    NON_BREAKING = "non_breaking"
    INFO = "info"


class Bump(StrEnum):
    """A semantic-version bump, in increasing order."""

    NONE = "none"
    PATCH = "patch"
    MINOR = "minor"
    MAJOR = "major"

    @property
    def rank(self) -> int:
        return list(Bump).index(self)


DEFAULT_RULES: dict[str, Kind] = {
    "removing_required_field": Kind.BREAKING,
    "removing_optional_field": Kind.BREAKING,
    "renaming_field": Kind.BREAKING,
    "changing_field_type": Kind.BREAKING,
    "adding_required_field": Kind.BREAKING,
    "making_field_required": Kind.BREAKING,
    "tightening_constraint": Kind.BREAKING,
    "removing_enum_value": Kind.BREAKING,
    "renaming_contract": Kind.BREAKING,
    "adding_optional_field": Kind.NON_BREAKING,
    "adding_enum_value": Kind.NON_BREAKING,
    "loosening_constraint": Kind.NON_BREAKING,
    "changing_classification": Kind.NON_BREAKING,
    "changing_monitor": Kind.NON_BREAKING,
    "changing_description": Kind.INFO,
    "changing_metadata": Kind.INFO,
}
_TAKES_FIELD_AWAY = {"removing_required_field", "removing_optional_field", "renaming_field"}
_TIGHT, _LOOSE, _MONITOR = "tightening_constraint", "loosening_constraint", "changing_monitor"
_TYPE = "changing_field_type"
# Parameters whose larger (_HIGHER) or smaller (_LOWER) value is stricter.
_HIGHER = {"minimum", "exclusiveMinimum", "minLength", "min", "min_records", "mostly", "mean_min"}
_LOWER = {"maximum", "exclusiveMaximum", "maxLength", "max", "max_records", "max_age", "max_share"}
_LOWER |= {"max_delay_minutes", "max_change", "mean_max", "tolerance", "anomaly_threshold"}
_LOWER |= {"required_fields_null_rate", "optional_fields_null_rate"}
_ENUM_KEYS = {"enum", "allowed_values", "values"}
_DOC_KEYS = {"description": "changing_description", "check_frequency": "changing_metadata"}
_PARAM_DEFAULTS = {"mostly": 1.0}


@dataclass(frozen=True)
class Change:
    """One classified difference between two contracts (or two column lists).

    Attributes:
        rule: The rule it falls under (see the module docstring).
        kind: breaking, non_breaking or info.
        field: The column (NEW's name; ``a.b`` or ``a[]`` when nested), or None for
            a table-level change.
        what: What changed: ``field``, ``name``, ``type``, ``required``, ``maximum``,
            ``check <id> severity``, ``freshness SLA max_delay_minutes``, ...
        old: The old value (None when added), JSON-friendly.
        new: The new value (None when removed), JSON-friendly.
        consumers: Declared consumers (of OLD or NEW) affected: those listing the field
            (old or new name) in required_fields; all of them for a table-level change
            that is not info.
        note: Why the classification is what it is, when that is not obvious.
    """

    rule: str
    kind: Kind
    field: str | None
    what: str
    old: Any = None
    new: Any = None
    consumers: tuple[str, ...] = ()
    note: str | None = None


@dataclass(frozen=True)
class ContractDiff:
    """Every change from OLD to NEW and whether NEW's version is bumped enough.

    Attributes:
        old_version: OLD's ``contract.version``.
        new_version: NEW's ``contract.version``.
        changes: Contract metadata first, then fields (NEW's order, removed ones
            last), quality SLAs and table checks.
        required_bump: The smallest bump the changes need (none when identical).
        version_bump: The bump from old_version to new_version.
        bump_ok: False when NEW's version goes backwards or is not bumped enough.
        verdict: One sentence saying why, with the smallest acceptable version.
    """

    old_version: str
    new_version: str
    changes: tuple[Change, ...]
    required_bump: Bump
    version_bump: Bump
    bump_ok: bool
    verdict: str

    @property
    def breaking(self) -> tuple[Change, ...]:
        return tuple(c for c in self.changes if c.kind is Kind.BREAKING)

    def to_dict(self) -> dict[str, Any]:
        """The diff as JSON-friendly data, with the number of changes of each kind."""
        counts = {k.value: sum(c.kind is k for c in self.changes) for k in Kind}
        return {**asdict(self), "counts": counts}


@dataclass(frozen=True)
class Column:
    """A column as schema drift sees it: a type (logical, or an engine's name) and nullability."""

    type: ColumnType | str
    nullable: bool = True


@dataclass(frozen=True)
class Policy:
    """Lakegate's default rules, overridden by a contract's ``versioning`` lists."""

    breaking: frozenset[str] = frozenset()
    non_breaking: frozenset[str] = frozenset()

    @classmethod
    def of(cls, v: Versioning | None) -> Policy:
        return cls(frozenset(v.breaking_changes), frozenset(v.non_breaking_changes)) if v else cls()

    def kind(self, rule: str) -> Kind:
        """The class of ``rule``; a rule listed both ways is breaking."""
        default = DEFAULT_RULES[rule]
        if rule in self.breaking:
            return Kind.BREAKING
        if rule in self.non_breaking and default is Kind.BREAKING:
            return Kind.NON_BREAKING
        return default


@dataclass(frozen=True)
class _Found:
    rule: str
    field: str | None
    what: str
    old: Any = None
    new: Any = None
    note: str | None = None
    was: str | None = None  # a renamed field's old name


@dataclass(frozen=True)
class _Field:
    type: ColumnType | str
    required: bool
    prop: Property | None = None


def _plain(value: Any) -> Any:
    """JSON-friendly: models dumped as written, enums as their values, types as text."""
    if isinstance(value, BaseModel):
        return value.model_dump(mode="json", by_alias=True, exclude_defaults=True)
    if isinstance(value, Mapping):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    if isinstance(value, StrEnum | ColumnType):
        return str(value)
    return value


# ----------------------------------------------------------------------------- fields


def _fields(props: Mapping[str, Property], required: Sequence[str] = ()) -> dict[str, _Field]:
    return {n: _Field(column_type(p), n in required, p) for n, p in props.items()}


def _diff_fields(
    old: Mapping[str, _Field], new: Mapping[str, _Field], at: str = ""
) -> list[_Found]:
    renamed = _renames(old, new)
    out: list[_Found] = []
    for name, f in new.items():
        if name in old:
            out += _compare_field(at + name, old[name], f)
        elif name in renamed:
            was = at + renamed[name]
            out.append(_Found("renaming_field", at + name, "name", was, at + name, was=was))
            out += _compare_field(at + name, old[renamed[name]], f)
        else:
            rule = "adding_required_field" if f.required else "adding_optional_field"
            out.append(_Found(rule, at + name, "field", None, _typed(f)))
    for name, f in old.items():
        if name not in new and name not in renamed.values():
            rule = "removing_required_field" if f.required else "removing_optional_field"
            out.append(_Found(rule, at + name, "field", _typed(f), None))
    return out


def _typed(f: _Field) -> str:
    return f"{f.type} ({'required' if f.required else 'optional'})"


def _renames(old: Mapping[str, _Field], new: Mapping[str, _Field]) -> dict[str, str]:
    """``{new name: old name}`` for the removed and added fields taken for renames."""
    kept = [n for n in old if n in new]

    def place(order: list[str], name: str) -> str | None:  # the nearest kept field before
        return next((n for n in reversed(order[: order.index(name)]) if n in kept), None)

    scored = []
    for r in (n for n in old if n not in new):
        for a in (n for n in new if n not in old):
            if old[r].type != new[a].type:
                continue
            same_place = place(list(old), r) == place(list(new), a)
            docs = [f.prop.description if f.prop else None for f in (old[r], new[a])]
            same_doc = docs[0] is not None and docs[0] == docs[1]
            similar = difflib.SequenceMatcher(None, r, a).ratio()
            if same_place or same_doc or similar >= 0.8:
                scored.append(((same_place, same_doc, similar), r, a))
    pairs: dict[str, str] = {}
    for _, r, a in sorted(scored, key=lambda s: s[0], reverse=True):
        if a not in pairs and r not in pairs.values():
            pairs[a] = r
    return pairs


def _widens(old: ColumnType | str, new: ColumnType | str) -> bool:
    """True when both are decimals and ``new`` holds every value of ``old``."""
    if not (isinstance(old, ColumnType) and isinstance(new, ColumnType)):
        return False
    if {old.name, new.name} != {LogicalType.DECIMAL}:
        return False
    # Unset precision and scale are read as arrow_schema() does: decimal128(38, 9).
    (p1, s1), (p2, s2) = (
        (t.precision or 38, 9 if t.scale is None else t.scale) for t in (old, new)
    )
    return s2 >= s1 and p2 - s2 >= p1 - s1


def _compare_field(name: str, a: _Field, b: _Field) -> list[_Found]:
    out: list[_Found] = []
    if a.type != b.type:
        widens = _widens(a.type, b.type)
        note = "every old value fits" if widens else None
        out.append(_Found(_LOOSE if widens else _TYPE, name, "type", a.type, b.type, note))
    if a.required != b.required:
        rule = "making_field_required" if b.required else _LOOSE
        out.append(_Found(rule, name, "required", a.required, b.required))
    if a.prop is not None and b.prop is not None:
        out += _compare_property(name, a.prop, b.prop)
    return out


def _constraints(p: Property) -> dict[str, Any]:
    values = {
        "minimum": p.minimum,
        "exclusiveMinimum": p.exclusive_minimum,
        "maximum": p.maximum,
        "exclusiveMaximum": p.exclusive_maximum,
        "minLength": p.min_length,
        "maxLength": p.max_length,
        "pattern": p.pattern,
        "format": p.format if p.type is LogicalType.STRING else None,  # only checked there
        "unique": True if p.unique else None,
        "enum": p.enum,
    }
    return {k: v for k, v in values.items() if v is not None}


_PROPERTY_DOCS = {
    "timezone": _TYPE,
    "pii": "changing_classification",
    "retention_days": "changing_classification",
    "description": "changing_description",
    "examples": "changing_description",
    "default": "changing_description",
    "breaking_change": "changing_metadata",
}


def _compare_property(name: str, p: Property, q: Property) -> list[_Found]:
    crit = Severity.CRITICAL
    out = _compare_gate(name, "", _constraints(p), _constraints(q), crit, crit)
    for key, rule in _PROPERTY_DOCS.items():
        if getattr(p, key) != getattr(q, key):
            out.append(_Found(rule, name, key, getattr(p, key), getattr(q, key)))
    if p.format != q.format and p.type is not LogicalType.STRING:
        out.append(_Found("changing_description", name, "format", p.format, q.format))
    out += _compare_checks(name, p.checks, q.checks)
    if p.items and q.items:
        items = [_Field(column_type(i), False, i) for i in (p.items, q.items)]
        out += _compare_field(f"{name}[]", *items)
    elif p.items != q.items:
        out.append(_Found(_TYPE, name, "items", p.items, q.items))
    if p.properties is not None and q.properties is not None:
        out += _diff_fields(_fields(p.properties), _fields(q.properties), f"{name}.")
    elif p.properties != q.properties:
        out.append(_Found(_TYPE, name, "properties", p.properties, q.properties))
    return out


# ----------------------------------------------------------------------------- checks and SLAs


def _compare_gate(
    field: str | None,
    what: str,
    old: Mapping[str, Any] | None,
    new: Mapping[str, Any] | None,
    old_sev: Severity | None,
    new_sev: Severity | None,
) -> list[_Found]:
    """Changes of a check-like item (None: absent): a critical one gates loads, others monitor."""
    gate_old, gate_new = old_sev is Severity.CRITICAL, new_sev is Severity.CRITICAL
    if old is None and new is None:
        return []
    if old is None or new is None:
        rule = (
            (_TIGHT if gate_new else _MONITOR)
            if old is None
            else (_LOOSE if gate_old else _MONITOR)
        )
        shown = [None if p is None else p or True for p in (old, new)]  # {} (unique): True
        return [_Found(rule, field, what, shown[0], shown[1])]
    out: list[_Found] = []
    if old_sev != new_sev:
        rule = _TIGHT if gate_new else _LOOSE if gate_old else _MONITOR
        out.append(_Found(rule, field, f"{what} severity".strip(), old_sev, new_sev))
    for key in dict.fromkeys([*old, *new]):
        a, b = old.get(key, _PARAM_DEFAULTS.get(key)), new.get(key, _PARAM_DEFAULTS.get(key))
        label = f"{what} {key}".strip()
        if a == b:
            continue
        if key in _DOC_KEYS:
            out.append(_Found(_DOC_KEYS[key], field, label, a, b))
        elif not (gate_old and gate_new):
            out.append(_Found(_MONITOR, field, label, a, b))
        elif key in _ENUM_KEYS and a is not None and b is not None:
            out += [_Found("removing_enum_value", field, label, v, None) for v in a if v not in b]
            out += [_Found("adding_enum_value", field, label, None, v) for v in b if v not in a]
        elif a is None or b is None:
            out.append(_Found(_TIGHT if a is None else _LOOSE, field, label, a, b))
        elif (stricter := _stricter(key, a, b)) is None:
            note = "cannot tell whether the new value accepts all the old one did"
            out.append(_Found(_TIGHT, field, label, a, b, note))
        else:
            out.append(_Found(_TIGHT if stricter else _LOOSE, field, label, a, b))
    return out


def _stricter(key: str, a: Any, b: Any) -> bool | None:
    if key not in _HIGHER and key not in _LOWER:
        return None
    try:
        if key == "max_age":
            a, b = parse_duration(a), parse_duration(b)
        return bool(b > a) if key in _HIGHER else bool(b < a)
    except (TypeError, ValueError):
        return None


def _check_items(checks: Sequence[CheckSpec], column: str | None) -> dict[str, CheckSpec]:
    """Checks by id: explicit, else ``<column>.<kind>`` or ``<kind>``, then ``#2``, ``#3``."""
    items: dict[str, CheckSpec] = {}
    for spec in checks:
        col = column or spec.params.get("column")
        key = base = spec.id or (f"{col}.{spec.kind}" if col else spec.kind)
        n = 1
        while key in items:
            n += 1
            key = f"{base}#{n}"
        items[key] = spec
    return items


def _compare_checks(
    column: str | None, old: Sequence[CheckSpec], new: Sequence[CheckSpec]
) -> list[_Found]:
    def params(spec: CheckSpec | None) -> dict[str, Any] | None:
        if spec is None:
            return None
        given = {"type": spec.kind, **spec.params, "description": spec.description}
        return {k: v for k, v in given.items() if v is not None}

    a, b = _check_items(old, column), _check_items(new, column)
    out: list[_Found] = []
    for key in dict.fromkeys([*a, *b]):
        x, y = a.get(key), b.get(key)
        col = column or (y or x).params.get("column")  # type: ignore[union-attr]
        sx, sy = (x.severity if x else None), (y.severity if y else None)
        out += _compare_gate(col, f"check {key}", params(x), params(y), sx, sy)
    return out


def _sla(model: BaseModel | None) -> tuple[dict[str, Any] | None, Severity | None]:
    if model is None:
        return None, None
    return model.model_dump(exclude={"severity"}, exclude_none=True), model.severity  # type: ignore[attr-defined]


def _compare_quality(old: Quality, new: Quality) -> list[_Found]:
    out: list[_Found] = []
    for key in ("freshness", "completeness", "volume"):
        (px, sx), (py, sy) = _sla(getattr(old, key)), _sla(getattr(new, key))
        out += _compare_gate(None, f"{key} SLA", px, py, sx, sy)
    for col in dict.fromkeys([*old.validity, *new.validity]):
        (px, sx), (py, sy) = _sla(old.validity.get(col)), _sla(new.validity.get(col))
        out += _compare_gate(col, "validity", px, py, sx, sy)
    keys: list[dict[tuple[str, ...], Severity]] = [{}, {}]
    for side, u in zip(keys, (old.uniqueness, new.uniqueness), strict=True):
        for combo in [[c] for c in u.columns] + u.combinations if u else []:
            side[tuple(combo)] = u.severity  # type: ignore[union-attr]
    for cols in dict.fromkeys([*keys[0], *keys[1]]):
        field, what = (cols[0], "unique") if len(cols) == 1 else (None, f"unique {list(cols)}")
        x: dict[str, Any] | None = {} if cols in keys[0] else None
        y: dict[str, Any] | None = {} if cols in keys[1] else None
        out += _compare_gate(field, what, x, y, keys[0].get(cols), keys[1].get(cols))
    return out


def _compare_contract(old: Contract, new: Contract) -> list[_Found]:
    m, n = old.contract, new.contract
    out = [_Found("renaming_contract", None, "name", m.name, n.name)] if m.name != n.name else []
    for key in ("owner", "team", "slack_channel", "domain", "status", "tags"):
        if getattr(m, key) != getattr(n, key):
            out.append(_Found("changing_metadata", None, key, getattr(m, key), getattr(n, key)))
    if old.description != new.description:
        out.append(
            _Found("changing_description", None, "description", old.description, new.description)
        )
    pairs: dict[str, tuple[BaseModel | None, BaseModel | None]] = {
        "versioning": (old.versioning, new.versioning)
    }
    pairs["change_process"] = (old.change_process, new.change_process)
    before, after = ({c.name: c for c in x.consumers} for x in (old, new))
    pairs |= {f"consumer {k}": (before.get(k), after.get(k)) for k in {**before, **after}}
    for what, (x, y) in pairs.items():
        if x != y:
            out.append(_Found("changing_metadata", None, what, *_delta(x, y)))
    return out


def _delta(x: BaseModel | None, y: BaseModel | None) -> tuple[Any, Any]:
    """The keys whose values differ (or None for a side that is absent)."""
    a, b = _plain(x) or {}, _plain(y) or {}
    keys = [k for k in dict.fromkeys([*a, *b]) if a.get(k) != b.get(k)]
    return ({k: a.get(k) for k in keys} if x else None), (
        {k: b.get(k) for k in keys} if y else None
    )


# ----------------------------------------------------------------------------- classification


def _classify(
    found: _Found, policy: Policy, consumers: Sequence[Consumer], never: set[str]
) -> Change:
    kind, note = policy.kind(found.rule), found.note
    if found.field is None:
        names = [c.name for c in consumers] if kind is not Kind.INFO else []
    else:
        tops = {re.split(r"[.\[]", f)[0] for f in (found.field, found.was) if f}
        names = [c.name for c in consumers if tops & set(c.required_fields)]
    names = list(dict.fromkeys(names))
    if found.rule in _TAKES_FIELD_AWAY and names and kind is not Kind.BREAKING:
        kind, note = Kind.BREAKING, f"breaking whatever versioning says: {', '.join(names)} need it"
    if kind is Kind.BREAKING and found.field and re.split(r"[.\[]", found.field)[0] in never:
        note = "; ".join(filter(None, [note, "the old contract says breaking_change: never"]))
    old, new = _plain(found.old), _plain(found.new)
    return Change(found.rule, kind, found.field, found.what, old, new, tuple(names), note)


def classify_schema_change(
    old_columns: Mapping[str, Column | tuple[ColumnType | str, bool]],
    new_columns: Mapping[str, Column | tuple[ColumnType | str, bool]],
    *,
    versioning: Versioning | None = None,
    consumers: Sequence[Consumer] = (),
) -> list[Change]:
    """Classify a change of columns with the same field rules as :func:`diff_contracts`.

    Args:
        old_columns: ``{name: Column(type, nullable)}`` or ``{name: (type, nullable)}``
            in column order; a type is a :class:`ColumnType` or an engine's type name
            (compared as text, so only decimals between ColumnTypes can widen).
        new_columns: The same for the new columns.
        versioning: A contract's versioning lists, overriding the default rules.
        consumers: Declared consumers, to name the affected ones.

    Returns:
        Added, renamed, retyped and nullability changes in the new order, then removed
        columns.
    """

    def fields(cols: Mapping[str, Column | tuple[ColumnType | str, bool]]) -> dict[str, _Field]:
        spec = {n: c if isinstance(c, Column) else Column(*c) for n, c in cols.items()}
        return {n: _Field(c.type, not c.nullable) for n, c in spec.items()}

    found = _diff_fields(fields(old_columns), fields(new_columns))
    return [_classify(f, Policy.of(versioning), consumers, set()) for f in found]


# ----------------------------------------------------------------------------- versions

_SEMVER = re.compile(r"^(\d+)\.(\d+)\.(\d+)(?:-([0-9A-Za-z.-]+))?(?:\+[0-9A-Za-z.-]+)?$")


def _semver(c: Contract) -> tuple[tuple[int, int, int], tuple[Any, ...]]:
    """The version's core and its precedence key after the core (a release sorts last)."""
    match = _SEMVER.match(c.contract.version)
    if match is None:
        message = f"version {c.contract.version!r} is not a semantic version (MAJOR.MINOR.PATCH)"
        raise c.error(message, ("contract", "version"))
    major, minor, patch, pre = match.groups()
    if pre is None:
        return (int(major), int(minor), int(patch)), (1,)
    ids = tuple((0, int(p), "") if p.isdigit() else (1, 0, p) for p in pre.split("."))
    return (int(major), int(minor), int(patch)), (0, ids)


def _verdict(
    old: Contract, new: Contract, changes: Sequence[Change]
) -> tuple[Bump, Bump, bool, str]:
    (a, pre_a), (b, pre_b) = _semver(old), _semver(new)
    bumps = {Kind.BREAKING: Bump.MAJOR, Kind.NON_BREAKING: Bump.MINOR, Kind.INFO: Bump.PATCH}
    if a[0] == 0:  # initial development: breaking -> minor, the rest -> patch
        bumps = {Kind.BREAKING: Bump.MINOR, Kind.NON_BREAKING: Bump.PATCH, Kind.INFO: Bump.PATCH}
    needed = max((bumps[c.kind] for c in changes), key=lambda x: x.rank, default=Bump.NONE)
    got = (
        Bump.MAJOR
        if b[0] > a[0]
        else Bump.MINOR
        if b[:2] > a[:2]
        else Bump.PATCH
        if b > a
        else Bump.NONE
    )
    least = {
        Bump.MAJOR: f"{a[0] + 1}.0.0",
        Bump.MINOR: f"{a[0]}.{a[1] + 1}.0",
        Bump.PATCH: f"{a[0]}.{a[1]}.{a[2] + 1}",
    }.get(needed, old.contract.version)
    v1, v2 = old.contract.version, new.contract.version
    if (b, pre_b) < (a, pre_a):
        return needed, got, False, f"the version goes backwards ({v1} -> {v2}); use {least}"
    if pre_a != (1,) and b == a and (b, pre_b) > (a, pre_a):
        return needed, got, True, f"{v1} is a pre-release: {v2} may change anything"
    need = "no bump" if needed is Bump.NONE else f"a {needed} bump (at least {least})"
    is_bump = "the same version" if got is Bump.NONE else f"a {got} bump"
    return (
        needed,
        got,
        got.rank >= needed.rank,
        f"{v1} -> {v2} is {is_bump}; the changes need {need}",
    )


def diff_contracts(old: Contract, new: Contract) -> ContractDiff:
    """Every change from ``old`` to ``new``, classified, and the version verdict.

    Args:
        old: The published contract.
        new: The proposed one; its ``versioning`` lists (OLD's when it has none)
            override the default rules.

    Returns:
        The changes, the smallest bump they need and whether NEW's version has it.

    Raises:
        ConfigError: A ``contract.version`` is not a semantic version (positioned in
            its file when the contract was loaded from one).
    """
    never = {n for n, p in old.schema_.properties.items() if p.breaking_change == "never"}
    found = _compare_contract(old, new)
    found += _diff_fields(
        _fields(old.schema_.properties, old.schema_.required),
        _fields(new.schema_.properties, new.schema_.required),
    )
    found += _compare_quality(old.quality, new.quality)
    found += _compare_checks(None, old.checks, new.checks)
    policy, consumers = (
        Policy.of(new.versioning or old.versioning),
        [*old.consumers, *new.consumers],
    )
    changes = tuple(_classify(f, policy, consumers, never) for f in found)
    needed, got, ok, verdict = _verdict(old, new, changes)
    return ContractDiff(
        old.contract.version, new.contract.version, changes, needed, got, ok, verdict
    )
