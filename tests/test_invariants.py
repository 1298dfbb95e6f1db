"""Time order and coverage: on the generated folder (DuckDB SQL), and as properties of the simulation."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from conftest import CHUNK_PEOPLE, SEED, scalar, table_keys
from sdfirst import connect
from sdfirst.ground_truth import person_join
from sdfirst.specs import code_lists, datasets, load_yaml, table
from sdfirst.synth import dates, generate
from sdfirst.synth.courts import NONE
from sdfirst.synth.custody import case_spells
from sdfirst.synth.supervision import requirement_days
from sdfirst.synth.world import Window, World

NEVER = int(dates.NEVER)
YEARS = (2015, 2016)  # a narrower run: every dataset's dates inside its coverage and inside these years

# Date columns that may start before the coverage, by design: an offence can be committed before the case that
# deals with it. (The MoJ-DfE share's dates are text, as its files hold them; tests/test_moj_dfe.py checks them.)
OPEN_BEFORE = {
    "offence_date",
    "probation.flatfile.main_offence_date",
}
OPEN_AFTER = {"moj_dfe.prison_education_courses.courseplannedenddate"}  # a plan may end after the data do


def _dated_columns() -> list:
    params = []
    for key in table_keys():
        for col in table(key).columns:
            if col.type != "date" or col.identifier:
                continue
            params.append(pytest.param(key, col.name, id=f"{key}.{col.name}"))
    return params


@pytest.fixture(scope="module")
def narrow(tmp_path_factory):
    """A second, smaller run restricted to YEARS."""
    folder = tmp_path_factory.mktemp("narrow") / "out"
    generate(folder, people=8_000, seed=SEED, years=YEARS, chunk_people=CHUNK_PEOPLE // 2)
    connection = connect(folder, view="identified")
    yield connection
    connection.close()


def _outside(con, key: str, column: str, start: str, end: str, check_start: bool):
    lower = f"{column} < DATE '{start}' OR " if check_start else ""
    where = f"{column} IS NOT NULL AND ({lower}{column} > DATE '{end}')"
    n = scalar(con, f"SELECT count(*) FROM {key} WHERE {where}")
    if not n:
        return 0, None
    return n, con.execute(f"SELECT min({column}), max({column}) FROM {key} WHERE {where}").fetchone()


@pytest.mark.parametrize(("key", "column"), _dated_columns())
def test_dates_inside_coverage(con, narrow, key, column):
    spec = datasets()[key.split(".")[0]]
    start, end = spec.coverage
    # the truth holds whole life histories (births, earlier addresses): only its end is bounded
    check_start = not spec.always and not {column, f"{key}.{column}"} & OPEN_BEFORE
    if f"{key}.{column}" in OPEN_AFTER:
        end = "9999-12-31"
    n, example = _outside(con, key, column, start, end, check_start)
    assert n == 0, f"{key}.{column}: {n} dates outside coverage {start}..{end} (range {example})"
    if spec.always:
        return
    start = max(start, f"{YEARS[0]}-01-01")
    end = min(end, f"{YEARS[1]}-12-31") if f"{key}.{column}" not in OPEN_AFTER else end
    if start > min(end, f"{YEARS[1]}-12-31"):
        assert scalar(narrow, f"SELECT count({column}) FROM {key}") == 0
        return
    n, example = _outside(narrow, key, column, start, end, check_start)
    assert n == 0, f"--years {YEARS}: {key}.{column}: {n} dates outside {start}..{end} (range {example})"


def _count(con, sql: str) -> int:
    return int(scalar(con, f"SELECT count(*) FROM ({sql})"))


def _none(con, sql: str, what: str) -> None:
    n = _count(con, sql)
    if n:
        example = con.execute(f"{sql} LIMIT 3").fetchall()
        pytest.fail(f"{n} rows where {what}, e.g. {example}")


def test_magistrates_offence_then_hearing_then_result(con):
    cases = "SELECT * FROM magistrates.case_summary"
    _none(con, f"{cases} WHERE offence_date > first_hearing_date", "offence_date > first_hearing_date")
    _none(con, f"{cases} WHERE first_hearing_date > final_result_date", "first_hearing > final_result")
    _none(con, f"{cases} WHERE disposal_date < first_hearing_date", "disposal_date < first_hearing_date")
    _none(
        con,
        """SELECT o.* FROM magistrates.offence o JOIN magistrates.case_summary c
                  ON o.defendant_row_id_hash = c.row_id_hash WHERE o.offence_date > c.first_hearing_date""",
        "a charged offence is after the defendant's first hearing",
    )


def test_disposals_after_offences(con):
    mags, crown = "SELECT * FROM magistrates.case_summary", "SELECT * FROM crown_court.case_summary"
    _none(con, f"{mags} WHERE disposal_date < offence_date", "magistrates disposal_date < offence_date")
    _none(con, f"{crown} WHERE sentence_date < offence_date", "crown sentence_date < offence_date")
    _none(con, f"{crown} WHERE offence_date > receipt_date", "crown offence_date > receipt_date")
    _none(con, f"{crown} WHERE outcome_date < receipt_date", "crown outcome_date < receipt_date")
    _none(con, f"{crown} WHERE sentence_date < receipt_date", "crown sentence_date < receipt_date")
    _none(
        con,
        """SELECT * FROM moj_dfe.pnc_offences WHERE year(CAST(offencestartdate AS DATE)) > 1900
           AND CAST(disposaldate AS DATE) < CAST(offencestartdate AS DATE)""",
        "PNC disposaldate < offencestartdate",
    )


def _life_dates(key: str) -> list[str]:
    return [c.name for c in table(key).columns if c.type == "date" and not c.identifier]


def _dated_source(key: str) -> tuple[str, list[str]] | None:
    """The FROM clause and the date expressions of a table's records (None for a table without dates)."""
    dataset = key.split(".")[0]
    columns = _life_dates(key)
    if columns:
        return f"{key} x", [f"x.{c}" for c in columns]
    cases = f"{dataset}.cases"
    has_case = "case_number_hash" in table(key).column_names and cases in table_keys()
    if has_case and "issue_date" in _life_dates(cases):
        # parties have no dates of their own: they are parties from the issue of their case
        return f"{key} x JOIN {cases} c ON c.case_number_hash = x.case_number_hash", ["c.issue_date"]
    return None


