"""API keys and app-instance OAuth tokens: headers, caching, expiry, refresh on 401, no leaked secrets."""

from __future__ import annotations

import asyncio

import pytest

from inboxbridge.wix import (
    ApiKeyAuth,
    AppInstanceAuth,
    BasicContent,
    Direction,
    Message,
    MessageContent,
    RawResponse,
    RetryPolicy,
    TextItem,
    Visibility,
    WixBadRequestError,
    WixClient,
    WixPermanentError,
    WixServerError,
    WixTimeoutError,
    WixUnauthorizedError,
)

from .fakes import NO_ANSWER_IN_TIME, FakeTime, FakeWix, Sent, make_client, reply

SECRET = "app-secret-value"
AUTH = AppInstanceAuth(app_id="app-1", app_secret=SECRET, instance_id="inst-1")
CONVERSATION = ("GET", "/inbox/v2/conversations/conv-1")
TOKEN = ("POST", "/oauth2/token")


class TokenServer:
    """Hands out tok-1, tok-2, ... slowly enough for callers to pile up; accepts only ``valid`` tokens."""

    def __init__(self, fake: FakeWix, expires_in: int = 14400) -> None:
        self.issued: list[str] = []
        self.valid: set[str] = set()
        self.expires_in = expires_in
        fake.on(*TOKEN, self.token)
        fake.on(*CONVERSATION, self.conversation)

    async def token(self, request: Sent) -> RawResponse:
        for _ in range(5):
            await asyncio.sleep(0)
        value = f"tok-{len(self.issued) + 1}"
        self.issued.append(value)
        self.valid.add(value)
        return reply(200, {"access_token": value, "token_type": "Bearer", "expires_in": self.expires_in})

    async def conversation(self, request: Sent) -> RawResponse:
        if request.headers.get("authorization") not in self.valid:
            return reply(401, {"message": "invalid token"})
        return reply(200, {"conversation": {"id": "conv-1"}})


@pytest.fixture
def tokens(fake: FakeWix) -> TokenServer:
    return TokenServer(fake)


async def test_api_key_is_sent_raw_with_the_site_id(client: WixClient, fake: FakeWix) -> None:
    fake.on(*CONVERSATION, reply(200, {"conversation": {"id": "conv-1"}}))

    await client.site(ApiKeyAuth(api_key="the-key", site_id="site-9")).get_conversation("conv-1")

    headers = fake.requests[0].headers
    assert headers["authorization"] == "the-key"
    assert headers["wix-site-id"] == "site-9"


async def test_app_instance_token_request_and_raw_token_header(
    client: WixClient, fake: FakeWix, tokens: TokenServer
) -> None:
    await client.site(AUTH).get_conversation("conv-1")

    (token_request,) = fake.sent(*TOKEN)
    assert token_request.json() == {
        "grant_type": "client_credentials",
        "client_id": "app-1",
        "client_secret": SECRET,
        "instance_id": "inst-1",
    }
    assert "authorization" not in token_request.headers
    api_request = fake.sent(*CONVERSATION)[0]
    assert api_request.headers["authorization"] == "tok-1"
    assert "wix-site-id" not in api_request.headers


async def test_token_is_reused_until_a_minute_before_expiry(
    client: WixClient, fake_time: FakeTime, tokens: TokenServer
) -> None:
    site = client.site(AUTH)
    await site.get_conversation("conv-1")
    fake_time.now += 14400 - 61
    await client.site(AUTH).get_conversation("conv-1")
    assert tokens.issued == ["tok-1"]

    fake_time.now += 2
    await site.get_conversation("conv-1")

    assert tokens.issued == ["tok-1", "tok-2"]


async def test_short_lived_tokens_are_kept_for_half_their_life(
    client: WixClient, fake: FakeWix, fake_time: FakeTime
) -> None:
    server = TokenServer(fake, expires_in=30)
    await client.site(AUTH).get_conversation("conv-1")
    fake_time.now += 14
    await client.site(AUTH).get_conversation("conv-1")
    fake_time.now += 2
    await client.site(AUTH).get_conversation("conv-1")

    assert server.issued == ["tok-1", "tok-2"]


async def test_tokens_are_per_instance(client: WixClient, tokens: TokenServer) -> None:
    other = AppInstanceAuth(app_id="app-1", app_secret=SECRET, instance_id="inst-2")

    await client.site(AUTH).get_conversation("conv-1")
    await client.site(other).get_conversation("conv-1")
    await client.site(AUTH).get_conversation("conv-1")

    assert tokens.issued == ["tok-1", "tok-2"]


async def test_concurrent_callers_share_one_token_request(
    client: WixClient, fake: FakeWix, tokens: TokenServer
) -> None:
    site = client.site(AUTH)

    await asyncio.gather(*(site.get_conversation("conv-1") for _ in range(20)))

    assert len(fake.sent(*TOKEN)) == 1
    assert len(fake.sent(*CONVERSATION)) == 20


