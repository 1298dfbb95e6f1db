"""Pools of names and neighbourhoods, built once per run with Faker and then sampled by index with numpy.

Faker is slow per call (about 20 microseconds a surname) and has only 500 British surnames, so it is never
called per record. Its locale word lists are gathered into weighted pools; every record then holds an
integer index into a pool, and recording errors (typos, nicknames) are other indices into the same pool.
"""

from __future__ import annotations

import functools
import re
import unicodedata
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from typing import TypeVar

import numpy as np
import pyarrow as pa
from faker import Faker

from sdfirst.specs import code_lists, derived_cache, load_yaml
from sdfirst.synth.rng import ScalarIntegers, rng_global, seed_int

_LATIN = re.compile(r"^[A-Za-z][A-Za-z' -]*[A-Za-z]$")
_COMPOUND_ENDS = [
    "ton",
    "ley",
    "son",
    "field",
    "wood",
    "well",
    "by",
    "ham",
    "ford",
    "worth",
    "croft",
    "shaw",
    "combe",
    "hurst",
    "stone",
    "bridge",
    "dale",
    "more",
    "wick",
    "thorpe",
]
_UNIT_LETTERS = "ABDEFGHJLNPQRSTUWXYZ"
TYPO_VARIANTS = 3
_PERSON = "faker.providers.person"
T = TypeVar("T")


def run_pool(build: Callable[[int], T]) -> Callable[[int], T]:
    """Cache a run-wide pool by seed, like functools.cache, with `prime(seed, pool)` to install one built in
    another process (the run builds some pools side by side before its workers fork) and `cached(seed)`. A pool
    is made from the specs too, so it is forgotten when the overrides change."""
    built: dict[int, T] = {}
    derived_cache(built.clear)

    @functools.wraps(build)
    def pool(seed: int) -> T:
        if seed not in built:
            built[seed] = build(seed)
        return built[seed]

    pool.prime = built.__setitem__  # type: ignore[attr-defined]
    pool.cached = built.__contains__  # type: ignore[attr-defined]
    return pool


@functools.cache  # the locales' lists overlap: 44,000 words to fold, 19,000 of them different
def ascii_fold(name: str) -> str | None:
    """A name as an English-language system stores it: accents dropped, Latin letters only, Title Case."""
    folded = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode("ascii").strip()
    if not _LATIN.match(folded) or len(folded) < 2:
        return None
    return " ".join(part.capitalize() if part.isupper() or part.islower() else part for part in folded.split(" "))


@functools.cache
def _person_provider(locale: str):
    """Faker's person provider of a locale, made once: making a Faker scans its provider modules (slow, so only the
    person provider is asked for), and the name lists read from it are fixed data, not random draws."""
    return Faker(locale, providers=[_PERSON]).provider(_PERSON)


@functools.cache  # several name groups draw on the same locale
def _locale_words(locale: str, attribute: str) -> tuple[tuple[str, float | None], ...]:
    """Words of one Faker list with Faker's own weights when it has them."""
    romanized = locale.endswith(":romanized")
    provider = _person_provider(locale.split(":")[0])
    if romanized:
        attribute = {"surname": "last_romanized_names"}.get(attribute, "first_romanized_names")
    else:
        attribute = {"surname": "last_names"}.get(attribute, attribute)
    words = getattr(provider, attribute, None)
    if words is None and attribute.startswith("first_names_"):
        words = getattr(provider, "first_names", None)
    if attribute == "last_names" and (words is None or len(words) < 20):
        by_sex = [getattr(provider, a, None) for a in ("last_names_male", "last_names_female")]
        if all(by_sex):
            words = list(dict.fromkeys([*by_sex[0], *by_sex[1]]))
    if words is None or len(words) < 20:
        return ()
    if isinstance(words, (dict, OrderedDict)):
        return tuple((w, float(v)) for w, v in words.items())
    return tuple((w, None) for w in words)


def _zipf(n: int, exponent: float, offset: float) -> np.ndarray:
    return 1.0 / (np.arange(1, n + 1) + offset) ** exponent


