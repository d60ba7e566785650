"""Everything the bot reads out of a Slack payload, in one place: button values (and the
builders that write them, so both sides sit together), a view's `private_metadata`, and a
submitted view's `state.values`, read into typed forms.

Payloads come from the client: every reader is defensive. A value of the wrong JSON type, a
tampered metadata string or an unknown option reads as empty or as an error for its block,
never as an exception. The workflow's validators check again whatever matters.

Over 400 lines because it is the one place payloads are parsed (docs/decisions.md, "Where
code goes in bot/"): view state, button values, metadata, and the request, edit, renew and
snooze forms, in that order."""

from __future__ import annotations

import json
import uuid
from collections.abc import Collection, Mapping
from dataclasses import asdict, dataclass
from datetime import date
from typing import Any

from bot import ids
from catalog.money import format_money_symbol
from catalog.ports import RenewalCard
from catalog.rules.policy import CLASSIFICATIONS
from catalog.rules.requests import (
    CHANNELS,
    PRICED_FROM_CATALOG,
    CatalogPrice,
    RequestInputError,
    parse_money,
    parse_seats,
    quote,
)

#: What a request form's fields may hold (the blocks show these limits and defaults).
DEFAULT_CLASSIFICATION = "internal"
COST_CENTER_LIMIT = 64
MAX_LISTED_COST_CENTERS = 8
#: The days a renewal may be snoozed for (the Snooze modal's options).
SNOOZE_CHOICES = (3, 7, 14, 30)


# --- view state ----------------------------------------------------------------------------


def element_state(values: Any, block_id: str, action_id: str) -> dict[str, Any]:
    block = values.get(block_id) if isinstance(values, dict) else None
    value = block.get(action_id) if isinstance(block, dict) else None
    return value if isinstance(value, dict) else {}


def text_value(values: Any, block_id: str, action_id: str, key: str = "value") -> str:
    """A string field of an element's state (`value`, `selected_date`, …), stripped; else ""."""
    value = element_state(values, block_id, action_id).get(key)
    return value.strip() if isinstance(value, str) else ""


def selected_value(values: Any, block_id: str, action_id: str) -> str | None:
    """The `value` of a select's `selected_option`, or None."""
    option = element_state(values, block_id, action_id).get("selected_option")
    value = option.get("value") if isinstance(option, dict) else None
    return value if isinstance(value, str) and value else None


def selected_user(values: Any, block_id: str, action_id: str) -> str:
    """The Slack id a `users_select` holds ("" when none, or when it is not an id)."""
    chosen = element_state(values, block_id, action_id).get("selected_user")
    return chosen if isinstance(chosen, str) and chosen.isalnum() and len(chosen) <= 32 else ""


# --- where an interaction came from --------------------------------------------------------


def action_value(body: dict[str, Any]) -> str:
    """The value of the button clicked ("" when it has none)."""
    return str(body["actions"][0].get("value") or "")


def channel_id_of(body: dict[str, Any]) -> str | None:
    channel = body.get("channel")
    return channel.get("id") if isinstance(channel, dict) else None


def click_key(body: dict[str, Any]) -> str:
    """A key for one click (Slack's `action_ts`), for audit rows written once."""
    action_ts = body["actions"][0].get("action_ts")
    return f"click:{action_ts}" if isinstance(action_ts, str) and action_ts else f"click:{uuid.uuid4().hex}"


def view_key(view: dict[str, Any]) -> str:
    """A key for one submission of a view, for audit rows written once."""
    return f"view:{view.get('id')}:{view.get('hash')}"


def from_home(body: dict[str, Any]) -> bool:
    """Whether the click came from the App Home (its answer then goes there, not to a DM)."""
    view = body.get("view")
    return isinstance(view, dict) and view.get("type") == "home"


# --- button values -------------------------------------------------------------------------


@dataclass(frozen=True)
class Prefill:
    """What the request modal opens with; the value of Open request and "Did you mean" buttons."""

    product_id: str | None = None
    other_product: str | None = None
    seats: int = 1
    channel: str = "direct"
    justification: str | None = None

    def to_value(self) -> str:
        return json.dumps({k: v for k, v in asdict(self).items() if v is not None}, separators=(",", ":"))[:2000]

    @classmethod
    def from_value(cls, value: str) -> Prefill:
        try:
            raw = json.loads(value)
        except ValueError:
            return cls()
        if not isinstance(raw, dict):
            return cls()
        seats = raw.get("seats")
        return cls(
            product_id=str(raw["product_id"]) if raw.get("product_id") else None,
            other_product=str(raw["other_product"])[:200] if raw.get("other_product") else None,
            seats=seats if isinstance(seats, int) and 1 <= seats <= 100_000 else 1,
            channel=str(raw["channel"]) if raw.get("channel") in CHANNELS else "direct",
            justification=str(raw["justification"])[:3000] if raw.get("justification") else None,
        )


