"""Where code goes in bot/ (docs/decisions.md, "Where code goes in bot/"): listener modules
map ids to module-level handlers, never import each other, and a handler runs on its own."""

from __future__ import annotations

import ast
import json
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from bot import ids
from bot.app import LISTENERS
from bot.deps import deps_of
from bot.listeners import reuse
from bot.payloads import choice_value

LISTENER_DIR = Path(__file__).resolve().parents[2] / "bot" / "listeners"


class RecordingApp:
    """Stands in for AsyncApp: records what each `register(app)` maps."""

    def __init__(self) -> None:
        self.handlers: list[tuple[str, object, Callable[..., Any]]] = []

    def _recorder(self, kind: str, key: object) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
        def record(handler: Callable[..., Any]) -> Callable[..., Any]:
            self.handlers.append((kind, key, handler))
            return handler

        return record

    def action(self, key: object) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
        return self._recorder("action", key)

    def view(self, key: object) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
        return self._recorder("view", key)

    def command(self, key: object) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
        return self._recorder("command", key)

    def event(self, key: object) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
        return self._recorder("event", key)


@pytest.mark.parametrize("module", LISTENERS, ids=lambda m: m.__name__)
def test_register_maps_ids_to_module_level_handlers(module: Any) -> None:
    app = RecordingApp()
    module.register(app)
    assert app.handlers, f"{module.__name__} registers nothing"
    for kind, key, handler in app.handlers:
        where = f"{module.__name__}: {kind} {key!r}"
        assert handler.__qualname__ == handler.__name__, f"{where} is a closure ({handler.__qualname__})"
        assert getattr(module, handler.__name__, None) is handler, f"{where} is not a name of its module"


def test_every_id_is_listened_for_once() -> None:
    app = RecordingApp()
    for module in LISTENERS:
        module.register(app)
    keys = [key.pattern if isinstance(key, re.Pattern) else key for _, key, _ in app.handlers]
    assert len(keys) == len(set(keys)), "an id is mapped twice"
    listened = set(keys)
    for wanted in (ids.APPROVE, ids.DENY_MODAL, ids.RENEW, ids.SNOOZE_MODAL, ids.REUSE_BUY, ids.REQUEST_COMMAND):
        assert wanted in listened


def test_listener_modules_do_not_import_each_other() -> None:
    for path in LISTENER_DIR.glob("*.py"):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        imported = [node.module or "" for node in ast.walk(tree) if isinstance(node, ast.ImportFrom)]
        assert not [m for m in imported if m.startswith("bot.listeners")], f"{path.name} imports a listener module"


def test_deps_come_from_the_context() -> None:
    with pytest.raises(RuntimeError, match="no BotDeps"):
        deps_of({})


async def test_a_handler_runs_on_its_own() -> None:
    """Continue with a reason opens the justification modal for the request on the button."""
    acked: list[bool] = []
    opened: list[dict[str, Any]] = []

    async def ack() -> None:
        acked.append(True)

    class Client:
        async def views_open(self, *, trigger_id: str, view: dict[str, Any]) -> None:
            opened.append({"trigger_id": trigger_id, **view})

    body = {
        "actions": [{"action_id": ids.REUSE_CONTINUE, "value": choice_value("REQ-1")}],
        "trigger_id": "T1",
        "channel": {"id": "C1"},
        "user": {"id": "U1"},
    }
    await reuse.handle_continue(ack, body, Client())  # type: ignore[arg-type]
    assert acked == [True]
    (view,) = opened
    assert view["trigger_id"] == "T1" and view["callback_id"] == ids.JUSTIFY_MODAL
    assert json.loads(view["private_metadata"]) == {"request_id": "REQ-1", "channel_id": "C1"}
