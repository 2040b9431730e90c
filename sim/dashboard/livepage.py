"""The live model page: pick a scenario and its levers, step or play an ensemble, make moves, export them.

The conventions are SolaraViz's (Mesa): the model is stepped with ``model.step()`` and the
page redraws its components from the models after each step. What SolaraViz does not do, and
this page does: it steps an *ensemble* (N replications, shown as bands), and an analyst can
pause, make a state's or a faction's move, and see the played runs against the unplayed ones,
paired by replication (:mod:`sim.dashboard.live`). The moves export as a scenario file that
``run.py run`` replays to identical results.
"""

from __future__ import annotations

import html
import threading
import time
from pathlib import Path

import numpy as np
import solara

from sim.dashboard.live import Session, save
from sim.dashboard.moves import ACTIONS, Move
from sim.dashboard.svgmap import map_svg, outline
from sim.maps import Actor, blocs_of

__all__ = ["LIBRARY", "LivePage", "scenario_files"]

LIBRARY = Path(__file__).resolve().parent.parent.parent / "scenarios"  # the shipped library, in a checkout
PLAY_PAUSE_S = 0.35  # between two steps while playing: time to see the map move


def scenario_files(roots: list[Path]) -> dict[str, Path]:
    """Scenario files the page may start from: the shipped library, and YAML files at the top of each root."""
    found = {}
    for folder in [LIBRARY, *roots]:
        if folder.is_dir():
            for f in sorted(folder.glob("*.yaml")):
                found.setdefault(f.stem if folder == LIBRARY else f"{folder.name}/{f.stem}", f)
    return found


def levers(base: dict) -> list[str]:
    """Fields a lever may set before the start: donors' budgets and willingness, resistance groups' forces."""
    out = []
    for k in base["donors"]:
        out += [f"donors.{k}.{f}" for f in ("budget", "arms_willingness", "sanctuary_willingness")]
    for k, f in base["factions"].items():
        if f["kind"] == "resistance":
            out += [f"factions.{k}.strength", f"factions.{k}.funds"]
    return out


def _fan(s: Session):
    """Resistance territory so far: bands of the unplayed and the played runs, and their paired difference."""
    from matplotlib.figure import Figure

    from sim.figstyle import percent_axis, share_limits
    from sim.statistics import bootstrap_mean_cis

    fig = Figure(figsize=(6.2, 4.2), layout="constrained")
    top, bottom = fig.subplots(2, 1, sharex=True, height_ratios=[3, 2])
    dates = np.array(s.played.models[0].dates[: s.step + 1], dtype="datetime64[D]")
    hi, runs = 0.0, {}
    for ens, colour, name in ((s.unplayed, "#999999", "unplayed"), (s.played, "#009E73", "played")):
        runs[name] = r = s.resistance(ens)
        q = np.quantile(r, [0.05, 0.5, 0.95], axis=0)
        top.fill_between(dates, q[0], q[2], color=colour, alpha=0.25, lw=0)
        top.plot(dates, q[1], color=colour, lw=1.6, label=f"{name} (median, 90% band)")
        hi = max(hi, float(q[2].max()))
    top.set_ylim(*share_limits(0.0, hi))
    percent_axis(top)
    top.set_ylabel("resistance territory", fontsize=8)
    top.legend(fontsize=7, loc="upper left")
    d = (runs["played"] - runs["unplayed"]) * 100
    ci = bootstrap_mean_cis(d) if len(d) > 1 else np.zeros((d.shape[1], 2))
    bottom.fill_between(dates, ci[:, 0], ci[:, 1], color="#0072B2", alpha=0.25, lw=0)
    bottom.plot(dates, d.mean(axis=0), color="#0072B2", lw=1.4, label="played minus unplayed (mean, 95% CI)")
    bottom.axhline(0, color="#555555", lw=0.8)
    bottom.set_ylabel("paired difference (pp)", fontsize=8)
    bottom.legend(fontsize=7, loc="upper left")
    for ax in (top, bottom):
        ax.tick_params(labelsize=7)
    return fig


