"""The client's real network path (aiohttp) over loopback: what goes on the wire, and how every way an exchange
can fail comes back as a typed error that says whether Wix may have seen the request.
"""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from collections.abc import Iterator
from typing import Any

import orjson
import pytest

from inboxbridge.sandbox import DEMO_API_KEY, DEMO_SITE_ID, SandboxServer, default_config
from inboxbridge.wix import (
    ApiKeyAuth,
    BasicContent,
    Direction,
    Limits,
    Message,
    MessageContent,
    RetryPolicy,
    TextItem,
    Timeout,
    Visibility,
    WixClient,
    WixConnectionError,
    WixPermanentError,
    WixRateLimitedError,
    WixServerError,
    WixSite,
    WixTimeoutError,
)

from .loopback import LoopbackServer, Received, answer, closed_port, hang_up

KEY_AUTH = ApiKeyAuth(api_key=DEMO_API_KEY, site_id=DEMO_SITE_ID)
SENT = {"message": {"id": "m-1", "direction": "BUSINESS_TO_PARTICIPANT", "visibility": "BUSINESS", "content": {}}}


@pytest.fixture(scope="module")
def sandbox() -> Iterator[SandboxServer]:
    with SandboxServer(default_config().model_copy(update={"requests_per_minute": 1_000_000})) as server:
        yield server


def real_client(url: str, **kwargs: Any) -> WixClient:
    kwargs.setdefault("retry", RetryPolicy.never())
    return WixClient(url, rate_limit_per_second=1000.0, rate_limit_burst=1000, **kwargs)


def text(body: str) -> Message:
    return Message(
        content=MessageContent(basic=BasicContent(items=[TextItem(text=body)])),
        direction=Direction.BUSINESS_TO_PARTICIPANT,
        visibility=Visibility.BUSINESS,
    )


async def send(site: WixSite) -> Message:
    return await site.send_message("conv-1", text("hi"))


# Answers


async def test_a_conversation_round_trip_with_the_sandbox(sandbox: SandboxServer) -> None:
    seen: list[tuple[str, str, int]] = []
    async with real_client(sandbox.url, on_response=lambda m, p, status, _: seen.append((m, p, status))) as wix:
        site = wix.site(KEY_AUTH)
        contact = await site.create_contact(email=f"{uuid.uuid4().hex[:10]}@example.com")
        conversation = (await site.get_or_create_conversation(contact_id=contact.id)).conversation.id
        sent = await site.send_message(conversation, text("héllo ✓"))
        page = await site.list_messages(conversation, limit=5)

    assert sent.id
    assert [m.id for m in page.messages] == [sent.id]
    assert [status for *_, status in seen] == [200, 200, 200, 200]


def test_a_client_built_outside_an_event_loop_works_inside_one(sandbox: SandboxServer) -> None:
    wix = real_client(sandbox.url)

    async def use() -> int:
        async with wix:
            return (await wix.site(KEY_AUTH).query_contacts(limit=1)).count

    assert asyncio.run(use()) >= 0


async def test_what_goes_on_the_wire() -> None:
    async with LoopbackServer(answer(200, SENT)) as server, real_client(server.url) as wix:
        site = wix.site(KEY_AUTH)
        await site.send_message("conv/1", text("héllo"))
        await site.list_messages("conv-1", limit=2, cursor="a+b/c= d")

    post, get = server.received
    assert post.line == "POST /inbox/v2/messages HTTP/1.1"
    assert post.headers["user-agent"] == "inboxbridge"
    assert post.headers["content-type"] == "application/json"
    assert post.headers["authorization"] == DEMO_API_KEY
    assert post.headers["wix-site-id"] == DEMO_SITE_ID
    assert orjson.loads(post.body)["conversationId"] == "conv/1"
    assert "héllo".encode() in post.body
    assert post.body == orjson.dumps(orjson.loads(post.body))
    assert get.line == (
        "GET /inbox/v2/messages?conversationId=conv-1&visibility=BUSINESS&paging.limit=2"
        "&paging.cursor=a%2Bb%2Fc%3D+d HTTP/1.1"
    )
    assert "content-type" not in get.headers
    assert not get.body


