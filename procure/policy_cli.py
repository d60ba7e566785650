"""`procure policy …`: validate the approval policy and explain the route it gives a request,
without starting anything."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Annotated, Any

import typer

from catalog.settings import get_settings

policy_app = typer.Typer(help="The approval policy (policy.yaml): check and explain.", no_args_is_help=True)


def _policy_path(file: Path | None) -> Path:
    from catalog.rules.policy import default_policy_path

    return file or get_settings().policy_file or default_policy_path()


def _fail(message: str, code: int = 2) -> typer.Exit:
    typer.echo(message, err=True)
    return typer.Exit(code)


@policy_app.command("check")
def policy_check(
    file: Annotated[
        Path | None, typer.Argument(dir_okay=False, help="Policy YAML (default: POLICY_FILE or the shipped one).")
    ] = None,
) -> None:
    """Validate a policy: every problem with its line number (exit 1 if any)."""
    from catalog.rules.policy import check_policy, load_policy

    path = _policy_path(file)
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as error:
        raise _fail(f"cannot read {path}: {error}") from None
    problems = check_policy(text)
    if problems:
        for problem in problems:
            typer.echo(f"{path}:{problem}", err=True)
        plural = "s" if len(problems) != 1 else ""
        raise _fail(f"{path}: {len(problems)} problem{plural}", 1)
    policy = load_policy(text)
    roles = ", ".join(f"{s.role} (stage {s.stage})" for s in policy.steps)
    typer.echo(f"{path}: version {policy.version}, no problems; steps: {roles}")


# --- explain -----------------------------------------------------------------------------


def _print_text(result: dict[str, Any]) -> None:
    from catalog.money import format_money

    request = result["request"]
    typer.echo(f"outcome: {result['outcome']}  (policy version {result['policy_version']})")
    typer.echo(
        f"request: {request['product']} × {request['seats']}, "
        f"{format_money(request['annual_cost_cents'], request['currency'])} a year, "
        f"{request['channel']}, data {request['data_classification']}"
    )
    if result.get("notice"):
        typer.echo(f"notice: {result['notice']}")
    expansion = (result.get("contract") or {}).get("expansion")
    if expansion:
        money = expansion["currency"]
        typer.echo(
            f"contract: joins asset #{expansion['asset_id']} ({expansion['seats_before']} → "
            f"{expansion['seats_after']} seats, renews {expansion['renewal_date']}): "
            f"{format_money(expansion['prorated_cents'], money)} prorated for {expansion['days_left']} of "
            f"{expansion['term_days']} days; the budget line holds that amount"
        )
    elif (result.get("contract") or {}).get("chosen"):
        typer.echo(f"contract: its own ({result['contract']['reason']})")
    if result.get("requester"):
        who = result["requester"]
        typer.echo(f"requester: {who['name']} <{who['email']}>, cost center {result['cost_center']}")
    budget = result.get("budget")
    if budget:
        typer.echo(
            f"budget: {budget['text']} (annual {format_money(budget['annual_cents'], budget['currency'])}, "
            f"committed {format_money(budget['committed_cents'], budget['currency'])}, "
            f"actual {format_money(budget['actual_cents'], budget['currency'])})"
        )
    if result.get("drawdown"):
        typer.echo(f"drawdown: {result['drawdown']['reason']}")
    if result["steps"]:
        typer.echo("route:")
    for step in result["steps"]:
        approver = step["approver"]
        line = f"  stage {step['stage']}  {step['role']:<9} {approver['name']} <{approver['email']}>"
        if step.get("delegate"):
            line += f"  (delegate: {step['delegate']['name']})"
        typer.echo(line)
        if step.get("assigned_because"):
            typer.echo(f"           because: {step['assigned_because']}")
        for reason in step["reasons"]:
            typer.echo(f"           - {reason}")
    for problem in result.get("problems", []):
        typer.echo(f"problem: {problem}")
    typer.echo("reasons:")
    for reason in result["reasons"]:
        typer.echo(f"  - {reason}")


@policy_app.command("explain")
def policy_explain(
    as_json: Annotated[bool, typer.Option("--json", help="Print the decision as JSON.")] = False,
    policy_file: Annotated[
        Path | None, typer.Option("--policy", dir_okay=False, help="Policy YAML (default: the one in force).")
    ] = None,
    on: Annotated[str | None, typer.Option("--on", help="Decide as of this day (YYYY-MM-DD; default today).")] = None,
) -> None:
    """Read a request as JSON on stdin and print the decision (auto_approve / route / reject),
    the approvers in order with the reasons, the budget line and any commitment drawdown.
    Starts nothing and writes nothing.

    request.json: {"requester": EMAIL, "product": ID or name, "seats": N, "annual_cost": "1200"
    (or "estimate"; a catalog product costs its catalog price, or the quote when that is
    higher; `notice` says which was used), "currency", "channel", "data_classification",
    "cost_center" (default: the requester's), "vendor" (for products not in the catalog),
    "separate_contract" (true: more seats of a product we own get a contract of their own)}."""
    from catalog.rules.policy import PolicyError, load_policy
    from procure.directory_cli import read_db
    from workflows.request.explain import ExplainInputError, explain_request

    path = _policy_path(policy_file)
    try:
        policy = load_policy(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError) as error:
        raise _fail(f"cannot read {path}: {error}") from None
    except PolicyError as error:
        raise _fail(f"{path} has problems; run `procure policy check`:\n{error}", 1) from None
    try:
        raw = json.loads(typer.get_text_stream("stdin").read())
    except json.JSONDecodeError as error:
        raise _fail(f"request.json is not valid JSON: {error}") from None
    if not isinstance(raw, dict):
        raise _fail("request.json must be a JSON object")
    try:
        day = date.fromisoformat(on) if on else datetime.now(UTC).date()
    except ValueError:
        raise _fail(f"--on {on!r} is not a date (YYYY-MM-DD)") from None
    try:
        result = read_db(
            lambda session: explain_request(
                session,
                policy=policy,
                raw=raw,
                on=day,
                fiscal_year_start_month=get_settings().fiscal_year_start_month,
            )
        )
    except ExplainInputError as error:
        raise _fail(str(error)) from None
    if as_json:
        typer.echo(json.dumps(result, indent=2, ensure_ascii=False))
    else:
        _print_text(result)
