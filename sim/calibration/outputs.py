"""What a calibration writes and reads back: generations, diagnostics, the posterior, its summaries."""

from __future__ import annotations

import io
import math
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from sim.atomic import write_atomic
from sim.calibration.distance import miss as miss_of
from sim.calibration.smc import Generation, Prior, credible_interval, weighted_quantile
from sim.patterns.load import Pattern
from sim.patterns.scorecard import expected_text, show

GENERATIONS = "generations"  # folder of one Parquet file per completed generation
IDENTIFIED = 0.5  # a parameter is identified when its 90% interval spans at most half its prior range


def write_parquet(df: pd.DataFrame, path: Path) -> Path:
    """A table as Parquet, written whole and renamed (an interruption never leaves half a file)."""
    buf = io.BytesIO()
    df.to_parquet(buf, index=False)
    return write_atomic(path, buf.getvalue())


def generation_frame(g: Generation, prior: Prior) -> pd.DataFrame:
    """One row per particle: its parameters, weight and distance, with the generation's tolerance and cost."""
    df = pd.DataFrame(g.theta, columns=list(prior.names))
    return df.assign(generation=g.t, particle=np.arange(len(df)), weight=g.weights, distance=g.distances,
                     epsilon=g.epsilon, simulated=g.simulated)


def write_generation(out: Path, g: Generation, prior: Prior, seconds: float) -> Path:
    """Store a completed generation (``generations/g<t>.parquet``) with the seconds it took to make."""
    (out / GENERATIONS).mkdir(exist_ok=True)
    return write_parquet(generation_frame(g, prior).assign(seconds=seconds), out / GENERATIONS / f"g{g.t:03d}.parquet")


def read_generations(out: Path, prior: Prior) -> list[Generation]:
    """The generations an earlier, interrupted calibration completed, in order (bit for bit as written)."""
    found = []
    for f in sorted((out / GENERATIONS).glob("g*.parquet")) if (out / GENERATIONS).is_dir() else []:
        df = pd.read_parquet(f)
        found.append(Generation(int(df["generation"].iloc[0]), df[list(prior.names)].to_numpy(float),
                                df["weight"].to_numpy(float), df["distance"].to_numpy(float),
                                float(df["epsilon"].iloc[0]), int(df["simulated"].iloc[0])))
    if [g.t for g in found] != list(range(len(found))):
        raise ValueError(f"{out / GENERATIONS}: generations are missing; start a new calibration")
    return found


def diagnostics(gens: Sequence[Generation], out: Path) -> pd.DataFrame:
    """Per generation: tolerance, particles kept, candidates simulated, acceptance, effective sample size, seconds.

    The seconds are read back from ``out``'s stored generations, so a resumed calibration
    still reports what each generation cost (the part redone after an interruption included).
    """
    seconds = {int(f.stem[1:]): float(pd.read_parquet(f, columns=["seconds"])["seconds"].iloc[0])
               for f in (out / GENERATIONS).glob("g*.parquet")}
    return pd.DataFrame([{"generation": g.t, "epsilon": g.epsilon, "kept": len(g.weights), "simulated": g.simulated,
                          "acceptance": g.acceptance, "ess": g.ess, "distance_median": float(np.median(g.distances)),
                          "seconds": seconds.get(g.t, float("nan"))} for g in gens])


def parameters(g: Generation, prior: Prior) -> pd.DataFrame:
    """Per parameter: its prior, the posterior median and 90% interval, and whether the targets identify it.

    Widths are compared on the prior's own scale (the logarithm for a log prior).
    """
    rows = []
    unit = prior.to_unit(g.theta)
    for k, name in enumerate(prior.names):
        lo, hi = credible_interval(g.theta[:, k], g.weights)
        ulo, uhi = credible_interval(unit[:, k], g.weights)
        rows.append({"parameter": name, "prior": f"{'log-' if prior.log[k] else ''}uniform",
                     "prior_low": prior.low[k], "prior_high": prior.high[k],
                     "posterior_median": weighted_quantile(g.theta[:, k], g.weights, 0.5),
                     "ci90_low": lo, "ci90_high": hi, "share_of_prior": uhi - ulo,
                     "identified": bool(uhi - ulo <= IDENTIFIED)})
    return pd.DataFrame(rows)


def ridges(g: Generation, prior: Prior, threshold: float = 0.6) -> pd.DataFrame:
    """Pairs of parameters the posterior ties together: weighted correlation on the priors' scales of at least 0.6.

    The patterns may pin down a combination (a stricter garrison that surrenders faster) while
    leaving each parameter of it open; such a pair is identified together, not apart.
    """
    cov = np.atleast_2d(np.cov(prior.to_unit(g.theta), rowvar=False, aweights=g.weights))
    sd = np.sqrt(np.diag(cov))
    with np.errstate(divide="ignore", invalid="ignore"):  # a parameter without spread correlates with nothing
        corr = np.nan_to_num(cov / np.outer(sd, sd))
    rows = [{"a": prior.names[i], "b": prior.names[j], "correlation": float(corr[i, j])}
            for i in range(len(prior.names)) for j in range(i + 1, len(prior.names)) if abs(corr[i, j]) >= threshold]
    return pd.DataFrame(rows, columns=["a", "b", "correlation"])


def checks(g: Generation, patterns: Sequence[Pattern], held: set[str], miss: np.ndarray,
           median: np.ndarray) -> pd.DataFrame:
    """Posterior predictive check of every pattern: the particles' medians against the record.

    Args:
        g: the posterior (its weights weigh the particles).
        patterns: the patterns checked (targets and held-out ones).
        held: the ids of the held-out patterns.
        miss: each particle's miss of each pattern, (particles, patterns).
        median: each particle's median of each pattern's measure over its replications.
    """
    rows = []
    for j, p in enumerate(patterns):
        ok = ~np.isnan(median[:, j])
        x, w = np.where(np.isinf(median[ok, j]), 1e300, median[ok, j]), g.weights[ok]
        band = [weighted_quantile(x, w, q) if ok.any() else math.nan for q in (0.05, 0.5, 0.95)]
        band = [math.inf if v >= 1e299 else v for v in band]
        rows.append({"pattern": p.spec.id, "role": "held out" if p.spec.id in held else "target",
                     "title": p.spec.title, "expected": expected_text(p),
                     "simulated": f"{show(band[1], p.unit)} [{show(band[0], p.unit)}, {show(band[2], p.unit)}]",
                     "median": band[1], "p05": band[0], "p95": band[2],
                     "passing_share": float(np.sum(g.weights[miss[:, j] == 0.0])),
                     "passes": bool(miss_of(band[1], p) == 0.0)})
    return pd.DataFrame(rows)
