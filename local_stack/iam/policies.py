"""Each role's expanded IAM policies: the SAM template translated by aws-sam-translator.

SAM turns a function's ``Policies`` (inline statements and policy templates such as
``EventBridgePutEventsPolicy`` or ``LambdaInvokePolicy``) and its events (an SQS event adds
``AWSLambdaSQSQueueExecutionRole``) into an ``AWS::IAM::Role`` per function and per state machine.
`role_policies` reads them from the translation a `local_stack.template.Template` already holds
(`local_stack.sam`, in process) and returns, per function or state machine, the role's inline documents with
intrinsic functions resolved by that template, and its AWS-managed policies (their documents come from moto's
copy of the AWS-managed policies, so nothing is fetched). `translated_template` is the translation with the
template's default parameters.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

from local_stack import sam

if TYPE_CHECKING:
    from local_stack.template import Template

__all__ = ["ROOT", "RolePolicies", "managed_policy_document", "role_policies", "translated_template"]

ROOT = Path(__file__).resolve().parents[2]
_OWNER_TYPES = ("AWS::Lambda::Function", "AWS::StepFunctions::StateMachine")


@dataclass(frozen=True)
class RolePolicies:
    """The execution role SAM generates for one function or state machine.

    Attributes
    ----------
    owner : str
        The function's or state machine's logical id (``SubmitFunction``).
    role_logical_id : str
        The generated role's logical id (``SubmitFunctionRole``).
    trust_policy : dict
        ``AssumeRolePolicyDocument`` (which service may assume it).
    inline : list[dict]
        The inline policy documents, intrinsic functions resolved.
    inline_names : list[str]
        Their ``PolicyName`` s (``SubmitFunctionRolePolicy0`` …), in the same order.
    managed_arns : list[str]
        ``ManagedPolicyArns`` (AWS-managed: ``AWSLambdaBasicExecutionRole`` & co.).
    """

    owner: str
    role_logical_id: str
    trust_policy: dict[str, Any]
    inline: list[dict[str, Any]] = field(default_factory=list)
    inline_names: list[str] = field(default_factory=list)
    managed_arns: list[str] = field(default_factory=list)

    def documents(self) -> list[dict[str, Any]]:
        """Every policy document of the role: the inline ones, then the managed ones."""
        return [*self.inline, *(managed_policy_document(arn) for arn in self.managed_arns)]


def translated_template(template_path: Path) -> dict[str, Any]:
    """The template as plain CloudFormation, with its default parameter values (`local_stack.sam.translate`).

    Raises
    ------
    local_stack.sam.TemplateError
        If the template cannot be read or SAM rejects it.

    Examples
    --------
    >>> translated_template(ROOT / "template.yaml")["Resources"]["SubmitFunctionRole"]["Type"]  # doctest: +SKIP
    'AWS::IAM::Role'
    """
    return sam.translate(template_path)


def role_policies(template: Template) -> dict[str, RolePolicies]:
    """Function / state machine logical id → its generated role, with the policies resolved by ``template``.

    A function or state machine with an explicit ``Role`` (no generated role), or whose ``Condition`` is false
    with the template's parameters, is left out.

    Examples
    --------
    >>> role_policies(Template(ROOT / "template.yaml"))["PollFunction"].inline  # doctest: +SKIP
    [{'Statement': [{'Sid': 'ReadApiKey', 'Effect': 'Allow', 'Action': 'secretsmanager:GetSecretValue', ...}]}]
    """
    resources = template.cfn_resources
    found: dict[str, RolePolicies] = {}
    for logical_id, resource in resources.items():
        if resource["Type"] not in _OWNER_TYPES:
            continue
        if "Condition" in resource and not template.condition(str(resource["Condition"])):
            continue  # not deployed with these parameters (e.g. the composer service with Engine=dashscope)
        props = resource["Properties"]
        role = props.get("Role") or props.get("RoleArn")
        if not (isinstance(role, dict) and "Fn::GetAtt" in role):
            continue
        role_id = str(role["Fn::GetAtt"][0])
        role_props = resources[role_id]["Properties"]
        found[logical_id] = RolePolicies(
            owner=logical_id,
            role_logical_id=role_id,
            trust_policy=dict(role_props["AssumeRolePolicyDocument"]),
            inline=[template.resolve(policy["PolicyDocument"]) for policy in role_props.get("Policies", [])],
            inline_names=[str(policy["PolicyName"]) for policy in role_props.get("Policies", [])],
            managed_arns=[str(arn) for arn in role_props.get("ManagedPolicyArns", [])],
        )
    return found


def managed_policy_document(arn: str) -> dict[str, Any]:
    """The document of an AWS-managed policy, from moto's bundled copy.

    Raises
    ------
    KeyError
        If moto does not know the policy.

    Examples
    --------
    >>> basic = "arn:aws:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole"
    >>> managed_policy_document(basic)["Statement"][0]["Action"]
    ['logs:CreateLogGroup', 'logs:CreateLogStream', 'logs:PutLogEvents']
    """
    document: dict[str, Any] = json.loads(json.dumps(_aws_managed_policies()[arn.rsplit("/", 1)[-1]]["Document"]))
    return document  # a copy: callers may change it


@cache
def _aws_managed_policies() -> dict[str, Any]:
    from moto.iam.aws_managed_policies import aws_managed_policies_data

    policies: dict[str, Any] = json.loads(aws_managed_policies_data)
    return policies


def policy_allows(documents: list[dict[str, Any]], action: str, resource: str) -> bool:
    """IAM evaluation with moto's own evaluator: allowed when some statement allows and none denies."""
    from moto.iam.access_control import IAMPolicy, PermissionResult

    allowed = False
    for document in documents:
        result = IAMPolicy(json.dumps(document)).is_action_permitted(action, resource)
        if result == PermissionResult.DENIED:
            return False
        allowed = allowed or result == PermissionResult.PERMITTED
    return allowed
