"""The layers stay layers: msvp (the experiment) never imports the book layer (book/_lib), msvp's
modules import each other without a circle (function-level imports included: a lazy import that
hides a circle is still one), and no function of either layer is longer than a screen."""
from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "msvp"
BOOK_LIB = ROOT / "book" / "_lib"
MAX_LINES = 40


def imported_modules(path: Path) -> set[str]:
    """Every module a file imports, anywhere in it, as absolute dotted names."""
    # the package a relative import starts from: msvp/grid.py -> msvp, msvp/backbones/vit.py -> msvp.backbones
    package = list(path.relative_to(ROOT).parent.parts)
    out = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            out |= {a.name for a in node.names}
        elif isinstance(node, ast.ImportFrom) and node.level == 0:
            out.add(node.module)
        elif isinstance(node, ast.ImportFrom):
            base = package[:len(package) - (node.level - 1)]
            names = [node.module] if node.module else [a.name for a in node.names]
            out |= {".".join([*base, n]) for n in names}
    return out


def package_graph() -> dict[str, set[str]]:
    """msvp's first-level modules (msvp.backbones counts as one) and which of them each imports."""
    def top(dotted: str) -> str | None:
        parts = dotted.split(".")
        return parts[1] if parts[0] == "msvp" and len(parts) > 1 else None

    graph: dict[str, set[str]] = {}
    for f in PACKAGE.rglob("*.py"):
        me = f.relative_to(PACKAGE).parts[0].removesuffix(".py")
        deps = {t for m in imported_modules(f) if (t := top(m)) and t != me and t != "__init__"}
        graph.setdefault(me, set()).update(deps)
    return graph


def find_cycle(graph: dict[str, set[str]]) -> list[str] | None:
    """One import circle as a path a -> b -> ... -> a, or None."""
    state: dict[str, int] = {}  # 1: on the current path, 2: finished

    def visit(node, path):
        state[node] = 1
        for nxt in sorted(graph.get(node, ())):
            if state.get(nxt) == 1:
                return path[path.index(nxt):] + [nxt] if nxt in path else path + [nxt]
            if nxt not in state and (cycle := visit(nxt, path + [nxt])):
                return cycle
        state[node] = 2
        return None

    for start in sorted(graph):
        if start not in state and (cycle := visit(start, [start])):
            return cycle
    return None


def test_find_cycle_sees_a_circle_and_its_absence():
    assert find_cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert find_cycle({"a": {"b"}, "b": {"c"}, "c": set()}) is None


def test_relative_imports_resolve():
    assert "msvp.stats" in imported_modules(PACKAGE / "precision.py")
    assert "msvp.backbones" in imported_modules(PACKAGE / "models.py")


def test_msvp_has_no_import_circle():
    graph = package_graph()
    assert {"grid", "engine", "results", "cluster"} <= set(graph)  # the graph is real, not empty
    assert find_cycle(graph) is None, " -> ".join(find_cycle(graph))


def test_msvp_never_imports_the_book_layer():
    offenders = {f.relative_to(ROOT).as_posix(): sorted(m for m in imported_modules(f)
                                                        if m.split(".")[0] in ("_lib", "book", "bench", "tools"))
                 for f in PACKAGE.rglob("*.py")}
    assert not {k: v for k, v in offenders.items() if v}


def long_functions(folder: Path) -> list[str]:
    out = []
    for f in sorted(folder.rglob("*.py")):
        for node in ast.walk(ast.parse(f.read_text())):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                n = node.end_lineno - node.lineno + 1
                if n > MAX_LINES:
                    out.append(f"{f.relative_to(ROOT)}:{node.lineno} {node.name} ({n} lines)")
    return out


@pytest.mark.parametrize("folder", [PACKAGE, BOOK_LIB], ids=["msvp", "book/_lib"])
def test_no_function_longer_than_a_screen(folder):
    if not folder.exists():
        pytest.fail(f"{folder.relative_to(ROOT)} is missing")
    assert not long_functions(folder)
