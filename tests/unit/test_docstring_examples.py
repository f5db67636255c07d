"""The examples in the docstrings run and hold: a stale example is a wrong document."""

from __future__ import annotations

import doctest
import importlib
import pkgutil

import pytest

PACKAGES = ("poster_common", "poster_composer", "poster_pipeline_cli")
TEST_MODULES = ("tests.conftest",)  # the suite's own helpers with examples (how make test groups the tests)


def _modules() -> list[str]:
    names = []
    for name in PACKAGES:
        package = importlib.import_module(name)
        names.append(name)
        names.extend(info.name for info in pkgutil.walk_packages(package.__path__, f"{name}."))
    modules = sorted(n for n in names if not n.endswith("__main__"))  # importing __main__ would run it
    modules.extend(TEST_MODULES)
    for module in modules:
        importlib.import_module(module)  # at collection: urllib3 probes for IPv6 with a socket on import
    return modules


@pytest.mark.parametrize("name", _modules())
def test_the_docstring_examples_hold(name: str) -> None:
    # GIVEN a module of the project, WHEN its docstring examples run, THEN each gives what it shows
    result = doctest.testmod(importlib.import_module(name), optionflags=doctest.ELLIPSIS)
    assert result.failed == 0, f"{result.failed} of {result.attempted} examples in {name} fail"
