"""The synthetic Data First generator: a seeded population and its records in every dataset."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from sdfirst.specs import check_specs, overridden, read_overrides
from sdfirst.synth.config import CHUNK_PEOPLE, make_config
from sdfirst.synth.run import generate_with


def generate(
    out: str | Path,
    people: int = 100_000,
    seed: int = 42,
    years: str | tuple[int, int] = "2000-2023",
    datasets: str | list[str] | None = None,
    workers: int = 1,
    overwrite: bool = False,
    progress: bool = False,
    chunk_people: int = CHUNK_PEOPLE,
    config: Mapping[str, Any] | str | Path | None = None,
) -> dict:
    """Generate synthetic Data First into `out` and return its manifest.

    `config` overrides the specs for this run only: partial spec files keyed by file name, as a mapping or a YAML
    file (`{"recording_errors.yaml": {"datasets": {"prison": {"rows": {"omitted": 0.05}}}}}`), deep-merged over
    `synthetic/` and checked like the specs; the manifest records them and a digest of every spec file as used.
    The same seed, people, overrides and package versions give the same content hashes whatever `workers` is.
    Raises DataFirstError (one clear message) for bad settings or an output folder that may not be replaced.
    """
    overrides = read_overrides(config)
    with overridden(overrides):
        check_specs()  # a mistake in an override stops the run before its work
        cfg = make_config(
            out,
            people=people,
            seed=seed,
            years=years,
            datasets=datasets,
            workers=workers,
            overwrite=overwrite,
            chunk_people=chunk_people,
            overrides=overrides,
        )
        return generate_with(cfg, progress=progress)


__all__ = ["generate"]
