"""Errors raised by the renderer.

Each error carries a stable ``code`` (a short CamelCase string) that callers may map to a task status
or an HTTP error without matching on messages.
"""

from __future__ import annotations


class RendererError(Exception):
    """Base class of the renderer's errors."""

    code = "RenderError"


RenderError = RendererError  # the name the task layer uses for the base class


class InvalidImageError(RendererError, ValueError):
    """The background or logo bytes are not a decodable image."""

    code = "InvalidImage"


class InvalidRequestError(RendererError, ValueError):
    """A ``PosterRequest`` field is out of range."""

    code = "InvalidParameter"


class TitleNotSettableError(RendererError):
    """The first title cannot be set legibly on this canvas, not even on a band or a panel.

    Raised instead of returning a poster without its title (the canvas is too small for the title at its
    legibility floor, or every place it fits covers the image's subject).
    """

    code = "TitleNotSettable"
