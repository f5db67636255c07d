"""moto's IAM enforcement, switched on for the running stack and completed where moto 5.2.5 falls short.

moto checks a request's signature and the caller's policies once ``INITIAL_NO_AUTH_ACTION_COUNT``
requests have been served (``moto.core.authorization.ActionAuthenticatorMixin``; the default, infinity,
means never). `MotoIamEnforcement.install` sets it to 0 through ``/moto-api/reset-auth`` and
`MotoIamEnforcement.uninstall` restores the previous value, so other stacks in the process are
unaffected. moto alone would refuse calls AWS allows, or allow nothing at all, in four places;
each is completed here rather than relaxed:

1. **Resources.** moto authorises S3 (bucket / key) and SQS (queue) requests against their resource,
   every other service against ``"*"``, which no resource-scoped statement matches. `iam_authorisations`
   names the resource AWS authorises: the DynamoDB table (``…/index/<name>`` for an index), the
   Secrets Manager secret's full ARN (a name is looked up in moto), the state machine or execution,
   each event bus of a ``PutEvents``, the Lambda function.
2. **Actions.** moto uses the operation name as the IAM action. Where AWS differs, the IAM action is
   used: ``lambda:Invoke`` is authorised as ``lambda:InvokeFunction``; a DynamoDB transaction as each
   of its items (``PutItem``, ``UpdateItem``, ``DeleteItem``, ``ConditionCheckItem``, ``GetItem``);
   SQS batches as their single-message action; an S3 ``HEAD`` of a version as ``s3:GetObjectVersion``.
3. **Presigned URLs.** A presigned S3 request carries its signature in the query, and moto expects an
   ``Authorization`` header (a ``KeyError``: HTTP 500). It is authorised as AWS does: the signer's
   access key and session token, the signature recomputed over the query (``X-Amz-Signature``
   left out), the expiry, then the signer's policies. A request with neither is refused (no
   public access).
4. **Step Functions.** moto's interpreter invokes Lambda over HTTP with the fixed key ``ak``; it signs
   with the state machine's role session instead (`local_stack.iam`), looked up by the role ARN the
   state machine was created with.

Every decision (principal, action, resource, allowed) is kept in `MotoIamEnforcement.decisions` (the
latest `MAX_DECISIONS`; `MotoIamEnforcement.totals` counts them all).
"""

from __future__ import annotations

import hmac
import json
import logging
import re
import threading
import urllib.request
from collections import Counter, deque
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qs, parse_qsl, unquote, urlsplit

import boto3
from botocore.auth import HmacV1QueryAuth, S3SigV4QueryAuth
from botocore.awsrequest import AWSRequest, HTTPHeaders
from botocore.config import Config

if TYPE_CHECKING:
    from collections.abc import Callable, Mapping

    from local_stack.iam import IamRoles

__all__ = ["MAX_DECISIONS", "Decision", "MotoIamEnforcement", "QuerySignature", "iam_authorisations"]

#: Decisions kept in detail (a stack left running for days keeps bounded memory).
MAX_DECISIONS = 200_000

_LOG = logging.getLogger(__name__)

#: Operation → IAM action, where they differ (and the operation is authorised once).
_IAM_ACTIONS = {
    "lambda:Invoke": "lambda:InvokeFunction",
    "sqs:SendMessageBatch": "sqs:SendMessage",
    "sqs:DeleteMessageBatch": "sqs:DeleteMessage",
    "sqs:ChangeMessageVisibilityBatch": "sqs:ChangeMessageVisibility",
}
_TRANSACTION_ITEMS = {
    "Put": "dynamodb:PutItem",
    "Update": "dynamodb:UpdateItem",
    "Delete": "dynamodb:DeleteItem",
    "ConditionCheck": "dynamodb:ConditionCheckItem",
    "Get": "dynamodb:GetItem",
}
_STATES_RESOURCE_KEYS = ("stateMachineArn", "executionArn", "activityArn", "resourceArn", "mapRunArn")
_LAMBDA_FUNCTION = re.compile(r"/functions/([^/?]+)")


