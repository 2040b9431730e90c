"""calibration.md: what the calibration learned, in words first, then its tables."""

from __future__ import annotations

import time

import pandas as pd

from sim.calibration.schema import CalibrationSpec

COVERAGE = ("The posterior is ABC's: the parameter sets under which the target patterns' medians fall within "
            "the record's tolerance (distance 0) or closest to it, weighted by importance. It covers what the "
            "patterns leave open about the parameters calibrated, not the other parameters, the model's "
            "structure or the record's own errors.")


def _table(df: pd.DataFrame, cols: list[str]) -> list[str]:
    def cell(v: object) -> str:
        return f"{v:.4g}" if isinstance(v, float) else str(v)

    return ["| " + " | ".join(cols) + " |", "|" + "---|" * len(cols)] + [
        "| " + " | ".join(cell(r[c]) for c in cols) + " |" for _, r in df.iterrows()]


def summary(pars: pd.DataFrame, checks: pd.DataFrame, ridges: pd.DataFrame) -> str:
    """The opening paragraph: what the patterns identify, what they leave open, how the checks fare."""
    named = [f"{r.parameter} ({r.ci90_low:.3g} to {r.ci90_high:.3g}, {r.share_of_prior:.0%} of its prior)"
             for r in pars.itertuples() if r.identified]
    open_ = [f"{r.parameter} ({r.share_of_prior:.0%} of its prior)" for r in pars.itertuples() if not r.identified]
    parts = [("The target patterns identify " + "; ".join(named) + ".") if named
             else "The target patterns identify none of the parameters (every 90% interval spans more than half "
                  "of its prior)."]
    if open_:
        parts.append("They leave open " + "; ".join(open_) + ".")
    if len(ridges):
        parts.append("They tie together " + "; ".join(
            f"{r.a} and {r.b} (correlation {r.correlation:+.2f}: a combination is identified, not each)"
            for r in ridges.itertuples()) + ".")
    for role in ("target", "held out"):
        sel = checks[checks["role"] == role]
        if len(sel):
            failed = ", ".join(sel.loc[~sel["passes"], "pattern"]) or "none"
            parts.append(f"In the posterior, {int(sel['passes'].sum())} of {len(sel)} {role} pattern(s) pass at "
                         f"the particles' weighted median (failing: {failed}).")
    return " ".join(parts)


def calibration_md(spec: CalibrationSpec, tables: dict[str, pd.DataFrame], reps: int, seed: int) -> str:
    """The whole report, from the tables ``diagnostics``, ``parameters``, ``checks`` and ``ridges``."""
    s = spec.sampler
    diag, pars, checks = tables["diagnostics"], tables["parameters"], tables["checks"]
    lines = ["# Calibration", "", summary(pars, checks, tables["ridges"]), "", COVERAGE, "",
             f"ABC-SMC (sim/calibration/smc.py): {s.population} particles, at most {s.generations} generations, "
             f"tolerance the {s.quantile:g} quantile of the last distances, {reps} replication(s) per particle and "
             f"scenario with common random numbers, seed {seed}; {int(diag['simulated'].sum())} candidates "
             f"simulated in {diag['seconds'].sum():.0f} s (the generations' own time, an interrupted one's first "
             f"attempt aside), {time.strftime('%Y-%m-%d')}.", "",
             "## Parameters", "", "Prior and posterior (90% credible interval; share of the prior's range it spans, "
             "on the prior's scale):", "",
             *_table(pars, ["parameter", "prior", "prior_low", "prior_high", "posterior_median", "ci90_low",
                            "ci90_high", "share_of_prior", "identified"]), "",
             "![prior and posterior](posterior.png)", "",
             "## Posterior predictive check", "",
             "Each pattern's median over replications, for the posterior's particles: weighted median and "
             "5-95% band across particles; passing share: the weight of the particles that pass it.", "",
             *_table(checks, ["pattern", "role", "expected", "simulated", "passing_share", "passes"]), "",
             "## Generations", "", *_table(diag, ["generation", "epsilon", "kept", "simulated", "acceptance", "ess",
                                                   "distance_median", "seconds"]), ""]
    return "\n".join(lines)
