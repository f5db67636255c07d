"""poster_common."""
