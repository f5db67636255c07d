"""THE one SAM → CloudFormation translation of the project: aws-sam-translator, in process, offline.

aws-sam-translator is the package ``sam`` itself uses (the ``dev`` extra pins the version aws-sam-cli pins);
the local stack (`local_stack.template`, `local_stack.iam.policies`), the deploy rehearsal (``tools/rehearsal.py``)
and ``tools/lint_infra.py`` all read the template through `translate`, so what runs locally is what deploys.

- `load_template` / `load_template_file`: the YAML loader the translator ships (``samtranslator.yaml_helper``:
  ``!Ref X`` → ``{"Ref": "X"}``, ``!GetAtt A.B`` → ``{"Fn::GetAtt": ["A", "B"]}``, ``!Name v`` →
  ``{"Fn::Name": v}``), made strict: an unknown ``!Tag`` / ``Fn::`` function, malformed YAML or a document
  that is not a mapping is a `TemplateError`; dates stay text (``2010-09-09``), as in CloudFormation.
- `package`: what ``sam package`` does to the document before the transform, offline: each local
  ``CodeUri`` / ``ContentUri`` becomes an S3 location (the translated ``Code`` / ``Content`` names it; the folder
  it stands for is returned), and a local ``DefinitionUri`` is inlined as ``Definition``.
- `translate` / `translate_packaged`: the transform, with the parameter values CloudFormation would pass and the
  managed policies SAM attaches resolved without calling IAM (`MANAGED_POLICIES`); cached per (path,
  modification time, parameters, region), since every local stack translates the template once.
"""

from __future__ import annotations

import copy
import datetime
import importlib
import json
import threading
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import boto3

if TYPE_CHECKING:
    from pathlib import Path

__all__ = [
    "ARTIFACT_BUCKET",
    "ARTIFACT_PREFIX",
    "INTRINSIC_FUNCTIONS",
    "MANAGED_POLICIES",
    "Packaged",
    "TemplateError",
    "load_template",
    "load_template_file",
    "package",
    "translate",
    "translate_packaged",
]

