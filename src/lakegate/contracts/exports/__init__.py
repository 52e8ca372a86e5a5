"""Export a contract to other tools' formats (and import ODCS contracts).

One module per format, each with ``export(contract: Contract) -> str`` returning
the file's text, found by name in :data:`EXPORTERS` and imported only when used.
A module may also define ``unsupported(contract: Contract) -> list[str]``: the
checks that have no equivalent in its format, one line each, which the CLI prints
on stderr (the exported file lists them too, in its own way).

Every exporter works from the compiled checks
(:func:`lakegate.contracts.compile.contract_checks`), so an exported test means
what lakegate's check means: a null passes every check but not_null and null_rate,
and ``mostly`` is the passing share of the evaluated rows.

ODCS contracts are read back with :func:`lakegate.contracts.exports.import_odcs.import_odcs`.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from lakegate.errors import UserInputError

if TYPE_CHECKING:
    from lakegate.config.contract import Contract

EXPORTERS: dict[str, str] = {
    "jsonschema": "lakegate.contracts.exports.jsonschema:export",
    "great-expectations": "lakegate.contracts.exports.great_expectations:export",
    "dbt": "lakegate.contracts.exports.dbt:export",
    "odcs": "lakegate.contracts.exports.odcs:export",
}


def _module(format: str) -> tuple[Any, str]:
    if format not in EXPORTERS:
        raise UserInputError(
            f"unknown export format {format!r}; known: {', '.join(sorted(EXPORTERS))}"
        )
    module_name, function = EXPORTERS[format].split(":")
    return importlib.import_module(module_name), function


def export_contract(contract: Contract, format: str) -> str:
    """The text of ``contract`` in ``format``.

    Args:
        contract: A loaded contract.
        format: A key of :data:`EXPORTERS` (jsonschema, great-expectations, dbt, odcs).

    Raises:
        UserInputError: An unknown format.
        ConfigError: The contract's checks do not compile.
    """
    module, function = _module(format)
    exporter: Callable[[Contract], str] = getattr(module, function)
    return exporter(contract)


def unsupported_checks(contract: Contract, format: str) -> list[str]:
    """The checks of ``contract`` that ``format`` cannot express, one line each
    (``<check id> (<kind>): <reason>``); empty when the format's module does not say.

    Raises:
        UserInputError: An unknown format.
    """
    module, _ = _module(format)
    lister: Callable[[Contract], list[str]] | None = getattr(module, "unsupported", None)
    return lister(contract) if lister is not None else []


def replace_dataset(sql: str, replacement: str, dialect: str = "duckdb") -> str:
    """``sql`` with every table reference ``dataset`` (the checked data, in a
    custom_sql check) replaced by ``replacement``, the rest of the text unchanged.

    A reference without an alias keeps ``dataset`` as its alias, so qualified
    column names (``dataset.x``) still resolve.

    Raises:
        ConfigError: ``sql`` is not one SELECT statement.
    """
    from sqlglot import exp

    from lakegate.transform import parse_select

    query = parse_select(sql, dialect, "custom_sql")
    spans: list[tuple[int, int, bool]] = []
    for table in query.find_all(exp.Table):
        meta = table.this.meta if isinstance(table.this, exp.Identifier) else {}
        if table.name == "dataset" and not table.db and "start" in meta:
            start, end = meta["start"], meta["end"] + 1
            if sql[start - 1 : start] == '"' and sql[end : end + 1] == '"':
                start, end = start - 1, end + 1
            spans.append((start, end, bool(table.alias)))
    for start, end, aliased in sorted(spans, reverse=True):
        text = replacement if aliased else f"{replacement} AS dataset"
        sql = sql[:start] + text + sql[end:]
    return sql


def dump_yaml(data: Any) -> str:
    """YAML text for an export: keys in insertion order, multi-line text as ``|`` blocks."""
    import yaml

    class _Dumper(yaml.SafeDumper):
        pass

    def _str(dumper: yaml.SafeDumper, value: str) -> yaml.ScalarNode:
        style = "|" if "\n" in value.strip("\n") else None
        return dumper.represent_scalar("tag:yaml.org,2002:str", value, style=style)

    _Dumper.add_representer(str, _str)
    return yaml.dump(data, Dumper=_Dumper, sort_keys=False, allow_unicode=True, width=100, indent=2)
