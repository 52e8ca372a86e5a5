"""Export a contract as dbt tests: a ``schema.yml`` plus the generic tests it uses.

The model is named after the contract. dbt core's built-in tests carry the checks
they mean exactly; the rest are generic tests shipped with the export in
``macros/lakegate_tests.sql`` (no dbt_utils, no ``dbt deps``); custom_sql checks
become singular tests. Built from the compiled checks:

==================  ===============================================================
lakegate check      dbt test
==================  ===============================================================
not_null            ``not_null`` (``lakegate_not_null`` when ``mostly`` < 1)
accepted_values     ``accepted_values`` with ``fail_calc: sum(n_records)`` so dbt
                    counts rows, not distinct values (``lakegate_accepted_values``
                    when ``mostly`` < 1 or the values mix types)
unique              ``unique`` with ``fail_calc: sum(n_records)``: every row holding
                    a duplicated value, as lakegate counts
relationships       ``relationships`` to ``ref('<to>')`` (``lake.x`` -> ``ref('x')``)
range               ``lakegate_range``
regex / format      ``lakegate_regex`` (search semantics; DuckDB ``regexp_matches``,
                    PostgreSQL ``~``, Spark ``rlike``, Snowflake ``regexp_instr``)
length              ``lakegate_length``
expression          ``lakegate_expression`` (a null result passes)
unique_combination  ``lakegate_unique_combination`` (rows of duplicated keys)
row_count           ``lakegate_row_count``
null_rate           ``lakegate_null_rate`` (returns the null rows when the share of
                    nulls exceeds the maximum)
freshness           ``lakegate_freshness`` (against the warehouse's current time)
custom_sql          a singular test ``tests/lakegate_<contract>__<id>.sql`` whose
                    ``dataset`` is ``ref('<contract>')``
==================  ===============================================================

Row-level generic tests return the failing rows, so dbt's failure count is
lakegate's failing_rows; with ``mostly`` < 1 they return them only when the passing
share of the evaluated rows is below ``mostly``. Severity: critical -> error,
warning and info -> warn. Each test is named ``lakegate_<contract>__<check id>``
and carries ``meta: {lakegate_contract, lakegate_check}``.

No dbt equivalent, listed in the file's header and by :func:`unsupported`: type
(dbt core has no value-level type test; the column's ``data_type`` is declared,
which only an enforced model contract checks), distribution, volume_anomaly
(needs run history), reconciliation, and relationships whose ``to`` is a path.

Tests are written with dbt's ``arguments:`` property (dbt-core 1.10.5 or newer).
"""

from __future__ import annotations

import re
from typing import Any

from lakegate.checks import model as m
from lakegate.checks.compile import engine_type
from lakegate.checks.results import to_jsonable
from lakegate.config.contract import Contract
from lakegate.contracts.compile import column_type, contract_checks
from lakegate.contracts.exports import dump_yaml, replace_dataset

MACROS_PATH = "macros/lakegate_tests.sql"
_SAFE = re.compile(r"^[a-z_][a-z0-9_]*$")
_REF = re.compile(r"^(?:lake\.)?([A-Za-z_][A-Za-z0-9_]*)$")
_NO_EQUIVALENT = {
    "type": "dbt core has no value test for types (declared as the column's data_type)",
    "distribution": "dbt core has no distribution test",
    "volume_anomaly": "needs lakegate's run history",
    "reconciliation": "dbt core has no cross-dataset total comparison",
}
_SEVERITY = {m.Severity.CRITICAL: "error", m.Severity.WARNING: "warn", m.Severity.INFO: "warn"}
_ROWS = "coalesce(sum(n_records), 0)"
_JINJA = re.compile(r"\{[{%#]")
_REF_MARK = "__lakegate_model__"