@pytest.mark.parametrize("key", [k for k in table_keys(include_truth=False) if _dated_source(k)])
def test_no_record_before_birth(con, key):
    source, columns = _dated_source(key)
    early = " OR ".join(f"{c} < p.date_of_birth" for c in columns)
    _none(
        con,
        f"""SELECT p.person_id, p.date_of_birth, {", ".join(columns)} FROM {source} {person_join(key)}
                   JOIN truth.people p ON p.person_id = r.person_id WHERE {early}""",
        f"a {key} record is dated before its person's birth",
    )


OFFENCE_TABLES = [k for k in table_keys(include_truth=False) if "offence_date" in table(k).column_names]


@pytest.mark.parametrize("key", OFFENCE_TABLES)
def test_no_offence_before_age_ten(con, key):
    _none(
        con,
        f"""SELECT p.person_id, p.date_of_birth, x.offence_date FROM {key} x {person_join(key)}
                   JOIN truth.people p ON p.person_id = r.person_id
                   WHERE x.offence_date < p.date_of_birth + INTERVAL 10 YEAR""",
        f"a {key} offence was committed before the age of 10",
    )


def test_ages_agree_with_dates(con):
    _none(con, "SELECT * FROM magistrates.case_summary WHERE age_at_hearing < 10", "age_at_hearing < 10")
    _none(con, "SELECT * FROM probation.flatfile WHERE age_at_offence < 10", "age_at_offence < 10")
    pnc_young = "SELECT * FROM moj_dfe.pnc_offences WHERE offencestartage BETWEEN 0 AND 9"  # negative: unknown
    _none(con, pnc_young, "PNC offencestartage < 10")
    _none(
        con,
        """SELECT * FROM magistrates.case_summary
                  WHERE (proceeding_type = 'Youth') <> (age_at_hearing < 18)""",
        "proceeding_type disagrees with age_at_hearing",
    )


def test_prison_journey_order(con):
    journeys = "SELECT * FROM prison.custodial_journey"
    _none(con, f"{journeys} WHERE first_release_date < journey_start_date", "first_release < journey_start")
    _none(con, f"{journeys} WHERE journey_end_date < first_release_date", "journey_end < first_release")
    _none(con, f"{journeys} WHERE journey_end_date < journey_start_date", "journey_end < journey_start")
    _none(
        con,
        f"{journeys} WHERE journey_end_date IS NOT NULL AND first_release_date IS NULL",
        "a journey ended without a first release",
    )


