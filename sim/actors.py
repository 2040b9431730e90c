"""The actors: Mesa agents whose state lives in the model's arrays.

Only actors that decide are agents. Their numbers (fighters, funds, control shares)
are columns of province x actor and actor arrays owned by the model, so a month's
rules run as a few numpy expressions over all actors at once; an agent is a named
view on its column plus the decisions that are its own. Differences between actors
live in data (the scenario file) before they live in subclasses, as in Mesa's
wolf_sheep example where ``Sheep`` and ``Wolf`` override only what differs.
"""

from __future__ import annotations

from typing import ClassVar

import mesa
import numpy as np

from sim.scenario import DonorSpec, FactionSpec


class Actor(mesa.Agent):
    """An actor declared in the scenario file: a named view on its row of the model's arrays.

    Attributes:
        key: identifier in the scenario file (``nrf``).
        label: display name (``National Resistance Front``).
        index: position of this actor in the model's arrays.
        spec: the scenario's parameters for this actor.

    The model is a :class:`sim.model.ConflictModel` (typed as a Mesa model: actors sit below
    the model and do not import it); an actor reads its numbers from the model's state.
    """

    def __init__(self, model: mesa.Model, key: str, index: int, spec: FactionSpec | DonorSpec) -> None:
        super().__init__(model)
        self.key = key
        self.label = spec.label
        self.index = index
        self.spec = spec


class Faction(Actor):
    """An armed actor. Summary of rule: raise resources, deploy, fight (see sim.mechanics).

    Class attributes say what differs between kinds of faction (the subclasses override them):

    Attributes:
        kind: the ``kind`` that names this class in scenario files.
        resistance: counts as the armed resistance in outcomes and event triggers.
        donor_backed: donors may back it (other than the government and jihadist groups:
            no state backs ISKP openly); whether they do is their inclination.
        fights_own_kind: fights other factions of the same kind (resistance groups do not
            fight each other).
    """

    spec: FactionSpec
    kind: ClassVar[str] = ""
    resistance: ClassVar[bool] = False
    donor_backed: ClassVar[bool] = False
    fights_own_kind: ClassVar[bool] = True

    @property
    def strength(self) -> float:
        """Fighters."""
        return float(self.model.strength[self.index])

    @property
    def funds(self) -> float:
        """Cash, million USD."""
        return float(self.model.funds[self.index])

    @property
    def control(self) -> np.ndarray:
        """Control share per province (a read-only view)."""
        view = self.model.control[:, self.index]
        view.flags.writeable = False
        return view

    @property
    def territory_share(self) -> float:
        """Share of the country's area this actor controls."""
        return float(self.model.setup.area_weight @ self.model.control[:, self.index])

    @property
    def active(self) -> bool:
        """Whether the actor has fighters."""
        return self.strength > 0

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.key!r}, strength={self.strength:.0f})"


class Government(Faction):
    """The actor holding the state (the Taliban in the baseline).

    Summary of rule: as a Faction, plus cohesion between its internal factions
    (Kandahari leadership and Haqqani network): cohesion rises with recognition and
    falls under foreign pressure, lost ground and factional tension; below a
    threshold the government may split (sim.mechanics.alliances).

    Attributes:
        cohesion: current cohesion in [0, 1].
        split: whether the split has happened.
    """

    kind = "government"

    @property
    def cohesion(self) -> float:
        """Current cohesion in [0, 1] (the model's state)."""
        return float(self.model.state.cohesion[0])

    @cohesion.setter
    def cohesion(self, value: float) -> None:
        self.model.state.cohesion[0] = value

    @property
    def split(self) -> bool:
        """Whether the split has happened."""
        return bool(self.model.state.split[0])


class ResistanceGroup(Faction):
    """An armed opposition group (NRF, AFF, ...).

    Summary of rule: as a Faction; recruits from the actively aggrieved population and
    former security forces; may join a united front.
    """

    kind = "resistance"
    resistance = True
    donor_backed = True
    fights_own_kind = False

    @property
    def in_front(self) -> bool:
        """Whether the group belongs to the united front."""
        return bool(self.model.front[self.index])


class Insurgency(Faction):
    """Any other armed faction, such as a breakaway of the government (the Haqqani network after a split).

    Summary of rule: as a Faction; it fights every other territorial faction.
    """

    kind = "insurgent"
    donor_backed = True


class JihadistGroup(Faction):
    """A jihadist group: sheltered by the government (al Qaeda, TTP, ...) or its rival (ISKP).

    Summary of rule: a sheltered group grows in its patrons' sanctuary and exports
    attacks that raise its target states' threat perception; a territorial one (ISKP)
    also fights for ground.
    """

    kind = "jihadist"


class Donor(Actor):
    """A foreign state or the diaspora. Summary of rule: give support, apply pressure (support.py)."""

    spec: DonorSpec

    @property
    def threat(self) -> float:
        """Current threat perception."""
        return float(self.model.threat[self.index])

    @property
    def recognises(self) -> bool:
        """Whether it recognises the government."""
        return bool(self.model.recognised[self.index])


class ForeignState(Donor):
    """A foreign state: decides support, sanctuary (if a neighbour), recognition, pressure and strikes."""


class Diaspora(Donor):
    """Afghans abroad: fund the resistance groups that show success; no state instruments."""


FACTION_CLASSES: dict[str, type[Faction]] = {
    cls.kind: cls for cls in (Government, ResistanceGroup, Insurgency, JihadistGroup)
}
DONOR_CLASSES: dict[str, type[Donor]] = {"state": ForeignState, "diaspora": Diaspora}