# The generic tests. Each row-level test selects the rows lakegate counts as failing.
MACROS = """\
-- Generic tests for contracts exported by lakegate (lakegate contract export --format dbt).
-- They select the rows lakegate counts as failing, with lakegate's semantics: a null passes
-- every test but not_null and null_rate; with mostly < 1 a test returns its failing rows
-- only when the passing share of the evaluated rows is below mostly.

{% macro lakegate_failing_rows(model, failure, evaluated, mostly=1) %}
select * from {{ model }} where {{ failure }}
{%- if mostly < 1 %}
  and (
    select 1.0 * (count(case when {{ evaluated }} then 1 end)
                  - count(case when {{ failure }} then 1 end))
           / nullif(count(case when {{ evaluated }} then 1 end), 0)
    from {{ model }}
  ) < {{ mostly }}
{%- endif %}
{% endmacro %}

{% macro lakegate_literal(value) -%}
{%- if value is string -%}'{{ value | replace("'", "''") }}'{%- else -%}{{ value }}{%- endif -%}
{%- endmacro %}

{% macro lakegate_as_text(column_name) -%}
cast({{ column_name }} as {{ dbt.type_string() }})
{%- endmacro %}

{% macro lakegate_regex_matches(value, pattern) -%}
{{ return(adapter.dispatch('lakegate_regex_matches')(value, pattern)) }}
{%- endmacro %}
{% macro default__lakegate_regex_matches(value, pattern) -%}
regexp_like({{ value }}, {{ lakegate_literal(pattern) }})
{%- endmacro %}
{% macro duckdb__lakegate_regex_matches(value, pattern) -%}
regexp_matches({{ value }}, {{ lakegate_literal(pattern) }})
{%- endmacro %}
{% macro postgres__lakegate_regex_matches(value, pattern) -%}
({{ value }} ~ {{ lakegate_literal(pattern) }})
{%- endmacro %}
{% macro spark__lakegate_regex_matches(value, pattern) -%}
({{ value }} rlike '{{ pattern | replace("\\\\", "\\\\\\\\") | replace("'", "\\\\'") }}')
{%- endmacro %}
{% macro databricks__lakegate_regex_matches(value, pattern) -%}
{{ spark__lakegate_regex_matches(value, pattern) }}
{%- endmacro %}
{% macro snowflake__lakegate_regex_matches(value, pattern) -%}
(regexp_instr({{ value }}, $${{ pattern }}$$) > 0)
{%- endmacro %}

{% test lakegate_not_null(model, column_name, mostly=1) %}
{{ lakegate_failing_rows(model, column_name ~ ' is null', 'true', mostly) }}
{% endtest %}

{% test lakegate_accepted_values(model, column_name, values, quote=true, mostly=1) %}
{% set listed %}{% for v in values %}{% if quote %}{{ lakegate_literal(v | string) }}{% else %}{{ v }}{% endif %}{% if not loop.last %}, {% endif %}{% endfor %}{% endset %}
{{ lakegate_failing_rows(model, column_name ~ ' is not null and ' ~ column_name ~ ' not in (' ~ listed ~ ')', column_name ~ ' is not null', mostly) }}
{% endtest %}

{% test lakegate_range(model, column_name, min_value=none, max_value=none, strict_min=false, strict_max=false, mostly=1) %}
{% set outside = [] %}
{% if min_value is not none %}{% do outside.append(column_name ~ (' <= ' if strict_min else ' < ') ~ lakegate_literal(min_value)) %}{% endif %}
{% if max_value is not none %}{% do outside.append(column_name ~ (' >= ' if strict_max else ' > ') ~ lakegate_literal(max_value)) %}{% endif %}
{% set failure = column_name ~ ' is not null and (' ~ (outside | join(' or ') or 'false') ~ ')' %}
{{ lakegate_failing_rows(model, failure, column_name ~ ' is not null', mostly) }}
{% endtest %}

{% test lakegate_regex(model, column_name, pattern, mostly=1) %}
{% set failure = column_name ~ ' is not null and not ' ~ lakegate_regex_matches(lakegate_as_text(column_name), pattern) %}
{{ lakegate_failing_rows(model, failure, column_name ~ ' is not null', mostly) }}
{% endtest %}

{% test lakegate_length(model, column_name, min_length=none, max_length=none, mostly=1) %}
{% set length = dbt.length(lakegate_as_text(column_name)) %}
{% set outside = [] %}
{% if min_length is not none %}{% do outside.append(length ~ ' < ' ~ min_length) %}{% endif %}
{% if max_length is not none %}{% do outside.append(length ~ ' > ' ~ max_length) %}{% endif %}
{% set failure = column_name ~ ' is not null and (' ~ (outside | join(' or ') or 'false') ~ ')' %}
{{ lakegate_failing_rows(model, failure, column_name ~ ' is not null', mostly) }}
{% endtest %}

{% test lakegate_expression(model, expression, mostly=1) %}
{{ lakegate_failing_rows(model, 'not coalesce((' ~ expression ~ '), true)', 'true', mostly) }}
{% endtest %}

{% test lakegate_unique_combination(model, columns) %}
{{ config(fail_calc='coalesce(sum(n_records), 0)') }}
select {% for c in columns %}{{ adapter.quote(c) }}, {% endfor %}count(*) as n_records
from {{ model }}
where {% for c in columns %}{{ adapter.quote(c) }} is not null{% if not loop.last %} or {% endif %}{% endfor %}
group by {% for c in columns %}{{ adapter.quote(c) }}{% if not loop.last %}, {% endif %}{% endfor %}
having count(*) > 1
{% endtest %}

{% test lakegate_row_count(model, min_rows=none, max_rows=none) %}
select count(*) as row_count from {{ model }}
having false
{%- if min_rows is not none %} or count(*) < {{ min_rows }}{% endif %}
{%- if max_rows is not none %} or count(*) > {{ max_rows }}{% endif %}
{% endtest %}

{% test lakegate_null_rate(model, column_name, max_rate) %}
select * from {{ model }}
where {{ column_name }} is null
  and (select 1.0 * (count(*) - count({{ column_name }})) / nullif(count(*), 0)
       from {{ model }}) > {{ max_rate }}
{% endtest %}

{% test lakegate_freshness(model, column_name, max_age_seconds) %}
select max({{ column_name }}) as newest from {{ model }}
having max({{ column_name }}) is null
    or max({{ column_name }}) < {{ dbt.dateadd('second', -max_age_seconds, dbt.current_timestamp()) }}
{% endtest %}
"""


