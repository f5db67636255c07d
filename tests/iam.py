"""Each function's expanded IAM policy: template.yaml translated by aws-sam-translator (in .venv-sam).

SAM policy templates (``EventBridgePutEventsPolicy``, ``LambdaInvokePolicy``, …) and inline
statements become the roles' ``Policies`` in plain CloudFormation; `role_policies` returns them per
function, with intrinsic functions resolved by a `local_stack.template.Template`.
"""

from __future__ import annotations

import json
import subprocess
import tempfile
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from local_stack.template import Template

ROOT = Path(__file__).resolve().parent.parent
SAM_PYTHON = ROOT / ".venv-sam" / "bin" / "python"


@cache
def translated_template() -> dict[str, Any]:
    """``template.yaml`` as plain CloudFormation (``tools/sam_translate.py``; creates .venv-sam if needed)."""
    if not SAM_PYTHON.exists():
        subprocess.run(["bash", str(ROOT / "tools" / "sam.sh"), "--version"], check=True, cwd=ROOT)
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "translated.json"
        subprocess.run(
            [str(SAM_PYTHON), str(ROOT / "tools" / "sam_translate.py"), str(out)],
            check=True,
            cwd=ROOT,
            env={"AWS_DEFAULT_REGION": "us-east-1", "PATH": "/usr/bin:/bin"},
        )
        translated: dict[str, Any] = json.loads(out.read_text(encoding="utf-8"))
    return translated


def role_policies(template: Template) -> dict[str, list[dict[str, Any]]]:
    """Function logical id → the inline policy documents of its execution role, resolved."""
    resources = translated_template()["Resources"]
    found: dict[str, list[dict[str, Any]]] = {}
    for logical_id, resource in resources.items():
        if resource["Type"] != "AWS::Lambda::Function":
            continue
        role = resource["Properties"]["Role"]["Fn::GetAtt"][0]
        policies = resources[role]["Properties"].get("Policies", [])
        found[logical_id] = [template.resolve(policy["PolicyDocument"]) for policy in policies]
    return found


def managed_policies(logical_id: str) -> list[str]:
    resources = translated_template()["Resources"]
    role = resources[logical_id]["Properties"]["Role"]["Fn::GetAtt"][0]
    return list(resources[role]["Properties"].get("ManagedPolicyArns", []))
