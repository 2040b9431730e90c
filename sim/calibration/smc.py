"""Approximate Bayesian computation by sequential Monte Carlo (ABC-SMC), generation by generation.

The algorithm is Beaumont et al.'s (2009) population Monte Carlo ABC, with Del Moral et
al.'s (2012) adaptive tolerance, as pyabc runs it by default:

* generation 0 draws ``population`` particles from the prior and keeps them all (its
  tolerance is infinite), each with weight 1;
* generation t's tolerance ``eps_t`` is the weighted ``quantile`` of generation t-1's
  distances; candidates are drawn from generation t-1 by weight, perturbed by a Gaussian
  kernel with twice its weighted covariance, discarded outside the prior, simulated, and
  kept if their distance is at most ``eps_t``, until ``population`` are kept;
* a kept particle's weight is ``prior(theta) / sum_j w_j K(theta | theta_j)``.

Parameters live in a unit space (each prior's range mapped to [0, 1], through the log for
a log-uniform prior), where every prior is uniform: the prior density is then a constant
inside the support and cancels from the weights, and one kernel fits every scale. As in
Toni et al. (2009) and pyabc, the kernel is not renormalised for the part of it that falls
outside the prior.

It differs from pyabc in where the simulations run, not in the algorithm: a generation's
candidates are simulated together, in batches, by a function the caller gives (the
project's batch engine: common random numbers, the resumable store, Dask), and every draw
comes from a generator seeded by the calibration's seed and the generation's number, so a
calibration replays to the bit and one resumed after an interruption gives the same
generations as one that was not interrupted.

References: Toni, Welch, Strelkowa, Ipsen & Stumpf (2009), J. R. Soc. Interface 6:187;
Beaumont, Cornuet, Marin & Robert (2009), Biometrika 96:983; Del Moral, Doucet & Jasra
(2012), Stat. Comput. 22:1009; Klinger, Rickert & Hasenauer (2018), pyabc, Bioinformatics
34:3591.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass

import numpy as np
from scipy import stats

#: simulate(theta in the parameters' own units, (m, k); generation; batch) -> distances (m,)
Simulate = Callable[[np.ndarray, int, int], np.ndarray]


@dataclass(frozen=True)
class Prior:
    """Independent uniform or log-uniform priors, one per parameter.

    Attributes:
        names: the parameters (scenario field paths).
        low: each prior's lower bound, in the parameter's unit.
        high: each prior's upper bound.
        log: whether each prior is uniform in the logarithm (then ``low > 0``).
    """

    names: tuple[str, ...]
    low: np.ndarray
    high: np.ndarray
    log: np.ndarray

    def to_unit(self, theta: np.ndarray) -> np.ndarray:
        """Parameter values (m, k) to the unit space, where each prior is uniform on [0, 1]."""
        lo, hi = self._bounds()
        x = np.where(self.log, np.log(np.where(self.log, theta, 1.0)), theta)
        return (x - lo) / (hi - lo)

    def from_unit(self, u: np.ndarray) -> np.ndarray:
        """Unit-space points (m, k) back to the parameters' own units."""
        lo, hi = self._bounds()
        x = lo + u * (hi - lo)
        return np.where(self.log, np.exp(x), x)

    def _bounds(self) -> tuple[np.ndarray, np.ndarray]:
        lo = np.where(self.log, np.log(np.where(self.log, self.low, 1.0)), self.low)
        hi = np.where(self.log, np.log(np.where(self.log, self.high, 1.0)), self.high)
        return lo, hi


@dataclass(frozen=True)
class Settings:
    """How long and how finely the sampler runs.

    Attributes:
        population: particles kept per generation.
        generations: the most generations (generation 0, the prior, included).
        quantile: the tolerance of a generation is this weighted quantile of the last one's distances.
        min_epsilon: stop once a generation's tolerance is at or below this.
        min_acceptance: stop once a generation keeps fewer than this share of its candidates.
        max_simulations: stop before a generation that would exceed this many candidates in all.
    """

    population: int = 100
    generations: int = 6
    quantile: float = 0.5
    min_epsilon: float = 0.0
    min_acceptance: float = 0.02
    max_simulations: int = 100_000


