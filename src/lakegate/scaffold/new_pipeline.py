"""``lakegate new pipeline``: one pipeline file and one contract stub per source table.

For each table the generator writes ``<pipelines>/<name>.yaml`` (the project's
``pipelines`` folder) and ``contracts/<name>.yaml``, where ``name`` is the table,
with the spec's prefix. A table whose name needs quoting (``Order Lines``,
``sales.Order Lines``) is read as named (the SQL source quotes it); its pipeline,
target and files are named with each run of other characters as ``_``
(``Order_Lines``, ``sales_Order_Lines``). Both files load with
:func:`lakegate.config.pipeline.load_pipeline` and
:func:`lakegate.config.contract.load_contract`, and start with comments that say
which command wrote them and what to review.

The contract stub is filled from the source's schema when the source can be read:

* ``file``: the files are profiled (:func:`lakegate.profile.stats.profile_dataset`,
  what ``lakegate profile --suggest-contract`` uses). Each column gets its type (and
  a detected ``uuid``/``email`` format); columns without a null are ``required``.
  Observed bounds, value lists and lengths are *not* copied: they describe the
  data seen today, and an incremental pipeline would reject tomorrow's.
* ``postgres`` / ``mysql``: the columns are read with
  :func:`lakegate.sources.sql.read_sql` and a ``SELECT * ... WHERE FALSE`` query
  (no row is read), then typed by the same profiler.

When the source cannot be read (no file matches, the URL's variable is unset, the
server or table is missing) or it is a REST API, the stub holds only the watermark
and merge-key columns, with guessed types and a TODO, and a warning says so.

Secrets: a database URL is written as given when it is a ``${ENV}`` reference
(default ``${SOURCE_DB_URL}``); a literal URL holding a password is refused.
"""

from __future__ import annotations

import logging
import os
import re
import shlex
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal
from urllib.parse import quote, urlsplit

import pydantic
import yaml

from lakegate.config.contract import Contract
from lakegate.config.envvars import expand
from lakegate.config.pipeline import Pipeline
from lakegate.config.project import Project
from lakegate.config.schedule import cron_expression
from lakegate.errors import LakegateError, UserInputError

if TYPE_CHECKING:
    from lakegate.profile.stats import Profile

log = logging.getLogger(__name__)

SourceKind = Literal["postgres", "mysql", "file", "rest"]
Mode = Literal["full", "incremental"]
LoadStrategy = Literal["merge", "append", "overwrite", "scd2"]

SOURCES: tuple[str, ...] = ("postgres", "mysql", "file", "rest")
MODES: tuple[str, ...] = ("full", "incremental")
STRATEGIES: tuple[str, ...] = ("merge", "append", "overwrite", "scd2")

DEFAULT_DB_URL = "${SOURCE_DB_URL}"
"""The database URL written when none is given: a reference, never a literal."""
DEFAULT_API_URL = "${SOURCE_API_URL}/{table}"
"""The REST URL written when none is given (``{table}`` is the table's name)."""
DEFAULT_FILE_PATH = "data/{table}/*.parquet"
"""The file path written when none is given (``{table}`` is the table's name)."""

_IDENTIFIER = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_SQL_SCHEMES = {
    "postgres": ("postgresql", "postgres"),
    "mysql": ("mysql", "mariadb"),
}


@dataclass(frozen=True)
class PipelineSpec:
    """What ``lakegate new pipeline`` generates.

    Attributes:
        source: ``postgres``, ``mysql``, ``file`` or ``rest``.
        tables: Source table names, one pipeline each: any name, optionally
            ``schema.table`` (the source quotes it); see :func:`pipeline_name`.
        mode: The extract: ``full`` or ``incremental`` (needs ``watermark``).
        watermark: The incremental key column (e.g. ``updated_at``).
        target_strategy: The load: ``merge``, ``append``, ``overwrite`` or ``scd2``
            (``merge`` and ``scd2`` need ``merge_keys``).
        merge_keys: The target's key columns.
        schedule: A five-field cron expression (or ``@daily``, ...), or None.
        url: Database URL (postgres, mysql; a ``${ENV}`` reference) or API URL
            (rest; ``{table}`` is replaced); None for the defaults above.
        path: File path or glob relative to the project (file; ``{table}`` is
            replaced); None for ``data/{table}/*.parquet``.
        lookback: How far before the watermark an incremental run re-reads
            (e.g. ``3 days``), or None.
        prefix: Prepended to each table's name for the pipeline, target and file names.
        force: Overwrite existing pipeline and contract files.
    """

    source: SourceKind
    tables: tuple[str, ...]
    mode: Mode = "full"
    watermark: str | None = None
    target_strategy: LoadStrategy = "append"
    merge_keys: tuple[str, ...] = ()
    schedule: str | None = None
    url: str | None = None
    path: str | None = None
    lookback: str | None = None
    prefix: str = ""
    force: bool = False


