"""Create, over HTTP with boto3, what the template declares (plus the local observation queue).

Order matters because the template's values reference each other: queues before the bucket
notification that targets them, the secret before the environments that name it, functions before
the state machine whose definition carries their ARNs. Values only known after creation (queue URLs,
the secret ARN, the state machine ARN) are written back into the `Template` with `set_physical`.
"""

from __future__ import annotations

import io
import json
import secrets
import zipfile
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import boto3

if TYPE_CHECKING:
    from collections.abc import Mapping

    from local_stack.template import Template

__all__ = ["EVENTS_QUEUE_NAME", "EVENTS_SOURCE", "CreatedResources", "create_resources", "dummy_api_key"]

#: The queue that receives every event with source `EVENTS_SOURCE` from the pipeline's bus.
EVENTS_QUEUE_NAME = "poster-events"
EVENTS_SOURCE = "poster-pipeline"
_ROLE_NAME = "poster-local-stack-role"
_TRUST_POLICY = json.dumps(
    {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Allow",
                "Action": "sts:AssumeRole",
                "Principal": {"Service": ["lambda.amazonaws.com", "states.amazonaws.com"]},
            }
        ],
    }
)


def dummy_api_key() -> str:
    """A fresh, recognisable fake API key (``sk-local-<32 hex>``) that tests scan for leaks."""
    return f"sk-local-{secrets.token_hex(16)}"


@dataclass
class CreatedResources:
    """What `create_resources` made, by logical id where the template names it."""

    buckets: dict[str, str] = field(default_factory=dict)
    queue_urls: dict[str, str] = field(default_factory=dict)
    queue_arns: dict[str, str] = field(default_factory=dict)
    secret_arns: dict[str, str] = field(default_factory=dict)
    tables: dict[str, str] = field(default_factory=dict)
    function_arns: dict[str, str] = field(default_factory=dict)
    state_machine_arns: dict[str, str] = field(default_factory=dict)
    role_arn: str = ""
    api_key: str = ""
    events_queue_url: str = ""
    events_rule_name: str = ""


def _dummy_zip() -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("app.py", "def lambda_handler(event, context):\n    return event\n")
    return buffer.getvalue()


def create_resources(
    template: Template,
    *,
    api_key: str | None = None,
    event_bus_name: str = "default",
    environment_overrides: dict[str, str] | None = None,
    session: Any = None,
    role_arns: Mapping[str, str] | None = None,
) -> CreatedResources:
    """Create every resource the local run needs; clients honour ``AWS_ENDPOINT_URL``.

    Parameters
    ----------
    template : Template
        The parsed template; its physical values are updated with what creation returned.
    api_key : str | None
        The secret's value (default: `dummy_api_key`).
    event_bus_name : str
        The bus that gets the rule routing source ``poster-pipeline`` to the ``poster-events`` queue.
    environment_overrides : dict[str, str] | None
        Merged over each function's template environment in its Lambda configuration (informative
        only: the handlers run in this process and read ``os.environ``).
    session : boto3.Session | None
        Where clients come from (default: a new session from the environment).
    role_arns : Mapping[str, str] | None
        Function / state machine logical id → its execution role (`local_stack.iam`); the others get
        one shared role that nothing checks.

    Returns
    -------
    CreatedResources

    Raises
    ------
    botocore.exceptions.ClientError
        If moto rejects a call.

    Examples
    --------
    >>> created = create_resources(Template(Path("template.yaml")))  # doctest: +SKIP
    >>> created.buckets["InputBucket"]  # doctest: +SKIP
    'poster-local-input-123456789012-us-east-1'
    """
    session = session or boto3.session.Session()
    created = CreatedResources(api_key=api_key or dummy_api_key())
    iam = session.client("iam")
    created.role_arn = iam.create_role(RoleName=_ROLE_NAME, AssumeRolePolicyDocument=_TRUST_POLICY)["Role"]["Arn"]
    _create_queues(template, session.client("sqs"), created)
    _create_buckets(template, session.client("s3"), created)
    _create_secrets(template, session.client("secretsmanager"), created)
    _create_tables(template, session.client("dynamodb"), created)
    events = session.client("events")
    for bus in template.event_buses():
        events.create_event_bus(Name=bus.name)
    roles = dict(role_arns or {})
    _create_functions(template, session.client("lambda"), created, environment_overrides or {}, roles)
    _create_state_machines(template, session.client("stepfunctions"), created, roles)
    _create_events_route(session.client("sqs"), events, created, event_bus_name)
    _create_queue_rules(template, events, created)
    return created


def _create_queues(template: Template, sqs: Any, created: CreatedResources) -> None:
    for queue in template.queues():  # dead-letter queues first
        url = sqs.create_queue(QueueName=queue.name, Attributes=queue.attributes)["QueueUrl"]
        arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
        template.set_physical(queue.logical_id, ref=url, QueueUrl=url, Arn=arn)
        created.queue_urls[queue.logical_id] = url
        created.queue_arns[queue.logical_id] = arn


