"""Configuration, read from the environment and `.env` (pydantic-settings).

One class serves every deployable (bot, worker, CLI): each reads only the fields it needs,
and `procure dev` passes the same values to all of its children through the environment.
"""

from __future__ import annotations

from datetime import date
from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from catalog.rules.renewals import HolidayCalendar

#: The token and signing secret the local Slack simulator accepts. They are not secrets:
#: they only ever authenticate the bot to a simulator bound to 127.0.0.1.
SIMULATOR_BOT_TOKEN = "xoxb-local-simulator-token"  # noqa: S105
SIMULATOR_SIGNING_SECRET = "local-simulator-signing-secret"  # noqa: S105
#: The OpenID Connect client the simulator accepts for "Sign in with Slack" (bot/simulator/oidc.py):
#: public for the same reason, it signs in only to a simulator bound to 127.0.0.1.
SIMULATOR_OIDC_CLIENT_ID = "local-simulator-client"
SIMULATOR_OIDC_CLIENT_SECRET = "local-simulator-client-secret"  # noqa: S105
SLACK_OIDC_URL = "https://slack.com"


class SlackConfigError(ValueError):
    """Slack credentials that are half set: the bot must not start (see `Settings.slack_config_error`)."""


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_file=".env", env_file_encoding="utf-8", extra="ignore")

    data_dir: Path = Field(default=Path(".data"), description="Where the embedded SQLite and Temporal files live.")
    database_url: str | None = Field(default=None, description="SQLAlchemy URL; default SQLite in DATA_DIR.")
    temporal_address: str | None = Field(default=None, description="host:port of a Temporal frontend.")
    temporal_namespace: str = "default"
    temporal_task_queue: str = "procurement"
    temporal_port: int = 7233
    temporal_ui_port: int = 8233
    workflow_sandbox: Literal["shared", "isolated"] = Field(
        default="shared",
        description=(
            "`isolated`: Temporal's default sandbox, which imports the workflow modules afresh for"
            " every workflow run; `shared`: runs share the worker's modules (docs/decisions.md §19)."
        ),
    )

    slack_bot_token: str | None = None
    slack_signing_secret: str | None = None
    slack_app_token: str | None = None
    slack_api_url: str | None = Field(
        default=None,
        description="Web API base URL: the simulator's, or an egress proxy in front of slack.com.",
    )

    bot_host: str = "127.0.0.1"
    bot_port: int = 3000
    bot_deferred_slots: int = Field(
        default=8, ge=1, description="Slack requests the bot processes at once after acking them (see bot.server)."
    )
    simulator_port: int = 3001
    web_host: str = Field(default="127.0.0.1", description="Interface the web console binds; never the bot's port.")
    web_port: int = Field(default=3002, ge=1, le=65535, description="Port of the web console (`procure web`).")
    web_base_url: str | None = Field(
        default=None, description="Public URL of the console (the OIDC redirect); default http://WEB_HOST:WEB_PORT."
    )
    web_session_secret: str | None = Field(
        default=None, description="Key that signs console cookies; default a key kept in DATA_DIR/web_secret."
    )
    slack_client_id: str | None = Field(default=None, description="Slack app's client id for Sign in with Slack.")
    slack_client_secret: str | None = None
    slack_oidc_url: str | None = Field(
        default=None, description="Where the OIDC endpoints are: slack.com, or the simulator without credentials."
    )
    temporal_ui_url: str | None = Field(
        default=None, description="Temporal web UI, linked from a request's page; default the embedded one."
    )
    itam_channel: str = "#itam"
    company_timezone: str = "UTC"
    request_expiry_days: int = Field(default=14, ge=1, description="Calendar days before a pending approval expires.")
    log_format: str = Field(default="text", description="`text`, or `json` for one JSON object per log line.")
    metrics_host: str = Field(default="127.0.0.1", description="Interface the bot's and worker's metrics servers bind.")
    bot_metrics_port: int = Field(
        default=9466, ge=0, description="Bot /metrics port on METRICS_HOST, never the public BOT_PORT; 0 disables."
    )
    worker_metrics_port: int = Field(default=9464, ge=0, description="Worker /metrics port; 0 disables.")
    temporal_metrics_port: int = Field(default=9465, ge=0, description="Temporal SDK metrics of the worker; 0: off.")
    fiscal_year_start_month: int = Field(
        default=1, ge=1, le=12, description="Month (1-12) the fiscal year starts; FY Y is named by the year it ends in."
    )
    reclaim_inactive_days: int = Field(default=30, ge=1, description="Idle days after which a seat may be reclaimed.")
    reclaim_timeout_days: int = Field(default=3, ge=1, description="Days a seat holder has to answer Keep / Release.")
    holiday_country: str | None = Field(default="US", description="Public holidays (holidays package code).")
    holiday_subdivision: str | None = Field(default=None, description="State/province code for the holiday country.")
    company_holidays: str = Field(default="", description="Extra company holidays: comma-separated YYYY-MM-DD.")
    policy_file: Path | None = Field(
        default=None, description="Approval policy YAML; default the shipped catalog/data/policy.yaml."
    )

    def holiday_calendar(self) -> HolidayCalendar:
        """Business days for renewal deadlines: the country's public holidays plus company ones."""
        extra = frozenset(date.fromisoformat(d.strip()) for d in self.company_holidays.split(",") if d.strip())
        return HolidayCalendar(
            country=self.holiday_country or None, subdivision=self.holiday_subdivision or None, extra=extra
        )

    @property
    def effective_database_url(self) -> str:
        return self.database_url or f"sqlite:///{self.data_dir / 'procure.db'}"

    @property
    def uses_real_slack(self) -> bool:
        """Real Slack when the app's bot token and signing secret are set: the credentials alone
        decide. SLACK_API_URL only says where the Web API is (e.g. an egress proxy)."""
        return bool(self.slack_bot_token and self.slack_signing_secret)

    def slack_config_error(self) -> str | None:
        """Why these Slack settings must not run a bot, or None. Half-set credentials would
        otherwise be completed with the simulator's public ones: a real bot token with the
        simulator's signing secret would accept requests anyone can sign."""
        credentials = {
            "SLACK_BOT_TOKEN": self.slack_bot_token,
            "SLACK_SIGNING_SECRET": self.slack_signing_secret,
            "SLACK_APP_TOKEN": self.slack_app_token,
        }
        given = [name for name, value in credentials.items() if value]
        if self.uses_real_slack or not given:
            return None
        missing = [name for name in ("SLACK_BOT_TOKEN", "SLACK_SIGNING_SECRET") if not credentials[name]]
        return (
            f"{' and '.join(given)} set without {' and '.join(missing)}: real Slack needs both the bot token "
            "and the app's signing secret (api.slack.com/apps → Basic Information → App Credentials). "
            "Set the missing one, or unset every SLACK_* credential to use the local simulator."
        )

    @property
    def bot_token(self) -> str:
        """The real bot token, or the simulator's when no Slack credential is set at all."""
        if self.slack_bot_token:
            return self.slack_bot_token
        if problem := self.slack_config_error():
            raise SlackConfigError(problem)
        return SIMULATOR_BOT_TOKEN

    @property
    def signing_secret(self) -> str:
        """The real signing secret, or the simulator's when no Slack credential is set at all:
        never the simulator's (public) one beside a real token."""
        if self.slack_signing_secret:
            return self.slack_signing_secret
        if problem := self.slack_config_error():
            raise SlackConfigError(problem)
        return SIMULATOR_SIGNING_SECRET

    def api_url(self) -> str | None:
        """Base URL for slack_sdk's Web API client; None means slack.com."""
        if self.slack_api_url:
            return self.slack_api_url.rstrip("/") + "/"
        if self.uses_real_slack:
            return None
        return f"http://127.0.0.1:{self.simulator_port}/api/"

    def oidc_url(self) -> str:
        """Base URL of the OpenID Connect endpoints: Slack's, or the simulator's offline."""
        if self.slack_oidc_url:
            return self.slack_oidc_url.rstrip("/")
        if self.slack_client_id or self.uses_real_slack:
            return SLACK_OIDC_URL
        return f"http://127.0.0.1:{self.simulator_port}"

    def oidc_client(self) -> tuple[str, str]:
        """(client id, client secret) of "Sign in with Slack"; the simulator's when none is set."""
        if self.slack_client_id and self.slack_client_secret:
            return self.slack_client_id, self.slack_client_secret
        if self.oidc_url() == SLACK_OIDC_URL:
            raise SlackConfigError(
                "Sign in with Slack needs SLACK_CLIENT_ID and SLACK_CLIENT_SECRET "
                "(api.slack.com/apps → Basic Information → App Credentials)."
            )
        return SIMULATOR_OIDC_CLIENT_ID, SIMULATOR_OIDC_CLIENT_SECRET

    def console_url(self) -> str:
        """The console's own URL, as the browser reaches it (the OIDC redirect goes back there)."""
        if self.web_base_url:
            return self.web_base_url.rstrip("/")
        host = "127.0.0.1" if self.web_host in ("0.0.0.0", "::") else self.web_host  # noqa: S104
        return f"http://{host}:{self.web_port}"

    def temporal_ui(self) -> str | None:
        """The Temporal web UI's base URL, if there is one to link to."""
        if self.temporal_ui_url:
            return self.temporal_ui_url.rstrip("/")
        return None if self.temporal_address else f"http://127.0.0.1:{self.temporal_ui_port}"


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return Settings()
