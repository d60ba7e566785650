"""The worker writes the bytecode of its workflow modules before it polls: the workflow
sandbox imports them again for every workflow it starts, and without a `.pyc` (a checkout run
with PYTHONDONTWRITEBYTECODE=1) each of those imports compiled the source."""

from __future__ import annotations

import importlib.util
import os
import sys
from collections.abc import Iterator
from importlib.machinery import SourceFileLoader
from pathlib import Path

import pytest

from procure.runtime import write_workflow_bytecode

SOURCE = """
from temporalio import workflow


@workflow.defn(sandboxed=True)
class SomeWorkflow:
    @workflow.run
    async def run(self) -> int:
        return 1
"""


@pytest.fixture
def workflow_module(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[type, Path]]:
    monkeypatch.setattr(sys, "dont_write_bytecode", True)  # PYTHONDONTWRITEBYTECODE=1
    name = f"bytecode_probe_{os.getpid()}"
    path = tmp_path / f"{name}.py"
    path.write_text(SOURCE)
    spec = importlib.util.spec_from_file_location(name, path)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    try:
        yield module.SomeWorkflow, path
    finally:
        del sys.modules[name]


def _compiles(path: Path) -> bool:
    """Whether importing `path` now would compile its source rather than load bytecode."""
    loader = SourceFileLoader(path.stem, str(path))
    compiled = False
    original = loader.source_to_code

    def spy(*args: object, **kwargs: object) -> object:
        nonlocal compiled
        compiled = True
        return original(*args, **kwargs)  # type: ignore[arg-type]

    loader.source_to_code = spy  # type: ignore[method-assign]
    loader.get_code(path.stem)
    return compiled


def test_the_sandbox_loads_bytecode_instead_of_compiling(workflow_module: tuple[type, Path]) -> None:
    workflow_class, path = workflow_module
    assert _compiles(path) and _compiles(path), "without bytecode every import compiles"
    written = write_workflow_bytecode([workflow_class])
    assert written == [Path(importlib.util.cache_from_source(str(path)))]
    assert not _compiles(path)
    assert write_workflow_bytecode([workflow_class]) == [], "fresh bytecode is left alone"


def test_an_edited_module_gets_its_bytecode_again(workflow_module: tuple[type, Path]) -> None:
    workflow_class, path = workflow_module
    write_workflow_bytecode([workflow_class])
    later = path.stat().st_mtime + 10
    path.write_text(SOURCE + "\n# edited\n")
    os.utime(path, (later, later))
    assert _compiles(path)
    assert write_workflow_bytecode([workflow_class]) != []
    assert not _compiles(path)


def test_where_bytecode_cannot_be_written_the_worker_still_starts(workflow_module: tuple[type, Path]) -> None:
    workflow_class, path = workflow_module
    (path.parent / "__pycache__").write_text("a file where the cache directory would go")
    assert write_workflow_bytecode([workflow_class]) == []
    assert _compiles(path)
