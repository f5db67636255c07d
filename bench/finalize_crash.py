"""The burst's Finalize crash: one Finalize killed by its timeout right after writing its first object.

`FinalizeCrash` is two explicit hooks, no patched class: the Finalize handler override the local stack takes
(``LocalStack(handlers={"FinalizeFunction": crash})``), which arms the crash for the invocations it picks, and the
object store the domain builds (`poster_common.services.store_factory`), a `CrashingStore` whose ``put_stream``
raises once armed, after the object is written.
"""

from __future__ import annotations

import importlib
import threading
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

from poster_common import services
from poster_common.storage import S3ObjectStore

if TYPE_CHECKING:
    from collections.abc import Iterator

    from mypy_boto3_s3.client import S3Client

    from local_stack.lambda_seam import Handler

__all__ = ["CrashingStore", "FinalizeCrash", "SandboxTimedout"]


class _CrashAfterFirstObject(Exception):
    pass


# Step Functions sees the exception's class name: this is how a Lambda killed by its timeout looks.
SandboxTimedout = type("Sandbox.Timedout", (_CrashAfterFirstObject,), {})


class CrashingStore(S3ObjectStore):
    """`S3ObjectStore` whose ``put_stream`` raises `SandboxTimedout` after writing, when armed in this thread."""

    def __init__(self, client: S3Client, armed: threading.local) -> None:
        super().__init__(client)
        self._armed = armed

    def put_stream(self, *args: Any, **kwargs: Any) -> None:
        super().put_stream(*args, **kwargs)
        if getattr(self._armed, "on", False):
            self._armed.on = False
            raise SandboxTimedout("Task timed out after 300.00 seconds (injected after the first object)")


class FinalizeCrash:
    """Wraps Finalize: the first ``crashes`` invocations of a ``burst-`` job die right after their first object.

    The crash is raised from inside the store's ``put_stream`` (after the object is written) as a
    ``Sandbox.Timedout``, the error Step Functions gets when Lambda kills a function at its timeout. It takes
    effect within `installed` (the store hook).
    """

    def __init__(self, handler: Handler | None = None, crashes: int = 1) -> None:
        self._handler = handler
        self._remaining = crashes
        self._lock = threading.Lock()
        self._armed = threading.local()
        self.crashed_stems: list[str] = []

    @contextmanager
    def installed(self) -> Iterator[FinalizeCrash]:
        """Within the block, the domain's `Services` hold a `CrashingStore` armed by this handler."""
        with services.store_factory(self._store):
            yield self

    def _store(self, client: S3Client) -> S3ObjectStore:
        return CrashingStore(client, self._armed)

    def __call__(self, event: Any, context: Any) -> Any:
        with self._lock:
            if self._handler is None:  # imported late: the stack puts the template's folders on sys.path
                self._handler = importlib.import_module("functions.finalize.app").lambda_handler
            crash = self._remaining > 0 and event.get("job", {}).get("stem", "").startswith("burst-")
            if crash:
                self._remaining -= 1
                self.crashed_stems.append(str(event["job"]["stem"]))
        self._armed.on = crash
        assert self._handler is not None
        try:
            return self._handler(event, context)
        finally:
            self._armed.on = False
