"""The package's layering: no import cycles (function-level imports included), nothing below the
flat API imports it, and the runtime sits at the bottom."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parent.parent / "src" / "s3dlio"


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(PACKAGE.parent).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _modules() -> dict[str, Path]:
    return {_module_name(p): p for p in PACKAGE.rglob("*.py")}


def _resolve(current: str, is_package: bool, node: ast.ImportFrom) -> str:
    if node.level == 0:
        return node.module or ""
    base = current.split(".")
    if not is_package:
        base = base[:-1]
    base = base[: len(base) - (node.level - 1)]
    return ".".join(base + ([node.module] if node.module else []))


def import_graph() -> dict[str, set[str]]:
    """Module -> the s3dlio modules it imports anywhere in its body (module or function level).

    ``from X import name`` counts as importing ``X.name`` when that is a module, else ``X``.
    Imports under ``if TYPE_CHECKING:`` are skipped (they never run).
    """
    modules = _modules()
    graph: dict[str, set[str]] = {}
    for name, path in modules.items():
        tree = ast.parse(path.read_text(), str(path))
        skip: set[int] = set()
        for node in ast.walk(tree):
            if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
                skip.update(id(n) for n in ast.walk(node))
        edges: set[str] = set()
        for node in ast.walk(tree):
            if id(node) in skip:
                continue
            if isinstance(node, ast.Import):
                targets = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom):
                base = _resolve(name, path.name == "__init__.py", node)
                targets = [
                    f"{base}.{a.name}" if f"{base}.{a.name}" in modules else base
                    for a in node.names
                ]
            else:
                continue
            edges.update(t for t in targets if t in modules and t != name)
        graph[name] = edges
    return graph


def _cycle(graph: dict[str, set[str]]) -> list[str] | None:
    state: dict[str, int] = {}
    stack: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = 1
        stack.append(node)
        for nxt in sorted(graph[node]):
            if state.get(nxt) == 1:
                return [*stack[stack.index(nxt) :], nxt]
            if nxt not in state and (found := visit(nxt)):
                return found
        stack.pop()
        state[node] = 2
        return None

    for node in sorted(graph):
        if node not in state and (found := visit(node)):
            return found
    return None


# A package's __init__ re-exporting its submodules is not a dependency of those submodules on
# the package; only the top-level assembly (s3dlio/__init__.py) is left out of the walk.
def _without_top_init(graph: dict[str, set[str]]) -> dict[str, set[str]]:
    return {k: {t for t in v if t != "s3dlio"} for k, v in graph.items() if k != "s3dlio"}


def test_the_import_graph_has_no_cycle() -> None:
    cycle = _cycle(_without_top_init(import_graph()))
    assert cycle is None, " -> ".join(cycle or [])


def test_the_cycle_check_finds_a_cycle() -> None:
    assert _cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert _cycle({"a": {"b"}, "b": set()}) is None


def test_nothing_below_the_flat_api_imports_it() -> None:
    graph = import_graph()
    users = sorted(m for m, deps in graph.items() if "s3dlio.api" in deps)
    assert users == ["s3dlio"]  # only the package's assembly of the flat names


@pytest.mark.parametrize(
    "bottom", ["s3dlio.runtime", "s3dlio.settings", "s3dlio.config", "s3dlio.errors"]
)
def test_the_bottom_layer_imports_nothing_above_it(bottom: str) -> None:
    allowed = {"s3dlio.runtime", "s3dlio.settings", "s3dlio.config", "s3dlio.errors"}
    assert import_graph()[bottom] <= allowed


def test_formats_and_stores_do_not_reach_up_into_the_engine_or_cli() -> None:
    graph = import_graph()
    for name, deps in graph.items():
        if name.startswith(("s3dlio.stores", "s3dlio.formats")):
            assert not {d for d in deps if d.startswith("s3dlio.cli")}, name
        if name.startswith("s3dlio.stores"):
            assert not {d for d in deps if d.startswith(("s3dlio.engine", "s3dlio.io"))}, name
