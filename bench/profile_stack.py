"""Where the stack spends its CPU while it serves requests: `make profile`.

Runs the same end-to-end load as `bench_floor` (signed modal submissions, the manager
approving each) on a fresh `procure dev` stack, with py-spy sampling the worker, the bot and
the simulator (`--gil`: only the thread running Python counts, so waits and idle threads do
not). Prints each process's CPU per request and the functions that hold the most samples,
and writes a flame graph per process to `bench/profiles/<role>.svg`.

py-spy is in the `profile` extra (`pip install -e '.[profile]'`, which `make profile` does);
it needs ptrace rights (root, or kernel.yama.ptrace_scope=0)."""

from __future__ import annotations

import asyncio
import collections
import shutil
import signal
import subprocess
import sys
import tempfile
from pathlib import Path

from bench.bench_floor import QUIET, REQUESTS, children, cpu_seconds, end_to_end, warm_up
from procure.testing import dev_stack

OUT = Path(__file__).resolve().parent / "profiles"
PROFILED = ("worker", "bot", "simulator")
TOP = 25
# Frames every sample shares (entry points, the event loop, thread pools): not informative.
PLUMBING = (
    "runpy",
    "typer/",
    "click/",
    "procure/cli.py",
    "asyncio/",
    "threading.py",
    "concurrent/futures",
    "uvicorn/",
    "starlette/",
    "<frozen importlib",
)


def _top(raw: Path) -> list[tuple[float, str]]:
    """The functions present in the most samples (inclusive), from py-spy's raw output."""
    total = 0
    inclusive: collections.Counter[str] = collections.Counter()
    for line in raw.read_text(encoding="utf-8", errors="replace").splitlines():
        stack, _, count = line.rpartition(" ")
        if not stack or not count.isdigit():
            continue
        total += int(count)
        names = {frame.rsplit(":", 1)[0] for frame in stack.split(";")}
        for name in names:
            if not any(p in name for p in PLUMBING):
                inclusive[name] += int(count)
    return [(100 * n / total, name) for name, n in inclusive.most_common(TOP)] if total else []


def main() -> None:
    spy = shutil.which("py-spy") or str(Path(sys.executable).with_name("py-spy"))
    if not Path(spy).exists():
        sys.exit("py-spy is not installed: pip install -e '.[profile]' (or make profile)")
    OUT.mkdir(exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp, dev_stack(Path(tmp), extra_env=QUIET) as stack:
        pids = children(stack)
        warm_up(stack)  # profile the steady state, as `make bench` measures it
        spies = {}
        for role in PROFILED:
            for fmt, suffix in (("raw", "txt"), ("flamegraph", "svg")):
                spies[(role, fmt)] = subprocess.Popen(
                    [
                        spy,
                        "record",
                        "--gil",
                        "--rate",
                        "200",
                        "--format",
                        fmt,
                        "--output",
                        str(OUT / f"{role}.{suffix}"),
                        "--pid",
                        str(pids[role]),
                    ],
                    stdout=subprocess.DEVNULL,
                    stderr=subprocess.PIPE,
                )
        before = cpu_seconds(pids)
        rate = asyncio.run(end_to_end(stack))
        after = cpu_seconds(pids)
        for process in spies.values():
            process.send_signal(signal.SIGINT)
        for (role, _), process in spies.items():
            if process.wait(timeout=60) != 0:
                err = process.stderr.read().decode(errors="replace") if process.stderr else ""
                sys.exit(f"py-spy could not profile the {role}: {err.strip()[-400:]}")
    print(f"requests_per_s {rate} ({REQUESTS} requests)\n")
    for role in (*PROFILED, "temporal"):
        if role in before and role in after:
            print(f"cpu_ms_{role}_per_request {1000 * (after[role] - before[role]) / REQUESTS:.1f}")
    for role in PROFILED:
        print(f"\n{role}: functions in the most samples (inclusive); flame graph {OUT / (role + '.svg')}")
        for share, name in _top(OUT / f"{role}.txt"):
            print(f"  {share:5.1f}%  {name}")


if __name__ == "__main__":
    main()