async def test_a_number_json_cannot_hold_is_refused_before_sending() -> None:
    async with LoopbackServer(answer(200, {"contacts": []})) as server, real_client(server.url) as wix:
        with pytest.raises(ValueError, match="not JSON compliant"):
            await wix.site(KEY_AUTH).query_contacts(filter={"info.score": {"$gt": float("nan")}})
        await wix.site(KEY_AUTH).query_contacts(filter={"info.birthdate": None})

    assert len(server.received) == 1
    assert orjson.loads(server.received[0].body)["query"]["filter"] == {"info.birthdate": None}


async def test_a_redirect_is_not_followed() -> None:
    redirect = answer(302, b"", headers={"Location": "/elsewhere"})
    async with LoopbackServer(redirect) as server, real_client(server.url) as wix:
        with pytest.raises(WixPermanentError) as caught:
            await wix.site(KEY_AUTH).query_contacts()

    assert caught.value.status == 302
    assert len(server.received) == 1


async def test_an_error_answer_carries_retry_after_and_wix_details() -> None:
    body = {"message": "try later", "details": {"applicationError": {"code": "OVERLOADED"}}}
    headers = {"Retry-After": "7", "x-wix-request-id": "req-503"}
    unavailable = answer(503, body, reason="Service Unavailable", headers=headers)
    async with LoopbackServer(unavailable) as server, real_client(server.url) as wix:
        with pytest.raises(WixServerError) as caught:
            await send(wix.site(KEY_AUTH))

    error = caught.value
    assert (error.status, error.retry_after, error.request_id) == (503, 7.0, "req-503")
    assert (error.message, error.code) == ("try later", "OVERLOADED")
    assert error.outcome_unknown is True


async def test_a_429_with_an_http_date_retry_after() -> None:
    headers = {"Retry-After": "Wed, 21 Oct 2015 07:28:00 GMT"}
    throttled = answer(429, b"", reason="Too Many Requests", headers=headers)
    async with LoopbackServer(throttled) as server, real_client(server.url) as wix:
        with pytest.raises(WixRateLimitedError) as caught:
            await send(wix.site(KEY_AUTH))

    assert caught.value.retry_after == 0.0
    assert caught.value.message == "Too Many Requests"
    assert caught.value.outcome_unknown is False


async def test_a_success_whose_body_is_not_json_is_an_error() -> None:
    async with LoopbackServer(answer(200, b"<html>maintenance</html>")) as server, real_client(server.url) as wix:
        with pytest.raises(WixPermanentError, match="not a JSON object") as caught:
            await send(wix.site(KEY_AUTH))

    assert caught.value.status == 200


async def test_an_error_whose_body_is_not_json_keeps_the_text() -> None:
    bad_gateway = answer(502, b"upstream gone", reason="Bad Gateway")
    async with LoopbackServer(bad_gateway) as server, real_client(server.url) as wix:
        with pytest.raises(WixServerError) as caught:
            await send(wix.site(KEY_AUTH))

    assert (caught.value.status, caught.value.message) == (502, "upstream gone")


# No answer


async def test_a_closed_port_is_a_connection_error_wix_never_saw() -> None:
    statuses: list[int] = []
    url = f"http://127.0.0.1:{closed_port()}"
    async with real_client(url, on_response=lambda *call: statuses.append(call[2])) as wix:
        with pytest.raises(WixConnectionError) as caught:
            await send(wix.site(KEY_AUTH))

    assert caught.value.outcome_unknown is False
    assert caught.value.status is None
    assert statuses == [0]


async def test_no_answer_within_the_read_timeout_leaves_the_outcome_unknown() -> None:
    async with LoopbackServer(answer(200)) as server:
        server.handler = server.never_answer
        async with real_client(server.url, timeout=Timeout(connect=5.0, read=0.2, pool=5.0)) as wix:
            with pytest.raises(WixTimeoutError) as caught:
                await send(wix.site(KEY_AUTH))

    assert caught.value.outcome_unknown is True
    assert "no answer in time" in str(caught.value)
    assert len(server.received) == 1


async def test_a_connection_closed_after_the_request_was_read_leaves_the_outcome_unknown() -> None:
    async with LoopbackServer(hang_up) as server, real_client(server.url) as wix:
        with pytest.raises(WixConnectionError) as caught:
            await send(wix.site(KEY_AUTH))

    assert caught.value.outcome_unknown is True
    assert len(server.received) == 1


