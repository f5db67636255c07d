"""Errors raised by the renderer."""

from __future__ import annotations


class RendererError(Exception):
    """Base class of the renderer's errors."""


class InvalidImageError(RendererError, ValueError):
    """The background or logo bytes are not a decodable image."""


class InvalidRequestError(RendererError, ValueError):
    """A ``PosterRequest`` field is out of range."""