@dataclass(frozen=True)
class Generation:
    """One generation's particles and its diagnostics.

    Attributes:
        t: its number (0: the prior).
        theta: the kept particles, in the parameters' units (population, k).
        weights: their importance weights, normalised to sum to 1.
        distances: their distances to the record.
        epsilon: the tolerance they passed (``inf`` for generation 0).
        simulated: the candidates simulated to keep them.
    """

    t: int
    theta: np.ndarray
    weights: np.ndarray
    distances: np.ndarray
    epsilon: float
    simulated: int

    @property
    def acceptance(self) -> float:
        """Share of the candidates kept."""
        return len(self.weights) / self.simulated

    @property
    def ess(self) -> float:
        """Effective sample size of the weights, ``1 / sum w^2`` (Kish)."""
        return float(1.0 / np.sum(self.weights**2))


def generation_rng(seed: int, t: int) -> np.random.Generator:
    """The generator of generation ``t``: from the calibration's seed and t only (so a resume draws the same)."""
    return np.random.Generator(np.random.PCG64(np.random.SeedSequence([seed, t])))


def weighted_quantile(x: np.ndarray, w: np.ndarray, q: float) -> float:
    """The smallest value of ``x`` at which the cumulated, normalised weights reach ``q``."""
    order = np.argsort(x, kind="stable")
    cum = np.cumsum(w[order]) / np.sum(w)
    return float(x[order][min(int(np.searchsorted(cum, q - 1e-12)), len(x) - 1)])


def kernel_cov(u: np.ndarray, w: np.ndarray) -> np.ndarray:
    """Twice the weighted covariance of unit-space particles (Beaumont et al. 2009), kept positive definite."""
    k = u.shape[1]
    cov = np.atleast_2d(np.cov(u, rowvar=False, aweights=w)) if len(u) > 1 else np.zeros((k, k))
    return 2.0 * cov + 1e-10 * np.eye(k)


def _first(prior: Prior, simulate: Simulate, s: Settings, rng: np.random.Generator) -> Generation:
    """Generation 0: the prior, every particle kept."""
    u = rng.random((s.population, len(prior.names)))
    theta = prior.from_unit(u)
    d = np.asarray(simulate(theta, 0, 0), dtype=float)
    return Generation(0, theta, np.full(s.population, 1.0 / s.population), d, np.inf, s.population)


def _propose(prev: Generation, prior: Prior, cov: np.ndarray, m: int, rng: np.random.Generator) -> np.ndarray:
    """``m`` unit-space candidates: particles of ``prev`` drawn by weight, perturbed, inside the prior."""
    u_prev = prior.to_unit(prev.theta)
    chol = np.linalg.cholesky(cov)
    out = np.empty((0, u_prev.shape[1]))
    while len(out) < m:  # draw in blocks; keep those inside [0, 1]^k, in the order drawn
        pick = rng.choice(len(u_prev), size=m, p=prev.weights)
        cand = u_prev[pick] + rng.standard_normal((m, u_prev.shape[1])) @ chol.T
        out = np.vstack([out, cand[np.all((cand >= 0.0) & (cand <= 1.0), axis=1)]])
    return out[:m]


