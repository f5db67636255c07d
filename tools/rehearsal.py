"""Deploy rehearsal: create the translated stack on moto's CloudFormation, with no AWS account.

What ``sam package`` + ``sam deploy`` would do, offline:

1. translate ``template.yaml`` to plain CloudFormation with aws-sam-translator, in process
   (`local_stack.sam`, the project's one translation; the ``dev`` extra pins the version aws-sam-cli uses);
   every local ``CodeUri``/``ContentUri`` becomes an S3 location and ``DefinitionUri`` is inlined, as after
   ``sam package``;
2. zip each code folder (deflate, as is: the unbuilt source, so no ``sam build`` is needed) into
   the artifact bucket;
3. ``create_stack`` with ``CAPABILITY_IAM`` and wait for the final status;
4. compare what moto created with what the template asks for under the given parameters.

moto skips (with a warning) every resource type its CloudFormation cannot create, and the stack
still ends ``CREATE_COMPLETE``: `Rehearsal.not_created` lists those resources so a caller can check
each against the types it knows to be unsupported.

Run ``.venv/bin/python tools/rehearsal.py`` for both engines on a moto server of its own.
"""

from __future__ import annotations

import argparse
import copy
import io
import json
import sys
import time
import urllib.request
import zipfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import boto3

from local_stack.sam import ARTIFACT_BUCKET, ARTIFACT_PREFIX, MANAGED_POLICIES, Packaged, translate_packaged

if TYPE_CHECKING:
    from mypy_boto3_cloudformation import CloudFormationClient
    from mypy_boto3_cloudformation.type_defs import StackTypeDef
    from mypy_boto3_s3 import S3Client

__all__ = [
    "ARTIFACT_BUCKET",
    "ARTIFACT_PREFIX",
    "MANAGED_POLICIES",
    "Packaged",
    "Rehearsal",
    "expected_resources",
    "rehearse",
    "reset_moto",
    "translate",
    "upload_artifacts",
    "zip_folder",
]

ROOT = Path(__file__).resolve().parent.parent
TEMPLATE = ROOT / "template.yaml"
_FINAL = ("CREATE_COMPLETE", "CREATE_FAILED", "ROLLBACK_COMPLETE", "ROLLBACK_FAILED")


@dataclass
class Rehearsal:
    """The outcome of one ``create_stack``."""

    stack_name: str
    status: str
    reason: str
    outputs: dict[str, str] = field(default_factory=dict)
    #: Logical id → (type, physical id) of what moto created.
    created: dict[str, tuple[str, str]] = field(default_factory=dict)
    #: Logical id → type of what the template asks for (conditions applied) but moto did not create.
    not_created: dict[str, str] = field(default_factory=dict)
    #: Logical id → type of what moto created although its condition is false.
    unexpected: dict[str, str] = field(default_factory=dict)


def translate(template_path: Path = TEMPLATE, region: str = "us-east-1") -> Packaged:
    """SAM → CloudFormation, offline, with code locations as ``sam package`` leaves them (`local_stack.sam`)."""
    return translate_packaged(template_path, region=region, bucket=ARTIFACT_BUCKET, prefix=ARTIFACT_PREFIX)


