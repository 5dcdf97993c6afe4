"""Wix's failures as typed errors: class per status, Wix's message and details, Retry-After, request id."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime

import pytest

from inboxbridge.wix import (
    ApiKeyAuth,
    FieldViolation,
    RetryPolicy,
    WixBadRequestError,
    WixClient,
    WixConflictError,
    WixError,
    WixForbiddenError,
    WixNotFoundError,
    WixPermanentError,
    WixPreconditionError,
    WixRateLimitedError,
    WixRetryableError,
    WixServerError,
    WixSite,
    WixUnauthorizedError,
    parse_retry_after,
)

from .fakes import FakeTime, FakeWix, make_client, reply

GET_CONVERSATION = ("GET", "/inbox/v2/conversations/conv-1")


@pytest.fixture
async def one_try(fake: FakeWix, fake_time: FakeTime) -> AsyncIterator[WixClient]:
    async with make_client(fake, fake_time, retry=RetryPolicy.never()) as wix:
        yield wix


@pytest.fixture
def site1(one_try: WixClient) -> WixSite:
    return one_try.site(ApiKeyAuth(api_key="k", site_id="s"))


@pytest.mark.parametrize(
    ("status", "error_class"),
    [
        (400, WixBadRequestError),
        (401, WixUnauthorizedError),
        (403, WixForbiddenError),
        (404, WixNotFoundError),
        (409, WixConflictError),
        (428, WixPreconditionError),
        (418, WixPermanentError),
        (429, WixRateLimitedError),
        (500, WixServerError),
        (502, WixServerError),
        (503, WixServerError),
        (504, WixServerError),
    ],
)
async def test_each_status_maps_to_its_error_class(
    site1: WixSite, fake: FakeWix, status: int, error_class: type[WixError]
) -> None:
    fake.on(*GET_CONVERSATION, reply(status, {"message": "nope", "details": {}}))

    with pytest.raises(error_class) as caught:
        await site1.get_conversation("conv-1")

    error = caught.value
    assert type(error) is error_class
    assert error.status == status
    assert error.message == "nope"
    assert error.request_id == f"req-{status}"
    assert isinstance(error, WixRetryableError) == (status == 429 or status >= 500)
    assert isinstance(error, WixPermanentError) == (not isinstance(error, WixRetryableError))


async def test_application_error_fields(site1: WixSite, fake: FakeWix) -> None:
    fake.on(
        "POST",
        "/contacts/v4/contacts",
        reply(
            409,
            {
                "message": "Contact already exists",
                "details": {
                    "applicationError": {
                        "code": "DUPLICATE_CONTACT_EXISTS",
                        "description": "email in use",
                        "data": {"duplicateContactId": "c-9"},
                    }
                },
            },
        ),
    )

    with pytest.raises(WixConflictError) as caught:
        await site1.create_contact(email="a@b.com")

    error = caught.value
    assert error.code == "DUPLICATE_CONTACT_EXISTS"
    assert error.description == "email in use"
    assert error.data == {"duplicateContactId": "c-9"}
    assert error.duplicate_contact_id == "c-9"
    assert "409 DUPLICATE_CONTACT_EXISTS: Contact already exists" in str(error)
    assert "req-409" in str(error)


async def test_validation_error_field_violations(site1: WixSite, fake: FakeWix) -> None:
    violation = {
        "field": "message.content",
        "description": "must not be empty",
        "violatedRule": "REQUIRED_FIELD",
    }
    fake.on(
        "GET",
        "/inbox/v2/messages",
        reply(
            400,
            {"message": "invalid", "details": {"validationError": {"fieldViolations": [violation, "junk"]}}},
        ),
    )

    with pytest.raises(WixBadRequestError) as caught:
        await site1.list_messages("conv-1")

    assert caught.value.field_violations == [
        FieldViolation(field="message.content", description="must not be empty", violated_rule="REQUIRED_FIELD")
    ]
    assert caught.value.code is None
    assert "message.content: must not be empty" in str(caught.value)


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (b"", "Service Unavailable"),
        (b"<html><body>Bad gateway</body></html>", "<html><body>Bad gateway</body></html>"),
        (b"[1, 2]", "[1, 2]"),
        (b"x" * 1000, "x" * 200 + "..."),
    ],
)
async def test_server_errors_with_empty_or_foreign_bodies(
    site1: WixSite, fake: FakeWix, body: bytes, message: str
) -> None:
    fake.on(*GET_CONVERSATION, reply(503, body))

    with pytest.raises(WixServerError) as caught:
        await site1.get_conversation("conv-1")

    assert caught.value.message == message
    assert caught.value.code is None
    assert caught.value.data == {}


async def test_retry_after_is_read_from_throttling_answers(site1: WixSite, fake: FakeWix) -> None:
    fake.on(*GET_CONVERSATION, reply(429, {"message": "slow down"}, headers={"Retry-After": "7"}))

    with pytest.raises(WixRateLimitedError) as caught:
        await site1.get_conversation("conv-1")

    assert caught.value.retry_after == 7.0
    assert caught.value.outcome_unknown is False


async def test_success_with_a_non_object_body_is_an_error(site1: WixSite, fake: FakeWix) -> None:
    fake.on(*GET_CONVERSATION, reply(200, b"not json"))

    with pytest.raises(WixPermanentError, match="not a JSON object"):
        await site1.get_conversation("conv-1")


async def test_success_with_an_unexpected_shape_is_an_error(site1: WixSite, fake: FakeWix) -> None:
    fake.on(*GET_CONVERSATION, reply(200, {"conversation": {"no": "id"}}))

    with pytest.raises(WixPermanentError, match="expected shape"):
        await site1.get_conversation("conv-1")


NOW = datetime(2025, 3, 1, 12, 0, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("header", "seconds"),
    [
        ("5", 5.0),
        (" 1.5 ", 1.5),
        ("0", 0.0),
        ("-3", 0.0),
        ("Sat, 01 Mar 2025 12:00:30 GMT", 30.0),
        ("Saturday, 01-Mar-25 12:01:00 GMT", 60.0),
        ("Sat, 01 Mar 2025 11:00:00 GMT", 0.0),
        ("soon", None),
        ("", None),
        ("nan", None),
        ("inf", None),
        (None, None),
    ],
)
def test_parse_retry_after(header: str | None, seconds: float | None) -> None:
    assert parse_retry_after(header, now=NOW) == seconds
