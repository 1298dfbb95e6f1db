"""Incapacitation and sentence effects (sdfirst.synth.incapacitation): the interval arithmetic on hand-made
cases, and the effects of effects.yaml `sentence_effects` measured in the data against a world without them."""

from __future__ import annotations

import numpy as np
import pytest

from sdfirst import specs
from sdfirst.exceptions import DataFirstError
from sdfirst.synth import dates
from sdfirst.synth.codes import code_list
from sdfirst.synth.incapacitation import at_liberty, merged
from sdfirst.synth.requirements import carrying_all, requirement_matrix
from sdfirst.synth.world import Window, World

PEOPLE = 40_000
SEED = 17


def _ints(*values: int) -> np.ndarray:
    return np.array(values, dtype=np.int64)


def test_spells_that_overlap_or_touch_are_one():
    held = merged(_ints(0, 0, 0, 1, 2, 2), _ints(1, 5, 3, 2, 10, 14), _ints(4, 6, 8, 3, 14, 20))
    assert held.person.tolist() == [0, 1, 2]
    assert held.start.tolist() == [1, 2, 10]
    assert held.stop.tolist() == [8, 3, 20]  # [5, 6) lies inside [3, 8); [10, 14) and [14, 20) touch


def test_the_clock_stops_while_held():
    """Person 0 is held on [10, 20) and [30, 35) of the calendar: on the liberty clock the spells start on days 10
    and 20 (ten days were spent inside before the second), so an offence drawn at liberty day d falls later by the
    length of every spell that starts by d."""
    held = merged(_ints(0, 0), _ints(10, 30), _ints(20, 35))
    person = _ints(0, 0, 0, 0, 0, 0, 1)
    drawn = _ints(5, 9, 10, 15, 19, 20, 15)
    assert at_liberty(held, person, drawn).tolist() == [5, 9, 20, 25, 29, 35, 15]


def test_nobody_held_moves_nothing():
    empty = merged(_ints(), _ints(), _ints())
    assert at_liberty(empty, _ints(3, 4), _ints(100, 200)).tolist() == [100, 200]


def _world() -> World:
    return World(seed=SEED, chunk=0, first_id=0, n_people=PEOPLE, window=Window.of_years(2000, 2023))


def _key(person: np.ndarray, day: np.ndarray) -> np.ndarray:
    return (person.astype(np.int64) << 33) + day


def _offences_in_windows(world: World, cases: np.ndarray, window: int) -> np.ndarray:
    """For each case (index into the world's cases), the person's offences from its sentence to the end of its
    window or the person's next sentence, whichever comes first (a later sentence ends the window)."""
    view, c = world.courts.offending, world.courts.cases
    sentenced = np.flatnonzero(c.sentence_date != dates.NEVER)
    sentences = np.sort(_key(c.person[sentenced], c.sentence_date[sentenced]))
    start = _key(c.person[cases], c.sentence_date[cases])
    nxt = sentences[np.minimum(np.searchsorted(sentences, start, side="right"), len(sentences) - 1)]
    stop = np.where((nxt > start) & (nxt >> 33 == start >> 33), np.minimum(nxt, start + window), start + window)
    offences = np.sort(_key(view.person, view.date))
    return np.searchsorted(offences, stop, side="left") - np.searchsorted(offences, start, side="left")


def _orders(world: World, names: list[str]) -> dict[str, dict[int, int]]:
    """Offences in the window after each order, keyed by the order's row among all cases heard: for orders
    carrying every one of `names` ("all"), and for orders carrying exactly one of them ("one")."""
    c, potential = world.courts.cases, world.courts.potential_cases
    window = specs.load_yaml("effects.yaml")["sentence_effects"]["window_days"]
    all_of = carrying_all(world, c, potential, names)
    codes = list(specs.code_lists()["requirements"]["codes"])
    matrix = requirement_matrix(world, c, potential)[:, [codes.index(n) for n in names]]
    one = matrix.sum(axis=1) == 1
    out = {}
    for name, chosen in (("all", all_of), ("one", one)):
        rows = np.flatnonzero(chosen & (c.sentence_date != dates.NEVER))
        out[name] = dict(zip(c.row[rows].tolist(), _offences_in_windows(world, rows, window).tolist(), strict=True))
    return out