def zip_folder(folder: Path) -> bytes:
    """The folder's files (``__pycache__`` left out) as a deflated zip, paths relative to it."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for path in sorted(folder.rglob("*")):
            if path.is_file() and "__pycache__" not in path.parts:
                archive.write(path, path.relative_to(folder).as_posix())
    return buffer.getvalue()


def upload_artifacts(s3: S3Client, packaged: Packaged) -> None:
    """Create the artifact bucket and put one zip per code location (``sam package``'s job)."""
    s3.create_bucket(Bucket=ARTIFACT_BUCKET)
    for key, folder in packaged.artifacts.items():
        s3.put_object(Bucket=ARTIFACT_BUCKET, Key=key, Body=zip_folder(folder))


def _condition(expr: Any, conditions: dict[str, Any], parameters: dict[str, str]) -> Any:
    """Evaluate the condition functions the template uses (Equals, Not, And, Or, Ref, Condition)."""
    if isinstance(expr, dict) and len(expr) == 1:
        ((fn, arg),) = expr.items()
        if fn == "Ref":
            return parameters[arg]
        if fn == "Condition":
            return _condition(conditions[arg], conditions, parameters)
        values = [_condition(item, conditions, parameters) for item in arg]
        if fn == "Fn::Equals":
            return str(values[0]) == str(values[1])
        if fn == "Fn::Not":
            return not values[0]
        if fn == "Fn::And":
            return all(values)
        if fn == "Fn::Or":
            return any(values)
        raise ValueError(f"condition function {fn} not supported")
    return expr


def expected_resources(template: dict[str, Any], overrides: dict[str, str]) -> dict[str, str]:
    """Logical id → type of every resource whose ``Condition`` holds with these parameter values."""
    parameters = {name: str(p.get("Default", "")) for name, p in template.get("Parameters", {}).items()}
    parameters.update(overrides)
    conditions = template.get("Conditions", {})
    return {
        name: resource["Type"]
        for name, resource in template["Resources"].items()
        if "Condition" not in resource or _condition({"Condition": resource["Condition"]}, conditions, parameters)
    }


def _wait(cfn: CloudFormationClient, stack_name: str, timeout: float) -> StackTypeDef:
    deadline = time.monotonic() + timeout
    while True:
        stack = cfn.describe_stacks(StackName=stack_name)["Stacks"][0]
        if stack["StackStatus"] in _FINAL or time.monotonic() > deadline:
            return stack
        time.sleep(0.2)


def rehearse(
    cfn: CloudFormationClient,
    packaged: Packaged,
    parameters: dict[str, str],
    stack_name: str = "poster-pipeline",
    timeout: float = 60.0,
) -> Rehearsal:
    """``create_stack`` (CAPABILITY_IAM), wait, and sort the resources into created / not created."""
    cfn.create_stack(
        StackName=stack_name,
        TemplateBody=json.dumps(packaged.template),
        Parameters=[{"ParameterKey": k, "ParameterValue": v} for k, v in parameters.items()],
        Capabilities=["CAPABILITY_IAM"],
    )
    stack = _wait(cfn, stack_name, timeout)
    result = Rehearsal(
        stack_name=stack_name,
        status=stack["StackStatus"],
        reason=stack.get("StackStatusReason") or "",
        outputs={o["OutputKey"]: o["OutputValue"] for o in stack.get("Outputs", [])},
    )
    # moto lists a skipped (unsupported or conditioned-out) resource with an empty logical id.
    for summary in cfn.list_stack_resources(StackName=stack_name)["StackResourceSummaries"]:
        if summary.get("LogicalResourceId"):
            result.created[summary["LogicalResourceId"]] = (summary["ResourceType"], summary["PhysicalResourceId"])
    expected = expected_resources(packaged.template, parameters)
    result.not_created = {name: kind for name, kind in expected.items() if name not in result.created}
    result.unexpected = {name: kind for name, (kind, _) in result.created.items() if name not in expected}
    return result


def reset_moto(endpoint: str) -> None:
    """Empty every backend of the moto server at ``endpoint`` (``POST /moto-api/reset``)."""
    request = urllib.request.Request(f"{endpoint}/moto-api/reset", data=b"", method="POST")
    with urllib.request.urlopen(request, timeout=10):
        pass


def main(argv: list[str] | None = None) -> int:
    """Rehearse the deploy on a moto server (emptied before each engine) and print what moto created or skipped."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--engine", action="append", choices=["composer", "dashscope"], help="default: both")
    args = parser.parse_args(argv)
    sys.path.insert(0, str(ROOT))
    from local_stack.moto_server import MotoServer

    packaged = translate()
    failed = False
    session = boto3.session.Session(
        aws_access_key_id="testing", aws_secret_access_key="testing", region_name="us-east-1"
    )
    with MotoServer() as server:
        for engine in args.engine or ["composer", "dashscope"]:
            reset_moto(server.endpoint)
            upload_artifacts(session.client("s3", endpoint_url=server.endpoint), packaged)
            result = rehearse(
                session.client("cloudformation", endpoint_url=server.endpoint),
                copy.deepcopy(packaged),
                {"Engine": engine},
            )
            failed |= result.status != "CREATE_COMPLETE"
            print(f"Engine={engine}: {result.status} {result.reason}".rstrip())
            print(f"  created: {len(result.created)} resources")
            for name, kind in sorted(result.not_created.items(), key=lambda item: (item[1], item[0])):
                print(f"  not created by moto: {kind} {name}")
            for key, value in sorted(result.outputs.items()):
                print(f"  output {key} = {value}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
