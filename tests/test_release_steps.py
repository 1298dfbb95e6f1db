"""The steps public research code took on the real extracts, run on the synthetic data in SQL and in Python.

`CarlyLL/Enforced-alcohol-abstinence` (R code excerpts 1 and 4-6, see `../shared/reference/data-first.md`) read the
probation flat file and requirements, dropped repeated events, joined each dataset to the linking table on
`row_id_hash` within its `source_dataset`, joined the datasets on the person id, and counted the magistrates' cases
whose offence came after a probation referral. Each step here uses only the column names that code used, so a
renamed column breaks this test as it would break that code. The MoJ-DfE share's steps follow
`paulgah/Socio-Emotional_Offending` (clean_data/03_PNC_clean.do) on the delimited text files. The Python steps read
the release's own files by name (`moj_probation_flatfile_01` .. `_30`, `MOJ_PNC.csv`), as that code did; the SQL steps
read the views of `sdfirst.connect`, the release view, which has no identifiers.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pyarrow.parquet as pq
import pytest

import sdfirst
from conftest import SEED
from sdfirst.linkage import link
from sdfirst.synth import generate

PROBATION, MAGS = "probation_delius", "mags_hocas"


@pytest.fixture(scope="module")
def folder(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("release_steps") / "data"
    generate(out, people=6_000, seed=SEED, datasets="magistrates,crown_court,probation")
    link(out, evaluate=False, notice=lambda _note: None)  # prison, family and civil are left out on purpose
    return out


def _sql(folder: Path) -> pd.DataFrame:
    con = sdfirst.connect(folder)
    return con.execute(f"""
        WITH events AS (      -- one row per event: the release repeats some
            SELECT * FROM probation.flatfile QUALIFY row_number() OVER (PARTITION BY event_id_hash) = 1
        ),
        probation AS (
            SELECT e.event_id_hash, e.referral_date, l.estimated_xjs_id
            FROM events e JOIN linking.xjs_link l
              ON l.row_id_hash = e.row_id_hash AND l.source_dataset = '{PROBATION}'
        ),
        mags AS (
            SELECT m.case_id_hash, m.offence_date, m.final_result_date, l.estimated_xjs_id
            FROM magistrates.case_summary m JOIN linking.xjs_link l
              ON l.row_id_hash = m.row_id_hash AND l.source_dataset = '{MAGS}'
        ),
        unpaid AS (
            SELECT event_id_hash, bool_or(rqmnt_type_main_category_desc = 'Unpaid Work') AS unpaid_work
            FROM probation.rqmnts GROUP BY ALL
        )
        SELECT p.event_id_hash, coalesce(u.unpaid_work, false) AS unpaid_work,
               count(DISTINCT m.case_id_hash) AS later_cases
        FROM probation p
        LEFT JOIN unpaid u USING (event_id_hash)
        LEFT JOIN mags m ON m.estimated_xjs_id = p.estimated_xjs_id AND m.offence_date > p.referral_date
        GROUP BY ALL ORDER BY event_id_hash
    """).df()


def _python(folder: Path) -> pd.DataFrame:
    def read(*parts: str) -> pd.DataFrame:
        return pq.read_table(folder.joinpath(*parts)).to_pandas()

    def thirty(name: str) -> pd.DataFrame:  # the release's thirty files, read by name and stacked, as the R code does
        return pd.concat([read("probation", f"moj_probation_{name}_{i:02d}") for i in range(1, 31)], ignore_index=True)

    links = read("linking", "xjs_link.parquet")
    events = thirty("flatfile").drop_duplicates("event_id_hash")
    requirements = thirty("rqmnts")
    mags = read("magistrates", "case_summary")[["row_id_hash", "case_id_hash", "offence_date", "final_result_date"]]

    def person(table: pd.DataFrame, dataset: str) -> pd.DataFrame:
        ids = links.loc[links["source_dataset"] == dataset, ["row_id_hash", "estimated_xjs_id"]]
        return table.merge(ids, on="row_id_hash")

    probation = person(events, PROBATION)[["event_id_hash", "referral_date", "estimated_xjs_id"]]
    unpaid = (
        requirements.assign(unpaid_work=requirements["rqmnt_type_main_category_desc"] == "Unpaid Work")
        .groupby("event_id_hash", as_index=False)["unpaid_work"]
        .any()
    )
    pairs = probation.merge(person(mags, MAGS), on="estimated_xjs_id", how="left")
    later = pairs[pairs["offence_date"] > pairs["referral_date"]].groupby("event_id_hash")["case_id_hash"].nunique()
    out = probation[["event_id_hash"]].merge(unpaid, on="event_id_hash", how="left")
    out["unpaid_work"] = out["unpaid_work"].eq(True)  # an event without requirements has none
    out["later_cases"] = out["event_id_hash"].map(later).fillna(0).astype("int64")
    return out.sort_values("event_id_hash").reset_index(drop=True)


def test_the_research_code_s_steps_give_the_same_answer_in_sql_and_python(folder):
    sql, python = _sql(folder), _python(folder)
    pd.testing.assert_frame_equal(sql, python, check_dtype=False)
    assert len(sql) == sql["event_id_hash"].nunique() > 100
    assert 0 < (sql["later_cases"] > 0).mean() < 1  # some people come back to court after a referral, not all
    assert 0 < sql["unpaid_work"].mean() < 1


# The MoJ-DfE share's steps, as paulgah/Socio-Emotional_Offending (clean_data/03_PNC_clean.do) took them on the
# delimited text the share comes as: read MOJ_PNC.csv; a start date in year 1900 and a negative age are unknown;
# keep primary offences ("Y") found guilty (adjudication G or J); within each offender, case, offence and start date
# keep the most serious disposal (disposalrank 1); the offence group's first two characters are its number, groups
# 1 to 3 violent; then one row per offender matched to a pupil of the spring census files.
ID_COLUMNS = {"mojuid": str, "pupilmatchingrefanonymous": str, "caseid": str, "offenceid": str}


@pytest.fixture(scope="module")
def share(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("release_steps_share") / "data"
    generate(out, people=20_000, seed=SEED, datasets="moj_dfe")
    return out


def _pnc_sql(folder: Path) -> pd.DataFrame:
    con = sdfirst.connect(folder)
    return con.execute("""
        WITH offences AS (
            SELECT mojuid, pupilmatchingrefanonymous, caseid, offenceid, offencestartdate, disposalrank,
                   CASE WHEN offencestartage >= 0 THEN offencestartage END AS age,
                   CAST(left(offence_group, 2) AS INTEGER) AS offence_group_number
            FROM moj_dfe.pnc_offences
            WHERE isprimaryoffence = 'Y' AND adjudicationcode IN ('G', 'J')
            QUALIFY row_number() OVER (PARTITION BY mojuid, caseid, offenceid, offencestartdate
                                       ORDER BY disposalrank) = 1 AND disposalrank = 1
        ),
        pupils AS (
            SELECT DISTINCT pupilmatchingrefanonymous_spr AS pupilmatchingrefanonymous FROM moj_dfe.school_census
        )
        SELECT mojuid, pupilmatchingrefanonymous, count(*) AS offences,
               max(offence_group_number BETWEEN 1 AND 3)::INTEGER AS violent, min(age) AS first_age
        FROM offences JOIN pupils USING (pupilmatchingrefanonymous)
        GROUP BY ALL ORDER BY mojuid, pupilmatchingrefanonymous
    """).df()


def _pnc_python(folder: Path) -> pd.DataFrame:
    share = folder / "moj_dfe"
    pnc = pd.read_csv(share / "MOJ_PNC.csv", dtype=ID_COLUMNS)  # the file, by its real name

    def pupils(path: Path) -> pd.Series:  # each year's file names its columns with the year: _spr13 in 2013's
        key = f"pupilmatchingrefanonymous_spr{path.stem[-2:]}"
        return pd.read_csv(path, dtype=str, usecols=[key])[key].rename("pupilmatchingrefanonymous_spr")

    census = pd.concat([pupils(path) for path in sorted(share.glob("Spring_Census_*.csv"))]).to_frame()
    pnc = pnc[(pnc["isprimaryoffence"] == "Y") & pnc["adjudicationcode"].isin(["G", "J"])]
    pnc = pnc.sort_values(["mojuid", "caseid", "offenceid", "offencestartdate", "disposalrank"], kind="stable")
    pnc = pnc.drop_duplicates(["mojuid", "caseid", "offenceid", "offencestartdate"])
    pnc = pnc[pnc["disposalrank"] == 1].copy()
    pnc["age"] = pnc["offencestartage"].where(pnc["offencestartage"] >= 0)
    pnc["violent"] = pnc["offence_group"].str[:2].astype(int).between(1, 3).astype(int)
    pupils = census["pupilmatchingrefanonymous_spr"].drop_duplicates().rename("pupilmatchingrefanonymous")
    matched = pnc.merge(pupils, on="pupilmatchingrefanonymous")
    out = (
        matched.groupby(["mojuid", "pupilmatchingrefanonymous"])
        .agg(offences=("offenceid", "size"), violent=("violent", "max"), first_age=("age", "min"))
        .reset_index()
    )
    return out.sort_values(["mojuid", "pupilmatchingrefanonymous"]).reset_index(drop=True)


def test_the_share_s_steps_give_the_same_answer_in_sql_and_python(share):
    sql, python = _pnc_sql(share), _pnc_python(share)
    pd.testing.assert_frame_equal(sql, python, check_dtype=False)
    assert len(sql) > 100 and sql["mojuid"].is_unique  # one row per offender matched to a pupil
    assert 0 < sql["violent"].mean() < 1
    unknown_year = pd.read_csv(share / "moj_dfe" / "MOJ_PNC.csv", dtype=str)["offencestartdate"].str[:4] == "1900"
    assert unknown_year.any()  # the share's convention for an unknown date is there to be handled


# The spring census steps of clean_data/02_census_clean.do, file by file: each year's columns end in its two digits;
# the home's LSOA is llsoa_spr to 2012 and lsoa11_spr from 2013; a statement or plan is senprovision S in 2007 and
# 2008 and senprovisionmajor 3_SS after; a first language other than English is languagegroupmajor not 1_ENG,
# unknown when 3_UNCL or empty; the school's and home's authorities are la_spr and homela_spr; and the IDACI
# decile is idacidecile_spr or idacidecile_15_spr, whichever the year's file has.
def _census_sql(folder: Path) -> pd.DataFrame:
    return (
        sdfirst.connect(folder)
        .execute("""
        SELECT pupilmatchingrefanonymous_spr AS pupil, censusyear_spr AS year,
               CASE WHEN censusyear_spr <= 2012 THEN llsoa_spr ELSE lsoa11_spr END AS lsoa,
               (CASE WHEN censusyear_spr <= 2008 THEN senprovision_spr = 'S'
                     ELSE senprovisionmajor_spr = '3_SS' END)::INTEGER AS sen_plan,
               CASE WHEN coalesce(languagegroupmajor_spr, '3_UNCL') <> '3_UNCL'
                    THEN (languagegroupmajor_spr <> '1_ENG')::INTEGER END AS lang_neng,
               la_spr AS la_school, homela_spr AS la_home,
               coalesce(idacidecile_spr, idacidecile_15_spr) AS imd_decile
        FROM moj_dfe.school_census ORDER BY year, pupil
    """)
        .df()
    )


def _census_python(folder: Path) -> pd.DataFrame:
    frames = []
    for path in sorted((folder / "moj_dfe").glob("Spring_Census_*.csv")):  # the files, by their real names
        year, yy = int(path.stem[-4:]), path.stem[-2:]
        f = pd.read_csv(path, dtype=str, keep_default_na=False)
        lsoa = f[f"llsoa_spr{yy}"] if year <= 2012 else f[f"lsoa11_spr{yy}"]
        plan = f[f"senprovision_spr{yy}"] == "S" if year <= 2008 else f[f"senprovisionmajor_spr{yy}"] == "3_SS"
        language = f[f"languagegroupmajor_spr{yy}"]
        idaci = next(f[name] for name in (f"idacidecile_spr{yy}", f"idacidecile_15_spr{yy}") if name in f)
        frames.append(
            pd.DataFrame(
                {
                    "pupil": f[f"pupilmatchingrefanonymous_spr{yy}"],
                    "year": year,
                    "lsoa": lsoa,
                    "sen_plan": plan.astype(int),
                    "lang_neng": (language != "1_ENG").astype(float).where(~language.isin(["3_UNCL", ""])),
                    "la_school": f[f"la_spr{yy}"].astype(int),
                    "la_home": f[f"homela_spr{yy}"].astype(int),
                    "imd_decile": idaci.astype(int),  # whichever of the two names the year's file has
                }
            )
        )
    return pd.concat(frames).sort_values(["year", "pupil"], kind="stable").reset_index(drop=True)


def test_the_census_steps_give_the_same_answer_on_the_files_and_the_view(share):
    sql, python = _census_sql(share), _census_python(share)
    pd.testing.assert_frame_equal(sql, python, check_dtype=False)
    assert sql["lsoa"].notna().all() and sql["lsoa"].str.len().gt(0).all()  # every year has its LSOA column
    assert 0 < sql["sen_plan"].mean() < 0.1 and 0.05 < sql["lang_neng"].mean() < 0.4
    assert (sql["la_school"] != sql["la_home"]).any()  # some pupils go to school in another authority


# The absence steps of clean_data/05_absences_clean.do: each year's file, one row per pupil and establishment kept,
# then summed to one row per pupil (a pupil who changed school has a row at each); the view, summed the same way.
ABSENCE = ["authorisedabsence_annual_ab", "unauthorisedabsence_annual_ab", "sessionspossible_annual_ab"]


def _absence_sql(folder: Path) -> pd.DataFrame:
    sums = ", ".join(f"sum({column}) AS {column}" for column in ABSENCE)
    return (
        sdfirst.connect(folder)
        .execute(f"""
        SELECT pupilmatchingrefanonymous_ab AS pupil, absenceyear_ab AS year, count(*) AS schools, {sums}
        FROM moj_dfe.absence GROUP BY ALL ORDER BY year, pupil
    """)
        .df()
    )


def _absence_python(folder: Path) -> pd.DataFrame:
    frames = []
    for path in sorted((folder / "moj_dfe").glob("Absence_*_3Term.csv")):
        yy = path.stem.split("_")[1][-2:]
        f = pd.read_csv(path, dtype={f"pupilmatchingrefanonymous_ab{yy}": str})
        f.columns = [name.removesuffix(yy) for name in f.columns]
        f = f.drop_duplicates(["pupilmatchingrefanonymous_ab", "estab_ab"])
        summed = f.groupby("pupilmatchingrefanonymous_ab").agg(
            schools=("estab_ab", "size"), **{column: (column, "sum") for column in ABSENCE}
        )
        frames.append(summed.reset_index().assign(year=int(path.stem.split("_")[1])))
    out = pd.concat(frames).rename(columns={"pupilmatchingrefanonymous_ab": "pupil"})
    return out[["pupil", "year", "schools", *ABSENCE]].sort_values(["year", "pupil"]).reset_index(drop=True)


def test_the_absence_steps_give_the_same_answer_on_the_files_and_the_view(share):
    sql, python = _absence_sql(share), _absence_python(share)
    pd.testing.assert_frame_equal(sql, python, check_dtype=False)
    assert (sql["schools"] == 2).any() and sql["schools"].max() == 2  # a pupil excluded in the year: two schools


# The KS2 steps of clean_data/04_ks2_clean.do: the exam file kept to its test codes and reshaped wide by subject
# (9980 grammar, punctuation and spelling; 9982 maths; 9984 reading); the pupil file's level 4 in all three tests,
# 0 where a test was failed but sat (ks2_levat* 0), empty otherwise; then the two joined on the pupil.
def _ks2_sql(folder: Path) -> pd.DataFrame:
    return (
        sdfirst.connect(folder)
        .execute("""
        WITH exams AS (
            SELECT ks2_pupilmatchingrefanonymous AS pupil,
                   max(ks2_testmark) FILTER (WHERE ks2_leapcode = 9980) AS mark_gps,
                   max(ks2_testmark) FILTER (WHERE ks2_leapcode = 9982) AS mark_math,
                   max(ks2_testmark) FILTER (WHERE ks2_leapcode = 9984) AS mark_read
            FROM moj_dfe.ks2_exam WHERE ks2_leapcode BETWEEN 9980 AND 9985 GROUP BY ALL
        ),
        pupils AS (
            SELECT ks2_pupilmatchingrefanonymous AS pupil, ks2_msch AS mschool,
                   CASE WHEN ks2_levxmat = 1 AND ks2_levxread = 1 AND ks2_levxgps = 1 THEN 1
                        WHEN (ks2_levxmat = 0 AND ks2_levatmat = 0) OR (ks2_levxread = 0 AND ks2_levatread = 0)
                             OR (ks2_levxgps = 0 AND ks2_levatgps = 0) THEN 0 END AS ks2_level4
            FROM moj_dfe.ks2
        )
        SELECT * FROM pupils JOIN exams USING (pupil) ORDER BY pupil
    """)
        .df()
    )


def _ks2_python(folder: Path) -> pd.DataFrame:
    share = folder / "moj_dfe"
    exam = pd.read_csv(share / "KS2Exam.csv", dtype={"ks2_pupilmatchingrefanonymous": str})
    exam = exam[exam["ks2_leapcode"].between(9980, 9985)].drop_duplicates(
        ["ks2_pupilmatchingrefanonymous", "ks2_leapcode"]
    )
    wide = exam.pivot(index="ks2_pupilmatchingrefanonymous", columns="ks2_leapcode", values="ks2_testmark")
    wide = wide.rename(columns={9980: "mark_gps", 9982: "mark_math", 9984: "mark_read"})
    p = pd.read_csv(share / "KS2Pupil.csv", dtype={"ks2_pupilmatchingrefanonymous": str})
    level4 = pd.Series(float("nan"), index=p.index)
    level4[(p["ks2_levxmat"] == 1) & (p["ks2_levxread"] == 1) & (p["ks2_levxgps"] == 1)] = 1
    for test, sat in (("mat", "levatmat"), ("read", "levatread"), ("gps", "levatgps")):
        level4[(p[f"ks2_levx{test}"] == 0) & (p[f"ks2_{sat}"] == 0)] = 0
    pupils = pd.DataFrame({"pupil": p["ks2_pupilmatchingrefanonymous"], "mschool": p["ks2_msch"], "ks2_level4": level4})
    out = pupils.merge(wide.reset_index().rename(columns={"ks2_pupilmatchingrefanonymous": "pupil"}), on="pupil")
    return out[["pupil", "mschool", "ks2_level4", "mark_gps", "mark_math", "mark_read"]].sort_values("pupil")


def test_the_ks2_steps_give_the_same_answer_on_the_files_and_the_view(share):
    sql, python = _ks2_sql(share), _ks2_python(share).reset_index(drop=True)
    pd.testing.assert_frame_equal(sql, python, check_dtype=False)
    with_gps = sql.dropna(subset=["mark_gps"])
    assert len(with_gps) > 50 and with_gps["ks2_level4"].notna().all()  # the three tests' years: 2012/13 on
    assert 0.4 < with_gps["ks2_level4"].mean() < 0.8
    before = sql[sql["mark_gps"].isna()]  # years without the test: the code's "all three" is never met
    assert len(before) > 50 and not (before["ks2_level4"] == 1).any()
