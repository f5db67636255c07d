"""Which buckets and prefixes a stack uses, read from its CloudFormation outputs.

A deployed stack and the local stack (``local_stack/outputs.py`` publishes its outputs in moto) are found
the same way: ``DescribeStacks`` by name, then the outputs ``InputBucketName`` and ``OutputBucketName``
(required) and ``InputPrefix``, ``OutputPrefix``, ``FailurePrefix`` (the template's defaults when a stack
deployed before they existed does not have them).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from mypy_boto3_cloudformation import CloudFormationClient

__all__ = ["DEFAULT_PREFIXES", "StackError", "Target", "resolve_target"]

DEFAULT_PREFIXES = {"InputPrefix": "incoming/", "OutputPrefix": "posters/", "FailurePrefix": "failed/"}
REQUIRED_OUTPUTS = ("InputBucketName", "OutputBucketName")


class StackError(Exception):
    """The stack cannot be used: it does not exist, or lacks an output the client needs."""


@dataclass(frozen=True)
class Target:
    """The S3 contract of one stack: where uploads go and where posters and failure records appear."""

    stack_name: str
    input_bucket: str
    output_bucket: str
    input_prefix: str = "incoming/"
    output_prefix: str = "posters/"
    failure_prefix: str = "failed/"

    def image_key(self, stem: str, extension: str) -> str:
        """``incoming/<stem><extension>``."""
        return f"{self.input_prefix}{stem}{extension}"

    def sidecar_key(self, stem: str) -> str:
        """``incoming/<stem>.poster.json``."""
        return f"{self.input_prefix}{stem}.poster.json"

    def poster_folder(self, stem: str) -> str:
        """``posters/<stem>/``: every output key of the job is under it."""
        return f"{self.output_prefix}{stem}/"

    def manifest_key(self, stem: str) -> str:
        """``posters/<stem>/manifest.json``."""
        return f"{self.poster_folder(stem)}manifest.json"

    def failure_key(self, stem: str) -> str:
        """``failed/<stem>.json``."""
        return f"{self.failure_prefix}{stem}.json"


def target_from_outputs(stack_name: str, outputs: dict[str, str]) -> Target:
    """The `Target` of a stack with these outputs (name → value).

    Raises
    ------
    StackError
        If ``InputBucketName`` or ``OutputBucketName`` is missing.
    """
    missing = [name for name in REQUIRED_OUTPUTS if not outputs.get(name)]
    if missing:
        raise StackError(
            f"stack {stack_name!r} has no output {', '.join(missing)}: is it a poster-pipeline stack? "
            f"(outputs: {', '.join(sorted(outputs)) or 'none'})"
        )
    prefixes = {name: outputs.get(name) or default for name, default in DEFAULT_PREFIXES.items()}
    return Target(
        stack_name=stack_name,
        input_bucket=outputs["InputBucketName"],
        output_bucket=outputs["OutputBucketName"],
        input_prefix=prefixes["InputPrefix"],
        output_prefix=prefixes["OutputPrefix"],
        failure_prefix=prefixes["FailurePrefix"],
    )


def resolve_target(cloudformation: CloudFormationClient, stack_name: str) -> Target:
    """Describe ``stack_name`` and read its `Target` from its outputs.

    Raises
    ------
    StackError
        If the stack does not exist or lacks a required output.
    botocore.exceptions.BotoCoreError, botocore.exceptions.ClientError
        On any other AWS error (credentials, access denied, the network).
    """
    from botocore.exceptions import ClientError

    try:
        stacks = cloudformation.describe_stacks(StackName=stack_name)["Stacks"]
    except ClientError as error:
        message = error.response.get("Error", {}).get("Message", "")
        if "does not exist" in message:
            raise StackError(f"no stack named {stack_name!r} here (--stack, --region, --endpoint-url)") from None
        raise
    if not stacks:
        raise StackError(f"no stack named {stack_name!r} here (--stack, --region, --endpoint-url)")
    outputs = {o["OutputKey"]: o["OutputValue"] for o in stacks[0].get("Outputs", []) if "OutputKey" in o}
    return target_from_outputs(stack_name, {k: v for k, v in outputs.items() if isinstance(v, str)})