@pytest.mark.parametrize(
    "raw",
    [
        pytest.param(b"NOT HTTP AT ALL\r\n\r\n", id="not-http"),
        pytest.param(b"HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n{\"message\":", id="cut-short"),
    ],
)
async def test_a_broken_answer_leaves_the_outcome_unknown(raw: bytes) -> None:
    async def broken(_: Received, writer: asyncio.StreamWriter) -> None:
        writer.write(raw)
        await writer.drain()
        writer.close()

    async with LoopbackServer(broken) as server, real_client(server.url) as wix:
        with pytest.raises(WixConnectionError) as caught:
            await send(wix.site(KEY_AUTH))

    assert caught.value.outcome_unknown is True


async def test_no_free_connection_in_time_is_a_timeout_wix_never_saw() -> None:
    limits = Limits(max_connections=1)
    async with LoopbackServer(answer(200)) as server:
        server.handler = server.never_answer
        async with real_client(server.url, timeout=Timeout(connect=0.2, read=5.0, pool=0.2), limits=limits) as wix:
            site = wix.site(KEY_AUTH)
            holder = asyncio.create_task(send(site))
            while not server.received:
                await asyncio.sleep(0.01)
            with pytest.raises(WixTimeoutError) as caught:
                await send(site)
            holder.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await holder

    assert caught.value.outcome_unknown is False
    assert "no connection in time" in str(caught.value)
    assert len(server.received) == 1


# The environment and the pool


@pytest.fixture
def clean_proxy_env(monkeypatch: pytest.MonkeyPatch) -> pytest.MonkeyPatch:
    for name in ("http_proxy", "https_proxy", "all_proxy", "no_proxy", "REQUEST_METHOD"):
        monkeypatch.delenv(name, raising=False)
        monkeypatch.delenv(name.upper(), raising=False)
    return monkeypatch


async def test_the_proxy_named_in_the_environment_is_used(clean_proxy_env: pytest.MonkeyPatch) -> None:
    async with LoopbackServer(answer(200, SENT)) as proxy:
        clean_proxy_env.setenv("HTTP_PROXY", proxy.url)
        async with real_client("http://wix.test") as wix:
            await send(wix.site(KEY_AUTH))

    assert proxy.received[0].line == "POST http://wix.test/inbox/v2/messages HTTP/1.1"


async def test_hosts_in_no_proxy_are_reached_directly(clean_proxy_env: pytest.MonkeyPatch) -> None:
    clean_proxy_env.setenv("HTTP_PROXY", f"http://127.0.0.1:{closed_port()}")
    clean_proxy_env.setenv("NO_PROXY", "127.0.0.1")
    async with LoopbackServer(answer(200, SENT)) as server, real_client(server.url) as wix:
        await send(wix.site(KEY_AUTH))

    assert server.received[0].line == "POST /inbox/v2/messages HTTP/1.1"


def test_a_proxy_aiohttp_cannot_use_is_refused_up_front(clean_proxy_env: pytest.MonkeyPatch) -> None:
    clean_proxy_env.setenv("ALL_PROXY", "socks5://127.0.0.1:1080")

    with pytest.raises(ValueError, match="socks5"):
        WixClient("https://www.wixapis.com")


async def test_requests_share_one_kept_alive_connection_until_the_client_closes() -> None:
    async with LoopbackServer(answer(200, SENT)) as server:
        async with real_client(server.url) as wix:
            site = wix.site(KEY_AUTH)
            for _ in range(3):
                await send(site)
        for _ in range(500):
            if server.connections_closed_by_client:
                break
            await asyncio.sleep(0.01)

    assert len(server.received) == 3
    assert (server.connections, server.connections_closed_by_client) == (1, 1)


async def test_a_closed_client_refuses_to_send() -> None:
    async with LoopbackServer(answer(200, SENT)) as server:
        wix = real_client(server.url)
        await send(wix.site(KEY_AUTH))
        await wix.aclose()

        with pytest.raises(RuntimeError, match="closed"):
            await send(wix.site(KEY_AUTH))
