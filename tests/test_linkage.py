"""The linkage pipeline (`sdfirst link`): outputs, accuracy against the truth and a baseline, metrics, CLI."""

from __future__ import annotations

import json
import logging
import re
import shutil
from pathlib import Path

import duckdb
import pandas as pd
import pyarrow.parquet as pq
import pytest
from splink import DuckDBAPI, Linker, SettingsCreator

import sdfirst
from sdfirst.cli import main
from sdfirst.dictionary import linking_markdown, linking_tables
from sdfirst.exceptions import DataFirstError
from sdfirst.linkage import cases, link, load_config
from sdfirst.linkage.cases import check_journey
from sdfirst.linkage.evaluate import cluster_metrics, pair_metrics
from sdfirst.linkage.model import comparison, train
from sdfirst.linkage.sources import available_sources, load_person_records
from sdfirst.linkage.stages import check_stages
from sdfirst.synth import generate

PEOPLE = 20_000
SEED = 11
F1_FLOOR = 0.9


@pytest.fixture(scope="module")
def linked(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict]:
    """A small generated folder, linked once: (folder, evaluation)."""
    folder = tmp_path_factory.mktemp("link") / "data"
    generate(folder, people=PEOPLE, seed=SEED)
    return folder, link(folder)


def _records(folder: Path) -> pd.DataFrame:
    """Every configured person record of the folder (source_dataset, row_id_hash), from the sources themselves."""
    con = sdfirst.connect(folder, view="identified")
    cfg = load_config()
    load_person_records(con, available_sources(folder, cfg), cfg)
    return con.execute("SELECT source_dataset, unique_id AS row_id_hash FROM person_records").df()


def test_output_tables(linked):
    folder, evaluation = linked
    out = folder / "linking"
    assert sorted(p.name for p in out.iterdir()) == [
        "evaluation.json",
        "mags_crown_journey.parquet",
        "person_ids.parquet",
        "xjs_link.parquet",
    ]
    records = _records(folder)
    xjs = pd.read_parquet(out / "xjs_link.parquet")
    ids = pd.read_parquet(out / "person_ids.parquet")
    journey = pd.read_parquet(out / "mags_crown_journey.parquet")
    assert list(xjs.columns) == [
        "source_dataset",
        "row_id_hash",
        "estimated_mc_cc_ps_dp",
        "estimated_xjs_id",
        "cluster_high",
        "cluster_medium",
        "cluster_low",
    ]
    assert list(ids.columns) == ["source_dataset", "row_id_hash", "estimated_person_id"]
    assert list(journey.columns) == [
        "mags_case_id_hash",
        "mags_row_id_hash",
        "crown_case_id_hash",
        "crown_defendant_on_case_id",
        "estimated_match_score",
    ]
    assert len(xjs) == len(ids) == len(records) == evaluation["records"]
    # every person record exactly once, and nothing else
    key = ["source_dataset", "row_id_hash"]
    assert not xjs.duplicated(key).any()
    merged = records.merge(xjs[key], on=key, how="outer", indicator=True)
    assert (merged["_merge"] == "both").all()
    assert xjs["estimated_xjs_id"].notna().all() and ids["estimated_person_id"].notna().all()
    # a per-dataset id never spans two datasets
    assert (ids.groupby("estimated_person_id")["source_dataset"].nunique() == 1).all()
    assert json.loads((out / "evaluation.json").read_text()) == json.loads(json.dumps(evaluation))


def test_linking_dictionary_describes_the_written_tables(linked):
    """Every linking table's dictionary entry lists exactly its columns, in order, with their Parquet types."""
    folder, _ = linked
    tables = linking_tables()
    written = sorted((folder / "linking").glob("*.parquet"))
    assert sorted(tables) == [p.stem for p in written]
    for path in written:
        schema = pq.read_schema(path)
        spec = tables[path.stem]
        assert [c.name for c in spec.columns] == schema.names, path.stem
        assert [c.arrow_type for c in spec.columns] == schema.types, path.stem
    assert "confirmed (github.com/moj-analytical-services/bold-prevention-1" in linking_markdown()


def test_connect_shows_linking_schema(linked):
    folder, evaluation = linked
    con = sdfirst.connect(folder, view="identified")
    assert con.execute("SELECT count(*) FROM linking.xjs_link").fetchall()[0][0] == evaluation["records"]
    assert con.execute("SELECT count(*) FROM linking.mags_crown_journey").fetchall()[0][0] > 0


