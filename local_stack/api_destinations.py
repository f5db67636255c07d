"""THE one place the local stack emulates EventBridge API destinations (the completion webhook, README "Webhooks").

What moto 5.2.5 lacks: it stores connections and API destinations, but a rule whose target is an API destination
sends, and only with ``events_invoke_http`` set (the local stack leaves it off), a bare request: no body, no
connection auth, no ``InputPath``, no retry, no dead-letter queue, no rate limit, no role check.

How it is emulated, from the translated template (`api_destination_routes`): each enabled ``AWS::Events::Rule``
whose target is an ``AWS::Events::ApiDestination`` becomes an `ApiDestinationRoute` (the rule's bus and pattern; the
target's ``InputPath``, ``RetryPolicy``, ``DeadLetterConfig`` and role; the destination's endpoint, method and rate
limit; the connection's API-key header). `ApiDestinationEmulator.install` then, once the stack's resources exist:

- gives each secret a connection names a fresh generated value (``GenerateSecretString``: `local_stack.resources`
  writes the API key into every secret) and resolves the connection's ``{{resolve:secretsmanager:…}}`` dynamic
  reference once, as CloudFormation does at deploy (the connection keeps that value);
- creates the connection and the destination in moto (describe/list stay truthful);
- puts the rule in moto with its own pattern and bus, its target replaced by a tap queue: moto's pattern matching
  decides what is delivered.

Its thread receives from the tap and delivers each event as EventBridge does: the ``InputPath`` selection
(``$`` or ``$.a.b``) as the JSON body, ``Content-Type: application/json; charset=utf-8``, the API-key header, a 5 s
timeout (API destinations' limit), at most ``InvocationRateLimitPerSecond`` requests per second. A 2xx answer
delivers it; 401, 407, 409, 429, 5xx, a timeout or a connection error is retried with exponential backoff and full
jitter until ``MaximumRetryAttempts`` or ``MaximumEventAgeInSeconds``; any other answer, or a role that may not
``events:InvokeApiDestination`` on the destination (moto's own IAM evaluator on the role's resolved policies), is
not retried. What is not delivered goes to the target's DLQ as EventBridge puts it there: the event as the body and
the attributes ``RULE_ARN``, ``TARGET_ARN``, ``ERROR_CODE``, ``ERROR_MESSAGE``, ``RETRY_ATTEMPTS`` and, when a limit
ended it, ``EXHAUSTED_RETRY_CONDITION`` (locally ``ERROR_CODE`` is ``HTTP_<status>``, ``TIMEOUT``,
``CONNECTION_FAILURE`` or ``NO_PERMISSIONS``). Deliveries trust the public CAs, as EventBridge does;
`ApiDestinationOptions` names another CA bundle (a local receiver's) and shortens the retry policy for tests.

Not emulated: Basic and OAuth connections (refused at start), ``InputTransformer`` and ``HttpParameters``, connection
states (``DEAUTHORIZED`` …), the connection's own ``events!connection/…`` secret, EventBridge holding events beyond
the rate limit (here they wait in order), at-least-once duplicates (here exactly once), private endpoints.
"""

from __future__ import annotations

import heapq
import itertools
import json
import logging
import re
import secrets
import threading
import time
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any

import boto3
import certifi
import requests

from local_stack.background import BackgroundLoop
from local_stack.errors import LocalStackError
from local_stack.iam.policies import policy_allows
from poster_common.retry import full_jitter

if TYPE_CHECKING:
    from local_stack.resources import CreatedResources
    from local_stack.template import Template

__all__ = [
    "ApiDestinationEmulator",
    "ApiDestinationOptions",
    "ApiDestinationRoute",
    "Delivery",
    "RetryPolicy",
    "api_destination_routes",
    "resolve_dynamic_reference",
    "select_input_path",
    "start_api_destinations",
]