@dataclass(frozen=True)
class Decision:
    """One authorisation moto made: who, which IAM action on which resource, and the answer."""

    principal: str
    action: str
    resource: str
    allowed: bool
    presigned: bool = False  # signed in the URL's query (a presigned S3 URL), not by an AWS client

    @property
    def service(self) -> str:
        """``s3`` for ``s3:GetObject``."""
        return self.action.split(":", 1)[0]


def iam_authorisations(
    action: str,
    resource: str,
    *,
    region: str,
    account: str,
    path: str = "/",
    body: bytes | str | None = None,
    secret_arn: Callable[[str], str | None] = lambda secret_id: None,
) -> list[tuple[str, str]]:
    """The (IAM action, resource ARN) pairs AWS authorises for one request.

    Parameters
    ----------
    action : str
        ``service:Operation`` as moto names it (``dynamodb:TransactWriteItems``, ``lambda:Invoke``).
    resource : str
        The resource moto determined (``"*"`` when it did not).
    region, account : str
        Of the request.
    path : str
        The request path and query (the Lambda function is in it).
    body : bytes | str | None
        The request body (JSON for DynamoDB, Secrets Manager, Step Functions, EventBridge).
    secret_arn : Callable[[str], str | None]
        Finds a secret's full ARN from its name or partial ARN.

    Examples
    --------
    >>> body = '{"TransactItems": [{"Put": {"TableName": "t"}}, {"Delete": {"TableName": "j"}}]}'
    >>> for pair in iam_authorisations("dynamodb:TransactWriteItems", "*", region="us-east-1", account="1", body=body):
    ...     print(pair)
    ('dynamodb:PutItem', 'arn:aws:dynamodb:us-east-1:1:table/t')
    ('dynamodb:DeleteItem', 'arn:aws:dynamodb:us-east-1:1:table/j')
    >>> iam_authorisations("lambda:Invoke", "*", region="us-east-1", account="1",
    ...                    path="/2015-03-31/functions/poll/invocations")
    [('lambda:InvokeFunction', 'arn:aws:lambda:us-east-1:1:function:poll')]
    >>> iam_authorisations("sqs:DeleteMessageBatch", "arn:aws:sqs:us-east-1:1:q", region="us-east-1", account="1")
    [('sqs:DeleteMessage', 'arn:aws:sqs:us-east-1:1:q')]
    """
    service, _, operation = action.partition(":")
    named = _IAM_ACTIONS.get(action, action)
    if resource != "*":
        return [(named, resource)]
    params = _json(body) if service in ("dynamodb", "secretsmanager", "states", "events") else {}
    if service == "dynamodb":
        return _dynamodb(operation, params, region, account)
    resources = _resources(service, operation, params, path, region, account, secret_arn)
    return [(named, arn) for arn in resources] if resources is not None else [(named, resource)]


def _resources(
    service: str,
    operation: str,
    params: dict[str, Any],
    path: str,
    region: str,
    account: str,
    secret_arn: Callable[[str], str | None],
) -> list[str] | None:
    """The resource ARNs a Secrets Manager, Step Functions, EventBridge or Lambda request names (None: not found)."""
    if service == "secretsmanager" and "SecretId" in params:
        secret_id = str(params["SecretId"])
        if secret_id.startswith("arn:"):
            return [secret_arn(secret_id) or secret_id]
        return [secret_arn(secret_id) or f"arn:aws:secretsmanager:{region}:{account}:secret:{secret_id}"]
    if service == "states":
        key = next((k for k in _STATES_RESOURCE_KEYS if params.get(k)), None)
        return [str(params[key]) if key else "*"]
    if service == "events" and operation == "PutEvents":
        buses = sorted({str(entry.get("EventBusName") or "default") for entry in params.get("Entries", [])})
        return [_event_bus_arn(bus, region, account) for bus in buses or ["default"]]
    if service == "lambda":
        match = _LAMBDA_FUNCTION.search(path)
        if match:
            return [_function_arn(unquote(match.group(1)), path, region, account)]
    return None


