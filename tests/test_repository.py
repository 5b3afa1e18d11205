"""The repository as a whole: no import cycles, and nothing that points outside it.

Both checks read the source only (``ast`` and text); nothing is imported or executed.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "dfdlab"


# --------------------------------------------------------------------------- import graph

def module_name(path: Path) -> str:
    """``dfdlab/data/folders.py`` -> ``dfdlab.data.folders``; ``dfdlab/data/__init__.py`` -> ``dfdlab.data``."""
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def package_modules() -> dict[str, Path]:
    return {module_name(p): p for p in sorted(PACKAGE.rglob("*.py"))}


def imported_modules(name: str, path: Path, modules: set[str]) -> set[str]:
    """The package's modules that ``name`` imports anywhere in its source (functions included).

    ``from X import a`` counts as an import of ``X.a`` when that is a module, else of ``X``.
    Relative imports are resolved against the importing module's package.
    """
    is_package = path.name == "__init__.py"
    here = name.split(".") if is_package else name.split(".")[:-1]
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), filename=str(path))):
        if isinstance(node, ast.Import):
            targets = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base_parts = here[: len(here) - (node.level - 1)]
                base = ".".join(base_parts + ([node.module] if node.module else []))
            else:
                base = node.module or ""
            targets = [f"{base}.{alias.name}" if f"{base}.{alias.name}" in modules else base for alias in node.names]
        else:
            continue
        for target in targets:
            # ``import dfdlab.data.folders`` needs dfdlab.data.folders; keep the longest known prefix
            parts = target.split(".")
            while parts and ".".join(parts) not in modules:
                parts.pop()
            if parts and ".".join(parts) != name:
                found.add(".".join(parts))
    return found


def import_graph() -> dict[str, set[str]]:
    modules = package_modules()
    names = set(modules)
    return {name: imported_modules(name, path, names) for name, path in modules.items()}


def import_cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components with more than one module (Tarjan), each as one cycle through it."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    components: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in sorted(graph[v]):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                components.append(sorted(component))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return [cycle_through(graph, c) for c in components]


def cycle_through(graph: dict[str, set[str]], component: list[str]) -> list[str]:
    """A shortest path ``a -> ... -> a`` inside one strongly connected component, for the message."""
    start, inside = component[0], set(component)
    paths, seen = [[start]], {start}
    while paths:
        path = paths.pop(0)
        for w in sorted(graph[path[-1]] & inside):
            if w == start:
                return path + [start]
            if w not in seen:
                seen.add(w)
                paths.append(path + [w])
    return component


def test_graph_sees_relative_function_level_and_absolute_imports():
    graph = import_graph()
    assert "dfdlab._compat" in graph["dfdlab"]          # ``from . import _compat`` in the package
    assert "dfdlab.attention" in graph["dfdlab.clip.tiny"]  # ``from ..attention import ...``
    assert "dfdlab.health" in graph["dfdlab"]           # imported inside ``doctor()``


def test_no_import_cycles():
    graph = import_graph()
    cycles = import_cycles(graph)
    assert not cycles, "import cycles (each module imports the next):\n" + "\n".join(" -> ".join(c) for c in cycles)


def test_cycle_finder_finds_a_cycle():
    graph = {"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}
    assert import_cycles(graph) == [["a", "b", "c", "a"]]


# --------------------------------------------------------------------------- self-contained text

# Built from pieces so that this file does not match its own patterns.
OUTSIDE_REFERENCES = re.compile("|".join([
    r"PAPERS" r"\.md", r"\bSP" r"EC\b", r"STYLE" r"\.md", r"FIELD" r"\.md", r"\.\./sha" r"red",
    r"(?i:\bissues? [0-9])",          # a work item of this project; "NPR GitHub #9" cites a public thread
    r"(?i:engin" r"eer)",             # a note about who wrote a module
]))
SEARCHED = ["dfdlab", "notebooks/*.py", "docs", "benchmarks", "tests", "README.md", "WSL2_SETUP.md"]
TEXT_SUFFIXES = {".py", ".md", ".txt", ".cfg", ".toml", ".yml", ".yaml"}


def searched_files() -> list[Path]:
    files: list[Path] = []
    for entry in SEARCHED:
        if "*" in entry:
            files += sorted(ROOT.glob(entry))
        elif (ROOT / entry).is_dir():
            files += sorted(p for p in (ROOT / entry).rglob("*") if p.suffix in TEXT_SUFFIXES and p.is_file())
        elif (ROOT / entry).is_file():
            files.append(ROOT / entry)
    return files


def test_no_references_outside_the_repository():
    hits = []
    for path in searched_files():
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            if OUTSIDE_REFERENCES.search(line):
                hits.append(f"{path.relative_to(ROOT)}:{number}: {line.strip()[:120]}")
    assert not hits, f"{len(hits)} references to files or work outside the repository:\n" + "\n".join(hits)


def test_reference_pattern():
    for text in ["see PAPERS" ".md §2", "SP" "EC.md", "issue" " 8", "the GAN engi" "neer's", "../sha" "red/x"]:
        assert OUTSIDE_REFERENCES.search(text), text
    for text in ["NPR GitHub #9", "the NPR repository's issue #9", "spectrum", "ISSUES.md"]:
        assert not OUTSIDE_REFERENCES.search(text), text
