"""The MoJ-DfE share (PNC and NPD): spec conformance, scope, school calendar, care episodes, PNC dates."""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pytest

from conftest import scalar
from sdfirst.specs import datasets, load_yaml
from sdfirst.synth import dates
from sdfirst.synth.education import day_in_year
from sdfirst.synth.output import conform
from sdfirst.synth.tables.moj_dfe import build
from sdfirst.synth.world import Window, World

PEOPLE = 20_000


def _world(seed: int = 3) -> World:
    return World(seed=seed, chunk=0, first_id=0, n_people=PEOPLE, window=Window.of_years(2000, 2023))


@pytest.fixture(scope="module")
def world() -> World:
    return _world()


@pytest.fixture(scope="module")
def built(world):
    return {name: part.made() for name, part in build(world).items()}


def _days(col) -> np.ndarray:
    """A date32 column as int32 day numbers (NEVER for nulls)."""
    arr = pa.array(col).cast(pa.int32())
    return pc.fill_null(arr, int(dates.NEVER)).to_numpy(zero_copy_only=False).astype(np.int64)


def _np(col) -> np.ndarray:
    return pa.array(col).to_numpy(zero_copy_only=False)


def _text_days(col) -> np.ndarray:
    """The share's text dates ("YYYY-MM-DD") as day numbers (NEVER for empty ones)."""
    return _days(pc.cast(pa.array(col), pa.date32()))


def _start_years(col) -> np.ndarray:
    """2012 for '2012/2013'."""
    return np.array([int(y[:4]) for y in _np(col)])


def test_spec_conformance(built):
    spec = datasets()["moj_dfe"]
    assert set(built) == set(spec.tables)
    for name, part in built.items():
        table = spec.tables[name]
        assert list(part.columns) == table.column_names, name
        data = conform(table, part.columns)
        assert data.num_rows == len(part.person)
        assert "row_id_hash" not in part.columns, name  # the share's files have no row key
        assert table.truth_key is not None and table.truth_key.column in part.columns, name
        for col in table.columns:
            if col.codes:
                values = set(pc.unique(data[col.name]).drop_null().to_pylist())
                assert values <= set(col.codes), (name, col.name, values - set(col.codes))
            if not col.nullable:
                assert data[col.name].null_count == 0, (name, col.name)


def test_every_table_has_rows(built):
    for name, part in built.items():
        assert len(part.person) > 0, name


def test_nobody_born_before_cutoff(built, world):
    cutoff = dates.day("1985-08-31")
    for name, part in built.items():
        assert (world.people.dob[part.person] > cutoff).all(), name


def test_census_ages_and_england(built, world):
    census = built["school_census"]
    c = census.columns
    start = np.asarray(c["censusyear_spr"]) - 1  # the academic year starts the autumn before the January census
    age = dates.age_on(world.people.dob[census.person], day_in_year(start, 8, 31))
    assert age.min() >= 5 and age.max() <= 15
    assert (age == np.asarray(c["ageatstartofacademicyear_spr"])).all()
    assert (start >= 2001).all() and (start <= 2019).all()
    lsoa = _np(c["lsoa11_spr"])
    assert all(x.startswith("E01") for x in lsoa)
    # one row per pupil per year
    keys = np.char.add(_np(c["pupilmatchingrefanonymous_spr"]).astype(str), start.astype(str))
    assert len(np.unique(keys)) == len(keys)


def test_census_codes(built):
    c = built["school_census"].columns
    major, minor = _np(c["ethnicgroupmajor_spr"]), _np(c["ethnicgroupminor_spr"])
    mapping = load_yaml("education.yaml")["npd"]["ethnicity_major"]
    assert all(mapping[m] == g for m, g in zip(minor, major, strict=True))
    assert {"WHIT", "ASIA", "BLAC", "UNCL"} <= set(major)
    year = np.asarray(c["censusyear_spr"]) - 1
    sen = _np(c["senprovision_spr"])
    assert set(sen[year < 2014]) <= {"N", "A", "P", "S"} and set(sen[year >= 2014]) <= {"N", "K", "E"}
    assert {"A", "P", "K", "E"} <= set(sen)
    kind = pa.array(c["primarysentype_spr"])
    assert (pc.is_null(kind).to_numpy(zero_copy_only=False) == (sen == "N")).all()
    kinds = _np(kind)
    assert "SEMH" not in set(kinds[year < 2014]) and "BESD" not in set(kinds[year >= 2014])
    assert set(np.asarray(c["fsmeligible_spr"])) == {0, 1}


