"""THE one seam: route moto's Lambda ``invoke`` to the real handlers, in this process.

With ``{"lambda": {"use_docker": false}}`` moto uses ``LambdaSimpleBackend``, whose ``invoke`` only
echoes. `LambdaSeam.install` replaces that one method; every ``lambda:Invoke`` that reaches the moto
server (from a state machine Task or a boto3 client) then calls the registered handler with the
decoded JSON payload and a fake Lambda context. A handler exception becomes a function error
(``x-amz-function-error: Unhandled`` and an ``{"errorType", "errorMessage"}`` body), so Step Functions
matches the exception class name in ``Retry`` / ``Catch`` exactly as on AWS.
"""

from __future__ import annotations

import json
import logging
import threading
import time
import uuid
from collections import Counter
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from typing import Any

__all__ = ["FakeLambdaContext", "Handler", "LambdaSeam", "LambdaTarget"]

_LOG = logging.getLogger(__name__)

#: A Lambda handler: ``(event, context) -> result``.
Handler = Callable[[Any, Any], Any]


@dataclass(frozen=True)
class LambdaTarget:
    """What one function name (or ARN) routes to."""

    name: str
    arn: str
    handler: Handler
    environment: Mapping[str, str] = field(default_factory=dict)
    timeout_seconds: int = 3
    memory_mb: int = 128


class FakeLambdaContext:
    """The attributes of ``awslambdaric``'s context object that handlers and Powertools read.

    Examples
    --------
    >>> ctx = FakeLambdaContext("fn", "arn:aws:lambda:us-east-1:123456789012:function:fn", 128, 3)
    >>> 0 < ctx.get_remaining_time_in_millis() <= 3000
    True
    """

    def __init__(
        self,
        function_name: str,
        invoked_function_arn: str,
        memory_mb: int,
        timeout_seconds: int,
        aws_request_id: str | None = None,
    ) -> None:
        self.function_name = function_name
        self.function_version = "$LATEST"
        self.invoked_function_arn = invoked_function_arn
        self.memory_limit_in_mb = memory_mb
        self.aws_request_id = aws_request_id or str(uuid.uuid4())
        self.log_group_name = f"/aws/lambda/{function_name}"
        self.log_stream_name = f"local/[$LATEST]{uuid.uuid4().hex}"
        self.identity = None
        self.client_context = None
        self._deadline = time.monotonic() + timeout_seconds

    def get_remaining_time_in_millis(self) -> int:
        """Milliseconds left before the function's ``Timeout`` (never negative)."""
        return max(0, int((self._deadline - time.monotonic()) * 1000))


def _function_key(function_name: str) -> str:
    """``arn:aws:lambda:r:a:function:name[:qualifier]`` or ``name[:qualifier]`` → ``name``."""
    if function_name.startswith("arn:"):
        parts = function_name.split(":")
        return parts[6] if len(parts) > 6 else function_name
    return function_name.split(":", 1)[0]


