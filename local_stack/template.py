"""A typed model of what the local stack needs, read from ``template.yaml`` itself.

Nothing here talks to AWS: `Template` reads the template as SAM's own translator turns it into plain
CloudFormation (`local_stack.sam`, in process), evaluates parameters, conditions and a small set of
intrinsic functions, and describes the buckets, queues, secret, tables, functions (``Globals`` merged by
SAM), their SQS event source mappings, the EventBridge rules and the state machine, so that the local run
cannot drift from what deploys. From the SAM document itself come only what ``sam package`` replaces: a
function's local code folder (``CodeUri``), a layer's (``ContentUri``) and the state machine's
``DefinitionUri`` with its ``DefinitionSubstitutions``.

Physical values (names, ARNs, queue URLs) are *predicted* the way CloudFormation / moto would produce
them; the stack overrides the few it only learns after creation (the secret ARN, queue URLs) with
`Template.set_physical` before it resolves environments and substitutions.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from local_stack import sam
from local_stack.sam import TemplateError

__all__ = [
    "DEFAULT_ACCOUNT_ID",
    "DEFAULT_REGION",
    "BucketNotification",
    "BucketSpec",
    "EventBusSpec",
    "FunctionSpec",
    "QueueSpec",
    "RuleSpec",
    "SecretSpec",
    "SqsEventSpec",
    "StateMachineSpec",
    "TableSpec",
    "Template",
    "TemplateError",
    "substitute_placeholders",
]

DEFAULT_ACCOUNT_ID = "123456789012"
DEFAULT_REGION = "us-east-1"
_PLACEHOLDER = re.compile(r"\$\{(\w+)\}")
_SUB_VARIABLE = re.compile(r"\$\{([^}!]+)\}")
_NO_VALUE = object()

_FUNCTION_TYPES = ("AWS::Serverless::Function", "AWS::Lambda::Function")
_STATE_MACHINE_TYPES = ("AWS::Serverless::StateMachine", "AWS::StepFunctions::StateMachine")
_TABLE_TYPES = ("AWS::DynamoDB::Table", "AWS::Serverless::SimpleTable")


@dataclass(frozen=True)
class BucketNotification:
    """One S3 → SQS notification: the queue's logical id, the events and the key filter."""

    queue_logical_id: str
    queue_arn: str
    events: tuple[str, ...]
    prefix: str | None = None
    suffix: str | None = None


@dataclass(frozen=True)
class BucketSpec:
    """An ``AWS::S3::Bucket``."""

    logical_id: str
    name: str
    versioned: bool
    notifications: tuple[BucketNotification, ...] = ()
    event_bridge_enabled: bool = False


@dataclass(frozen=True)
class QueueSpec:
    """An ``AWS::SQS::Queue``; ``attributes`` are ready for ``create_queue(Attributes=...)``."""

    logical_id: str
    name: str
    attributes: dict[str, str]
    dead_letter_logical_id: str | None = None
    max_receive_count: int | None = None

    @property
    def visibility_timeout(self) -> int:
        """The queue's visibility timeout in seconds (SQS default 30)."""
        return int(self.attributes.get("VisibilityTimeout", "30"))


@dataclass(frozen=True)
class SecretSpec:
    """An ``AWS::SecretsManager::Secret`` (only its name matters locally)."""

    logical_id: str
    name: str


@dataclass(frozen=True)
class TableSpec:
    """A DynamoDB table, with arguments ready for ``create_table``."""

    logical_id: str
    name: str
    key_schema: tuple[dict[str, str], ...]
    attribute_definitions: tuple[dict[str, str], ...]
    ttl_attribute: str | None = None


@dataclass(frozen=True)
class EventBusSpec:
    """An ``AWS::Events::EventBus``."""

    logical_id: str
    name: str


@dataclass(frozen=True)
class SqsEventSpec:
    """A function's SQS event (what an event source mapping would do)."""

    name: str
    queue_logical_id: str
    batch_size: int = 10
    function_response_types: tuple[str, ...] = ()
    maximum_concurrency: int | None = None
    maximum_batching_window_seconds: int = 0
    enabled: bool = True

    @property
    def reports_batch_item_failures(self) -> bool:
        """True when the handler may answer ``{"batchItemFailures": [...]}``."""
        return "ReportBatchItemFailures" in self.function_response_types


@dataclass(frozen=True)
class RuleSpec:
    """An EventBridge rule (``AWS::Events::Rule``): its schedule or event pattern, and the functions it invokes."""

    logical_id: str
    function_logical_ids: tuple[str, ...]
    schedule_expression: str | None = None
    event_pattern: dict[str, Any] | None = None
    enabled: bool = True
    name: str = ""
    queue_logical_ids: tuple[str, ...] = ()


