"""Each function's handler signs its AWS calls with exactly its own role's credentials.

On AWS every function runs in its own environment, whose ``AWS_ACCESS_KEY_ID`` / ``AWS_SECRET_ACCESS_KEY`` /
``AWS_SESSION_TOKEN`` are a session of its execution role. Locally the handlers share one process,
one ``os.environ`` and the clients that ``poster_common.aws.client`` and Powertools cache; so the
credentials are chosen per *call* instead:

- `IamRoles` creates, with administrator credentials and before moto's enforcement is on, an IAM user
  for the stack itself (`ADMIN_USER`: set-up, the test harness, the emulated EventBridge rules, the SQS
  emulation's local retry shortcut) and one IAM role per function and per state machine, named after
  SAM's generated role, with exactly the policies aws-sam-translator expands from the template
  (`local_stack.iam.policies`);
  then it assumes each role with STS three times: the session its handler runs with (session name =
  the function's logical id), the one the emulated SQS event source polls with (``<logical id>-event-source``:
  on AWS the mapping uses the function's role) and one for callers outside the stack
  (``<logical id>-external``: tests probing what a role may do, without mixing their refusals into the
  record of what the handler did).
- `run_as` wraps a handler so that `RUNNING_ROLE`, a context variable, holds its role session while it
  runs (worker threads inherit it: `IamRoles.install` makes ``ThreadPoolExecutor.submit`` carry the
  submitter's context, as S3 transfers sign from worker threads).
- `IamRoles.install` wraps ``botocore.session.Session.get_credentials``: credentials found in the
  environment (botocore's ``env`` provider, what a handler's plain ``boto3`` client uses) become a
  `RunningRoleCredentials`, whose values are those of `RUNNING_ROLE` when a handler is running, and
  the environment's otherwise. Credentials given explicitly (the stack's admin clients, moto's own
  clients) are untouched.

The environment keeps dummy credentials that moto does not know: a call signed outside any handler
with them is refused once enforcement is on (`local_stack.iam.enforcement`).
"""

from __future__ import annotations

import contextvars
import json
import threading
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import boto3
import botocore.session
from botocore.credentials import Credentials, ReadOnlyCredentials
from botocore.exceptions import NoCredentialsError

from local_stack.iam.policies import RolePolicies, managed_policy_document, role_policies

if TYPE_CHECKING:
    from collections.abc import Callable

    from local_stack.lambda_seam import Handler
    from local_stack.template import Template

__all__ = [
    "ADMIN_USER",
    "RUNNING_ROLE",
    "AdminCredentials",
    "IamRoles",
    "RoleSession",
    "RunningRoleCredentials",
    "run_as",
]

ADMIN_USER = "local-stack-admin"
_ADMIN_POLICY = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]}
_SESSION_SECONDS = 3600  # moto never expires a session; AWS's default for AssumeRole


@dataclass(frozen=True)
class AdminCredentials:
    """The access key of `ADMIN_USER` (an IAM user allowed everything)."""

    arn: str
    access_key: str
    secret_key: str

    def session(self, region: str = "us-east-1") -> boto3.session.Session:
        """A boto3 session signing with this key (endpoints from ``AWS_ENDPOINT_URL``)."""
        return boto3.session.Session(
            aws_access_key_id=self.access_key, aws_secret_access_key=self.secret_key, region_name=region
        )


@dataclass(frozen=True)
class RoleSession:
    """One STS session of a role (what ``AssumeRole`` returned)."""

    owner: str
    role_arn: str
    session_name: str
    access_key: str
    secret_key: str
    token: str

    @property
    def arn(self) -> str:
        """The principal moto sees: ``arn:aws:sts::<account>:assumed-role/<role name>/<session name>``."""
        account = self.role_arn.split(":")[4]
        return f"arn:aws:sts::{account}:assumed-role/{self.role_arn.rsplit('/', 1)[-1]}/{self.session_name}"

    def frozen(self) -> ReadOnlyCredentials:
        """The credentials as botocore signs with them."""
        return ReadOnlyCredentials(self.access_key, self.secret_key, self.token)

    def session(self, region: str = "us-east-1") -> boto3.session.Session:
        """A boto3 session signing with this role session (endpoints from ``AWS_ENDPOINT_URL``)."""
        return boto3.session.Session(
            aws_access_key_id=self.access_key,
            aws_secret_access_key=self.secret_key,
            aws_session_token=self.token,
            region_name=region,
        )


#: The role session of the handler running in this context (None outside the handlers).
RUNNING_ROLE: contextvars.ContextVar[RoleSession | None] = contextvars.ContextVar("running_role", default=None)


