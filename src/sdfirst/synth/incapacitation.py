"""Incapacitation and sentence effects: nobody offends while held, and what a sentence does to offending after it.

Offences are first drawn as if everyone were always at liberty (:mod:`sdfirst.synth.offending`) and every case
is taken through the courts (:mod:`sdfirst.synth.courts`) with its custody decided (:func:`case_spells`). This
module then makes the two depend on each other, as they do:

- **Time at liberty.** A person's offending runs on their time at liberty: its clock stops while they are held
  (on remand, serving a sentence, or back on recall) and restarts on release. An offence that would have fallen
  inside a spell in custody happens that much later, and so does everything after it; its case (hearings,
  sentence and any custody) moves with it, whole. A group offence (with co-defendants) keeps its day, as the
  others were there: a member held on that day did not take part and is set aside.
- **Sentence effects** (effects.yaml ``sentence_effects``). In the window after an order is made, each offence
  of the person happens only with the order's hazard ratio (against release from custody, the reference): an
  offence drawn there is set aside with chance one minus the ratio, and so is its case. A later sentence of any
  kind ends the window of the one before.

A case set aside takes its own custody and effects with it, which can bring back an offence it had moved or set
aside; and an offence moved can move its case's custody onto later ones. Each person's offences are therefore
settled by repeating the two rules until nothing changes (each pass settles at least the person's next spell or
window, so it ends; only people whose offences changed are looked at again). The draws of the courts, custody and
requirements are made for every case first heard (indexed by ``Cases.row``), so a case keeps its outcome
whichever others remain.
"""

from __future__ import annotations

from dataclasses import dataclass, fields, replace

import numpy as np

from sdfirst.exceptions import DataFirstError
from sdfirst.specs import code_lists, load_yaml
from sdfirst.synth import dates
from sdfirst.synth.codes import code_list
from sdfirst.synth.courts import Cases, Courts, offending_view, previous_cases
from sdfirst.synth.custody import case_spells
from sdfirst.synth.offending import Offences
from sdfirst.synth.requirements import carrying_all
from sdfirst.synth.trends import prosecuted_share, prosecution_draws

_SHIFT = 33  # person in the high bits of a search key, a day (offset by _DAY0) in the low ones
_DAY0 = 2**32
#: Cases fields that are days, moved with their case (NEVER stays NEVER)
_CASE_DAYS = (
    "offence_date",
    "first_hearing",
    "mags_result_date",
    "crown_receipt",
    "crown_result_date",
    "sentence_date",
)
_MAX_PASSES = 10_000


@dataclass(frozen=True)
class Intervals:
    """Per person, sorted intervals [start, stop) of days, with what is needed to look days up in them."""

    person: np.ndarray
    start: np.ndarray
    stop: np.ndarray
    value: np.ndarray  # a number carried by each interval (a hazard ratio; unused for custody)

    @classmethod
    def of(cls, person, start, stop, value=None) -> Intervals:
        order = np.lexsort((start, person))
        value = np.ones(len(person)) if value is None else value
        return cls(person[order], start[order].astype(np.int64), stop[order].astype(np.int64), value[order])

    @staticmethod
    def key(person: np.ndarray, day: np.ndarray) -> np.ndarray:
        """One sortable integer per (person, day): the person in the high bits, the day in the low ones."""
        return (person.astype(np.int64) << _SHIFT) + day + _DAY0

    def last_starting_by(self, person: np.ndarray, day: np.ndarray) -> np.ndarray:
        """The index of each person's last interval that starts on or before `day` (-1 if none)."""
        keys = self.key(self.person, self.start)
        pos = np.searchsorted(keys, self.key(person, day), side="right") - 1
        ok = pos >= 0
        ok[ok] = self.person[pos[ok]] == person[ok]
        return np.where(ok, pos, -1)

    def covering(self, person: np.ndarray, day: np.ndarray) -> np.ndarray:
        """The index of the last-starting interval that covers `day`, or -1 (exact when no interval of a person
        lies wholly inside another, as for merged spells and windows of one length)."""
        pos = self.last_starting_by(person, day)
        inside = pos >= 0
        inside[inside] = day[inside] < self.stop[pos[inside]]
        return np.where(inside, pos, -1)