def test_census_columns_of_some_years_only(built):
    """As the public code reads the census: the LSOA is llsoa_spr to 2012 and lsoa11_spr from 2013, the authorities'
    nine-character codes start in 2011, senprovisionmajor_spr in 2009 and idacidecile_15_spr (after
    idacidecile_spr) in 2016; each is empty in the other years, and
    senprovisionmajor_spr groups senprovision_spr (3_SS a statement or plan)."""
    data = conform(datasets()["moj_dfe"].tables["school_census"], built["school_census"].columns)
    year = data["censusyear_spr"].to_numpy()
    for column, first, last in [
        ("llsoa_spr", 2002, 2012),
        ("lsoa11_spr", 2013, 2020),
        ("la_9code_spr", 2011, 2020),
        ("homela_9code_spr", 2011, 2020),
        ("senprovisionmajor_spr", 2009, 2020),
        ("idacidecile_spr", 2002, 2015),
        ("idacidecile_15_spr", 2016, 2020),
    ]:
        present = pc.is_valid(data[column]).to_numpy(zero_copy_only=False)
        assert (present == ((year >= first) & (year <= last))).all(), column
    major = dict(zip(_np(data["senprovision_spr"]), _np(data["senprovisionmajor_spr"]), strict=True))
    assert major.get("S") == "3_SS" and major.get("E") == "3_SS" and major.get("N") == "1_NON"
    second = pa.array(data["secondarysentype_spr"])
    first_need = pa.array(data["primarysentype_spr"])
    assert not pc.any(pc.and_(pc.is_valid(second), pc.is_null(first_need))).as_py()  # a second need needs a first
    assert not pc.any(pc.equal(second, first_need)).as_py()


def test_census_authorities_and_language(built):
    """Each school is in one authority, most pupils go to school in their home's, and the nine-character code is
    the number's; about one pupil in six has a first language other than English, commoner among Asian pupils."""
    data = conform(datasets()["moj_dfe"].tables["school_census"], built["school_census"].columns)
    frame = data.select(
        ["urn_spr", "la_spr", "homela_spr", "la_9code_spr", "languagegroupmajor_spr", "ethnicgroupmajor_spr"]
    ).to_pandas()
    assert (frame.groupby("urn_spr")["la_spr"].nunique() == 1).all()
    assert 0.85 < (frame["la_spr"] == frame["homela_spr"]).mean() < 1
    coded = frame.dropna(subset=["la_9code_spr"])
    assert (coded["la_9code_spr"].str[-3:].astype(int) == coded["la_spr"]).all()
    other = frame["languagegroupmajor_spr"] == "2_OTH"
    assert 0.08 < other.mean() < 0.3
    assert (
        other[frame["ethnicgroupmajor_spr"] == "ASIA"].mean()
        > 2 * other[frame["ethnicgroupmajor_spr"] == "WHIT"].mean()
    )
    # the Foundation Stage Profile gives a school the census's authority
    census_la = frame.groupby("urn_spr")["la_spr"].first()
    profile = built["eyfsp"].columns
    urn, la = np.asarray(profile["fsp_urn"]), np.asarray(profile["fsp_la"])
    known = np.isin(urn, census_la.index)
    assert known.mean() > 0.5 and (census_la.loc[urn[known]].to_numpy() == la[known]).all()


def _year_by_pupil(part, prefix: str) -> dict[str, int]:
    pupils = _np(part.columns[f"{prefix}_pupilmatchingrefanonymous"])
    return dict(zip(pupils, _start_years(part.columns[f"{prefix}_acadyr"]), strict=True))


def test_ks2_before_ks4(built):
    y2 = _year_by_pupil(built["ks2"], "ks2")
    y4 = _year_by_pupil(built["ks4"], "ks4")
    both = set(y2) & set(y4)
    assert both
    assert all(y4[k] - y2[k] == 5 for k in both)


