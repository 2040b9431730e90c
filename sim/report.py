"""The comparison report: tables (CSV), figures and report.md for one or more results folders."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from sim import adapters, analysis, fans, headline, provenance
from sim import levers as levers_fig
from sim.outcomes import (
    COMPARED,
    GOVERNMENT_TERRITORY,
    RESISTANCE_TERRITORY,
    kinds,
)
from sim.statistics import BAND_NAMES, BOOTSTRAP

DEFAULT_MONTHS = (12, 36, 60)  # compared when no months are given, up to the results' horizon


def _figures(out: pd.DataFrame, res: analysis.Results, folders: Sequence[str | Path], found: Sequence,
             levers: dict[str, pd.DataFrame], months: Sequence[float], figs: Path,
             min_effect: float, shared: bool = True) -> list[Path]:
    """Every figure of the report, in its order (small multiples per group: :mod:`sim.fans`).

    ``shared``: the fan charts' panels share one y scale (else one a panel).
    """
    view = fans.group_view(out, folders, res.manifests, res.swept)
    made = [fans.fan_figure(out, o, view, figs / f"fan_{o.name}.png", shared)
            for o in (RESISTANCE_TERRITORY, GOVERNMENT_TERRITORY)]
    made += [fans.levels_figure(out, months, view, figs / "distributions.png"),
             fans.difference_figure(out, found, months, view, figs / "paired_differences.png", min_effect),
             fans.probability_figure(out, view, figs / "probability_holds_province.png")]
    for p, t in levers.items():
        if len(t):
            given = levers_fig.delivered(out, res, folders, p, float(t["month"].iloc[0]))
            made.append(levers_fig.lever_figure(t, given, p, figs / f"lever_{p}.png", _donor_label(res, p)))
    return [f for f in made if f is not None]


def _differences_md(found: Sequence[headline.Contrast], figures: Sequence[Path]) -> list[str]:
    """The paired differences figure's paragraph: what it shows, and which contrasts it leaves out (unpaired)."""
    unpaired = [f"{c.group} − {c.reference}" for c in found if not c.paired]
    lines = []
    if any(f.name == "paired_differences.png" for f in figures):
        lines += ["Paired differences in resistance territory, each run minus the same replication of its matched "
                  "reference (same seed), at each compared month; the grey band is the minimum meaningful effect:",
                  "", "![paired differences](figures/paired_differences.png)", ""]
    if unpaired:
        lines += ["Not drawn as paired differences (their runs are not paired, so no run has a matched "
                  "reference): " + "; ".join(unpaired) + ".", ""]
    return lines


def _donor_label(res: analysis.Results, path: str) -> str | None:
    """The label of the donor a lever belongs to (``donors.<key>.…``), from the resolved scenarios."""
    if not path.startswith("donors."):
        return None
    key = path.split(".")[1]
    return next((sc["resolved_scenario"]["donors"][key].get("label", key) for m in res.manifests
                 for sc in m["scenarios"] if key in sc["resolved_scenario"].get("donors", {})), key)


def _md(df: pd.DataFrame, pct: Sequence[str] = (), digits: int = 4) -> str:
    if df.empty:
        return "(none)\n"
    cols = list(df.columns)
    lines = ["| " + " | ".join(cols) + " |", "|" + "---|" * len(cols)]
    for _, r in df.iterrows():
        cells = []
        for c in cols:
            v = r[c]
            if c in pct and isinstance(v, float):
                cells.append("" if np.isnan(v) else f"{v:.2%}")
            elif isinstance(v, float):
                cells.append("" if np.isnan(v) else f"{v:.{digits}g}")
            else:
                cells.append(str(v))
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


class MonthsError(ValueError):
    """Months to compare that the results do not hold."""


def _months(months: Sequence[float] | None, horizon: float) -> list[float]:
    """The months to compare: the given ones, all within the results, or the defaults up to the horizon.

    Raises:
        MonthsError: for a month before the start or beyond the horizon (never dropped silently).
    """
    if months is None:
        return [m for m in DEFAULT_MONTHS if m <= horizon + 1e-9] or [horizon]
    bad = [m for m in months if not 0 <= m <= horizon + 1e-9]
    if bad or not months:
        raise MonthsError(f"months {', '.join(f'{m:g}' for m in bad) or '(none)'}: outside the results, which run "
                         f"from month 0 to month {horizon:g}")
    return list(months)


@dataclass(frozen=True)
class Thresholds:
    """What the report counts as an end state and as a meaningful effect.

    Attributes:
        holds: shares of the country for the end states "the resistance holds at least x".
        wiped_out: share of the country under which the resistance counts as wiped out.
        min_territory: the smallest change of a share of the country that counts (a fraction).
        min_probability: the smallest change of a probability that counts (a fraction).
    """

    holds: Sequence[float] = analysis.HOLDS
    wiped_out: float = analysis.WIPED_OUT
    min_territory: float = headline.MIN_TERRITORY
    min_probability: float = headline.MIN_PROBABILITY