def test_rotl_inside_its_custodial_journey(con):
    joined = """SELECT * FROM (
                    SELECT r.*, j.offender_id AS journey_offender, j.journey_start_date, j.first_release_date
                    FROM prison.rotl r JOIN prison.custodial_journey j ON j.row_id_hash = r.journey_row_id_hash)"""
    assert scalar(con, "SELECT count(*) FROM prison.rotl") > 0, "no releases on temporary licence"
    assert _count(con, joined) == scalar(con, "SELECT count(*) FROM prison.rotl"), "ROTL rows without a journey"
    _none(con, f"{joined} WHERE offender_id <> journey_offender", "a ROTL's offender_id differs from its journey's")
    _none(con, f"{joined} WHERE rotl_date < journey_start_date", "a ROTL before the journey started")
    _none(con, f"{joined} WHERE return_date < rotl_date", "a ROTL returned before it began")
    _none(con, f"{joined} WHERE return_date >= first_release_date", "a ROTL not over before the first release")


def test_probation_referral_before_termination(con):
    events = "SELECT * FROM probation.flatfile"
    _none(con, f"{events} WHERE disposal_termination_date < referral_date", "disposal_termination_date < referral_date")
    _none(
        con,
        f"{events} WHERE (disposal_termination_date IS NULL) <> (termination_reason_desc IS NULL)",
        "a termination date without a reason, or a reason without a date",
    )


EVENTS = "(SELECT * FROM probation.flatfile QUALIFY row_number() OVER (PARTITION BY event_id_hash) = 1)"


def test_some_events_are_repeated_as_the_release_repeats_them(con):
    """The flat file holds some events twice, as the real one does: identical rows but for row_id_hash, each of its
    own in the truth; dropping repeated event_id_hash (as the research code does) leaves one row per event."""
    rows, events, row_ids = con.execute(
        "SELECT count(*), count(DISTINCT event_id_hash), count(DISTINCT row_id_hash) FROM probation.flatfile"
    ).fetchone()
    assert row_ids == rows and 0.002 < (rows - events) / rows < 0.03
    columns = [d[0] for d in con.execute("SELECT * FROM probation.flatfile LIMIT 0").description]
    rest = ", ".join(f'"{c}"' for c in columns if c != "row_id_hash")
    assert scalar(con, f"SELECT count(*) FROM (SELECT DISTINCT {rest} FROM probation.flatfile)") == events
    truth = "SELECT count(*) FROM truth.record_person WHERE dataset = 'probation' AND table_name = 'flatfile'"
    assert scalar(con, truth) == rows


def test_requirements_within_their_event(con):
    joined = f"""SELECT q.*, e.referral_date, e.disposal_termination_date
                FROM probation.rqmnts q JOIN {EVENTS} e USING (event_id_hash)"""
    assert _count(con, joined) == scalar(con, "SELECT count(*) FROM probation.rqmnts"), "orphan requirements"
    _none(con, f"{joined} WHERE q.rqmnt_commencement_date < e.referral_date", "a requirement starts before its event")
    _none(
        con,
        f"{joined} WHERE q.rqmnt_termination_date > e.disposal_termination_date",
        "a requirement ends after its event",
    )
    _none(
        con,
        f"{joined} WHERE q.rqmnt_termination_date < q.rqmnt_commencement_date",
        "a requirement ends before it starts",
    )
    _none(
        con,
        f"{joined} WHERE q.rqmnt_commencement_date > e.disposal_termination_date",
        "a requirement starts after its event ended",
    )


def test_a_population_too_small_for_some_tables_still_generates(tmp_path):
    """Thirty people have no probation event at all (seed 1): every table is then written empty, to its schema."""
    generate(tmp_path / "out", people=30, seed=1)
    con = connect(tmp_path / "out")
    assert scalar(con, "SELECT count(*) FROM probation.flatfile") == 0
    assert scalar(con, "SELECT count(*) FROM magistrates.offence") > 0


def test_probation_event_dates_and_lengths(con):
    """The offence comes before the sentence, a report has neither sentence date nor length, and the two lengths
    agree (whole months of the days)."""
    events = "SELECT * FROM probation.flatfile"
    report = "disposal_type_description = 'Pre-Sentence Report'"
    _none(con, f"{events} WHERE main_offence_date > disposal_date", "an offence after its sentence")
    _none(con, f"{events} WHERE disposal_date > referral_date", "a referral before the sentence")
    for column in ("disposal_date", "length", "length_in_days"):
        _none(con, f"{events} WHERE ({column} IS NULL) <> ({report})", f"{column} missing other than for a report")
    _none(con, f"{events} WHERE length <> greatest(round(length_in_days / (365.25 / 12)), 1)", "lengths disagree")
    _none(con, f"{events} WHERE NOT regexp_full_match(mo_code, '[0-9]+')", "an mo_code that is not digits")
    assert _count(con, f"{events} WHERE {report}") > 0