def test_ks2_levels_and_scores_agree(built):
    c = built["ks2"].columns
    level = pc.fill_null(pa.array(c["ks2_matlev"]), -1).to_numpy()
    score = pc.fill_null(pa.array(c["ks2_matscore"]), -1).to_numpy()
    expected = np.asarray(c["ks2_levxmat"]) == 1
    assert ((level >= 0) ^ (score >= 0)).all()
    assert ((level >= 4) == expected)[level >= 0].all()
    assert ((score >= 100) == expected)[score >= 0].all()
    assert "2019/2020" not in set(_np(c["ks2_acadyr"]))
    points = load_yaml("education.yaml")["attainment"]["ks2"]["points"]
    read = pc.fill_null(pa.array(c["ks2_readlev"]), -1).to_numpy()
    aps = np.asarray(pc.fill_null(pa.array(c["ks2_aps"]), -1.0))
    sure = level >= 0
    want = np.array([(points[r] + points[m]) / 2 for r, m in zip(read[sure], level[sure], strict=True)])
    assert (aps[sure] == want).all()


def test_eyfsp_points_add_up(built):
    c = built["eyfsp"].columns
    scales = list(load_yaml("education.yaml")["early_years"]["eyfsp"]["scales"])
    points = {k: np.array([int(x) for x in _np(c[f"fsp_{k}"])]) for k in scales}
    assert all(((v >= 0) & (v <= 9)).all() for v in points.values())
    for k, v in points.items():
        stem = k.replace("_", "")
        achieved = sum((_np(c[f"fsp_{stem}r{i}"]) == "T").astype(int) for i in range(1, 10))
        assert (achieved == v).all(), k
    for area in ("pse", "cll", "psrn"):
        total = sum(v for k, v in points.items() if k.startswith(f"{area}_"))
        assert (np.array([int(x) for x in _np(c[f"fsp_{area}_total"])]) == total).all()
    assert (np.array([int(x) for x in _np(c["fsp_eyfsp_total"])]) == sum(points.values())).all()
    years = _start_years(c["fsp_acadyr"])
    assert years.min() >= 2002 and years.max() <= 2011
    # Reception is two years before KS1 (Year 2) and six before KS2 (Year 6)
    y1, y2 = _year_by_pupil(built["ks1"], "ks1"), _year_by_pupil(built["ks2"], "ks2")
    y0 = dict(zip(_np(c["fsp_pupilmatchingrefanonymous"]), years, strict=True))
    assert all(y1[k] - y0[k] == 2 for k in set(y0) & set(y1))
    assert all(y2[k] - y0[k] == 6 for k in set(y0) & set(y2))


def test_eyfsp_carries_the_moj_id_of_matched_pupils(built):
    c = built["eyfsp"].columns
    moj = pa.array(c["mojuid"])
    pupils = pa.array(c["fsp_pupilmatchingrefanonymous"]).filter(pc.invert(pc.is_null(moj)))
    pnc = built["pnc_offences"].columns
    matched = dict(zip(_np(pnc["pupilmatchingrefanonymous"]), _np(pnc["mojuid"]), strict=True))
    ids = moj.drop_null().to_pylist()
    assert ids and all(pupil in matched for pupil in pupils.to_pylist())
    assert set(ids) <= set(_np(pnc["mojuid"]))


def test_ks1_points_and_ks2_carries_them(built):
    c = built["ks1"].columns
    k1 = load_yaml("education.yaml")["early_years"]["ks1"]
    points = dict(zip(k1["levels"], k1["points"], strict=True))
    want = np.mean([[points[x] for x in _np(c[f"ks1_{s}"])] for s in ("read", "writ", "math")], axis=0)
    assert np.allclose(np.asarray(c["ks1_aps"]), want)
    level3 = np.mean(_np(c["ks1_read"]) == "3")
    assert 0.1 < level3 < 0.45
    aps = dict(zip(_np(c["ks1_pupilmatchingrefanonymous"]), np.asarray(c["ks1_aps"]), strict=True))
    k2 = built["ks2"].columns
    carried = dict(zip(_np(k2["ks2_pupilmatchingrefanonymous"]), pa.array(k2["ks2_ks1aps"]).to_pylist(), strict=True))
    both = set(aps) & set(carried)
    assert both and all(carried[k] == pytest.approx(aps[k]) for k in both)
    assert all(v is None for k, v in carried.items() if k not in aps)


def test_risk_shows_in_the_early_years(built):
    """Offenders had lower socio-emotional scores in Reception: the shared latent risk again."""
    offenders = np.unique(built["pnc_offences"].person)
    e = built["eyfsp"]
    pse = np.array([int(x) for x in _np(e.columns["fsp_pse_total"])])
    off = np.isin(e.person, offenders)
    assert pse[off].mean() < pse[~off].mean() - 0.5