def _map(s: Session) -> str:
    """Mean control of the resistance bloc now, over the played runs."""
    keys = list(s.base["factions"])
    actors = {k: Actor(f["label"], f["kind"]) for k, f in s.base["factions"].items()}
    blocs = blocs_of(keys, actors)
    bloc = next((b for b, ks in blocs.items() if actors[ks[0]].kind == "resistance"), next(iter(blocs)))
    idx = [keys.index(k) for k in blocs[bloc]]
    values = s.mean_control(s.played)[:, idx].sum(axis=1)
    date = s.played.models[0].dates[s.step]
    svg = map_svg(outline(s.map), values, "control", f"{bloc}, {str(date)[:7]}, played runs")
    return svg.replace("<svg ", f'<svg data-month="{s.step}" ', 1)


def _moves_table(s: Session) -> str:
    """The log of moves: month, actor, action, value, reason."""
    body = "".join(f"<tr><td>{mv.month:g}</td><td>{html.escape(mv.actor)}</td><td>{html.escape(mv.action)}</td>"
                   f"<td>{mv.value:g}{' ' + html.escape(mv.target) if mv.target else ''}</td>"
                   f"<td>{html.escape(mv.reason)}</td></tr>" for mv in s.moves)
    return ("<table class='moves'><tr><th>month</th><th>actor</th><th>action</th><th>value</th><th>reason</th></tr>"
            + body + "</table>") if body else "<p>No move yet.</p>"


def _lever_paths(path: Path) -> list[str]:
    """The levers of a scenario file (none when it does not load: the start button says why)."""
    from sim.scenario import ScenarioError, load_scenario

    try:
        return levers(load_scenario(path)[0].resolved())
    except (ScenarioError, OSError):
        return []


@solara.component
def MoveForm(s: Session, on_move):
    """Pause, pick an actor and an action, say why, and make the move."""
    actors = {**{f"{d['label']} (state)": k for k, d in s.base["donors"].items()},
              **{f"{f['label']} (faction)": k for k, f in s.base["factions"].items()}}
    who, set_who = solara.use_state(next(iter(actors)))
    is_state = who.endswith("(state)")
    actions = [a.name for a in ACTIONS.values() if (a.who == "state") == is_state]
    action, set_action = solara.use_state(actions[0])
    action = action if action in actions else actions[0]
    value, set_value = solara.use_state(0.5)
    targets = {f["label"]: k for k, f in s.base["factions"].items()}
    target, set_target = solara.use_state(next(iter(targets)))
    reason, set_reason = solara.use_state("")
    a = ACTIONS[action]
    with solara.Card("Make a move", classes=["move-form"]):
        with solara.Row():
            solara.Select("actor", value=who, values=list(actors), on_value=set_who)
            solara.Select("action", value=action, values=actions, on_value=set_action)
        if a.unit:
            solara.InputFloat(f"value ({a.unit}, {a.lo:g} to {a.hi:g})", value=value, on_value=set_value)
        if a.target:
            solara.Select("with" if action == "join_front" else "toward", value=target, values=list(targets),
                          on_value=set_target)
        solara.InputText("reason", value=reason, on_value=set_reason, continuous_update=True)
        solara.Button("make the move", color="primary", on_click=lambda: on_move(
            Move(s.step, s.step * s.played.models[0].dt, actors[who], action, float(value), targets[target]
                 if a.target else "", reason)))


