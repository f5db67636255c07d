"""Model profiles: for each DashScope model, how to ask it for a poster and how to read its answer.

A profile holds the endpoint path, the request builder (job spec + background URL + logo URL → the
``input`` / ``parameters`` body), the result parser (task ``output`` → result items), the quota defaults
and the spec fields the model cannot honour (recorded in the manifest). Both profiles use the same async
task protocol: ``X-DashScope-Async: enable`` on submit, ``GET /tasks/{id}`` to poll (protocol notes §1, §9b).

- ``wanx-ast`` (retired upstream 2025-07-02): the pipeline's original request, unchanged; the composer
  engine speaks it too.
- ``wan2.5-i2i-preview`` (Wan 2.5 image editing): one instruction that quotes the poster's strings
  verbatim, the background as ``input.images[0]`` and the logo, if any, as ``input.images[1]``.

Examples
--------
>>> from poster_common.models import JobSpec
>>> request = profile_for("wanx-ast").build_request(JobSpec(title=("Sale",)), "https://b/bg.png", None)
>>> request.input["image_url"], request.parameters
('https://b/bg.png', {'n': 1, 'temperature': 0.7})
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Protocol

from poster_common.errors import InvalidJobSpecError
from poster_common.models import JobSpec, ResultItem

TEXT2IMAGE_PATH = "/services/aigc/text2image/image-synthesis"
IMAGE2IMAGE_PATH = "/services/aigc/image2image/image-synthesis"
#: The documented maximum of ``input.prompt`` for Wan 2.5 image editing (the service truncates beyond it).
WAN25_PROMPT_MAX_CHARS = 2000


@dataclass(frozen=True)
class Quota:
    """The provider's limits for one model, per account: the defaults of ``MODEL_*`` settings."""

    max_in_progress: int
    submissions_per_second: float
    queries_per_second: float


@dataclass(frozen=True)
class TaskRequest:
    """The ``input`` and ``parameters`` of one create-task body."""

    input: dict[str, Any]
    parameters: dict[str, Any]


class RequestBuilder(Protocol):
    """Job spec + background URL + logo URL (+ the format's ``W*H`` size) → the create-task body."""

    def __call__(
        self, spec: JobSpec, background_url: str, logo_url: str | None, size: str | None = None, /
    ) -> TaskRequest: ...


ResultParser = Callable[[Mapping[str, Any]], tuple[ResultItem, ...]]
SpecCheck = Callable[[JobSpec], None]


def _any_spec(spec: JobSpec) -> None:
    """The default ``check_spec``: every valid spec can be sent."""


@dataclass(frozen=True)
class ModelProfile:
    model: str
    submit_path: str
    build_request: RequestBuilder
    parse_results: ResultParser
    quota: Quota
    #: JobSpec fields this model has no way to honour; a manifest lists them as ignored.
    ignored_fields: tuple[str, ...] = ()
    #: Refuses (``InvalidJobSpecError``) a valid spec this model cannot carry; Submit calls it before parking.
    check_spec: SpecCheck = _any_spec


def task_results(output: Mapping[str, Any]) -> tuple[ResultItem, ...]:
    """``output.results[]``: a ``url`` each, or the ``code`` / ``message`` of a failed sub-image."""
    return tuple(
        ResultItem(
            url=item.get("url") or None,
            code=item.get("code"),
            message=item.get("message"),
            dropped=_dropped(item.get("dropped")),
        )
        for item in output.get("results") or ()
        if isinstance(item, dict)
    )


def _dropped(value: Any) -> tuple[dict[str, Any], ...]:
    """The composer's per-result ``dropped`` list, kept only in its documented shape."""
    if not isinstance(value, list):
        return ()
    kept = []
    for entry in value[:20]:
        if isinstance(entry, dict) and isinstance(entry.get("role"), str):
            kept.append(
                {k: entry[k] for k in ("role", "index", "text") if k in entry and isinstance(entry[k], str | int)}
            )
    return tuple(kept)