def merged(person: np.ndarray, start: np.ndarray, stop: np.ndarray) -> Intervals:
    """Each person's intervals merged where they overlap or touch: the spells a person is held."""
    iv = Intervals.of(person, start, stop)
    if not len(iv.person):
        return iv
    new_person = np.r_[True, iv.person[1:] != iv.person[:-1]]
    offset = np.cumsum(new_person) * (2**40)
    running = np.maximum.accumulate(iv.stop + offset) - offset
    new = new_person | (iv.start > np.r_[-(2**40), running[:-1]])
    first = np.flatnonzero(new)
    last = np.r_[first[1:] - 1, len(new) - 1]
    return Intervals(iv.person[first], iv.start[first], running[last], np.ones(len(first)))


def at_liberty(held: Intervals, person: np.ndarray, liberty_day: np.ndarray) -> np.ndarray:
    """The day of each offence once the person's clock stops while held: an offence drawn at liberty day d falls
    after every spell that starts by then on the liberty clock, moved by their lengths."""
    if not len(held.person):
        return liberty_day
    length = held.stop - held.start
    new_person = np.r_[True, held.person[1:] != held.person[:-1]]
    total = np.r_[0, np.cumsum(length)]
    before = total[:-1] - total[np.flatnonzero(new_person)][np.cumsum(new_person) - 1]
    liberty_start = Intervals(held.person, held.start - before, held.stop, length)  # starts on the liberty clock
    pos = liberty_start.last_starting_by(person, liberty_day)
    moved = np.where(pos >= 0, before[np.maximum(pos, 0)] + length[np.maximum(pos, 0)], 0)
    return liberty_day + moved


def _effect_ratios(cases: Cases, needs: np.ndarray) -> np.ndarray:
    """Each case's hazard ratio on the person's offending in the window after it (1 for no effect)."""
    spec = load_yaml("effects.yaml")["sentence_effects"]
    disposals = code_list("disposals")
    ratio = np.ones(len(cases))
    unknown = sorted(set(spec["hazard_ratio"]) - set(code_lists()["disposals"]["codes"]))
    if unknown:
        raise DataFirstError(f"effects.yaml: sentence_effects.hazard_ratio names no disposal: {unknown[0]}")
    for key, value in spec["hazard_ratio"].items():
        ratio[cases.disposal == disposals[key]] *= value
    combined = spec["requirements_combined"]
    ratio[needs] *= combined["hazard_ratio"]
    return ratio


@dataclass
class _State:
    day: np.ndarray  # the offence's day after moving
    alive: np.ndarray  # False: set aside
    charged: np.ndarray  # prosecuted at the index of its day (sdfirst.synth.trends); only offences with a case

    def has_case(self, offence: np.ndarray) -> np.ndarray:
        return self.alive[offence] & self.charged[offence]


