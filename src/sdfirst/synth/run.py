"""Run the generator: chunks of people simulated independently (in parallel if asked), then one manifest."""

from __future__ import annotations

import json
import shutil
import sys
from concurrent.futures import ProcessPoolExecutor, as_completed
from pathlib import Path

import numpy as np
import pyarrow as pa
from tqdm import tqdm

from sdfirst import __version__
from sdfirst.exceptions import DataFirstError
from sdfirst.specs import datasets, overridden, provenance, table, use_overrides, year_of
from sdfirst.synth.columns import Deferred, labels
from sdfirst.synth.config import SynthConfig
from sdfirst.synth.output import (
    check_destination,
    combine_hashes,
    conform,
    content_hashes,
    move_into_place,
    temporary_folder,
    write_part,
)
from sdfirst.synth.pools import Neighbourhoods, company_names, name_pools, neighbourhoods
from sdfirst.synth.release import (
    IDENTIFIED,
    companion_folder,
    part_name,
    release_files,
    split,
)
from sdfirst.synth.repeats import with_repeats
from sdfirst.synth.tables import Built, builder
from sdfirst.synth.world import Window, World

TRUTH = "truth"


def _write(tmp: Path, dataset: str, parts: dict[str, dict], chunk: int) -> dict[str, tuple[int, int]]:
    """Write one dataset's tables for this chunk, their identifiers apart (`release.split`), then hash them together;
    returns rows and hash per table, under `dataset.table` for the release and `identified.dataset.table` for the
    identifiers."""
    written: dict[str, pa.Table] = {}
    for name, columns in parts.items():
        spec = table(f"{dataset}.{name}")
        released, identified = split(spec, conform(spec, columns))
        write_part(released, tmp / dataset / name, chunk)
        written[spec.key] = released
        if identified is not None:
            write_part(identified, companion_folder(tmp, spec), chunk)
            written[f"{IDENTIFIED}.{spec.key}"] = identified
    hashes = content_hashes(list(written.values()))
    return {key: (data.num_rows, h) for (key, data), h in zip(written.items(), hashes, strict=True)}


def _shuffled(world: World, key: str, part: Built) -> Built:
    """Rows in random order: a file sorted by person would give the linkage away."""
    order = world.rng(f"shuffle:{key}").permutation(len(part.person))
    take = pa.array(order)
    columns = {name: _permuted(col, order, take) for name, col in part.columns.items()}
    return Built(columns, part.person[order])


def _permuted(column, order: np.ndarray, take: pa.Array):
    if isinstance(column, Deferred):
        return column.take(order).made()
    if isinstance(column, pa.Array):
        return column.take(take)
    return np.asarray(column)[order]


def run_chunk(cfg: SynthConfig, tmp: Path, chunk: int, first: int, n: int) -> dict[str, tuple[int, int]]:
    """Simulate one chunk of people and write its part of every table; returns rows and hash per table."""
    use_overrides(cfg.overrides)  # a no-op in the run's own process; in a worker, whether forked or spawned
    world = World(cfg.seed, chunk, first, n, Window.of_years(*cfg.years))
    stats: dict[str, tuple[int, int]] = {}
    links: list[tuple[str, str, pa.Array, np.ndarray]] = []
    keys: list[tuple[str, pa.Array, np.ndarray]] = []
    for dataset in cfg.datasets:
        if dataset == TRUTH:
            continue
        built: dict[str, Built] = builder(dataset)(world)
        parts = {
            name: _shuffled(world, f"{dataset}.{name}", with_repeats(world, f"{dataset}.{name}", raw))
            for name, raw in built.items()
        }
        stats |= _write(tmp, dataset, {name: part.columns for name, part in parts.items()}, chunk)
        for name, part in parts.items():
            key = table(f"{dataset}.{name}").truth_key
            if key is None:
                links.append((dataset, name, part.columns["row_id_hash"], part.person))
            else:
                keys.append((key.key, part.columns[key.column], part.person))
    truth = {name: part.columns for name, part in builder(TRUTH)(world).items()}
    truth["record_person"] = _record_person(world, links)
    truth["key_person"] = _key_person(world, keys)
    stats |= _write(tmp, TRUTH, truth, chunk)
    return stats


