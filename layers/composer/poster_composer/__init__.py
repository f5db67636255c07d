"""poster_composer."""
