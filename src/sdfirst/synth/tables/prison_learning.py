"""The share's prison education files: CURIOUS learner profiles and courses of the people the PNC file holds.

The simulation is :mod:`sdfirst.synth.prison_education`; here its profiles and courses become the two files, each row
under the share's MoJ person id (`mojuid`) of its person, as the PNC file gives it. A person the share does not hold
(no police record in it) has no prison education record in it either.
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from sdfirst.synth import dates
from sdfirst.synth.columns import labels
from sdfirst.synth.custody import establishments
from sdfirst.synth.prison_education import PrisonLearning, params, simulate_prison_learning
from sdfirst.synth.tables import Built


def people_moj_ids(pnc: Built, n_people: int) -> pa.Array:
    """Each chunk person's MoJ id on their earliest PNC record (by disposal date), null for a person with none: a
    person with two ids on the file (a duplicate PNC identity) is known to the prison by the first."""
    order = np.asarray(pc.sort_indices(pnc.columns["disposaldate"]))
    person = pnc.person[order]
    first = np.full(n_people, len(order), dtype=np.int64)
    np.minimum.at(first, person, np.arange(len(order)))
    seen = first < len(order)
    if not seen.any():
        return pa.nulls(n_people, pa.string())
    ids = pnc.columns["mojuid"].take(pa.array(order))
    return pc.if_else(pa.array(seen), ids.take(pa.array(np.where(seen, first, 0))), pa.scalar(None, pa.string()))


def _establishments(world, learning: PrisonLearning) -> pa.Array:
    """The prison of each profile: the prison data's own for a journey they cover, else one drawn the same way."""
    inside = world.time_inside
    at = np.full(len(world.custody.journeys), -1, dtype=np.int64)
    at[inside.journeys] = np.arange(len(inside.journeys))
    where = at[learning.profile_journey]
    rng = world.rng("prison-education.establishment")
    drawn = establishments(world, rng, learning.profile_person, learning.profile_induction)
    known = np.asarray(inside.establishment, dtype=object)[np.maximum(where, 0)] if len(inside.journeys) else drawn
    return pa.array(np.where(where >= 0, known, drawn), type=pa.string())


def build_prison_learning(world, moj_ids: pa.Array, profile_ids) -> dict[str, Built]:
    """`prison_education_learners` and `prison_education_courses` of the people with a `moj_ids` entry (one per chunk
    person, null for people the share does not hold); `profile_ids(n)` makes n learner profile ids, the key that
    joins a course to its profile (the share's files have no row key)."""
    par = params()
    learning = simulate_prison_learning(world)
    held = np.flatnonzero(moj_ids.is_valid().to_numpy(zero_copy_only=False)[learning.profile_person])
    person = learning.profile_person[held]
    keep_course = np.isin(learning.course_profile, held)
    profile_row = np.full(len(learning.profile_person), -1, dtype=np.int64)
    profile_row[held] = np.arange(len(held))
    learner_ids = profile_ids(len(held))
    levels = par["assessment"]["levels"]
    left = learning.profile_leaving[held] != dates.NEVER
    learners = {
        "mojuid": moj_ids.take(pa.array(person)),
        "learnerprofileid": learner_ids,
        "establishment": _establishments(world, learning).take(pa.array(held)),
        "inductiondate": dates.to_arrow(learning.profile_induction[held]),
        "leavingdate": dates.to_arrow(learning.profile_leaving[held]),
        "leavingreason": pa.array(np.where(left, par["leaving_reasons"]["released"], None), type=pa.string()),
        "englishassessment": labels(levels, learning.english_level[held]),
        "mathsassessment": labels(levels, learning.maths_level[held]),
    }
    c = np.flatnonzero(keep_course)
    owner = profile_row[learning.course_profile[c]]
    course_person = learning.profile_person[learning.course_profile[c]]
    courses = {
        "mojuid": moj_ids.take(pa.array(course_person)),
        "learnerprofileid": learner_ids.take(pa.array(owner)),
        "coursestartdate": dates.to_arrow(learning.course_start[c]),
        "courseplannedenddate": dates.to_arrow(learning.course_planned_end[c]),
        "courseenddate": dates.to_arrow(learning.course_end[c]),
        "sectorsubjectarea": labels(list(par["sectors"]), learning.course_sector[c]),
        "courselevel": labels(list(par["course_levels"]), learning.course_level[c]),
        "courseoutcome": labels(list(par["outcomes"].values()), learning.course_outcome[c]),
    }
    return {
        "prison_education_learners": Built(learners, person),
        "prison_education_courses": Built(courses, course_person),
    }
