"""Load CloudFormation / SAM YAML (with short-form intrinsic tags) into plain dicts.

``!Ref X`` becomes ``{"Ref": "X"}``, ``!Condition X`` becomes ``{"Condition": "X"}``,
``!GetAtt A.B`` becomes ``{"Fn::GetAtt": ["A", "B"]}`` and every other ``!Name v`` becomes
``{"Fn::Name": v}``. Timestamps are not resolved (``2010-09-09`` stays a string), as in CloudFormation.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from pathlib import Path

# PyYAML ships without type stubs in this project; import it as a plain module.
_yaml: Any = importlib.import_module("yaml")

__all__ = ["INTRINSIC_TAGS", "CfnYamlError", "load_template", "load_template_file"]

#: Short-form tags CloudFormation understands (without the ``!``).
INTRINSIC_TAGS = frozenset(
    {
        "Ref",
        "Condition",
        "GetAtt",
        "Sub",
        "If",
        "Join",
        "Select",
        "Split",
        "Equals",
        "Not",
        "And",
        "Or",
        "FindInMap",
        "ImportValue",
        "Base64",
        "GetAZs",
        "Cidr",
        "Transform",
        "Length",
        "ToJsonString",
    }
)


class CfnYamlError(ValueError):
    """The text is not a CloudFormation template this loader understands."""


def _build_loader() -> Any:
    safe_loader: Any = _yaml.SafeLoader

    class CfnLoader(safe_loader):  # type: ignore[misc]
        """SafeLoader with CloudFormation short tags and without timestamp resolution."""

    CfnLoader.yaml_implicit_resolvers = {
        first: [(tag, regexp) for tag, regexp in resolvers if tag != "tag:yaml.org,2002:timestamp"]
        for first, resolvers in safe_loader.yaml_implicit_resolvers.items()
    }

    def construct_intrinsic(loader: Any, tag_suffix: str, node: Any) -> dict[str, Any]:
        if tag_suffix not in INTRINSIC_TAGS:
            raise CfnYamlError(f"unknown CloudFormation tag !{tag_suffix} at {node.start_mark}")
        value: Any
        if isinstance(node, _yaml.ScalarNode):
            value = loader.construct_scalar(node)
        elif isinstance(node, _yaml.SequenceNode):
            value = loader.construct_sequence(node, deep=True)
        else:
            value = loader.construct_mapping(node, deep=True)
        if tag_suffix in ("Ref", "Condition"):
            return {tag_suffix: value}
        if tag_suffix == "GetAtt" and isinstance(value, str):
            resource, _, attribute = value.partition(".")
            return {"Fn::GetAtt": [resource, attribute]}
        return {f"Fn::{tag_suffix}": value}

    CfnLoader.add_multi_constructor("!", construct_intrinsic)
    return CfnLoader


_LOADER = _build_loader()


def load_template(text: str) -> dict[str, Any]:
    """Parse a CloudFormation template written in YAML (or JSON) into plain Python values.

    Parameters
    ----------
    text : str
        The template text.

    Returns
    -------
    dict[str, Any]
        The template with intrinsic functions in their long (JSON) form.

    Raises
    ------
    CfnYamlError
        If the text is not valid YAML, uses an unknown tag, or is not a mapping.

    Examples
    --------
    >>> load_template("A: !Ref B\\nC: !GetAtt D.Arn\\n")
    {'A': {'Ref': 'B'}, 'C': {'Fn::GetAtt': ['D', 'Arn']}}
    """
    try:
        document = _yaml.load(text, Loader=_LOADER)
    except _yaml.YAMLError as error:
        raise CfnYamlError(f"invalid template YAML: {error}") from error
    if not isinstance(document, dict):
        raise CfnYamlError("a template must be a YAML mapping")
    return document


def load_template_file(path: Path) -> dict[str, Any]:
    """Read and parse a template file; see `load_template`.

    Examples
    --------
    >>> load_template_file(Path("template.yaml"))["Transform"]  # doctest: +SKIP
    'AWS::Serverless-2016-10-31'
    """
    return load_template(path.read_text(encoding="utf-8"))
