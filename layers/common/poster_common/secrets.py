"""The API key, read from Secrets Manager through Powertools parameters (cached for ``max_age``)."""

from __future__ import annotations

import json

from aws_lambda_powertools.utilities import parameters

from poster_common.errors import PermanentError


class ApiKeyMissingError(PermanentError):
    """The secret exists but holds no usable API key."""

    code = "ApiKeyMissing"


def api_key_from(secret_value: str) -> str:
    """Accept the key as the plain secret string or as JSON ``{"api_key": "..."}``.

    Examples
    --------
    >>> api_key_from('{"api_key": "sk-1"}')
    'sk-1'
    """
    text = secret_value.strip()
    if text.startswith("{"):
        try:
            text = str(json.loads(text).get("api_key", "")).strip()
        except (ValueError, AttributeError):
            text = ""
    if not text:
        raise ApiKeyMissingError("the API-key secret is empty; put the DashScope key into it")
    return text


def read_api_key(secret_name: str, max_age: int) -> str:
    return api_key_from(parameters.get_secret(secret_name, max_age=max_age))
