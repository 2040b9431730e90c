"""Submodels as pure functions on numpy arrays, one file per ODD element 7 section."""