def test_ks2_exam_agrees_with_the_pupil_file(built):
    e, k = built["ks2_exam"].columns, built["ks2"].columns
    level = dict(
        zip(
            _np(k["ks2_pupilmatchingrefanonymous"]),
            zip(_np(k["ks2_readlev"]), _np(k["ks2_matlev"]), strict=True),
            strict=True,
        )
    )
    subject = {9984: 0, 9982: 1}
    pupils, codes = _np(e["ks2_pupilmatchingrefanonymous"]), np.asarray(e["ks2_leapcode"])
    tested = np.array([int(x) for x in _np(e["ks2_testlev"])])
    both = codes != 9980
    assert all(level[p][subject[c]] == t for p, c, t in zip(pupils[both], codes[both], tested[both], strict=True))
    # the marks of the pupil file are the tests' marks
    own = zip(_np(k["ks2_readmrk"]), _np(k["ks2_mattotmrk"]), strict=True)
    marks = dict(zip(_np(k["ks2_pupilmatchingrefanonymous"]), own, strict=True))
    test_marks = np.asarray(e["ks2_testmark"])
    assert all(marks[p][subject[c]] == m for p, c, m in zip(pupils[both], codes[both], test_marks[both], strict=True))
    # grammar, punctuation and spelling from 2012/13 only, at level 4 exactly where the pupil file says so
    gps = dict(zip(_np(k["ks2_pupilmatchingrefanonymous"]), pa.array(k["ks2_levxgps"]).to_pylist(), strict=True))
    years = _start_years(e["ks2_acadyr"])
    assert (years[~both] >= 2012).all() and (years[~both] <= 2014).all()
    assert all(gps[p] == int(t >= 4) for p, t in zip(pupils[~both], tested[~both], strict=True))
    assert 0.7 < np.mean(tested[~both] >= 4) < 0.82  # about 76% nationally
    _, per_pupil = np.unique(pupils, return_counts=True)
    assert set(per_pupil) == {2, 3}
    points = load_yaml("education.yaml")["attainment"]["ks2"]["points"]
    assert (np.asarray(e["ks2_points"]) == np.array([points[t] for t in tested])).all()
    assert (np.floor(np.asarray(e["ks2_fine"])) == tested).all()
    # the same MoJ id as the Foundation Stage Profile file gives the pupil
    f = built["eyfsp"].columns
    early = dict(zip(_np(f["fsp_pupilmatchingrefanonymous"]), pa.array(f["mojuid"]).to_pylist(), strict=True))
    exam = dict(zip(pupils, pa.array(e["mojuid"]).to_pylist(), strict=True))
    both = set(early) & set(exam)
    assert both and all(early[p] == exam[p] for p in both)


def test_exclusions_inside_school_years(built):
    c = built["exclusions"].columns
    start = np.asarray(c["exclusionyear_ex"]) - 1
    perm = np.asarray(c["permanentexclusioncount_ex"])
    fixed = np.asarray(c["totalfixedexclusions_ex"])
    assert ((perm + fixed) >= 1).all()
    filled = 0
    for k in (1, 2, 3):
        has = ~pc.is_null(pa.array(c[f"category{k}_ex"])).to_numpy(zero_copy_only=False)
        filled = filled + has
        day = _text_days(pa.array(c[f"startdate{k}_ex"]).filter(pa.array(has)))
        assert (day >= day_in_year(start[has], 9, 1)).all()
        assert (day <= day_in_year(start[has] + 1, 7, 31)).all()
        assert (((day + 3) % 7) < 5).all()  # school days only
    assert (filled == np.minimum(perm + fixed, 3)).all()
    # a permanent exclusion takes the first slot
    assert (np.where(perm > 0, _np(c["category1_ex"]) == "PERM", True)).all()
    pmr = _np(c["pupilmatchingrefanonymous_ex"])
    excluded, times = np.unique(np.repeat(pmr, perm), return_counts=True)
    assert len(excluded) and (times == 1).all()  # at most one permanent exclusion each
    assert (np.asarray(c["totalfixedsessions_ex"]) >= 2 * fixed).all()


