"""Load ``template.yaml`` with CloudFormation short tags (``!Ref``, ``!Sub``, ``!GetAtt`` …) as long form."""

from __future__ import annotations

import importlib
from pathlib import Path
from typing import Any

# PyYAML ships without type stubs in this project: import it as a plain module.
yaml: Any = importlib.import_module("yaml")

REPO = Path(__file__).resolve().parents[3]
TEMPLATE = REPO / "template.yaml"


class CfnLoader(yaml.SafeLoader):  # type: ignore[misc]
    """``SafeLoader`` that maps ``!Name value`` to ``{"Ref": value}`` or ``{"Fn::Name": value}``."""


def _construct_tag(loader: Any, suffix: str, node: Any) -> dict[str, Any]:
    value: Any
    if isinstance(node, yaml.ScalarNode):
        value = loader.construct_scalar(node)
    elif isinstance(node, yaml.SequenceNode):
        value = loader.construct_sequence(node, deep=True)
    else:
        value = loader.construct_mapping(node, deep=True)
    if suffix == "Ref":
        return {"Ref": value}
    if suffix == "GetAtt" and isinstance(value, str):
        value = value.split(".", 1)
    return {f"Fn::{suffix}": value}


CfnLoader.add_multi_constructor("!", _construct_tag)


def load_template(path: Path = TEMPLATE) -> dict[str, Any]:
    loaded: dict[str, Any] = yaml.load(path.read_text(encoding="utf-8"), Loader=CfnLoader)
    return loaded