_LOG = logging.getLogger(__name__)
#: API destinations answer within 5 s or the call times out (and is retried).
TIMEOUT_SECONDS = 5.0
#: HTTP answers EventBridge retries (every other non-2xx goes to the DLQ at once).
RETRIED_STATUSES = frozenset({401, 407, 409, 429})
_DYNAMIC_REFERENCE = re.compile(r"^\{\{resolve:secretsmanager:(?P<body>.+)\}\}$")
_INPUT_PATH = re.compile(r"^\$(\.[A-Za-z0-9_-]+)*$")


@dataclass(frozen=True)
class RetryPolicy:
    """A target's ``RetryPolicy`` (AWS's defaults: a day, 185 retries) and the emulation's backoff."""

    maximum_event_age_seconds: float = 86400
    maximum_retry_attempts: int = 185
    base_delay_seconds: float = 1.0
    max_delay_seconds: float = 300.0

    def delay(self, retry: int) -> float:
        """Seconds before retry number ``retry`` (1, 2, …): exponential backoff, full jitter."""
        return full_jitter(retry - 1, base=self.base_delay_seconds, cap=self.max_delay_seconds)


@dataclass(frozen=True)
class ApiDestinationRoute:
    """One rule target that is an API destination, with everything a delivery needs (see the module docstring)."""

    rule_logical_id: str
    rule_name: str
    event_bus: str
    event_pattern: dict[str, Any]
    target_id: str
    destination_logical_id: str
    connection_logical_id: str
    endpoint: str
    http_method: str
    rate_limit_per_second: float | None
    api_key_header: str
    api_key_value: str  # as the template gives it: a dynamic reference, or the value itself
    input_path: str | None
    retry: RetryPolicy
    dead_letter_queue_logical_id: str | None
    role_logical_id: str | None


@dataclass(frozen=True)
class ApiDestinationOptions:
    """Local knobs: ``retry`` replaces every target's policy (tests: seconds instead of a day); ``ca_bundle`` is
    what deliveries trust. By default the public CAs (certifi's), as EventBridge: never ``REQUESTS_CA_BUNDLE``, which
    the local stack points at its own certificate for the handlers."""

    retry: RetryPolicy | None = None
    ca_bundle: str | None = None
    poll_seconds: float = 0.1
    timeout_seconds: float = TIMEOUT_SECONDS


@dataclass
class Delivery:
    """What happened to one event: ``DELIVERED`` or ``DEAD_LETTERED``, after how many attempts, and why."""

    event_id: str
    rule_logical_id: str
    status: str = "PENDING"
    attempts: int = 0
    status_codes: list[int | None] = field(default_factory=list)
    error_code: str | None = None
    exhausted_retry_condition: str | None = None


def api_destination_routes(template: Template) -> list[ApiDestinationRoute]:
    """Every enabled rule target that is an API destination (module docstring), read from the translated template.

    Raises
    ------
    LocalStackError
        For what the emulation cannot do faithfully: a connection that is not ``API_KEY``, an ``InputTransformer``,
        ``HttpParameters`` or ``Input``, an ``InputPath`` other than ``$`` / ``$.a.b``.
    """
    routes = []
    for rule_id in template.logical_ids("AWS::Events::Rule"):
        props = (template.cfn_resources.get(rule_id) or {}).get("Properties") or {}
        if template.resolve_str(props.get("State", "ENABLED")).upper() != "ENABLED":
            continue
        for target in props.get("Targets") or []:
            destination_id = template.find_logical_id(target.get("Arn"))
            resource = template.cfn_resources.get(destination_id or "") or {}
            if resource.get("Type") != "AWS::Events::ApiDestination":
                continue
            assert destination_id is not None
            routes.append(_route(template, rule_id, props, target, destination_id))
    return routes


