"""Benchmark the linkage pipeline end to end at 1 million (or 10 million) person records, beside Splink's figure.

    .venv/bin/python benchmarks/linkage_benchmark.py                        # ~1,000,000 records, seed 1001
    .venv/bin/python benchmarks/linkage_benchmark.py --seed 2024            # another seed no test uses
    .venv/bin/python benchmarks/linkage_benchmark.py --records 10000000 --out-dir /big/disk
    .venv/bin/python benchmarks/linkage_benchmark.py --data DIR --blocking  # an existing folder; pairs per rule first
    .venv/bin/python benchmarks/linkage_benchmark.py --engine spark         # the same on Spark's local mode

The person records per person are measured on a small folder first, and the number of people is set to give
--records person records (about 0.84 a person). Only the datasets the linkage reads are generated (and the truth).
The folder is written under --out-dir (a temporary folder by default) and deleted at the end, unless --data names
an existing one. The default seed, 1001, is one no test fixes, so the quality printed is that of unseen data.

The linkage runs in a fresh Python process, so that its peak memory (maximum resident set size) is its own; on
DuckDB with its memory_limit and temp_directory set (DuckDB spills to disk past the limit; the resident set also
holds Python and Splink, so the limit is set below the 8 GB target). On Spark most of the work is done by a Java
process that the linkage starts and that the operating system does not count among its children once it is left
running, so the peak is sampled instead: every half second, the resident memory of the linkage's process and all
its descendants added up (Linux only; elsewhere the largest reaped process's peak).

--blocking first counts the pairs each blocking rule of linkage.yaml makes, exactly, with Splink's
`count_comparisons_from_blocking_rules`: pairs grow with the square of a block's size, so a rule that is cheap at
1 million records can explode at 10 million.
"""

from __future__ import annotations

import argparse
import json
import resource
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

SPLINK_PUBLISHED_RECORDS_PER_SECOND = 1_000_000 / 60  # "about a million records on a laptop in around a minute"
TARGET_SECONDS = {1_000_000: 180.0, 10_000_000: 900.0}  # by records linked (the nearest of the two sizes)
TARGET_F1 = 0.98
TARGET_B3_F1 = 0.975
TARGET_PEAK_MB = 8 * 1024
PROBE_PEOPLE = 100_000
DEFAULT_SEED = 1001  # no test fixes it

_LINK = """
import json, sys, time
from sdfirst.linkage import link
from sdfirst.linkage.engine import DuckDBEngine
folder, engine, threads, memory_limit, temp_directory = sys.argv[1:6]
plain_for_folder = DuckDBEngine.for_folder.__func__

def for_folder(cls, *args, **kwargs):
    opened = plain_for_folder(cls, *args, **kwargs)
    opened.con.execute(f"SET memory_limit = '{memory_limit}'")
    opened.con.execute(f"SET temp_directory = '{temp_directory}'")
    opened.con.execute("SET preserve_insertion_order = false")
    return opened

DuckDBEngine.for_folder = classmethod(for_folder)  # the benchmark's own limits; link() leaves DuckDB at its defaults
start = time.perf_counter()
evaluation = link(
    folder,
    overwrite=True,
    engine=engine,
    threads=int(threads) if threads else None,
    progress=lambda m: print(m, file=sys.stderr, flush=True),
)
evaluation["wall_seconds"] = time.perf_counter() - start
print(json.dumps(evaluation))
"""


def _tree_rss_mb(root: int) -> float:
    """The resident memory of process `root` and all its descendants, in MB, from /proc (0 where there is none)."""
    parents, rss = {}, {}
    for status in Path("/proc").glob("[0-9]*/status"):
        try:
            fields = dict(line.split(":", 1) for line in status.read_text().splitlines() if ":" in line)
        except OSError:
            continue
        pid = int(status.parent.name)
        parents[pid] = int(fields.get("PPid", "0").strip())
        rss[pid] = int(fields.get("VmRSS", "0 kB").split()[0]) / 1024
    tree, grew = {root}, True
    while grew:
        more = {pid for pid, parent in parents.items() if parent in tree} - tree
        tree, grew = tree | more, bool(more)
    return sum(rss.get(pid, 0.0) for pid in tree)