@dataclass(frozen=True)
class _Schema:
    """What was learnt of one table's columns: ``properties`` is None when nothing."""

    properties: dict[str, dict[str, Any]] | None
    required: tuple[str, ...]
    origin: str  # for the header: where the columns came from, or why they are missing


def validate_spec(spec: PipelineSpec) -> None:
    """Check a spec's options against each other.

    Raises:
        UserInputError: An unknown source, mode or strategy; no table; an empty or
            unprintable table name, or one whose pipeline name (see
            :func:`pipeline_name`) is not an identifier or is another table's; a
            watermark or merge key that is not an identifier; incremental without a
            watermark; merge or scd2 without merge keys; a bad schedule; several
            tables sharing one file path; a literal database URL holding a password
            or of another database.
    """
    _one_of("--source", spec.source, SOURCES)
    _one_of("--mode", spec.mode, MODES)
    _one_of("--target-strategy", spec.target_strategy, STRATEGIES)
    if not spec.tables:
        raise UserInputError("--tables: give at least one table (e.g. --tables orders,customers)")
    if len(set(spec.tables)) != len(spec.tables):
        raise UserInputError("--tables: a table is named twice")
    names: dict[str, str] = {}
    for table in spec.tables:
        if any(not part.strip() for part in table.split(".")) or not table.isprintable():
            raise UserInputError(
                f"--tables: {table!r} is not a table name (table or schema.table, printable)"
            )
        name = pipeline_name(spec.prefix, table)
        if not _IDENTIFIER.match(name):
            raise UserInputError(
                f"--tables: {table!r} gives the pipeline name {name!r}, which is not an "
                "identifier (letters, digits and _, not first a digit): add a --prefix"
            )
        if name in names:
            raise UserInputError(
                f"--tables: {names[name]!r} and {table!r} both give the pipeline name {name!r}"
            )
        names[name] = table
    for column in (spec.watermark, *spec.merge_keys):
        if column is not None:
            _identifier("--watermark/--merge-keys", column)
    if spec.mode == "incremental" and not spec.watermark:
        raise UserInputError("--mode incremental needs --watermark (e.g. --watermark updated_at)")
    if spec.target_strategy in ("merge", "scd2") and not spec.merge_keys:
        raise UserInputError(
            f"--target-strategy {spec.target_strategy} needs --merge-keys (e.g. --merge-keys id)"
        )
    if spec.schedule is not None:
        try:
            cron_expression(spec.schedule)
        except ValueError as exc:
            raise UserInputError(f"--schedule: {exc}") from None
    if spec.lookback is not None:
        from lakegate.config.durations import parse_duration

        try:
            parse_duration(spec.lookback)
        except ValueError as exc:
            raise UserInputError(f"--lookback: {exc}") from None
    if spec.source == "file" and len(spec.tables) > 1 and "{table}" not in _file_path(spec):
        raise UserInputError("--path: several tables need {table} in the path")
    if spec.source in _SQL_SCHEMES and spec.url and "${" not in spec.url:
        parts = urlsplit(spec.url)
        if parts.password:
            raise UserInputError(
                "--url holds a password: write it as an environment reference, e.g. "
                "--url '${SOURCE_DB_URL}', and set SOURCE_DB_URL"
            )
        if parts.scheme.split("+")[0].lower() not in _SQL_SCHEMES[spec.source]:
            schemes = " or ".join(f"{s}://" for s in _SQL_SCHEMES[spec.source])
            raise UserInputError(f"--url: a {spec.source} URL starts with {schemes}")


