"""Making a task's posters: download and inspect its inputs, then render them.

One code path for both fronts: the local server's worker threads (`poster_composer.tasks`) and the
deployed render worker (`poster_composer.cloud.worker`) call `produce_posters`.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol

from poster_composer.errors import TaskFailedError
from poster_composer.faults import INFERENCE_ERROR_CODE, INFERENCE_ERROR_MESSAGE
from poster_composer.input_media import BACKGROUND_RULES, LOGO_RULES, FetchLimits, MediaFetcher, inspect_image

if TYPE_CHECKING:
    from poster_composer.faults import ComposerConfig
    from poster_composer.validation import SynthesisRequest

logger = logging.getLogger(__name__)

UNDECODABLE_MESSAGE = "The image_url cannot be decoded as an image."


@dataclass(frozen=True)
class RenderedPng:
    """One poster: its PNG bytes and what of the request could not be placed on it (never silently dropped).

    ``dropped`` items are ``{"role": "title"|"subtitle"|"text", "index": i, "text": "…"}`` or ``{"role": "logo"}``.
    """

    png: bytes
    dropped: tuple[dict[str, Any], ...] = ()


class Renderer(Protocol):
    """Renders ``request.n`` posters from the downloaded background (and logo)."""

    def __call__(self, background: bytes, request: SynthesisRequest, logo: bytes | None) -> list[RenderedPng]:
        """One per variant."""
        ...


def render_with_composer(background: bytes, request: SynthesisRequest, logo: bytes | None) -> list[RenderedPng]:
    """The default ``Renderer``: the offline poster renderer's public interface."""
    from poster_composer.renderer import PosterRequest, encode_png, render_posters

    poster_request = PosterRequest(
        title=request.title,
        subtitle=request.subtitle,
        text=request.text,
        underlay=request.underlay,
        n=request.n,
        temperature=request.temperature,
        size=request.size,
        pairing=request.font_pairing,
        accent=None if request.accent_color is None else _rgb(request.accent_color),
    )
    return [
        RenderedPng(encode_png(poster.image), tuple(poster.layout.get("dropped") or ()))
        for poster in render_posters(background, poster_request, logo)
    ]


def _rgb(colour: str) -> tuple[int, int, int]:
    """``"#rrggbb"`` as an RGB triple."""
    return int(colour[1:3], 16), int(colour[3:5], 16), int(colour[5:7], 16)


def download_inputs(
    request: SynthesisRequest, fetcher: MediaFetcher, config: ComposerConfig
) -> tuple[bytes, bytes | None]:
    """The background and the logo (if any), downloaded within the configured limits and inspected.

    Raises
    ------
    TaskFailedError
        A download failed, or an input is not an image the API accepts.
    """
    limits = FetchLimits(config.fetch_connect_timeout, config.fetch_read_timeout, config.fetch_total_timeout, 0)
    background = fetcher(request.image_url, "image_url", _capped(limits, config.max_image_bytes))
    inspect_image(background, "image_url", BACKGROUND_RULES)
    logo = None
    if request.logo:
        logo = fetcher(request.logo, "logo", _capped(limits, config.max_logo_bytes))
        inspect_image(logo, "logo", LOGO_RULES)
    return background, logo


def _capped(limits: FetchLimits, max_bytes: int) -> FetchLimits:
    return FetchLimits(limits.connect_timeout, limits.read_timeout, limits.total_timeout, max_bytes)


def render_inputs(
    background: bytes, logo: bytes | None, request: SynthesisRequest, renderer: Renderer
) -> list[RenderedPng]:
    """``request.n`` posters. A renderer error with a stable code (e.g. ``TitleNotSettable``: not even a band can
    set the title legibly on this canvas) ends the task with that code; anything else as the model's
    ``Inference error``.

    Raises
    ------
    TaskFailedError
        The renderer raised.
    """
    from poster_composer.renderer.errors import InvalidImageError, RendererError

    try:
        return renderer(background, request, logo)
    except InvalidImageError as error:  # the header was fine, the pixels are not: the API's own wording
        logger.info("render refused: %s", error.code)
        raise TaskFailedError("InvalidParameter", UNDECODABLE_MESSAGE) from error
    except RendererError as error:
        logger.info("render refused: %s", error.code)
        raise TaskFailedError(error.code, str(error)) from error
    except Exception as error:
        logger.exception("render failed")
        raise TaskFailedError(INFERENCE_ERROR_CODE, INFERENCE_ERROR_MESSAGE) from error


def produce_posters(
    request: SynthesisRequest, fetcher: MediaFetcher, config: ComposerConfig, renderer: Renderer
) -> list[RenderedPng]:
    """Download, inspect and render: the whole of a task's work but storing the results."""
    background, logo = download_inputs(request, fetcher, config)
    return render_inputs(background, logo, request, renderer)
