"""``run.py tipping``: the adaptive design on the batch engine, its tables, words and figure.

Each round of the design (:func:`sim.tipping.estimate.adaptive`) is one batch of the
scenario swept over that round's lever values, in ``<out>/rounds/<k>/``: common random
numbers (replication i runs with the same seed at every value), the streaming store and the
executor are the batch engine's. What was delivered is read from each run's flows: the
money and arms every donor gave the factions on the resistance side, per month.
"""

from __future__ import annotations

import argparse
import json
import math
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
from scipy.optimize import isotonic_regression

from sim.tipping import TippingError
from sim.tipping.estimate import Crossing, adaptive, crossings, curve, observed

LEVELS = (0.1, 0.5, 0.9)
DEFAULT_REPLICATIONS = 100


@dataclass(frozen=True)
class Question:
    """What a tipping study asks: which lever, over which range, for which outcome, by when.

    Attributes:
        scenario: the scenario file.
        path: the lever (a scenario field).
        span: its range (low, high).
        outcome: "capital" or "share".
        share: for "share", the share of the country the resistance must hold.
        months: the horizon.
        posterior: a posterior folder each run draws its parameters from (None: the scenario's own).
    """

    scenario: str
    path: str
    span: tuple[float, float]
    outcome: str
    share: float
    months: int
    posterior: str | None = None

    @property
    def words(self) -> str:
        """The outcome in words."""
        if self.outcome == "capital":
            return f"the resistance holds at least one provincial capital within {self.months} months"
        return f"the resistance holds at least {100 * self.share:g}% of the country at month {self.months}"


def question(args: argparse.Namespace) -> Question:
    """The study the command line asks for, checked.

    Raises:
        TippingError: a bad --lever, --outcome or --months.
    """
    path, _, rng = args.lever.partition("=")
    try:
        low, high = (float(v) for v in rng.split(":"))
    except ValueError:
        raise TippingError(f"--lever: expected PATH=LOW:HIGH, e.g. donors.us.budget=0:200, found {args.lever!r}") \
            from None
    if not path.strip() or not high > low:
        raise TippingError(f"--lever: expected PATH=LOW:HIGH with LOW < HIGH, found {args.lever!r}")
    kind, _, pct = args.outcome.partition(":")
    if kind == "capital" and not pct:
        share = 0.0
    elif kind == "share":
        try:
            share = float(pct) / 100
        except ValueError:
            share = math.nan
        if not 0 < share <= 1:
            raise TippingError(f"--outcome: expected share:PCT with PCT in (0, 100], found {args.outcome!r}")
    else:
        raise TippingError(f"--outcome: expected capital or share:PCT, found {args.outcome!r}")
    if not 1 <= args.months <= 600:
        raise TippingError(f"--months: expected 1 to 600, found {args.months}")
    if args.posterior is not None:  # checked before any folder is made
        from sim.posterior import load_posterior

        if path.strip() in load_posterior(args.posterior).paths:
            raise TippingError(f"--lever {path.strip()}: also drawn from --posterior {args.posterior}; remove one")
    return Question(args.scenario, path.strip(), (low, high), kind, share, args.months, args.posterior)


def design(text: str) -> tuple[int, int, int]:
    """``GRID,ROUNDS,ADDED`` -> integers, checked."""
    try:
        grid, rounds, added = (int(v) for v in text.split(","))
    except ValueError:
        raise TippingError(f"--design: expected GRID,ROUNDS,ADDED, e.g. 5,2,3, found {text!r}") from None
    if not (3 <= grid <= 50 and 0 <= rounds <= 10 and 1 <= added <= 20):
        raise TippingError(f"--design: expected GRID 3-50, ROUNDS 0-10, ADDED 1-20, found {text!r}")
    return grid, rounds, added


def outcomes_of(folder: Path, q: Question) -> pd.DataFrame:
    """Per run of a round's folder: lever value, replication, outcome, and USD a month delivered to the resistance."""
    from sim.analysis import load_outcomes
    from sim.outcomes import side

    out, res = load_outcomes(folder)
    within = out[out["month"] <= q.months + 1e-9]
    if q.outcome == "capital":
        hit = within.groupby(["point", "replication"])["resistance_provinces"].max() >= 1
    else:
        last = within[within["month"] == within["month"].max()]
        hit = last.set_index(["point", "replication"])["resistance_territory"] >= q.share
    values = {p["point"]: float(p["values"][q.path]) for p in res.manifests[0]["points"]}
    flows = pd.read_parquet(folder / "flows.parquet", columns=["scenario", "point", "replication", "source",
                                                                "target", "kind", "amount"])
    resistance = {a for (_, a), k in res.kinds.items() if side(k) == "resistance"}
    donors = {d for sc in res.manifests[0]["scenarios"] for d in sc["resolved_scenario"]["donors"]}
    given = flows[flows["kind"].isin(["money", "arms"]) & flows["source"].isin(donors)
                  & flows["target"].isin(resistance)]
    usd = given.groupby(["point", "replication"], observed=True)["amount"].sum() / q.months
    rows = hit.rename("y").astype(float).reset_index()
    rows["x"] = rows["point"].map(values)
    rows["usd_month"] = [float(usd.get((p, r), 0.0)) for p, r in zip(rows["point"], rows["replication"], strict=True)]
    return rows