#: Where `package` says the code is (samconfig.toml's ``s3_prefix``; the rehearsal uploads the zips there).
ARTIFACT_BUCKET = "poster-pipeline-artifacts"
ARTIFACT_PREFIX = "poster-pipeline"
#: The managed policies SAM's policy templates and event sources attach, resolved without calling IAM.
MANAGED_POLICIES = {
    "AWSLambdaBasicExecutionRole": "arn:aws:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole",
    "AWSLambdaSQSQueueExecutionRole": "arn:aws:iam::aws:policy/service-role/AWSLambdaSQSQueueExecutionRole",
    "AWSXrayWriteOnlyAccess": "arn:aws:iam::aws:policy/AWSXrayWriteOnlyAccess",
    "AWSXRayDaemonWriteAccess": "arn:aws:iam::aws:policy/AWSXRayDaemonWriteAccess",
}
#: The intrinsic functions CloudFormation knows (``Fn::<name>``; ``Ref`` and ``Condition`` have no prefix).
INTRINSIC_FUNCTIONS = frozenset(
    {
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

_lock = threading.Lock()
_cache: dict[tuple[Any, ...], Packaged] = {}


class TemplateError(ValueError):
    """The template cannot be read, translated or resolved locally."""


@dataclass(frozen=True)
class Packaged:
    """A translated template and the local folder behind each S3 key its code locations name."""

    template: dict[str, Any]
    artifacts: dict[str, Path]


def _samtranslator(module: str) -> Any:
    # aws-sam-translator ships no type information: use it untyped.
    return importlib.import_module(f"samtranslator.{module}")


def _strict(value: Any, where: str = "") -> Any:
    """Dates back to their text; an unknown intrinsic function is an error."""
    if isinstance(value, dict):
        if len(value) == 1:
            (key,) = value
            if isinstance(key, str) and key.startswith("Fn::") and key[4:] not in INTRINSIC_FUNCTIONS:
                raise TemplateError(f"unknown CloudFormation function {key} (!{key[4:]}) at {where or 'top level'}")
        return {k: _strict(v, f"{where}/{k}") for k, v in value.items()}
    if isinstance(value, list):
        return [_strict(item, f"{where}/{i}") for i, item in enumerate(value)]
    if isinstance(value, datetime.date):  # datetime.datetime too
        return value.isoformat()
    return value


def load_template(text: str) -> dict[str, Any]:
    """Parse a CloudFormation / SAM template written in YAML (or JSON) with the translator's loader.

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
    TemplateError
        If the text is not valid YAML, uses an unknown tag, or is not a mapping.

    Examples
    --------
    >>> load_template("A: !Ref B\\nC: !GetAtt D.Arn\\n")
    {'A': {'Ref': 'B'}, 'C': {'Fn::GetAtt': ['D', 'Arn']}}
    """
    yaml: Any = importlib.import_module("yaml")
    try:
        document = _samtranslator("yaml_helper").yaml_parse(text)
    except yaml.YAMLError as error:
        raise TemplateError(f"invalid template YAML: {error}") from error
    if not isinstance(document, dict):
        raise TemplateError("a template must be a YAML mapping")
    strict: dict[str, Any] = _strict(document)
    return strict


def load_template_file(path: Path) -> dict[str, Any]:
    """Read and parse a template file; see `load_template`.

    Examples
    --------
    >>> load_template_file(Path("template.yaml"))["Transform"]  # doctest: +SKIP
    'AWS::Serverless-2016-10-31'
    """
    return load_template(path.read_text(encoding="utf-8"))


def package(
    document: dict[str, Any], root: Path, *, bucket: str = ARTIFACT_BUCKET, prefix: str = ARTIFACT_PREFIX
) -> dict[str, Path]:
    """Do what ``sam package`` does to ``document`` (in place), without uploading anything.

    Each local ``CodeUri`` / ``ContentUri`` (in ``Globals.Function`` too) becomes
    ``s3://<bucket>/<prefix>/<logical id>.zip``; each local ``DefinitionUri`` is read (JSON) into ``Definition``.

    Returns
    -------
    dict[str, Path]
        S3 key → the folder to zip there.

    Examples
    --------
    >>> package(doc, Path("."))["poster-pipeline/SubmitFunction.zip"]  # doctest: +SKIP
    PosixPath('/work/main/functions/submit')
    """
    artifacts: dict[str, Path] = {}
    holders = [(name, resource.get("Properties") or {}) for name, resource in (document.get("Resources") or {}).items()]
    holders.append(("Globals", (document.get("Globals") or {}).get("Function") or {}))
    for name, props in holders:
        for key in ("CodeUri", "ContentUri"):
            uri = props.get(key)
            if isinstance(uri, str) and not uri.startswith("s3://"):
                s3_key = f"{prefix}/{name}.zip" if prefix else f"{name}.zip"
                artifacts[s3_key] = (root / uri).resolve()
                props[key] = f"s3://{bucket}/{s3_key}"
        uri = props.get("DefinitionUri")
        if isinstance(uri, str) and not uri.startswith("s3://"):
            try:
                props["Definition"] = json.loads((root / uri).read_text(encoding="utf-8"))
            except (OSError, ValueError) as error:
                raise TemplateError(f"{name}: DefinitionUri {uri!r} is not a readable JSON file: {error}") from error
            del props["DefinitionUri"]
    return artifacts


def translate_packaged(
    template_path: Path,
    parameter_values: dict[str, str] | None = None,
    *,
    region: str = "us-east-1",
    bucket: str = ARTIFACT_BUCKET,
    prefix: str = ARTIFACT_PREFIX,
) -> Packaged:
    """`package` the template, then transform it to plain CloudFormation; see `translate`.

    Returns
    -------
    Packaged
        A copy: callers may change it.

    Raises
    ------
    TemplateError
        If the template cannot be read or SAM rejects it.
    """
    path = template_path.resolve()
    try:
        mtime = path.stat().st_mtime_ns
    except OSError as error:
        raise TemplateError(f"cannot read {template_path}: {error}") from error
    key = (path, mtime, tuple(sorted((parameter_values or {}).items())), region, bucket, prefix)
    with _lock:  # the translator keeps state in module globals (metrics, the region of its ARNs)
        if key not in _cache:
            _cache[key] = _translate(path, dict(parameter_values or {}), region, bucket, prefix)
        found = _cache[key]
    return Packaged(copy.deepcopy(found.template), dict(found.artifacts))


def translate(
    template_path: Path,
    parameter_values: dict[str, str] | None = None,
    *,
    region: str = "us-east-1",
    bucket: str = ARTIFACT_BUCKET,
    prefix: str = ARTIFACT_PREFIX,
) -> dict[str, Any]:
    """``template.yaml`` as plain CloudFormation: the ``AWS::Serverless-2016-10-31`` transform, in process.

    Parameters
    ----------
    template_path : Path
        The SAM template; code and definition locations are relative to its folder.
    parameter_values : dict[str, str] | None
        Parameter overrides, as CloudFormation hands them to the transform (defaults are added).
    region : str
        The region of the ARNs the translator builds.
    bucket, prefix : str
        Where `package` says the code is.

    Returns
    -------
    dict[str, Any]
        A copy of the (cached) translation: callers may change it. Resources keep their ``Condition``.

    Raises
    ------
    TemplateError
        If the template cannot be read or SAM rejects it.

    Examples
    --------
    >>> translate(Path("template.yaml"))["Resources"]["SubmitFunctionUploads"]["Type"]  # doctest: +SKIP
    'AWS::Lambda::EventSourceMapping'
    """
    return translate_packaged(template_path, parameter_values, region=region, bucket=bucket, prefix=prefix).template


def _translate(path: Path, parameter_values: dict[str, str], region: str, bucket: str, prefix: str) -> Packaged:
    document = load_template_file(path)
    artifacts = package(document, path.parent, bucket=bucket, prefix=prefix)
    py27 = _samtranslator("utils.py27hash_fix")
    metrics_module = _samtranslator("metrics.metrics")
    metrics = metrics_module.Metrics("ServerlessTransform", metrics_module.DummyMetricsPublisher())
    translator = _samtranslator("translator.translator").Translator(
        None,
        _samtranslator("parser.parser").Parser(),
        boto_session=boto3.session.Session(region_name=region),
        metrics=metrics,
    )
    py27.to_py27_compatible_template(document, parameter_values)
    try:
        translated = translator.translate(
            document, parameter_values, get_managed_policy_map=lambda: dict(MANAGED_POLICIES)
        )
    except _samtranslator("model.exceptions").InvalidDocumentException as error:
        causes = "; ".join(str(cause.message) for cause in error.causes)
        raise TemplateError(f"{path.name}: SAM cannot translate it: {causes}") from error
    finally:
        metrics.publish()  # nothing leaves the process; unpublished metrics would warn
    result: dict[str, Any] = py27.undo_mark_unicode_str_in_template(translated)
    return Packaged(result, artifacts)