def macros() -> str:
    """The text of ``macros/lakegate_tests.sql``: the generic tests the export uses."""
    return MACROS


def dbt_test_name(contract: Contract, check: m.Check, taken: set[str]) -> str:
    """The dbt name of the test exported for ``check``, ``lakegate_<contract>__<id>``
    with other characters than letters, digits and ``_`` written ``_`` (and ``_2``,
    ``_3``, ... appended when that name is in ``taken``, which gets the name)."""
    base = re.sub(r"[^A-Za-z0-9_]", "_", f"lakegate_{contract.contract.name}__{check.id}")
    name, n = base, 1
    while name in taken:
        n += 1
        name = f"{base}_{n}"
    taken.add(name)
    return name


def _values(values: tuple[Any, ...]) -> tuple[list[Any], bool] | None:
    """The values as dbt writes them and whether to quote them, or None when mixed."""
    present = [to_jsonable(v) for v in values if v is not None]
    if all(isinstance(v, str) for v in present):
        return present, True
    if all(isinstance(v, int | float) and not isinstance(v, bool) for v in present):
        return present, False
    if all(isinstance(v, bool) for v in present):
        return present, False
    return None


def _translate(check: m.Check) -> tuple[str, dict[str, Any], dict[str, Any]] | str:
    """``(test, arguments, extra config)`` for a check, or why there is none."""
    mostly = getattr(check, "mostly", 1.0)
    with_mostly = {"mostly": mostly} if mostly < 1 else {}
    if check.kind in _NO_EQUIVALENT:
        return _NO_EQUIVALENT[check.kind]
    if isinstance(check, m.NotNull):
        return ("lakegate_not_null", with_mostly, {}) if mostly < 1 else ("not_null", {}, {})
    if isinstance(check, m.AcceptedValues):
        written = _values(check.values)
        if written is None or mostly < 1:
            values, quote = written or ([to_jsonable(v) for v in check.values], True)
            args = {"values": values, "quote": quote, **with_mostly}
            return "lakegate_accepted_values", args, {}
        values, quote = written
        args = {"values": values} | ({} if quote else {"quote": False})
        return "accepted_values", args, {"fail_calc": _ROWS}
    if isinstance(check, m.Unique):
        return "unique", {}, {"fail_calc": _ROWS}
    if isinstance(check, m.Relationships):
        match = _REF.match(check.to)
        if match is None:
            return f"'to' is a path ({check.to}), not a dbt model"
        return "relationships", {"to": f"ref('{match.group(1)}')", "field": check.field}, {}
    if isinstance(check, m.Range):
        bounds = {"min_value": check.min, "max_value": check.max}
        args = {k: to_jsonable(v) for k, v in bounds.items() if v is not None}
        strict = {"strict_min": check.strict_min, "strict_max": check.strict_max}
        return "lakegate_range", args | {k: v for k, v in strict.items() if v} | with_mostly, {}
    if isinstance(check, m.Regex):
        return "lakegate_regex", {"pattern": check.pattern, **with_mostly}, {}
    if isinstance(check, m.Length):
        bounds = {"min_length": check.min, "max_length": check.max}
        return (
            "lakegate_length",
            {k: v for k, v in bounds.items() if v is not None} | with_mostly,
            {},
        )
    if isinstance(check, m.Expression):
        return "lakegate_expression", {"expression": check.expression, **with_mostly}, {}
    if isinstance(check, m.UniqueCombination):
        return "lakegate_unique_combination", {"columns": list(check.keys)}, {}
    if isinstance(check, m.RowCount):
        bounds = {"min_rows": check.min, "max_rows": check.max}
        return "lakegate_row_count", {k: v for k, v in bounds.items() if v is not None}, {}
    if isinstance(check, m.NullRate):
        return "lakegate_null_rate", {"max_rate": check.max_rate}, {}
    if isinstance(check, m.Freshness):
        return "lakegate_freshness", {"max_age_seconds": check.max_age_seconds}, {}
    return f"no dbt test for {check.kind}"


