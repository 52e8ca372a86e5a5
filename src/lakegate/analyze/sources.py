"""Where the analyzer's SQL comes from: ``.sql`` files, folders of them, and the
transform stages of pipeline files, each with the position its text starts at so
findings point at the right line and column of the file a user edits."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

import sqlglot
import yaml
from sqlglot import exp

from lakegate.errors import ConfigError, UserInputError

SQL_SUFFIXES = (".sql",)
YAML_SUFFIXES = (".yaml", ".yml")


@dataclass(frozen=True)
class SqlSource:
    """A text of SQL statements and where it sits in a file.

    Attributes:
        path: The file holding the text.
        text: The SQL.
        dialect: sqlglot's dialect name to parse it with.
        line_offset: Lines before the text's first line in ``path`` (0 for a whole file).
        column_offset: Columns before the text on each of its lines (the indentation of
            a YAML block scalar; 0 for a whole file).
        first_line_column: Columns before the text on its first line (a YAML scalar
            that starts after ``sql:``).
        origin: ``stage 'enrich' of pipelines/flights.yaml`` for a pipeline stage.
        pipeline_stage: True for a pipeline stage: only ``lake.<table>`` names lake
            tables there (``extract`` and earlier stages are not).
    """

    path: Path
    text: str
    dialect: str
    line_offset: int = 0
    column_offset: int = 0
    first_line_column: int = 0
    origin: str = ""
    pipeline_stage: bool = False

    def position(self, line: int, column: int) -> tuple[int, int]:
        """The 1-based ``(line, column)`` in :attr:`path` of a 1-based position in the text."""
        offset = self.first_line_column if line == 1 else self.column_offset
        return self.line_offset + line, offset + column


@dataclass(frozen=True)
class Statement:
    """One parsed statement of a source.

    Attributes:
        source: Where it came from.
        index: 1-based position among the source's statements.
        tree: The sqlglot tree.
    """

    source: SqlSource
    index: int
    tree: exp.Expr

    def position(self, node: exp.Expr | None) -> tuple[int, int]:
        """The file position of ``node``: the earliest token sqlglot recorded in it, or
        the statement's own first token."""
        best = _first_token(node) if node is not None else None
        if best is None:
            best = _first_token(self.tree) or (1, 1)
        return self.source.position(*best)


@dataclass(frozen=True)
class ParseFailure:
    """A statement that does not parse: where, and sqlglot's message."""

    source: SqlSource
    line: int
    column: int
    message: str


def collect_sources(
    paths: Iterable[str | Path],
    dialect: str | None,
    *,
    default_dialect: str = "duckdb",
    on_error: Callable[[Path, ConfigError], None] | None = None,
) -> list[SqlSource]:
    """The SQL texts under ``paths``: ``.sql`` files, folders (searched recursively for
    ``.sql`` files and pipeline files), and pipeline YAML files (their transform stages).

    Args:
        paths: Files and folders.
        dialect: Parse everything in this dialect; None uses ``default_dialect`` for
            ``.sql`` files and the pipeline engine's dialect for stages.
        default_dialect: See ``dialect``.
        on_error: Called with a pipeline file that does not load, which is skipped;
            None raises.

    Raises:
        UserInputError: A path does not exist or is not SQL or YAML.
        ConfigError: A pipeline file is invalid and ``on_error`` is None.
    """
    found: list[SqlSource] = []
    seen: set[Path] = set()
    for raw in paths:
        path = Path(raw)
        if not path.exists():
            raise UserInputError(f"{path}: no such file or folder")
        if path.is_dir():
            files = sorted(
                p
                for p in path.rglob("*")
                if p.is_file()
                and p.suffix.lower() in (*SQL_SUFFIXES, *YAML_SUFFIXES)
                and not any(part.startswith(".") for part in p.relative_to(path).parts)
            )
            explicit = False
        else:
            files = [path]
            explicit = True
        for file in files:
            suffix = file.suffix.lower()
            if suffix in SQL_SUFFIXES:
                if file.resolve() not in seen:
                    seen.add(file.resolve())
                    found.append(SqlSource(file, _read(file), dialect or default_dialect))
            elif suffix in YAML_SUFFIXES:
                try:
                    found.extend(_pipeline_sources(file, dialect, seen, explicit))
                except ConfigError as exc:
                    if on_error is None:
                        raise
                    on_error(file, exc)
            elif explicit:
                raise UserInputError(f"{file}: not a .sql file or a pipeline YAML file")
    return found


def parse_source(source: SqlSource) -> tuple[list[Statement], list[ParseFailure]]:
    """Parse every statement of ``source``. The text is tokenized once and split at
    its semicolons, so a statement that does not parse is one failure, positioned at
    sqlglot's error, and the statements around it are still analyzed."""
    from sqlglot.dialects.dialect import Dialect
    from sqlglot.tokens import TokenType

    dialect = Dialect.get_or_raise(source.dialect)
    try:
        tokens = dialect.tokenize(source.text)
    except sqlglot.errors.TokenError as exc:
        line, column = source.position(1, 1)
        return [], [ParseFailure(source, line, column, str(exc).splitlines()[0])]
    chunks: list[list[sqlglot.tokens.Token]] = [[]]
    for token in tokens:
        if token.token_type == TokenType.SEMICOLON:
            chunks.append([])
        else:
            chunks[-1].append(token)
    statements: list[Statement] = []
    failures: list[ParseFailure] = []
    for chunk in (c for c in chunks if c):
        try:
            trees = dialect.parser().parse(chunk, source.text)
        except sqlglot.errors.ParseError as exc:
            first = exc.errors[0] if exc.errors else {}
            line, column = source.position(
                int(first.get("line") or chunk[0].line), int(first.get("col") or chunk[0].col)
            )
            message = str(first.get("description") or exc).splitlines()[0]
            if "<Token" in message and first.get("highlight"):
                message = f"{message.split('<Token')[0]}{first['highlight']!r}"
            failures.append(ParseFailure(source, line, column, message))
            continue
        for tree in trees:
            if tree is not None:
                statements.append(Statement(source, len(statements) + 1, tree))
    return statements, failures


