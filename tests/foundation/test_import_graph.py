"""Explicit wiring (issue 10): no import cycles, few imports inside functions, no importlib.

Every module under server/, sync/ and schemas/ is parsed with `ast` (nothing is imported), the
import graph is built from module-level and function-level imports alike, and any cycle fails.
An import inside a function hides a dependency: at most a handful are allowed, each where a real
cycle would otherwise exist, with a comment saying why.
"""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = ("server", "sync", "schemas")
MAX_FUNCTION_IMPORTS = 5


def module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def project_modules() -> dict[str, Path]:
    return {module_name(p): p for package in PACKAGES
            for p in sorted((ROOT / package).rglob("*.py"))}


def _resolve(name: str, known: dict[str, Path]) -> str | None:
    """The project module an imported name lives in (a.b.c may be module a.b's attribute c)."""
    while name:
        if name in known:
            return name
        name = name.rpartition(".")[0]
    return None


def imports_of(name: str, path: Path, known: dict[str, Path]) -> list[tuple[str, bool, int]]:
    """(imported project module, inside a function, line) for each import of a module."""
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found: list[tuple[str, bool, int]] = []

    def visit(node: ast.AST, in_function: bool) -> None:
        for child in ast.iter_child_nodes(node):
            inside = in_function or isinstance(child, ast.FunctionDef | ast.AsyncFunctionDef)
            if isinstance(child, ast.If) and _is_type_checking(child.test):
                continue  # annotations only: never executed
            if isinstance(child, ast.Import):
                for alias in child.names:
                    target = _resolve(alias.name, known)
                    if target:
                        found.append((target, inside, child.lineno))
            elif isinstance(child, ast.ImportFrom):
                base = child.module or ""
                if child.level:
                    anchor = package.split(".")
                    anchor = anchor[: len(anchor) - (child.level - 1)]
                    base = ".".join([*anchor, base] if base else anchor)
                for alias in child.names:
                    target = _resolve(f"{base}.{alias.name}", known) or _resolve(base, known)
                    if target:
                        found.append((target, inside, child.lineno))
            visit(child, inside)

    visit(tree, False)
    return [(t, inside, line) for t, inside, line in found if t != name]


def _is_type_checking(test: ast.expr) -> bool:
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING")


def import_graph() -> tuple[dict[str, set[str]], list[str]]:
    known = project_modules()
    graph: dict[str, set[str]] = {name: set() for name in known}
    inside: list[str] = []
    for name, path in known.items():
        for target, in_function, line in imports_of(name, path, known):
            graph[name].add(target)
            entry = f"{path.relative_to(ROOT)}:{line}"
            if in_function and entry not in inside:
                inside.append(entry)
    return graph, inside


def find_cycle(graph: dict[str, set[str]]) -> list[str] | None:
    """Return one cycle as a list of modules, or None (iterative depth-first search)."""
    state: dict[str, int] = {}  # 1 = on the stack, 2 = done
    for start in sorted(graph):
        if state.get(start):
            continue
        stack: list[tuple[str, list[str]]] = [(start, sorted(graph[start]))]
        path = [start]
        state[start] = 1
        while stack:
            node, todo = stack[-1]
            if not todo:
                state[node] = 2
                stack.pop()
                path.pop()
                continue
            nxt = todo.pop()
            if state.get(nxt) == 1:
                return [*path[path.index(nxt):], nxt]
            if not state.get(nxt):
                state[nxt] = 1
                path.append(nxt)
                stack.append((nxt, sorted(graph.get(nxt, ()))))
    return None


def test_the_graph_sees_every_module_and_function_level_imports():
    graph, inside = import_graph()
    assert "server.services.sync_store" in graph and "sync.push" in graph
    assert "sync.push" in graph["server.services.sync_store"]
    assert find_cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert find_cycle({"a": {"b"}, "b": set()}) is None


def test_no_import_cycles_counting_imports_inside_functions():
    graph, _ = import_graph()
    cycle = find_cycle(graph)
    assert cycle is None, "import cycle: " + " -> ".join(cycle)


def test_imports_inside_functions_are_a_handful_each_with_a_reason():
    _, inside = import_graph()
    assert len(inside) <= MAX_FUNCTION_IMPORTS, "\n".join(inside)
    for entry in inside:
        file, line = entry.rsplit(":", 1)
        lines = (ROOT / file).read_text(encoding="utf-8").splitlines()
        near = " ".join(lines[max(0, int(line) - 3): int(line)])
        assert "#" in near, f"{entry}: say why this import is inside a function"


def test_no_importlib_and_no_module_names_in_strings():
    modules = project_modules()
    for name, path in modules.items():
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if isinstance(node, ast.Constant) and isinstance(node.value, str):
                assert node.value.removesuffix(":app") not in modules or node.value in (
                    "server", "sync", "schemas"), f"{name} names module {node.value!r} in a string"
            if isinstance(node, ast.Import | ast.ImportFrom):
                names = [a.name for a in node.names] + [getattr(node, "module", None) or ""]
                assert not any(n.split(".")[0] == "importlib" for n in names), name
            if isinstance(node, ast.Name):
                assert node.id != "__import__", name