def run_as(role: RoleSession, handler: Handler) -> Handler:
    """``handler`` running with `RUNNING_ROLE` set to ``role``.

    Examples
    --------
    >>> role = RoleSession("Fn", "arn:aws:iam::123456789012:role/r", "Fn", "ASIA1", "s", "t")
    >>> run_as(role, lambda event, context: RUNNING_ROLE.get().owner)({}, None)
    'Fn'
    """

    def run(event: Any, context: Any) -> Any:
        token = RUNNING_ROLE.set(role)
        try:
            return handler(event, context)
        finally:
            RUNNING_ROLE.reset(token)

    return run


class RunningRoleCredentials(Credentials):
    """Credentials whose values are the running handler's role session's, else ``fallback``'s.

    botocore reads them at every signature (``get_frozen_credentials``), so one cached client signs
    each call with the credentials of the function that makes it.

    Examples
    --------
    >>> credentials = RunningRoleCredentials(Credentials("env-key", "env-secret"))
    >>> credentials.access_key
    'env-key'
    >>> role = RoleSession("Fn", "arn:aws:iam::123456789012:role/r", "Fn", "ASIA1", "s", "t")
    >>> run_as(role, lambda event, context: credentials.access_key)({}, None)
    'ASIA1'
    """

    def __init__(self, fallback: Credentials | None) -> None:  # no super().__init__: nothing is stored
        self._fallback = fallback
        self.method = "local-stack-running-role"

    def get_frozen_credentials(self) -> ReadOnlyCredentials:
        role = RUNNING_ROLE.get()
        if role is not None:
            return role.frozen()
        if self._fallback is None:
            raise NoCredentialsError()
        return self._fallback.get_frozen_credentials()

    @property
    def access_key(self) -> str:
        return str(self.get_frozen_credentials().access_key)

    @access_key.setter
    def access_key(self, value: str) -> None:
        raise AttributeError("RunningRoleCredentials are read-only")

    @property
    def secret_key(self) -> str:
        return str(self.get_frozen_credentials().secret_key)

    @secret_key.setter
    def secret_key(self, value: str) -> None:
        raise AttributeError("RunningRoleCredentials are read-only")

    @property
    def token(self) -> str | None:
        return self.get_frozen_credentials().token

    @token.setter
    def token(self, value: str | None) -> None:
        raise AttributeError("RunningRoleCredentials are read-only")

    @property
    def account_id(self) -> str | None:
        return None


def _versioned(document: dict[str, Any]) -> str:
    """The document as JSON, with ``Version: 2012-10-17`` when it has none (see `IamRoles.put_policies`)."""
    if "Version" in document:
        return json.dumps(document)
    text = json.dumps(document)
    if "${" in text:
        raise ValueError(f"a policy without Version uses a policy variable, which 2012-10-17 would expand: {text}")
    return json.dumps({"Version": "2012-10-17", **document})


def _role_name(stack_name: str, role_logical_id: str) -> str:
    """CloudFormation names a generated role ``<stack>-<logical id>-<suffix>``; IAM allows 64 characters."""
    return f"{stack_name}-{role_logical_id}"[:64]