def _record_person(world: World, links) -> dict[str, pa.Array]:
    """The truth map from every written row to its true person (null for companies)."""
    if not links:
        empty = pa.array([], pa.string())
        return {"dataset": empty, "table_name": empty, "row_id_hash": empty, "person_id": pa.array([], pa.int64())}
    source = np.repeat(np.arange(len(links)), [len(person) for *_, person in links])
    person = np.concatenate([person for *_, person in links])
    row_ids = [ids if isinstance(ids, pa.Array) else pa.array(ids, pa.string()) for _, _, ids, _ in links]
    return {
        "dataset": labels([dataset for dataset, *_ in links], source),
        "table_name": labels([name for _, name, *_ in links], source),
        "row_id_hash": pa.concat_arrays([ids.cast(pa.string()) for ids in row_ids]),
        "person_id": pa.array(world.people.person_id[np.maximum(person, 0)], mask=person < 0),
    }


def _key_person(world: World, keys: list[tuple[str, pa.Array, np.ndarray]]) -> dict[str, pa.Array]:
    """The truth map from every person id the share's files hold (pupil matching references, MoJ ids) to its true
    person, one row per id: the files have no row key, so their rows are found through these. An id is one
    person's, and all a chunk's ids are its own people's, so the ids of one chunk are unique in the run."""
    source = np.repeat(np.arange(len(keys)), [len(person) for *_, person in keys])
    person = np.concatenate([np.zeros(0, dtype=np.int64), *(person for *_, person in keys)])
    values = [pa.array([], pa.string()), *(values.cast(pa.string()) for _, values, _ in keys)]
    found = pa.table(
        {
            "key_name": labels([name for name, *_ in keys], source),
            "key_value": pa.concat_arrays(values),
            "person_id": pa.array(world.people.person_id[person], pa.int64()),
        }
    )
    unique = found.group_by(["key_name", "key_value"], use_threads=False).aggregate(
        [("person_id", "min"), ("person_id", "max")]
    )
    if not unique["person_id_min"].equals(unique["person_id_max"]):  # a generator fault, never the user's
        raise DataFirstError("an id of the MoJ-DfE share names two people: the truth cannot say whose its rows are")
    return {
        "key_name": unique["key_name"].combine_chunks(),
        "key_value": unique["key_value"].combine_chunks(),
        "person_id": unique["person_id_min"].combine_chunks(),
    }


def _manifest(cfg: SynthConfig, tmp: Path, per_chunk: list[dict[str, tuple[int, int]]]) -> dict:
    """The manifest of a run, once its tables are in their release files (`release.release_files`)."""
    tables, identified = {}, {}
    chunks = len(per_chunk)
    for dataset in cfg.datasets:
        for spec in datasets()[dataset].tables.values():
            rows = int(sum(s[spec.key][0] for s in per_chunk))
            tables[spec.key] = {
                "rows": rows,
                "columns": [c.name for c in spec.columns if not c.identifier],
                "content_hash": combine_hashes([s[spec.key][1] for s in per_chunk]),
                "files": release_files(tmp, spec, chunks, rows),
                "format": spec.files.format if spec.files else "parquet",
                "types": spec.release_types,
            }
            if spec.files is not None and spec.files.by is not None:  # one file a year, its year in its name
                years = [year_of(name) for name in tables[spec.key]["files"]]
                tables[spec.key]["by"] = spec.files.by
                tables[spec.key]["file_columns"] = [[c.name for c in spec.file_columns(y)] for y in years]
                tables[spec.key]["suffixes"] = [spec.files.suffix(y) for y in years]  # names end in the year's digits
            if any(c.identifier for c in spec.columns):
                identified[spec.key] = {
                    "rows": rows,
                    "columns": ["row_id_hash", *(c.name for c in spec.columns if c.identifier)],
                    "content_hash": combine_hashes([s[f"{IDENTIFIED}.{spec.key}"][1] for s in per_chunk]),
                    "files": [f"{IDENTIFIED}/{spec.dataset}/{spec.name}/{part_name(c)}" for c in range(chunks)],
                    "order": spec.column_names,
                }
    return {
        "generator": "sdfirst",
        "version": __version__,
        "seed": cfg.seed,
        "people": cfg.people,
        "years": list(cfg.years),
        "datasets": list(cfg.datasets),
        "chunk_people": cfg.chunk_people,
        "specs": provenance(),
        "synthetic": "Every record in this folder is synthetic. None describes a real person.",
        "tables": tables,
        IDENTIFIED: {
            "about": "Names, dates of birth and postcodes, as MoJ's linking team holds them: never part of a release. "
            "Each table's identifiers, keyed by row_id_hash; sdfirst.connect(folder, view='identified') joins them "
            "back to the release's tables for the linkage chapters.",
            "tables": identified,
        },
    }


