"""The layers, read from the AST by ``tools/layer_map.py``: every arrow points down, and no package's modules import
each other in a circle.

    local_stack → functions → poster_common
    local_stack → poster_composer ← functions/composer_*

``poster_common`` and ``poster_composer`` import neither each other, nor ``functions``, nor ``local_stack``; nothing
of the product imports ``bench``, ``tools`` or a client package. Type-only imports count as arrows too.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest

from tools.layer_map import Scan, arrows, cycles, line_counts, render, scan

if TYPE_CHECKING:
    from pathlib import Path

#: What each package of the product may import (besides itself, the standard library and third parties).
ALLOWED = {
    "local_stack": {"functions", "poster_common", "poster_composer"},
    "functions": {"poster_common", "poster_composer"},
    "poster_common": set(),
    "poster_composer": set(),
}


@pytest.fixture(scope="module")
def tree() -> Scan:
    return scan()


def test_the_product_packages_are_all_found(tree: Scan) -> None:
    assert set(ALLOWED) <= set(tree.packages)
    assert {"bench", "tools"} <= set(tree.packages)
    assert "tests" not in tree.packages


@pytest.mark.parametrize("package", sorted(ALLOWED))
def test_every_arrow_points_down(tree: Scan, package: str) -> None:
    imported = set(arrows(tree).get(package, {}))
    assert imported <= ALLOWED[package], f"{package} imports {sorted(imported - ALLOWED[package])}"


def test_each_handler_imports_only_its_own_layer(tree: Scan) -> None:
    # The composer service's functions run on the ComposerLayer, the pipeline's on the CommonLayer.
    handlers = arrows(tree, "functions.")
    assert handlers, "no handler package found under functions/"
    for handler, targets in handlers.items():
        expected = {"poster_composer"} if handler.startswith("functions.composer_") else {"poster_common"}
        assert set(targets) <= expected, f"{handler} imports {sorted(set(targets) - expected)}"


@pytest.mark.parametrize("package", ["poster_common", "local_stack"])
def test_no_import_cycle_between_modules(tree: Scan, package: str) -> None:
    assert cycles(tree, package, include_type_only=True) == []


def test_the_map_reads_relative_type_only_and_circular_imports(tmp_path: Path) -> None:
    # GIVEN a small repository: pkg.a imports pkg.b (relative), pkg.b imports pkg.a, other imports pkg for types only
    for path, text in {
        "pkg/__init__.py": "",
        "pkg/a.py": "from . import b\nimport os\n",
        "pkg/b.py": "def f():\n    from pkg.a import g\n",
        "other/c.py": "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from pkg import a\n",
        "tests/test_x.py": "import pkg\n",
    }.items():
        (tmp_path / path).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / path).write_text(text, encoding="utf-8")
    found = scan(tmp_path)
    # THEN tests/ is no package, the arrow of a type-only import is marked as such, and the circle is found
    assert set(found.packages) == {"other", "pkg"}
    assert arrows(found) == {"other": {"pkg": {"type_only": 1}}}
    assert cycles(found, "pkg") == [["pkg.a", "pkg.b"]]
    assert line_counts(found) == {"other": (1, 3), "pkg": (3, 4)}
    assert "pkg: pkg.a ↔ pkg.b" in render(found)
