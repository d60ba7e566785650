"""What the simulated workspace looks like: its people and the one app installed in it."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from catalog.settings import SIMULATOR_OIDC_CLIENT_ID, SIMULATOR_OIDC_CLIENT_SECRET


@dataclass(frozen=True)
class SimUser:
    id: str  # e.g. "U0EMPLOYEE"
    name: str  # display / real name, e.g. "Emma Employee"
    email: str
    is_bot: bool = False

    @property
    def handle(self) -> str:
        """Slack's `name` (the @-handle); Slack derives the default one from the email."""
        return self.email.split("@", 1)[0].lower() or self.id.lower()


@dataclass(frozen=True)
class SimChannel:
    """A channel that exists when the workspace starts. As in Slack, the bot can post only in
    channels it is a member of, and nobody can post in an archived one."""

    name: str  # without the "#"
    bot_member: bool = True
    archived: bool = False
    private: bool = False


#: The demo workspace's channels: the bot was invited to both (#itam is the default ITAM_CHANNEL).
DEFAULT_CHANNELS = (SimChannel("general"), SimChannel("itam"))


@dataclass(frozen=True)
class SimulatorConfig:
    users: tuple[SimUser, ...]
    # Commands, interactivity and events all go to this one Request URL, as in our app manifest.
    bot_events_url: str
    signing_secret: str
    bot_token: str  # the only token the Web API accepts
    team_id: str = "T0LOCAL"
    team_domain: str = "procure-local"
    api_app_id: str = "A0PROCURE"
    bot_user_id: str = "U0PROCUREBOT"
    bot_id: str = "B0PROCUREBOT"
    schema_path: Path | None = None  # blockkit.schema.json; None or missing -> no schema checks
    bot_name: str = "Procure"
    # Slack waits 3 s for an ack and lets a trigger_id live 3 s; tunable for slow machines.
    ack_timeout: float = 3.0
    trigger_ttl: float = 3.0
    # Who the page opens as when the browser has no choice of its own (`procure dev`: the demo's
    # first requester); None: the first person in `users`.
    default_user_id: str | None = None
    channels: tuple[SimChannel, ...] = DEFAULT_CHANNELS
    # "Sign in with Slack" for the web console (bot/simulator/oidc.py): the one client accepted.
    oidc_client_id: str = SIMULATOR_OIDC_CLIENT_ID
    oidc_client_secret: str = SIMULATOR_OIDC_CLIENT_SECRET

    def user(self, user_id: str) -> SimUser | None:
        return next((u for u in self.users if u.id == user_id), None)
