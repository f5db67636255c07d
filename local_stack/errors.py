"""The local stack's one error."""

from __future__ import annotations

__all__ = ["LocalStackError"]


class LocalStackError(RuntimeError):
    """The local stack cannot start, or an outcome did not appear in time."""
