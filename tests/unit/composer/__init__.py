"""Renderer tests (poster_composer.renderer)."""