def test_requirements_repeat_their_event(con):
    """A requirement carries its event's person id and area, and was imposed on the day the order was made."""
    joined = f"SELECT q.*, e.* FROM probation.rqmnts q JOIN {EVENTS} e USING (event_id_hash)"
    for column in ("estimated_offender_id", "probation_area_desc"):
        _none(con, f"{joined} WHERE q.{column} <> e.{column}", f"a requirement's {column} is not its event's")
    _none(con, f"{joined} WHERE q.rqmnt_start_date <> e.disposal_date", "imposed on another day than the sentence")
    _none(con, f"{joined} WHERE q.rqmnt_commencement_date < q.rqmnt_start_date", "commenced before it was imposed")


def test_probation_areas_follow_transforming_rehabilitation(con):
    """Trusts hold the events referred before the CRCs began, CRCs and NPS divisions those after; NPS every report."""
    lists, supervision = code_lists()["probation_areas"]["areas"], load_yaml("justice.yaml")["supervision"]
    trusts = [trust for trust, _, _ in lists.values()]
    start = supervision["crc_start"]
    held = con.execute(
        f"""SELECT referral_date < DATE '{start}' AS before, probation_area_desc,
                   disposal_type_description = 'Pre-Sentence Report' AS report, count(*) AS n
            FROM probation.flatfile GROUP BY ALL"""
    ).fetchall()
    assert {area for before, area, _, _ in held if before} <= set(trusts)
    assert not {area for before, area, _, _ in held if not before} & set(trusts)
    assert {area for before, area, report, _ in held if report and not before} <= {nps for *_, nps in lists.values()}
    nps = sum(n for before, area, report, n in held if not before and not report and area.startswith("NPS "))
    after = sum(n for before, _, report, n in held if not before and not report)
    share = supervision["nps_share"]
    assert abs(nps / after - share) < 4 * (share * (1 - share) / after) ** 0.5  # four standard errors


def test_probation_ethnicity_in_ndelius_labels(con):
    lists = code_lists()
    allowed = {*lists["ndelius_ethnicity_labels"].values(), *lists["ethnicity_codings"]["ndelius_label"]["not_stated"]}
    seen = {row[0] for row in con.execute("SELECT DISTINCT ethnicity_desc FROM probation.flatfile").fetchall()}
    assert seen - {None} <= allowed
    assert {"White: British/English/Welsh/Scottish/Northern Irish", "White : Irish"} <= seen


def test_the_principal_offence_has_the_most_serious_disposal(con):
    """As the release defines it: offence 1 carries the case's disposal, and no other offence a more serious one."""
    disposals = code_lists()["disposals"]
    order = {disposals["codes"][key]: i for i, key in enumerate(disposals["seriousness"])}
    assert sorted(order) == sorted(disposals["codes"].values())
    ranks = ", ".join(f"('{label}', {i})" for label, i in order.items())
    offences = f"""SELECT o.defendant_row_id_hash, o.offence_seq, o.disposal_type, r.seriousness
                   FROM magistrates.offence o
                   LEFT JOIN (VALUES {ranks}) r(disposal_type, seriousness) USING (disposal_type)"""
    principal = f"SELECT * FROM ({offences}) WHERE offence_seq = 1"
    others = f"SELECT * FROM ({offences}) WHERE offence_seq > 1"
    _none(
        con,
        f"""SELECT * FROM ({principal}) p JOIN magistrates.case_summary s ON s.row_id_hash = p.defendant_row_id_hash
            WHERE p.disposal_type IS DISTINCT FROM s.disposal_type""",
        "offence 1's disposal is not the case's",
    )
    _none(
        con,
        f"""SELECT * FROM ({principal}) p JOIN ({others}) o USING (defendant_row_id_hash)
            WHERE o.seriousness < p.seriousness OR (p.disposal_type IS NULL) <> (o.disposal_type IS NULL)""",
        "another offence with a more serious disposal than the principal one",
    )
    assert _count(con, f"{others} AND disposal_type = 'Otherwise dealt with'") > 0