class PeakMemory(threading.Thread):
    """Samples a process tree's resident memory every `interval` seconds; `peak_mb` is the largest sum seen."""

    def __init__(self, pid: int, interval: float = 0.5) -> None:
        super().__init__(daemon=True)
        self.pid, self.interval, self.peak_mb = pid, interval, 0.0
        self.done = threading.Event()

    def run(self) -> None:
        while not self.done.wait(self.interval):
            self.peak_mb = max(self.peak_mb, _tree_rss_mb(self.pid))


def _datasets() -> list[str]:
    """The datasets linkage.yaml links (and the case journey's), the only ones a linkage benchmark needs."""
    from sdfirst.linkage import load_config

    cfg = load_config()
    cases = [cfg["case_journey"][side]["dataset"] for side in ("mags", "crown")]
    needed = [s["dataset"] for s in cfg["sources"]] + cases
    return list(dict.fromkeys(needed))


def _records(folder: Path) -> int:
    from sdfirst.database import connect
    from sdfirst.linkage import load_config
    from sdfirst.linkage.sources import available_sources, load_person_records

    cfg = load_config()
    con = connect(folder, view="identified")
    return load_person_records(con, available_sources(folder, cfg), cfg)


def people_for(records: int, seed: int, work: Path) -> int:
    """People to simulate for about `records` person records, from a probe at PROBE_PEOPLE."""
    from sdfirst.synth import generate

    probe = work / "probe"
    generate(probe, people=PROBE_PEOPLE, seed=seed, datasets=_datasets())
    per_person = _records(probe) / PROBE_PEOPLE
    shutil.rmtree(probe)
    return int(round(records / per_person / 10_000) * 10_000)


