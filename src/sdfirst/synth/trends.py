"""National trends: the fall in prosecutions over the decade and the 2020 drop and recovery in court receipts.

Offending itself has no history (a person's rate depends on age, risk and sex, not on the calendar); what changed
from 2011 to 2021 was how many offences were brought to court. So the trend acts at one step only: of the offences
not dealt with by a caution, a share is prosecuted that follows a national volume index (justice.yaml,
`prosecution_trend`), taken at the month the case would reach the magistrates' court. The courts hear every
offence not cautioned; :mod:`sdfirst.synth.incapacitation` keeps those prosecuted, at the day the offence finally
happens on. The rest are offences known to the police with no further action: they stay in the truth's
offending and reach no court, prison or probation dataset. Co-defendants are prosecuted together, one draw per case.
"""

from __future__ import annotations

import numpy as np

from sdfirst.exceptions import DataFirstError
from sdfirst.specs import load_yaml
from sdfirst.synth import dates
from sdfirst.synth.offending import Offences, offence_table


def volume_index(days: np.ndarray) -> np.ndarray:
    """The national volume index (2019 = 1) in the month of each day: yearly values, replaced month by month in
    the years the spec gives monthly; years before the first take the first value, years after the last the last."""
    spec = load_yaml("justice.yaml")["prosecution_trend"]
    yearly = np.asarray(spec["yearly"], dtype=float)
    if not len(yearly):
        raise DataFirstError("justice.yaml: prosecution_trend.yearly needs at least one value")
    year, month, _ = dates.ymd(np.asarray(days))
    index = yearly[np.clip(year - spec["first_year"], 0, len(yearly) - 1)]
    monthly = np.asarray(spec["monthly"], dtype=float).reshape(-1, 12)
    if not len(monthly):
        return index
    row = year - spec["monthly_first_year"]
    inside = (row >= 0) & (row < len(monthly))
    return np.where(inside, monthly[np.clip(row, 0, len(monthly) - 1), month - 1], index)


def peak_index() -> float:
    """The highest value of the index: the month in which every eligible offence is prosecuted."""
    spec = load_yaml("justice.yaml")["prosecution_trend"]
    values = list(spec["yearly"]) + [v for row in spec["monthly"] for v in row]
    peak = max(values)
    if peak <= 0:
        raise DataFirstError("justice.yaml: prosecution_trend needs a value above 0")
    return float(peak)


def expected_first_hearing(code: np.ndarray, day: np.ndarray) -> np.ndarray:
    """The day an offence of each code committed on each day would reach the magistrates' court on the mean
    first-hearing delay (the month the index is read at, so that a drop in receipts falls in the months it names)."""
    c = load_yaml("justice.yaml")["courts"]
    delay = c["first_hearing_delay"]["shape"] * c["first_hearing_delay"]["scale"]
    extra = np.where(offence_table().motoring[code], c["motoring_extra_delay"], 0)
    return (np.asarray(day, dtype=np.int64) + 1 + np.round(delay).astype(np.int64) + extra).astype(np.int64)


def prosecution_draws(world, off: Offences) -> np.ndarray:
    """One uniform draw per case (from a stream of its own, so that the other processes' draws do not move), shared
    by its co-defendants: an offence is prosecuted if its draw is below :func:`prosecuted_share`."""
    groups, inverse = np.unique(off.case_group, return_inverse=True)
    return world.rng("prosecution").random(len(groups))[inverse]


def prosecuted_share(code: np.ndarray, day: np.ndarray) -> np.ndarray:
    """The share of offences not cautioned that are prosecuted, for offences of these codes on these days."""
    return volume_index(expected_first_hearing(code, day)) / peak_index()