def step_value(request_id: str, seq: int | None) -> str:
    """The value of a step's buttons: `<request id>|<seq>` (just the id when the step is unknown)."""
    return request_id[:32] if seq is None else f"{request_id[:32]}|{seq}"


def parse_step_value(value: Any) -> tuple[str, int | None]:
    """(request id, seq) from a button value; the value comes from the client, so anything odd
    reads as "no seq" (the workflow then decides which open step the person may act on)."""
    text = value if isinstance(value, str) else ""
    request_id, sep, seq_text = text.partition("|")
    seq: int | None = None
    if sep and seq_text.isascii() and seq_text.isdigit() and len(seq_text) <= 6:
        seq = int(seq_text)
    return request_id[:32], seq


def choice_value(request_id: str, product_id: str | None = None, seats: int = 1) -> str:
    """The value of a reuse-first button: the request, and the alternative it picks."""
    value: dict[str, Any] = {"r": request_id[:32]}
    if product_id:
        value.update(p=product_id, s=seats)
    return json.dumps(value, separators=(",", ":"))


def parse_choice_value(value: str) -> tuple[str, str | None, int]:
    """(request id, product id, seats) from a reuse button's value; empty when it is not ours."""
    try:
        raw = json.loads(value)
    except ValueError:
        return "", None, 1
    if not isinstance(raw, dict):
        return "", None, 1
    product = raw.get("p")
    seats = raw.get("s")
    return (
        str(raw.get("r") or "")[:32],
        str(product)[:64] if product else None,
        seats if isinstance(seats, int) and 1 <= seats <= 100_000 else 1,
    )


@dataclass(frozen=True)
class RenewalRef:
    """Which term a button or modal is about; carried in the button value / private metadata."""

    contract_id: int
    renewal_date: str
    deadline: str

    def to_value(self) -> str:
        return json.dumps({"c": self.contract_id, "r": self.renewal_date, "d": self.deadline}, separators=(",", ":"))

    @classmethod
    def from_value(cls, value: str) -> RenewalRef | None:
        """None for anything that is not a well-formed reference (a forged or stale payload)."""
        try:
            data = json.loads(value)
            ref = cls(int(data["c"]), str(data["r"]), str(data["d"]))
            date.fromisoformat(ref.renewal_date)
            date.fromisoformat(ref.deadline)
        except (ValueError, TypeError, KeyError):
            return None
        return ref

    @classmethod
    def of(cls, card: RenewalCard) -> RenewalRef:
        return cls(card.contract_id, card.renewal_date.isoformat(), card.deadline.isoformat())


# --- view private_metadata -----------------------------------------------------------------


def view_metadata(view: dict[str, Any]) -> dict[str, Any]:
    """The JSON object a modal carries in `private_metadata` ({} when it is anything else)."""
    try:
        data = json.loads(view.get("private_metadata") or "{}")
    except ValueError:
        return {}
    return data if isinstance(data, dict) else {}


def metadata_request_id(metadata: dict[str, Any]) -> str:
    return str(metadata.get("request_id") or "")[:32]


def metadata_seq(metadata: dict[str, Any]) -> int | None:
    seq = metadata.get("seq")
    return seq if isinstance(seq, int) and not isinstance(seq, bool) and 0 <= seq < 1_000_000 else None


def metadata_text(metadata: dict[str, Any], key: str, limit: int = 64) -> str | None:
    value = metadata.get(key)
    return value[:limit] if isinstance(value, str) and value else None


def renewal_metadata(view: dict[str, Any]) -> tuple[RenewalRef | None, str | None]:
    """(the term, the channel clicked in) a renewal modal carries."""
    data = view_metadata(view)
    channel = data.get("channel_id")
    return RenewalRef.from_value(str(data.get("ref") or "")), channel if isinstance(channel, str) else None


# --- forms: the fields the request modal and the edit modal share ---------------------------
# Each field reader returns a value or records a message for its block in `errors` (shown
# with `response_action: errors`); a form's parser raises FormErrors naming every bad field.


class FormErrors(Exception):
    """Messages by block id, for `ack(response_action="errors", errors=...)`."""

    def __init__(self, errors: dict[str, str]) -> None:
        super().__init__(errors)
        self.errors = errors


