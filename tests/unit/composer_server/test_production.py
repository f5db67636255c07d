"""The composer's own renderer behind the task layer: the request's size and the drop report come through."""

from __future__ import annotations

import io

from PIL import Image

from poster_composer.production import render_with_composer
from poster_composer.validation import SynthesisRequest
from tests.conftest import fixture_image


def test_a_poster_comes_out_at_the_requested_size_with_its_drop_report() -> None:
    background = fixture_image("rocket.jpg").read_bytes()
    request = SynthesisRequest(
        model="wanx-ast", image_url="-", title=("Launch night",), subtitle=("Friday 9 pm",), size=(360, 640)
    )

    (poster,) = render_with_composer(background, request, None)

    with Image.open(io.BytesIO(poster.png)) as image:
        assert image.size == (360, 640)
    assert isinstance(poster.dropped, tuple)
