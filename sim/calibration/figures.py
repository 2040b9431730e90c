"""The calibration's figure: prior and posterior marginals on the diagonal, particles in pairs below."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from sim.calibration.smc import Generation, Prior


def posterior_figure(first: Generation, last: Generation, prior: Prior, path: Path) -> Path:
    """A pair plot: each parameter's prior (generation 0) and posterior histograms, and each pair's particles."""
    from sim.plots import new_figure, save

    k = len(prior.names)
    fig = new_figure(2.6 * k + 0.6, 2.3 * k + 0.6)
    axes = fig.subplots(k, k, squeeze=False)
    for i in range(k):
        for j in range(k):
            ax = axes[i][j]
            if j > i:
                ax.axis("off")
                continue
            if i == j:
                bins = _bins(prior, i)
                ax.hist(first.theta[:, i], bins=bins, weights=first.weights, color="#bbbbbb", label="prior")
                ax.hist(last.theta[:, i], bins=bins, weights=last.weights, color="#0072B2", alpha=0.75,
                        label="posterior")
                ax.set_yticks([])
                if i == 0:
                    ax.legend(fontsize=7)
            else:
                ax.scatter(last.theta[:, j], last.theta[:, i], s=4 + 400 * last.weights, color="#0072B2", alpha=0.5)
                ax.set_ylim(prior.low[i], prior.high[i])
                _scale(ax, prior, i, "y")
                if j == 0:
                    ax.set_ylabel(_short(prior.names[i]), fontsize=7)
            ax.set_xlim(prior.low[j], prior.high[j])
            _scale(ax, prior, j, "x")
            if i == k - 1:
                ax.set_xlabel(_short(prior.names[j]), fontsize=7)
            ax.tick_params(labelsize=6)
    fig.suptitle(f"Prior (grey, generation 0) and posterior (blue, generation {last.t}); "
                 "dots: posterior particles, sized by weight", fontsize=8)
    fig.subplots_adjust(left=0.12, bottom=0.1, right=0.97, top=0.9, hspace=0.35, wspace=0.3)
    return save(fig, path)


def _bins(prior: Prior, i: int) -> np.ndarray:
    if prior.log[i]:
        return np.geomspace(prior.low[i], prior.high[i], 21)
    return np.linspace(prior.low[i], prior.high[i], 21)


def _scale(ax: object, prior: Prior, i: int, axis: str) -> None:
    if prior.log[i]:
        (ax.set_xscale if axis == "x" else ax.set_yscale)("log")  # type: ignore[attr-defined]


def _short(path: str) -> str:
    return path.rsplit(".", 1)[-1]
