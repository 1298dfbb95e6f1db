"""Where this project's data are: the synthetic copy by default, the real extract by one setting.

`config.yaml` at the top of the project says `source: synthetic` or `source: extract`; every other module asks this
one for the folder, so the same analysis code runs on a laptop and in the secure environment. Environment
variables override the file (for tests, or a shared extract path in the secure environment).
"""

from __future__ import annotations

import os
import sys
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[2]
PREFIX = "{{ cookiecutter.project_slug | upper }}"
SOURCES = ("synthetic", "extract")


class ConfigError(ValueError):
    """The configuration cannot be used; the message says which setting to change."""


@dataclass(frozen=True)
class Config:
    source: str  # "synthetic" or "extract"
    folder: Path  # the folder the analysis reads
    datasets: tuple[str, ...]
    outputs: Path
    people: int
    seed: int

    @property
    def is_synthetic(self) -> bool:
        return self.source == "synthetic"


def _resolve(path: str) -> Path:
    folder = Path(path).expanduser()
    return folder if folder.is_absolute() else ROOT / folder


def load(path: str | Path | None = None, source: str | None = None, environ: Mapping[str, str] | None = None) -> Config:
    """The configuration from `config.yaml` (or `path`), with environment overrides; `source` forces one source."""
    environ = os.environ if environ is None else environ
    path = Path(path or environ.get(f"{PREFIX}_CONFIG") or ROOT / "config.yaml")
    with path.open(encoding="utf-8") as handle:
        raw = yaml.safe_load(handle) or {}
    source = source or environ.get(f"{PREFIX}_SOURCE") or raw.get("source", "synthetic")
    if source not in SOURCES:
        raise ConfigError(f"source must be one of {', '.join(SOURCES)}, not {source!r} (see {path})")
    folder = environ.get(f"{PREFIX}_{source.upper()}") or raw.get("folders", {}).get(source) or ""
    if not folder:
        raise ConfigError(f"no folder set for source {source!r}: set folders.{source} in {path}")
    synthetic = raw.get("synthetic", {})
    return Config(
        source=source,
        folder=_resolve(folder),
        datasets=tuple(raw.get("datasets", [])),
        outputs=_resolve(raw.get("outputs", "outputs")),
        people=int(synthetic.get("people", 20000)),
        seed=int(synthetic.get("seed", 1)),
    )


def main(argv: list[str] | None = None) -> int:
    """Print one setting (folder, datasets, source, people or seed) for the Makefile."""
    argv = sys.argv[1:] if argv is None else argv
    config = load()
    values = {
        "folder": str(config.folder),
        "datasets": ",".join(config.datasets),
        "source": config.source,
        "people": str(config.people),
        "seed": str(config.seed),
    }
    if len(argv) != 1 or argv[0] not in values:
        print(f"usage: python -m {{ cookiecutter.project_slug }}.config {'|'.join(values)}", file=sys.stderr)
        return 2
    print(values[argv[0]])
    return 0


if __name__ == "__main__":
    sys.exit(main())
