"""ComposerApi: the deployed composer's DashScope-compatible API behind an HTTP API (create, query, cancel)."""

from __future__ import annotations

import functools
import logging
from typing import TYPE_CHECKING, Any

from poster_composer.api import ComposerApp, error_response
from poster_composer.cloud.http_api import request_from_event, response_event
from poster_composer.cloud.service import build_api
from poster_composer.cloud.settings import CloudSettings
from poster_composer.errors import ApiError

if TYPE_CHECKING:
    from aws_lambda_powertools.utilities.typing import LambdaContext

logging.getLogger("poster_composer").setLevel(logging.INFO)


@functools.cache
def _app() -> ComposerApp:
    return build_api(CloudSettings.from_env())


def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    try:
        request = request_from_event(event)
    except ApiError as error:
        return response_event(error_response(error, context.aws_request_id))
    return response_event(_app().handle(request))
