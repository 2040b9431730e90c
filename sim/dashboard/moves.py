"""An analyst's moves as scenario events, and the played scenario as a YAML file ``run.py run`` replays.

A move is made at a paused month: a state changes its policy (money, arms, sanctuary,
recognition, strikes, sanctions, or whom it favours), or a faction joins the resistance's
front. Each becomes one scenario event fired at the start of the next step (``when: {step:
t + 1}``), so the runs up to the month of the move are those already seen, and every run keeps
its seed and random streams: the move is the only difference between the played runs and the
unplayed ones.

The played scenario is the resolved scenario (levers applied) with the moves appended to its
events, under a new name, written as plain YAML. It is self-contained (it extends nothing), and
the dashboard's live runs are built from that very text, so the file replays to the bit.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

import yaml

__all__ = ["ACTIONS", "Action", "Move", "played_data", "played_yaml"]


@dataclass(frozen=True)
class Action:
    """What an actor may do at a paused month.

    Attributes:
        name: its identifier.
        who: "state" (a donor) or "faction".
        words: how the log says it ("sets its budget to").
        field: the donor's field set (None: a state effect, or the faction's front).
        unit: the value's unit ("" when it takes none).
        lo: the least value.
        hi: the largest value.
        target: whether it names a faction (whom a state favours, whom a faction unites with).
    """

    name: str
    who: str
    words: str
    field: str | None
    unit: str
    lo: float = 0.0
    hi: float = 1.0
    target: bool = False


ACTIONS = {a.name: a for a in (
    Action("money", "state", "sets its budget for Afghan armed actors to", "budget", "million USD a month", 0, 500),
    Action("arms", "state", "sets its willingness to arm an opposition to", "arms_willingness", "share"),
    Action("sanctuary", "state", "sets its willingness to host a group across its border to",
           "sanctuary_willingness", "share"),
    Action("favour", "state", "sets its sympathy for", "affinity", "from -1 to 1", -1, 1, target=True),
    Action("strikes", "state", "sets its strike capacity against groups that target it to", "strike_capacity",
           "share"),
    Action("sanctions", "state", "sets the share of government revenue its full pressure removes to", "sanctions",
           "share"),
    Action("recognise", "state", "recognises the government formally", None, ""),
    Action("withdraw_recognition", "state", "withdraws its recognition of the government", None, ""),
    Action("join_front", "faction", "unites in a front with", None, "", target=True),
)}


@dataclass(frozen=True)
class Move:
    """One move of the analyst.

    Attributes:
        step: the step at which it was made (it fires at the start of the next one).
        month: the month at which it was made.
        actor: the acting state's or faction's key.
        action: a key of :data:`ACTIONS`.
        value: the new value (ignored by actions without a unit).
        target: the faction a "favour" move is about, or the one a "join_front" move unites with.
        reason: the analyst's reason, in the event log.
    """

    step: int
    month: float
    actor: str
    action: str
    value: float = 0.0
    target: str = ""
    reason: str = ""

    def check(self, data: dict[str, Any]) -> None:
        """Raise ValueError when the move does not fit the scenario."""
        a = ACTIONS.get(self.action)
        if a is None:
            raise ValueError(f"unknown action {self.action!r}; actions are {sorted(ACTIONS)}")
        pool = data["donors"] if a.who == "state" else data["factions"]
        if self.actor not in pool:
            raise ValueError(f"{self.action}: {self.actor!r} is not a {a.who} of the scenario")
        if a.unit and not a.lo <= self.value <= a.hi:
            raise ValueError(f"{self.action}: {self.value} is outside {a.lo:g} to {a.hi:g} ({a.unit})")
        if a.target and self.target not in data["factions"]:
            raise ValueError(f"{self.action}: {self.target!r} is not a faction of the scenario")
        if self.action == "join_front" and self.target == self.actor:
            raise ValueError(f"{self.action}: a faction unites in a front with another one, not with itself")

    def event(self, k: int, data: dict[str, Any]) -> dict[str, Any]:
        """The scenario event of the ``k``-th move (its text says who, what and why)."""
        self.check(data)
        a = ACTIONS[self.action]
        label = data["donors" if a.who == "state" else "factions"][self.actor]["label"]
        what = a.words
        if a.target and not a.unit:
            what += f" {data['factions'][self.target]['label']}"
        elif a.target:
            what += f" {data['factions'][self.target]['label']} to {self.value:g}"
        elif a.unit:
            what += f" {self.value:g}" + ("" if a.unit == "share" else f" {a.unit}")
        reason = re.sub(r"\s+", " ", self.reason).strip()
        ev: dict[str, Any] = {"name": f"move_{k}_{self.actor}_{self.action}",
                              "text": f"move: {label} {what}" + (f" (reason: {reason})" if reason else ""),
                              "when": {"step": self.step + 1}}
        if a.field and a.target:
            ev["set"] = {f"donors.{self.actor}.{a.field}.{self.target}": float(self.value)}
        elif a.field:
            ev["set"] = {f"donors.{self.actor}.{a.field}": float(self.value)}
        elif self.action == "join_front":
            ev["state"] = {"front": list(dict.fromkeys([self.actor, self.target]))}
        else:
            ev["state"] = {self.action: [self.actor]}
        return ev


def played_data(base: dict[str, Any], moves: list[Move], name: str) -> dict[str, Any]:
    """The resolved scenario ``base`` with the moves appended to its events, named ``name``."""
    data = {**base, "name": name, "events": [*base.get("events", [])]}
    data["events"] += [mv.event(k, base) for k, mv in enumerate(moves, start=1)]
    if moves:
        data["description"] = (base.get("description", "") + " Played in the dashboard: "
                               + "; ".join(f"month {mv.month:g}, {mv.actor} {mv.action}" for mv in moves) + ".")
    return data


def played_yaml(data: dict[str, Any], seed: int, replications: int, origin: str) -> str:
    """The played scenario as YAML, with the command that replays the dashboard's runs in its header."""
    head = (f"# Played in the dashboard from the scenario {origin!r}; replay the same runs with:\n"
            f"#   uv run run.py run <this file> --seed {seed} -n {replications}\n")
    return head + yaml.safe_dump(data, sort_keys=False, allow_unicode=True, width=110)