def _json(body: bytes | str | None) -> dict[str, Any]:
    try:
        parsed = json.loads(body or b"{}")
    except ValueError:
        return {}
    return parsed if isinstance(parsed, dict) else {}


def _table_arn(table: str, region: str, account: str, index: str | None = None) -> str:
    arn = table if table.startswith("arn:") else f"arn:aws:dynamodb:{region}:{account}:table/{table}"
    return f"{arn}/index/{index}" if index else arn


def _dynamodb(operation: str, params: dict[str, Any], region: str, account: str) -> list[tuple[str, str]]:
    if operation in ("TransactWriteItems", "TransactGetItems"):
        found = []
        for item in params.get("TransactItems", []):
            for kind, request in item.items():
                found.append((_TRANSACTION_ITEMS[kind], _table_arn(str(request["TableName"]), region, account)))
        return found
    if operation in ("BatchWriteItem", "BatchGetItem"):
        return [(f"dynamodb:{operation}", _table_arn(t, region, account)) for t in params.get("RequestItems", {})]
    if "TableName" in params:
        arn = _table_arn(str(params["TableName"]), region, account, params.get("IndexName"))
        return [(f"dynamodb:{operation}", arn)]
    return [(f"dynamodb:{operation}", "*")]


def _event_bus_arn(bus: str, region: str, account: str) -> str:
    return bus if bus.startswith("arn:") else f"arn:aws:events:{region}:{account}:event-bus/{bus}"


def _function_arn(function: str, path: str, region: str, account: str) -> str:
    arn = function if function.startswith("arn:") else f"arn:aws:lambda:{region}:{account}:function:{function}"
    qualifier = dict(parse_qsl(urlsplit(path).query)).get("Qualifier")
    return f"{arn}:{qualifier}" if qualifier and arn.count(":") == 6 else arn