def new_pipelines(
    project: Project, spec: PipelineSpec, *, warn: Callable[[str], None] | None = None
) -> list[Path]:
    """Write a pipeline file and a contract stub for each table of ``spec``.

    Nothing is written when an option is wrong or a file exists (without
    ``spec.force``). Reading the source's schema is best effort: when it fails, a
    minimal contract stub is written and ``warn`` is told why.

    Args:
        project: The project (its root and ``pipelines`` folder).
        spec: What to generate.
        warn: Called with each warning (default: logged at WARNING level).

    Returns:
        The written files: per table, the pipeline file then the contract.

    Raises:
        UserInputError: A wrong option (see :func:`validate_spec`), or a file exists
            and ``spec.force`` is False.
    """
    validate_spec(spec)
    warn = warn or log.warning
    pipelines_dir = project.path(project.pipelines)
    contracts_dir = project.path("contracts")
    plan = [
        (
            table,
            pipeline_name(spec.prefix, table),
            pipelines_dir / f"{pipeline_name(spec.prefix, table)}.yaml",
            contracts_dir / f"{pipeline_name(spec.prefix, table)}.yaml",
        )
        for table in spec.tables
    ]
    existing = [p for _, _, *paths in plan for p in paths if p.exists()]
    if existing and not spec.force:
        names = ", ".join(str(p) for p in existing)
        raise UserInputError(f"{names}: already exists; pass --force to overwrite")
    texts: list[tuple[Path, str]] = []
    for table, name, pipeline_file, contract_file in plan:
        schema = _read_schema(project, spec, table, warn)
        contract_ref = os.path.relpath(contract_file, pipelines_dir.parent)
        texts.append((pipeline_file, _pipeline_yaml(spec, table, name, contract_ref, schema)))
        texts.append((contract_file, _contract_yaml(spec, name, schema)))
    for path, text in texts:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    return [path for path, _ in texts]


# ---------------------------------------------------------------------- the pipeline file


def _pipeline_doc(spec: PipelineSpec, table: str, name: str, contract_ref: str) -> dict[str, Any]:
    meta: dict[str, Any] = {"name": name, "description": f"TODO: what {name} holds, for whom"}
    if spec.schedule is not None:
        meta["schedule"] = spec.schedule
    extract: dict[str, Any] = {"source": _source_doc(spec, table), "strategy": spec.mode}
    if spec.mode == "incremental":
        extract["incremental_key"] = spec.watermark
        if spec.lookback is not None:
            extract["lookback"] = spec.lookback
    load: dict[str, Any] = {"target": name, "strategy": spec.target_strategy}
    if spec.target_strategy in ("merge", "scd2"):
        load["merge_keys"] = list(spec.merge_keys)
        if spec.watermark:
            load["order_by"] = spec.watermark
    return {
        "pipeline": meta,
        "extract": extract,
        "load": load,
        "contract": contract_ref,
        "quality_gates": {"pre_load": "contract", "post_load": [{"type": "row_count", "min": 1}]},
        "error_handling": {"strategy": "dead-letter", "max_rejected_fraction": 0.05},
    }


def _source_doc(spec: PipelineSpec, table: str) -> dict[str, Any]:
    if spec.source == "file":
        return {"type": "file", "path": _file_path(spec).replace("{table}", table)}
    if spec.source == "rest":
        url = (spec.url or DEFAULT_API_URL).replace("{table}", quote(table))
        return {"type": "rest", "url": url}
    return {"type": "sql", "url": spec.url or DEFAULT_DB_URL, "table": table}


def _pipeline_yaml(
    spec: PipelineSpec, table: str, name: str, contract_ref: str, schema: _Schema
) -> str:
    doc = _pipeline_doc(spec, table, name, contract_ref)
    try:
        Pipeline.model_validate(doc)
    except pydantic.ValidationError as exc:  # a bug here, or an option validate_spec missed
        raise UserInputError(f"cannot generate pipeline {name}: {_first_error(exc)}") from None
    review = [
        f"pipeline.description, owner, sla_minutes; the schedule ({spec.schedule or 'none'})",
        _source_review(spec),
    ]
    if spec.mode == "incremental":
        review.append(
            f"extract: incremental on {spec.watermark}; set lookback if rows arrive late"
            if spec.lookback is None
            else f"extract: incremental on {spec.watermark}, lookback {spec.lookback}"
        )
    if spec.target_strategy in ("merge", "scd2"):
        review.append(
            f"load: {spec.target_strategy} on {', '.join(spec.merge_keys)}; consider partition_by"
        )
    review.append(f"the contract {contract_ref} ({schema.origin})")
    review.append("quality_gates and error_handling (defaults: row_count >= 1, dead-letter 5%)")
    return _header(spec, f"Pipeline {name}", review) + _dump(doc)