def _side_pools(cfg: SynthConfig) -> tuple[Neighbourhoods, pa.Array]:
    use_overrides(cfg.overrides)
    return neighbourhoods(cfg.seed), company_names(cfg.seed)


def _warm(cfg: SynthConfig) -> None:
    """Build the run-wide pools once before workers fork, so that each worker inherits them (on Linux).

    Each pool is a single-threaded Python loop, so with workers the neighbourhoods and company names are built in
    a helper process while this one builds the name pools, the longest (unless an earlier run in this process
    built them already).
    """
    if cfg.workers > 1 and not (neighbourhoods.cached(cfg.seed) and company_names.cached(cfg.seed)):
        with ProcessPoolExecutor(max_workers=1) as helper:
            side = helper.submit(_side_pools, cfg)
            name_pools(cfg.seed)
            hoods, companies = side.result()
        neighbourhoods.prime(cfg.seed, hoods)
        company_names.prime(cfg.seed, companies)
    name_pools(cfg.seed)
    neighbourhoods(cfg.seed)
    company_names(cfg.seed)
    for dataset in cfg.datasets:
        builder(dataset)


def _run_all(cfg: SynthConfig, tmp: Path, progress: bool) -> list[dict[str, tuple[int, int]]]:
    chunks = cfg.chunks
    _warm(cfg)
    bar = tqdm(total=cfg.people, unit=" people", disable=not progress, file=sys.stderr, unit_scale=True)
    results: list[dict] = [None] * len(chunks)  # type: ignore[list-item]
    try:
        if cfg.workers == 1 or len(chunks) == 1:
            for i, (chunk, first, n) in enumerate(chunks):
                results[i] = run_chunk(cfg, tmp, chunk, first, n)
                bar.update(n)
        else:
            with ProcessPoolExecutor(max_workers=cfg.workers) as pool:
                futures = {pool.submit(run_chunk, cfg, tmp, c, f, n): (i, n) for i, (c, f, n) in enumerate(chunks)}
                try:
                    for future in as_completed(futures):
                        i, n = futures[future]
                        results[i] = future.result()
                        bar.update(n)
                except BaseException:  # interrupted or failed: drop the chunks not started, not just wait for them
                    pool.shutdown(wait=True, cancel_futures=True)
                    raise
    finally:
        bar.close()
    return results


def generate_with(cfg: SynthConfig, progress: bool = False) -> dict:
    """Generate into cfg.out (atomically) and return the manifest; cfg's overrides are in use only meanwhile."""
    check_destination(cfg.out, cfg.overwrite)
    tmp = temporary_folder(cfg.out)
    try:
        with overridden(cfg.overrides):
            per_chunk = _run_all(cfg, tmp, progress)
            manifest = _manifest(cfg, tmp, per_chunk)
        (tmp / "manifest.json").write_text(json.dumps(manifest, indent=2) + "\n", encoding="utf-8")
        move_into_place(tmp, cfg.out)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return manifest
