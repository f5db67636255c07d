"""``poster-pipeline``: submit images to a deployed (or the local) poster-pipeline stack and fetch the posters."""

__all__ = ["__version__"]

__version__ = "0.1.0"
