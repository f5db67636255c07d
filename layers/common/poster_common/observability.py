"""The handlers' logging, metrics and tracing, set up once (Powertools).

``logger``, ``metrics`` and ``tracer`` are what every handler decorates its entry point with. Tracing's SDK
(aws-xray-sdk, about a third of a handler's import time) is imported only when tracing is on: the function
runs in Lambda with active tracing (the template's ``Tracing`` parameter sets ``POWERTOOLS_TRACE_DISABLED``
to ``false``). Otherwise ``tracer`` is a stand-in whose decorators return the function unchanged.
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING, Any, Protocol, TypeVar

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.logging.utils import copy_config_to_registered_loggers

if TYPE_CHECKING:
    from collections.abc import Callable, Mapping

__all__ = ["HandlerTracer", "logger", "metrics", "tracer", "tracing_enabled"]

_F = TypeVar("_F", bound="Callable[..., Any]")


class HandlerTracer(Protocol):
    """What the handlers use of Powertools' ``Tracer``."""

    def capture_lambda_handler(self, lambda_handler: _F) -> _F: ...

    def capture_method(self, method: _F) -> _F: ...


class _Untraced:
    """Tracing off: the decorators change nothing, and nothing of the X-Ray SDK is imported."""

    def capture_lambda_handler(self, lambda_handler: _F) -> _F:
        return lambda_handler

    def capture_method(self, method: _F) -> _F:
        return method


def tracing_enabled(environ: Mapping[str, str] = os.environ) -> bool:
    """In Lambda (``LAMBDA_TASK_ROOT``) and not switched off with ``POWERTOOLS_TRACE_DISABLED``."""
    disabled = environ.get("POWERTOOLS_TRACE_DISABLED", "false").strip().lower() in ("1", "true", "yes", "on")
    return bool(environ.get("LAMBDA_TASK_ROOT")) and not disabled


def _tracer() -> HandlerTracer:
    if not tracing_enabled():
        return _Untraced()
    from aws_lambda_powertools import Tracer

    return Tracer()  # type: ignore[return-value]


logger = Logger()
metrics = Metrics()
tracer: HandlerTracer = _tracer()
copy_config_to_registered_loggers(source_logger=logger, include={"poster_common"})
