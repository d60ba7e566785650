"""What the listeners need (`BotDeps`), built once by the entry point. `bot.app.build_app`
puts it in every request's Bolt context; a handler reads it with `deps_of(context)`, so a
handler is a plain module-level function that a test can call with a context of its own.

`Requester` is the bot's one person type: the directory entry (`catalog.models.Person`) as
a listener needs it, a frozen value that outlives the database session it was read in, and
that can also be built from what Slack knows (users.info) while the database is away
(`requester_or_queued`). The workflow layer carries people as plain fields of its inputs
(`RequestInput.requester_email`, …), never as a type of its own (docs/decisions.md, "Where
code goes in bot/")."""

from __future__ import annotations

import asyncio
import logging
import time
from collections import OrderedDict
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo

from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient
from sqlalchemy import Engine
from sqlalchemy.exc import DBAPIError

from bot.blocks.request import ProductChoice
from catalog import repository
from catalog.db import transaction
from catalog.models import Person
from catalog.rules.matching import CatalogProduct, Matcher
from catalog.rules.matching_data import load_matching_data
from catalog.rules.requests import CatalogPrice
from catalog.settings import Settings
from catalog.text import escape_mrkdwn
from workflows.renewals.client import RenewalClient
from workflows.request.client import ProcurementClient
from workflows.seat_release.client import SeatReleaseClient

log = logging.getLogger(__name__)

#: How long the bot reuses the catalog (product list and matcher) before reading it again.
CATALOG_CACHE_S = 60.0


#: The key of the `BotDeps` in a Bolt request's context.
CONTEXT_KEY = "deps"


@dataclass(frozen=True)
class Requester:
    """A person as the bot knows them: from the directory, or (database away) from Slack."""

    slack_id: str
    email: str
    name: str
    cost_center: str | None


@dataclass(frozen=True)
class ProductListing(ProductChoice):
    """A catalog product as the bot lists it: a choice of the request modal (unless blocked),
    with what the blocked check and the price note need."""

    status: str  # approved | restricted | blocked
    block_reason: str | None
    alternatives: tuple[str, ...]
    price: CatalogPrice

    @property
    def blocked(self) -> bool:
        return self.status == "blocked"


class SeenEvents:
    """Event ids already handled by this process: Slack redelivers an event it thinks timed
    out (`X-Slack-Retry-Num`), and a second DM reply would be noise."""

    def __init__(self, size: int = 10_000) -> None:
        self._seen: OrderedDict[str, float] = OrderedDict()
        self._size = size

    def first_time(self, event_id: str) -> bool:
        if event_id in self._seen:
            return False
        self._seen[event_id] = time.monotonic()
        while len(self._seen) > self._size:
            self._seen.popitem(last=False)
        return True