async def test_refused_token_is_refreshed_once_for_all_concurrent_callers(
    client: WixClient, fake: FakeWix, tokens: TokenServer
) -> None:
    site = client.site(AUTH)
    await site.get_conversation("conv-1")
    tokens.valid.clear()  # Wix revoked tok-1

    results = await asyncio.gather(*(site.get_conversation("conv-1") for _ in range(10)))

    assert [r.id for r in results] == ["conv-1"] * 10
    assert tokens.issued == ["tok-1", "tok-2"]
    assert {r.headers["authorization"] for r in fake.sent(*CONVERSATION)[-10:]} == {"tok-2"}


async def test_a_second_401_after_refresh_is_raised(client: WixClient, fake: FakeWix, tokens: TokenServer) -> None:
    fake.on(*CONVERSATION, reply(401, {"message": "app not installed"}))

    with pytest.raises(WixUnauthorizedError) as caught:
        await client.site(AUTH).get_conversation("conv-1")

    assert caught.value.message == "app not installed"
    assert tokens.issued == ["tok-1", "tok-2"]
    assert len(fake.sent(*CONVERSATION)) == 2


async def test_401_with_an_api_key_is_raised_at_once(client: WixClient, fake: FakeWix) -> None:
    fake.on(*CONVERSATION, reply(401, {"message": "bad key"}))

    with pytest.raises(WixUnauthorizedError):
        await client.site(ApiKeyAuth(api_key="k", site_id="s")).get_conversation("conv-1")

    assert len(fake.requests) == 1


async def test_refused_credentials_raise_without_the_secret(client: WixClient, fake: FakeWix) -> None:
    fake.on(*TOKEN, reply(400, {"message": "invalid client credentials"}))

    with pytest.raises(WixBadRequestError) as caught:
        await client.site(AUTH).get_conversation("conv-1")

    assert SECRET not in str(caught.value)
    assert SECRET not in repr(caught.value)
    assert fake.sent(*CONVERSATION) == []


async def test_token_endpoint_failures_are_retried(client: WixClient, fake: FakeWix) -> None:
    fake.on(*TOKEN, reply(503, b""), reply(200, {"access_token": "tok-x", "expires_in": 3600}))
    fake.on(*CONVERSATION, reply(200, {"conversation": {"id": "conv-1"}}))

    await client.site(AUTH).get_conversation("conv-1")

    assert len(fake.sent(*TOKEN)) == 2
    assert fake.sent(*CONVERSATION)[0].headers["authorization"] == "tok-x"


async def test_token_endpoint_failure_is_raised_after_the_policy_attempts(fake: FakeWix, fake_time: FakeTime) -> None:
    fake.on(*TOKEN, reply(503, b""))
    async with make_client(fake, fake_time, retry=RetryPolicy(attempts=2)) as wix:
        with pytest.raises(WixServerError):
            await wix.site(AUTH).get_conversation("conv-1")

    assert len(fake.sent(*TOKEN)) == 2


async def test_malformed_token_answer_is_an_error(client: WixClient, fake: FakeWix) -> None:
    fake.on(*TOKEN, reply(200, {"access_token": "t"}))

    with pytest.raises(WixPermanentError, match="access_token or expires_in"):
        await client.site(AUTH).get_conversation("conv-1")


def test_reprs_mask_secrets() -> None:
    key_auth = ApiKeyAuth(api_key="very-secret-key", site_id="site-1")

    assert "very-secret-key" not in repr(key_auth)
    assert "very-secret-key" not in str(key_auth)
    assert "site-1" in repr(key_auth)
    assert SECRET not in repr(AUTH)
    assert "inst-1" in repr(AUTH)


async def test_client_and_site_reprs_hold_no_secrets(client: WixClient, tokens: TokenServer) -> None:
    site = client.site(AUTH)
    await site.get_conversation("conv-1")

    for text in (repr(client), repr(site), repr(client.tokens)):
        assert SECRET not in text
        assert "tok-1" not in text


async def test_a_failed_token_request_leaves_the_callers_send_outcome_known(fake: FakeWix, fake_time: FakeTime) -> None:
    fake.on(*TOKEN, NO_ANSWER_IN_TIME)
    message = Message(
        content=MessageContent(basic=BasicContent(items=[TextItem(text="hi")])),
        direction=Direction.PARTICIPANT_TO_BUSINESS,
        visibility=Visibility.BUSINESS,
    )
    async with make_client(fake, fake_time, retry=RetryPolicy(attempts=2)) as wix:
        with pytest.raises(WixTimeoutError) as caught:
            await wix.site(AUTH).send_message("conv-1", message)

    assert caught.value.outcome_unknown is False
    assert len(fake.sent(*TOKEN)) == 2
    assert fake.sent("POST", "/inbox/v2/messages") == []


async def test_forgotten_token_is_fetched_anew(client: WixClient, tokens: TokenServer) -> None:
    await client.site(AUTH).get_conversation("conv-1")

    client.tokens.forget(AUTH)
    await client.site(AUTH).get_conversation("conv-1")

    assert tokens.issued == ["tok-1", "tok-2"]