class Rounds:
    """Runs each round of the design as one batch, and keeps every run's row."""

    def __init__(self, q: Question, reps: int, seed: int, out: Path, workers: int | None) -> None:
        """Args: the question, replications per value, base seed, output folder and workers."""
        self.q, self.reps, self.seed, self.out, self.workers = q, reps, seed, out, workers
        self.rows: list[pd.DataFrame] = []

    def __call__(self, values: Sequence[float]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Run the scenario at ``values`` (one batch) and return its runs' (x, replication, y)."""
        from sim.batch import run_batch
        from sim.plan import attach_posterior, load_points
        from sim.posterior import load_posterior
        from sim.scenario import ScenarioError

        folder = self.out / "rounds" / str(len(self.rows))
        sweep = f"{self.q.path}=" + ",".join(f"{v:.10g}" for v in values)
        try:
            points = load_points([self.q.scenario], sweeps=[sweep], months=self.q.months)
        except ScenarioError as exc:
            raise TippingError(f"--lever: {exc}") from None
        if self.q.posterior is not None:  # replication i draws the same particle at every lever value
            points = attach_posterior(points, load_posterior(self.q.posterior))
        s = run_batch(points, self.reps, self.seed, folder, workers=self.workers, command="run.py tipping")
        if s.failed_runs:
            raise TippingError(f"{s.failed_runs} run(s) failed; see {folder / 'errors.jsonl'}")
        rows = outcomes_of(folder, self.q)
        self.rows.append(rows)
        print(f"  round {len(self.rows) - 1}: {len(values)} value(s), {len(rows)} runs", flush=True)
        return rows["x"].to_numpy(), rows["replication"].to_numpy(), rows["y"].to_numpy()

    def table(self) -> pd.DataFrame:
        """Per lever value: runs, successes, P with its Wilson interval, USD a month delivered."""
        runs = pd.concat(self.rows, ignore_index=True)
        usd = runs.groupby("x")["usd_month"].mean()
        obs = observed(runs["x"].to_numpy(), runs["y"].to_numpy())
        return pd.DataFrame([{"value": v, "runs": n, "successes": k, "probability": k / n, "ci_low": lo,
                              "ci_high": hi, "delivered_usd_month_m": float(usd[v])} for v, n, k, lo, hi in obs])


def delivered(table: pd.DataFrame, value: float) -> float:
    """USD a month delivered at a lever value, interpolated between design values (NaN outside)."""
    if not np.isfinite(value):
        return math.nan
    return float(np.interp(value, table["value"], table["delivered_usd_month_m"]))


def words(q: Question, found: Sequence[Crossing], table: pd.DataFrame) -> str:
    """The answer in words: each crossing with its interval, then where P stands at the range's ends."""
    lines = []
    for c in (c for c in found if np.isfinite(c.value)):
        lo = f"{c.low:.4g}" if np.isfinite(c.low) else f"below {q.span[0]:g}"
        hi = f"{c.high:.4g}" if np.isfinite(c.high) else f"beyond {q.span[1]:g}"
        lines.append(f"P({q.words}) reaches {c.level:.0%} at {q.path} = {c.value:.4g} (95% CI {lo} to {hi}; "
                     f"about {delivered(table, c.value):.3g} M USD a month delivered to the resistance).")
    missed = [f"{c.level:.0%}" for c in found if not np.isfinite(c.value)]
    if missed:
        top = table.iloc[-1]
        lines.append(f"P({q.words}) does not reach {', '.join(missed)} within {q.path} = {q.span[0]:g} to "
                     f"{q.span[1]:g}: at {top['value']:g} ({top['delivered_usd_month_m']:.3g} M USD a month "
                     f"delivered) it is {top['probability']:.0%} (95% CI {top['ci_low']:.0%} to "
                     f"{top['ci_high']:.0%}, {int(top['runs'])} runs).")
    lines.append(f"Each run drew its calibrated parameters from the posterior {q.posterior} (replication i the same "
                 "particle at every value), so the intervals cover that uncertainty as well as the runs' randomness."
                 if q.posterior else "The intervals cover run-to-run randomness only, with the parameters as given.")
    return " ".join(lines)


def figure(q: Question, table: pd.DataFrame, found: Sequence[Crossing], logistic: tuple[float, float],
           path: Path) -> Path:
    """P(outcome | lever) with Wilson bars at the design values, both fits, crossings and delivered USD.

    ``logistic``: the logistic check's (a, b) (:func:`sim.tipping.estimate.curve`).
    """
    from sim.plots import new_figure, save

    fig = new_figure(8, 4.8)
    ax = fig.subplots()
    x, p = table["value"].to_numpy(), table["probability"].to_numpy()
    ax.errorbar(x, p, yerr=[p - table["ci_low"], table["ci_high"] - p], fmt="o", color="#0072B2", ms=4,
                capsize=2, lw=1, label="runs at this value (Wilson 95%)")
    fitted = isotonic_regression(p, weights=table["runs"].to_numpy(float), increasing=True).x
    ax.plot(x, fitted, color="#0072B2", lw=1, ls="--", label="monotone fit (the estimate; interpolated)")
    a, b = logistic
    grid = np.linspace(*q.span, 200)
    z = (grid - q.span[0]) / (q.span[1] - q.span[0])
    ax.plot(grid, 1 / (1 + np.exp(-(a + b * z))), color="#555555", lw=1, ls=":", label="logistic fit (the check)")
    for c in found:
        if np.isfinite(c.value):
            lo = c.low if np.isfinite(c.low) else q.span[0]
            hi = c.high if np.isfinite(c.high) else q.span[1]
            ax.plot([lo, hi], [c.level, c.level], color="#D55E00", lw=3, alpha=0.6, solid_capstyle="butt")
            ax.plot([c.value], [c.level], "D", color="#D55E00", ms=5)
    ax.plot([], [], color="#D55E00", lw=3, alpha=0.6, label="crossing of 10%, 50%, 90% with its 95% CI")
    ax.set_xlim(q.span)
    ax.set_ylim(-0.02, 1.02)
    ax.set_xlabel(f"{q.path} (the scenario field's unit)")
    ax.set_ylabel("probability (share of runs)")
    ax.set_title(f"P({q.words})", fontsize=9)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=7, loc="upper left")
    usd = table["delivered_usd_month_m"].to_numpy()
    if np.all(np.diff(usd) > 0):  # a second scale only where delivered money rises with the lever
        top = ax.secondary_xaxis("top", functions=(lambda v: _line(v, x, usd), lambda u: _line(u, usd, x)))
        top.set_xlabel("delivered to the resistance (M USD a month, money and arms)", fontsize=8)
    fig.subplots_adjust(left=0.1, right=0.97, top=0.82, bottom=0.12)
    return save(fig, path)


