"""The bot is installed in one workspace with its bot token, whatever else the environment holds."""

from __future__ import annotations

import os

import pytest

from bot.app import SIGN_IN_VARIABLES, single_workspace_app
from bot.notifier import web_client


@pytest.mark.parametrize("value", ["", "1234.5678"])
def test_the_consoles_sign_in_credentials_never_turn_on_bolts_oauth_flow(
    monkeypatch: pytest.MonkeyPatch, value: str
) -> None:
    # `procure dev` blanks them (an empty variable hides a value in .env); production sets them
    # for the console's Sign in with Slack. Either way Bolt must not become an OAuth app, or it
    # answers no request of the workspace (the e2e tests' "request modal not reached").
    for name in SIGN_IN_VARIABLES:
        monkeypatch.setenv(name, value)
    app = single_workspace_app(client=web_client("xoxb-test", "http://127.0.0.1:9/api/"), signing_secret="secret")
    assert app.oauth_flow is None
    assert app.installation_store is None
    assert all(os.environ[name] == value for name in SIGN_IN_VARIABLES)  # given back
