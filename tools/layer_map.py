"""The layer map, read from the AST: which top-level package imports which, import cycles, line counts.

The packages are the folders at the repository's top that hold Python modules (``local_stack``, ``functions``,
``bench``, ``tools``; ``tests`` is left out) and the packages ``pyproject.toml`` maps to a folder of their own
(``[tool.setuptools.package-dir]``: ``poster_common``, ``poster_composer``, client packages). Every ``import`` counts,
also one inside a function (it runs when the function does); one under ``if TYPE_CHECKING:`` counts as *type-only*:
it is shown in the map with a ``t`` but is no import cycle, since it never runs.

Printed: the package arrows (with how many module imports make each), the arrows of each handler package under
``functions/``, the cycles between modules inside each package, and each package's modules and lines.

    python tools/layer_map.py [--root DIR]
"""

from __future__ import annotations

import argparse
import ast
import os
import sys
import tomllib
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
#: Top-level folders that are not packages of the product (or hold none).
_NOT_PACKAGES = {"tests", "layers", "events", "statemachine", "docs", "out", "build", "node_modules"}


@dataclass(frozen=True)
class Import:
    """One imported module (the most specific one that exists in the scan, else the name as written); a module
    imported at run time and for type checking counts once, at run time."""

    target: str
    type_only: bool


@dataclass
class Module:
    name: str
    package: str
    path: Path
    lines: int
    imports: list[Import] = field(default_factory=list)

    @property
    def is_package(self) -> bool:
        return self.path.name == "__init__.py"


@dataclass
class Scan:
    """Every module of every package, by dotted name."""

    root: Path
    packages: dict[str, Path]
    modules: dict[str, Module]

    def top(self, name: str) -> str | None:
        """The scanned package ``name`` belongs to (None: stdlib or third party)."""
        head = name.split(".", 1)[0]
        return head if head in self.packages else None


# ---------------------------------------------------------------- reading


def package_dirs(root: Path = ROOT) -> dict[str, Path]:
    """Package name → its folder (see the module docstring)."""
    found: dict[str, Path] = {}
    pyproject = root / "pyproject.toml"
    if pyproject.exists():
        setuptools = tomllib.loads(pyproject.read_text(encoding="utf-8")).get("tool", {}).get("setuptools", {})
        for name, folder in setuptools.get("package-dir", {}).items():
            if (root / folder).is_dir():
                found[name] = root / folder
    mapped_parents = {path.relative_to(root).parts[0] for path in found.values()}
    for entry in sorted(root.iterdir()):
        if not entry.is_dir() or entry.name.startswith(".") or entry.name in _NOT_PACKAGES | mapped_parents:
            continue
        if entry.name not in found and any(entry.glob("*.py")):
            found[entry.name] = entry
    return dict(sorted(found.items()))


def _files(folder: Path) -> list[Path]:
    found = []
    for here, subfolders, files in os.walk(folder):
        subfolders[:] = sorted(name for name in subfolders if not name.startswith(".") and name != "__pycache__")
        found += [Path(here) / name for name in sorted(files) if name.endswith(".py")]
    return found


def _module_name(package: str, folder: Path, path: Path) -> str:
    parts = [package, *path.relative_to(folder).with_suffix("").parts]
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def scan(root: Path = ROOT) -> Scan:
    """Read every module of every package, and resolve what each imports."""
    packages = package_dirs(root)
    modules: dict[str, Module] = {}
    trees: dict[str, ast.Module] = {}
    for package, folder in packages.items():
        for path in _files(folder):
            text = path.read_text(encoding="utf-8")
            name = _module_name(package, folder, path)
            modules[name] = Module(name, package, path, len(text.splitlines()))
            trees[name] = ast.parse(text, filename=str(path))
    result = Scan(root, packages, modules)
    for name, tree in trees.items():
        modules[name].imports = _imports(tree, modules[name], result)
    return result


