"""Configuration, read from the environment and `.env` (pydantic-settings).

One class serves every deployable (bot, worker, CLI): each reads only the fields it needs,
and `procure dev` passes the same values to all of its children through the environment.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

#: The token and signing secret the local Slack simulator accepts. They are not secrets:
#: they only ever authenticate the bot to a simulator bound to 127.0.0.1.
SIMULATOR_BOT_TOKEN = "xoxb-local-simulator-token"  # noqa: S105
SIMULATOR_SIGNING_SECRET = "local-simulator-signing-secret"  # noqa: S105


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_file=".env", env_file_encoding="utf-8", extra="ignore")

    data_dir: Path = Field(default=Path(".data"), description="Where the embedded SQLite and Temporal files live.")
    database_url: str | None = Field(default=None, description="SQLAlchemy URL; default SQLite in DATA_DIR.")
    temporal_address: str | None = Field(default=None, description="host:port of a Temporal frontend.")
    temporal_namespace: str = "default"
    temporal_task_queue: str = "procurement"
    temporal_port: int = 7233
    temporal_ui_port: int = 8233

    slack_bot_token: str | None = None
    slack_signing_secret: str | None = None
    slack_app_token: str | None = None
    slack_api_url: str | None = Field(default=None, description="Web API base URL, e.g. the simulator's.")

    bot_host: str = "127.0.0.1"
    bot_port: int = 3000
    simulator_port: int = 3001
    itam_channel: str = "#itam"
    company_timezone: str = "UTC"
    request_expiry_days: int = Field(default=14, ge=1, description="Calendar days before a pending approval expires.")

    @property
    def effective_database_url(self) -> str:
        return self.database_url or f"sqlite:///{self.data_dir / 'procure.db'}"

    @property
    def uses_real_slack(self) -> bool:
        """Real Slack when a bot token and signing secret are set and no simulator URL overrides it."""
        return bool(self.slack_bot_token and self.slack_signing_secret and not self.slack_api_url)

    @property
    def bot_token(self) -> str:
        return self.slack_bot_token or SIMULATOR_BOT_TOKEN

    @property
    def signing_secret(self) -> str:
        return self.slack_signing_secret or SIMULATOR_SIGNING_SECRET

    def api_url(self) -> str | None:
        """Base URL for slack_sdk's Web API client; None means slack.com."""
        if self.slack_api_url:
            return self.slack_api_url.rstrip("/") + "/"
        if self.uses_real_slack:
            return None
        return f"http://127.0.0.1:{self.simulator_port}/api/"


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return Settings()
