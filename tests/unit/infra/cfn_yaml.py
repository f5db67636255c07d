"""The project's template, loaded with SAM's YAML loader as `local_stack.sam` uses it (one loader for all)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from local_stack.sam import load_template_file

REPO = Path(__file__).resolve().parents[3]
TEMPLATE = REPO / "template.yaml"


def load_template(path: Path = TEMPLATE) -> dict[str, Any]:
    return load_template_file(path)
