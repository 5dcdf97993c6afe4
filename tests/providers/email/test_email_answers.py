"""Mailgun and Postmark answer an unreadable request with their own "stop retrying" status (Mailgun documents
406, Postmark 403), so a provider does not retry for hours what is already kept in quarantine; everything else is
answered as the server decided."""

from __future__ import annotations

import orjson
import pytest

from inboxbridge.providers.email.mailgun import MailgunSourceConfig
from inboxbridge.providers.email.postmark import PostmarkSourceConfig

UNREADABLE = {"error": "the email names no sender", "quarantineId": 7}


@pytest.mark.parametrize(
    ("source", "stop"),
    [
        (MailgunSourceConfig(signing_key="key-0123456789abcdef").build("mail"), 406),
        (PostmarkSourceConfig(username="postmark", password="s3cret").build("mail"), 403),
    ],
    ids=["mailgun", "postmark"],
)
def test_an_unreadable_request_stops_the_provider_s_retries(source: object, stop: int) -> None:
    answer = source.answer  # type: ignore[attr-defined]
    reply = answer(400, UNREADABLE)
    assert (reply.status, reply.content_type, orjson.loads(reply.body)) == (stop, "application/json", UNREADABLE)
    # Stored, repeated, or refused for its signature: the server's own answer.
    for status in (200, 202, 401, 404, 413, 503):
        assert answer(status, {"error": "x"}) is None
