"""Each function's expanded IAM policy, for the tests: ``local_stack.iam.policies`` on the project's template.yaml.

SAM policy templates (``EventBridgePutEventsPolicy``, ``LambdaInvokePolicy``, …) and inline statements
become the roles' ``Policies`` in plain CloudFormation (aws-sam-translator, in process: local_stack/sam.py); the local
stack gives the same documents to the roles moto enforces (``LocalStack(enforce_iam=True)``).
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from local_stack.iam import policies

if TYPE_CHECKING:
    from local_stack.template import Template

ROOT = Path(__file__).resolve().parent.parent
TEMPLATE = ROOT / "template.yaml"


def translated_template() -> dict[str, Any]:
    """``template.yaml`` as plain CloudFormation (``local_stack.sam``, aws-sam-translator in process)."""
    return policies.translated_template(TEMPLATE)


def role_policies(template: Template) -> dict[str, list[dict[str, Any]]]:
    """Function logical id → the inline policy documents of its execution role, resolved by ``template``."""
    return {owner: role.inline for owner, role in policies.role_policies(template).items()}


def managed_policies(logical_id: str) -> list[str]:
    """The AWS-managed policy ARNs of a function's (or the state machine's) role."""
    resources = translated_template()["Resources"]
    role = resources[logical_id]["Properties"]["Role"]["Fn::GetAtt"][0]
    return list(resources[role]["Properties"].get("ManagedPolicyArns", []))
