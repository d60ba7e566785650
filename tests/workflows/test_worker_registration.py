"""Every activity defined in `workflows/` is registered, from the one list in
`workflows.worker.activity_methods` (issue 20). A method marked `@activity.defn` but left off
that list would otherwise fail only when a workflow first schedules it, at run time."""

from __future__ import annotations

import importlib
import inspect
import pkgutil
from collections.abc import Callable, Iterator
from typing import Any, cast

from sqlalchemy import Engine
from temporalio import activity

import workflows
from catalog.ports import Notifier
from workflows.discovery import DiscoveryActivities
from workflows.renewals.activities import RenewalActivities
from workflows.request.activities.procurement import ProcurementActivities
from workflows.worker import activity_methods


def _is_activity(candidate: object) -> bool:
    return callable(candidate) and activity._Definition.from_callable(candidate) is not None


def _defined_activities() -> Iterator[tuple[str, Callable[..., Any]]]:
    """Every `@activity.defn` function or method written in a module of the `workflows`
    package, named `module.Class.method` (or `module.function`); each counted once, in the
    class that defines it, not in the subclasses that inherit it."""
    for info in pkgutil.walk_packages(workflows.__path__, prefix=f"{workflows.__name__}."):
        module = importlib.import_module(info.name)
        for name, member in vars(module).items():
            if inspect.isfunction(member) and member.__module__ == module.__name__ and _is_activity(member):
                yield f"{module.__name__}.{name}", member
            if inspect.isclass(member) and member.__module__ == module.__name__:
                for attr, value in vars(member).items():
                    if _is_activity(value):
                        yield f"{module.__name__}.{member.__qualname__}.{attr}", value


def _registered() -> list[Callable[..., Any]]:
    """The worker's list with both activity classes, built without a database or Slack: the
    list only reads the bound methods (the request's concerns only keep what they are given)."""
    procurement = ProcurementActivities(cast(Engine, None), cast(Notifier, None))
    renewals = RenewalActivities.__new__(RenewalActivities)
    discovery = DiscoveryActivities.__new__(DiscoveryActivities)
    return activity_methods(procurement, renewals, discovery)


def _unregistered(registered: list[Callable[..., Any]]) -> list[str]:
    functions = {getattr(method, "__func__", method) for method in registered}
    return sorted(name for name, function in _defined_activities() if function not in functions)


def test_the_scan_finds_the_activities_of_every_class() -> None:
    names = {name.rsplit(".", 1)[-1] for name, _ in _defined_activities()}
    # one of each activity class, so that a scan that finds nothing cannot pass
    assert {"check_request", "plan_route", "open_chain_stage", "nudge_step", "close_chain", "assess_reuse"} <= names
    assert "claim_due_reminders" in names
    assert "discover" in names


def test_every_activity_defined_in_workflows_is_registered() -> None:
    assert _unregistered(_registered()) == []


def test_an_activity_left_off_the_list_is_reported() -> None:
    registered = [m for m in _registered() if getattr(m, "__name__", "") != "grant_pool_seat"]
    assert _unregistered(registered) == ["workflows.request.activities.reuse.ReuseActivities.grant_pool_seat"]


def test_the_list_holds_only_activities_each_once() -> None:
    registered = _registered()
    assert all(_is_activity(method) for method in registered)
    names = [activity._Definition.must_from_callable(method).name for method in registered]
    assert len(names) == len(set(names))
