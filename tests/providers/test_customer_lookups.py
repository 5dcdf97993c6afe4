"""Customer lookups of the Stripe and Crisp sources against stand-ins of their APIs over loopback HTTP: what each
answer becomes (a customer, a failure worth retrying, a failure for good), the cache, and the secrets kept out of
every message."""

from __future__ import annotations

from typing import Any

import pytest
from connector_support import source_from
from provider_apis import CRISP_IDENTIFIER, CRISP_KEY, STRIPE_KEY, FakeCrisp, FakeStripe, Fault

from inboxbridge.providers.base import CustomerLookupError, FoundCustomer

JENNY = "stripe:cus_NffrFeUfNV2Hib"
WEBSITE, SESSION = "8c842203-7ed8-4e29-a608-7cf78a7d2fcc", "session_700c65e1-85e2-465a-b9ac-ecb5ec2c9881"
VISITOR = f"crisp:{WEBSITE}/{SESSION}"


def stripe_source(api: FakeStripe, **extra: Any) -> Any:
    table = {"type": "stripe", "signing_secret": "whsec_x", "api_key": STRIPE_KEY, "api_base_url": api.url}
    return source_from({**table, **extra})


def crisp_source(api: FakeCrisp, **extra: Any) -> Any:
    table = {
        "type": "crisp",
        "secret": "crisp-signing-secret",
        "api_identifier": CRISP_IDENTIFIER,
        "api_key": CRISP_KEY,
        "api_base_url": api.url,
    }
    return source_from({**table, **extra})


async def failure(source: Any, ref: str) -> CustomerLookupError:
    with pytest.raises(CustomerLookupError) as caught:
        await source.find_customer(ref)
    return caught.value


async def test_stripe_customer_found_by_id_with_the_restricted_key_and_remembered() -> None:
    async with FakeStripe() as api:
        api.add("stripe_customer_retrieve_example")
        source = stripe_source(api)
        found = await source.find_customer(JENNY)
        assert found == FoundCustomer(emails=("jennyrosen@example.com",), first_name="Jenny", last_name="Rosen")
        assert await source.find_customer(JENNY) == found
    [(method, path, headers)] = api.requests
    assert (method, path, headers["Authorization"]) == (
        "GET",
        "/v1/customers/cus_NffrFeUfNV2Hib",
        f"Bearer {STRIPE_KEY}",
    )


async def test_a_stripe_customer_with_a_phone_only_is_found_by_it() -> None:
    async with FakeStripe() as api:
        customer = api.add("stripe_customer_retrieve_example")
        customer["email"], customer["phone"] = None, "+14155550142"
        found = await stripe_source(api).find_customer(JENNY)
    assert (found.emails, found.phone) == ((), "+14155550142")


@pytest.mark.parametrize(
    ("fixture_name", "reason"),
    [
        (
            "stripe_2026_customer",
            "Stripe customer cus_QXg1o8vcGmoR32 has no email or phone: add one in the Stripe Dashboard, then replay "
            "the event",
        ),
        ("stripe_2026_deleted_customer", "Stripe customer cus_QXg1o8vcGmoR32 has been deleted"),
    ],
)
async def test_stripe_customers_that_cannot_be_reached_fail_for_good(fixture_name: str, reason: str) -> None:
    async with FakeStripe() as api:
        api.add(fixture_name)
        error = await failure(stripe_source(api), "stripe:cus_QXg1o8vcGmoR32")
    assert (error.retryable, error.reason) == (False, reason)


async def test_stripe_refusals_keep_stripes_words_and_never_the_key() -> None:
    async with FakeStripe() as api:
        unknown = await failure(stripe_source(api), "stripe:cus_gone")
        wrong_key = "rk_test_wrong_key_0123456789"
        refused = await failure(stripe_source(api, api_key=wrong_key), JENNY)
    assert (unknown.retryable, unknown.reason) == (False, "Stripe 404: No such customer: 'cus_gone' (resource_missing)")
    assert (refused.retryable, refused.reason) == (False, "Stripe 401: Invalid API Key provided: ***")
    assert wrong_key not in refused.reason


