"""Benchmark the generator end to end at 1 and 10 million people, against a per-record Faker loop.

    .venv/bin/python benchmarks/synth_benchmark.py                       # 1,000,000 and 10,000,000 people
    .venv/bin/python benchmarks/synth_benchmark.py --people-list 1000000 # a quick check

Each size runs in a fresh Python process, so that its peak memory is its own: the peak is the largest maximum
resident set size (resource.getrusage) of that process and of its worker processes. The output folder is
written under --out-dir (a temporary folder by default) and deleted after each run.

Each size is run --repeat times (3). The targets are judged on the fastest run, as `timeit` does: on a shared
machine other work only ever adds time, so the fastest run is the best estimate of what the code does. The
median run is printed beside it, and the peak memory is the largest of all runs.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

TARGET_RECORDS_PER_SECOND = 1_000_000
TARGET_FAKER_RATIO = 30.0
TARGET_PEAK_MB_AT_10M = 2048.0
TARGET_SCALING = 0.8  # 10M throughput at least 80% of 1M throughput
FAKER_ROWS = 20_000


def _rss_mb(who: int) -> float:
    """Maximum resident set size in MB (Linux reports kilobytes, macOS bytes)."""
    value = resource.getrusage(who).ru_maxrss
    return value / 1024 / (1024 if sys.platform == "darwin" else 1)


def faker_rate(rows: int = FAKER_ROWS, seed: int = 42) -> float:
    """Person rows per second of a plain loop that builds each row with Faker en_GB, one at a time."""
    from faker import Faker

    fake = Faker("en_GB")
    fake.seed_instance(seed)
    first, last = dt.date(1930, 1, 1), dt.date(2015, 12, 31)
    start = time.perf_counter()
    out = []
    for _ in range(rows):
        out.append(
            {
                "first_name": fake.first_name(),
                "last_name": fake.last_name(),
                "date_of_birth": fake.date_between(start_date=first, end_date=last),
                "postcode": fake.postcode(),
            }
        )
    elapsed = time.perf_counter() - start
    assert len(out) == rows
    return rows / elapsed


def child(people: int, workers: int, out_dir: str, seed: int) -> None:
    """Run one generation in this process and print its figures as JSON (called in a fresh process)."""
    from sdfirst.synth import generate

    out = Path(out_dir) / f"synth-{people}"
    try:
        start = time.perf_counter()
        manifest = generate(out, people=people, seed=seed, workers=workers, overwrite=True)
        seconds = time.perf_counter() - start
    finally:
        shutil.rmtree(out, ignore_errors=True)
    tables = manifest["tables"]
    records = sum(t["rows"] for t in tables.values())
    released = sum(t["rows"] for k, t in tables.items() if not k.startswith("truth."))
    print(
        json.dumps(
            {
                "people": people,
                "workers": workers,
                "seconds": seconds,
                "records": records,
                "released": released,
                "peak_main_mb": _rss_mb(resource.RUSAGE_SELF),
                "peak_children_mb": _rss_mb(resource.RUSAGE_CHILDREN),
            }
        )
    )


def run_size(people: int, workers: int, out_dir: str, seed: int, repeat: int) -> dict:
    """The fastest of `repeat` runs, with the median time and the largest peak memory of them all."""
    runs = [run_one(people, workers, out_dir, seed) for _ in range(repeat)]
    best = dict(min(runs, key=lambda r: r["seconds"]))
    best["repeats"] = repeat
    best["median_seconds"] = statistics.median(r["seconds"] for r in runs)
    best["all_seconds"] = [r["seconds"] for r in runs]
    for key in ("peak_mb", "peak_main_mb", "peak_children_mb"):
        best[key] = max(r[key] for r in runs)
    return best


def run_one(people: int, workers: int, out_dir: str, seed: int) -> dict:
    cmd = [
        sys.executable,
        __file__,
        "--_child",
        str(people),
        "--workers",
        str(workers),
        "--out-dir",
        out_dir,
        "--seed",
        str(seed),
    ]
    done = subprocess.run(cmd, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        sys.stderr.write(done.stderr)
        raise SystemExit(f"the run at {people:,} people failed (exit status {done.returncode})")
    result = json.loads(done.stdout.strip().splitlines()[-1])
    result["peak_mb"] = max(result["peak_main_mb"], result["peak_children_mb"])
    result["records_per_second"] = result["records"] / result["seconds"]
    result["released_per_second"] = result["released"] / result["seconds"]
    return result


def _mark(ok: bool) -> str:
    return "ok" if ok else "MISSED"


def _report(results: list[dict], faker: float) -> None:
    print(f"Faker en_GB loop: {faker:,.0f} person rows/s ({FAKER_ROWS:,} rows, one at a time; the fastest loop)")
    print()
    for r in results:
        rate, released_rate = r["records_per_second"], r["released_per_second"]
        ratio = rate / faker
        peak_ok = r["peak_mb"] < TARGET_PEAK_MB_AT_10M
        print(f"{r['people']:>12,} people, {r['workers']} workers, fastest of {r['repeats']} runs")
        median_rate = r["records"] / r["median_seconds"]
        print(
            f"  time                {r['seconds']:10.1f} s   (median {r['median_seconds']:.1f} s, "
            f"{median_rate:,.0f} records/s; all: {', '.join(f'{t:.1f}' for t in r['all_seconds'])})"
        )
        print(
            f"  records written     {r['records']:>14,}   (released tables {r['released']:,}; "
            f"truth {r['records'] - r['released']:,})"
        )
        print(
            f"  records/s           {rate:>14,.0f}   target >= {TARGET_RECORDS_PER_SECOND:,}  "
            f"[{_mark(rate >= TARGET_RECORDS_PER_SECOND)}]   (released only {released_rate:,.0f})"
        )
        print(
            f"  vs Faker loop       {ratio:13.1f}x   target >= {TARGET_FAKER_RATIO:.0f}x  "
            f"[{_mark(ratio >= TARGET_FAKER_RATIO)}]   (released only {released_rate / faker:.1f}x)"
        )
        line = (
            f"  peak memory         {r['peak_mb']:10,.0f} MB   (main {r['peak_main_mb']:,.0f}, "
            f"largest worker {r['peak_children_mb']:,.0f})"
        )
        if r["people"] >= 10_000_000:
            line += f"   target < {TARGET_PEAK_MB_AT_10M:,.0f} MB at 10M  [{_mark(peak_ok)}]"
        print(line)
        together = r["peak_main_mb"] + r["workers"] * r["peak_children_mb"]
        workers = r["workers"]
        print(f"  (all processes at once: at most main + {workers} x largest worker, {together:,.0f} MB)")
    by_size = {r["people"]: r for r in results}
    if 1_000_000 in by_size and 10_000_000 in by_size:
        scaling = by_size[10_000_000]["records_per_second"] / by_size[1_000_000]["records_per_second"]
        print()
        print(
            f"10M / 1M throughput   {scaling:10.2f}     target >= {TARGET_SCALING:.2f} (within 20%)  "
            f"[{_mark(scaling >= TARGET_SCALING)}]"
        )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--people-list", default="1000000,10000000", help="comma-separated sizes to run (1000000,10000000)"
    )
    parser.add_argument("--workers", type=int, default=2, help="worker processes (2)")
    parser.add_argument("--out-dir", default=None, help="where to write the data (a temporary folder)")
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--repeat", type=int, default=3, help="runs of each size; the fastest is judged (3)")
    parser.add_argument("--json", action="store_true", help="also print the figures as JSON")
    parser.add_argument("--_child", type=int, default=None, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.repeat < 1:
        parser.error("--repeat must be at least 1")
    if args._child is not None:
        child(args._child, args.workers, args.out_dir, args.seed)
        return 0
    sizes = [int(float(s.replace("_", ""))) for s in args.people_list.split(",") if s.strip()]
    made_temp = args.out_dir is None
    out_dir = tempfile.mkdtemp(prefix="sdfirst-bench-") if made_temp else args.out_dir
    os.makedirs(out_dir, exist_ok=True)
    try:
        faker = max(faker_rate() for _ in range(args.repeat))  # the fastest loop: the ratio errs low
        results = []
        for people in sizes:
            print(
                f"running {people:,} people with {args.workers} workers, {args.repeat} times ...",
                file=sys.stderr,
                flush=True,
            )
            results.append(run_size(people, args.workers, out_dir, args.seed, args.repeat))
    finally:
        if made_temp:
            shutil.rmtree(out_dir, ignore_errors=True)
    _report(results, faker)
    if args.json:
        print(json.dumps({"faker_rows_per_second": faker, "runs": results}, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
