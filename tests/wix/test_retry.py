"""The short retry policy and ``outcome_unknown``: what is retried, what is not, and how long it waits."""

from __future__ import annotations

import logging
import random

import pytest

from inboxbridge.wix import (
    ApiKeyAuth,
    BasicContent,
    Direction,
    Message,
    MessageContent,
    RetryPolicy,
    TextItem,
    Visibility,
    WixConnectionError,
    WixRateLimitedError,
    WixRetryableError,
    WixServerError,
    WixSite,
    WixTimeoutError,
)

from .conftest import API_KEY
from .fakes import (
    CONNECT_FAILED,
    CONNECTION_BROKEN,
    NO_ANSWER_IN_TIME,
    NO_CONNECTION_IN_TIME,
    FakeTime,
    FakeWix,
    Reply,
    make_client,
    reply,
)

SEND = ("POST", "/inbox/v2/messages")
QUERY = ("POST", "/contacts/v4/contacts/query")
SENT = reply(
    200,
    {
        "message": {
            "id": "m-1",
            "content": {"basic": {"items": [{"text": "hi"}]}},
            "direction": "PARTICIPANT_TO_BUSINESS",
            "visibility": "BUSINESS",
            "sequence": "1",
        }
    },
)
NO_CONTACTS = reply(200, {"contacts": []})


def message() -> Message:
    return Message(
        content=MessageContent(basic=BasicContent(items=[TextItem(text="hi")])),
        direction=Direction.PARTICIPANT_TO_BUSINESS,
        visibility=Visibility.BUSINESS,
    )


# Which failures leave the outcome unknown.

OUTCOME_CASES: list[tuple[Reply, type[WixRetryableError], bool]] = [
    (CONNECT_FAILED, WixConnectionError, False),
    (NO_CONNECTION_IN_TIME, WixTimeoutError, False),
    (NO_ANSWER_IN_TIME, WixTimeoutError, True),
    (CONNECTION_BROKEN, WixConnectionError, True),
    (reply(429, {"message": "throttled"}), WixRateLimitedError, False),
    (reply(500, b""), WixServerError, True),
    (reply(503, {"message": "down"}), WixServerError, True),
]


@pytest.mark.parametrize(("failure", "error_class", "unknown"), OUTCOME_CASES)
async def test_send_message_outcome_unknown(
    fake: FakeWix,
    fake_time: FakeTime,
    failure: Reply,
    error_class: type[WixRetryableError],
    unknown: bool,
) -> None:
    fake.on(*SEND, failure)
    async with make_client(fake, fake_time, retry=RetryPolicy.never()) as wix:
        with pytest.raises(error_class) as caught:
            await wix.site(ApiKeyAuth(api_key=API_KEY, site_id="s")).send_message("conv-1", message())

    assert caught.value.outcome_unknown is unknown
    answered = isinstance(caught.value, WixRateLimitedError | WixServerError)
    assert (caught.value.status is not None) == answered
    assert API_KEY not in str(caught.value)


async def test_server_error_on_a_read_leaves_no_unknown_outcome(fake: FakeWix, fake_time: FakeTime) -> None:
    fake.on(*QUERY, reply(500, b""))
    async with make_client(fake, fake_time, retry=RetryPolicy.never()) as wix:
        with pytest.raises(WixServerError) as caught:
            await wix.site(ApiKeyAuth(api_key="k", site_id="s")).query_contacts()

    assert caught.value.outcome_unknown is False


# What is retried.


async def test_send_message_is_not_repeated_after_a_server_error(site: WixSite, fake: FakeWix) -> None:
    fake.on(*SEND, reply(500, b""), SENT)

    with pytest.raises(WixServerError) as caught:
        await site.send_message("conv-1", message())

    assert caught.value.outcome_unknown is True
    assert len(fake.sent(*SEND)) == 1


async def test_send_message_is_not_repeated_after_a_read_timeout(site: WixSite, fake: FakeWix) -> None:
    fake.on(*SEND, NO_ANSWER_IN_TIME, SENT)

    with pytest.raises(WixTimeoutError) as caught:
        await site.send_message("conv-1", message())

    assert caught.value.outcome_unknown is True
    assert len(fake.sent(*SEND)) == 1