def test_accuracy_beats_exact_match_baseline(linked):
    folder, evaluation = linked
    con = sdfirst.connect(folder, view="identified")
    cfg = load_config()
    sources = available_sources(folder, cfg)
    load_person_records(con, sources, cfg)
    # baseline: records are the same person when forename, surname and date of birth are all present and equal
    truth = " UNION ALL ".join(
        f"SELECT row_id_hash, person_id FROM truth.record_person "
        f"WHERE dataset = '{s['dataset']}' AND table_name = '{s['table']}'"
        for s in sources
    )
    baseline = cluster_metrics(
        con,
        f"""SELECT CASE WHEN forename IS NULL OR surname IS NULL OR date_of_birth IS NULL THEN unique_id
                        ELSE forename || '|' || surname || '|' || date_of_birth::VARCHAR END AS cluster_id,
                   t.person_id
            FROM person_records p JOIN ({truth}) t ON t.row_id_hash = p.unique_id""",
    )
    model = evaluation["xjs"]
    assert model["records"] == baseline["records"]
    assert model["pairwise_f1"] >= F1_FLOOR
    assert model["pairwise_f1"] > baseline["pairwise_f1"] + 0.05
    assert model["b3_f1"] > baseline["b3_f1"]
    assert evaluation["person_ids"]["pairwise_f1"] >= F1_FLOOR
    assert evaluation["cjs"]["pairwise_f1"] >= F1_FLOOR


def _partition_of(frame: pd.DataFrame, column: str) -> set[frozenset[str]]:
    """The records (source and row) grouped by an id column."""
    keys = frame["source_dataset"] + ":" + frame["row_id_hash"]
    return {frozenset(group) for _, group in keys.groupby(frame[column])}


def test_cjs_stage_ids_and_their_relation_to_xjs(linked):
    """The cjs id covers exactly the criminal sources; a cjs cluster lies inside one xjs cluster; and where no
    family or civil record is involved, the two stages agree."""
    folder, evaluation = linked
    cfg = load_config()
    xjs = pd.read_parquet(folder / "linking" / "xjs_link.parquet")
    criminal = xjs["source_dataset"].isin(cfg["stages"]["cjs"]["sources"])
    assert criminal.any() and (~criminal).any()
    assert xjs.loc[criminal, "estimated_mc_cc_ps_dp"].notna().all()
    assert xjs.loc[~criminal, "estimated_mc_cc_ps_dp"].isna().all()
    cjs = xjs[criminal]
    assert (cjs.groupby("estimated_mc_cc_ps_dp")["estimated_xjs_id"].nunique() == 1).all()  # never split
    # xjs clusters of criminal records only: there the two stages cluster the same pairs, so give the same groups
    only_criminal = xjs.groupby("estimated_xjs_id")["source_dataset"].agg(
        lambda s: s.isin(cfg["stages"]["cjs"]["sources"]).all()
    )
    same = cjs[cjs["estimated_xjs_id"].map(only_criminal)]
    assert _partition_of(same, "estimated_mc_cc_ps_dp") == _partition_of(same, "estimated_xjs_id")
    # elsewhere xjs may join cjs clusters (through family or civil records): counted in the evaluation
    stages = evaluation["stages"]
    joined = cjs.groupby("estimated_xjs_id")["estimated_mc_cc_ps_dp"].nunique()
    assert stages["cjs_clusters_split_by_xjs"] == 0
    assert stages["cjs_clusters"] == cjs["estimated_mc_cc_ps_dp"].nunique() == evaluation["cjs"]["clusters"]
    assert stages["xjs_clusters_joining_cjs_clusters"] == int((joined > 1).sum())
    assert evaluation["cjs"]["records"] == int(criminal.sum())