# ---------------------------------------------------------------------- helpers


def _read(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise UserInputError(f"{path}: cannot read: {exc}") from None


def _display(path: Path) -> Path:
    """``path`` relative to the working directory when it is under it (as users type
    paths and read reports), else absolute."""
    resolved = path.resolve()
    try:
        return resolved.relative_to(Path.cwd())
    except ValueError:
        return resolved


def _first_token(node: exp.Expr) -> tuple[int, int] | None:
    """The ``(line, column)`` of the earliest token under ``node`` that sqlglot kept."""
    best: tuple[int, int, int] | None = None
    for child in node.walk():
        meta = child._meta  # not .meta: that would create an empty dict on every node
        if meta and "start" in meta and "line" in meta:
            # sqlglot's col is the token's last column; start/end give its width.
            width = int(meta.get("end", meta["start"])) - int(meta["start"])
            key = (int(meta["start"]), int(meta["line"]), int(meta["col"]) - width)
            if best is None or key < best:
                best = key
    return None if best is None else (best[1], max(1, best[2]))


def _pipeline_sources(
    file: Path, dialect: str | None, seen: set[Path], explicit: bool
) -> Iterator[SqlSource]:
    """The transform stages of the pipeline file ``file`` (nothing for other YAML, unless
    the file was named explicitly, which is then an error)."""
    from lakegate.config.pipeline import load_pipeline

    text = _read(file)
    try:
        node = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.YAMLError as exc:
        raise ConfigError(f"invalid YAML: {exc}", path=file) from None
    keys = _mapping(node)
    if not {"extract", "load"} <= set(keys):
        if explicit:
            raise UserInputError(f"{file}: not a pipeline file (no extract and load sections)")
        return
    pipeline = load_pipeline(file)
    stage_dialect = dialect or _engine_dialect(file)
    stage_nodes = _stage_nodes(keys.get("transform"))
    for i, stage in enumerate(pipeline.transform.stages):
        origin = f"stage {stage.name!r} of {file}"
        sql = stage.sql
        if sql.strip().lower().endswith(".sql") and "\n" not in sql:
            target = _display(pipeline.resolve(sql.strip()))
            if target.resolve() in seen:
                continue
            seen.add(target.resolve())
            yield SqlSource(
                target, _read(target), stage_dialect, origin=origin, pipeline_stage=True
            )
            continue
        value = stage_nodes[i] if i < len(stage_nodes) else None
        yield _inline(file, sql, stage_dialect, value, origin)


def _inline(file: Path, sql: str, dialect: str, node: yaml.Node | None, origin: str) -> SqlSource:
    """An inline stage, positioned at its YAML scalar."""
    if not isinstance(node, yaml.ScalarNode):
        return SqlSource(file, sql, dialect, origin=origin, pipeline_stage=True)
    start = node.start_mark
    if node.style in ("|", ">"):
        # The content starts on the line after the indicator, at the block's indentation.
        raw = start.buffer.splitlines() if start.buffer else []
        body = raw[start.line + 1] if start.line + 1 < len(raw) else ""
        indent = len(body) - len(body.lstrip(" "))
        return SqlSource(
            file,
            sql,
            dialect,
            line_offset=start.line + 1,
            column_offset=indent,
            first_line_column=indent,
            origin=origin,
            pipeline_stage=True,
        )
    quote = 1 if node.style in ("'", '"') else 0
    return SqlSource(
        file,
        sql,
        dialect,
        line_offset=start.line,
        column_offset=0,
        first_line_column=start.column + quote,
        origin=origin,
        pipeline_stage=True,
    )


def _mapping(node: yaml.Node | None) -> dict[str, yaml.Node]:
    if not isinstance(node, yaml.MappingNode):
        return {}
    return {str(k.value): v for k, v in node.value if isinstance(k, yaml.ScalarNode)}


def _stage_nodes(transform: yaml.Node | None) -> list[yaml.Node | None]:
    stages = _mapping(transform).get("stages")
    if not isinstance(stages, yaml.SequenceNode):
        return []
    return [_mapping(item).get("sql") for item in stages.value]


def _engine_dialect(pipeline_file: Path) -> str:
    """The SQL dialect of the project engine that runs ``pipeline_file`` (duckdb when
    no project file is found above it)."""
    from lakegate.config.project import find_project_file, load_project

    project_file = find_project_file(pipeline_file.parent)
    if project_file is None:
        return "duckdb"
    try:
        return load_project(project_file).engine
    except ConfigError:
        return "duckdb"