def _route(
    template: Template, rule_id: str, rule: dict[str, Any], target: dict[str, Any], destination_id: str
) -> ApiDestinationRoute:
    where = f"{rule_id} target {target.get('Id')}"
    unsupported = sorted({"InputTransformer", "HttpParameters", "Input"} & target.keys())
    if unsupported:
        raise LocalStackError(f"{where}: {', '.join(unsupported)} is not emulated (local_stack/api_destinations.py)")
    destination = template.resolve(template.cfn_resources[destination_id]["Properties"])
    connection_id = template.find_logical_id(template.cfn_resources[destination_id]["Properties"].get("ConnectionArn"))
    if connection_id is None:
        raise LocalStackError(f"{destination_id}: its ConnectionArn must name a connection of this template")
    connection = template.resolve(template.cfn_resources[connection_id]["Properties"])
    if connection.get("AuthorizationType") != "API_KEY":
        raise LocalStackError(f"{connection_id}: only API_KEY connections are emulated")
    api_key = connection["AuthParameters"]["ApiKeyAuthParameters"]
    input_path = target.get("InputPath")
    if input_path is not None and not _INPUT_PATH.fullmatch(str(input_path)):
        raise LocalStackError(f"{where}: InputPath {input_path!r} is not emulated ($ or $.a.b)")
    retry = template.resolve(target.get("RetryPolicy") or {})
    rate = destination.get("InvocationRateLimitPerSecond")
    return ApiDestinationRoute(
        rule_logical_id=rule_id,
        rule_name=template.physical_ref(rule_id),
        event_bus=template.resolve_str(rule.get("EventBusName", "default")),
        event_pattern=dict(template.resolve(rule.get("EventPattern") or {})),
        target_id=template.resolve_str(target.get("Id")),
        destination_logical_id=destination_id,
        connection_logical_id=connection_id,
        endpoint=str(destination["InvocationEndpoint"]),
        http_method=str(destination.get("HttpMethod", "POST")).upper(),
        rate_limit_per_second=None if rate is None else float(rate),
        api_key_header=str(api_key["ApiKeyName"]),
        api_key_value=str(api_key["ApiKeyValue"]),
        input_path=None if input_path is None else str(input_path),
        retry=RetryPolicy(
            maximum_event_age_seconds=float(retry.get("MaximumEventAgeInSeconds", 86400)),
            maximum_retry_attempts=int(retry.get("MaximumRetryAttempts", 185)),
        ),
        dead_letter_queue_logical_id=template.find_logical_id((target.get("DeadLetterConfig") or {}).get("Arn")),
        role_logical_id=template.find_logical_id(target.get("RoleArn")),
    )


def resolve_dynamic_reference(value: str, get_secret_string: Any) -> str:
    """``{{resolve:secretsmanager:<id>:SecretString[:<json-key>]}}`` → the value, as CloudFormation resolves it
    (``<id>`` a name or a full ARN); any other text is returned as it is.

    Examples
    --------
    >>> resolve_dynamic_reference("{{resolve:secretsmanager:s:SecretString:k}}", lambda _: '{"k": "v"}')
    'v'
    >>> resolve_dynamic_reference("plain", lambda _: "unused")
    'plain'
    """
    match = _DYNAMIC_REFERENCE.fullmatch(value)
    if match is None:
        return value
    parts = match.group("body").split(":")
    width = 7 if parts[0] == "arn" else 1  # arn:aws:secretsmanager:<region>:<account>:secret:<name>
    secret_id, rest = ":".join(parts[:width]), parts[width:]
    if rest and rest[0] not in ("SecretString", ""):
        raise LocalStackError(f"dynamic reference {value!r}: only SecretString is supported")
    text = str(get_secret_string(secret_id))
    json_key = rest[1] if len(rest) > 1 and rest[1] else None
    return text if json_key is None else str(json.loads(text)[json_key])


def select_input_path(event: dict[str, Any], path: str | None) -> Any:
    """The part of ``event`` an ``InputPath`` (``$`` or ``$.a.b``) selects; the whole event without one.

    Examples
    --------
    >>> select_input_path({"detail": {"job_id": "j"}}, "$.detail")
    {'job_id': 'j'}
    """
    selected: Any = event
    for key in (path or "$").split(".")[1:]:
        selected = selected.get(key) if isinstance(selected, dict) else None
    return selected


@dataclass(order=True)
class _Pending:
    due: float
    sequence: int
    route_index: int = field(compare=False)
    event: dict[str, Any] = field(compare=False)
    received: float = field(compare=False)
    delivery: Delivery = field(compare=False)


