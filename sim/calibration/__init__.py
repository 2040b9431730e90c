"""Calibration to history: approximate Bayesian computation against the pattern files (issue 12)."""