def test_case_journey_is_scored_and_one_per_crown_defendant(linked):
    """Released rows: a Crown Court defendant on a case at most once, with its best magistrates' case, every score
    at or above the threshold; every id is a real row of its court; and the journey scores the truth well."""
    folder, evaluation = linked
    cfg = load_config()
    journey = pd.read_parquet(folder / "linking" / "mags_crown_journey.parquet")
    con = sdfirst.connect(folder, view="identified")
    assert journey["crown_defendant_on_case_id"].is_unique
    threshold = cfg["case_journey"]["threshold"]
    assert journey["estimated_match_score"].between(threshold, 1).all()
    pairs = con.execute("""
        SELECT count(*) FROM linking.mags_crown_journey j
        JOIN magistrates.case_summary m ON m.row_id_hash = j.mags_row_id_hash AND m.case_id_hash = j.mags_case_id_hash
        JOIN crown_court.case_summary c
          ON c.defendant_on_case_id = j.crown_defendant_on_case_id AND c.case_id_hash = j.crown_case_id_hash""")
    assert pairs.fetchall()[0][0] == len(journey)
    scored = evaluation["case_journey"]
    case_pairs = journey[["mags_case_id_hash", "crown_case_id_hash"]].drop_duplicates()
    assert scored["threshold"] == threshold and scored["predicted"] == len(case_pairs)
    # measured on this folder (20,000 people, seed 11): 1.0 and 1.0 for the cases, as for the defendants
    assert scored["precision"] >= 0.99 and scored["recall"] >= 0.99
    assert scored["defendants"]["precision"] >= 0.99 and scored["defendants"]["recall"] >= 0.99
    assert scored["defendants"]["predicted"] == len(journey)


def test_stage_and_journey_settings_are_checked():
    cfg = load_config()
    cfg["stages"]["cjs"]["sources"].append("prison_nomsi")
    with pytest.raises(DataFirstError, match=re.escape("stages.cjs.sources names ['prison_nomsi']")):
        check_stages(cfg, "linkage.yaml")
    cfg = load_config()
    del cfg["case_journey"]["crown"]["receipt_date"]
    with pytest.raises(DataFirstError, match=re.escape("case_journey.crown has no receipt_date")):
        check_journey(cfg, "linkage.yaml")


def test_a_level_no_em_session_trains_is_named(linked):
    """One session alone (the same offence date) trains neither the offence date nor, as it sees no Crown Court
    receipt more than a year after the hearing, that level: they are named, and the pipeline's two sessions leave
    fewer untrained."""
    folder, _ = linked
    cfg = load_config()
    con = sdfirst.connect(folder, view="identified")
    con.execute("CREATE TABLE xjs AS SELECT * FROM linking.xjs_link")
    for side, table in cases.RECORDS.items():
        con.execute(f"CREATE TABLE {table} AS {cases.records_sql(cfg, side, 'xjs')}")
    db = DuckDBAPI(connection=con)

    def trained(em_rules: list) -> Linker:
        linker = Linker(
            [db.register(table, table_name=f"{side}_{len(em_rules)}") for side, table in cases.RECORDS.items()],
            cases.journey_settings(cfg),
            log_level=logging.ERROR,
        )
        train(linker, {"training": cfg["case_journey"]["training"] | {"em_blocking_rules": em_rules}})
        return linker

    alone = cases.untrained_levels(trained([["offence_date"]]))
    # the comparison in the session's own rule is never trained by it (and, on some folders, a level its pairs
    # never reach, such as a Crown Court receipt more than a year after the hearing)
    assert {level.split(":")[0] for level in alone} >= {"offence_date"}
    assert {level.split(":")[0] for level in alone} <= {"offence_date", "hearing_to_receipt"}
    # the pipeline's sessions train the level the first alone cannot; on a folder this small a rare level (offence
    # dates a few days apart on one person's cases at one court) may still see no pair, and the pipeline warns of it
    both = cases.untrained_levels(trained(cfg["case_journey"]["training"]["em_blocking_rules"]))
    assert set(both) < set(alone) and not [level for level in both if level.startswith("hearing")]