class MotoIamEnforcement:
    """Switch moto's IAM enforcement on for one stack, with the completions of the module docstring.

    Parameters
    ----------
    endpoint : str
        The moto server (``/moto-api/reset-auth`` is posted there).
    roles : IamRoles
        Whose sessions the Step Functions interpreter signs with.

    Examples
    --------
    >>> enforcement = MotoIamEnforcement(stack.moto_endpoint, roles).install()  # doctest: +SKIP
    >>> enforcement.uninstall()  # doctest: +SKIP
    """

    _active: MotoIamEnforcement | None = None
    _lock = threading.Lock()

    def __init__(self, endpoint: str, roles: IamRoles) -> None:
        self.endpoint = endpoint
        self.roles = roles
        self.decisions: deque[Decision] = deque(maxlen=MAX_DECISIONS)
        self.totals: Counter[tuple[str, str, bool]] = Counter()  # (principal, action, allowed) → decisions
        self._decisions_lock = threading.Lock()
        self._previous_count = "inf"
        self._undo: list[Callable[[], None]] = []

    @property
    def installed(self) -> bool:
        """True while this enforcement is on."""
        return MotoIamEnforcement._active is self

    def record(self, decision: Decision) -> None:
        """Keep one decision (called from moto's request threads)."""
        with self._decisions_lock:
            self.decisions.append(decision)
            self.totals[decision.principal, decision.action, decision.allowed] += 1

    def snapshot(self) -> list[Decision]:
        """The decisions so far (the latest `MAX_DECISIONS`)."""
        with self._decisions_lock:
            return list(self.decisions)

    def install(self) -> MotoIamEnforcement:
        """Patch moto (request classes, the interpreter's Lambda client) and switch enforcement on.

        Raises
        ------
        RuntimeError
            If another enforcement is installed.
        """
        with MotoIamEnforcement._lock:
            if MotoIamEnforcement._active is not None:
                raise RuntimeError("moto's IAM enforcement is already installed by another stack")
            MotoIamEnforcement._active = self
        try:
            self._patch_request_classes()
            self._patch_interpreter()
            self._previous_count = self._reset_auth("0")
        except BaseException:
            self.uninstall()
            raise
        return self

    def uninstall(self) -> None:
        """Switch enforcement back to what it was and undo the patches (a no-op when not installed)."""
        if MotoIamEnforcement._active is not self:
            return
        try:
            self._reset_auth(self._previous_count)
        except OSError:
            _LOG.warning("could not restore moto's INITIAL_NO_AUTH_ACTION_COUNT", exc_info=True)
        while self._undo:
            self._undo.pop()()
        with MotoIamEnforcement._lock:
            MotoIamEnforcement._active = None

    def _reset_auth(self, count: str) -> str:
        """POST ``/moto-api/reset-auth``; return the previous ``INITIAL_NO_AUTH_ACTION_COUNT``."""
        request = urllib.request.Request(
            f"{self.endpoint}/moto-api/reset-auth",
            data=count.encode(),
            method="POST",
            headers={"Content-Type": "text/plain"},  # a form content type would hide the body from moto
        )
        with urllib.request.urlopen(request, timeout=5) as response:
            answer = json.loads(response.read())
        return str(answer["PREVIOUS_INITIAL_NO_AUTH_ACTION_COUNT"])

    def _patch_request_classes(self) -> None:
        from moto.iam import access_control

        original_normal, original_s3 = access_control.IAMRequest, access_control.S3IAMRequest
        normal, s3 = _request_classes(self)
        setattr(access_control, "IAMRequest", normal)  # noqa: B010 - patching on purpose
        setattr(access_control, "S3IAMRequest", s3)  # noqa: B010
        self._undo.append(lambda: setattr(access_control, "IAMRequest", original_normal))
        self._undo.append(lambda: setattr(access_control, "S3IAMRequest", original_s3))

    def _patch_interpreter(self) -> None:
        from moto.core.models import botocore_stubber
        from moto.settings import moto_server_port
        from moto.stepfunctions.parser.asl.component.common.timeouts.timeout import TimeoutSeconds
        from moto.stepfunctions.parser.asl.component.state.exec.state_task import lambda_eval_utils

        original = getattr(lambda_eval_utils, "boto_client_for")  # noqa: B009 - imported there, not exported
        roles = self.roles
        timeout = TimeoutSeconds.DEFAULT_TIMEOUT_SECONDS

        def boto_client_for(region: str, service: str, state_credentials: Any = None) -> Any:
            owner = roles.owner_of_role(str(getattr(state_credentials, "role_arn", "") or ""))
            role = roles.handler_sessions.get(owner) if owner else None
            if role is None or botocore_stubber.enabled:
                return original(region, service, state_credentials)
            # moto's own client (moto.stepfunctions.parser.asl.utils.boto_client), with the role's credentials.
            return boto3.session.Session().client(  # type: ignore[call-overload]
                service,
                region_name=region,
                endpoint_url=f"http://localhost:{moto_server_port()}",
                aws_access_key_id=role.access_key,
                aws_secret_access_key=role.secret_key,
                aws_session_token=role.token,
                config=Config(
                    parameter_validation=False,
                    retries={"max_attempts": 0, "total_max_attempts": 1},
                    connect_timeout=timeout,
                    read_timeout=timeout,
                ),
            )

        setattr(lambda_eval_utils, "boto_client_for", boto_client_for)  # noqa: B010
        self._undo.append(lambda: setattr(lambda_eval_utils, "boto_client_for", original))


def _request_classes(enforcement: MotoIamEnforcement) -> tuple[type, type]:
    """Subclasses of moto's ``IAMRequest`` / ``S3IAMRequest`` that complete moto and record decisions."""
    return _scoped_request_class(enforcement), _presigned_request_class(enforcement)


def _checked(
    enforcement: MotoIamEnforcement,
    request: Any,
    check: Callable[[str], None],
    action: str,
    resource: str,
    *,
    presigned: bool = False,
) -> None:
    """Run moto's check of ``action`` on ``resource`` for ``request``'s caller; record the decision."""
    principal = str(request._access_key.arn)
    request._action = action
    try:
        check(resource)
    except Exception:
        enforcement.record(Decision(principal, action, resource, allowed=False, presigned=presigned))
        raise
    enforcement.record(Decision(principal, action, resource, allowed=True, presigned=presigned))