def cost_center_value(values: Any, errors: dict[str, str], known: Collection[str] | None) -> str | None:
    """The typed cost center (None: blank, the requester's own from the directory applies).

    Checked against the known ones when the bot knows them; the workflow checks again."""
    typed = text_value(values, ids.B_COST_CENTER, ids.A_COST_CENTER)
    if not typed:
        return None
    if len(typed) > COST_CENTER_LIMIT:
        errors[ids.B_COST_CENTER] = f"A cost center has at most {COST_CENTER_LIMIT} characters."
        return None
    if known:
        by_key = {k.casefold(): k for k in known}
        if typed.casefold() not in by_key:
            listed = sorted(known)[:MAX_LISTED_COST_CENTERS]
            more = ", …" if len(known) > len(listed) else ""
            errors[ids.B_COST_CENTER] = f"Unknown cost center {typed}. Known: {', '.join(listed)}{more}."[:150]
            return None
        return by_key[typed.casefold()]
    return typed


def classification_value(values: Any, errors: dict[str, str]) -> str:
    chosen = selected_value(values, ids.B_CLASSIFICATION, ids.A_CLASSIFICATION)
    if chosen is None:
        return DEFAULT_CLASSIFICATION
    if chosen not in CLASSIFICATIONS:
        errors[ids.B_CLASSIFICATION] = "Pick how sensitive the data is."
        return DEFAULT_CLASSIFICATION
    return chosen


def seats_value(values: Any, errors: dict[str, str]) -> int:
    try:
        return parse_seats(text_value(values, ids.B_SEATS, ids.A_SEATS))
    except RequestInputError as exc:
        errors[ids.B_SEATS] = exc.message
        return 1


def estimate_value(values: Any, errors: dict[str, str], *, required: bool) -> int | None:
    typed = text_value(values, ids.B_ESTIMATE, ids.A_ESTIMATE)
    if not typed:
        if required:
            errors[ids.B_ESTIMATE] = "This product isn't in the catalog, so give an estimated annual cost."
        return None
    try:
        return parse_money(typed)
    except RequestInputError as exc:
        errors[ids.B_ESTIMATE] = exc.message
        return None


def check_estimate(
    errors: dict[str, str], *, price: CatalogPrice | None, seats: int, estimate_cents: int | None
) -> None:
    """An estimate below a catalog price would not be used (price precedence): say which price
    is used and why, on the estimate, before anything is submitted."""
    if price is None or estimate_cents is None or ids.B_ESTIMATE in errors or ids.B_SEATS in errors:
        return
    try:
        priced = quote(price=price, seats=seats, estimate_cents=estimate_cents)
    except RequestInputError:
        return  # the seats are implausible for this price: the workflow says so
    notice = priced.notice(format_money_symbol)
    if priced.basis == PRICED_FROM_CATALOG and notice:
        errors[ids.B_ESTIMATE] = f"{notice} Leave it empty, or ask ITAM to update the catalog if you were quoted less."


def separate_contract_value(values: Any) -> bool:
    """Whether "Buy on a separate contract" is ticked."""
    chosen = element_state(values, ids.B_SEPARATE_CONTRACT, ids.A_SEPARATE_CONTRACT).get("selected_options")
    return isinstance(chosen, list) and any(
        isinstance(option, dict) and option.get("value") == ids.SEPARATE_CONTRACT_VALUE for option in chosen
    )


def channel_value(values: Any, errors: dict[str, str]) -> str:
    channel = selected_value(values, ids.B_CHANNEL, ids.A_CHANNEL) or "direct"
    if channel not in CHANNELS:
        errors[ids.B_CHANNEL] = "Pick how we will buy it."
        return "direct"
    return channel


def justification_value(values: Any, errors: dict[str, str]) -> str:
    justification = text_value(values, ids.B_JUSTIFICATION, ids.A_JUSTIFICATION)
    if len(justification) < 3:
        errors[ids.B_JUSTIFICATION] = "Say in a few words what it is for."
    return justification[:3000]


def needed_by_value(values: Any, errors: dict[str, str], *, today: date) -> date | None:
    needed_text = text_value(values, ids.B_NEEDED_BY, ids.A_NEEDED_BY, "selected_date")
    if not needed_text:
        return None
    try:
        needed_by = date.fromisoformat(str(needed_text))
    except ValueError:
        errors[ids.B_NEEDED_BY] = "That is not a date."
        return None
    if needed_by < today:
        errors[ids.B_NEEDED_BY] = "That date is in the past."
    return needed_by


# --- the request modal ---------------------------------------------------------------------