def _line(v: np.ndarray, xs: np.ndarray, ys: np.ndarray) -> np.ndarray:
    """Piecewise-linear map through (xs, ys), extended linearly beyond the ends (axis ticks fall outside too)."""
    v = np.asarray(v, dtype=float)
    out = np.interp(v, xs, ys)
    lo, hi = (ys[1] - ys[0]) / (xs[1] - xs[0]), (ys[-1] - ys[-2]) / (xs[-1] - xs[-2])
    out = np.where(v < xs[0], ys[0] + (v - xs[0]) * lo, out)
    return np.where(v > xs[-1], ys[-1] + (v - xs[-1]) * hi, out)


def cmd_tipping(args: argparse.Namespace) -> int:
    """Run the adaptive design, estimate the crossings, print and write the answer.

    Raises:
        TippingError: a bad option (the command line makes it exit code 2).
    """
    from sim.effects.table import options
    from sim.folder import study

    q = question(args)
    grid, rounds, added = design(args.design)
    reps, seed = options(args, DEFAULT_REPLICATIONS)
    t0 = time.perf_counter()
    with study(args, "tipping", TippingError) as (out, _):
        print(f"Tipping: P({q.words}) against {q.path} from {q.span[0]:g} to {q.span[1]:g}; {reps} replications "
              f"per value, seed {seed}; design {grid} values then {rounds} round(s) of {added}", flush=True)
        runs = Rounds(q, reps, seed, out, args.workers)
        x, rep, y = adaptive(runs, q.span, LEVELS, grid, rounds, added)
        found = crossings(x, rep, y, LEVELS, q.span)
        table = runs.table()
        text = words(q, found, table)
        table.to_csv(out / "tipping.csv", index=False)
        pd.DataFrame([{**c.__dict__, "delivered_usd_month_m": delivered(table, c.value)} for c in found]) \
            .to_csv(out / "crossings.csv", index=False)
        figure(q, table, found, curve(x, y, q.span), out / "tipping.png")
        (out / "tipping.json").write_text(json.dumps({"question": q.__dict__, "replications": reps, "seed": seed,
                                                      "answer": text}, indent=1, default=str), encoding="utf-8")
    print("\n" + text)
    print(f"\n{len(x)} runs, {time.perf_counter() - t0:.0f} s. Tables in {out / 'tipping.csv'} and "
          f"{out / 'crossings.csv'}; figure {out / 'tipping.png'}; runs in {out}/rounds/<k>/")
    return 0