def wanx_ast_request(
    spec: JobSpec, background_url: str, logo_url: str | None, size: str | None = None, /
) -> TaskRequest:
    """The ``wanx-ast`` body (protocol notes §2): the spec's own fields, under the API's names; ``size``,
    ``font_pairing`` and ``accent_color`` are the composer's extensions (sent only when set)."""
    api_input: dict[str, Any] = {"title": list(spec.title)}
    if spec.subtitle:
        api_input["subtitle"] = list(spec.subtitle)
    if spec.text:
        api_input["text"] = list(spec.text)
    api_input["underlay"] = spec.underlay
    if logo_url:
        api_input["logo"] = logo_url
    api_input["image_url"] = background_url
    parameters: dict[str, Any] = {"n": spec.n, "temperature": spec.temperature}
    if size:
        parameters["size"] = size
    if spec.font_pairing:
        parameters["font_pairing"] = spec.font_pairing
    if spec.accent_color:
        parameters["accent_color"] = spec.accent_color
    return TaskRequest(api_input, parameters)


def wan25_i2i_request(
    spec: JobSpec, background_url: str, logo_url: str | None, size: str | None = None, /
) -> TaskRequest:
    """The ``wan2.5-i2i-preview`` body: a typesetting instruction, the background first, the logo second
    (the model keeps the background's size: ``size`` is not sent)."""
    prompt = _checked_prompt(spec, with_logo=logo_url is not None)
    images = [background_url] if logo_url is None else [background_url, logo_url]
    return TaskRequest({"prompt": prompt, "images": images}, {"n": spec.n})


def wan25_check_spec(spec: JobSpec) -> None:
    _checked_prompt(spec, with_logo=spec.logo_key is not None)


def _checked_prompt(spec: JobSpec, *, with_logo: bool) -> str:
    """``poster_prompt``, refused when longer than the model reads (the service would drop the user's text)."""
    prompt = poster_prompt(spec, with_logo=with_logo)
    if len(prompt) > WAN25_PROMPT_MAX_CHARS:
        raise InvalidJobSpecError(
            f"The poster text is too long for wan2.5-i2i-preview: its instruction would be {len(prompt)} "
            f"characters, over the model's {WAN25_PROMPT_MAX_CHARS}."
        )
    return prompt


def poster_prompt(spec: JobSpec, *, with_logo: bool) -> str:
    """An instruction to typeset the spec's exact strings on image 1, keeping the picture."""
    lines = [
        "Turn image 1 into a poster by typesetting the text below on it.",
        "Keep the picture itself: do not repaint, crop or restyle it, and keep its main subject uncovered.",
        "Write each quoted string exactly as given, character for character (same spelling, letter case, "
        "punctuation and language), without the quotation marks, and add no other words.",
    ]
    lines += [f"Title (largest, most prominent): “{item}”" for item in spec.title]
    lines += [f"Subtitle (smaller, under the title): “{item}”" for item in spec.subtitle]
    lines += [f"Text (smallest, e.g. a call to action): “{item}”" for item in spec.text]
    lines.append("Use one clean typeface, aligned blocks, and colours that stay readable against the picture.")
    if with_logo:
        lines.append("Place the logo from image 2 small in a corner, unchanged.")
    return "\n".join(lines)


#: The composer engine and the legacy model; submissions 2/s and 1 task in progress are documented.
WANX_AST = ModelProfile(
    model="wanx-ast",
    submit_path=TEXT2IMAGE_PATH,
    build_request=wanx_ast_request,
    parse_results=task_results,
    quota=Quota(max_in_progress=1, submissions_per_second=2.0, queries_per_second=20.0),
)
#: Its quota is not documented anywhere we could read: the wanx-ast numbers, the safe side (docs/design.md).
WAN25_I2I_PREVIEW = ModelProfile(
    model="wan2.5-i2i-preview",
    submit_path=IMAGE2IMAGE_PATH,
    build_request=wan25_i2i_request,
    parse_results=task_results,
    quota=Quota(max_in_progress=1, submissions_per_second=2.0, queries_per_second=20.0),
    ignored_fields=("underlay", "temperature", "formats", "font_pairing", "accent_color"),
    check_spec=wan25_check_spec,
)
PROFILES: dict[str, ModelProfile] = {profile.model: profile for profile in (WANX_AST, WAN25_I2I_PREVIEW)}


def find_profile(model: str) -> ModelProfile | None:
    return PROFILES.get(model)


def profile_for(model: str) -> ModelProfile:
    """The profile of ``model`` (``DASHSCOPE_MODEL``).

    Raises
    ------
    ValueError
        No profile: a configuration error, naming the models that have one.
    """
    profile = PROFILES.get(model)
    if profile is None:
        raise ValueError(f"DASHSCOPE_MODEL {model!r} has no model profile; use one of: {', '.join(sorted(PROFILES))}")
    return profile
