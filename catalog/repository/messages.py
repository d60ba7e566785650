"""References to the Slack messages posted about a request, by message key."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import bindparam, update
from sqlalchemy.orm.util import identity_key
from sqlmodel import Session, col

from catalog.models import SlackMessage
from catalog.repository.keyed import by_key, insert_unless_present
from catalog.repository.statements import MESSAGE, MESSAGES_OF


def get_message(session: Session, *, key: str) -> SlackMessage | None:
    """The message under `key`: posted (it has a `ts`), or only noted as about to be (`ts` "")."""
    return by_key(session, SlackMessage, MESSAGE, key)


def note_message(session: Session, *, key: str, request_id: str, at: datetime) -> bool:
    """Note that the message under `key` is about to be posted, before asking Slack; returns
    False if something was already there (an earlier note, or the posted message). A note
    without a `ts` found later means an earlier run may have posted it and died before
    `save_message`: look for it in Slack before posting again."""
    values = {"key": key, "request_id": request_id, "channel": "", "ts": "", "created_at": at}
    return insert_unless_present(session, SlackMessage, "key", values, lambda: session.get(SlackMessage, key))


def save_message(session: Session, *, key: str, request_id: str, channel: str, ts: str, at: datetime) -> None:
    """Record where the message under `key` was posted (its note, if any, is completed; a
    message already recorded keeps its first reference)."""
    completed = session.connection().execute(_COMPLETE_NOTE, {"b_key": key, "b_channel": channel, "b_ts": ts})
    if completed.rowcount:
        loaded = session.identity_map.get(identity_key(SlackMessage, key))
        if loaded is not None:  # the row this session holds reads its new reference
            session.expire(loaded)
        return
    values = {"key": key, "request_id": request_id, "channel": channel, "ts": ts, "created_at": at}
    insert_unless_present(session, SlackMessage, "key", values, lambda: session.get(SlackMessage, key))


_COMPLETE_NOTE = (
    update(SlackMessage)
    .where(col(SlackMessage.key) == bindparam("b_key"), col(SlackMessage.ts) == "")
    .values(channel=bindparam("b_channel"), ts=bindparam("b_ts"))
)


def list_messages(session: Session, *, request_id: str) -> Sequence[SlackMessage]:
    """Every message posted about a request (to update them all in place); notes of messages
    not (yet) known to be posted are left out."""
    return session.exec(MESSAGES_OF, params={"request_id": request_id}).all()