class Settle:
    """The fixed point of the two rules for one chunk (see the module's docstring)."""

    def __init__(self, world, courts: Courts):
        self.world, self.courts = world, courts
        off, c = courts.offences, courts.cases
        self.spells = case_spells(world, c, courts.potential_cases)
        self.case, self.held_from, self.held_to = self.spells.held()
        spec = load_yaml("effects.yaml")["sentence_effects"]
        self.window = int(spec["window_days"])
        combined = carrying_all(world, c, courts.potential_cases, spec["requirements_combined"]["requirements"])
        self.ratio = _effect_ratios(c, combined)
        # every sentence opens a window, those without an effect at a ratio of 1, so that a later sentence ends
        # the effect of the one before (Intervals.covering takes the last window to start)
        self.effect_case = np.flatnonzero(c.sentence_date != dates.NEVER)
        self.chance = world.rng("sentence_effects").random(len(off))
        self.prosecution = prosecution_draws(world, off)
        _, first, counts = np.unique(off.case_group, return_inverse=True, return_counts=True)
        self.in_group = counts[first] > 1
        self.case_of = np.full(len(off), -1, np.int64)
        self.case_of[c.offence] = np.arange(len(c))

    def step(self, state: _State, rows: np.ndarray, people: np.ndarray) -> _State:
        """The two rules for the offences `rows`, of `people`, given where every offence now stands."""
        off, c = self.courts.offences, self.courts.cases
        moved = state.day[c.offence] - off.date[c.offence]
        alive = state.has_case(c.offence)
        keep = alive[self.case] & np.isin(c.person[self.case], people)
        held = merged(
            c.person[self.case[keep]],
            self.held_from[keep] + moved[self.case[keep]],
            self.held_to[keep] + moved[self.case[keep]],
        )
        person, drawn = off.person[rows], off.date[rows].astype(np.int64)
        solo = ~self.in_group[rows]
        day = np.where(solo, at_liberty(held, person, drawn), drawn)
        ok = solo | (held.covering(person, day) < 0)
        ec = self.effect_case[alive[self.effect_case] & np.isin(c.person[self.effect_case], people)]
        start = c.sentence_date[ec].astype(np.int64) + moved[ec]
        windows = Intervals.of(c.person[ec], start, start + self.window, self.ratio[ec])
        w = windows.covering(person, day)
        ratio = np.ones(len(rows))
        ratio[w >= 0] = windows.value[w[w >= 0]]
        ok &= self.chance[rows] < ratio
        charged = (self.case_of[rows] >= 0) & (self.prosecution[rows] < prosecuted_share(off.code[rows], day))
        return _State(day, ok, charged)

    def run(self) -> _State:
        off = self.courts.offences
        day = off.date.astype(np.int64)
        charged = (self.case_of >= 0) & (self.prosecution < prosecuted_share(off.code, day))
        state = _State(day.copy(), np.ones(len(off), bool), charged)
        rows = np.arange(len(off))
        for _ in range(_MAX_PASSES):
            people = np.unique(off.person[rows])
            new = self.step(state, rows, people)
            changed = (
                (new.day != state.day[rows]) | (new.alive != state.alive[rows]) | (new.charged != state.charged[rows])
            )
            state.day[rows], state.alive[rows], state.charged[rows] = new.day, new.alive, new.charged
            if not changed.any():
                return state
            rows = np.flatnonzero(np.isin(off.person, np.unique(off.person[rows[changed]])))
        raise DataFirstError("incapacitation: offences did not settle; a spec makes custody feed back without end")


def _moved_cases(cases: Cases, keep: np.ndarray, moved: np.ndarray, offence: np.ndarray) -> Cases:
    """The cases kept, with their days moved and their offence indices renumbered."""
    values = {f.name: getattr(cases, f.name)[keep] for f in fields(cases)}
    for name in _CASE_DAYS:
        v = values[name]
        values[name] = np.where(v == dates.NEVER, v, v + moved).astype(v.dtype)
    values["offence"] = offence
    values["previous"] = previous_cases(values["person"], values["first_hearing"])
    return Cases(**values)


def settle(world, courts: Courts) -> Courts:
    """The courts' offences and cases once nobody offends while held and sentences have their effects."""
    state = Settle(world, courts).run()
    off, c = courts.offences, courts.cases
    alive = np.flatnonzero(state.alive)
    day = state.day[alive].astype(np.int32)
    order = np.lexsort((off.case_group[alive], day, off.person[alive]))
    kept = alive[order]
    offences = Offences(
        person=off.person[kept],
        date=day[order],
        code=off.code[kept],
        recordable=off.recordable[kept],
        cautioned=off.cautioned[kept],
        case_group=off.case_group[kept],
    )
    new_index = np.full(len(off), -1, np.int64)
    new_index[kept] = np.arange(len(kept))
    keep = np.flatnonzero(state.has_case(c.offence))
    moved = (state.day - off.date)[c.offence[keep]]
    cases = _moved_cases(c, keep, moved, new_index[c.offence[keep]])
    case_index = np.full(len(c), -1, np.int64)
    case_index[keep] = np.arange(len(keep))
    secondary = case_index[courts.secondary_case] >= 0
    return replace(
        courts,
        offences=offences,
        cases=cases,
        secondary_case=case_index[courts.secondary_case[secondary]],
        secondary_code=courts.secondary_code[secondary],
        offending=offending_view(offences, cases),
    )
