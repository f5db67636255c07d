"""The offline poster renderer: background + text (+ logo) in, finished posters out.

Public surface (stable: the server and the CLI use only this):

- ``PosterRequest``: what to draw, with the API's own field names.
- ``RenderedPoster``: one variant, an RGB image plus its layout report.
- ``render_posters(background, request, logo=None)``: ``request.n`` distinct variants.
- ``encode_png(image)``: deterministic PNG bytes.
"""

from __future__ import annotations

from poster_composer.renderer.compose import PosterRequest, RenderedPoster, encode_png, render_posters

__all__ = ["PosterRequest", "RenderedPoster", "encode_png", "render_posters"]