@dataclass(frozen=True)
class RequestForm:
    product_id: str | None
    product_name: str
    seats: int
    estimate_cents: int | None
    channel: str
    justification: str
    needed_by: date | None
    cost_center: str | None = None  # None: the requester's own, from the directory
    data_classification: str = DEFAULT_CLASSIFICATION
    separate_contract: bool = False


def _product_value(values: Any, errors: dict[str, str], product_names: dict[str, str]) -> tuple[str | None, str]:
    """(catalog product id or None, product name): picked from the list, or typed."""
    selected = selected_value(values, ids.B_PRODUCT, ids.A_PRODUCT)
    other = text_value(values, ids.B_OTHER_PRODUCT, ids.A_OTHER_PRODUCT)
    if selected and selected != ids.OTHER_PRODUCT_VALUE:
        if selected in product_names:
            return selected, product_names[selected]
        errors[ids.B_PRODUCT] = "That product is no longer in the catalog; pick another."
    elif other:
        return None, other[:200]
    else:
        errors[ids.B_OTHER_PRODUCT if selected else ids.B_PRODUCT] = "Pick a product, or type the name of one."
    return None, ""


def parse_request_form(
    values: dict[str, Any],
    product_names: dict[str, str],
    *,
    today: date,
    known_cost_centers: Collection[str] | None = None,
    prices: Mapping[str, CatalogPrice] | None = None,
) -> RequestForm:
    """Read the request modal's state. Raises FormErrors naming each bad field.
    `prices`: the catalog's, by product id; an estimate below one is refused, saying why."""
    errors: dict[str, str] = {}
    product_id, product_name = _product_value(values, errors, product_names)
    seats = seats_value(values, errors)
    estimate = estimate_value(values, errors, required=product_id is None and bool(product_name))
    price = (prices or {}).get(product_id) if product_id else None
    check_estimate(errors, price=price, seats=seats, estimate_cents=estimate)
    channel = channel_value(values, errors)
    justification = justification_value(values, errors)
    cost_center = cost_center_value(values, errors, known_cost_centers)
    classification = classification_value(values, errors)
    needed_by = needed_by_value(values, errors, today=today)
    if errors:
        raise FormErrors(errors)
    return RequestForm(
        product_id,
        product_name,
        seats,
        estimate,
        channel,
        justification,
        needed_by,
        cost_center,
        classification,
        separate_contract_value(values),
    )


# --- the edit modal (after "request changes") ----------------------------------------------


@dataclass(frozen=True)
class EditForm:
    seats: int
    estimate_cents: int | None
    channel: str
    justification: str
    cost_center: str | None
    data_classification: str


def parse_edit_form(values: Any, *, in_catalog: bool, known_cost_centers: Collection[str] | None) -> EditForm:
    """Read the edit modal's state. Raises FormErrors naming each bad field."""
    errors: dict[str, str] = {}
    form = EditForm(
        seats=seats_value(values, errors),
        estimate_cents=None if in_catalog else estimate_value(values, errors, required=True),
        channel=channel_value(values, errors),
        justification=justification_value(values, errors),
        cost_center=cost_center_value(values, errors, known_cost_centers),
        data_classification=classification_value(values, errors),
    )
    if errors:
        raise FormErrors(errors)
    return form


# --- the renewal modals --------------------------------------------------------------------


@dataclass(frozen=True)
class RenewForm:
    """The Renew modal: the new term's seats and unit price (None: as the current term)."""

    seats: int | None
    unit_price_cents: int | None


def parse_renew_form(values: Any) -> RenewForm:
    """Read the Renew modal's state. Raises FormErrors naming each bad field."""
    errors: dict[str, str] = {}
    seats: int | None = None
    price: int | None = None
    raw_seats = text_value(values, ids.B_RENEW_SEATS, ids.A_RENEW_SEATS)
    if raw_seats:
        try:
            seats = parse_seats(raw_seats)
        except RequestInputError as exc:
            errors[ids.B_RENEW_SEATS] = exc.message
    raw_price = text_value(values, ids.B_RENEW_PRICE, ids.A_RENEW_PRICE)
    if raw_price:
        try:
            price = parse_money(raw_price, field="price")
        except RequestInputError as exc:
            errors[ids.B_RENEW_PRICE] = exc.message
    if errors:
        raise FormErrors(errors)
    return RenewForm(seats, price)


def snooze_days(values: Any) -> int | None:
    """The days chosen in the Snooze modal (None: not one of SNOOZE_CHOICES)."""
    chosen = selected_value(values, ids.B_SNOOZE_DAYS, ids.A_SNOOZE_DAYS)
    days = int(chosen) if isinstance(chosen, str) and chosen.isdecimal() else 0
    return days if days in SNOOZE_CHOICES else None