def _pool_words(locales: list[str], attribute: str, exponent: float, offset: float) -> dict[str, float]:
    """Merge locales into one weighted list: each locale's list is normalised, earlier locales weigh more."""
    merged: dict[str, float] = {}
    for rank, locale in enumerate(locales):
        words = _locale_words(locale, attribute)
        if not words:
            continue
        if all(w is not None for _, w in words):
            weights = np.array([w for _, w in words], dtype=float)
        else:
            weights = _zipf(len(words), exponent, offset)
        weights = weights / weights.sum() / (rank + 1)
        for (word, _), weight in zip(words, weights, strict=False):
            folded = ascii_fold(word)
            if folded:
                merged[folded] = merged.get(folded, 0.0) + float(weight)
    return merged


def _compound_surnames(base: list[str], count: int, rng: np.random.Generator) -> list[str]:
    """Rare, plausible English surnames (Harrington's front and Ashworth's back give Harworth) for a long tail."""
    plain = [w for w in base if " " not in w and "'" not in w and len(w) >= 5]
    stems = sorted({w[: max(3, len(w) // 2)] for w in plain})
    ends = sorted({w[len(w) // 2 :].lower() for w in plain if len(w) - len(w) // 2 >= 3} | set(_COMPOUND_ENDS))
    if len(stems) * len(ends) < 2 * count:
        raise ValueError("too few surname parts for the compound surnames asked for")
    made: set[str] = set(base)
    out: list[str] = []
    for _ in range(20):
        for stem, end in zip(rng.choice(stems, size=count), rng.choice(ends, size=count), strict=False):
            name = stem + end
            if name not in made and len(name) <= 14:
                made.add(name)
                out.append(name)
        if len(out) >= count:
            break
    return out[:count]


_KEYBOARD = {  # letters next to each on a keyboard
    "a": "sq",
    "b": "vn",
    "c": "xv",
    "d": "sf",
    "e": "wr",
    "f": "dg",
    "g": "fh",
    "h": "gj",
    "i": "uo",
    "j": "hk",
    "k": "jl",
    "l": "k",
    "m": "n",
    "n": "bm",
    "o": "ip",
    "p": "o",
    "q": "w",
    "r": "et",
    "s": "ad",
    "t": "ry",
    "u": "yi",
    "v": "cb",
    "w": "qe",
    "x": "zc",
    "y": "tu",
    "z": "x",
}

_PHONETIC = [  # spellings that sound alike
    ("ph", "f"),
    ("ie", "ei"),
    ("y", "ie"),
    ("ck", "k"),
    ("ou", "ow"),
    ("ae", "a"),
    ("ll", "l"),
    ("ss", "s"),
    ("mm", "m"),
    ("tt", "t"),
    ("on", "en"),
    ("an", "en"),
    ("ee", "ea"),
]


def _sounds_like(name: str) -> str:
    """The name with its first sound-alike spelling (after the first letter) swapped in, or the name itself."""
    lower = name.lower()
    for a, b in _PHONETIC:
        j = lower.find(a, 1)
        if j >= 0:
            return name[:j] + b + name[j + len(a) :]
    return name


def _typos(name: str, draw: ScalarIntegers, k: int) -> list[str]:
    """k misspellings of a name of the kinds clerks make: a dropped, doubled, swapped or wrong letter.

    Every attempt starts again from the name, so the sound-alike spelling is worked out once, when first drawn.
    """
    out: list[str] = []
    n = len(name)
    sounds_like = None
    attempts = 0
    while len(out) < k and attempts < 50:
        attempts += 1
        kind = draw(0, 5)
        i = draw(1, n) if n > 1 else 0
        if kind == 0 and n > 3:
            s = name[:i] + name[i + 1 :]
        elif kind == 1:
            s = name[:i] + name[i] + name[i:]
        elif kind == 2 and i < n - 1:
            s = name[:i] + name[i + 1] + name[i] + name[i + 2 :]
        elif kind == 3:
            near = _KEYBOARD.get(name[i].lower(), "")
            s = name[:i] + near[draw(0, len(near))] + name[i + 1 :] if near else name
        else:
            if sounds_like is None:
                sounds_like = _sounds_like(name)
            s = sounds_like
        if s != name and s not in out and _LATIN.match(s):
            out.append(s)
    while len(out) < k:
        out.append(name + name[-1])
    return out


@dataclass(frozen=True)
class WeightedPool:
    """Indices into a name table and the cumulative weights to draw them with."""

    index: np.ndarray
    cumulative: np.ndarray

    def draw(self, rng: np.random.Generator, n: int) -> np.ndarray:
        return self.index[np.searchsorted(self.cumulative, rng.random(n) * self.cumulative[-1], side="right")]


@dataclass(frozen=True)
class NameTable:
    """All names of one kind (forenames or surnames): the strings, their typo variants and nicknames."""

    names: pa.Array  # every name, typo variants appended after the real names
    typos: np.ndarray  # [n_real, TYPO_VARIANTS] indices of misspellings of each real name
    nickname: np.ndarray  # [n_real] index of a nickname or name variant, -1 where there is none

    def strings(self, index: np.ndarray, missing: np.ndarray | None = None) -> pa.Array:
        mask = None if missing is None else np.asarray(missing, dtype=bool)
        return self.names.take(pa.array(np.where(index < 0, 0, index), mask=mask))


@dataclass(frozen=True)
class NamePools:
    forenames: NameTable
    surnames: NameTable
    first_male: dict[str, WeightedPool]
    first_female: dict[str, WeightedPool]
    surname: dict[str, WeightedPool]


def _table(words: dict[str, dict[str, float]], rng: np.random.Generator, nicknames: dict[str, list[str]]):
    """Build one name table from several named pools, returning the table and each pool's WeightedPool."""
    real = sorted(set().union(*[set(w) for w in words.values()]) | {n for v in nicknames.values() for n in v})
    position = {name: i for i, name in enumerate(real)}
    with ScalarIntegers(rng) as draw:  # each name has exactly TYPO_VARIANTS, stored after the real names
        typo_words = [variant for name in real for variant in _typos(name, draw, TYPO_VARIANTS)]
    typos = len(real) + np.arange(len(typo_words), dtype=np.int64).reshape(len(real), TYPO_VARIANTS)
    nickname = np.full(len(real), -1, dtype=np.int64)
    for formal, variants in nicknames.items():
        if formal in position:
            nickname[position[formal]] = position[variants[int(rng.integers(0, len(variants)))]]
    pools = {}
    for key, weighted in words.items():
        names = sorted(weighted)
        idx = np.array([position[n] for n in names], dtype=np.int64)
        pools[key] = WeightedPool(idx, np.cumsum([weighted[n] for n in names]))
    return NameTable(pa.array(real + typo_words, type=pa.string()), typos, nickname), pools


@run_pool
def name_pools(seed: int) -> NamePools:
    """The run's name pools; the same for every chunk and worker because they depend only on the seed."""
    params = load_yaml("population.yaml")["names"]
    errors = load_yaml("recording_errors.yaml")
    rng = rng_global(seed, "name-pools")
    exponent, offset = params["zipf_exponent"], params["zipf_offset"]
    male, female, surname = {}, {}, {}
    for group, spec in params["pools"].items():
        male[group] = _pool_words(spec["first_male"], "first_names_male", exponent, offset)
        female[group] = _pool_words(spec["first_female"], "first_names_female", exponent, offset)
        surname[group] = _pool_words(spec["surname"], "surname", exponent, offset)
        extra = spec.get("compound_surnames", 0)
        if extra:
            rare = _compound_surnames(sorted(surname[group]), extra, rng)
            tail = min(surname[group].values())
            shape = params["compound_surname_tail"]  # rarer than the rarest real surname, falling slowly
            curve = _zipf(len(rare), shape["exponent"], shape["offset"])
            weights = tail * curve / _zipf(1, shape["exponent"], shape["offset"])[0]
            surname[group].update(zip(rare, weights.tolist(), strict=False))
    nick = {k: list(v) for k, v in errors["nicknames"].items()}
    first_words = {f"m:{g}": w for g, w in male.items()} | {f"f:{g}": w for g, w in female.items()}
    forenames, first = _table(first_words, rng, nick)
    surnames, last = _table(surname, rng, {})
    return NamePools(
        forenames=forenames,
        surnames=surnames,
        first_male={g: first[f"m:{g}"] for g in male},
        first_female={g: first[f"f:{g}"] for g in female},
        surname=last,
    )


@dataclass(frozen=True)
class Neighbourhoods:
    """Postcode sectors with their LSOA, deprivation decile and region, sorted by (region, decile)."""

    sector: pa.Array  # "AB12 3"
    lsoa: pa.Array  # "E01012345"
    imd_decile: np.ndarray  # 1 = most deprived
    region: np.ndarray  # index into regions
    regions: list[str]
    country: np.ndarray  # 0 England, 1 Wales
    group_start: np.ndarray  # [region, decile] first sector
    group_count: np.ndarray  # [region, decile] number of sectors
    region_weight: np.ndarray
    units: pa.Array  # "AB", "AD", ... the last two letters of a postcode
    town: pa.Array  # the main town of the sector's postcode area (names the local courts)

    def postcodes(self, sector: np.ndarray, unit: np.ndarray) -> pa.Array:
        import pyarrow.compute as pc

        return pc.binary_join_element_wise(self.sector.take(pa.array(sector)), self.units.take(pa.array(unit)), "")


@run_pool
def neighbourhoods(seed: int) -> Neighbourhoods:
    """A synthetic set of postcode sectors: real postcode areas, made-up districts, sectors and LSOA codes."""
    params = load_yaml("population.yaml")["addresses"]
    areas = code_lists()["postcode_areas"]["codes"]
    rng = rng_global(seed, "neighbourhoods")
    regions = sorted({v[0] for v in areas.values()})
    names = sorted(areas)
    weights = np.array([areas[a][2] for a in names], dtype=float)
    n = int(params["neighbourhoods"])
    area_idx = rng.choice(len(names), size=n, p=weights / weights.sum())
    district = rng.integers(1, params["districts_per_area"] + 1, size=n)
    sector_digit = rng.integers(0, 10, size=n)
    labels = [f"{names[a]}{d} {s}" for a, d, s in zip(area_idx, district, sector_digit, strict=False)]
    towns = [areas[names[a]][3] for a in area_idx]
    region = np.array([regions.index(areas[names[a]][0]) for a in area_idx])
    country = np.array([1 if areas[names[a]][1] == "Wales" else 0 for a in area_idx])
    lsoa_num = rng.choice(np.arange(1000, 1000 + 4 * n), size=n, replace=False)
    lsoa = [("W01" if c else "E01") + f"{num:06d}" for c, num in zip(country, lsoa_num, strict=False)]
    decile = rng.integers(1, 11, size=n)
    order = np.lexsort((np.array(labels), decile, region))
    region, decile, country = region[order], decile[order], country[order]
    labels = [labels[i] for i in order]
    lsoa = [lsoa[i] for i in order]
    towns = [towns[i] for i in order]
    start = np.zeros((len(regions), 10), dtype=np.int64)
    count = np.zeros((len(regions), 10), dtype=np.int64)
    for r in range(len(regions)):
        for d in range(10):
            hits = np.flatnonzero((region == r) & (decile == d + 1))
            start[r, d] = hits[0] if len(hits) else 0
            count[r, d] = len(hits)
    region_weight = np.array([weights[[areas[a][0] == reg for a in names]].sum() for reg in regions])
    units = [a + b for a in _UNIT_LETTERS for b in _UNIT_LETTERS]
    return Neighbourhoods(
        sector=pa.array(labels),
        lsoa=pa.array(lsoa),
        imd_decile=decile,
        region=region,
        regions=regions,
        country=country,
        group_start=start,
        group_count=count,
        region_weight=region_weight / region_weight.sum(),
        units=pa.array(units),
        town=pa.array(towns),
    )


@run_pool
def company_names(seed: int) -> pa.Array:
    """Company names for civil claimants (lenders, landlords, utilities), from Faker seeded per instance.

    The pool size is read here, from the civil spec, rather than passed in: the cache is keyed on the arguments
    as written, and a run warms the pools before its workers fork, so every caller must make the same call.
    """
    n = int(load_yaml("family_civil.yaml")["civil"]["company_pool_size"])
    faker = Faker("en_GB", providers=["faker.providers.company", _PERSON])
    faker.seed_instance(seed_int(seed, "companies"))
    names = sorted({faker.company() for _ in range(n)})
    return pa.array(names)
