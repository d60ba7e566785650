"""`make bench`: run every benchmark, print a table, write bench/results.json."""

from __future__ import annotations

import importlib
import json
from pathlib import Path

BENCHMARKS = [
    "bench.bench_matching",
    "bench.bench_renewals",
    "bench.bench_renewal_scan",
    "bench.bench_stack",
    "bench.bench_floor",
    "bench.bench_ack",
]


def main() -> None:
    results: dict[str, float] = {}
    for name in BENCHMARKS:
        print(f"running {name} …", flush=True)
        results.update(importlib.import_module(name).run())
    print()
    for key, value in results.items():
        print(f"{key:36} {value}")
    out = Path(__file__).resolve().parent / "results.json"
    out.write_text(json.dumps(results, indent=2) + "\n")
    print(f"\nwritten to {out}")


if __name__ == "__main__":
    main()
