"""The shipped sample exports (card, FOCUS, SSO) imported and discovered through the CLI, as
a user runs them; DATABASE_URL must already name the test's database."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from typer.testing import CliRunner

from procure.budget_cli import spend_app
from procure.discover_cli import discover_app
from procure.usage_cli import usage_app

SAMPLES = Path(__file__).resolve().parents[1] / "catalog" / "data" / "samples"
AS_OF = "2026-12-04"


def cli(app: Any, *args: str) -> str:
    result = CliRunner().invoke(app, list(args))
    assert result.exit_code == 0, result.output
    return result.output


def import_samples() -> None:
    for app, file, fmt in (
        (spend_app, "card.csv", "card"),
        (spend_app, "focus.csv", "focus"),
        (usage_app, "sso.csv", "sso"),
    ):
        cli(app, "import", str(SAMPLES / file), "--format", fmt)


def discover(*more: str) -> str:
    """`procure discover run` on AS_OF; it posts nothing to Slack unless `--notify` is given."""
    flags = more if "--notify" in more else ("--no-notify", *more)
    return cli(discover_app, "run", "--as-of", AS_OF, *flags)