def _scoped_request_class(enforcement: MotoIamEnforcement) -> type:
    from moto.iam.access_control import IAMRequest

    class ScopedIAMRequest(IAMRequest):
        """Authorise the IAM action(s) on the resource(s) AWS would (module docstring, 1 and 2)."""

        def check_action_permitted(self, resource: str) -> None:
            pairs = iam_authorisations(
                self._action,
                resource,
                region=self._region,
                account=self.account_id,
                path=self._path,
                body=self._body,
                secret_arn=lambda secret_id: _secret_arn(self.account_id, self._region, secret_id),
            )
            for action, arn in pairs:
                _checked(enforcement, self, super().check_action_permitted, action, arn)

    return ScopedIAMRequest


def _presigned_request_class(enforcement: MotoIamEnforcement) -> type:
    from moto.iam.access_control import S3IAMRequest
    from moto.s3.exceptions import S3AccessDeniedError
    from werkzeug.datastructures import Headers

    class PresignedS3IAMRequest(S3IAMRequest):
        """Authorise presigned (query-signed) requests too (module docstring, 2 and 3)."""

        def __init__(
            self, account_id: str, method: str, path: str, data: Any, body: Any, headers: Any, action: str
        ) -> None:
            self._query_signature: QuerySignature | None = None
            if "Authorization" not in headers:
                signature = QuerySignature.parse(path)
                if signature is None:
                    raise S3AccessDeniedError()  # anonymous: the buckets grant no public access
                headers = Headers(list(headers.items()))
                headers["Authorization"] = signature.authorization_header()
                if signature.token is not None:
                    headers["X-Amz-Security-Token"] = signature.token
                self._query_signature = signature
            if method == "HEAD" and action == "GetObject" and "versionId" in parse_qs(urlsplit(path).query):
                action = "GetObjectVersion"
            super().__init__(account_id, method, path, data, body, headers, action)

        def check_signature(self) -> None:
            signature = self._query_signature
            if signature is None:
                super().check_signature()
                return
            if datetime.now(UTC) > signature.expires_at:
                self._raise_access_denied()  # AWS: AccessDenied, "Request has expired"
            credentials = self._access_key.create_credentials()
            if not signature.matches(credentials, self._method, self._path, self._headers):
                self._raise_signature_does_not_match()

        def check_action_permitted(self, resource: str) -> None:
            presigned = self._query_signature is not None
            _checked(enforcement, self, super().check_action_permitted, self._action, resource, presigned=presigned)

    return PresignedS3IAMRequest


