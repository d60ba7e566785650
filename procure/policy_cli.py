"""`procure policy …`: validate the approval policy and explain the route it gives a request,
without starting anything."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Annotated, Any

import typer
from sqlalchemy import Engine
from sqlmodel import Session

from catalog.settings import get_settings

policy_app = typer.Typer(help="The approval policy (policy.yaml): check and explain.", no_args_is_help=True)

REQUEST_KEYS = frozenset(
    {
        "requester",
        "product",
        "vendor",
        "seats",
        "annual_cost",
        "estimate",
        "currency",
        "channel",
        "data_classification",
        "cost_center",
        "separate_contract",
    }
)


def _engine() -> Engine:
    from catalog.db import make_engine

    return make_engine(get_settings().effective_database_url)


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


def _find_product(session: Session, text: str) -> Any:
    from catalog import repository

    wanted = text.strip().casefold()
    found = repository.get_product(session, product_id=text.strip())
    if found is not None:
        return found
    for product in repository.list_products(session):
        if wanted in {product.id.casefold(), product.name.casefold(), *(a.casefold() for a in product.aliases)}:
            return product
    return None


def _route_request(
    session: Session, raw: dict[str, Any], on: date
) -> tuple[Any, str | None, str | None, dict[str, Any] | None]:
    """The RouteRequest for request.json, priced like the bot prices a request; why it could
    not be priced (None when it could: the policy may still reject it, e.g. blocked); which
    price was used and why, when an estimate was given for a catalog product; and the
    contract its seats would go on (added seats join a running one, prorated)."""
    from catalog import repository
    from catalog.models import ProductStatus
    from catalog.money import format_money
    from catalog.routing import RouteRequest
    from catalog.rules.requests import CatalogPrice, Quote, RequestInputError, parse_money, quote
    from workflows.request.activities.purchase_terms import contract_json, plan_contract

    unknown = sorted(set(raw) - REQUEST_KEYS)
    if unknown:
        raise _fail(f"request.json: unknown field(s) {', '.join(unknown)}; known: {', '.join(sorted(REQUEST_KEYS))}")
    requester = raw.get("requester")
    name = raw.get("product")
    if not isinstance(requester, str) or not requester.strip():
        raise _fail("request.json: `requester` (an email) is required")
    if not isinstance(name, str) or not name.strip():
        raise _fail("request.json: `product` (a catalog id or a name) is required")
    seats = raw.get("seats", 1)
    if isinstance(seats, bool) or not isinstance(seats, int):
        raise _fail(f"request.json: `seats` must be a whole number, not {seats!r}")
    product = _find_product(session, name)
    cost = raw.get("annual_cost", raw.get("estimate"))
    currency = str(raw.get("currency") or (product.currency if product else "USD")).upper()
    unpriced: str | None = None
    try:
        estimate = None if cost is None else parse_money(str(cost), field="annual_cost")
        # Priced as the bot prices a request: the catalog price when there is one, or a
        # higher quote (price precedence, docs/decisions.md).
        price = (
            CatalogPrice(product.price_cents, product.currency, per_seat=product.seats_total is not None)
            if product is not None
            else None
        )
        priced = quote(price=price, seats=seats, estimate_cents=estimate, currency=currency)
    except RequestInputError as error:
        unpriced = f"request.json: {error.field}: {error.message}"
        priced = Quote(0, 0, currency)
    channel = str(raw.get("channel") or "direct")
    cost_center = str(raw["cost_center"]) if raw.get("cost_center") else None
    person = repository.get_person(session, email=requester.strip().lower())
    contract = None
    if unpriced is None and product is not None and product.status != ProductStatus.BLOCKED:
        contract = plan_contract(
            session,
            product=product,
            seats=seats,
            annual_cents=priced.annual_cost_cents,
            channel=channel,
            currency=priced.currency,
            cost_center=cost_center or (person.cost_center if person else None) or "",
            requester_cost_center=person.cost_center if person else None,
            separate=raw.get("separate_contract") is True,
            as_of=on,
        )
    request = RouteRequest(
        requester_email=requester.strip().lower(),
        product_id=product.id if product else None,
        product_name=product.name if product else name.strip(),
        vendor=product.vendor if product else (str(raw["vendor"]) if raw.get("vendor") else None),
        seats=seats,
        annual_cost_cents=priced.annual_cost_cents,
        currency=priced.currency,
        channel=channel,
        data_classification=str(raw.get("data_classification") or "internal"),
        cost_center=cost_center,
        reserve_cents=contract.expansion.proration.cents if contract and contract.expansion else None,
    )
    notice = None if unpriced else priced.notice(format_money)
    return request, unpriced, notice, contract_json(contract) if contract else None


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
    from catalog.db import transaction
    from catalog.routing import RouteRejected, preview_as_json, preview_route
    from catalog.rules.policy import PolicyError, load_policy

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
    engine = _engine()
    try:
        with transaction(engine, read_only=True) as session:
            request, unpriced, notice, contract = _route_request(session, raw, day)
            try:
                preview = preview_route(
                    session,
                    policy=policy,
                    request=request,
                    on=day,
                    fiscal_year_start_month=get_settings().fiscal_year_start_month,
                )
                result = preview_as_json(preview)
            except RouteRejected as rejected:
                if unpriced is not None:  # the request itself is incomplete, not refused
                    raise _fail(unpriced) from None
                result = {
                    "outcome": "reject",
                    "policy_version": policy.version,
                    "roles": [],
                    "steps": [],
                    "problems": [],
                    "reasons": [rejected.reason],
                    "budget": None,
                    "drawdown": None,
                }
    finally:
        engine.dispose()
    result["request"] = {
        "product": request.product_name,
        "product_id": request.product_id,
        "seats": request.seats,
        "annual_cost_cents": request.annual_cost_cents,
        "currency": request.currency,
        "channel": request.channel,
        "data_classification": request.data_classification,
    }
    result["notice"] = notice
    result["contract"] = contract
    if as_json:
        typer.echo(json.dumps(result, indent=2, ensure_ascii=False))
    else:
        _print_text(result)