def _is_type_checking(test: ast.expr) -> bool:
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def _imports(tree: ast.Module, module: Module, found: Scan) -> list[Import]:
    imports: list[Import] = []

    def visit(node: ast.AST, type_only: bool) -> None:
        if isinstance(node, ast.If) and _is_type_checking(node.test):
            for statement in node.body:
                visit(statement, True)
            for statement in node.orelse:
                visit(statement, type_only)
            return
        if isinstance(node, ast.Import):
            imports.extend(Import(_resolve(alias.name, found), type_only) for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = _absolute(node, module)
            for alias in node.names:
                imports.append(Import(_resolve(f"{base}.{alias.name}" if base else alias.name, found), type_only))
        for child in ast.iter_child_nodes(node):
            visit(child, type_only)

    visit(tree, False)
    runtime = {item.target for item in imports if not item.type_only}
    unique = {item for item in imports if not (item.type_only and item.target in runtime)}
    return sorted(unique, key=lambda item: (item.target, item.type_only))


def _absolute(node: ast.ImportFrom, module: Module) -> str:
    """The module a ``from … import`` reads from, relative imports resolved against ``module``."""
    if not node.level:
        return node.module or ""
    parts = module.name.split(".")
    package = parts if module.is_package else parts[:-1]
    base = package[: len(package) - node.level + 1]
    return ".".join([*base, node.module] if node.module else base)


def _resolve(name: str, found: Scan) -> str:
    """``name``, or its longest prefix that is a scanned module (``from pkg import function`` → ``pkg``)."""
    parts = name.split(".")
    for end in range(len(parts), 0, -1):
        candidate = ".".join(parts[:end])
        if candidate in found.modules:
            return candidate
    return name


# ---------------------------------------------------------------- what it shows


def arrows(found: Scan, prefix: str = "") -> dict[str, dict[str, Counter[str]]]:
    """Importer → imported package → ``{"runtime": n, "type_only": n}``, between different packages.

    With ``prefix`` (``"functions."``), the importers are the sub-packages under it (``functions.submit``).
    """
    result: dict[str, dict[str, Counter[str]]] = {}
    for module in found.modules.values():
        if prefix and not module.name.startswith(prefix):
            continue
        source = ".".join(module.name.split(".")[: prefix.count(".") + 1]) if prefix else module.package
        for item in module.imports:
            target = found.top(item.target)
            if target is None or target == module.package:
                continue
            counts = result.setdefault(source, {}).setdefault(target, Counter())
            counts["type_only" if item.type_only else "runtime"] += 1
    return {source: dict(sorted(targets.items())) for source, targets in sorted(result.items())}


def cycles(found: Scan, package: str, *, include_type_only: bool = False) -> list[list[str]]:
    """The import cycles between modules of ``package``: its strongly connected components of two or more modules
    (or one importing itself), each sorted; runtime imports only unless ``include_type_only``."""
    graph = {
        name: sorted(
            {
                item.target
                for item in module.imports
                if (include_type_only or not item.type_only) and found.top(item.target) == package
            }
            & set(found.modules)
        )
        for name, module in found.modules.items()
        if module.package == package
    }
    return [sorted(component) for component in _components(graph) if len(component) > 1 or _loops(graph, component)]


def _loops(graph: dict[str, list[str]], component: list[str]) -> bool:
    return component[0] in graph.get(component[0], [])


def _components(graph: dict[str, list[str]]) -> list[list[str]]:
    """Tarjan's strongly connected components (iterative: no recursion limit)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []
    for start in sorted(graph):
        if start in index:
            continue
        work = [(start, iter(graph[start]))]
        index[start] = low[start] = len(index)
        stack.append(start)
        on_stack.add(start)
        while work:
            node, successors = work[-1]
            successor = next((s for s in successors if s not in index or s in on_stack), None)
            if successor is None:
                work.pop()
                if work:
                    low[work[-1][0]] = min(low[work[-1][0]], low[node])
                if low[node] == index[node]:
                    component = []
                    while True:
                        member = stack.pop()
                        on_stack.discard(member)
                        component.append(member)
                        if member == node:
                            break
                    found.append(component)
            elif successor not in index:
                index[successor] = low[successor] = len(index)
                stack.append(successor)
                on_stack.add(successor)
                work.append((successor, iter(graph.get(successor, []))))
            else:
                low[node] = min(low[node], index[successor])
    return found


def line_counts(found: Scan) -> dict[str, tuple[int, int]]:
    """Package → (modules, lines)."""
    counts: dict[str, tuple[int, int]] = {}
    for module in found.modules.values():
        modules, lines = counts.get(module.package, (0, 0))
        counts[module.package] = (modules + 1, lines + module.lines)
    return dict(sorted(counts.items()))


def _arrow_lines(table: dict[str, dict[str, Counter[str]]]) -> list[str]:
    width = max((len(source) for source in table), default=0)
    lines = []
    for source, targets in table.items():
        shown = []
        for target, counts in targets.items():
            extra = f" +{counts['type_only']}t" if counts["type_only"] else ""
            shown.append(f"{target} ({counts['runtime']}{extra})")
        lines.append(f"  {source:<{width}} → {', '.join(shown)}")
    return lines


def render(found: Scan) -> str:
    """The report ``main`` prints."""
    lines = ["Layer map: package → the packages it imports (n: module-to-module imports at run time, +n t: type-only)"]
    lines += _arrow_lines(arrows(found))
    lines += [f"  {name}: imports no other package" for name in found.packages if name not in arrows(found)]
    if any(name.startswith("functions.") for name in found.modules):
        lines += ["", "functions/, per handler package:", *_arrow_lines(arrows(found, "functions."))]
    lines += ["", "Import cycles between modules inside each package (run-time imports; type-only ones apart):"]
    for package in found.packages:
        runtime, typed = cycles(found, package), cycles(found, package, include_type_only=True)
        shown = "; ".join(" ↔ ".join(c) for c in runtime) or "none"
        extra = [c for c in typed if c not in runtime]
        typed_note = f" (with type-only imports: {'; '.join(' ↔ '.join(c) for c in extra)})" if extra else ""
        lines.append(f"  {package}: {shown}{typed_note}")
    lines += ["", "Lines per package (Python modules):"]
    counts = line_counts(found)
    width = max((len(name) for name in counts), default=0)
    for package, (modules, total) in counts.items():
        lines.append(f"  {package:<{width}} {total:>7,} lines in {modules:>3} modules")
    total_modules, total_lines = sum(m for m, _ in counts.values()), sum(n for _, n in counts.values())
    lines.append(f"  {'total':<{width}} {total_lines:>7,} lines in {total_modules:>3} modules")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--root", type=Path, default=ROOT, help="the repository (default: this one)")
    args = parser.parse_args(argv)
    print(render(scan(args.root.resolve())))
    return 0


if __name__ == "__main__":
    sys.exit(main())
