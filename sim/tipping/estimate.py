"""The statistics of a tipping point: a monotone fit, its crossings and their bootstrap intervals.

Data are runs: ``x`` the lever value of each run, ``rep`` its replication (replication i ran
with the same seed at every lever value: common random numbers), ``y`` whether the outcome
happened (0 or 1).

* **Monotone fit (the estimate).** The isotonic (non-decreasing) regression of the observed
  shares on the lever (``scipy.optimize.isotonic_regression``, weighted by runs): the model is
  assumed to respond monotonically to the lever, nothing more. A level's crossing is where
  the fit first reaches it, by linear interpolation between neighbouring design values.
* **Interval.** Percentile bootstrap over replications: whole replications are resampled,
  with their runs at every lever value, so the resamples keep the pairing that common random
  numbers give; each resample is refitted. A resample that never reaches the level counts as
  "beyond the range" (so is a level that is reached at the range's low end, "below"), and the
  share of such resamples is reported.
* **Resolution.** The interval always spans the pair of neighbouring design values between
  which the fit reaches the level: the design cannot place a crossing more finely (with a
  sharp threshold every resample agrees and the bootstrap alone would claim a point).
* **Logistic check.** ``P(y = 1 | x) = 1 / (1 + exp(-(a + b z)))``, ``z`` the lever scaled to
  [0, 1], by penalised maximum likelihood (L-BFGS; a ridge of :data:`RIDGE` on the slope keeps
  it finite when the runs separate); its crossing ``(logit(p) - a) / b`` is reported beside
  the estimate. A logistic curve cannot follow a plateau (P jumping to 10% and staying there),
  which is why it is the check and not the estimate.
* **Design.** A coarse grid, then rounds that add values inside each level's bracket.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from scipy.optimize import isotonic_regression, minimize

from sim.statistics import BOOTSTRAP, BOOTSTRAP_SEED, wilson

RIDGE = 1e-3  # penalty on the slope (lever scaled to [0, 1]): finite fits under perfect separation


def fit(z: np.ndarray, y: np.ndarray, w: np.ndarray | None = None) -> tuple[float, float]:
    """Penalised logistic fit of ``y`` on ``z`` (weights ``w``: runs per row); returns (a, b).

    L-BFGS on the penalised negative log-likelihood, with its gradient: unlike plain Newton it
    does not stall when the runs separate perfectly and the likelihood flattens.
    """
    w = np.ones_like(z) if w is None else w

    def loss(theta: np.ndarray) -> tuple[float, np.ndarray]:
        eta = theta[0] + theta[1] * z
        nll = np.sum(w * (np.logaddexp(0.0, eta) - y * eta)) + 0.5 * RIDGE * theta[1] ** 2
        r = w * (1.0 / (1.0 + np.exp(-eta)) - y)
        return float(nll), np.array([np.sum(r), np.sum(r * z) + RIDGE * theta[1]])

    res = minimize(loss, np.zeros(2), jac=True, method="L-BFGS-B", options={"maxiter": 500, "gtol": 1e-10})
    return float(res.x[0]), float(res.x[1])


def crossing(a: float, b: float, level: float) -> float:
    """Scaled lever value where the fitted P crosses ``level`` (NaN when the slope is not positive)."""
    if not b > 0:
        return math.nan
    return (math.log(level / (1.0 - level)) - a) / b


@dataclass(frozen=True)
class Crossing:
    """A level's crossing: the estimate and its 95% interval, in the lever's unit.

    Attributes:
        level: the probability crossed.
        value: where the monotone fit first reaches the level (NaN: it never does within the range).
        low: the interval's lower end (NaN: below the range).
        high: the interval's upper end (NaN: beyond the range).
        beyond: share of bootstrap resamples that never reach the level within the range.
        logistic: the logistic fit's crossing (NaN: outside the range, or a slope that is not positive).
    """

    level: float
    value: float
    low: float
    high: float
    beyond: float
    logistic: float


def _grouped(x: np.ndarray, y: np.ndarray, counts: np.ndarray | None = None) -> tuple[np.ndarray, ...]:
    """Design values, runs and successes at each (``counts``: how often each run is drawn)."""
    c = np.ones_like(y, dtype=float) if counts is None else counts
    values, inv = np.unique(x, return_inverse=True)
    n = np.bincount(inv, weights=c, minlength=values.size)
    k = np.bincount(inv, weights=c * y, minlength=values.size)
    return values, n, k


def _fit_grouped(values: np.ndarray, n: np.ndarray, k: np.ndarray, span: tuple[float, float]) -> tuple[float, float]:
    """Logistic fit on grouped counts: each design value is two weighted rows (successes, failures)."""
    z = (values - span[0]) / (span[1] - span[0])
    keep = n > 0
    z2 = np.concatenate([z[keep], z[keep]])
    y2 = np.concatenate([np.ones(keep.sum()), np.zeros(keep.sum())])
    w2 = np.concatenate([k[keep], n[keep] - k[keep]])
    return fit(z2, y2, w2)


def _first_above(values: np.ndarray, n: np.ndarray, k: np.ndarray, level: float) -> tuple[int, np.ndarray]:
    """The monotone fit of the observed shares, and the first design index where it reaches ``level`` (-1: none)."""
    share = isotonic_regression(k / n, weights=n, increasing=True).x
    above = np.nonzero(share >= level)[0]
    return (int(above[0]) if above.size else -1), share


def isotonic_crossing(values: np.ndarray, n: np.ndarray, k: np.ndarray, level: float) -> float:
    """Where the monotone fit of the observed shares first reaches ``level`` (NaN: it never does)."""
    j, share = _first_above(values, n, k, level)
    if j < 0:
        return math.nan
    if j == 0 or share[j] == share[j - 1]:
        return float(values[j])
    t = (level - share[j - 1]) / (share[j] - share[j - 1])
    return float(values[j - 1] + t * (values[j] - values[j - 1]))


def bracket(values: np.ndarray, n: np.ndarray, k: np.ndarray, level: float) -> tuple[float, float]:
    """The neighbouring design values between which the monotone fit reaches ``level`` (NaN, NaN: none).

    The design cannot place a crossing more finely than this, whatever the fit says: a
    crossing's interval always spans it (with a sharp threshold, every resample agrees and
    the bootstrap alone would claim a point).
    """
    j, _ = _first_above(values, n, k, level)
    return (float(values[j - 1]), float(values[j])) if j > 0 else (math.nan, math.nan)


def crossings(x: np.ndarray, rep: np.ndarray, y: np.ndarray, levels: tuple[float, ...],
              span: tuple[float, float], resamples: int = BOOTSTRAP) -> list[Crossing]:
    """Each level's crossing with its bootstrap interval over replications (module docstring).

    Args:
        x: lever value of each run.
        rep: replication of each run.
        y: outcome of each run (0 or 1).
        levels: probabilities to cross, each in (0, 1).
        span: the range studied, (low, high).
        resamples: bootstrap resamples.
    """
    low, high = span
    values, n, k = _grouped(x, y)
    a, b = _fit_grouped(values, n, k, span)
    reps, inv = np.unique(rep, return_inverse=True)
    rng = np.random.default_rng(BOOTSTRAP_SEED)
    boot = np.full((resamples, len(levels)), np.inf)  # never reached: beyond the range
    for r in range(resamples):
        drawn = np.bincount(rng.integers(0, reps.size, reps.size), minlength=reps.size)[inv].astype(float)
        _, nb, kb = _grouped(x, y, drawn)
        for j, lv in enumerate(levels):
            c = isotonic_crossing(values, nb, kb, lv)
            boot[r, j] = c if np.isfinite(c) else np.inf
    out = []
    for j, lv in enumerate(levels):
        ordered = np.sort(boot[:, j])  # order statistics: "beyond" sorts last
        lo, hi = ordered[int(0.025 * (resamples - 1))], ordered[math.ceil(0.975 * (resamples - 1))]
        b_lo, b_hi = bracket(values, n, k, lv)
        lo = min(lo, b_lo) if np.isfinite(lo) else math.nan
        hi = max(hi, b_hi) if np.isfinite(hi) else math.nan
        if _first_above(values, n, k, lv)[0] == 0:
            lo = math.nan  # reached at the range's low end: the crossing may lie below it
        zc = crossing(a, b, lv)
        out.append(Crossing(lv, isotonic_crossing(values, n, k, lv), lo, hi, float(np.isinf(boot[:, j]).mean()),
                            low + zc * (high - low) if 0.0 <= zc <= 1.0 else math.nan))
    return out


def curve(x: np.ndarray, y: np.ndarray, span: tuple[float, float]) -> tuple[float, float]:
    """The fitted (a, b) on the runs, the lever scaled by ``span``."""
    return _fit_grouped(*_grouped(x, y), span)


def observed(x: np.ndarray, y: np.ndarray) -> list[tuple[float, int, int, float, float]]:
    """Per design value: value, runs, successes and the Wilson 95% interval of the share."""
    values, n, k = _grouped(x, y)
    return [(float(v), int(m), int(s), *wilson(int(s), int(m))) for v, m, s in zip(values, n, k, strict=True)]


def refine(x: np.ndarray, y: np.ndarray, levels: tuple[float, ...], count: int) -> list[float]:
    """New lever values to run: ``count`` evenly inside each level's bracket (:func:`bracket`).

    Nothing is added for a level the monotone fit does not reach, or reaches at the first value.
    """
    values, n, k = _grouped(x, y)
    new: list[float] = []
    for lv in levels:
        lo, hi = bracket(values, n, k, lv)
        if np.isfinite(lo):
            new += [float(v) for v in np.linspace(lo, hi, count + 2)[1:-1]]
    return sorted({round(v, 10) for v in new} - {round(float(v), 10) for v in values})


Runs = tuple[np.ndarray, np.ndarray, np.ndarray]  # lever value, replication and outcome of each run


def adaptive(simulate, span: tuple[float, float], levels: tuple[float, ...], grid: int = 5, rounds: int = 2,
             count: int = 3) -> Runs:
    """The adaptive design: a coarse grid, then ``rounds`` refinements around the fitted crossings.

    Args:
        simulate: runs the model at a list of lever values (the same replications at each:
            common random numbers) and returns their :data:`Runs`.
        span: the range studied, (low, high).
        levels: the probabilities whose crossings are sought.
        grid: values of the coarse grid, low and high included.
        rounds: refinement rounds.
        count: values added inside each crossing's bracket per round.

    Returns:
        Every run made, all rounds together.
    """
    x, rep, y = simulate([float(v) for v in np.linspace(span[0], span[1], grid)])
    for _ in range(rounds):
        new = refine(x, y, levels, count)
        if not new:
            break
        nx, nr, ny = simulate(new)
        x, rep, y = np.concatenate([x, nx]), np.concatenate([rep, nr]), np.concatenate([y, ny])
    return x, rep, y