async def test_send_message_is_retried_when_wix_certainly_did_not_get_it(
    site: WixSite, fake: FakeWix, fake_time: FakeTime
) -> None:
    fake.on(*SEND, CONNECT_FAILED, reply(429, {}, headers={"Retry-After": "2"}), SENT)

    sent = await site.send_message("conv-1", message())

    assert sent.id == "m-1"
    assert len(fake.sent(*SEND)) == 3
    assert 0.1 <= fake_time.sleeps[0] <= 0.2
    assert fake_time.sleeps[1] == 2.0


async def test_create_contact_is_not_repeated_after_a_server_error(site: WixSite, fake: FakeWix) -> None:
    fake.on("POST", "/contacts/v4/contacts", reply(502, b""))

    with pytest.raises(WixServerError) as caught:
        await site.create_contact(email="a@b.com")

    assert caught.value.outcome_unknown is True
    assert len(fake.requests) == 1


@pytest.mark.parametrize(
    "failure",
    [reply(503, b""), NO_ANSWER_IN_TIME, CONNECTION_BROKEN],
)
async def test_safe_calls_are_retried_after_any_retryable_failure(
    site: WixSite, fake: FakeWix, fake_time: FakeTime, failure: Reply
) -> None:
    fake.on(*QUERY, failure, failure, NO_CONTACTS)

    page = await site.query_contacts()

    assert page.contacts == []
    assert len(fake.requests) == 3
    assert len(fake_time.sleeps) == 2
    assert 0.1 <= fake_time.sleeps[0] <= 0.2
    assert 0.2 <= fake_time.sleeps[1] <= 0.4


async def test_get_or_create_conversation_is_retried_after_a_server_error(site: WixSite, fake: FakeWix) -> None:
    fake.on(
        "POST",
        "/inbox/v2/conversations",
        reply(500, b""),
        reply(200, {"conversation": {"id": "conv-1"}, "newConversation": False}),
    )

    result = await site.get_or_create_conversation(contact_id="c-1")

    assert result.conversation.id == "conv-1"
    assert len(fake.requests) == 2


async def test_retries_stop_after_the_policy_attempts(site: WixSite, fake: FakeWix, fake_time: FakeTime) -> None:
    fake.on(*QUERY, reply(503, {"message": "down"}))

    with pytest.raises(WixServerError):
        await site.query_contacts()

    assert len(fake.requests) == 3
    assert len(fake_time.sleeps) == 2


async def test_retry_after_beyond_the_cap_goes_back_to_the_caller(
    site: WixSite, fake: FakeWix, fake_time: FakeTime
) -> None:
    fake.on(*QUERY, reply(429, {}, headers={"Retry-After": "120"}), NO_CONTACTS)

    with pytest.raises(WixRateLimitedError) as caught:
        await site.query_contacts()

    assert caught.value.retry_after == 120.0
    assert len(fake.requests) == 1
    assert fake_time.sleeps == []


async def test_retries_are_logged_without_secrets(
    site: WixSite, fake: FakeWix, caplog: pytest.LogCaptureFixture
) -> None:
    fake.on(*QUERY, reply(503, b""), NO_CONTACTS)

    with caplog.at_level(logging.DEBUG, logger="inboxbridge.wix"):
        await site.query_contacts()

    assert "retrying" in caplog.text
    assert all(API_KEY not in repr(record.__dict__) for record in caplog.records)


def test_backoff_grows_exponentially_with_jitter_up_to_the_cap() -> None:
    policy = RetryPolicy(backoff_initial=1.0, backoff_max=5.0, rng=random.Random(7))

    waits = [policy.backoff(n) for n in range(1, 6)]

    for wait, ceiling in zip(waits, [1, 2, 4, 5, 5], strict=True):
        assert ceiling / 2 <= wait <= ceiling


def test_retry_policy_rejects_nonsense() -> None:
    with pytest.raises(ValueError, match="attempts"):
        RetryPolicy(attempts=0)
    with pytest.raises(ValueError, match="negative"):
        RetryPolicy(backoff_initial=-1)


async def test_an_earlier_try_that_may_have_landed_keeps_the_outcome_unknown(site: WixSite, fake: FakeWix) -> None:
    route = ("POST", "/inbox/v2/conversations")
    fake.on(*route, NO_ANSWER_IN_TIME, CONNECT_FAILED)

    with pytest.raises(WixConnectionError) as caught:
        await site.get_or_create_conversation(contact_id="c-1")

    assert len(fake.requests) == 3
    assert caught.value.outcome_unknown is True
