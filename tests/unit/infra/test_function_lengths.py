"""``tools/function_lengths.py``: which functions it counts as too long, and what it reads."""

from __future__ import annotations

from typing import TYPE_CHECKING

from tools.function_lengths import ROOT, long_functions, main, python_files

if TYPE_CHECKING:
    from pathlib import Path


def _function(name: str, body_lines: int, indent: str = "") -> str:
    body = "".join(f"{indent}    x = {i}\n" for i in range(body_lines))
    return f"{indent}def {name}() -> None:\n{body}"


def test_functions_methods_and_nested_functions_over_the_limit_are_named(tmp_path: Path) -> None:
    # GIVEN a module with a function of 61 lines, one of 60, and a method and a nested function of 61
    source = (
        _function("long", 60)
        + _function("fits", 59)
        + "class Thing:\n"
        + _function("method", 60, indent="    ")
        + "def outer() -> None:\n"
        + _function("inner", 60, indent="    ")
    )
    path = tmp_path / "module.py"
    path.write_text(source, encoding="utf-8")
    # WHEN it is checked
    found = long_functions(path, 60, root=tmp_path)
    # THEN the three over 60 lines are named with their class or parent (the parent is over too)
    assert [(f.name, f.length) for f in found] == [
        ("long", 61),
        ("Thing.method", 61),
        ("outer", 62),
        ("outer.inner", 61),
    ]
    assert str(found[0]) == "module.py:1 long 61 lines"


def test_the_exit_status_says_whether_there_was_any(tmp_path: Path) -> None:
    short, long = tmp_path / "short.py", tmp_path / "long.py"
    short.write_text(_function("fits", 10), encoding="utf-8")
    long.write_text(_function("long", 70), encoding="utf-8")
    assert main([str(short)]) == 0
    assert main([str(long)]) == 1


def test_tests_and_virtualenvs_are_not_read() -> None:
    files = python_files()
    assert ROOT / "tools" / "function_lengths.py" in files
    assert not any(path.relative_to(ROOT).parts[0] in ("tests", ".venv") for path in files)