class LambdaSeam:
    """A registry of handlers plus the patch of ``LambdaSimpleBackend.invoke``.

    Use it as a context manager (install on enter, uninstall on exit) or call `install` /
    `uninstall`. Only one seam can be installed at a time.

    Examples
    --------
    >>> seam = LambdaSeam()
    >>> seam.register(LambdaTarget("poll", "arn:aws:lambda:us-east-1:123456789012:function:poll",
    ...                            lambda event, context: {"ok": True}))
    >>> with seam:
    ...     pass  # lambda:Invoke of "poll" on the moto server now runs the handler
    """

    _active: LambdaSeam | None = None
    _lock = threading.Lock()

    def __init__(self) -> None:
        self._targets: dict[str, LambdaTarget] = {}
        self._original: Any = None
        self.invocations: list[tuple[str, bool]] = []  # (function name, succeeded)
        self._count_lock = threading.Lock()

    def record(self, function_name: str, succeeded: bool) -> None:
        """Count one invocation (the seam's own, and those `counted` targets make)."""
        with self._count_lock:
            self.invocations.append((function_name, succeeded))

    def counts(self) -> Counter[str]:
        """Invocations per function name so far: state machine Tasks, event sources, emulated rules."""
        with self._count_lock:
            return Counter(name for name, _ in self.invocations)

    def counted(self, target: LambdaTarget) -> LambdaTarget:
        """``target`` whose handler is counted here too (for triggers that do not go through moto)."""
        handler = target.handler

        def counting(event: Any, context: Any) -> Any:
            try:
                result = handler(event, context)
            except Exception:
                self.record(target.name, False)
                raise
            self.record(target.name, True)
            return result

        return replace(target, handler=counting)

    def register(self, target: LambdaTarget) -> None:
        """Route ``target.name`` (and its ARN, with or without a qualifier) to ``target.handler``."""
        self._targets[target.name] = target

    def target(self, function_name: str) -> LambdaTarget | None:
        """The target registered for a name or ARN, if any."""
        return self._targets.get(_function_key(function_name))

    @property
    def installed(self) -> bool:
        """True while this seam is patched into moto."""
        return LambdaSeam._active is self

    def install(self) -> None:
        """Patch ``moto.awslambda_simple.models.LambdaSimpleBackend.invoke``.

        Raises
        ------
        RuntimeError
            If another seam is already installed.
        """
        from moto.awslambda_simple.models import LambdaSimpleBackend

        with LambdaSeam._lock:
            if LambdaSeam._active is not None:
                raise RuntimeError("a LambdaSeam is already installed")
            self._original = LambdaSimpleBackend.invoke
            seam = self

            def invoke(
                backend: Any, function_name: str, qualifier: str | None, body: Any, headers: Any, response_headers: Any
            ) -> bytes:
                return seam.invoke(function_name, qualifier, body, headers, response_headers)

            setattr(LambdaSimpleBackend, "invoke", invoke)  # noqa: B010 - patching a method on purpose
            LambdaSeam._active = self

    def uninstall(self) -> None:
        """Restore moto's original ``invoke`` (a no-op when not installed)."""
        from moto.awslambda_simple.models import LambdaSimpleBackend

        with LambdaSeam._lock:
            if LambdaSeam._active is not self:
                return
            setattr(LambdaSimpleBackend, "invoke", self._original)  # noqa: B010
            LambdaSeam._active = None

    def __enter__(self) -> LambdaSeam:
        self.install()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.uninstall()

    def invoke(
        self, function_name: str, qualifier: str | None, body: Any, headers: Any, response_headers: dict[str, str]
    ) -> bytes:
        """Run the registered handler; the return value is the Lambda response payload.

        Parameters
        ----------
        function_name : str
            Name or ARN, as moto decoded it from the request path.
        qualifier : str | None
            Ignored: every version routes to the same handler.
        body : bytes | str | None
            The JSON payload.
        headers : Any
            The request headers (unused).
        response_headers : dict[str, str]
            Receives ``x-amz-function-error`` on failure.

        Returns
        -------
        bytes
            The handler's JSON result, or ``{"errorType", "errorMessage"}`` on an exception.
        """
        target = self.target(function_name)
        if target is None:
            response_headers["x-amz-function-error"] = "Unhandled"
            return self._error("ResourceNotFoundException", f"no local handler for {function_name}")
        raw = body.decode("utf-8") if isinstance(body, bytes) else (body or "")
        context = FakeLambdaContext(target.name, target.arn, target.memory_mb, target.timeout_seconds)
        try:
            event = json.loads(raw) if raw.strip() else {}
            result = target.handler(event, context)
            payload = json.dumps(result).encode("utf-8")
        except Exception as error:
            _LOG.warning("local lambda %s raised %s", target.name, type(error).__name__, exc_info=True)
            self.record(target.name, False)
            response_headers["x-amz-function-error"] = "Unhandled"
            return self._error(type(error).__name__, str(error))
        self.record(target.name, True)
        return payload

    @staticmethod
    def _error(error_type: str, message: str) -> bytes:
        return json.dumps({"errorType": error_type, "errorMessage": message}).encode("utf-8")
