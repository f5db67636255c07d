"""Emulating an image-editing model (``wan2.5-i2i-preview``) with the poster renderer, for the tests.

The live model reads an English instruction; the pipeline's prompt (``poster_common.profiles.poster_prompt``)
puts each string on its own line after its role, quoted verbatim (``Title (…): “…”``). The emulator reads those
lines back into a poster request, so a pipeline configured for the live profile can be exercised end to end
against the composer: the request shape and validation are the live model's, the picture is ours.
"""

from __future__ import annotations

import re

from poster_composer.validation import ImageEditRequest, SynthesisRequest

_ROLE_LINE = re.compile(r"^(?P<role>Title|Subtitle|Text)\b[^:]*:\s*“(?P<text>.*)”\s*$", re.MULTILINE)
_ROLES = {"Title": "title", "Subtitle": "subtitle", "Text": "text"}


def synthesis_from_edit(edit: ImageEditRequest) -> SynthesisRequest:
    """The poster request an image-edit request describes (image 1 the background, image 2 the logo).

    A prompt with no ``Title …: “…”`` line is set whole as the title, as a model would still draw it.
    """
    found: dict[str, list[str]] = {"title": [], "subtitle": [], "text": []}
    for match in _ROLE_LINE.finditer(edit.prompt):
        found[_ROLES[match["role"]]].append(match["text"])
    title = found["title"] or [edit.prompt.strip()]
    return SynthesisRequest(
        model=edit.model,
        image_url=edit.images[0],
        title=tuple(title),
        subtitle=tuple(found["subtitle"]),
        text=tuple(found["text"]),
        logo=edit.images[1] if len(edit.images) > 1 else None,
        n=edit.n,
    )
