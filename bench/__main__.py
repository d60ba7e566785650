"""`make bench`: run every benchmark, print a table, write bench/results.json.

Each benchmark runs in a fresh interpreter: the ack benchmark times requests from its own
process, and in the one process that had just built 100,000 renewal plans its garbage
collections showed up as slow acks (p99 73 ms in `make bench`, 26 ms run alone)."""

from __future__ import annotations

import json
import multiprocessing
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

from bench import run_one

BENCHMARKS = [
    "bench.bench_matching",
    "bench.bench_discover",
    "bench.bench_renewals",
    "bench.bench_renewal_scan",
    "bench.bench_stack",
    "bench.bench_floor",
    "bench.bench_ack",
    "bench.bench_console",
]


def main() -> None:
    results: dict[str, float] = {}
    for name in BENCHMARKS:
        print(f"running {name} …", flush=True)
        with ProcessPoolExecutor(max_workers=1, mp_context=multiprocessing.get_context("spawn")) as fresh:
            results.update(fresh.submit(run_one, name).result())
    print()
    for key, value in results.items():
        print(f"{key:36} {value}")
    out = Path(__file__).resolve().parent / "results.json"
    out.write_text(json.dumps(results, indent=2) + "\n")
    print(f"\nwritten to {out}")


if __name__ == "__main__":
    main()
