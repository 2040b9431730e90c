"""The model's calendar: days per month, months per step, horizons and step dates.

Rates in the model are per month; a run steps by a month, a week or a day, and every
rate is scaled by the step's length in months. This module is the one place that
knows how long those steps are. It imports nothing of ``sim``, so every other module
(scenario, setup, model, analysis, the command line) may use it.
"""

from __future__ import annotations

import datetime as dt
import functools

import numpy as np

DAYS_PER_MONTH = 365.2425 / 12  # mean Gregorian month
#: Length of each kind of step, in months.
STEP_MONTHS: dict[str, float] = {"month": 1.0, "week": 7.0 / DAYS_PER_MONTH, "day": 1.0 / DAYS_PER_MONTH}
#: Length of the sub-monthly steps, in days.
STEP_DAYS: dict[str, int] = {"week": 7, "day": 1}


def months_per_step(time_step: str) -> float:
    """Months one step of this kind stands for (1 for ``month``)."""
    return STEP_MONTHS[time_step]


def horizon_steps(months: float, time_step: str) -> int:
    """Number of steps that cover ``months`` months at this time step (at least one)."""
    return max(1, round(months / STEP_MONTHS[time_step]))


@functools.lru_cache(maxsize=64)
def step_dates(start: dt.date, steps: int, time_step: str = "month") -> np.ndarray:
    """Calendar date each step stands for (step 0 is the start date); read-only, cached.

    Monthly steps keep the day of the month (clipped months are not needed: the day
    is carried as an offset from the first); weekly and daily steps add 7 or 1 days.
    """
    if time_step == "month":
        first = np.datetime64(start.replace(day=1), "M")
        dates = (first + np.arange(steps + 1)).astype("datetime64[D]") + np.timedelta64(start.day - 1, "D")
    else:
        dates = np.datetime64(start, "D") + np.arange(steps + 1) * np.timedelta64(STEP_DAYS[time_step], "D")
    dates.setflags(write=False)
    return dates
