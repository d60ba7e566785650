"""`procure web …`: the ITAM and finance web console (web/), and its API tokens."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated

import typer

from catalog.settings import get_settings
from procure.assets_cli import _default_actor, _engine, _fail

web_app = typer.Typer(help="The web console: serve it, and manage its API tokens.")
token_app = typer.Typer(help="API tokens (Authorization: Bearer …) and calendar-feed tokens.", no_args_is_help=True)
web_app.add_typer(token_app, name="token")


@web_app.callback(invoke_without_command=True)
def web_main(ctx: typer.Context) -> None:
    """Serve the console (plain `procure web`, or `procure web serve`)."""
    if ctx.invoked_subcommand is None:
        serve()


@web_app.command("serve")
def serve() -> None:
    """Serve the console on WEB_HOST:WEB_PORT (default 127.0.0.1:3002), never the bot's port."""
    from procure.cli import _logging
    from web.app import run_console

    settings = get_settings()
    if settings.web_port == settings.bot_port:
        raise _fail(f"WEB_PORT {settings.web_port} is the bot's BOT_PORT: the console never listens on Slack's port")
    _logging()
    run_console(settings)


@token_app.command("create")
def token_create(
    email: Annotated[str, typer.Option("--email", help="The person (in the directory) the token acts as.")],
    expires: Annotated[str, typer.Option("--expires", help="Lifetime: 90d, 12h, 2w or never.")] = "90d",
    purpose: Annotated[str, typer.Option("--purpose", help="api (Bearer) or calendar (the .ics feed URL).")] = "api",
    label: Annotated[str | None, typer.Option("--label", help="What the token is for, for the list.")] = None,
    actor: Annotated[str | None, typer.Option("--actor", help="Who to record in the audit log.")] = None,
) -> None:
    """Create a token; it is printed once and only its SHA-256 is stored."""
    from catalog.db import transaction
    from catalog.repository import api_tokens

    try:
        lifetime = api_tokens.parse_expiry(expires)
        with transaction(_engine()) as session:
            issued = api_tokens.create(
                session,
                email=email,
                actor=(actor or _default_actor())[:320],
                now=datetime.now(UTC),
                expires_in=lifetime,
                purpose=purpose,
                label=label,
            )
    except api_tokens.TokenError as error:
        raise _fail(str(error)) from None
    until = f"until {issued.expires_at:%Y-%m-%d %H:%M} UTC" if issued.expires_at else "with no expiry"
    typer.echo(f"token {issued.id} for {issued.email}, {purpose}, {until} (shown once; keep it secret):", err=True)
    typer.echo(issued.token)


@token_app.command("revoke")
def token_revoke(
    token_id: Annotated[int, typer.Argument(help="The token's id (from create or list).")],
    actor: Annotated[str | None, typer.Option("--actor", help="Who to record in the audit log.")] = None,
) -> None:
    """Revoke a token: it stops working at once. Revoking twice changes nothing."""
    from catalog.db import transaction
    from catalog.repository import api_tokens

    try:
        with transaction(_engine()) as session:
            changed = api_tokens.revoke(
                session, token_id=token_id, actor=(actor or _default_actor())[:320], now=datetime.now(UTC)
            )
    except api_tokens.TokenError as error:
        raise _fail(str(error)) from None
    typer.echo(f"token {token_id} {'revoked' if changed else 'was already revoked'}")


@token_app.command("list")
def token_list(email: Annotated[str | None, typer.Option("--email")] = None) -> None:
    """Tokens (never their value): id, person, purpose, created, expiry, revoked."""
    from catalog.db import transaction
    from catalog.repository import api_tokens

    with transaction(_engine(), read_only=True) as session:
        for row in api_tokens.list_tokens(session, email=email):
            expires = f"{row.expires_at:%Y-%m-%d}" if row.expires_at else "never"
            revoked = f"revoked {row.revoked_at:%Y-%m-%d}" if row.revoked_at else "live"
            typer.echo(f"{row.id}\t{row.email}\t{row.purpose}\t{row.created_at:%Y-%m-%d}\texpires {expires}\t{revoked}")