@pytest.fixture(scope="module")
def with_and_without() -> tuple[dict, dict, dict]:
    """The orders of one seed with the shipped effects and with the combined requirements' effect removed: the
    draws of both are the same (keyed by each case's row), so the offences after an order differ by the effect."""
    spec = specs.load_yaml("effects.yaml")["sentence_effects"]
    names = spec["requirements_combined"]["requirements"]
    shipped = _orders(_world(), names)
    no_effect = specs.read_overrides(
        {"effects.yaml": {"sentence_effects": {"requirements_combined": {"hazard_ratio": 1.0}}}}
    )
    with specs.overridden(no_effect):
        without = _orders(_world(), names)
    return spec, shipped, without


def _ratio(shipped: dict[int, int], without: dict[int, int]) -> tuple[float, int]:
    both = sorted(set(shipped) & set(without))
    base = sum(without[r] for r in both)
    return sum(shipped[r] for r in both) / base, base


def test_orders_with_every_combined_requirement_thin_the_next_year(with_and_without):
    """After an order carrying both requirements, the person commits about the spec's hazard ratio of the
    offences they would have committed without the effect (a binomial thinning of about 450 offences, standard
    error about 0.02). The measure runs a little above the ratio (0.79 on this seed): with fewer offences there
    are fewer later sentences to end a window early, so the shipped world's windows are a little longer."""
    spec, shipped, without = with_and_without
    ratio, base = _ratio(shipped["all"], without["all"])
    assert base > 300
    assert ratio == pytest.approx(spec["requirements_combined"]["hazard_ratio"], abs=0.07)


def test_orders_with_only_one_of_them_are_untouched(with_and_without):
    _, shipped, without = with_and_without
    ratio, base = _ratio(shipped["one"], without["one"])
    assert base > 300
    assert ratio == pytest.approx(1.0, abs=0.04)


def test_an_order_thins_offending_against_custody():
    """Against the same world with every sentence effect removed, the year after a community order holds about
    its hazard ratio of the offences (custody, the reference, keeps them all)."""
    spec = specs.load_yaml("effects.yaml")["sentence_effects"]
    disposals = code_list("disposals")

    def after_orders() -> dict[int, int]:
        world = _world()
        c = world.courts.cases
        rows = np.flatnonzero((c.disposal == disposals["community_order"]) & (c.sentence_date != dates.NEVER))
        rows = rows[
            ~carrying_all(world, c, world.courts.potential_cases, spec["requirements_combined"]["requirements"])[rows]
        ]
        counts = _offences_in_windows(world, rows, spec["window_days"])
        return dict(zip(c.row[rows].tolist(), counts.tolist(), strict=True))

    shipped = after_orders()
    ratios = {k: 1.0 for k in spec["hazard_ratio"]}
    none = specs.read_overrides(
        {"effects.yaml": {"sentence_effects": {"hazard_ratio": ratios, "requirements_combined": {"hazard_ratio": 1.0}}}}
    )
    with specs.overridden(none):
        without = after_orders()
    ratio, base = _ratio(shipped, without)
    assert base > 800
    assert ratio == pytest.approx(spec["hazard_ratio"]["community_order"], abs=0.05)


def test_a_misnamed_disposal_is_refused():
    bad = specs.read_overrides({"effects.yaml": {"sentence_effects": {"hazard_ratio": {"community_ordr": 0.9}}}})
    with specs.overridden(bad), pytest.raises(DataFirstError, match="community_ordr"):
        _ = World(seed=1, chunk=0, first_id=0, n_people=500, window=Window.of_years(2000, 2023)).courts
