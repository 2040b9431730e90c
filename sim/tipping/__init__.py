"""Where a lever tips an outcome: the lever value at which P(outcome) crosses a level, with intervals.

:mod:`sim.tipping.estimate` holds the statistics (pure functions on arrays);
:mod:`sim.tipping.command` runs the adaptive design on the batch engine and writes the results.
"""


class TippingError(ValueError):
    """A bad tipping option (one line, naming the option)."""