@solara.component
def LivePage(roots: list[Path]):
    """Start a session, step or play it, make moves, compare, export and save."""
    files = scenario_files(roots)
    names = list(files)
    scenario, set_scenario = solara.use_state("baseline" if "baseline" in files else names[0])
    reps, set_reps = solara.use_state(20)
    seed, set_seed = solara.use_state(1)
    months, set_months = solara.use_state(36)
    chosen, set_chosen = solara.use_state([])
    lever, set_lever = solara.use_state("")
    lever_value, set_lever_value = solara.use_state(0.0)
    session, set_session = solara.use_state(None)
    _tick, set_tick = solara.use_state(0)
    playing, set_playing = solara.use_state(False)
    message, set_message = solara.use_state("")

    def start():
        try:
            set_session(Session.start(files[scenario], list(chosen), int(seed), int(reps), int(months)))
            set_message("")
        except (ValueError, OSError) as exc:  # a ScenarioError is a ValueError: one line naming the field
            set_message(f"error: {exc}")

    def advance(k: int):
        with session.lock:
            session.advance(k)
        set_tick(lambda t: t + 1)

    def play_loop(cancel: threading.Event | None = None):
        while playing and session is not None and session.step < session.played.horizon \
                and not (cancel is not None and cancel.is_set()):
            advance(1)
            time.sleep(PLAY_PAUSE_S)
        set_playing(False)

    solara.use_thread(play_loop, dependencies=[playing, session])

    def on_move(mv: Move):
        try:
            with session.lock:
                session.move(mv)
            set_message(f"move made at month {mv.month:g}: it takes effect from the next step")
        except ValueError as exc:
            set_message(f"error: {exc}")
        set_tick(lambda t: t + 1)

    def on_save():
        stamp = time.strftime("%Y%m%d_%H%M%S")
        path, out = save(session, roots[0] / "live", stamp)
        set_message(f"saved {path.name} and its runs in {out}")

    with solara.Columns([1, 3]):
        with solara.Card("Live model", classes=["live-controls"]), solara.Column():
            solara.Select("scenario", value=scenario, values=names, on_value=set_scenario)
            solara.InputInt("replications", value=reps, on_value=set_reps)
            solara.InputInt("seed", value=seed, on_value=set_seed)
            solara.InputInt("months", value=months, on_value=set_months)
            all_levers = solara.use_memo(lambda: _lever_paths(files[scenario]), [scenario])
            if all_levers:
                solara.Select("lever", value=lever if lever in all_levers else all_levers[0], values=all_levers,
                              on_value=set_lever)
                solara.InputFloat("lever value", value=lever_value, on_value=set_lever_value)
                solara.Button("add lever", on_click=lambda: set_chosen(
                    [*chosen, f"{lever or all_levers[0]}={lever_value}"]))
            solara.Text("levers: " + (", ".join(chosen) or "none (the scenario as written)"))
            solara.Button("start", color="primary", on_click=start)
            if message:
                solara.Text(message, classes=["live-message"])
        with solara.Column():
            if session is None:
                solara.Info("Pick a scenario and press start: its replications are built at month 0.")
                return
            with solara.Row():
                solara.Button("step 1 month", on_click=lambda: advance(1), disabled=playing)
                solara.Button("step 12 months", on_click=lambda: advance(12), disabled=playing)
                solara.Button("pause" if playing else "play", on_click=lambda: set_playing(not playing))
            with session.lock:
                mean, lo, hi = session.difference()
                date = str(session.played.models[0].dates[session.step])[:10]
                solara.Text(f"{session.base['name']}: month {session.step} ({date}) of {session.months}, "
                            f"{session.replications} runs; played minus unplayed resistance territory now "
                            f"{mean * 100:+.3f} pp [{lo * 100:+.3f}, {hi * 100:+.3f}] (95% CI, paired); "
                            f"runs changed by the moves: {session.changed()} of {session.replications}",
                            classes=["live-status"])
                with solara.Columns([1, 1]):
                    solara.HTML(tag="div", unsafe_innerHTML=_map(session), classes=["live-map"])
                    solara.FigureMatplotlib(_fan(session), format="png", dpi=90)
            with solara.Columns([1, 1]):
                MoveForm(session, on_move)
                with solara.Card("Moves"):
                    solara.HTML(tag="div", unsafe_innerHTML=_moves_table(session), classes=["moves-log"])
                    solara.FileDownload(session.scenario_yaml, filename=f"{session.name}.yaml",
                                        label="export the moves as a scenario file", mime_type="text/yaml")
                    solara.Button("save the played runs", on_click=on_save)
