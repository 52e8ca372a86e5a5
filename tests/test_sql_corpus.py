"""The analyzer benchmark's SQL corpus (bench/sql_corpus.py): deterministic, every file
parses with sqlglot (duckdb), and the anti-patterns it says it injected are in the trees.

The detectors below are independent of lakegate's analyzer rules: they check the
generator, not the analyzer. sqlfluff is not run here (the benchmark does).
"""

from __future__ import annotations

import importlib.util
import json
import sys
from collections.abc import Callable
from pathlib import Path
from types import ModuleType

import pytest
import sqlglot
from sqlglot import exp
from sqlglot.optimizer.scope import traverse_scope

BENCH = Path(__file__).resolve().parent.parent / "bench"


@pytest.fixture(scope="module")
def corpus_module() -> ModuleType:
    spec = importlib.util.spec_from_file_location("sql_corpus", BENCH / "sql_corpus.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["sql_corpus"] = module  # dataclasses look their module up by name
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def corpus(corpus_module: ModuleType, tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("corpus")
    corpus_module.generate(folder, files=30, seed=1)
    return folder


def _statement_query(tree: exp.Expr) -> exp.Expr | None:
    """The query a statement returns (a view's body for CREATE VIEW)."""
    if isinstance(tree, exp.Create):
        return tree.expression
    return tree if isinstance(tree, exp.Query) else None


def _select_star(tree: exp.Expr) -> bool:
    return any(isinstance(star.parent, exp.Select) for star in tree.find_all(exp.Star))


def _not_in_subquery(tree: exp.Expr) -> bool:
    return any(
        isinstance(n.this, exp.In) and n.this.args.get("query") is not None
        for n in tree.find_all(exp.Not)
    )


def _leading_wildcard_like(tree: exp.Expr) -> bool:
    return any(
        isinstance(like.expression, exp.Literal) and like.expression.this.startswith("%")
        for like in tree.find_all(exp.Like)
    )


def _function_on_column(tree: exp.Expr) -> bool:
    """A scalar function of a column compared in a WHERE (not a HAVING's aggregate)."""
    for where in tree.find_all(exp.Where):
        for pred in where.find_all(exp.EQ, exp.GT, exp.GTE, exp.LT, exp.LTE, exp.In, exp.Between):
            side = pred.this
            if (
                pred.find_ancestor(exp.Where, exp.Having) is where
                and isinstance(side, exp.Func)
                and not isinstance(side, exp.AggFunc)
                and side.find(exp.Column) is not None
            ):
                return True
    return False


def _order_by_without_limit(tree: exp.Expr) -> bool:
    query = _statement_query(tree)
    return query is not None and bool(query.args.get("order")) and not query.args.get("limit")


def _union_distinct(tree: exp.Expr) -> bool:
    return any(u.args.get("distinct") for u in tree.find_all(exp.Union))


def _implicit_cross_join(tree: exp.Expr) -> bool:
    return any(
        not (j.args.get("on") or j.args.get("using") or j.args.get("kind") or j.args.get("side"))
        for j in tree.find_all(exp.Join)
    )


def _correlated_scalar_subquery(tree: exp.Expr) -> bool:
    for scope in traverse_scope(tree):
        parent = scope.expression.parent
        if not isinstance(parent, exp.Subquery) or isinstance(parent.parent, exp.In):
            continue
        # qualified references to a table of an enclosing query (unqualified columns are
        # ambiguous to sqlglot without a schema, and the generator qualifies correlations)
        if any(c.table for c in scope.external_columns):
            return True
    return False


def _distinct(tree: exp.Expr) -> bool:
    return any(s.args.get("distinct") for s in tree.find_all(exp.Select))


DETECTORS: dict[str, Callable[[exp.Expr], bool]] = {
    "select_star": _select_star,
    "not_in_subquery": _not_in_subquery,
    "leading_wildcard_like": _leading_wildcard_like,
    "function_on_column": _function_on_column,
    "order_by_without_limit": _order_by_without_limit,
    "union_distinct": _union_distinct,
    "implicit_cross_join": _implicit_cross_join,
    "correlated_scalar_subquery": _correlated_scalar_subquery,
    "distinct": _distinct,
}


def _manifest(folder: Path) -> dict:
    return json.loads((folder / "manifest.json").read_text())


def _trees(path: Path) -> list[exp.Expr]:
    return [t for t in sqlglot.parse(path.read_text(), read="duckdb") if t is not None]


def test_detectors_cover_every_anti_pattern(corpus_module: ModuleType) -> None:
    assert set(DETECTORS) == set(corpus_module.ANTI_PATTERNS)


def test_corpus_is_deterministic(corpus_module: ModuleType, tmp_path: Path) -> None:
    corpus_module.generate(tmp_path / "a", files=12, seed=7)
    corpus_module.generate(tmp_path / "b", files=12, seed=7)
    corpus_module.generate(tmp_path / "c", files=12, seed=8)
    names = sorted(p.name for p in (tmp_path / "a").iterdir())
    assert names == sorted(p.name for p in (tmp_path / "b").iterdir())
    for name in names:
        assert (tmp_path / "a" / name).read_bytes() == (tmp_path / "b" / name).read_bytes()
    # another seed, other files; and file i does not depend on how many files are asked for
    texts_a = [(tmp_path / "a" / n).read_text() for n in names if n.endswith(".sql")]
    texts_c = [p.read_text() for p in sorted((tmp_path / "c").glob("*.sql"))]
    assert texts_a != texts_c
    corpus_module.generate(tmp_path / "a", files=5, seed=7)  # regenerating replaces the corpus
    first_five = sorted((tmp_path / "b").glob("*.sql"))[:5]
    assert [p.name for p in sorted((tmp_path / "a").glob("*.sql"))] == [p.name for p in first_five]
    for path in first_five:
        assert (tmp_path / "a" / path.name).read_bytes() == path.read_bytes()


def test_refuses_a_folder_that_is_not_a_corpus(corpus_module: ModuleType, tmp_path: Path) -> None:
    (tmp_path / "notes.txt").write_text("mine")
    with pytest.raises(FileExistsError):
        corpus_module.generate(tmp_path, files=1)
    assert (tmp_path / "notes.txt").exists()


def test_every_file_parses_with_sqlglot_duckdb(corpus: Path) -> None:
    manifest = _manifest(corpus)
    assert len(manifest["files"]) == 30
    for entry in manifest["files"]:
        trees = _trees(corpus / entry["name"])
        assert len(trees) == entry["statements"], entry["name"]
    totals = manifest["totals"]
    assert totals["files_with_several_statements"] > 0
    assert totals["max_lines"] > 150  # dbt-like models of a few hundred lines


def test_injected_anti_patterns_are_in_the_trees(corpus: Path) -> None:
    seen: set[str] = set()
    for entry in _manifest(corpus)["files"]:
        trees = _trees(corpus / entry["name"])
        for kind in entry["anti_patterns"]:
            assert any(DETECTORS[kind](t) for t in trees), (entry["name"], kind)
            seen.add(kind)
    assert seen == set(DETECTORS)  # 30 files hold all nine


def test_clean_files_carry_none(corpus: Path) -> None:
    clean = [e for e in _manifest(corpus)["files"] if not e["anti_patterns"]]
    assert len(clean) == 18  # three files in five
    for entry in clean:
        for tree in _trees(corpus / entry["name"]):
            found = [kind for kind, detect in DETECTORS.items() if detect(tree)]
            assert not found, (entry["name"], found)
