"""The structure docs/architecture.md describes holds in the code: no import circle in the host, no class
over 150 lines there, plugin families that import each other relatively, and a module table that lists
exactly the host's modules."""

from __future__ import annotations

import ast
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
HOST = ROOT / "zoo"


def _module(path: Path) -> str:
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _host_imports() -> dict[str, set[str]]:
    """Every zoo.* module each host module imports, lazy imports inside functions included."""
    modules = {_module(p): p for p in HOST.rglob("*.py")}
    graph: dict[str, set[str]] = {}
    for name, path in modules.items():
        found = set()
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                base = node.module
                found |= {f"{base}.{a.name}" if f"{base}.{a.name}" in modules else base for a in node.names}
            elif isinstance(node, ast.Import):
                found |= {a.name for a in node.names}
        graph[name] = {m for m in found if m in modules and m != name and m != "zoo"}
    return graph


def _cycle(graph: dict[str, set[str]]) -> list[str]:
    state: dict[str, int] = {}
    stack: list[str] = []

    def visit(node: str) -> list[str]:
        state[node] = 1
        stack.append(node)
        for nxt in sorted(graph[node]):
            if state.get(nxt) == 1:
                return stack[stack.index(nxt) :] + [nxt]
            if nxt not in state and (found := visit(nxt)):
                return found
        stack.pop()
        state[node] = 2
        return []

    for node in sorted(graph):
        if node not in state and (found := visit(node)):
            return found
    return []


def test_the_host_has_no_import_circle():
    assert _cycle(_host_imports()) == []


def test_the_cycle_finder_finds_a_circle():
    assert _cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]


def test_no_class_in_the_host_is_over_150_lines():
    long = []
    for path in HOST.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ClassDef) and node.end_lineno - node.lineno + 1 > 150:
                long.append(f"{path.relative_to(ROOT)}:{node.name} ({node.end_lineno - node.lineno + 1} lines)")
    assert long == []


def test_plugin_modules_import_each_other_relatively():
    absolute = []
    for path in (ROOT / "plugins").rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom) and node.level == 0 and (node.module or "").startswith("zoo_plugins"):
                absolute.append(f"{path.relative_to(ROOT)}:{node.lineno}")
            elif isinstance(node, ast.Import) and any(a.name.startswith("zoo_plugins") for a in node.names):
                absolute.append(f"{path.relative_to(ROOT)}:{node.lineno}")
    assert absolute == []


def test_plugins_are_in_families():
    loose = sorted(p.name for p in (ROOT / "plugins").glob("*.py") if p.name != "__init__.py")
    assert loose == []
    families = sorted(p.name for p in (ROOT / "plugins").iterdir() if (p / "__init__.py").exists())
    assert families == ["cnn", "linear", "shared", "transformer", "unirep"]


def test_the_architecture_module_table_lists_exactly_the_host_modules():
    text = (ROOT / "docs" / "architecture.md").read_text()
    listed = set(re.findall(r"^\| `(zoo/[\w/]+\.py)`", text, re.M))
    listed |= set(re.findall(r"^\| `zoo/cli\.py`, `(zoo/commands/)`", text, re.M))
    real = {str(p.relative_to(ROOT)) for p in HOST.glob("*.py")} | {"zoo/commands/"}
    assert listed == real
    plugins_listed = set(re.findall(r"^\| `(plugins/\w+/)`", text, re.M))
    assert plugins_listed == {
        f"plugins/{p.name}/" for p in (ROOT / "plugins").iterdir() if (p / "__init__.py").exists()
    }