@dataclass
class IamRoles:
    """The admin user, one role per function and state machine, and their STS sessions.

    Parameters
    ----------
    template : Template
        Whose roles to create (aws-sam-translator expands its policies).
    stack_name : str
        Role names are ``<stack_name>-<generated role's logical id>``.

    Attributes
    ----------
    admin : AdminCredentials | None
        After `create_admin`.
    role_arns : dict[str, str]
        Owner logical id → role ARN, after `create_roles`.
    policies : dict[str, RolePolicies]
        Owner logical id → the policies given to its role, after `put_policies`.
    handler_sessions, event_source_sessions, external_sessions : dict[str, RoleSession]
        Owner logical id → the session its handler signs with / its event source polls with / for
        outside callers, after `assume`.
    """

    template: Template
    stack_name: str
    admin: AdminCredentials | None = None
    role_arns: dict[str, str] = field(default_factory=dict)
    policies: dict[str, RolePolicies] = field(default_factory=dict)
    handler_sessions: dict[str, RoleSession] = field(default_factory=dict)
    event_source_sessions: dict[str, RoleSession] = field(default_factory=dict)
    external_sessions: dict[str, RoleSession] = field(default_factory=dict)
    _undo: list[Callable[[], None]] = field(default_factory=list)

    # ------------------------------------------------------------------ set-up (enforcement still off)

    def create_admin(self, session: boto3.session.Session) -> AdminCredentials:
        """Create `ADMIN_USER` (allowed everything) and an access key for it."""
        iam: Any = session.client("iam")
        user = iam.create_user(UserName=ADMIN_USER)["User"]
        iam.put_user_policy(UserName=ADMIN_USER, PolicyName="everything", PolicyDocument=json.dumps(_ADMIN_POLICY))
        key = iam.create_access_key(UserName=ADMIN_USER)["AccessKey"]
        self.admin = AdminCredentials(str(user["Arn"]), str(key["AccessKeyId"]), str(key["SecretAccessKey"]))
        return self.admin

    def create_roles(self, session: boto3.session.Session) -> dict[str, str]:
        """Create each generated role with its trust policy (the policies come once resources exist)."""
        iam: Any = session.client("iam")
        for owner, role in role_policies(self.template).items():
            name = _role_name(self.stack_name, role.role_logical_id)
            created = iam.create_role(RoleName=name, AssumeRolePolicyDocument=json.dumps(role.trust_policy))
            self.role_arns[owner] = str(created["Role"]["Arn"])
        return dict(self.role_arns)

    def put_policies(self, session: boto3.session.Session) -> None:
        """Give each role exactly its expanded policies, resolved now that physical ARNs are known.

        The inline documents keep SAM's names (``SubmitFunctionRolePolicy0`` …); each AWS-managed
        policy becomes an inline copy named after it (moto loads no AWS-managed policies by default).
        A document without ``Version`` (the template's ``Statement`` blocks) gets ``2012-10-17``: IAM
        reads it as ``2008-10-17``, which differs only in policy variables, and moto refuses it.

        Raises
        ------
        ValueError
            If a document without ``Version`` uses a policy variable (``${aws:…}``): its meaning would change.
        """
        iam: Any = session.client("iam")
        self.policies = role_policies(self.template)
        for owner, role in self.policies.items():
            name = self.role_arns[owner].rsplit("/", 1)[-1]
            documents = dict(zip(role.inline_names, role.inline, strict=True))
            for arn in role.managed_arns:
                documents[arn.rsplit("/", 1)[-1]] = managed_policy_document(arn)
            for policy_name, document in documents.items():
                iam.put_role_policy(RoleName=name, PolicyName=policy_name, PolicyDocument=_versioned(document))

    def assume(self, session: boto3.session.Session) -> None:
        """Assume every role three times: the handler's, the event source's and the external session."""
        sts: Any = session.client("sts")
        for owner, role_arn in self.role_arns.items():
            for sessions, name in (
                (self.handler_sessions, owner),
                (self.event_source_sessions, f"{owner}-event-source"),
                (self.external_sessions, f"{owner}-external"),
            ):
                found = sts.assume_role(RoleArn=role_arn, RoleSessionName=name, DurationSeconds=_SESSION_SECONDS)
                credentials = found["Credentials"]
                sessions[owner] = RoleSession(
                    owner,
                    role_arn,
                    name,
                    str(credentials["AccessKeyId"]),
                    str(credentials["SecretAccessKey"]),
                    str(credentials["SessionToken"]),
                )

    def handler_session(self, owner: str) -> RoleSession:
        """The session ``owner``'s handler (or state machine) signs with.

        Raises
        ------
        KeyError
            If the template gives ``owner`` no generated role (an explicit ``Role``).
        """
        try:
            return self.handler_sessions[owner]
        except KeyError:
            raise KeyError(f"{owner} has no role generated from the template's Policies") from None

    def owner_of_role(self, role_arn: str) -> str | None:
        """The function or state machine a role ARN belongs to."""
        return next((owner for owner, arn in self.role_arns.items() if arn == role_arn), None)

    # ------------------------------------------------------------------ while running

    def install(self) -> None:
        """Let environment credentials follow the running handler, and worker threads inherit its context."""
        original_get_credentials = botocore.session.Session.get_credentials
        original_submit = ThreadPoolExecutor.submit

        def get_credentials(session: botocore.session.Session) -> Credentials | None:
            found = original_get_credentials(session)
            if found is not None and getattr(found, "method", None) != "env":
                return found
            return RunningRoleCredentials(found)

        def submit(executor: ThreadPoolExecutor, fn: Any, /, *args: Any, **kwargs: Any) -> Any:
            return original_submit(executor, contextvars.copy_context().run, fn, *args, **kwargs)

        with _install_lock:
            setattr(botocore.session.Session, "get_credentials", get_credentials)  # noqa: B010 - patching on purpose
            setattr(ThreadPoolExecutor, "submit", submit)  # noqa: B010
        self._undo.append(lambda: setattr(botocore.session.Session, "get_credentials", original_get_credentials))
        self._undo.append(lambda: setattr(ThreadPoolExecutor, "submit", original_submit))

    def uninstall(self) -> None:
        """Undo `install` (a no-op when not installed)."""
        with _install_lock:
            while self._undo:
                self._undo.pop()()

    def credentials_in_use(self) -> dict[str, str]:
        """Every secret part of the credentials handed out (for leak scans): label → value."""
        found: dict[str, str] = {}
        if self.admin is not None:
            found["admin secret key"] = self.admin.secret_key
        for kind, sessions in (
            ("handler", self.handler_sessions),
            ("event source", self.event_source_sessions),
            ("external", self.external_sessions),
        ):
            for owner, role in sessions.items():
                found[f"{owner} {kind} secret key"] = role.secret_key
                found[f"{owner} {kind} session token"] = role.token
        return found


_install_lock = threading.Lock()