def _weights(u: np.ndarray, prev_u: np.ndarray, prev_w: np.ndarray, cov: np.ndarray) -> np.ndarray:
    """Importance weights ``1 / sum_j w_j K(u | u_j)`` (the prior is constant in the unit space), normalised."""
    kernel = stats.multivariate_normal(mean=np.zeros(u.shape[1]), cov=cov)
    mix = np.empty(len(u))
    rows = max(1, 2_000_000 // max(len(prev_u), 1))  # blocks of rows: memory stays ~16 MB whatever the population
    for a in range(0, len(u), rows):
        block = u[a:a + rows]
        dens = kernel.pdf((block[:, None, :] - prev_u[None, :, :]).reshape(-1, u.shape[1]))
        mix[a:a + rows] = np.reshape(dens, (len(block), len(prev_u))) @ prev_w
    w = 1.0 / mix
    return w / np.sum(w)


def _next(prev: Generation, prior: Prior, simulate: Simulate, s: Settings, rng: np.random.Generator,
          epsilon: float, budget: int) -> Generation | None:
    """Generation ``prev.t + 1`` at tolerance ``epsilon``; None if it would need more than ``budget`` candidates."""
    t, n = prev.t + 1, s.population
    cov = kernel_cov(prior.to_unit(prev.theta), prev.weights)
    kept_u, kept_d, simulated, batch = [], [], 0, 0
    while sum(len(d) for d in kept_d) < n:
        missing = n - sum(len(d) for d in kept_d)
        # the first batch is one population; later ones as many as the acceptance so far needs, at
        # most ten populations (a batch is simulated whole, so an overshoot is paid for)
        rate = sum(len(x) for x in kept_d) / simulated if simulated else 1.0
        m = n if not simulated else int(min(np.ceil(1.2 * missing / max(rate, 0.1 / n)), 10 * n))
        m = min(m, budget - simulated)
        if m <= 0:
            return None
        u = _propose(prev, prior, cov, m, rng)
        d = np.asarray(simulate(prior.from_unit(u), t, batch), dtype=float)
        ok = d <= epsilon
        kept_u.append(u[ok])
        kept_d.append(d[ok])
        simulated += m
        batch += 1
    u, d = np.vstack(kept_u)[:n], np.concatenate(kept_d)[:n]
    w = _weights(u, prior.to_unit(prev.theta), prev.weights, cov)
    return Generation(t, prior.from_unit(u), w, d, epsilon, simulated)


def run_smc(prior: Prior, simulate: Simulate, settings: Settings, seed: int,
            done: Sequence[Generation] = ()) -> Iterator[Generation]:
    """Run ABC-SMC, yielding each new generation as it completes (the caller stores it).

    Args:
        prior: the parameters' priors.
        simulate: the distances of a batch of candidates (module docstring).
        settings: population, generations and stopping rules.
        seed: the calibration's seed (every draw comes from it and the generation's number).
        done: generations already completed (from an interrupted calibration), in order.

    Yields:
        Generations ``len(done)``, ``len(done) + 1``, ... until a stopping rule holds.
    """
    prev = done[-1] if done else None
    spent = sum(g.simulated for g in done)
    if prev is None:
        prev = _first(prior, simulate, settings, generation_rng(seed, 0))
        spent += prev.simulated
        yield prev
    while prev.t + 1 < settings.generations and not stopped(prev, settings):
        epsilon = weighted_quantile(prev.distances, prev.weights, settings.quantile)
        nxt = _next(prev, prior, simulate, settings, generation_rng(seed, prev.t + 1), epsilon,
                    settings.max_simulations - spent)
        if nxt is None:
            return
        spent += nxt.simulated
        yield nxt
        prev = nxt


def stopped(g: Generation, s: Settings) -> bool:
    """Whether the sampler stops after generation ``g`` (tolerance or acceptance reached; the count aside)."""
    return g.t > 0 and (g.epsilon <= s.min_epsilon or g.acceptance < s.min_acceptance)


def credible_interval(values: np.ndarray, weights: np.ndarray, mass: float = 0.9) -> tuple[float, float]:
    """The central weighted credible interval of one parameter's particles."""
    tail = (1.0 - mass) / 2.0
    return weighted_quantile(values, weights, tail), weighted_quantile(values, weights, 1.0 - tail)