@dataclass(frozen=True)
class FunctionSpec:
    """A Lambda function: where its handler lives and what it runs with."""

    logical_id: str
    name: str
    arn: str
    code_uri: str
    handler: str
    module: str
    attribute: str
    environment: dict[str, str]
    timeout_seconds: int = 3
    memory_mb: int = 128
    sqs_events: tuple[SqsEventSpec, ...] = ()


@dataclass(frozen=True)
class StateMachineSpec:
    """A state machine: name, type, and the definition with its substitutions."""

    logical_id: str
    name: str
    arn: str
    type: str
    definition_path: Path | None
    inline_definition: dict[str, Any] | None
    substitutions: dict[str, str] = field(default_factory=dict)

    def definition(self) -> str:
        """Return the definition with every ``${Name}`` substituted.

        Raises
        ------
        TemplateError
            If a placeholder has no substitution.

        Examples
        --------
        >>> spec.definition()  # doctest: +SKIP
        '{"StartAt": "WaitForTask", ...}'
        """
        if self.inline_definition is not None:
            text = json.dumps(self.inline_definition)
        elif self.definition_path is not None:
            text = self.definition_path.read_text(encoding="utf-8")
        else:
            raise TemplateError(f"{self.logical_id}: no DefinitionUri or Definition")
        return substitute_placeholders(text, self.substitutions, where=self.logical_id)


def substitute_placeholders(text: str, values: dict[str, str], *, where: str = "definition") -> str:
    """Replace ``${Name}`` placeholders with a regex (``string.Template`` would trip on ``$.path``).

    Raises
    ------
    TemplateError
        If a placeholder has no value.

    Examples
    --------
    >>> substitute_placeholders('{"R": "${Fn}", "P.$": "$.x"}', {"Fn": "arn:x"})
    '{"R": "arn:x", "P.$": "$.x"}'
    """
    missing = sorted({m.group(1) for m in _PLACEHOLDER.finditer(text)} - values.keys())
    if missing:
        raise TemplateError(f"{where}: no substitution for {', '.join('${' + n + '}' for n in missing)}")
    return _PLACEHOLDER.sub(lambda m: values[m.group(1)], text)


def _check_parameter(name: str, spec: dict[str, Any], value: str) -> None:
    """Apply the constraints CloudFormation applies, so a local override cannot be one AWS would reject."""
    problems = []
    allowed = spec.get("AllowedValues")
    if allowed is not None and value not in [_as_str(v) for v in allowed]:
        problems.append(f"not one of {allowed}")
    pattern = spec.get("AllowedPattern")
    if pattern is not None and not re.fullmatch(str(pattern), value):
        problems.append(f"does not match {pattern}")
    if "MinLength" in spec and len(value) < int(spec["MinLength"]):
        problems.append(f"shorter than {spec['MinLength']}")
    if "MaxLength" in spec and len(value) > int(spec["MaxLength"]):
        problems.append(f"longer than {spec['MaxLength']}")
    if spec.get("Type") == "Number":
        try:
            number = float(value)
        except ValueError:
            problems.append("not a number")
        else:
            if "MinValue" in spec and number < float(spec["MinValue"]):
                problems.append(f"below {spec['MinValue']}")
            if "MaxValue" in spec and number > float(spec["MaxValue"]):
                problems.append(f"above {spec['MaxValue']}")
    if problems:
        description = spec.get("ConstraintDescription") or "; ".join(problems)
        raise TemplateError(f"parameter {name}={value!r}: {description}")


@dataclass
class _Physical:
    ref: str
    attributes: dict[str, str]


def _as_str(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (dict, list)):
        return json.dumps(value)
    return str(value)


