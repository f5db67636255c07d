"""The offline poster renderer: background + text (+ logo) in, finished posters out.

Public surface (stable: the server, the task layer and the CLI use only this):

- ``PosterRequest``: what to draw, with the API's own field names, plus an optional
  ``size: tuple[int, int] | None`` (width, height).  With a size, every poster is exactly that size: the
  background is cropped to that aspect around its subject (faces and the main object kept whole) and
  scaled (up only when the background is smaller than the request).
- ``RenderedPoster``: one variant, an RGB image plus its layout report (``layout``, JSON-serialisable).
  ``layout["dropped"]`` lists every input that could not be placed, as ``{"role", "index", "text"}`` for
  text and ``{"role": "logo"}`` for the logo; it is empty when everything was placed.  Put it in the task
  result per poster.
- ``render_posters(background, request, logo=None)``: ``request.n`` distinct variants.
- ``encode_png(image)``: deterministic PNG bytes.
- ``PAIRING_NAMES``: the font pairings' names, valid values of ``PosterRequest.pairing`` (and of the API's
  ``parameters.font_pairing``); ``PosterRequest.accent`` is an optional RGB accent colour.

Errors (``poster_composer.renderer.errors``), each with a stable ``code`` attribute:

- ``InvalidImageError`` (``"InvalidImage"``): the background or logo cannot be decoded;
- ``InvalidRequestError`` (``"InvalidParameter"``): a request field is out of range;
- ``TitleNotSettableError`` (``"TitleNotSettable"``): not even a band or panel can set the first title
  legibly on this canvas (map it to a FAILED task).  A poster is never returned without its title.

All derive from ``RendererError`` (also exported as ``RenderError``).
"""

from __future__ import annotations

from poster_composer.renderer.compose import PosterRequest, RenderedPoster, encode_png, render_posters
from poster_composer.renderer.errors import (
    InvalidImageError,
    InvalidRequestError,
    RendererError,
    RenderError,
    TitleNotSettableError,
)
from poster_composer.renderer.fonts import PAIRING_NAMES

__all__ = [
    "PAIRING_NAMES",
    "InvalidImageError",
    "InvalidRequestError",
    "PosterRequest",
    "RenderError",
    "RenderedPoster",
    "RendererError",
    "TitleNotSettableError",
    "encode_png",
    "render_posters",
]