def _literal(value: Any) -> Any:
    """``value`` with every text dbt would read as Jinja (``{{``, ``{%``, ``{#``) kept
    literal by a raw block: dbt renders test arguments and config as templates."""
    if isinstance(value, dict):
        return {k: _literal(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_literal(v) for v in value]
    if isinstance(value, str) and _JINJA.search(value):
        return "{% raw %}" + value + "{% endraw %}"
    return value


def _test(
    contract: Contract, check: m.Check, name: str, test: str, args: dict[str, Any], config: Any
) -> Any:
    meta = {"lakegate_contract": contract.contract.name, "lakegate_check": check.id}
    config = {**config, "meta": meta}
    if check.severity is not m.Severity.CRITICAL:
        config["severity"] = _SEVERITY[check.severity]
    body: dict[str, Any] = {"name": name}
    if args:
        body["arguments"] = _literal(args)
    body["config"] = _literal(config)
    return {test: body}


def _column(name: str, contract: Contract) -> dict[str, Any]:
    prop = contract.schema_.properties[name]
    out: dict[str, Any] = {"name": name}
    if not _SAFE.match(name):
        out["quote"] = True
    if prop.description:
        out["description"] = prop.description.strip()
    if prop.type not in (m.LogicalType.ARRAY, m.LogicalType.OBJECT):
        out["data_type"] = engine_type(column_type(prop)).sql()
    if prop.pii:
        out["meta"] = {"pii": True}
    return out


def _singular(contract: Contract, check: m.CustomSql) -> str:
    meta = {"lakegate_contract": contract.contract.name, "lakegate_check": check.id}
    config = f"meta={meta!r}"
    if check.severity is not m.Severity.CRITICAL:
        config = f"severity={_SEVERITY[check.severity]!r}, {config}"
    ref = "{{ ref('" + contract.contract.name + "') }}"
    sql = replace_dataset(check.sql, _REF_MARK).strip()
    if _JINJA.search(sql):  # keep the user's text literal around the ref
        sql = "{% raw %}" + sql.replace(_REF_MARK, "{% endraw %}" + ref + "{% raw %}")
        sql += "{% endraw %}"
    return (
        f"-- lakegate check {check.id} (custom_sql) of contract {contract.contract.name} "
        f"{contract.contract.version}: the rows it returns fail.\n"
        f"{{{{ config({config}) }}}}\n{sql.replace(_REF_MARK, ref)}\n"
    )


def export_files(contract: Contract) -> tuple[dict[str, str], list[str]]:
    """The files of the export, relative to a dbt project's root, and what is left out.

    Returns:
        ``({path: text}, unsupported)``: ``models/<contract>.yml``, ``macros/lakegate_tests.sql``
        and one ``tests/lakegate_<contract>__<id>.sql`` per custom_sql check;
        ``unsupported`` lines read ``<check id> (<kind>): <reason>``.

    Raises:
        ConfigError: The contract's checks do not compile, or a custom_sql check is
            not one SELECT.
    """
    name = contract.contract.name
    columns = {n: _column(n, contract) for n in contract.schema_.properties}
    column_tests: dict[str, list[Any]] = {n: [] for n in columns}
    model_tests: list[Any] = []
    files: dict[str, str] = {}
    notes: list[str] = []
    taken: set[str] = set()
    for check in contract_checks(contract):
        if isinstance(check, m.CustomSql):
            path = f"tests/{dbt_test_name(contract, check, taken)}.sql"
            files[path] = _singular(contract, check)
            continue
        translated = _translate(check)
        if isinstance(translated, str):
            notes.append(f"{check.id} ({check.kind}): {translated}")
            continue
        test = _test(contract, check, dbt_test_name(contract, check, taken), *translated)
        column = getattr(check, "column", None)
        column_tests.get(column or "", model_tests).append(test)
    model: dict[str, Any] = {"name": name}
    if contract.description:
        model["description"] = contract.description.strip()
    model["config"] = {"meta": {"lakegate_contract": name, "version": contract.contract.version}}
    if model_tests:
        model["data_tests"] = model_tests
    model["columns"] = [
        columns[n] | ({"data_tests": column_tests[n]} if column_tests[n] else {}) for n in columns
    ]
    header = [
        f"dbt tests for lakegate contract {name} {contract.contract.version} "
        "(lakegate contract export --format dbt).",
        f"The lakegate_* generic tests are in {MACROS_PATH}; written with --output DIR.",
    ]
    singular = sorted(p for p in files if p.startswith("tests/"))
    if singular:
        header.append(f"custom_sql checks are singular tests: {', '.join(singular)}.")
    if notes:
        header += ["No dbt equivalent, not exported:", *(f"  - {n}" for n in notes)]
    text = "".join(f"# {line}\n" for line in header)
    text += dump_yaml({"version": 2, "models": [model]})
    return {f"models/{name}.yml": text, MACROS_PATH: macros(), **files}, notes


def export(contract: Contract) -> str:
    """The ``schema.yml`` text of the export (see the module doc; the generic tests it
    names are :func:`macros`, custom_sql checks are in :func:`export_files`).

    Raises:
        ConfigError: The contract's checks do not compile.
    """
    files, _ = export_files(contract)
    return files[f"models/{contract.contract.name}.yml"]


def unsupported(contract: Contract) -> list[str]:
    """The checks with no dbt test, ``<check id> (<kind>): <reason>``."""
    return export_files(contract)[1]