@dataclass(frozen=True)
class QuerySignature:
    """The signature a presigned S3 URL carries in its query: SigV4 (``X-Amz-*``) or SigV2 (``Signature``).

    botocore presigns ``get_object`` with SigV2 unless the client's ``signature_version`` says ``s3v4``.

    Examples
    --------
    >>> import boto3
    >>> from botocore.config import Config
    >>> from botocore.credentials import Credentials
    >>> for version in ("s3", "s3v4"):
    ...     s3 = boto3.client("s3", region_name="us-east-1", endpoint_url="http://localhost:1",
    ...                       aws_access_key_id="ASIA1", aws_secret_access_key="secret", aws_session_token="t",
    ...                       config=Config(signature_version=version, s3={"addressing_style": "path"}))
    ...     url = s3.generate_presigned_url("get_object", Params={"Bucket": "b", "Key": "a b/ü.jpg"})
    ...     signature = QuerySignature.parse(url.removeprefix("http://localhost:1"))
    ...     right = Credentials("ASIA1", "secret", "t")
    ...     wrong = Credentials("ASIA1", "other", "t")
    ...     path, host = url.removeprefix("http://localhost:1"), {"Host": "localhost:1"}
    ...     print(signature.version, signature.access_key, signature.matches(right, "GET", path, host),
    ...           signature.matches(wrong, "GET", path, host))
    2 ASIA1 True False
    4 ASIA1 True False
    """

    version: int
    access_key: str
    signature: str
    expires_at: datetime
    token: str | None
    query: dict[str, str]

    @classmethod
    def parse(cls, path: str) -> QuerySignature | None:
        """The signature in ``path``'s query (path and raw query), or None when it carries none."""
        query = dict(parse_qsl(urlsplit(path).query, keep_blank_values=True))
        try:
            if "X-Amz-Signature" in query:
                signed_at = datetime.strptime(query["X-Amz-Date"], "%Y%m%dT%H%M%SZ").replace(tzinfo=UTC)
                return cls(
                    4,
                    query["X-Amz-Credential"].split("/", 1)[0],
                    query["X-Amz-Signature"],
                    signed_at + timedelta(seconds=int(query["X-Amz-Expires"])),
                    query.get("X-Amz-Security-Token"),
                    query,
                )
            if "Signature" in query:
                return cls(
                    2,
                    query["AWSAccessKeyId"],
                    query["Signature"],
                    datetime.fromtimestamp(int(query["Expires"]), UTC),
                    query.get("x-amz-security-token"),
                    query,
                )
        except (KeyError, ValueError):
            return None
        return None

    def authorization_header(self) -> str:
        """A SigV4-shaped ``Authorization`` header naming the signer, so moto can find its principal.

        moto reads the access key, the region (only the partition matters for S3) and the service from it.
        """
        if self.version == 4:
            return (
                f"AWS4-HMAC-SHA256 Credential={self.query['X-Amz-Credential']}, "
                f"SignedHeaders={self.query.get('X-Amz-SignedHeaders', 'host')}, Signature={self.signature}"
            )
        day = self.expires_at.strftime("%Y%m%d")
        return f"AWS4-HMAC-SHA256 Credential={self.access_key}/{day}/us-east-1/s3/aws4_request, Signature=v2"

    def matches(self, credentials: Any, method: str, path: str, headers: Mapping[str, str]) -> bool:
        """True when ``credentials`` produce this signature for the request (``path``: path and raw query)."""
        expected = (
            self._v4(credentials, method, path, headers) if self.version == 4 else self._v2(credentials, method, path)
        )
        return hmac.compare_digest(expected, self.signature)

    def _v4(self, credentials: Any, method: str, path: str, headers: Mapping[str, str]) -> str:
        bare_path, _, raw_query = path.partition("?")
        unsigned = "&".join(part for part in raw_query.split("&") if not part.startswith("X-Amz-Signature="))
        signed = [name for name in self.query.get("X-Amz-SignedHeaders", "host").split(";") if name != "host"]
        request = AWSRequest(
            method=method,
            url=f"http://{headers.get('Host', '')}{bare_path}?{unsigned}",
            headers={name: headers.get(name, "") for name in signed},
        )
        request.context["timestamp"] = self.query["X-Amz-Date"]
        scope = self.query["X-Amz-Credential"].split("/")
        auth = S3SigV4QueryAuth(credentials, scope[3], scope[2], expires=int(self.query["X-Amz-Expires"]))
        canonical = auth.canonical_request(request)
        return str(auth.signature(auth.string_to_sign(request, canonical), request))

    def _v2(self, credentials: Any, method: str, path: str) -> str:
        expires = self.query["Expires"]

        class AtExpiry(HmacV1QueryAuth):
            def _get_date(self) -> str:
                return expires

        # The signed x-amz-* / Content-* headers travel in the query (the token is added from the credentials).
        headers: Any = HTTPHeaders()  # like botocore's: deleting an absent header is no error
        for name, value in self.query.items():
            lower = name.lower()
            if (lower.startswith("x-amz-") and lower != "x-amz-security-token") or lower in (
                "content-md5",
                "content-type",
            ):
                headers[lower] = value
        return str(AtExpiry(credentials).get_signature(method, urlsplit(path), headers))


def _secret_arn(account: str, region: str, secret_id: str) -> str | None:
    from moto.secretsmanager.models import secretsmanager_backends

    secret = secretsmanager_backends[account][region].secrets.get(secret_id)
    return str(secret.arn) if secret is not None else None
