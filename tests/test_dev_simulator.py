"""The local Slack workspace `procure dev` starts: who is in it and whom the page opens as."""

from __future__ import annotations

from sqlalchemy import Engine

from catalog.settings import Settings
from procure.runtime import simulator_config


def test_the_simulator_opens_as_the_demos_first_requester_not_the_first_name(sqlite_seeded: Engine) -> None:
    config = simulator_config(Settings(database_url=str(sqlite_seeded.url)))
    names = [u.name for u in config.users]
    assert names == sorted(names) and names[0] == "Eli Engineer"  # the picker lists people by name
    assert config.default_user_id == "U0EMPLOYEE"  # Emma Employee, who starts the README's demo
    assert config.user(config.default_user_id) is not None