def _source_review(spec: PipelineSpec) -> str:
    if spec.source == "file":
        return "extract.source.path: the files of each run (relative to the project)"
    if spec.source == "rest":
        return (
            "extract.source: the API URL, records_path, pagination, auth headers "
            "(as ${ENV} references) and incremental_param"
        )
    url = spec.url or DEFAULT_DB_URL
    return (
        f"extract.source.url is {url}: set the variable(s) in the environment; "
        "never write a password in this file"
    )


# ---------------------------------------------------------------------- the contract stub


def _contract_yaml(spec: PipelineSpec, name: str, schema: _Schema) -> str:
    if schema.properties is not None:
        properties = schema.properties
        required = list(schema.required)
        description = f"TODO: what one row of {name} is. Columns read from {schema.origin}."
    else:
        properties = _minimal_properties(spec)
        required = list(properties)
        description = (
            f"TODO: what one row of {name} is, and every column: the source's schema was "
            f"not read ({schema.origin})."
        )
    doc: dict[str, Any] = {
        "contract": {"name": name, "version": "0.1.0", "status": "draft"},
        "description": description,
        "schema": {"type": "object", "required": required, "properties": properties},
    }
    try:
        Contract.model_validate(doc)
    except pydantic.ValidationError as exc:
        raise UserInputError(f"cannot generate contract {name}: {_first_error(exc)}") from None
    review = [
        "description, owner and the meaning of each column",
        "add rules: ranges, enums, patterns, unique, pii, freshness, volume",
    ]
    if schema.properties is None:
        review.insert(0, "the columns: only the watermark and merge keys, types guessed")
    else:
        review.insert(0, "required: the columns that had no null when generated")
    return _header(spec, f"Contract stub for {name} ({schema.origin})", review) + _dump(doc)


def _minimal_properties(spec: PipelineSpec) -> dict[str, dict[str, Any]]:
    """The watermark and merge-key columns, types guessed from their names."""
    props: dict[str, dict[str, Any]] = {}
    todo = "TODO: type guessed from the name; check it against the source"
    if spec.watermark:
        props[spec.watermark] = {"type": "timestamp", "description": todo}
    for key in spec.merge_keys:
        kind = "integer" if key.lower() == "id" or key.lower().endswith("_id") else "string"
        props.setdefault(key, {"type": kind, "description": todo})
    return props


def _properties(profile: Profile) -> dict[str, dict[str, Any]]:
    """Column types of a profile (with decimal precision and detected formats)."""
    from lakegate.profile.suggest import suggest_property

    kept = ("type", "precision", "scale", "format")
    props = {}
    for column in profile.columns:
        suggested = suggest_property(column, profile.rows)
        props[column.name] = {k: suggested[k] for k in kept if k in suggested}
    return props


# ---------------------------------------------------------------------- reading the schema


def _read_schema(
    project: Project, spec: PipelineSpec, table: str, warn: Callable[[str], None]
) -> _Schema:
    if spec.source == "rest":
        warn(f"{table}: a REST source's schema is not read; wrote a minimal contract stub")
        return _Schema(None, (), "a REST source: its schema is not read")
    try:
        if spec.source == "file":
            schema = _file_schema(project, spec, table)
        else:
            schema = _sql_schema(spec, table)
    except LakegateError as exc:
        reason = str(exc)
        warn(f"{table}: cannot read the source's schema ({reason}); wrote a minimal contract stub")
        return _Schema(None, (), f"source unreachable when generated: {reason}")
    columns = schema.properties or {}
    missing = [c for c in (spec.watermark, *spec.merge_keys) if c and c not in columns]
    if missing:
        warn(f"{table}: the source has no column {', '.join(missing)}")
    return schema


def _file_schema(project: Project, spec: PipelineSpec, table: str) -> _Schema:
    from lakegate.profile.stats import profile_dataset
    from lakegate.sources.files import resolve_input

    path = _file_path(spec).replace("{table}", table).replace("{run_date}", "*")
    profile = profile_dataset(resolve_input(project.path(path)))
    required = tuple(c.name for c in profile.columns if profile.rows and c.null_count == 0)
    return _Schema(_properties(profile), required, f"profiling {profile.rows} row(s) of {path}")