def blocking_counts(folder: Path) -> None:
    """Print the exact pairs each blocking rule of linkage.yaml makes on the folder (and their union)."""
    from splink import DuckDBAPI
    from splink.blocking_analysis import count_comparisons_from_blocking_rules

    from sdfirst.database import connect
    from sdfirst.linkage import load_config
    from sdfirst.linkage.model import _rule
    from sdfirst.linkage.sources import PERSON_TABLE, available_sources, load_person_records

    cfg = load_config()
    con = connect(folder, datasets=_datasets(), view="identified")
    records = load_person_records(con, available_sources(folder, cfg), cfg)
    start = time.perf_counter()
    rules = cfg["model"]["blocking_rules_to_generate_predictions"]
    counted = count_comparisons_from_blocking_rules(
        DuckDBAPI(connection=con).register(PERSON_TABLE),
        blocking_rules=[_rule(r) for r in rules],
        link_type=cfg["model"]["link_type"],
        record_sample_proportion=1.0,
    )
    print(f"blocking rules on {records:,} records (exact, {time.perf_counter() - start:.0f} s):")
    for rule, row in zip(rules, counted, strict=True):
        adds, total = row["marginal_comparison_count"], row["cumulative_comparison_count"]
        print(f"  {rule!s:55} adds {adds:>14,} (total {total:,})")
    con.close()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--records", type=int, default=1_000_000, help="person records to aim for (1,000,000)")
    parser.add_argument("--people", type=int, help="people to simulate (default: measured to give --records)")
    parser.add_argument("--seed", type=int, default=DEFAULT_SEED, help=f"generator seed ({DEFAULT_SEED})")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--out-dir", help="where to generate (a temporary folder by default)")
    parser.add_argument("--data", help="link this generated folder instead of generating one (it is kept)")
    parser.add_argument("--engine", choices=("duckdb", "spark"), default="duckdb", help="where to link (duckdb)")
    parser.add_argument("--threads", type=int, help="DuckDB threads or Spark's local cores (every core)")
    parser.add_argument(
        "--memory-limit", default="6GB", help="DuckDB's memory_limit for the linkage (6GB; DuckDB only)"
    )
    parser.add_argument("--blocking", action="store_true", help="count each blocking rule's pairs first")
    args = parser.parse_args()

    from sdfirst.database import read_manifest
    from sdfirst.synth import generate

    work = Path(tempfile.mkdtemp(prefix="link-bench-", dir=args.out_dir))
    try:
        if args.data:
            folder = Path(args.data)
            manifest = read_manifest(folder)
            people, seed = manifest["people"], manifest["seed"]
            print(f"linking {folder} ({people:,} people, seed {seed})")
        else:
            seed = args.seed
            people = args.people or people_for(args.records, seed, work)
            folder = work / "data"
            start = time.perf_counter()
            generate(folder, people=people, seed=seed, workers=args.workers, datasets=_datasets())
            print(f"generated {people:,} people (seed {seed}) in {time.perf_counter() - start:.1f} s")
        if args.blocking:
            blocking_counts(folder)

        start = time.perf_counter()
        spill = work / "duckdb-spill"
        threads = str(args.threads or "")
        command = [sys.executable, "-c", _LINK, str(folder), args.engine, threads, args.memory_limit, str(spill)]
        child = subprocess.Popen(command, stdout=subprocess.PIPE, text=True)  # its progress goes to our stderr
        sampler = PeakMemory(child.pid)
        if Path("/proc").is_dir():
            sampler.start()
        out, _ = child.communicate()
        sampler.done.set()
        seconds = time.perf_counter() - start  # includes start-up and imports
        if child.returncode != 0:
            return 1
        evaluation = json.loads(out.strip().splitlines()[-1])
        reaped_mb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
        peak_mb = max(sampler.peak_mb, reaped_mb)
    finally:
        shutil.rmtree(work, ignore_errors=True)

    records, x = evaluation["records"], evaluation["xjs"]
    rate = records / seconds
    print(f"linked {records:,} person records of {people:,} people (seed {seed}) on {args.engine}")
    limit = (
        " (linkage and its Java, sampled)" if args.engine == "spark" else f" (DuckDB memory_limit {args.memory_limit})"
    )
    print(
        f"  end to end {seconds:.1f} s (pipeline {evaluation['seconds']:.1f} s, of which training "
        f"{evaluation['seconds_training']:.1f} s); peak memory {peak_mb:,.0f} MB{limit}; "
        f"{evaluation['scored_pairs']:,} pairs at or above the lowest threshold"
    )
    print(
        f"  {rate:,.0f} records/s; Splink's published figure about {SPLINK_PUBLISHED_RECORDS_PER_SECOND:,.0f}/s "
        f"(1 million records in around a minute on a laptop): {rate / SPLINK_PUBLISHED_RECORDS_PER_SECOND:.2f} x"
    )
    print(
        f"  estimated_xjs_id at {evaluation['threshold']}: pairwise precision {x['pairwise_precision']:.4f} "
        f"recall {x['pairwise_recall']:.4f} F1 {x['pairwise_f1']:.4f}; B-cubed precision {x['b3_precision']:.4f} "
        f"recall {x['b3_recall']:.4f} F1 {x['b3_f1']:.4f}; people found exactly {x['exact_person_share']:.2%}"
    )
    if "case_journey" in evaluation:
        cj = evaluation["case_journey"]
        print(f"  mags_crown_journey: precision {cj['precision']:.4f} recall {cj['recall']:.4f}")
    size = min(TARGET_SECONDS, key=lambda n: abs(n - records))
    checks = {
        f"pairwise F1 >= {TARGET_F1}": x["pairwise_f1"] >= TARGET_F1,
        f"B-cubed F1 >= {TARGET_B3_F1}": x["b3_f1"] >= TARGET_B3_F1,
        f"{size:,} records in <= {TARGET_SECONDS[size]:.0f} s": seconds <= TARGET_SECONDS[size],
        f"peak memory <= {TARGET_PEAK_MB:,} MB": peak_mb <= TARGET_PEAK_MB,
    }
    if args.engine == "spark":  # no time target: local Spark on a small machine is for checking, not for speed
        del checks[f"{size:,} records in <= {TARGET_SECONDS[size]:.0f} s"]
    print("targets: " + "; ".join(f"{name} {'met' if ok else 'MISSED'}" for name, ok in checks.items()))
    return 0 if all(checks.values()) else 1


if __name__ == "__main__":
    sys.exit(main())
