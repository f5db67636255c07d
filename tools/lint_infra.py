"""Lint the infrastructure: template.yaml and the state machine definitions.

Steps (all run; the exit status is non-zero if any failed):

1. ``cfn-lint template.yaml`` (cfn-lint 1.58 lints the SAM template without translating it);
2. ``statelint`` on every ``statemachine/*.asl.json`` as written (placeholders sit inside strings);
3. ``statelint`` again after filling each ``${...}`` with a dummy ARN, after checking that every
   placeholder has a ``DefinitionSubstitutions`` entry in the template;
4. ``tools/sam.sh validate --lint`` (aws-sam-cli in ``.venv-sam``: the SAM translator's checks);
5. the template translated offline by aws-sam-translator, in process (`local_stack.sam`, the
   translation the local stack and the deploy rehearsal use), then ``cfn-lint`` on the plain
   CloudFormation: catches circular dependencies nothing above sees;
6. with ``--build``: ``tools/sam.sh build`` (no Docker; python3.12 from ``.venv/bin``).
7. ``tools/checkov.sh`` (checkov in ``.venv-checkov``; each skip is justified beside its resource).

``--no-sam`` skips 4-6 (no ``.venv-sam`` needed). Run with the project's interpreter:
``.venv/bin/python tools/lint_infra.py [--no-sam] [--build]``.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from local_stack import sam

ROOT = Path(__file__).resolve().parent.parent
TEMPLATE = ROOT / "template.yaml"
STATEMACHINE_DIR = ROOT / "statemachine"
SAM_SH = ROOT / "tools" / "sam.sh"
PLACEHOLDER = re.compile(r"\$\{([A-Za-z0-9_]+)\}")
DUMMY_ACCOUNT = "123456789012"


def load_template(path: Path = TEMPLATE) -> dict[str, Any]:
    return sam.load_template_file(path)


def substitutions_by_definition(template: dict[str, Any]) -> dict[Path, set[str]]:
    """``DefinitionUri`` (resolved) → the names in that state machine's ``DefinitionSubstitutions``."""
    found: dict[Path, set[str]] = {}
    for resource in template.get("Resources", {}).values():
        if resource.get("Type") != "AWS::Serverless::StateMachine":
            continue
        props = resource.get("Properties", {})
        uri = props.get("DefinitionUri")
        if isinstance(uri, str):
            found[(ROOT / uri).resolve()] = set(props.get("DefinitionSubstitutions", {}))
    return found


def dummy_value(name: str) -> str:
    if name.endswith("FunctionArn"):
        return f"arn:aws:lambda:us-east-1:{DUMMY_ACCOUNT}:function:poster-{name.removesuffix('Arn')}"
    if name.endswith("Arn"):
        return f"arn:aws:states:us-east-1:{DUMMY_ACCOUNT}:stateMachine:poster-{name.removesuffix('Arn')}"
    return f"dummy-{name}"


def substitute(text: str, values: dict[str, str]) -> str:
    """Fill ``${Name}`` placeholders (a regex: ``string.Template`` would also eat ``$.paths``)."""
    return PLACEHOLDER.sub(lambda m: values.get(m.group(1), m.group(0)), text)


def _tool(name: str) -> str:
    beside = Path(sys.executable).parent / name
    if beside.exists():
        return str(beside)
    found = shutil.which(name)
    if found is None:
        raise FileNotFoundError(f"{name} not found next to {sys.executable} or on PATH")
    return found


class Runner:
    def __init__(self) -> None:
        self.results: list[tuple[str, bool, float]] = []

    def run(self, title: str, argv: list[str], *, env: dict[str, str] | None = None) -> bool:
        print(f"==> {title}: {' '.join(argv)}", flush=True)
        started = time.monotonic()
        completed = subprocess.run(argv, cwd=ROOT, env=env, check=False)
        return self.record(title, completed.returncode == 0, started)

    def record(self, title: str, ok: bool, started: float) -> bool:
        self.results.append((title, ok, time.monotonic() - started))
        return ok

    def summary(self) -> int:
        print("\nlint_infra summary:")
        for title, ok, seconds in self.results:
            print(f"  {'PASS' if ok else 'FAIL'}  {seconds:6.1f}s  {title}")
        return 0 if all(ok for _, ok, _ in self.results) else 1