def _create_buckets(template: Template, s3: Any, created: CreatedResources) -> None:
    for bucket in template.buckets():
        s3.create_bucket(Bucket=bucket.name)
        created.buckets[bucket.logical_id] = bucket.name
        if bucket.versioned:
            s3.put_bucket_versioning(Bucket=bucket.name, VersioningConfiguration={"Status": "Enabled"})
        configurations = []
        for notification in bucket.notifications:
            rules = [
                {"Name": name, "Value": value}
                for name, value in (("prefix", notification.prefix), ("suffix", notification.suffix))
                if value is not None
            ]
            configuration: dict[str, Any] = {
                "QueueArn": created.queue_arns[notification.queue_logical_id],
                "Events": list(notification.events),
            }
            if rules:
                configuration["Filter"] = {"Key": {"FilterRules": rules}}
            configurations.append(configuration)
        if configurations or bucket.event_bridge_enabled:
            notification_configuration: dict[str, Any] = {"QueueConfigurations": configurations}
            if bucket.event_bridge_enabled:
                notification_configuration["EventBridgeConfiguration"] = {}
            s3.put_bucket_notification_configuration(
                Bucket=bucket.name, NotificationConfiguration=notification_configuration
            )


def _create_secrets(template: Template, client: Any, created: CreatedResources) -> None:
    for secret in template.secrets():
        arn = client.create_secret(Name=secret.name, SecretString=created.api_key)["ARN"]
        template.set_physical(secret.logical_id, ref=arn, Id=arn)
        created.secret_arns[secret.logical_id] = arn


def _create_tables(template: Template, client: Any, created: CreatedResources) -> None:
    for table in template.tables():
        client.create_table(
            TableName=table.name,
            KeySchema=list(table.key_schema),
            AttributeDefinitions=list(table.attribute_definitions),
            BillingMode="PAY_PER_REQUEST",
        )
        if table.ttl_attribute:
            client.update_time_to_live(
                TableName=table.name, TimeToLiveSpecification={"Enabled": True, "AttributeName": table.ttl_attribute}
            )
        created.tables[table.logical_id] = table.name


def _create_functions(
    template: Template, client: Any, created: CreatedResources, overrides: dict[str, str], roles: dict[str, str]
) -> None:
    # moto's Docker-less backend routes Invoke without looking the function up, but creating it keeps
    # list-functions / get-function truthful and makes the ARNs in the definition real.
    code = _dummy_zip()
    for function in template.functions():
        variables = {**function.environment, **overrides}
        response = client.create_function(
            FunctionName=function.name,
            Runtime="python3.12",
            Role=roles.get(function.logical_id, created.role_arn),
            Handler=function.handler,
            Code={"ZipFile": code},
            Timeout=function.timeout_seconds,
            MemorySize=function.memory_mb,
            Environment={"Variables": variables},
        )
        template.set_physical(function.logical_id, ref=function.name, Arn=response["FunctionArn"])
        created.function_arns[function.logical_id] = response["FunctionArn"]


def _create_state_machines(template: Template, client: Any, created: CreatedResources, roles: dict[str, str]) -> None:
    for machine in template.state_machines():
        response = client.create_state_machine(
            name=machine.name,
            definition=machine.definition(),
            roleArn=roles.get(machine.logical_id, created.role_arn),
            type=machine.type,
        )
        arn = response["stateMachineArn"]
        template.set_physical(machine.logical_id, ref=arn, Arn=arn)
        created.state_machine_arns[machine.logical_id] = arn


def _create_queue_rules(template: Template, events: Any, created: CreatedResources) -> None:
    """The template's rules that target queues (jobs from EventBridge): moto matches and delivers these itself."""
    for rule in template.rules():
        if not rule.queue_logical_ids:
            continue
        events.put_rule(
            Name=rule.name,
            EventPattern=json.dumps(rule.event_pattern),
            State="ENABLED" if rule.enabled else "DISABLED",
        )
        targets = [{"Id": logical_id, "Arn": created.queue_arns[logical_id]} for logical_id in rule.queue_logical_ids]
        events.put_targets(Rule=rule.name, Targets=targets)


def _create_events_route(sqs: Any, events: Any, created: CreatedResources, bus: str) -> None:
    url = sqs.create_queue(QueueName=EVENTS_QUEUE_NAME)["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    created.events_rule_name = "poster-local-events"
    events.put_rule(
        Name=created.events_rule_name, EventBusName=bus, EventPattern=json.dumps({"source": [EVENTS_SOURCE]})
    )
    events.put_targets(Rule=created.events_rule_name, EventBusName=bus, Targets=[{"Id": "events-queue", "Arn": arn}])
    created.events_queue_url = url
