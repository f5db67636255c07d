"""No function over 60 lines: print each longer one (``path:line name length``) and exit 1 if there is any.

A function's length runs from its ``def`` line to its last line (docstring included, decorators not); a nested
function counts on its own and inside its parent. Every ``*.py`` of the repository is read, except ``tests/``
(a test reads top to bottom as one scenario), virtualenvs, build output and hidden folders.

    python tools/function_lengths.py [--max 60] [PATH ...]
"""

from __future__ import annotations

import argparse
import ast
import os
import sys
from pathlib import Path
from typing import NamedTuple

ROOT = Path(__file__).resolve().parent.parent
MAX_LINES = 60
#: Folders (relative to the repository) that are not checked.
EXCLUDED = ("tests",)
_SKIPPED_NAMES = {"build", "out", "node_modules", "__pycache__"}


class LongFunction(NamedTuple):
    """One function over the limit: where it starts, its qualified name, its length in lines."""

    path: Path
    line: int
    name: str
    length: int

    def __str__(self) -> str:
        return f"{self.path}:{self.line} {self.name} {self.length} lines"


def python_files(root: Path = ROOT) -> list[Path]:
    """The repository's ``*.py`` files that are checked (see the module docstring), sorted."""
    excluded = {root / folder for folder in EXCLUDED}
    found = []
    for folder, subfolders, files in os.walk(root):
        here = Path(folder)
        subfolders[:] = [
            name
            for name in subfolders
            if not name.startswith(".") and name not in _SKIPPED_NAMES and here / name not in excluded
        ]
        found += [here / name for name in files if name.endswith(".py")]
    return sorted(found)


def long_functions(path: Path, max_lines: int = MAX_LINES, root: Path = ROOT) -> list[LongFunction]:
    """The functions and methods in ``path`` longer than ``max_lines``, with their qualified names."""
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    shown = path.relative_to(root) if path.is_relative_to(root) else path
    found: list[LongFunction] = []

    def visit(node: ast.AST, prefix: str) -> None:
        for child in ast.iter_child_nodes(node):
            if isinstance(child, ast.FunctionDef | ast.AsyncFunctionDef):
                name = f"{prefix}{child.name}"
                length = (child.end_lineno or child.lineno) - child.lineno + 1
                if length > max_lines:
                    found.append(LongFunction(shown, child.lineno, name, length))
                visit(child, f"{name}.")
            elif isinstance(child, ast.ClassDef):
                visit(child, f"{prefix}{child.name}.")
            else:
                visit(child, prefix)

    visit(tree, "")
    return found


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--max", type=int, default=MAX_LINES, help="the most lines a function may have")
    parser.add_argument("paths", nargs="*", type=Path, help="files to check (default: the repository)")
    args = parser.parse_args(argv)
    files = [path.resolve() for path in args.paths] or python_files()
    offenders = [found for path in files for found in long_functions(path, args.max)]
    for offender in offenders:
        print(offender)
    if offenders:
        print(f"{len(offenders)} function(s) over {args.max} lines", file=sys.stderr)
    return 1 if offenders else 0


if __name__ == "__main__":
    sys.exit(main())