def test_absence_consistent(built):
    c = built["absence"].columns
    terms = ("autumn", "spring", "summer")
    for kind in ("sessionspossible", "authorisedabsence", "unauthorisedabsence"):
        total = sum(np.asarray(c[f"{kind}_{t}_ab"]) for t in terms)
        assert (total == np.asarray(c[f"{kind}_annual_ab"])).all(), kind
    for t in (*terms, "annual"):
        missed = np.asarray(c[f"authorisedabsence_{t}_ab"]) + np.asarray(c[f"unauthorisedabsence_{t}_ab"])
        assert (missed <= np.asarray(c[f"sessionspossible_{t}_ab"])).all()
        assert (np.asarray(c[f"authorisedabsence_{t}_ab"]) >= 0).all()
    year = np.asarray(c["absenceyear_ab"])
    assert year.min() >= 2006
    possible = np.asarray(c["sessionspossible_annual_ab"])
    short = np.asarray(c["sessionspossible_summer_ab"]) < np.asarray(c["sessionspossible_autumn_ab"])
    assert short[(year <= 2012) & (possible > 0)].mean() > 0.9  # five half-terms: a short summer
    assert (np.asarray(c["annualreasone_ab"]) <= possible).all()


def test_absence_has_a_row_per_school(built):
    """A pupil who changes school during a year, permanently excluded or moving home, has two rows that year, one
    per school: the first school's sessions end in the term of the change and the next school's begin there. Every
    other pupil-year has one; a few per cent of pupil-years have two, as pupils move home."""
    c = built["absence"].columns
    frame = pa.table(
        {
            "pupil": _np(c["pupilmatchingrefanonymous_ab"]),
            "year": np.asarray(c["absenceyear_ab"]),
            "estab": np.asarray(c["estab_ab"]),
            **{t: np.asarray(c[f"sessionspossible_{t}_ab"]) for t in ("autumn", "spring", "summer")},
        }
    ).to_pandas()
    size = frame.groupby(["pupil", "year"]).size()
    assert size.max() == 2 and (size == 2).sum() > 5
    e = built["exclusions"].columns
    excluded = {
        (p, y)
        for p, y, n in zip(
            _np(e["pupilmatchingrefanonymous_ex"]),
            np.asarray(e["exclusionyear_ex"]),
            np.asarray(e["permanentexclusioncount_ex"]),
            strict=True,
        )
        if n > 0
    }
    two = set(size[size == 2].index)
    ever_excluded = {p for p, _ in excluded}
    assert two & excluded  # excluded during the year
    assert all(p not in ever_excluded for p, y in two - excluded)  # the others moved home, never excluded
    assert 0.01 < len(two) / len(size) < 0.08
    pairs = frame.set_index(["pupil", "year"]).loc[size[size == 2].index]
    first, then = pairs.groupby(level=[0, 1]).nth(0), pairs.groupby(level=[0, 1]).nth(1)
    assert (first["estab"].to_numpy() != then["estab"].to_numpy()).all()
    a, b = first.reset_index(drop=True), then.reset_index(drop=True)
    assert ((a["summer"] == 0) | ((b["autumn"] == 0) & (b["spring"] == 0))).all()
    assert ((a["spring"] == 0) | (b["autumn"] == 0)).all()


def test_care_episodes_ordered(built):
    part = built["children_looked_after"]
    c = part.columns
    start = _text_days(c["cla_poc_start"])
    year = np.asarray(c["cla_processing_year"])
    assert (start <= day_in_year(year, 3, 31)).all()
    assert year.min() >= 2006 and year.max() <= 2020
    # a period is in each processing year from its start to its end, once
    keys = np.char.add(
        _np(c["cla_pupilmatchingrefanonymous"]).astype(str), np.char.add(start.astype(str), year.astype(str))
    )
    assert len(np.unique(keys)) == len(keys)
    assert set(_np(c["cla_cat_need"])) <= {f"N{i}" for i in range(1, 9)}
    cin = built["children_in_need"].columns
    ref = _text_days(cin["cin_referraldate"])
    close = _text_days(cin["cin_closuredate"])
    assert (ref >= dates.day("2008-04-01")).all() and (close >= ref).all()
    ends = np.array([int(y[5:]) for y in _np(cin["cin_acadyr"])])  # the year the collection year ends in
    assert (ref <= day_in_year(ends, 3, 31)).all()
    cpp = _np(cin["cin_latestcategoryofabuse"])
    assert 0.1 < np.mean([x is not None for x in cpp]) < 0.4


