"""The steps public research code took on the real extracts, run on the synthetic data in SQL and in Python.

`CarlyLL/Enforced-alcohol-abstinence` (R code excerpts 1 and 4-6, see `../shared/reference/data-first.md`) read the
probation flat file and requirements, dropped repeated events, joined each dataset to the linking table on
`row_id_hash` within its `source_dataset`, joined the datasets on the person id, and counted the magistrates' cases
whose offence came after a probation referral. Each step here uses only the column names that code used, so a
renamed column breaks this test as it would break that code. The Python steps read the release's own files by name
(`moj_probation_flatfile_01` .. `_30`), as that code did; the SQL steps read the views of `sdfirst.connect`, the
release view, which has no identifiers.
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