def test_metrics_known_answer():
    """Clusters A = {r1 p1, r2 p1, r3 p2}, B = {r4 p2, r5 p3}, C = {r6 p4}."""
    con = duckdb.connect()
    con.execute("""CREATE TABLE r AS SELECT * FROM (VALUES
        ('r1', 'A', 'p1'), ('r2', 'A', 'p1'), ('r3', 'A', 'p2'),
        ('r4', 'B', 'p2'), ('r5', 'B', 'p3'), ('r6', 'C', 'p4')) v(record, cluster_id, person_id)""")
    m = cluster_metrics(con, "SELECT * FROM r")
    # pairs: predicted A 3 + B 1 + C 0 = 4; true p1 1 + p2 1 = 2; found (r1, r2) = 1
    assert m["pairs"] == {"true_positive": 1, "predicted": 4, "true": 2}
    assert m["pairwise_precision"] == pytest.approx(1 / 4)
    assert m["pairwise_recall"] == pytest.approx(1 / 2)
    assert m["pairwise_f1"] == pytest.approx(1 / 3)
    # B-cubed precision: r1, r2 2/3; r3 1/3; r4, r5 1/2; r6 1 -> (2/3 + 2/3 + 1/3 + 1/2 + 1/2 + 1) / 6
    assert m["b3_precision"] == pytest.approx(11 / 18)
    # B-cubed recall: r1, r2 1; r3, r4 1/2; r5, r6 1 -> 5 / 6
    assert m["b3_recall"] == pytest.approx(5 / 6)
    # only p4 is exactly one cluster holding nothing else
    assert m["exact_person_share"] == pytest.approx(1 / 4)
    assert (m["records"], m["clusters"], m["people"]) == (6, 3, 4)
    perfect = cluster_metrics(con, "SELECT record, person_id AS cluster_id, person_id FROM r")
    assert perfect["pairwise_f1"] == perfect["b3_f1"] == perfect["exact_person_share"] == 1.0

    pairs = pair_metrics(
        con,
        "SELECT * FROM (VALUES ('a', 'b'), ('a', 'c'), ('a', 'c')) v(a, b)",
        "SELECT * FROM (VALUES ('a', 'b'), ('d', 'e'), ('f', 'g')) v(a, b)",
    )
    assert (pairs["predicted"], pairs["true"], pairs["found"]) == (2, 3, 1)
    assert pairs["precision"] == pytest.approx(1 / 2) and pairs["recall"] == pytest.approx(1 / 3)


def _partition(frame: pd.DataFrame, column: str) -> set[frozenset[str]]:
    return {frozenset(group) for _, group in frame.groupby(column)["row_id_hash"]}


def test_deterministic_and_cli(linked, tmp_path, capsys):
    folder, _evaluation = linked
    first = pd.read_parquet(folder / "linking" / "xjs_link.parquet")
    copy = tmp_path / "again"
    shutil.copytree(folder, copy)
    assert main(["link", str(copy), "--quiet"]) == 2  # linking/ exists
    assert "--overwrite" in capsys.readouterr().err
    assert main(["link", str(copy), "--overwrite"]) == 0
    printed = capsys.readouterr().out
    assert "pairwise precision" in printed and "B-cubed" in printed and "mags_crown_journey" in printed
    second = pd.read_parquet(copy / "linking" / "xjs_link.parquet")
    assert first[["source_dataset", "row_id_hash"]].equals(second[["source_dataset", "row_id_hash"]])
    for column in ("estimated_mc_cc_ps_dp", "estimated_xjs_id", "cluster_high", "cluster_low"):
        assert _partition(first, column) == _partition(second, column)
    journeys = [pd.read_parquet(f / "linking" / "mags_crown_journey.parquet") for f in (folder, copy)]
    pd.testing.assert_frame_equal(journeys[0], journeys[1], check_exact=True)
    assert not list(copy.glob(".linking*"))  # no temporary folders left behind


@pytest.mark.parametrize(
    "extra",
    [
        ["--threshold", "0"],
        ["--threshold", "1"],
        ["--threshold", "1.5"],
        ["--threshold", "nan"],
        ["--threshold", "high"],
    ],
)
def test_cli_bad_threshold(linked, capsys, extra):
    folder, _ = linked
    before = (folder / "linking" / "evaluation.json").stat().st_mtime_ns
    assert main(["link", str(folder), "--overwrite", "--quiet", *extra]) == 2
    err = capsys.readouterr().err
    assert err.startswith("sdfirst: error:") and err.count("\n") == 1
    assert (folder / "linking" / "evaluation.json").stat().st_mtime_ns == before