def test_pnc_dates(built, world):
    part = built["pnc_offences"]
    c = part.columns
    text = _np(c["offencestartdate"])
    unknown = np.char.startswith(text.astype(str), "1900")
    assert 0 < unknown.mean() < 0.02  # the file's stand-in for an unknown date, on a few rows
    offence = _text_days(c["offencestartdate"])
    disposal = _text_days(c["disposaldate"])
    known = offence[~unknown]
    assert (known <= disposal[~unknown]).all()
    assert (known >= dates.day("2000-01-01")).all() and (disposal <= dates.day("2021-12-31")).all()
    age = np.asarray(c["offencestartage"])
    assert 0 < (age < 0).mean() < 0.02  # negative: unknown
    true_age = dates.age_on(world.people.dob[part.person], np.where(unknown, disposal, offence).astype(np.int32))
    assert (true_age >= 10).all()
    sure = ~unknown & (age >= 0)
    assert (age[sure] == true_age[sure]).all()
    cautioned = _np(c["adjudicationcode"]) == "J"
    description = _np(c["disposaldescription"])
    cautions = {"Reprimand", "Final warning", "Youth caution", "Caution"}
    assert (np.isin(description, list(cautions)) == cautioned).all()
    assert (np.asarray(c["disposalrank"])[cautioned] == 1).all()  # a caution is the offence's only disposal


def test_pnc_cases_and_groups(built):
    c = built["pnc_offences"].columns
    case, primary, rank = _np(c["caseid"]), _np(c["isprimaryoffence"]), np.asarray(c["disposalrank"])
    first = rank == 1  # a row per disposal: rank 1 is the sentence or caution, one row per offence
    cases, counts = np.unique(case[first & (primary == "Y")], return_counts=True)
    assert (counts == 1).all() and set(cases) == set(case)  # one primary offence per case
    offence = _np(c["offenceid"])
    assert len(np.unique(offence[first])) == first.sum() and set(offence) == set(offence[first])
    # further disposals: orders beside a conviction's sentence, ranked 2 and 3 on rows of their own
    orders = set(load_yaml("education.yaml")["police"]["further_disposals"]["orders"])
    further = ~first
    assert 0.1 < further.mean() < 0.4 and set(rank) == {1, 2, 3}
    assert set(_np(c["disposaldescription"])[further]) == orders
    assert not set(_np(c["disposaldescription"])[first]) & orders
    assert (_np(c["adjudicationcode"])[further] == "G").all()
    frame = pa.table({"offence": offence, "rank": rank, "kind": _np(c["disposaldescription"])}).to_pandas()
    ranks = frame.groupby("offence")["rank"].agg(["max", "size", "nunique"])
    assert (ranks["max"] == ranks["size"]).all() and (ranks["size"] == ranks["nunique"]).all()  # 1..k, each once
    assert (
        frame[frame["rank"] > 1]
        .groupby("offence")["kind"]
        .nunique()
        .eq(frame[frame["rank"] > 1].groupby("offence").size())
        .all()
    )  # a third order differs from the second
    # the group number the public code reads from the first two characters
    number = np.array([int(g[:2]) for g in _np(c["offence_group"])])
    assert set(number) <= set(range(1, 13)) and 1 in number


def test_pnc_carries_the_match(built):
    c = built["pnc_offences"].columns
    ids, pupil = _np(c["mojuid"]), pa.array(c["pupilmatchingrefanonymous"])
    matched = ~pc.is_null(pupil).to_numpy(zero_copy_only=False)
    # a person id is matched on all its rows or none, to one pupil
    by_id: dict[str, set] = {}
    for i, p in zip(ids, pupil.to_pylist(), strict=True):
        by_id.setdefault(i, set()).add(p)
    assert all(len(v) == 1 for v in by_id.values())
    share = np.mean([None not in v for v in by_id.values()])
    assert 0.8 < share < 0.99
    pupils = set(_np(built["school_census"].columns["pupilmatchingrefanonymous_spr"]))
    assert np.mean([p in pupils for p in pupil.filter(pa.array(matched)).to_pylist()]) > 0.95