def _base_scenario(out: pd.DataFrame, baseline: str | None) -> tuple[str, str]:
    """The baseline scenario and the group the adequacy table's single comparisons use.

    ``baseline`` names a scenario or a group; by default the scenario 'baseline' if present,
    else the first group's.

    Raises:
        ValueError: for a baseline that is neither.
    """
    groups = list(dict.fromkeys(out["group"]))
    scen = dict(zip(out["group"], out["scenario"], strict=True))
    if baseline is None:
        baseline = "baseline" if "baseline" in scen.values() else scen[groups[0]]
    if baseline in groups:
        return scen[baseline], baseline
    if baseline in scen.values():
        return baseline, next(g for g in groups if scen[g] == baseline)
    raise ValueError(f"--baseline: {baseline!r} is neither a scenario nor a group of the results; scenarios: "
                     f"{sorted(set(scen.values()))}; groups: {groups}")


def _matched_paired(out: pd.DataFrame, found: Sequence[headline.Contrast], months: Sequence[float]) -> pd.DataFrame:
    """Paired differences of every outcome for each paired scenario contrast (the CSV's detail)."""
    parts = [analysis.paired_differences(out[out["group"].isin([c.group, c.reference])], c.reference, months)
             for c in found if c.paired and c.kind == "scenario"]
    return pd.concat(parts, ignore_index=True) if parts else pd.DataFrame()


def _pivot_ends(probs: pd.DataFrame) -> pd.DataFrame:
    """End states as rows, months as columns, each cell 'p [low, high]' (percent of runs)."""
    if probs.empty:
        return probs
    cell = probs.assign(cell=[f"{p:.0%} [{lo:.0%}, {hi:.0%}]" for p, lo, hi in
                              zip(probs["probability"], probs["ci_low"], probs["ci_high"], strict=True)])
    wide = cell.pivot(index=["end_state", "group"], columns="month", values="cell")
    wide.columns = [f"month {m:g}" for m in wide.columns]
    order = list(dict.fromkeys(probs["end_state"]))
    return wide.reset_index().sort_values("end_state", key=lambda s: s.map(order.index), kind="stable")


def _headline_md(table: pd.DataFrame) -> str:
    """The headline table for reading: one row per contrast and quantity, one column per month."""
    if table.empty:
        return "(no matched contrast)\n"
    cells = table.assign(
        runs=[f"{a}" if p else f"{a} / {b} (unpaired)" for a, b, p in
              zip(table["runs"], table["reference_runs"], table["paired"], strict=True)],
        cell=[f"{100 * b:.3g}% → {100 * a:.3g}%: {d:+.2f} pp [{lo:+.2f}, {hi:+.2f}], {v}" for a, b, d, lo, hi, v in
              zip(table["group_value"], table["reference_value"], table["difference_pp"], table["ci_low_pp"],
                  table["ci_high_pp"], table["verdict"], strict=True)])
    keys = ["group", "contrast", "reference", "quantity", "runs"]
    wide = cells.pivot(index=keys, columns="month", values="cell")
    wide.columns = [f"month {m:g}" for m in wide.columns]
    order = {k: i for i, k in enumerate(dict.fromkeys(map(tuple, cells[keys].to_numpy())))}
    wide = wide.reset_index()
    wide = wide.iloc[sorted(range(len(wide)), key=lambda i: order[tuple(wide.loc[i, keys])])]
    return _md(wide)