@dataclass
class _Installed:
    """A route with what `install` learnt: the tap, the key, the ARNs, the DLQ and whether the role allows it."""

    route: ApiDestinationRoute
    retry: RetryPolicy
    tap_url: str
    api_key: str
    rule_arn: str
    destination_arn: str
    dead_letter_url: str | None
    role_allows: bool
    next_slot: float = 0.0

    def rate_limited(self, now: float) -> bool:
        """True while the destination's rate limit leaves no slot free."""
        return self.route.rate_limit_per_second is not None and now < self.next_slot

    def take_slot(self, now: float) -> None:
        if self.route.rate_limit_per_second:
            self.next_slot = max(now, self.next_slot) + 1.0 / self.route.rate_limit_per_second


class ApiDestinationEmulator(BackgroundLoop):
    """The tap and the delivery thread of the module docstring (a context manager once installed).

    Parameters
    ----------
    template : Template
        The running stack's template (its physical values already set by `local_stack.resources`).
    resources : CreatedResources
        Where the DLQ's URL and the secrets' ARNs come from.
    routes : list[ApiDestinationRoute]
        Usually `api_destination_routes` of ``template``.
    session : boto3.Session | None
        EventBridge's own clients (the stack's admin session with ``enforce_iam``).
    options : ApiDestinationOptions | None
        Retry override, CA bundle.

    Attributes
    ----------
    deliveries : list[Delivery]
        One per event, in arrival order.
    secret_values : dict[str, str]
        The generated value of each secret a connection names, by logical id.
    """

    thread_name = "api-destinations"

    def __init__(
        self,
        template: Template,
        resources: CreatedResources,
        routes: list[ApiDestinationRoute],
        *,
        session: Any = None,
        options: ApiDestinationOptions | None = None,
    ) -> None:
        super().__init__()
        self.template = template
        self.resources = resources
        self.routes = routes
        self.options = options or ApiDestinationOptions()
        self.deliveries: list[Delivery] = []
        self.secret_values: dict[str, str] = {}
        self._session = session or boto3.session.Session()
        self._installed: list[_Installed] = []
        self._pending: list[_Pending] = []
        self._sequence = itertools.count()
        self._http = requests.Session()
        self._lock = threading.Lock()

    # ------------------------------------------------------------------ set-up

    def install(self) -> ApiDestinationEmulator:
        """Secrets, connection, destination, the rule and its tap in moto (module docstring)."""
        sqs = self._session.client("sqs")
        events = self._session.client("events")
        secretsmanager = self._session.client("secretsmanager")
        self._generate_secrets(secretsmanager)
        for route in self.routes:
            api_key = resolve_dynamic_reference(
                route.api_key_value,
                lambda secret_id: secretsmanager.get_secret_value(SecretId=secret_id)["SecretString"],
            )
            connection_arn = events.create_connection(
                Name=self.template.physical_ref(route.connection_logical_id),
                AuthorizationType="API_KEY",
                AuthParameters={"ApiKeyAuthParameters": {"ApiKeyName": route.api_key_header, "ApiKeyValue": api_key}},
            )["ConnectionArn"]
            self.template.set_physical(route.connection_logical_id, Arn=connection_arn)
            arguments: dict[str, Any] = {
                "Name": self.template.physical_ref(route.destination_logical_id),
                "ConnectionArn": connection_arn,
                "InvocationEndpoint": route.endpoint,
                "HttpMethod": route.http_method,
            }
            if route.rate_limit_per_second is not None:
                arguments["InvocationRateLimitPerSecond"] = int(route.rate_limit_per_second)
            destination_arn = events.create_api_destination(**arguments)["ApiDestinationArn"]
            self.template.set_physical(route.destination_logical_id, Arn=destination_arn)
            tap_name = f"{route.rule_name}-tap"[:80]
            tap_url = sqs.create_queue(QueueName=tap_name)["QueueUrl"]
            tap_arn = sqs.get_queue_attributes(QueueUrl=tap_url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
            rule_arn = events.put_rule(
                Name=route.rule_name, EventBusName=route.event_bus, EventPattern=json.dumps(route.event_pattern)
            )["RuleArn"]
            self.template.set_physical(route.rule_logical_id, Arn=rule_arn)
            events.put_targets(
                Rule=route.rule_name, EventBusName=route.event_bus, Targets=[{"Id": route.target_id, "Arn": tap_arn}]
            )
            dlq = route.dead_letter_queue_logical_id
            self._installed.append(
                _Installed(
                    route=route,
                    retry=self.options.retry or route.retry,
                    tap_url=tap_url,
                    api_key=api_key,
                    rule_arn=rule_arn,
                    destination_arn=destination_arn,
                    dead_letter_url=self.resources.queue_urls.get(dlq) if dlq else None,
                    role_allows=self._role_allows(route, destination_arn),
                )
            )
        return self

    def _generate_secrets(self, secretsmanager: Any) -> None:
        """A fresh value for each secret a connection's dynamic reference names (``GenerateSecretString``)."""
        for route in self.routes:
            for logical_id, arn in self.resources.secret_arns.items():
                if logical_id in self.secret_values or arn not in self.template.resolve_str(route.api_key_value):
                    continue
                value = secrets.token_urlsafe(36).replace("-", "A").replace("_", "B")  # ExcludePunctuation
                secretsmanager.put_secret_value(SecretId=arn, SecretString=value)
                self.secret_values[logical_id] = value

    def _role_allows(self, route: ApiDestinationRoute, destination_arn: str) -> bool:
        """Whether the target's role may ``events:InvokeApiDestination`` on the destination (its inline policies)."""
        if route.role_logical_id is None:
            return False
        role = self.template.cfn_resources.get(route.role_logical_id) or {}
        documents = [
            self.template.resolve(p["PolicyDocument"]) for p in (role.get("Properties") or {}).get("Policies", [])
        ]
        return policy_allows(documents, "events:InvokeApiDestination", destination_arn)

    # ------------------------------------------------------------------ thread

    def stop(self, timeout: float = 30.0) -> None:
        super().stop(timeout)
        self._http.close()

    def _run(self) -> None:
        sqs = self._session.client("sqs")
        while not self._stop.is_set():
            try:
                self._receive(sqs)
                self._deliver_due(sqs)
            except Exception:  # the thread must outlive one bad round
                _LOG.warning("api destination emulation round failed", exc_info=True)
            wait = self.options.poll_seconds
            if self._pending:
                wait = min(wait, max(0.0, self._pending[0].due - time.monotonic()))
            self._stop.wait(wait)

    def _receive(self, sqs: Any) -> None:
        for index, installed in enumerate(self._installed):
            answer = sqs.receive_message(QueueUrl=installed.tap_url, MaxNumberOfMessages=10, WaitTimeSeconds=0)
            for message in answer.get("Messages", []):
                event = json.loads(message["Body"])
                delivery = Delivery(event_id=str(event.get("id", "")), rule_logical_id=installed.route.rule_logical_id)
                with self._lock:
                    self.deliveries.append(delivery)
                now = time.monotonic()
                heapq.heappush(self._pending, _Pending(now, next(self._sequence), index, event, now, delivery))
                sqs.delete_message(QueueUrl=installed.tap_url, ReceiptHandle=message["ReceiptHandle"])

    def _deliver_due(self, sqs: Any) -> None:
        while self._pending and self._pending[0].due <= time.monotonic() and not self._stop.is_set():
            pending = heapq.heappop(self._pending)
            installed = self._installed[pending.route_index]
            now = time.monotonic()
            if installed.rate_limited(now):  # its turn comes at the next free slot, in order
                heapq.heappush(self._pending, replace(pending, due=installed.next_slot))
                continue
            self._attempt(sqs, installed, pending)

    def _attempt(self, sqs: Any, installed: _Installed, pending: _Pending) -> None:
        delivery = pending.delivery
        if not installed.role_allows:
            self._dead_letter(sqs, installed, pending, "NO_PERMISSIONS", "the target's role may not invoke it", None)
            return
        installed.take_slot(time.monotonic())
        delivery.attempts += 1
        status, code, message, retried = self._post(installed, pending.event)
        delivery.status_codes.append(status)
        if code == "OK":
            delivery.status = "DELIVERED"
            return
        retry = installed.retry
        if not retried:
            self._dead_letter(sqs, installed, pending, code, message, None)
            return
        retries_done = delivery.attempts - 1
        if retries_done >= retry.maximum_retry_attempts:
            self._dead_letter(sqs, installed, pending, code, message, "MaximumRetryAttempts")
            return
        due = time.monotonic() + retry.delay(retries_done + 1)
        if due - pending.received > retry.maximum_event_age_seconds:
            self._dead_letter(sqs, installed, pending, code, message, "MaximumEventAgeInSeconds")
            return
        heapq.heappush(self._pending, replace(pending, due=due, sequence=next(self._sequence)))

    def _post(self, installed: _Installed, event: dict[str, Any]) -> tuple[int | None, str, str, bool]:
        """One request: its HTTP status (None without an answer), then ``"OK"`` or the error code, its message and
        whether EventBridge retries it."""
        route = installed.route
        body = json.dumps(select_input_path(event, route.input_path), ensure_ascii=False).encode()
        headers = {"Content-Type": "application/json; charset=utf-8", route.api_key_header: installed.api_key}
        verify = self.options.ca_bundle or certifi.where()  # requests' own CA bundle
        try:
            answer = self._http.request(
                route.http_method,
                route.endpoint,
                data=body,
                headers=headers,
                timeout=self.options.timeout_seconds,
                verify=verify,
                allow_redirects=False,
            )
        except requests.Timeout as error:
            return None, "TIMEOUT", str(error)[:1024], True
        except requests.RequestException as error:
            return None, "CONNECTION_FAILURE", str(error)[:1024], True
        status = answer.status_code
        if 200 <= status < 300:
            return status, "OK", "", False
        retried = status in RETRIED_STATUSES or status >= 500
        return status, f"HTTP_{status}", answer.text[:1024], retried

    def _dead_letter(
        self,
        sqs: Any,
        installed: _Installed,
        pending: _Pending,
        code: str,
        message: str,
        exhausted: str | None,
    ) -> None:
        delivery = pending.delivery
        delivery.status, delivery.error_code, delivery.exhausted_retry_condition = "DEAD_LETTERED", code, exhausted
        _LOG.warning(
            "%s: event %s not delivered (%s, %d attempts)",
            installed.route.rule_logical_id,
            delivery.event_id,
            code,
            delivery.attempts,
        )
        if installed.dead_letter_url is None:
            return  # dropped, as EventBridge drops it without a DLQ
        attributes = {
            "RULE_ARN": installed.rule_arn,
            "TARGET_ARN": installed.destination_arn,
            "ERROR_CODE": code,
            "ERROR_MESSAGE": message or code,
            "RETRY_ATTEMPTS": str(max(0, delivery.attempts - 1)),
        }
        if exhausted is not None:
            attributes["EXHAUSTED_RETRY_CONDITION"] = exhausted
        sqs.send_message(
            QueueUrl=installed.dead_letter_url,
            MessageBody=json.dumps(pending.event, ensure_ascii=False),
            MessageAttributes={k: {"DataType": "String", "StringValue": v} for k, v in attributes.items()},
        )

    def wait_for(self, predicate: Any, timeout: float = 30.0) -> list[Delivery]:
        """The deliveries once ``predicate(deliveries)`` holds (polled), or a `TimeoutError`."""
        deadline = time.monotonic() + timeout
        while True:
            with self._lock:
                snapshot = list(self.deliveries)
            if predicate(snapshot):
                return snapshot
            if time.monotonic() > deadline:
                raise TimeoutError(f"api destination deliveries did not reach the expected state: {snapshot}")
            time.sleep(0.05)


def start_api_destinations(
    template: Template,
    resources: CreatedResources,
    *,
    session: Any = None,
    options: ApiDestinationOptions | None = None,
) -> ApiDestinationEmulator | None:
    """Install and start the emulation when the template has API destination targets (else None: nothing to do)."""
    routes = api_destination_routes(template)
    if not routes:
        return None
    return ApiDestinationEmulator(template, resources, routes, session=session, options=options).install().start()