def test_risk_shows_in_schooling(built, world):
    """Offenders did worse at KS2 and were excluded more: the shared latent risk at work."""
    offenders = np.unique(built["pnc_offences"].person)
    ks2 = built["ks2"]
    both = (np.asarray(ks2.columns["ks2_levxmat"]) == 1) & (np.asarray(ks2.columns["ks2_levxread"]) == 1)
    off = np.isin(ks2.person, offenders)
    assert both[off].mean() < both[~off].mean() - 0.1


def test_deterministic():
    a, b = ({name: part.made() for name, part in build(_world(5)).items()} for _ in range(2))
    for name in a:
        assert pa.table(a[name].columns).equals(pa.table(b[name].columns)), name
        assert (a[name].person == b[name].person).all()


def test_education_parameters_documented():
    par = load_yaml("education.yaml")
    for section in (
        "scope",
        "free_school_meals",
        "attainment",
        "absence",
        "exclusions",
        "children_in_need",
        "looked_after",
        "matching",
        "police",
        "npd",
        "early_years",
    ):
        assert section in par


def test_public_cohort_ctes_give_the_calibration_figures(con):
    """The CTEs the book reuses reproduce the calibration metrics they were factored out of."""
    from sdfirst.calibration import education

    share = con.execute(
        f"WITH {education.cohort_ctes()} SELECT 100 * avg((person_id IN (SELECT person_id FROM sv))::INT) FROM cohort"
    ).fetchone()[0]
    assert share == pytest.approx(education.dfe_sv_offence_pct(con))
    none = con.execute(
        f"""WITH {education.ons_ctes()}
        SELECT 100 * avg((k.ks2_levxmat = 1 AND k.ks2_levxread = 1)::INT)
        FROM grouped g JOIN (SELECT r_k.person_id, k.* FROM {education.records("ks2", "k")}) k USING (person_id)
        WHERE g.grp = 'none' AND k.ks2_matlev IS NOT NULL"""
    ).fetchone()[0]
    assert none == pytest.approx(education.ons_ks2_none_pct(con))


def test_the_truth_names_the_person_of_every_share_row(con):
    """The share's files have no row key, as the real ones have none: no share row is in truth.record_person, the
    truth holds no id that no file holds (test_truth checks that every row's id names one person)."""
    assert scalar(con, "SELECT count(*) FROM truth.record_person WHERE dataset = 'moj_dfe'") == 0
    repeated = """SELECT count(*) FROM (SELECT key_name, key_value FROM truth.key_person
                  GROUP BY ALL HAVING count(*) > 1)"""
    assert scalar(con, repeated) == 0
    held = []
    for name, spec in datasets()["moj_dfe"].tables.items():
        key = spec.truth_key
        assert "row_id_hash" not in spec.column_names, name
        held.append(f"SELECT DISTINCT '{key.key}' AS key_name, {key.column} AS key_value FROM moj_dfe.{name}")
    idle = f"SELECT count(*) FROM truth.key_person ANTI JOIN ({' UNION '.join(held)}) USING (key_name, key_value)"
    assert scalar(con, idle) == 0
    # a PNC row's person, by its mojuid, is almost always the person of the pupil it was matched to
    agree = """SELECT avg((m.person_id = p.person_id)::INT) FROM moj_dfe.pnc_offences o
               JOIN truth.key_person m ON m.key_name = 'mojuid' AND m.key_value = o.mojuid
               JOIN truth.key_person p ON p.key_name = 'pupilmatchingrefanonymous'
                    AND p.key_value = o.pupilmatchingrefanonymous"""
    assert scalar(con, agree) > 0.95


def test_a_move_of_home_changes_school_in_term_time(world):
    """`school_moves`: each move is the day an address began, inside the school year it splits (neither before
    its first school day nor after its last), between the census schools of two years in a row, of one kind."""
    from sdfirst.synth.education import school_moves, school_year_share, schooling

    s = schooling(world)
    moves = school_moves(world, s)
    assert len(moves.child) > 50
    person = s.person[moves.child]
    starts = world.people.addr_start[person]
    assert (starts == moves.day[:, None]).any(axis=1).all()
    share = school_year_share(s.year[moves.child, moves.g], moves.day)
    assert ((share > 0) & (share < 1)).all()
    assert (moves.before != moves.after).all()
    census = s.school[moves.child]
    here = census[np.arange(len(moves.child)), moves.g]
    assert ((here == moves.before) | (here == moves.after)).all()