class Template:
    """A SAM template, translated by SAM, with parameters, conditions and a small intrinsic resolver.

    ``document`` and ``resources`` are the SAM template as written; ``translated`` is the plain CloudFormation
    the ``AWS::Serverless-2016-10-31`` transform makes of it with these parameter values (`local_stack.sam`).

    Parameters
    ----------
    path : Path
        ``template.yaml``; ``DefinitionUri`` and ``CodeUri`` are relative to its folder.
    parameters : dict[str, str] | None
        Parameter overrides (``{"PollSchedule": "0"}``); unknown names are an error.
    stack_name : str
        Used for ``AWS::StackName`` and for generated physical names.
    region, account_id : str
        Pseudo parameters; they match moto's defaults.

    Raises
    ------
    TemplateError
        On an unknown parameter override, a value outside the parameter's constraints
        (``AllowedValues``, ``AllowedPattern``, ``Min/MaxLength``, ``Min/MaxValue``), an unreadable template, or
        one SAM cannot translate.

    Examples
    --------
    >>> t = Template(Path("template.yaml"), parameters={"PollSchedule": "0"})  # doctest: +SKIP
    >>> [f.module for f in t.functions()]  # doctest: +SKIP
    ['functions.submit.app', 'functions.poll.app', ...]
    """

    def __init__(
        self,
        path: Path,
        parameters: dict[str, str] | None = None,
        *,
        stack_name: str = "poster-local",
        region: str = DEFAULT_REGION,
        account_id: str = DEFAULT_ACCOUNT_ID,
        queue_endpoint: str = "http://localhost:5000",
    ) -> None:
        self.path = path
        self.root = path.parent
        self.stack_name = stack_name
        self.region = region
        self.account_id = account_id
        self.queue_endpoint = queue_endpoint.rstrip("/")
        self.document = sam.load_template_file(path)
        self.resources: dict[str, dict[str, Any]] = dict(self.document.get("Resources") or {})
        declared: dict[str, dict[str, Any]] = dict(self.document.get("Parameters") or {})
        unknown = sorted(set(parameters or {}) - declared.keys())
        if unknown:
            raise TemplateError(f"unknown template parameter(s): {', '.join(unknown)}")
        self.parameter_values: dict[str, str | None] = {}
        for name, spec in declared.items():
            value = (parameters or {}).get(name, spec.get("Default"))
            self.parameter_values[name] = None if value is None else _as_str(value)
            if value is not None:
                _check_parameter(name, spec, _as_str(value))
        overrides = {name: _as_str(value) for name, value in (parameters or {}).items()}
        self.translated = sam.translate(path, overrides, region=region)
        #: The translated template's resources (SAM's replaced by what they become; the others as written).
        self.cfn_resources: dict[str, dict[str, Any]] = dict(self.translated.get("Resources") or {})
        self._conditions: dict[str, bool] = {}
        self._physical: dict[str, _Physical] = {}
        sam_only = {lid: res for lid, res in self.resources.items() if lid not in self.cfn_resources}
        for logical_id, resource in [*self.cfn_resources.items(), *sam_only.items()]:
            if self.resource_enabled(logical_id):
                self._physical[logical_id] = self._predict(logical_id, resource)

    # ------------------------------------------------------------------ resolution

    def pseudo_parameters(self) -> dict[str, str]:
        """Return ``AWS::Region``, ``AWS::AccountId`` and friends."""
        return {
            "AWS::Region": self.region,
            "AWS::AccountId": self.account_id,
            "AWS::StackName": self.stack_name,
            "AWS::StackId": f"arn:aws:cloudformation:{self.region}:{self.account_id}:stack/{self.stack_name}/local",
            "AWS::Partition": "aws",
            "AWS::URLSuffix": "amazonaws.com",
        }

    def set_physical(self, logical_id: str, *, ref: str | None = None, **attributes: str) -> None:
        """Record a value learnt at creation time (a secret ARN, a queue URL).

        Examples
        --------
        >>> template.set_physical("ApiKeySecret", ref=arn, Id=arn)  # doctest: +SKIP
        """
        physical = self._physical[logical_id]
        if ref is not None:
            physical.ref = ref
        physical.attributes.update(attributes)

    def condition(self, name: str) -> bool:
        """Evaluate a named condition of the (translated) ``Conditions`` section."""
        if name not in self._conditions:
            conditions = self.translated.get("Conditions") or self.document.get("Conditions") or {}
            if name not in conditions:
                raise TemplateError(f"unknown condition {name!r}")
            self._conditions[name] = bool(self.resolve(conditions[name]))
        return self._conditions[name]

    def resource_enabled(self, logical_id: str) -> bool:
        """False when the resource (SAM's or a translated one) has a ``Condition`` that evaluates to false."""
        condition = self._resource(logical_id).get("Condition")
        return condition is None or self.condition(condition)

    def _resource(self, logical_id: str) -> dict[str, Any]:
        """The translated resource, or the SAM one for a logical id the transform replaced (a layer)."""
        found = self.cfn_resources.get(logical_id) or self.resources.get(logical_id)
        if found is None:
            raise TemplateError(f"no resource {logical_id!r} in the template")
        return found

    def resolve(self, value: Any) -> Any:
        """Resolve intrinsic functions in ``value`` (dicts/lists are walked recursively).

        ``AWS::NoValue`` removes the key or list item that holds it.

        Raises
        ------
        TemplateError
            On an unsupported function, an unknown reference or a parameter without a value.

        Examples
        --------
        >>> template.resolve({"Fn::Sub": "${AWS::StackName}-in"})  # doctest: +SKIP
        'poster-local-in'
        """
        result = self._resolve(value)
        return None if result is _NO_VALUE else result

    def resolve_str(self, value: Any) -> str:
        """`resolve` and convert the result to a string (numbers, booleans, JSON)."""
        return _as_str(self.resolve(value))

    def _resolve(self, value: Any) -> Any:
        if isinstance(value, list):
            items = [self._resolve(item) for item in value]
            return [item for item in items if item is not _NO_VALUE]
        if not isinstance(value, dict):
            return value
        if len(value) == 1:
            ((key, argument),) = value.items()
            if key == "Ref":
                return self._ref(argument)
            if key == "Condition":
                return self.condition(argument)
            if key.startswith("Fn::"):
                return self._function(key, argument)
        resolved = {k: self._resolve(v) for k, v in value.items()}
        return {k: v for k, v in resolved.items() if v is not _NO_VALUE}

    def _ref(self, name: str) -> Any:
        if name == "AWS::NoValue":
            return _NO_VALUE
        pseudo = self.pseudo_parameters()
        if name in pseudo:
            return pseudo[name]
        if name in self.parameter_values:
            value = self.parameter_values[name]
            if value is None:
                raise TemplateError(f"parameter {name} has no default and no override")
            parameter_type = (self.document.get("Parameters") or {})[name].get("Type", "String")
            if parameter_type == "CommaDelimitedList" or parameter_type.startswith("List<"):
                return [item.strip() for item in value.split(",")]
            return value
        if name in self._physical:
            return self._physical[name].ref
        raise TemplateError(f"Ref to unknown parameter or resource {name!r}")

    def get_att(self, logical_id: str, attribute: str) -> str:
        """Return ``Fn::GetAtt`` of a resource (``Arn``, ``QueueName``, ``Name`` …)."""
        if logical_id not in self._physical:
            raise TemplateError(f"GetAtt on unknown resource {logical_id!r}")
        attributes = self._physical[logical_id].attributes
        if attribute not in attributes:
            raise TemplateError(f"GetAtt {logical_id}.{attribute} is not supported locally")
        return attributes[attribute]

    def _function(self, key: str, argument: Any) -> Any:  # noqa: C901 - one branch per function
        if key == "Fn::GetAtt":
            parts = argument if isinstance(argument, list) else str(argument).split(".", 1)
            return self.get_att(str(parts[0]), str(self._resolve(parts[1])))
        if key == "Fn::Sub":
            return self._sub(argument)
        if key == "Fn::Join":
            separator, items = argument
            return str(separator).join(_as_str(item) for item in self._resolve(items))
        if key == "Fn::Select":
            index, items = argument
            return self._resolve(items)[int(self._resolve(index))]
        if key == "Fn::Split":
            separator, text = argument
            return str(self._resolve(text)).split(str(separator))
        if key == "Fn::If":
            name, if_true, if_false = argument
            return self._resolve(if_true if self.condition(name) else if_false)
        if key == "Fn::Equals":
            left, right = (self._resolve(item) for item in argument)
            return _as_str(left) == _as_str(right)
        if key == "Fn::Not":
            return not self._resolve(argument[0])
        if key == "Fn::And":
            return all(self._resolve(item) for item in argument)
        if key == "Fn::Or":
            return any(self._resolve(item) for item in argument)
        if key == "Fn::FindInMap":
            map_name, top, second = (self._resolve(item) for item in argument[:3])
            try:
                return self.document["Mappings"][map_name][top][second]
            except KeyError as error:
                raise TemplateError(f"FindInMap {map_name}/{top}/{second} not found") from error
        if key == "Fn::ToJsonString":
            return json.dumps(self._resolve(argument))
        if key == "Fn::Length":
            return len(self._resolve(argument))
        raise TemplateError(f"{key} is not supported by the local stack")

    def _sub(self, argument: Any) -> str:
        if isinstance(argument, list):
            text, variables = str(argument[0]), {k: self._resolve(v) for k, v in argument[1].items()}
        else:
            text, variables = str(argument), {}

        def replace(match: re.Match[str]) -> str:
            name = match.group(1).strip()
            if name in variables:
                return _as_str(variables[name])
            if "." in name:
                logical_id, attribute = name.split(".", 1)
                return self.get_att(logical_id, attribute)
            return _as_str(self._ref(name))

        return _SUB_VARIABLE.sub(replace, text).replace("${!", "${")

    # ------------------------------------------------------------------ predicted physical values

    def _property(self, resource: dict[str, Any], name: str) -> str | None:
        value = (resource.get("Properties") or {}).get(name)
        return None if value is None else self.resolve_str(value)

    def _generated_name(self, logical_id: str, *, lower: bool = False, limit: int = 63) -> str:
        name = f"{self.stack_name}-{logical_id}"
        return (name.lower() if lower else name)[:limit]

    def _predict(self, logical_id: str, resource: dict[str, Any]) -> _Physical:
        kind = resource.get("Type", "")
        region, account = self.region, self.account_id
        if kind == "AWS::S3::Bucket":
            name = self._property(resource, "BucketName") or self._generated_name(logical_id, lower=True)
            return _Physical(name, {"Arn": f"arn:aws:s3:::{name}", "DomainName": f"{name}.s3.amazonaws.com"})
        if kind == "AWS::SQS::Queue":
            name = self._property(resource, "QueueName") or self._generated_name(logical_id, limit=80)
            if (resource.get("Properties") or {}).get("FifoQueue") and not name.endswith(".fifo"):
                name += ".fifo"
            url = f"{self.queue_endpoint}/{account}/{name}"
            return _Physical(url, {"Arn": f"arn:aws:sqs:{region}:{account}:{name}", "QueueName": name, "QueueUrl": url})
        if kind in _FUNCTION_TYPES:
            name = self._property(resource, "FunctionName") or self._generated_name(logical_id)
            return _Physical(name, {"Arn": f"arn:aws:lambda:{region}:{account}:function:{name}"})
        if kind in _STATE_MACHINE_TYPES:
            name = self._property(resource, "Name") or self._property(resource, "StateMachineName") or logical_id
            arn = f"arn:aws:states:{region}:{account}:stateMachine:{name}"
            return _Physical(arn, {"Arn": arn, "Name": name})
        if kind == "AWS::SecretsManager::Secret":
            name = self._property(resource, "Name") or self._generated_name(logical_id)
            arn = f"arn:aws:secretsmanager:{region}:{account}:secret:{name}"
            return _Physical(arn, {"Id": arn, "Name": name})
        if kind in _TABLE_TYPES:
            name = self._property(resource, "TableName") or self._generated_name(logical_id, limit=255)
            return _Physical(name, {"Arn": f"arn:aws:dynamodb:{region}:{account}:table/{name}"})
        if kind == "AWS::Events::EventBus":
            name = self._property(resource, "Name") or self._generated_name(logical_id)
            return _Physical(name, {"Arn": f"arn:aws:events:{region}:{account}:event-bus/{name}", "Name": name})
        if kind == "AWS::Serverless::LayerVersion":
            name = self._property(resource, "LayerName") or logical_id
            return _Physical(f"arn:aws:lambda:{region}:{account}:layer:{name}:1", {})
        if kind == "AWS::Events::Rule":
            name = self._property(resource, "Name") or self._generated_name(logical_id, limit=64)
            return _Physical(name, {"Arn": f"arn:aws:events:{region}:{account}:rule/{name}"})
        if kind == "AWS::SNS::Topic":
            name = self._property(resource, "TopicName") or self._generated_name(logical_id)
            arn = f"arn:aws:sns:{region}:{account}:{name}"
            return _Physical(arn, {"TopicName": name, "TopicArn": arn})
        name = self._generated_name(logical_id)
        return _Physical(name, {"Arn": f"arn:aws:local:{region}:{account}:{logical_id}"})

    def physical_ref(self, logical_id: str) -> str:
        """Return what ``Ref`` to a resource gives."""
        return self._physical[logical_id].ref

    # ------------------------------------------------------------------ resources

    def logical_ids(self, *types: str) -> list[str]:
        """Logical ids of the enabled resources of the given types: the SAM document's, then the translated ones.

        ``logical_ids("AWS::Serverless::LayerVersion")`` lists the layers as written, ``logical_ids(
        "AWS::Lambda::Function")`` every function SAM makes; a resource SAM leaves alone is listed once.
        """
        found = dict.fromkeys(lid for lid, res in self.resources.items() if res.get("Type") in types)
        found.update(dict.fromkeys(lid for lid, res in self.cfn_resources.items() if res.get("Type") in types))
        return [lid for lid in found if self.resource_enabled(lid)]

    def _cfn_ids(self, *types: str) -> list[str]:
        """Logical ids of the enabled translated resources of the given types, in the translated order."""
        return [
            lid for lid, res in self.cfn_resources.items() if res.get("Type") in types and self.resource_enabled(lid)
        ]

    def _properties(self, logical_id: str) -> dict[str, Any]:
        return dict(self._resource(logical_id).get("Properties") or {})

    def find_logical_id(self, value: Any) -> str | None:
        """The logical id a ``!GetAtt X.Arn`` / ``!Ref X`` / ARN or name points at (None: not in the template)."""
        if value is None:
            return None
        if isinstance(value, dict) and "Fn::GetAtt" in value:
            target = value["Fn::GetAtt"]
            return str(target[0] if isinstance(target, list) else str(target).split(".", 1)[0])
        if (
            isinstance(value, dict)
            and "Ref" in value
            and (value["Ref"] in self.cfn_resources or value["Ref"] in self.resources)
        ):
            return str(value["Ref"])
        resolved = self.resolve_str(value)
        for logical_id, physical in self._physical.items():
            if resolved in (physical.ref, physical.attributes.get("Arn")):
                return logical_id
        return None

    def _logical_id_of(self, value: Any, what: str) -> str:
        """`find_logical_id`, or a `TemplateError` naming ``what``."""
        found = self.find_logical_id(value)
        if found is None:
            raise TemplateError(f"{what}: {self.resolve_str(value)!r} is not a resource of this template")
        return found

    def buckets(self) -> list[BucketSpec]:
        """The S3 buckets, with versioning and their S3 → SQS notifications."""
        specs = []
        for logical_id in self._cfn_ids("AWS::S3::Bucket"):
            raw_props = self._properties(logical_id)
            props = self.resolve(raw_props)
            versioning = (props.get("VersioningConfiguration") or {}).get("Status") == "Enabled"
            config = props.get("NotificationConfiguration") or {}
            raw_notification = self._chosen_branch(raw_props.get("NotificationConfiguration") or {})
            raw_configs = raw_notification.get("QueueConfigurations") or []
            notifications = []
            for raw, queue_config in zip(raw_configs, config.get("QueueConfigurations") or [], strict=False):
                rules = ((queue_config.get("Filter") or {}).get("S3Key") or {}).get("Rules") or []
                by_name = {str(rule["Name"]).lower(): str(rule["Value"]) for rule in rules}
                event = queue_config["Event"]
                notifications.append(
                    BucketNotification(
                        queue_logical_id=self._logical_id_of(raw["Queue"], f"{logical_id} notification"),
                        queue_arn=str(queue_config["Queue"]),
                        events=tuple(event) if isinstance(event, list) else (str(event),),
                        prefix=by_name.get("prefix"),
                        suffix=by_name.get("suffix"),
                    )
                )
            specs.append(
                BucketSpec(
                    logical_id,
                    self.physical_ref(logical_id),
                    versioning,
                    tuple(notifications),
                    event_bridge_enabled=bool(
                        (config.get("EventBridgeConfiguration") or {}).get(
                            "EventBridgeEnabled", "EventBridgeConfiguration" in config
                        )
                    ),
                )
            )
        return specs

    def _chosen_branch(self, value: Any) -> Any:
        """The branch of a top-level ``Fn::If`` its condition picks (left unresolved inside), else ``value``."""
        if isinstance(value, dict) and set(value) == {"Fn::If"}:
            name, when_true, when_false = value["Fn::If"]
            return self._chosen_branch(when_true if self.condition(name) else when_false)
        return value

    def queues(self) -> list[QueueSpec]:
        """The SQS queues; dead-letter queues come before the queues that use them."""
        specs: list[QueueSpec] = []
        for logical_id in self._cfn_ids("AWS::SQS::Queue"):
            raw = self._properties(logical_id)
            props = self.resolve(raw)
            attributes: dict[str, str] = {}
            for key in (
                "VisibilityTimeout",
                "MessageRetentionPeriod",
                "DelaySeconds",
                "MaximumMessageSize",
                "ReceiveMessageWaitTimeSeconds",
                "FifoQueue",
                "ContentBasedDeduplication",
                "SqsManagedSseEnabled",
                "KmsMasterKeyId",
            ):
                if key in props:
                    attributes[key] = _as_str(props[key])
            dlq_id: str | None = None
            max_receive: int | None = None
            if "RedrivePolicy" in props:
                policy = props["RedrivePolicy"]
                policy = json.loads(policy) if isinstance(policy, str) else policy
                raw_policy = raw["RedrivePolicy"]
                target = raw_policy.get("deadLetterTargetArn") if isinstance(raw_policy, dict) else None
                dlq_id = self._logical_id_of(
                    target if target is not None else policy["deadLetterTargetArn"], f"{logical_id} RedrivePolicy"
                )
                max_receive = int(policy["maxReceiveCount"])
                attributes["RedrivePolicy"] = json.dumps(
                    {"deadLetterTargetArn": str(policy["deadLetterTargetArn"]), "maxReceiveCount": max_receive}
                )
            specs.append(QueueSpec(logical_id, self.get_att(logical_id, "QueueName"), attributes, dlq_id, max_receive))
        return sorted(specs, key=lambda spec: spec.dead_letter_logical_id is not None)

    def secrets(self) -> list[SecretSpec]:
        """The Secrets Manager secrets."""
        return [SecretSpec(lid, self.get_att(lid, "Name")) for lid in self._cfn_ids("AWS::SecretsManager::Secret")]

    def tables(self) -> list[TableSpec]:
        """The DynamoDB tables, with their key schema (SAM gives a SimpleTable hash key ``id`` by default)."""
        specs = []
        for logical_id in self._cfn_ids("AWS::DynamoDB::Table"):
            props = self.resolve(self._properties(logical_id))
            ttl = props.get("TimeToLiveSpecification") or {}
            specs.append(
                TableSpec(
                    logical_id,
                    self.physical_ref(logical_id),
                    tuple({"AttributeName": k["AttributeName"], "KeyType": k["KeyType"]} for k in props["KeySchema"]),
                    tuple(
                        {"AttributeName": a["AttributeName"], "AttributeType": a["AttributeType"]}
                        for a in props["AttributeDefinitions"]
                    ),
                    ttl_attribute=ttl.get("AttributeName") if str(ttl.get("Enabled", "")).lower() == "true" else None,
                )
            )
        return specs

    def event_buses(self) -> list[EventBusSpec]:
        """Custom EventBridge buses declared by the template."""
        return [EventBusSpec(lid, self.physical_ref(lid)) for lid in self._cfn_ids("AWS::Events::EventBus")]

    def functions(self) -> list[FunctionSpec]:
        """Every function SAM makes: handler module and attribute, environment (``Globals`` merged by SAM),
        timeout, memory and SQS event source mappings.

        ``CodeUri: functions/submit/`` (the one value read from the SAM document: the translated ``Code`` is an S3
        location) + ``Handler: app.lambda_handler`` gives module ``functions.submit.app`` and attribute
        ``lambda_handler``.
        """
        sqs_events = self._sqs_event_sources()
        specs = []
        for logical_id in self._cfn_ids("AWS::Lambda::Function"):
            props = self._properties(logical_id)
            code_uri = self._code_uri(logical_id)
            handler = self.resolve_str(props.get("Handler", ""))
            module_part, _, attribute = handler.rpartition(".")
            if not module_part or not attribute:
                raise TemplateError(f"{logical_id}: Handler {handler!r} is not module.function")
            folder = [part for part in Path(code_uri).parts if part not in (".", "")]
            module = ".".join([*folder, *module_part.split("/")]).replace("/", ".")
            spec = FunctionSpec(
                logical_id=logical_id,
                name=self.physical_ref(logical_id),
                arn=self.get_att(logical_id, "Arn"),
                code_uri=code_uri,
                handler=handler,
                module=module,
                attribute=attribute,
                environment=self._variables(props.get("Environment")),
                timeout_seconds=int(self.resolve_str(props.get("Timeout", 3))),
                memory_mb=int(self.resolve_str(props.get("MemorySize", 128))),
                sqs_events=tuple(sqs_events.get(logical_id, ())),
            )
            specs.append(spec)
        return specs

    def _code_uri(self, logical_id: str) -> str:
        """A function's local code folder, from the SAM document (its own ``CodeUri`` or ``Globals``')."""
        resource = self.resources.get(logical_id) or {}
        if resource.get("Type") != "AWS::Serverless::Function":
            return "."
        glob = (self.document.get("Globals") or {}).get("Function") or {}
        return self.resolve_str((resource.get("Properties") or {}).get("CodeUri", glob.get("CodeUri", ".")))

    def function(self, logical_id: str) -> FunctionSpec:
        """One function by logical id."""
        for spec in self.functions():
            if spec.logical_id == logical_id:
                return spec
        raise TemplateError(f"no function {logical_id!r} in the template")

    def _variables(self, environment: Any) -> dict[str, str]:
        if not environment:
            return {}
        variables = self.resolve((environment or {}).get("Variables") or {})
        return {str(k): _as_str(v) for k, v in variables.items() if v is not None}

    def _function_of(self, value: Any, what: str) -> str:
        """The function a ``FunctionName`` names (through an alias or a version SAM made)."""
        logical_id = self._logical_id_of(value, what)
        resource = self._resource(logical_id)
        if resource.get("Type") in ("AWS::Lambda::Alias", "AWS::Lambda::Version"):
            return self._function_of((resource.get("Properties") or {}).get("FunctionName"), what)
        return logical_id

    def _sqs_event_sources(self) -> dict[str, list[SqsEventSpec]]:
        """Function logical id → its SQS event source mappings (``AWS::Lambda::EventSourceMapping`` on a queue)."""
        found: dict[str, list[SqsEventSpec]] = {}
        for logical_id in self._cfn_ids("AWS::Lambda::EventSourceMapping"):
            raw = self._properties(logical_id)
            source = self.find_logical_id(raw.get("EventSourceArn"))
            if source is None:
                if self.resolve_str(raw.get("EventSourceArn")).startswith("arn:aws:sqs:"):
                    self._logical_id_of(raw.get("EventSourceArn"), logical_id)  # a queue of another stack: an error
                continue  # a stream, not a queue
            if self._resource(source).get("Type") != "AWS::SQS::Queue":
                continue
            function_id = self._function_of(raw["FunctionName"], logical_id)
            props = self.resolve(raw)
            scaling = props.get("ScalingConfig") or {}
            found.setdefault(function_id, []).append(
                SqsEventSpec(
                    name=logical_id.removeprefix(function_id) or logical_id,  # SAM: <function><event name>
                    queue_logical_id=source,
                    batch_size=int(props.get("BatchSize", 10)),
                    function_response_types=tuple(str(t) for t in props.get("FunctionResponseTypes") or ()),
                    maximum_concurrency=int(scaling["MaximumConcurrency"]) if "MaximumConcurrency" in scaling else None,
                    maximum_batching_window_seconds=int(props.get("MaximumBatchingWindowInSeconds", 0)),
                    enabled=str(props.get("Enabled", True)).lower() != "false",
                )
            )
        return found

    def rules(self) -> list[RuleSpec]:
        """The EventBridge rules (SAM's ``Schedule`` and ``EventBridgeRule`` events become them), with the
        functions among their targets."""
        specs = []
        for logical_id in self._cfn_ids("AWS::Events::Rule"):
            props = self._properties(logical_id)
            targets = [self.find_logical_id(target.get("Arn")) for target in props.get("Targets") or []]
            schedule = props.get("ScheduleExpression")
            pattern = props.get("EventPattern")

            def of_type(kind: str, targets: list[str | None] = targets) -> tuple[str, ...]:
                return tuple(t for t in targets if t is not None and self._resource(t).get("Type") == kind)

            specs.append(
                RuleSpec(
                    logical_id=logical_id,
                    function_logical_ids=of_type("AWS::Lambda::Function"),
                    queue_logical_ids=of_type("AWS::SQS::Queue"),
                    name=self.physical_ref(logical_id),
                    schedule_expression=None if schedule is None else self.resolve_str(schedule),
                    event_pattern=None if pattern is None else dict(self.resolve(pattern)),
                    enabled=self.resolve_str(props.get("State", "ENABLED")).upper() == "ENABLED",
                )
            )
        return specs

    def state_machines(self) -> list[StateMachineSpec]:
        """The state machines with their resolved ``DefinitionSubstitutions``."""
        specs = []
        for logical_id in self.logical_ids(*_STATE_MACHINE_TYPES):
            props = dict(self.resources.get(logical_id, self._resource(logical_id)).get("Properties") or {})
            uri = props.get("DefinitionUri") or props.get("DefinitionS3Location")
            if isinstance(uri, dict):
                raise TemplateError(f"{logical_id}: DefinitionUri must be a local file for the local stack")
            inline = props.get("Definition")
            if isinstance(inline, str):
                inline = json.loads(inline)
            substitutions = {
                str(k): self.resolve_str(v) for k, v in (props.get("DefinitionSubstitutions") or {}).items()
            }
            specs.append(
                StateMachineSpec(
                    logical_id=logical_id,
                    name=self.get_att(logical_id, "Name"),
                    arn=self.get_att(logical_id, "Arn"),
                    type=self.resolve_str(props.get("Type", "STANDARD")).upper(),
                    definition_path=(self.root / self.resolve_str(uri)) if uri else None,
                    inline_definition=self.resolve(inline) if inline is not None else None,
                    substitutions=substitutions,
                )
            )
        return specs

    def state_machine(self, logical_id: str | None = None) -> StateMachineSpec:
        """The state machine ``logical_id``, or the only one."""
        machines = self.state_machines()
        if logical_id is not None:
            machines = [m for m in machines if m.logical_id == logical_id]
        if len(machines) != 1:
            raise TemplateError(f"expected one state machine, found {[m.logical_id for m in machines]}")
        return machines[0]