@dataclass
class BotDeps:
    settings: Settings
    engine: Engine
    procurement: ProcurementClient
    seen_events: SeenEvents = field(default_factory=SeenEvents)
    _matcher: tuple[float, Matcher] | None = None
    _matcher_lock: asyncio.Lock = field(default_factory=asyncio.Lock)
    _products: tuple[float, list[ProductListing]] | None = None
    _cost_centers: tuple[float, frozenset[str]] | None = None

    async def requester_or_queued(self, client: AsyncWebClient, slack_id: str) -> tuple[Requester | None, bool]:
        """Like `requester`; while the database is unreachable, the person as Slack knows them
        (their email from users.info), with True: the request can still be started and waits,
        queued in its workflow, until the database is back and checks it."""
        try:
            return await self.requester(client, slack_id), False
        except DBAPIError:
            log.warning("database unreachable: %s's request is queued until it is back", slack_id)
        email = await self._slack_email(client, slack_id)
        if email is None:
            return None, True
        return Requester(slack_id, email, email, None), True

    async def _slack_email(self, client: AsyncWebClient, slack_id: str) -> str | None:
        try:
            info = await client.users_info(user=slack_id)
        except SlackApiError:
            return None
        email = ((info.get("user") or {}).get("profile") or {}).get("email")
        return str(email) if email else None

    async def requester(self, client: AsyncWebClient, slack_id: str) -> Requester | None:
        """The directory entry of a Slack user: by Slack id, else by the email Slack knows."""
        person = await asyncio.to_thread(self._person_by_slack_id, slack_id)
        if person is None:
            email = await self._slack_email(client, slack_id)
            if not email:
                return None
            person = await asyncio.to_thread(self._link, email, slack_id)
        if person is None:
            return None
        return Requester(slack_id, person.email, person.name, person.cost_center)

    def _person_by_slack_id(self, slack_id: str) -> Person | None:
        with transaction(self.engine, read_only=True) as session:
            return repository.get_person_by_slack_id(session, slack_id=slack_id)

    def _link(self, email: str, slack_id: str) -> Person | None:
        with transaction(self.engine) as session:
            return repository.link_slack_id(session, email=email, slack_id=slack_id)

    async def warm(self) -> None:
        """Read the catalog before the first request needs it, so the first slash commands are
        not the ones that wait for it (building the matcher holds the GIL, delaying every ack).
        With the database away the bot starts anyway and reads it when a request comes."""
        try:
            await self.matcher()
            await asyncio.to_thread(self.all_products)
        except DBAPIError as err:
            log.warning("catalog not read at start-up (%s); it will be read on the first request", type(err).__name__)

    async def matcher(self) -> Matcher:
        """The product matcher over the catalog in the database, rebuilt at most once a minute
        and by one request at a time: fifty slash commands arriving together must not build
        fifty matchers (each build holds the GIL for half a second and delays every ack)."""
        if self._matcher is None or time.monotonic() - self._matcher[0] > CATALOG_CACHE_S:
            async with self._matcher_lock:
                if self._matcher is None or time.monotonic() - self._matcher[0] > CATALOG_CACHE_S:
                    self._matcher = (time.monotonic(), await asyncio.to_thread(self._build_matcher))
        return self._matcher[1]

    def _build_matcher(self) -> Matcher:
        with transaction(self.engine, read_only=True) as session:
            products = [
                CatalogProduct(p.id, p.name, p.vendor, p.category, tuple(p.aliases))
                for p in repository.list_products(session)
            ]
        return Matcher(products, load_matching_data())

    def all_products(self) -> list[ProductListing]:
        """Every catalog product, by name.

        Cached like the matcher: what the bot shows may lag a catalog import by a minute, but
        the workflow re-checks the product in the database before anyone approves it."""
        cached = self._products
        if cached is not None and time.monotonic() - cached[0] <= CATALOG_CACHE_S:
            return cached[1]
        try:
            with transaction(self.engine, read_only=True) as session:
                products = [
                    ProductListing(
                        p.id,
                        p.name,
                        p.vendor,
                        p.status,
                        p.block_reason,
                        tuple(p.alternatives),
                        CatalogPrice(p.price_cents, p.currency, per_seat=p.seats_total is not None),
                    )
                    for p in repository.list_products(session)
                ]
        except DBAPIError:
            if cached is None:
                raise
            return cached[1]  # the database is away: the last list read will do; the workflow re-checks
        self._products = (time.monotonic(), products)
        return products

    def catalog_prices(self) -> dict[str, CatalogPrice]:
        """The catalog price of every product, by id: read and cached with `all_products`."""
        return {p.id: p.price for p in self.all_products()}

    def known_cost_centers(self) -> frozenset[str]:
        """Cost centers with a budget or a person in the directory, cached like the products:
        the modal checks what was typed against them; the workflow checks again."""
        cached = self._cost_centers
        if cached is not None and time.monotonic() - cached[0] <= CATALOG_CACHE_S:
            return cached[1]
        try:
            with transaction(self.engine, read_only=True) as session:
                known = frozenset(repository.known_cost_centers(session))
        except DBAPIError:
            if cached is None:
                raise
            return cached[1]
        self._cost_centers = (time.monotonic(), known)
        return known

    def today(self) -> date:
        """Today in the company's time zone (renewal deadlines are counted in it)."""
        return datetime.now(ZoneInfo(self.settings.company_timezone)).date()

    def renewals(self) -> RenewalClient:
        """The renewal workflows' façade, on the same Temporal client as requests."""
        return RenewalClient(self.procurement.temporal, task_queue=self.settings.temporal_task_queue)

    def seat_releases(self) -> SeatReleaseClient:
        """The console's Ask to release (its holder answers in Slack), on the same Temporal client."""
        return SeatReleaseClient(self.procurement.temporal, task_queue=self.settings.temporal_task_queue)

    async def not_in_directory(self) -> str:
        """What an unknown Slack user is told: who can add them (the ITAM people by name, and
        the ITAM channel)."""
        try:
            names = await asyncio.to_thread(self._itam_names)
        except Exception:
            log.exception("could not read the ITAM people from the directory")
            names = []
        return not_in_directory_text(names, self.settings.itam_channel)

    def _itam_names(self) -> list[str]:
        with transaction(self.engine, read_only=True) as session:
            return [p.name for p in repository.role_holders(session, role="itam")]


def not_in_directory_text(itam_names: list[str], itam_channel: str) -> str:
    channel = escape_mrkdwn(itam_channel or "#itam")
    if itam_names:
        shown = [escape_mrkdwn(n) for n in itam_names[:3]]
        people = shown[0] if len(shown) == 1 else ", ".join(shown[:-1]) + " or " + shown[-1]
        ask = f"Ask {people} (ITAM) to add you, or post in `{channel}`"
    else:
        ask = f"Ask the ITAM team (`{channel}`) to add you"
    return (
        "I can't find you in the company directory, so I don't know who approves your purchases. "
        f"{ask}, then try again."
    )


def deps_of(context: Any) -> BotDeps:
    """The `BotDeps` that `bot.app.build_app` put in a request's Bolt context."""
    deps = context.get(CONTEXT_KEY) if isinstance(context, dict) else None
    if not isinstance(deps, BotDeps):
        raise RuntimeError("no BotDeps in the Bolt context: build the app with bot.app.build_app")
    return deps
