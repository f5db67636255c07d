"""The composer's own renderer behind the task layer: the request's size and the drop report come through."""

from __future__ import annotations

import io
from typing import TYPE_CHECKING, Any

from PIL import Image

from poster_composer.production import render_with_composer
from poster_composer.validation import SynthesisRequest
from tests.conftest import fixture_image

if TYPE_CHECKING:
    import pytest


def test_a_poster_comes_out_at_the_requested_size_with_its_drop_report() -> None:
    background = fixture_image("rocket.jpg").read_bytes()
    request = SynthesisRequest(
        model="wanx-ast", image_url="-", title=("Launch night",), subtitle=("Friday 9 pm",), size=(360, 640)
    )

    (poster,) = render_with_composer(background, request, None)

    with Image.open(io.BytesIO(poster.png)) as image:
        assert image.size == (360, 640)
    assert isinstance(poster.dropped, tuple)


def test_font_pairing_and_accent_color_reach_the_renderer(monkeypatch: pytest.MonkeyPatch) -> None:
    import poster_composer.renderer as renderer
    from poster_composer.renderer import RenderedPoster

    seen: list[Any] = []

    def fake(background: bytes, request: Any, logo: bytes | None) -> list[RenderedPoster]:
        seen.append(request)
        return [RenderedPoster(Image.new("RGB", (8, 8)), {"dropped": []})]

    monkeypatch.setattr(renderer, "render_posters", fake)
    request = SynthesisRequest(
        model="wanx-ast", image_url="-", title=("T",), font_pairing="bebas+inter", accent_color="#1a73e8"
    )

    render_with_composer(b"-", request, None)
    render_with_composer(b"-", SynthesisRequest(model="wanx-ast", image_url="-", title=("T",)), None)

    assert (seen[0].pairing, seen[0].accent) == ("bebas+inter", (0x1A, 0x73, 0xE8))
    assert (seen[1].pairing, seen[1].accent) == (None, None)
