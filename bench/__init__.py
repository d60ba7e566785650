"""Benchmarks: `make bench` runs them all (bench/__main__.py), each in a fresh interpreter."""

from __future__ import annotations

import importlib


def run_one(name: str) -> dict[str, float]:
    """Run the benchmark module `name` and return its figures (called in a fresh process)."""
    result: dict[str, float] = importlib.import_module(name).run()
    return result