def test_cli_not_a_generated_folder(tmp_path, capsys):
    assert main(["link", str(tmp_path / "nowhere")]) == 2
    assert main(["link", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 2 and "Traceback" not in err
    assert not (tmp_path / "linking").exists()


def _levels_against_first(spec: dict, records: pd.DataFrame) -> dict[str, int]:
    """The level (gamma) at which one comparison of linkage.yaml puts the first record paired with each other."""
    first = records["unique_id"].iloc[0]
    linker = Linker(
        DuckDBAPI().register(records),
        SettingsCreator(
            link_type="dedupe_only",
            comparisons=[comparison(spec)],
            blocking_rules_to_generate_predictions=["1 = 1"],
            retain_intermediate_calculation_columns=True,
        ),
        log_level=logging.WARNING,
    )
    pairs = linker.inference.predict().as_pandas_dataframe()
    pairs = pairs[pairs["unique_id_l"] == first].set_index("unique_id_r")[f"gamma_{spec['output_column_name']}"]
    return {other: int(level) for other, level in pairs.items()}


def test_a_comparison_written_as_levels_puts_each_pair_at_its_level():
    """linkage.yaml's `type: Custom` comparisons: a date of birth with the day and month swapped, or the year one
    out, lands on its own level (not "within a year"), and an unknown level type is one line."""
    dob = {
        "type": "Custom",
        "output_column_name": "date_of_birth",
        "levels": [
            {"type": "NullLevel", "column": "date_of_birth"},
            {"type": "ExactMatchLevel", "column": "date_of_birth"},
            {
                "type": "CustomLevel",
                "sql_condition": "month(date_of_birth_l) = day(date_of_birth_r) "
                "AND day(date_of_birth_l) = month(date_of_birth_r) AND year(date_of_birth_l) = year(date_of_birth_r)",
            },
            {
                "type": "AbsoluteDateDifferenceLevel",
                "column": "date_of_birth",
                "threshold": 1,
                "metric": "year",
                "input_is_string": False,
                "label": "within a year",
            },
            {"type": "ElseLevel"},
        ],
    }
    # Splink numbers levels from the last (else, 0) up; the null level is -1
    expected = {"1990-07-03": 2, "1990-03-07": 3, "1990-09-01": 1, "1980-03-07": 0, None: -1}
    others = list(expected)
    people = pd.DataFrame(
        {
            "unique_id": ["a", *[f"o{i}" for i in range(len(others))]],
            "date_of_birth": pd.to_datetime(["1990-03-07", *others]),
        }
    )
    levels = _levels_against_first(dob, people)
    got = {other: levels[f"o{i}"] for i, other in enumerate(others)}
    assert got == {other: expected[other] for other in others}
    with pytest.raises(DataFirstError, match="unknown comparison level type 'NoSuchLevel'"):
        comparison({"type": "Custom", "output_column_name": "x", "levels": [{"type": "NoSuchLevel"}]})


def test_person_keys_are_compared_only_within_the_system_that_issued_them(linked):
    """The person-key comparison of linkage.yaml: the same key of one system is its own level, two keys of one
    system are `else`, and keys of two systems (or a record without a key) are the null level; the loader gives
    prison and OASys records the NOMIS key, and the courts none."""
    spec = next(c for c in load_config()["model"]["comparisons"] if c.get("output_column_name") == "person_key")
    others = {
        "same key": ("nomis", "K1"),
        "another key": ("nomis", "K2"),
        "other system": ("caseman", "K1"),
        "no key": (None, None),
    }
    people = pd.DataFrame(
        {
            "unique_id": ["a", *others],
            "person_key_system": ["nomis", *[system for system, _ in others.values()]],
            "person_key": ["K1", *[key for _, key in others.values()]],
        }
    )
    assert _levels_against_first(spec, people) == {
        "same key": 1,
        "another key": 0,
        "other system": -1,
        "no key": -1,
    }

    folder, _ = linked
    con = sdfirst.connect(folder, view="identified")
    cfg = load_config()
    load_person_records(con, available_sources(folder, cfg), cfg)
    ((half_keys,),) = con.execute(
        "SELECT count(*) FROM person_records WHERE (person_key IS NULL) <> (person_key_system IS NULL)"
    ).fetchall()
    assert half_keys == 0  # a key always comes with its system, and a system with a key
    systems = dict(
        con.execute(
            "SELECT source_dataset, string_agg(DISTINCT coalesce(person_key_system, '-'), ',') FROM person_records "
            "GROUP BY 1"
        ).fetchall()
    )
    assert systems == {
        "prison_nomis": "nomis",
        "prison_oasys": "nomis",
        "familyman": "familyman",
        "civil_caseman_pcol": "caseman",
        "mags_hocas": "-",
        "crown_xhibit": "-",
        "probation_delius": "-",
    }
    # OASys records carry the NOMIS key of their prisoner: most share one with a prison record
    ((shared,),) = con.execute(
        "SELECT avg((person_key IN (SELECT person_key FROM person_records WHERE source_dataset = 'prison_nomis'))"
        "::INT) FROM person_records WHERE source_dataset = 'prison_oasys'"
    ).fetchall()
    assert shared > 0.9
