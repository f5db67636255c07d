"""The local stack's ``Outputs``, published as a CloudFormation stack in moto.

A deployed stack is found by its name through ``DescribeStacks`` (``InputBucketName``, ``OutputBucketName``,
the prefixes, …): the ``poster-pipeline`` client (``client/poster_pipeline_cli``) reads nothing else. So that
it finds the local stack the same way, `publish_outputs` creates a stack of that name in moto whose template
holds one ``AWS::CloudFormation::WaitConditionHandle`` (a resource that creates nothing: moto 5.2.5 lists it
among the types it skips) and the template's ``Outputs`` as the local stack resolved them (`resolved_outputs`).
"""

from __future__ import annotations

import json
import logging
import warnings
from typing import TYPE_CHECKING, Any

from local_stack.sam import TemplateError

if TYPE_CHECKING:
    from collections.abc import Mapping

    from local_stack.template import Template

__all__ = ["publish_outputs", "resolved_outputs"]

_LOG = logging.getLogger(__name__)
_PLACEHOLDER = "Placeholder"


def resolved_outputs(template: Template) -> dict[str, str]:
    """The template's ``Outputs`` whose ``Condition`` holds, resolved locally (name → value).

    An output the local stack cannot resolve (a ``GetAtt`` it does not model) is left out.

    Examples
    --------
    >>> resolved_outputs(stack.template)["InputPrefix"]  # doctest: +SKIP
    'incoming/'
    """
    outputs: dict[str, str] = {}
    for name, spec in (template.document.get("Outputs") or {}).items():
        try:
            condition = spec.get("Condition")
            if condition is not None and not template.condition(condition):
                continue
            outputs[name] = template.resolve_str(spec["Value"])
        except (TemplateError, LookupError, TypeError, ValueError) as error:  # publishing must not stop start-up
            _LOG.debug("output %s not published locally: %s", name, error)
    return outputs


def publish_outputs(session: Any, endpoint_url: str | None, stack_name: str, outputs: Mapping[str, str]) -> str:
    """Create (or replace) the CloudFormation stack ``stack_name`` with only ``outputs``; return its id.

    Parameters
    ----------
    session : boto3.session.Session
        Whose credentials create the stack (the local stack's admin session).
    endpoint_url : str | None
        moto's endpoint (None: the session's own, e.g. ``AWS_ENDPOINT_URL``).
    stack_name : str
        The name a client looks the stack up by.
    outputs : Mapping[str, str]
        Output name → value, e.g. ``{"InputBucketName": "poster-local-input-…"}``.
    """
    template = {
        "AWSTemplateFormatVersion": "2010-09-09",
        "Description": "poster-pipeline local stack: its outputs only",
        "Resources": {_PLACEHOLDER: {"Type": "AWS::CloudFormation::WaitConditionHandle"}},
        "Outputs": {name: {"Value": str(value)} for name, value in outputs.items()},
    }
    cloudformation = session.client("cloudformation", endpoint_url=endpoint_url)
    stacks = cloudformation.list_stacks(StackStatusFilter=["CREATE_COMPLETE", "UPDATE_COMPLETE"])["StackSummaries"]
    if any(summary["StackName"] == stack_name for summary in stacks):
        cloudformation.delete_stack(StackName=stack_name)
    with warnings.catch_warnings():
        # moto's server runs in this process (`local_stack.moto_server`) and warns that it skips the handle.
        warnings.filterwarnings("ignore", message="Tried to parse AWS::CloudFormation::WaitConditionHandle")
        response = cloudformation.create_stack(StackName=stack_name, TemplateBody=json.dumps(template))
    return str(response["StackId"])
