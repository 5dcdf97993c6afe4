"""How a provider wants its webhooks answered.

The server decides the outcome of a webhook (its status and a JSON object saying what happened) only after the
events are committed. Most providers read nothing but the status; some expect more: Twilio wants TwiML from a
Messaging or Voice webhook (and logs error 12300 for anything else), Mailgun and Postmark read a status of their
own as "stop retrying". A source that has such a convention has an ``answer`` method (:class:`AnswersWebhooks`)
that turns the outcome into the reply the provider expects; :func:`reply_for` is what the server calls for every
webhook, so the durability rules stay the server's: a hook only rewrites an outcome already reached.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Protocol

import orjson

__all__ = ["JSON_TYPE", "AnswersWebhooks", "Reply", "refused_for_good", "reply_for"]

JSON_TYPE = "application/json"


@dataclass(frozen=True)
class Reply:
    """The HTTP answer to one webhook: status, body and its content type."""

    status: int
    body: bytes
    content_type: str = JSON_TYPE


class AnswersWebhooks(Protocol):
    """A source whose provider expects its webhooks answered in its own way."""

    def answer(self, status: int, outcome: Mapping[str, Any]) -> Reply | None:
        """The reply for an outcome the server reached (``status`` and its JSON object); ``None``: the default."""
        ...


def reply_for(source: object, status: int, outcome: Mapping[str, Any]) -> Reply:
    """The reply to send: ``source``'s own answer for the outcome when it has one, else the outcome as JSON.

    ``source`` is the webhook's source, or ``None`` when the request matched none (unknown tenant or source).
    """
    # A plain attribute look-up: isinstance against a runtime-checkable protocol costs ~5% of a webhook's CPU.
    answer: Callable[[int, Mapping[str, Any]], Reply | None] | None = getattr(source, "answer", None)
    if answer is not None:
        reply = answer(status, outcome)
        if reply is not None:
            return reply
    return Reply(status, orjson.dumps(dict(outcome)))


def refused_for_good(status: int, outcome: Mapping[str, Any], stop_status: int) -> Reply | None:
    """For a provider whose "stop retrying" is a status of its own (``stop_status``): an unreadable request
    (400; kept in quarantine, so nothing is lost) answered with it, the JSON reason kept. Other outcomes keep
    the default answer: a signature refusal (401) may be a key not yet configured, which a retry can outlive."""
    if status == 400:
        return Reply(stop_status, orjson.dumps(dict(outcome)))
    return None
