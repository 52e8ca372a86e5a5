"""DuckDB SQL that would not run the same on another engine, found in the sqlglot tree.

Stage SQL is written for DuckDB and parsed by sqlglot (dialect ``duckdb``); the Spark
engine writes the same tree as Spark SQL. Some constructs sqlglot cannot carry
faithfully: Spark has no such construct, or sqlglot writes a Spark function that answers
differently. :func:`unportable` finds them in a tree, :func:`refuse_unportable` turns them
into one :class:`~lakegate.errors.UserInputError` at compile time, so a stage either runs
the same on both engines or is refused before it runs.

Source of every rule: the results of running the DuckDB SQL on DuckDB 1.x/2.0 and its
sqlglot 30 ``spark`` transpilation on Spark 4.1 (ANSI mode, UTC session), kept as the
corpus in ``tests/spark/test_portability.py``; each rule names its corpus entries. Where a
portable spelling exists, the corpus proves it answers the same on both engines.

The rules read the tree only, without column types, so they judge what the tree shows: a
literal, a ``CAST``, a function whose result type is fixed. Known differences they cannot
see from the tree alone, left to the data (and to Spark's ANSI mode, which fails rather
than answers for several of them): ``upper``/``lower`` of special-cased letters
(``upper('ß')`` is ``'ẞ'`` on DuckDB, ``'SS'`` on Spark); division by zero and ``ln(0)``
(``inf``/``-inf`` on DuckDB, an error or NULL on Spark); a computed ``substring`` start of
0; a DECIMAL or DOUBLE *column* divided, averaged or cast to an integer type; a DATE
*column* in ``date_trunc``, ``+ INTERVAL`` or ``-``; an out-of-range list index;
``sum`` overflowing BIGINT (HUGEINT on DuckDB, an error on Spark).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from sqlglot import exp

from lakegate.errors import UserInputError

TARGETS = ("duckdb", "spark")


@dataclass(frozen=True)
class Unportable:
    """One construct of a DuckDB tree that the target engine would not run the same.

    Attributes:
        construct: What it is, in the user's words (``regexp_replace without 'g'``).
        reason: Why it differs, in one sentence.
        instead: A portable spelling that answers the same on both engines, or None.
        sql: The offending fragment, written back as DuckDB SQL (at most 120 characters).
    """

    construct: str
    reason: str
    instead: str | None
    sql: str

    def render(self) -> str:
        """``construct (`sql`): reason; write instead: ...`` in one line."""
        text = f"{self.construct} (`{self.sql}`): {self.reason}"
        return f"{text}; write instead: {self.instead}" if self.instead else text


Rule = Callable[[exp.Expr], "Unportable | None"]

_INTEGER_TYPES = {
    exp.DataType.Type.TINYINT,
    exp.DataType.Type.SMALLINT,
    exp.DataType.Type.INT,
    exp.DataType.Type.BIGINT,
    exp.DataType.Type.INT128,
    exp.DataType.Type.UTINYINT,
    exp.DataType.Type.USMALLINT,
    exp.DataType.Type.UINT,
    exp.DataType.Type.UBIGINT,
}
_DOUBLE_TYPES = {exp.DataType.Type.DOUBLE, exp.DataType.Type.FLOAT}
_TEXT_TYPES = {exp.DataType.Type.VARCHAR, exp.DataType.Type.TEXT, exp.DataType.Type.CHAR}
_DOUBLE_FUNCS = (exp.Avg, exp.Sqrt, exp.Ln, exp.Log, exp.Exp, exp.Pow, exp.Div, exp.Stddev)
_SAME_KIND_FUNCS = (exp.Sum, exp.Min, exp.Max, exp.Abs, exp.Paren, exp.Neg, exp.Round)
# EXTRACT/date_part fields that answer the same (corpus: extract/date_part entries).
_SAME_FIELDS = {"YEAR", "MONTH", "DAY", "HOUR", "MINUTE", "QUARTER", "DOY", "WEEK"}
# Functions sqlglot does not know (exp.Anonymous) that answer the same on Spark.
_SAME_ANONYMOUS = {"bit_count", "date_part", "printf"}


def _sql(node: exp.Expr) -> str:
    text = node.sql(dialect="duckdb")
    return text if len(text) <= 120 else text[:117] + "..."


def _found(node: exp.Expr, construct: str, reason: str, instead: str | None) -> Unportable:
    return Unportable(construct, reason, instead, _sql(node))


def _numeric_kind(node: exp.Expr | None) -> str | None:
    """``"decimal"``, ``"double"`` or ``"integer"`` as DuckDB types ``node``; None if unknown.

    DuckDB reads ``7.0`` as DECIMAL and ``1e3`` as DOUBLE
    (https://duckdb.org/docs/stable/sql/data_types/numeric).
    """
    if node is None:
        return None
    if isinstance(node, exp.Literal) and not node.is_string:
        text = node.this.lower()
        if "e" in text:
            return "double"
        return "decimal" if "." in text else "integer"
    if isinstance(node, exp.Cast | exp.TryCast):
        target = node.args["to"].this
        if target == exp.DataType.Type.DECIMAL:
            return "decimal"
        if target in _DOUBLE_TYPES:
            return "double"
        return "integer" if target in _INTEGER_TYPES else None
    if isinstance(node, _DOUBLE_FUNCS):
        return "double"
    if isinstance(node, _SAME_KIND_FUNCS):
        return _numeric_kind(node.this)
    if isinstance(node, exp.Add | exp.Sub | exp.Mul):
        kinds = {_numeric_kind(node.this), _numeric_kind(node.expression)}
        for kind in ("double", "decimal"):
            if kind in kinds:
                return kind
        return "integer" if kinds == {"integer"} else None
    return None


def _is_date(node: exp.Expr | None) -> bool:
    """True when the tree shows ``node`` is a DATE (a DATE literal or cast, make_date...)."""
    if isinstance(node, exp.Cast | exp.TryCast):
        return node.args["to"].this == exp.DataType.Type.DATE
    return isinstance(node, exp.CurrentDate | exp.DateFromParts | exp.LastDay | exp.StrToDate)


def _cast_parent(node: exp.Expr) -> bool:
    parent = node.parent
    while isinstance(parent, exp.Paren):
        parent = parent.parent
    return isinstance(parent, exp.Cast | exp.TryCast)


def _literal_int(node: exp.Expr | None) -> int | None:
    if isinstance(node, exp.Neg):
        inner = _literal_int(node.this)
        return -inner if inner is not None else None
    if isinstance(node, exp.Literal) and not node.is_string and node.this.isdigit():
        return int(node.this)
    return None


# --------------------------------------------------------------------- rules, by node type
# Each takes the node (of its key's type) and returns an Unportable, or None when the
# node is portable. The corpus entries named in a comment are the evidence.


def _star(node: exp.Expr) -> Unportable | None:  # corpus: star_replace
    if node.args.get("replace"):
        return _found(
            node,
            "* REPLACE",
            "Spark SQL has no SELECT * REPLACE",
            "list the columns, writing the replaced one as `expr AS name`",
        )
    if node.args.get("rename"):
        return _found(node, "* RENAME", "Spark SQL has no SELECT * RENAME", "list the columns")
    return None


def _set_operation(node: exp.Expr) -> Unportable | None:  # corpus: union_by_name
    if node.args.get("by_name"):
        return _found(
            node,
            "UNION BY NAME",
            "Spark SQL matches set-operation columns by position only",
            "select the same columns in the same order on both sides",
        )
    return None


def _columns(node: exp.Expr) -> Unportable | None:  # corpus: columns
    return _found(node, "COLUMNS(...)", "Spark SQL has no COLUMNS() expression", "name the columns")


def _unix_to_time(node: exp.Expr) -> Unportable | None:  # corpus: epoch_ms*, to_timestamp*
    integer = _numeric_kind(node.this) == "integer"
    if node.args.get("scale") is not None:
        if integer:
            return None  # milliseconds to a timestamp: Spark's timestamp_millis agrees
        return _found(
            node,
            "epoch_ms",
            "sqlglot writes Spark's timestamp_millis, which turns milliseconds into a "
            "timestamp and cannot turn a timestamp into milliseconds",
            "epoch_ms(CAST(ms AS BIGINT)) for milliseconds to a timestamp; no portable "
            "spelling for a timestamp to milliseconds",
        )
    if not integer:
        return _found(
            node,
            "to_timestamp of a non-integer",
            "sqlglot writes Spark's from_unixtime, which drops the fraction of a second",
            "to_timestamp(CAST(seconds AS BIGINT)) when whole seconds suffice",
        )
    return None


def _date_bin(node: exp.Expr) -> Unportable | None:  # corpus: time_bucket
    return _found(
        node,
        "time_bucket",
        "Spark has no date_bin/time_bucket",
        "date_trunc('hour', ts) (or another unit) when the bucket is one calendar unit",
    )


def _anonymous(node: exp.Expr) -> Unportable | None:  # corpus: hash, prefix, age, list_*
    name = node.name.lower()
    if name == "hash":
        return _found(
            node,
            "hash()",
            "DuckDB's hash is a 64-bit hash of its own; Spark's hash is a 32-bit Murmur3: "
            "the values differ",
            "md5(CAST(x AS VARCHAR)) (the same hex string on both)",
        )
    if name == "date_part":
        field = node.expressions[0] if node.expressions else None
        if isinstance(field, exp.Literal) and field.is_string:
            return _field(node, field.this.upper(), f"date_part('{field.this}', ...)")
        return _found(node, "date_part", "the field must be a literal to be checked", None)
    if name in _SAME_ANONYMOUS:
        return None
    return _found(
        node,
        f"{name}()",
        "sqlglot does not know this DuckDB function, so it would reach Spark unchanged, "
        "where it is missing or means something else",
        None,
    )


_DOW_INSTEAD = "(date_diff('day', DATE '1970-01-04', CAST(d AS DATE)) % 7 + 7) % 7 (0 = Sunday)"


def _field(node: exp.Expr, field: str, construct: str) -> Unportable | None:
    if field in {"DOW", "DAYOFWEEK", "WEEKDAY"}:
        return _found(
            node,
            construct,
            "DuckDB numbers days of the week 0 (Sunday) to 6; Spark 1 (Sunday) to 7",
            _DOW_INSTEAD,
        )
    if field == "EPOCH":
        return _found(
            node,
            construct,
            "Spark cannot extract EPOCH; sqlglot's unix_timestamp drops fractions of a second",
            None,
        )
    if field == "SECOND":
        return _found(
            node,
            construct,
            "DuckDB gives whole seconds; Spark's EXTRACT(SECOND) a DECIMAL with the fraction",
            "second(ts)",
        )
    if field not in _SAME_FIELDS:
        return _found(node, construct, f"Spark has no EXTRACT field {field} that agrees", None)
    return None


def _extract(node: exp.Expr) -> Unportable | None:  # corpus: extract_*
    return _field(node, node.name.upper(), f"extract({node.name.lower()} FROM ...)")


def _day_of_week(node: exp.Expr) -> Unportable | None:  # corpus: dayofweek, isodow
    return _field(node, "DOW", "dayofweek/isodow()")


def _time_to_unix(node: exp.Expr) -> Unportable | None:  # corpus: epoch
    return _field(node, "EPOCH", "epoch()")


def _regexp_replace(node: exp.Expr) -> Unportable | None:  # corpus: regexp_replace_*
    modifiers = node.args.get("modifiers")
    flags = modifiers.name if isinstance(modifiers, exp.Literal) else None
    if modifiers is None:
        return _found(
            node,
            "regexp_replace without 'g'",
            "DuckDB's regexp_replace replaces the first match unless the 'g' option is "
            "given; Spark's replaces every match",
            "regexp_replace(s, pattern, replacement, 'g') to replace every match",
        )
    if flags != "g":
        return _found(
            node,
            f"regexp_replace options {_sql(modifiers)}",
            "sqlglot drops the options for Spark, which always replaces every match, "
            "case-sensitively",
            "the 'g' option only, with (?i) in the pattern for case-insensitive matching",
        )
    replacement = node.args.get("replacement")
    if not (isinstance(replacement, exp.Literal) and replacement.is_string) or any(
        c in replacement.this for c in "\\$"
    ):
        return _found(
            node,
            "regexp_replace replacement with \\ or $",
            "DuckDB refers to a group as \\1 and takes $ literally; Spark refers to it as $1",
            "a literal replacement without \\ or $",
        )
    return None


def _log(node: exp.Expr) -> Unportable | None:  # corpus: log_one_argument
    if node.args.get("expression") is None:
        return _found(
            node,
            "log(x)",
            "DuckDB's one-argument log is base 10; Spark's is the natural logarithm",
            "log10(x) or ln(x)",
        )
    return None


def _format(node: exp.Expr) -> Unportable | None:  # corpus: format
    return _found(
        node,
        "format()",
        "DuckDB's format takes {} placeholders; sqlglot writes Spark's format_string, which "
        "takes printf placeholders and leaves {} as text",
        "printf('%s ...', ...) (the same on both)",
    )


def _dayname(node: exp.Expr) -> Unportable | None:  # corpus: dayname, monthname
    return _found(
        node,
        f"{type(node).__name__.lower()}()",
        "DuckDB gives the full name (Sunday, January); Spark the abbreviation (Sun, Jan)",
        "strftime(d, '%A') or strftime(d, '%B')",
    )


def _substring(node: exp.Expr) -> Unportable | None:  # corpus: substring_start_0
    if _literal_int(node.args.get("start")) == 0:
        return _found(
            node,
            "substring from position 0",
            "DuckDB counts position 0 as before the first character (one less character); "
            "Spark reads 0 as 1",
            "substring(s, 1, n - 1)",
        )
    return None


def _left_right(node: exp.Expr) -> Unportable | None:  # corpus: left_right_negative
    length = _literal_int(node.expression)
    if length is not None and length < 0:
        return _found(
            node,
            f"{type(node).__name__.lower()} with a negative length",
            "DuckDB drops that many characters from the other end; Spark returns ''",
            "substring(s, 1, length(s) - n) (left) or substring(s, n + 1) (right)",
        )
    return None


def _div(node: exp.Expr) -> Unportable | None:  # corpus: div_decimal*, intdiv_*
    kinds = {_numeric_kind(node.this), _numeric_kind(node.expression)}
    if isinstance(node, exp.IntDiv):
        if kinds & {"decimal", "double"}:
            return _found(
                node,
                "// of a non-integer",
                "DuckDB's // of a DECIMAL or DOUBLE divides without truncating; Spark's DIV "
                "truncates (or refuses a DOUBLE)",
                "floor(a / b) or a / b",
            )
        return None
    if "decimal" in kinds:
        return _found(
            node,
            "/ of a DECIMAL",
            "DuckDB divides DECIMALs as DOUBLE; Spark keeps a DECIMAL rounded to 6 places "
            "(1.0 / 3 is 0.333333)",
            "CAST(a AS DOUBLE) / b",
        )
    return None


def _avg(node: exp.Expr) -> Unportable | None:  # corpus: avg_decimal
    if _numeric_kind(node.this) == "decimal":
        return _found(
            node,
            "avg of a DECIMAL",
            "DuckDB averages DECIMALs as DOUBLE; Spark keeps a DECIMAL rounded to 6 places",
            "avg(CAST(x AS DOUBLE))",
        )
    return None


def _cast(node: exp.Expr) -> Unportable | None:  # corpus: cast_*
    target = node.args["to"].this
    kind = _numeric_kind(node.this)
    if target in _INTEGER_TYPES and kind in ("decimal", "double"):
        if isinstance(node.this, exp.Round | exp.Floor | exp.Ceil):
            return None
        return _found(
            node,
            "cast of a fraction to an integer",
            "DuckDB rounds to the nearest integer (CAST(2.5 AS INTEGER) is 3); Spark "
            "truncates toward zero (2)",
            "CAST(round(x) AS INTEGER), or floor/ceil/trunc to choose explicitly",
        )
    if target in _TEXT_TYPES and kind == "double":
        return _found(
            node,
            "cast of a DOUBLE to text",
            "DuckDB writes 1e10 as 10000000000.0 and 1e20 as 1e+20; Spark as 1.0E10 and 1.0E20",
            "printf('%.2f', x) with the places you need",
        )
    return None


def _timestamp_trunc(node: exp.Expr) -> Unportable | None:  # corpus: date_trunc_date
    if _is_date(node.this) and not _cast_parent(node):
        return _found(
            node,
            "date_trunc of a DATE",
            "DuckDB returns a TIMESTAMP; sqlglot writes Spark's trunc, which returns a DATE",
            "CAST(date_trunc(unit, d) AS DATE), or date_trunc(unit, CAST(d AS TIMESTAMP))",
        )
    return None


def _add_sub(node: exp.Expr) -> Unportable | None:  # corpus: date_plus_interval, date_minus
    left, right = node.this, node.expression
    if not _is_date(left):
        return None
    if isinstance(right, exp.Interval) and not _cast_parent(node):
        return _found(
            node,
            "DATE + INTERVAL",
            "DuckDB returns a TIMESTAMP; Spark a DATE",
            "CAST(d + INTERVAL ... AS DATE), or CAST(d AS TIMESTAMP) + INTERVAL ...",
        )
    if isinstance(node, exp.Sub) and _is_date(right):
        return _found(
            node,
            "DATE - DATE",
            "DuckDB returns the days as an integer; Spark an INTERVAL",
            "date_diff('day', b, a)",
        )
    return None


def _date_diff(node: exp.Expr) -> Unportable | None:  # corpus: date_diff_*
    unit_node = node.args.get("unit")
    unit = unit_node.name.upper() if unit_node is not None else "DAY"
    if unit == "DAY" and _is_date(node.this) and _is_date(node.expression):
        return None
    instead = "date_diff('day', CAST(a AS DATE), CAST(b AS DATE))"
    if unit in {"MONTH", "YEAR", "QUARTER"}:
        instead = "12 * (year(b) - year(a)) + month(b) - month(a) for calendar months"
    return _found(
        node,
        f"date_diff('{unit.lower()}', ...)",
        "DuckDB counts the unit boundaries crossed; Spark counts whole units elapsed (one "
        "hour apart across midnight is 1 day on DuckDB, 0 on Spark); only days between two "
        "DATEs agree",
        instead,
    )


def _array_agg(node: exp.Expr) -> Unportable | None:  # corpus: list_*
    arg = node.this
    if isinstance(arg, exp.Order):
        return _found(
            node,
            "list/array_agg with ORDER BY",
            "sqlglot drops the ORDER BY for Spark's collect_list",
            "list_sort(list(x) FILTER (WHERE x IS NOT NULL))",
        )
    parent = node.parent
    if isinstance(parent, exp.Filter):
        for test in parent.expression.find_all(exp.Not):
            if isinstance(test.this, exp.Is) and test.this.this == arg:
                return None
    return _found(
        node,
        "list/array_agg",
        "DuckDB keeps NULLs in the list; Spark's collect_list drops them",
        "list(x) FILTER (WHERE x IS NOT NULL)",
    )


def _array_distinct(node: exp.Expr) -> Unportable | None:  # corpus: list_distinct
    if isinstance(node.parent, exp.ArraySort):
        return None
    return _found(
        node,
        "list_distinct",
        "the order of the elements differs (DuckDB's is unspecified)",
        "list_sort(list_distinct(x))",
    )


def _bracket(node: exp.Expr) -> Unportable | None:  # corpus: list_index_*
    for index in node.expressions:
        if isinstance(index, exp.Slice):
            return _found(
                node,
                "list slice [a:b]",
                "Spark SQL has no slice syntax",
                None,
            )
        # sqlglot keeps the index 0-based: DuckDB's x[1] is stored as 0, x[0] as -1.
        value = _literal_int(index)
        if value is not None and value < 0:
            return _found(
                node,
                "list index 0 or negative",
                "DuckDB returns NULL for 0 and counts negative indexes from the end; Spark fails",
                "list[len(list)] for the last element",
            )
    return None


def _similar_to(node: exp.Expr) -> Unportable | None:  # corpus: similar_to
    return _found(
        node,
        "SIMILAR TO",
        "Spark SQL has no SIMILAR TO",
        "regexp_full_match(s, pattern) with a regular expression",
    )


def _quantile(node: exp.Expr) -> Unportable | None:  # corpus: quantile_*
    if node.args.get("expression") is None:
        return None
    return _found(
        node,
        "quantile_cont/quantile_disc(x, q)",
        "sqlglot writes Spark's percentile_cont(x, q), which Spark refuses",
        "median(x) for q = 0.5",
    )


def _within_group(node: exp.Expr) -> Unportable | None:  # corpus: percentile_within
    if isinstance(node.this, exp.PercentileCont | exp.PercentileDisc):
        return _found(
            node,
            "percentile_cont/percentile_disc WITHIN GROUP",
            "sqlglot writes Spark's percentile_approx, an approximation (1 where DuckDB "
            "interpolates 1.75)",
            "median(x) for the interpolated median",
        )
    return None


def _is_inf(node: exp.Expr) -> Unportable | None:  # corpus: isinf
    return _found(
        node, "isinf()", "sqlglot writes is_inf, which Spark lacks", "abs(x) = 'inf'::DOUBLE"
    )


def _table(node: exp.Expr) -> Unportable | None:  # corpus: range_table
    if isinstance(node.this, exp.Func):
        return _found(
            node,
            "table function in FROM",
            "sqlglot writes Spark SQL that does not parse",
            "SELECT unnest(range(n)) AS x in a subquery",
        )
    return None


RULES: dict[type[exp.Expr], Rule] = {
    exp.Star: _star,
    exp.Union: _set_operation,
    exp.Except: _set_operation,
    exp.Intersect: _set_operation,
    exp.Columns: _columns,
    exp.UnixToTime: _unix_to_time,
    exp.DateBin: _date_bin,
    exp.Anonymous: _anonymous,
    exp.Extract: _extract,
    exp.DayOfWeek: _day_of_week,
    exp.DayOfWeekIso: _day_of_week,
    exp.TimeToUnix: _time_to_unix,
    exp.RegexpReplace: _regexp_replace,
    exp.Log: _log,
    exp.Format: _format,
    exp.Dayname: _dayname,
    exp.Monthname: _dayname,
    exp.Substring: _substring,
    exp.Left: _left_right,
    exp.Right: _left_right,
    exp.Div: _div,
    exp.IntDiv: _div,
    exp.Avg: _avg,
    exp.Cast: _cast,
    exp.TryCast: _cast,
    exp.TimestampTrunc: _timestamp_trunc,
    exp.DateTrunc: _timestamp_trunc,
    exp.Add: _add_sub,
    exp.Sub: _add_sub,
    exp.DateDiff: _date_diff,
    exp.ArrayAgg: _array_agg,
    exp.ArrayDistinct: _array_distinct,
    exp.Bracket: _bracket,
    exp.SimilarTo: _similar_to,
    exp.PercentileCont: _quantile,
    exp.PercentileDisc: _quantile,
    exp.Quantile: _quantile,
    exp.WithinGroup: _within_group,
    exp.IsInf: _is_inf,
    exp.Table: _table,
}


def unportable(tree: exp.Expr, target: str) -> list[Unportable]:
    """The constructs of a DuckDB-dialect tree that ``target`` would not run the same.

    Args:
        tree: A query parsed by sqlglot with ``read="duckdb"`` (a stage's ``exp.Query``).
        target: The engine that will run it: ``"duckdb"`` (nothing is unportable) or
            ``"spark"``.

    Returns:
        One :class:`Unportable` per offending node, in tree order (pre-order); empty when
        the tree runs the same on ``target``.

    Raises:
        UserInputError: ``target`` is not an engine with rules here.
    """
    if target not in TARGETS:
        raise UserInputError(
            f"no portability rules for engine {target!r}; known: {', '.join(TARGETS)}"
        )
    if target == "duckdb":
        return []
    found = []
    for node in tree.walk():
        rule = RULES.get(type(node))
        if rule is not None:
            hit = rule(node)
            if hit is not None:
                found.append(hit)
    return found


def refuse_unportable(tree: exp.Expr, target: str, *, where: str) -> None:
    """Raise when ``tree`` holds a construct ``target`` would not run the same.

    Args:
        tree: A query parsed by sqlglot with ``read="duckdb"``.
        target: The engine name (``"duckdb"``, ``"spark"``).
        where: What the SQL is, for the message: ``stage 'orders' (stages/orders.sql)``.

    Raises:
        UserInputError: Naming ``where``, each construct, why it differs and, where one
            exists, the portable spelling; or when ``target`` has no rules.
    """
    found = unportable(tree, target)
    if not found:
        return
    lines = "\n".join(f"  - {u.render()}" for u in found)
    raise UserInputError(
        f"{where}: {len(found)} construct(s) would not run the same on {target}; "
        f"they are refused rather than left to answer differently:\n{lines}"
    )
