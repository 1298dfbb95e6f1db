"""The synthetic Data First generator: a seeded population and its records in every dataset."""

from __future__ import annotations

from pathlib import Path

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
) -> dict:
    """Generate synthetic Data First into `out` and return its manifest.

    The same seed, people and package versions give the same content hashes whatever `workers` is.
    Raises DataFirstError (one clear message) for bad settings or an output folder that may not be replaced.
    """
    cfg = make_config(
        out,
        people=people,
        seed=seed,
        years=years,
        datasets=datasets,
        workers=workers,
        overwrite=overwrite,
        chunk_people=chunk_people,
    )
    return generate_with(cfg, progress=progress)


__all__ = ["generate"]
