"""The requirements a court attaches to an adult's community or suspended sentence order.

They are decided with the sentence, before :mod:`sdfirst.synth.incapacitation` (a combination of requirements can
change what the person does next) and read again by :mod:`sdfirst.synth.supervision`, which records them. The
draws are made for every case first heard (indexed by ``Cases.row``), so a case's requirements do not depend on
which other cases remain. The requirements and the share of orders carrying each are the code list
`requirements`; justice.yaml `supervision.fallback_requirements` are those an order with none drawn gets one of.
"""

from __future__ import annotations

import numpy as np

from sdfirst.exceptions import DataFirstError
from sdfirst.specs import code_lists, load_yaml
from sdfirst.synth.codes import code_list


def requirement_codes() -> list[str]:
    return list(code_lists()["requirements"]["codes"])


def is_order(cases) -> np.ndarray:
    """The cases ending in an adult's community or suspended sentence order: those that carry requirements."""
    disposals = code_list("disposals")
    return ~cases.youth & np.isin(cases.disposal, disposals.indices("community_order", "suspended_sentence"))


def _drawn(world, potential: int) -> np.ndarray:
    """The requirements drawn for every case first heard (rows: ``Cases.row``), made once per chunk."""

    def draw() -> np.ndarray:
        spec = code_lists()["requirements"]["codes"]
        codes = list(spec)
        share = np.array([spec[k][1] for k in codes])
        rng = world.rng("requirements")
        has = rng.random((potential, len(codes))) < share[None, :]
        fallback_names = load_yaml("justice.yaml")["supervision"]["fallback_requirements"]
        fallback = np.array([codes.index(k) for k in fallback_names])
        pick = fallback[rng.integers(0, len(fallback), potential)]
        none = np.flatnonzero(~has.any(axis=1))
        has[none, pick[none]] = True
        return has

    return world.memo(("requirements", potential), draw)


def requirement_matrix(world, cases, potential: int) -> np.ndarray:
    """Which requirements (columns, in :func:`requirement_codes` order) each order carries; False elsewhere.
    Every order carries at least one: one of the fallback requirements if none was drawn."""
    return _drawn(world, potential)[cases.row] & is_order(cases)[:, None]


def carrying_all(world, cases, potential: int, names: list[str]) -> np.ndarray:
    """The orders that carry every one of the requirements `names` (codes of the list `requirements`)."""
    codes = requirement_codes()
    unknown = [n for n in names if n not in codes]
    if unknown:
        raise DataFirstError(f"effects.yaml: sentence_effects names no requirement: {unknown[0]}")
    return requirement_matrix(world, cases, potential)[:, [codes.index(n) for n in names]].all(axis=1)
