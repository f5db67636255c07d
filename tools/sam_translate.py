"""Translate template.yaml to plain CloudFormation with aws-sam-translator, offline.

Run with the SAM virtualenv's interpreter (``.venv-sam/bin/python tools/sam_translate.py OUT``):
``sam validate`` translates but does not look for circular dependencies, and cfn-lint 1.58 lints the
SAM template without translating it, so ``tools/lint_infra.py`` lints this output as well.
Local ``CodeUri``/``ContentUri`` become dummy S3 URIs and ``DefinitionUri`` is inlined, as
``sam package`` would do; managed policies resolve to their well-known ARNs without calling IAM.
"""

from __future__ import annotations

import importlib
import json
import sys
from pathlib import Path
from typing import Any

# aws-sam-translator lives in .venv-sam only: import it at run time, untyped.
_transform: Any = importlib.import_module("samtranslator.translator.transform")
_yaml_helper: Any = importlib.import_module("samtranslator.yaml_helper")

ROOT = Path(__file__).resolve().parent.parent
_MANAGED = {
    "AWSLambdaBasicExecutionRole": "arn:aws:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole",
    "AWSLambdaSQSQueueExecutionRole": "arn:aws:iam::aws:policy/service-role/AWSLambdaSQSQueueExecutionRole",
    "AWSXrayWriteOnlyAccess": "arn:aws:iam::aws:policy/AWSXrayWriteOnlyAccess",
    "AWSXRayDaemonWriteAccess": "arn:aws:iam::aws:policy/AWSXRayDaemonWriteAccess",
}


class _OfflinePolicyLoader:
    def load(self) -> dict[str, str]:
        return dict(_MANAGED)


def _packaged(template: dict[str, Any], root: Path) -> dict[str, Any]:
    for name, resource in template.get("Resources", {}).items():
        props = resource.get("Properties", {})
        for key in ("CodeUri", "ContentUri"):
            if isinstance(props.get(key), str) and not props[key].startswith("s3://"):
                props[key] = f"s3://packaged-artifacts/{name}.zip"
        uri = props.get("DefinitionUri")
        if isinstance(uri, str) and not uri.startswith("s3://"):
            props["Definition"] = json.loads((root / uri).read_text(encoding="utf-8"))
            del props["DefinitionUri"]
    return template


def translate(template_path: Path) -> dict[str, Any]:
    template = _packaged(_yaml_helper.yaml_parse(template_path.read_text(encoding="utf-8")), template_path.parent)
    translated: dict[str, Any] = _transform.transform(template, {}, _OfflinePolicyLoader())
    return translated


def main(argv: list[str]) -> int:
    if len(argv) not in (2, 3):
        print("usage: sam_translate.py OUT.json [TEMPLATE]", file=sys.stderr)
        return 2
    template_path = Path(argv[2]) if len(argv) == 3 else ROOT / "template.yaml"
    Path(argv[1]).write_text(json.dumps(translate(template_path), indent=1) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