def _sql_schema(spec: PipelineSpec, table: str) -> _Schema:
    """The table's columns, typed, from a query that returns no row."""
    import pyarrow as pa
    from sqlglot import exp

    from lakegate.config.pipeline import SqlSource
    from lakegate.profile.stats import profile_dataset
    from lakegate.sources.files import ArrowDataset
    from lakegate.sources.sql import dialect_of, read_sql, source_relation

    try:
        url = expand(spec.url or DEFAULT_DB_URL)
    except KeyError as exc:
        raise UserInputError(f"environment variable {exc.args[0]} is not set") from None
    dialect = dialect_of(url)
    relation = source_relation(
        SqlSource(type="sql", url=pydantic.SecretStr(url), table=table), dialect
    )
    query = exp.select(exp.Star()).from_(relation).where(exp.false()).sql(dialect=dialect)
    read = read_sql(SqlSource(type="sql", url=pydantic.SecretStr(url), query=query))
    try:
        empty = pa.Table.from_batches([], schema=read.reader.schema)
    finally:
        read.close()
    profile = profile_dataset(ArrowDataset(empty, label=table))
    keys = tuple(c for c in (*spec.merge_keys, spec.watermark) if c)
    required = tuple(dict.fromkeys(c for c in keys if c in empty.column_names))
    return _Schema(
        _properties(profile), required, f"the columns of {table} at {spec.url or DEFAULT_DB_URL}"
    )


# ---------------------------------------------------------------------- helpers


def pipeline_name(prefix: str, table: str) -> str:
    """The pipeline, target and file name of a table: ``prefix`` + the table's name,
    each run of characters other than letters, digits and ``_`` (spaces, the schema's
    dot) as one ``_``: ``Order Lines`` -> ``Order_Lines``, ``sales.orders`` ->
    ``sales_orders``; an identifier stays as it is."""
    if _IDENTIFIER.match(table):
        return prefix + table
    return prefix + re.sub(r"[^A-Za-z0-9_]+", "_", table).strip("_")


def _file_path(spec: PipelineSpec) -> str:
    return spec.path or DEFAULT_FILE_PATH


def _header(spec: PipelineSpec, title: str, review: list[str]) -> str:
    lines = [f"# {title}.", f"# Written by `{command_line(spec)}`.", "# Review before use:"]
    lines += [f"#   - {item}" for item in review]
    return "\n".join(lines) + "\n"


def command_line(spec: PipelineSpec) -> str:
    """The ``lakegate new pipeline`` command that generates ``spec`` (for file headers)."""
    parts = [
        "lakegate new pipeline",
        f"--source {spec.source}",
        f"--tables {shlex.quote(','.join(spec.tables))}",
        f"--mode {spec.mode}",
    ]
    if spec.watermark:
        parts.append(f"--watermark {spec.watermark}")
    parts.append(f"--target-strategy {spec.target_strategy}")
    if spec.merge_keys:
        parts.append(f"--merge-keys {','.join(spec.merge_keys)}")
    for flag, value in (
        ("--schedule", spec.schedule),
        ("--url", spec.url),
        ("--path", spec.path),
        ("--lookback", spec.lookback),
        ("--prefix", spec.prefix or None),
    ):
        if value is not None:
            parts.append(f"{flag} {shlex.quote(value)}")
    return " ".join(parts)


def _dump(doc: dict[str, Any]) -> str:
    return yaml.safe_dump(doc, sort_keys=False, allow_unicode=True, width=4096)


def _one_of(flag: str, value: str, choices: tuple[str, ...]) -> None:
    if value not in choices:
        raise UserInputError(f"{flag}: {value!r} is not one of {', '.join(choices)}")


def _identifier(flag: str, value: str) -> None:
    if not _IDENTIFIER.match(value):
        raise UserInputError(
            f"{flag}: {value!r} is not an identifier (letters, digits and _, not first a digit)"
        )


def _first_error(exc: pydantic.ValidationError) -> str:
    first = exc.errors(include_url=False)[0]
    return f"{'.'.join(str(p) for p in first['loc'])}: {first['msg']}"