def check_placeholders(runner: Runner, template: dict[str, Any], definitions: list[Path]) -> dict[Path, str]:
    """Every placeholder has a substitution (and vice versa); returns the filled definitions."""
    started = time.monotonic()
    by_definition = substitutions_by_definition(template)
    filled: dict[Path, str] = {}
    ok = True
    for path in definitions:
        text = path.read_text(encoding="utf-8")
        used = set(PLACEHOLDER.findall(text))
        declared = by_definition.get(path.resolve())
        if declared is None:
            print(f"  {path.relative_to(ROOT)}: no AWS::Serverless::StateMachine uses it as DefinitionUri")
            ok = False
            declared = used
        if missing := sorted(used - declared):
            print(f"  {path.relative_to(ROOT)}: placeholders without DefinitionSubstitutions: {missing}")
            ok = False
        if unused := sorted(declared - used):
            print(f"  {path.relative_to(ROOT)}: DefinitionSubstitutions never used: {unused}")
            ok = False
        filled[path] = substitute(text, {name: dummy_value(name) for name in used})
        json.loads(filled[path])
    runner.record("placeholders match DefinitionSubstitutions", ok, started)
    return filled


def translate_offline(runner: Runner, out: Path) -> bool:
    """Write the translated template (`local_stack.sam.translate`, in process) to ``out``."""
    print("==> sam translate (offline, in process): local_stack.sam.translate", flush=True)
    started = time.monotonic()
    try:
        out.write_text(json.dumps(sam.translate(TEMPLATE), indent=1) + "\n", encoding="utf-8")
    except sam.TemplateError as error:
        print(f"  {error}")
        return runner.record("sam translate (offline)", False, started)
    return runner.record("sam translate (offline)", True, started)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--no-sam", action="store_true", help="skip the aws-sam-cli steps")
    parser.add_argument("--build", action="store_true", help="also run `sam build`")
    parser.add_argument("--no-checkov", action="store_true", help="skip checkov")
    args = parser.parse_args(argv)

    runner = Runner()
    definitions = sorted(STATEMACHINE_DIR.glob("*.asl.json"))
    runner.run("cfn-lint template.yaml", [_tool("cfn-lint"), str(TEMPLATE.relative_to(ROOT))])
    runner.run("statelint (as written)", [_tool("statelint"), *(str(p.relative_to(ROOT)) for p in definitions)])
    filled = check_placeholders(runner, load_template(), definitions)
    with tempfile.TemporaryDirectory(prefix="lint-infra-") as tmp:
        paths = []
        for path, text in filled.items():
            target = Path(tmp) / path.name
            target.write_text(text, encoding="utf-8")
            paths.append(str(target))
        runner.run("statelint (substituted)", [_tool("statelint"), *paths])

        if not args.no_sam:
            env = {**os.environ, "AWS_DEFAULT_REGION": "us-east-1", "SAM_CLI_TELEMETRY": "0"}
            runner.run("sam validate --lint", ["bash", str(SAM_SH), "validate", "--lint"], env=env)
            translated = Path(tmp) / "translated.json"
            if translate_offline(runner, translated):
                runner.run("cfn-lint (translated template)", [_tool("cfn-lint"), str(translated)])
            if args.build:
                runner.run("sam build", ["bash", str(SAM_SH), "build"], env=env)
    if not args.no_checkov:
        runner.run("checkov template.yaml", ["bash", str(ROOT / "tools" / "checkov.sh")])
    return runner.summary()


if __name__ == "__main__":
    sys.exit(main())