@pytest.mark.parametrize(
    ("fault", "reason", "retry_after"),
    [
        (
            Fault(500, {"error": {"type": "api_error", "message": "Something went wrong"}}),
            "Stripe 500: Something went wrong",
            None,
        ),
        (
            Fault(
                429,
                {"error": {"type": "invalid_request_error", "code": "rate_limit", "message": "Too many requests"}},
                {"Retry-After": "2"},
            ),
            "Stripe 429: Too many requests (rate_limit)",
            2.0,
        ),
        (Fault(200, {}, delay=1), "Stripe did not answer the customer lookup within 0.2 s", None),
    ],
)
async def test_stripe_failures_that_time_can_fix_are_retryable(
    fault: Fault, reason: str, retry_after: float | None
) -> None:
    async with FakeStripe() as api:
        api.add("stripe_customer_retrieve_example")
        api.faults.append(fault)
        source = stripe_source(api, lookup_timeout_seconds=0.2)
        error = await failure(source, JENNY)
        assert (error.retryable, error.reason, error.retry_after) == (True, reason, retry_after)
        # The failure is not remembered: the next try asks again, and succeeds.
        assert (await source.find_customer(JENNY)).emails == ("jennyrosen@example.com",)


async def test_stripe_out_of_reach_is_retryable() -> None:
    async with FakeStripe() as api:
        url = api.url
    error = await failure(stripe_source(api, api_base_url=url), JENNY)
    assert error.retryable and error.reason.startswith("cannot reach Stripe for the customer lookup")


async def test_without_an_api_key_a_stripe_reference_cannot_be_looked_up() -> None:
    source = source_from({"type": "stripe", "signing_secret": "whsec_x"})
    error = await failure(source, JENNY)
    assert (error.retryable, error.reason) == (
        False,
        "stripe:cus_NffrFeUfNV2Hib can only be looked up with the source's api_key, and none is configured",
    )


async def test_crisp_visitor_found_in_the_conversation_metas_with_the_plugin_token() -> None:
    async with FakeCrisp() as api:
        api.add(WEBSITE, SESSION)
        source = crisp_source(api)
        found = await source.find_customer(VISITOR)
        assert found == FoundCustomer(emails=("john.doe@acme-inc.com",), first_name="John", last_name="Doe")
        assert await source.find_customer(VISITOR) == found
    [(method, path, headers)] = api.requests
    assert (method, path) == ("GET", f"/v1/website/{WEBSITE}/conversation/{SESSION}/meta")
    assert (headers["Authorization"], headers["X-Crisp-Tier"]) == (f"Basic {api.token}", "plugin")


async def test_a_crisp_visitor_who_left_no_email_is_known_by_nickname() -> None:
    async with FakeCrisp() as api:
        api.add(WEBSITE, SESSION, {"nickname": "visitor493603"})
        found = await crisp_source(api).find_customer(VISITOR)
    assert found == FoundCustomer(first_name="visitor493603")


async def test_crisp_refusals_keep_crisps_reason_and_never_the_key() -> None:
    async with FakeCrisp() as api:
        missing = await failure(crisp_source(api), VISITOR)
        refused = await failure(crisp_source(api, api_key="another-key"), VISITOR)
        api.faults.append(Fault(503, {"error": True, "reason": "unavailable", "data": {}}))
        busy = await failure(crisp_source(api), VISITOR)
    assert (missing.retryable, missing.reason) == (False, "Crisp 404: session_not_found")
    assert (refused.retryable, refused.reason) == (False, "Crisp 401: invalid_session")
    assert (busy.retryable, busy.reason) == (True, "Crisp 503: unavailable")
    for text in (missing.reason, refused.reason, busy.reason, repr(crisp_source(api)), repr(crisp_source(api)._config)):
        assert CRISP_KEY not in text and CRISP_IDENTIFIER not in text


async def test_without_a_token_crisp_knows_nothing_more_and_asks_no_one() -> None:
    source = source_from({"type": "crisp", "secret": "crisp-signing-secret"})
    assert await source.find_customer(VISITOR) == FoundCustomer()


@pytest.mark.parametrize("ref", ["stripe:", "crisp:cus_1", "crisp:website-only"])
async def test_references_of_another_provider_are_refused(ref: str) -> None:
    async with FakeStripe() as stripe_api, FakeCrisp() as crisp_api:
        source = crisp_source(crisp_api) if ref.startswith("crisp") else stripe_source(stripe_api)
        error = await failure(source, ref)
    assert not error.retryable and "is not a" in error.reason
    assert not stripe_api.requests and not crisp_api.requests