def test_crown_receipt_after_magistrates_hearing(con):
    pairs = """SELECT j.*, m.first_hearing_date, m.final_result_date, k.receipt_date, k.case_type
               FROM truth.case_journey j
               JOIN magistrates.case_summary m ON m.case_id_hash = j.mags_case_id_hash
               JOIN crown_court.case_summary k ON k.case_id_hash = j.crown_case_id_hash"""
    found = _count(con, f"SELECT DISTINCT mags_case_id_hash, crown_case_id_hash FROM ({pairs})")
    assert found == scalar(con, "SELECT count(*) FROM truth.case_journey"), "pairs missing from the courts"
    _none(
        con,
        f"{pairs} WHERE k.receipt_date < m.first_hearing_date",
        "a Crown Court receipt precedes the magistrates' first hearing",
    )
    _none(con, f"{pairs} WHERE k.case_type <> j.crown_case_type", "crown_case_type disagrees with case_type")
    # the same defendant: received at the Crown Court after the magistrates' decision on them
    _none(
        con,
        """SELECT m.row_id_hash FROM truth.case_journey j
                  JOIN magistrates.case_summary m ON m.case_id_hash = j.mags_case_id_hash
                  JOIN truth.record_person rm ON rm.row_id_hash = m.row_id_hash
                  JOIN crown_court.case_summary k ON k.case_id_hash = j.crown_case_id_hash
                  JOIN truth.record_person rk
                    ON rk.row_id_hash = k.row_id_hash AND rk.person_id = rm.person_id
                  WHERE k.receipt_date <= m.final_result_date""",
        "a defendant reached the Crown Court before the magistrates' result",
    )


# ---- properties of the simulation itself, over random seeds and sizes -----------------------------------


def _check_world(world: World) -> None:
    c = world.courts.cases
    dob = world.people.dob[c.person]
    assert np.all(c.offence_date <= c.first_hearing)
    assert np.all(c.first_hearing <= c.mags_result_date)
    assert np.all(dates.age_on(dob, c.offence_date) >= 10), "an offence before the age of 10"
    crown = c.crown_type != NONE
    assert np.all(c.crown_receipt[crown] > c.mags_result_date[crown])
    assert np.all(c.crown_receipt[crown] >= c.first_hearing[crown])
    assert np.all(c.crown_result_date[crown] >= c.crown_receipt[crown])
    assert np.all(c.crown_receipt[~crown] == NEVER)
    sentenced = c.convicted
    assert np.all(c.sentence_date[sentenced] >= c.offence_date[sentenced])
    assert np.all(c.sentence_date[sentenced] != NEVER)
    assert np.all(c.disposal[~sentenced] == NONE)

    _nobody_offends_while_held(world)
    j = world.custody.journeys
    assert np.all(j.start >= world.people.dob[j.person])
    assert np.all(j.start <= j.first_release)
    assert np.all(j.first_release <= j.end)

    sup = world.supervision
    ev, req = sup.events, sup.requirements
    assert np.all(ev.referral <= ev.termination)
    assert np.all(ev.referral >= world.people.dob[ev.person])
    assert np.all(req.start >= ev.referral[req.event])
    assert np.all(req.start <= req.end)
    assert np.all(req.end <= ev.termination[req.event])
    # a requirement runs for as long as its length takes, unless its order ends first
    worked = req.start.astype(np.int64) + requirement_days(req.kind, req.length)
    assert np.all(req.end == np.minimum(worked, ev.termination[req.event]))


def _nobody_offends_while_held(world: World) -> None:
    """No offence (caution, prosecuted or not) falls on a day its person is held on remand, serving or recalled."""
    courts = world.courts
    spells = case_spells(world, courts.cases, courts.potential_cases)
    case, start, stop = spells.held()
    person = courts.cases.person[case].astype(np.int64)
    off = courts.offences
    days = np.sort(off.person.astype(np.int64) * 2**32 + off.date)
    inside = np.searchsorted(days, person * 2**32 + stop) - np.searchsorted(days, person * 2**32 + start)
    assert inside.sum() == 0, f"{inside.sum()} offences while held"
    assert np.all(stop >= start)


@settings(max_examples=8, deadline=None, database=None)
@given(seed=st.integers(0, 2**32 - 1), n=st.integers(1, 2_500))
def test_simulation_invariants(seed, n):
    _check_world(World(seed, 0, 0, n, Window.of_years(2000, 2023)))
