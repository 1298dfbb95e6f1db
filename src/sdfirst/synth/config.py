"""The settings of a generator run, checked once, up front, with one clear message per mistake."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from sdfirst.exceptions import DataFirstError
from sdfirst.specs import Overrides, datasets, named_datasets

MAX_PEOPLE = 200_000_000
FIRST_YEAR, LAST_YEAR = 2000, 2023
CHUNK_PEOPLE = 100_000


@dataclass(frozen=True)
class SynthConfig:
    out: Path
    people: int
    seed: int
    years: tuple[int, int]
    datasets: tuple[str, ...]
    workers: int
    overwrite: bool
    chunk_people: int = CHUNK_PEOPLE
    overrides: Overrides | None = None  # of the specs; every worker puts them in use (specs.use_overrides)

    @property
    def chunks(self) -> list[tuple[int, int, int]]:
        """(chunk index, first person id, people) for every chunk: fixed by people alone, never by workers."""
        out = []
        for chunk, first in enumerate(range(0, self.people, self.chunk_people)):
            out.append((chunk, first, min(self.chunk_people, self.people - first)))
        return out


def parse_years(text: str | tuple[int, int]) -> tuple[int, int]:
    """'2011-2020' or '2015' or a pair, checked against what the simulation covers."""
    if isinstance(text, tuple):
        first, last = text
    else:
        parts = str(text).split("-")
        if len(parts) not in (1, 2) or not all(p.strip().isdigit() for p in parts):
            raise DataFirstError(f"--years must look like 2011-2020 or 2015, not {text!r}")
        first, last = int(parts[0]), int(parts[-1])
    if first > last:
        raise DataFirstError(f"--years {first}-{last}: the first year is after the last")
    if first < FIRST_YEAR or last > LAST_YEAR:
        raise DataFirstError(f"--years {first}-{last}: the synthetic data cover {FIRST_YEAR}-{LAST_YEAR} only")
    return first, last


def parse_datasets(names: str | list[str] | tuple[str, ...] | None) -> tuple[str, ...]:
    """Dataset names, in the generator's order; the truth is always written."""
    known = datasets()
    chosen = set(named_datasets(names, list(known))) | {n for n, spec in known.items() if spec.always}
    return tuple(n for n in known if n in chosen)


def make_config(
    out,
    people: int,
    seed: int,
    years="2000-2023",
    datasets=None,
    workers: int = 1,
    overwrite: bool = False,
    chunk_people: int = CHUNK_PEOPLE,
    overrides: Overrides | None = None,
) -> SynthConfig:
    if isinstance(people, bool) or not isinstance(people, int) or people < 1:
        raise DataFirstError(f"--people must be a whole number of at least 1, not {people!r}")
    if people > MAX_PEOPLE:
        raise DataFirstError(f"--people {people:,} is more than this generator supports ({MAX_PEOPLE:,})")
    if isinstance(seed, bool) or not isinstance(seed, int) or not 0 <= seed < 2**32:
        raise DataFirstError(f"--seed must be a whole number from 0 to {2**32 - 1}, not {seed!r}")
    if isinstance(workers, bool) or not isinstance(workers, int) or not 1 <= workers <= 64:
        raise DataFirstError(f"--workers must be a whole number from 1 to 64, not {workers!r}")
    return SynthConfig(
        out=Path(out),
        people=people,
        seed=seed,
        years=parse_years(years),
        datasets=parse_datasets(datasets),
        workers=workers,
        overwrite=overwrite,
        chunk_people=chunk_people,
        overrides=overrides,
    )