def write_report(folders: Sequence[str | Path], out_dir: Path, baseline: str | None = None,
                 months: Sequence[float] | None = None, limits: Thresholds = Thresholds(),
                 command: str | None = None, shared: bool = True) -> Path:
    """Compare the groups of the given results folders and write report.md, CSV tables and figures.

    The report opens with the answer (:mod:`sim.headline`): each scenario against the
    baseline at the same sweep point, each lever against its lowest value, with verdicts.

    Args:
        folders: results folders (each from ``run.py run``).
        out_dir: where to write the report.
        baseline: the baseline scenario, or one of its groups (default: the scenario
            'baseline' if present, else the first group's scenario).
        months: months at which outcomes are compared (default: DEFAULT_MONTHS up to the horizon,
            or the horizon).
        limits: end states and minimum meaningful effects.
        command: the command that made the report (for its provenance block).
        shared: one y scale for every panel of a fan chart (default), else one a panel.

    Returns:
        The path of report.md.

    Raises:
        ValueError: for an unknown baseline.
        MonthsError: for a month before the start or beyond the results' horizon.
    """
    out, res = analysis.load_outcomes(*folders)
    groups = list(dict.fromkeys(out["group"]))
    base_scenario, baseline = _base_scenario(out, baseline)
    months = _months(months, float(out["month"].max()))
    out_dir.mkdir(parents=True, exist_ok=True)
    figs = out_dir / "figures"
    figs.mkdir(exist_ok=True)

    found, unmatched = headline.contrasts(out, base_scenario, res.swept)
    answer = headline.headline(analysis.at_months(out, months), found, limits.min_territory,
                               limits.min_probability)
    summary = analysis.summary_table(out, months)
    probs = analysis.end_state_probabilities(out, months, limits.holds, limits.wiped_out)
    tte = analysis.time_to_event(out)
    paired = _matched_paired(out, found, months)
    adequacy = analysis.adequacy(out, months[-1], paired if len(paired) else None)
    levers = {path: analysis.lever_table(out, path, months[-1]) for path in res.swept}
    cast = pd.concat([adapters.actors(f) for f in folders], ignore_index=True).drop_duplicates(["scenario", "actor"])
    tables = {"headline": answer, "summary": summary, "end_states": probs, "time_to_event": tte,
              "paired_differences": paired, "adequacy": adequacy, "actors": cast,
              **{f"lever_{p}": t for p, t in levers.items()}}
    for name, t in tables.items():
        t.to_csv(out_dir / f"{name}.csv", index=False)
    figures = _figures(out, res, folders, found, levers, months, figs, limits.min_territory, shared)

    reps = out.groupby("group", observed=True)["replication"].nunique()
    covered, _ = provenance.coverage(folders, res.manifests)
    lines = [
        "# Scenario comparison",
        "",
        "## The answer",
        "",
        headline.summary(answer, unmatched, limits.min_territory, limits.min_probability),
        "",
        covered,
        "",
        _headline_md(answer),
        f"Differences are in percentage points (pp): of the country for territory, of runs for probabilities. "
        f"The baseline scenario is **{base_scenario}**; a scenario is compared with it at the same sweep point, "
        "a lever with its lowest swept value. Runs count as paired only where the recorded seeds match "
        "(replication i ran with the same seed in both groups); territory intervals are percentile bootstraps "
        f"({BOOTSTRAP} resamples, fixed seed) of the mean difference, paired where the runs are; probability "
        "intervals are Newcombe's hybrid score intervals, which ignore pairing (conservative). "
        "Outcomes count the factions of kind " + ", ".join(f"`{k}`" for k in kinds("resistance"))
        + " as the resistance. Verdicts, against the minimum meaningful effect: *meaningful* (the whole interval "
        "beyond it), *negligible* (the whole interval within it), *size uncertain* (zero excluded, the minimum "
        "not), *inconclusive* (neither: more runs needed).",
        "",
        f"Results: {', '.join(str(f) for f in folders)}. Groups (scenario at a sweep point): "
        + ", ".join(f"{g} ({reps[g]} runs)" for g in groups) + f". Months compared: "
        f"{', '.join(f'{m:g}' for m in months)}. Outcomes: "
        + ", ".join(f"`{o.name}`: {o.label}" for o in COMPARED) + ".",
        "",
        "## Territory over time",
        "",
        "One panel per group; " + ("every panel shares one y scale, so heights compare across panels."
                                   if shared else "each panel has its own y scale (`--scale own`): read the "
                                   "axes before comparing heights across panels."),
        "",
        f"![{RESISTANCE_TERRITORY.label}](figures/fan_{RESISTANCE_TERRITORY.name}.png)",
        "",
        f"![{GOVERNMENT_TERRITORY.label}](figures/fan_{GOVERNMENT_TERRITORY.name}.png)",
        "",
        "## Outcomes at the compared months",
        "",
        "Resistance share of the country (percent of the country):",
        "",
        _md(summary[summary["outcome"] == RESISTANCE_TERRITORY.name].drop(columns="outcome"),
            pct=("mean", *BAND_NAMES)),
        "![distributions](figures/distributions.png)",
        "",
        *_differences_md(found, figures),
        "## End-state probabilities",
        "",
        "Percent of runs, with Wilson 95% intervals:",
        "",
        _md(_pivot_ends(probs)),
        "![probability over time](figures/probability_holds_province.png)",
        "",
        "## Time to event",
        "",
        _md(tte, pct=("share_with_event",)),
    ]
    lines += ["## Replication adequacy", "",
              f"At month {months[-1]:g}: the 95% CI half-width now, and the runs needed for a half-width of 0.1 "
              "percentage point of the country (group means) or for a paired difference's interval to exclude "
              "zero (half of the difference).", "",
              _md(adequacy, pct=("ci_half_width", "target_half_width"))]
    for p, t in levers.items():
        lines += [f"## Lever: `{p}`", "", _md(t, pct=(*BAND_NAMES, "p_holds_province")),
                  f"![lever](figures/lever_{p}.png)", ""]
    lines += ["## Files", "", "Tables: " + ", ".join(f"`{n}.csv`" for n in tables) + " (`paired_differences.csv`: "
              "every outcome of each paired scenario contrast). Figures: "
              + ", ".join(f"`figures/{f.name}`" for f in figures) + ".", ""]
    lines += provenance.block(folders, res.manifests, command)
    report = out_dir / "report.md"
    report.write_text("\n".join(lines), encoding="utf-8")
    return report
