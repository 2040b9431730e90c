"""Named random streams spawned from one SeedSequence per run.

Every random draw in a run comes from one of these generators. Each subsystem owns
its stream, so changing how often one subsystem draws (say, a new combat rule)
leaves the draws of the others untouched: this is the light form of common random
numbers that keeps paired scenario comparisons tight.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

#: The subsystems that draw random numbers, in a fixed order. The order is part of
#: the reproducibility contract: appending a stream is safe, reordering is not.
STREAM_NAMES: tuple[str, ...] = ("mesa", "combat", "alliances", "cohesion", "terror", "capitals", "raids")


@dataclass(frozen=True)
class Streams:
    """One numpy Generator per subsystem, all children of one SeedSequence.

    Attributes:
        seed: the integer seed the run was started with.
        mesa: stream handed to Mesa (``model.rng``) for any agent-level shuffling.
        combat: combat noise on fighting power.
        alliances: formation and break-up of resistance fronts.
        cohesion: the Taliban split draw.
        terror: jihadist attacks.
        capitals: garrisons' surrender.
        raids: attacks on the government's forces (7.8).
    """

    seed: int
    mesa: np.random.Generator
    combat: np.random.Generator
    alliances: np.random.Generator
    cohesion: np.random.Generator
    terror: np.random.Generator
    capitals: np.random.Generator
    raids: np.random.Generator


def make_streams(seed: int) -> Streams:
    """Spawn the named streams of one run from its seed.

    Args:
        seed: a non-negative integer; the run's only source of randomness.

    Returns:
        The streams, each seeded from ``SeedSequence(seed).spawn(len(STREAM_NAMES))``.

    Raises:
        ValueError: if the seed is negative.
    """
    if seed < 0:
        raise ValueError(f"seed must be a non-negative integer, got {seed}")
    children = np.random.SeedSequence(seed).spawn(len(STREAM_NAMES))
    pairs = zip(STREAM_NAMES, children, strict=True)
    gens = {name: np.random.Generator(np.random.PCG64(child)) for name, child in pairs}
    return Streams(seed=seed, **gens)


def replication_seed(base_seed: int, replication: int) -> int:
    """Seed of replication ``replication`` in a batch started from ``base_seed``.

    It depends on the base seed and the index only, never on how many replications
    were asked for, so replication i is the same run in every scenario of a batch
    (common random numbers across scenarios).

    Args:
        base_seed: the batch seed given by the user.
        replication: the zero-based replication index.

    Returns:
        A 63-bit non-negative integer seed.
    """
    ss = np.random.SeedSequence([base_seed, replication])
    return int(ss.generate_state(1, dtype=np.uint64)[0] >> np.uint64(1))


#: Spawn key of the posterior draw: a stream of its own, apart from the run's (whose seed
#: comes from ``SeedSequence([base_seed, replication])`` without a spawn key).
PARTICLE_KEY = 1


def particle_draw(base_seed: int, replication: int, cumulative: np.ndarray) -> int:
    """The posterior particle replication ``replication`` runs with, from the weights' running sum.

    One uniform number from ``SeedSequence([base_seed, replication], spawn_key=(PARTICLE_KEY,))``
    picks a particle with probability proportional to its weight (sampling with replacement).
    Like :func:`replication_seed` it depends on the base seed and the index only, so replication
    ``i`` draws the same particle in every scenario of a batch, however many replications it has.

    Args:
        base_seed: the batch seed.
        replication: the zero-based replication index.
        cumulative: the running sum of the particles' weights (non-decreasing, last element > 0).

    Returns:
        The particle's index; a particle of weight zero is never drawn.
    """
    ss = np.random.SeedSequence([base_seed, replication], spawn_key=(PARTICLE_KEY,))
    u = np.random.Generator(np.random.PCG64(ss)).random()
    return min(int(np.searchsorted(cumulative, u * cumulative[-1], side="right")), len(cumulative) - 1)
