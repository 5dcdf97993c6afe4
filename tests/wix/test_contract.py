"""The client against the sandbox over real HTTP on 127.0.0.1: every call, every error class, OAuth, rate
limiting, fault injection and paging, as a site integration would meet them.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator, Iterator
from typing import Any

import httpx2
import pytest

from inboxbridge.sandbox import (
    DEMO_API_KEY,
    DEMO_APP_ID,
    DEMO_APP_SECRET,
    DEMO_INSTANCE_ID,
    DEMO_SITE_ID,
    SandboxConfig,
    SandboxServer,
    default_config,
)
from inboxbridge.wix import (
    ApiKeyAuth,
    AppInstanceAuth,
    Badge,
    BasicContent,
    Direction,
    FileItem,
    ImageItem,
    Message,
    MessageContent,
    MinimalContent,
    RetryPolicy,
    SendAs,
    TextItem,
    TokenBucketLimiter,
    Visibility,
    WixBadRequestError,
    WixClient,
    WixConflictError,
    WixForbiddenError,
    WixNotFoundError,
    WixRateLimitedError,
    WixServerError,
    WixSite,
    WixTimeoutError,
    WixUnauthorizedError,
)

KEY_AUTH = ApiKeyAuth(api_key=DEMO_API_KEY, site_id=DEMO_SITE_ID)
APP_AUTH = AppInstanceAuth(app_id=DEMO_APP_ID, app_secret=DEMO_APP_SECRET, instance_id=DEMO_INSTANCE_ID)
GENEROUS_RATE = 1_000_000


def sandbox_config(**changes: Any) -> SandboxConfig:
    """The demo site and app, with a rate limit no test hits unless it lowers it on purpose."""
    return default_config().model_copy(update={"requests_per_minute": GENEROUS_RATE, **changes})


class Admin:
    """The sandbox's admin endpoints."""

    def __init__(self, url: str) -> None:
        self.http = httpx2.Client(base_url=url, timeout=10.0)

    def call(self, method: str, path: str, body: Any = None, **params: Any) -> Any:
        response = self.http.request(method, f"/_sandbox{path}", json=body, params=params or None)
        response.raise_for_status()
        return response.json()

    def requests(self, path_prefix: str) -> list[dict[str, Any]]:
        rows: list[dict[str, Any]] = self.call("GET", "/requests", pathPrefix=path_prefix)["requests"]
        return rows

    def conversations(self) -> list[dict[str, Any]]:
        rows: list[dict[str, Any]] = self.call("GET", f"/sites/{DEMO_SITE_ID}/conversations")["conversations"]
        return rows

    def seed_contacts(self, contacts: list[dict[str, Any]]) -> list[dict[str, Any]]:
        body = {"sites": [{"siteId": DEMO_SITE_ID, "apiKeys": [DEMO_API_KEY], "contacts": contacts}]}
        created: list[dict[str, Any]] = self.call("POST", "/seed", body)["contacts"]
        return created


@pytest.fixture(scope="module")
def server() -> Iterator[SandboxServer]:
    with SandboxServer(sandbox_config()) as sandbox:
        yield sandbox


@pytest.fixture
def admin(server: SandboxServer) -> Iterator[Admin]:
    admin = Admin(server.url)
    admin.call("POST", "/reset")
    yield admin
    admin.http.close()


@pytest.fixture
async def wix(server: SandboxServer, admin: Admin) -> AsyncIterator[WixClient]:
    async with WixClient(server.url, rate_limit_per_second=1000.0, rate_limit_burst=1000) as client:
        yield client


@pytest.fixture
def site(wix: WixClient) -> WixSite:
    return wix.site(KEY_AUTH)


def email() -> str:
    return f"{uuid.uuid4().hex[:10]}@example.com"


def text(body: str, **fields: Any) -> Message:
    return Message(
        content=MessageContent(basic=BasicContent(items=[TextItem(text=body)])),
        direction=Direction.PARTICIPANT_TO_BUSINESS,
        visibility=Visibility.BUSINESS,
        **fields,
    )


async def new_conversation(site: WixSite) -> str:
    contact = await site.create_contact(email=email())
    return (await site.get_or_create_conversation(contact_id=contact.id)).conversation.id


# Contacts


async def test_create_get_and_find_contacts(site: WixSite) -> None:
    address = email()

    created = await site.create_contact(
        email=address, first_name="Ann", last_name="Lee", phone="(415) 555-0142", phone_country="US"
    )
    got = await site.get_contact(created.id)
    by_email = await site.find_contacts_by_email(address, fields=["id"])
    by_primary = await site.find_contacts_by_primary_email(address)
    by_phone = await site.find_contacts_by_phone("+14155550142", fields=["id"])
    by_typed = await site.find_contacts_by_typed_phone(["+14155550142", "(415) 555-0142"], fields=["id"])
    page = await site.query_contacts(filter={"info.emails.email": {"$eq": address}}, fields=["id"], limit=100)

    assert created.primary_info is not None
    assert created.primary_info.email == address
    assert created.emails == [address]
    assert created.info["name"] == {"first": "Ann", "last": "Lee"}
    assert created.created_date is not None
    assert got.response_type == "REGULAR"
    assert got.contact.id == created.id
    assert [c.id for c in by_email] == [created.id]
    assert [c.id for c in by_primary] == [created.id]
    assert [c.id for c in by_phone] == [c.id for c in by_typed] == [created.id]
    assert created.info["phones"]["items"][0]["e164Phone"] == "+14155550142"
    assert (page.count, page.offset, page.total) == (1, 0, 1)
    assert [c.id for c in page.contacts] == [created.id]


async def test_duplicate_email_is_a_conflict_naming_the_existing_contact(site: WixSite) -> None:
    address = email()
    first = await site.create_contact(email=address)

    with pytest.raises(WixConflictError) as caught:
        await site.create_contact(email=address)
    second = await site.create_contact(email=address, allow_duplicates=True)

    assert caught.value.status == 409
    assert caught.value.code == "DUPLICATE_CONTACT_EXISTS"
    assert caught.value.duplicate_contact_id == first.id
    assert caught.value.request_id
    assert {c.id for c in await site.find_contacts_by_email(address)} == {first.id, second.id}


async def test_find_contacts_by_email_follows_pages(site: WixSite, admin: Admin) -> None:
    address = email()
    seeded = admin.seed_contacts(
        [{"info": {"emails": {"items": [{"tag": "MAIN", "email": address}]}}} for _ in range(205)]
    )
    admin.call("DELETE", "/requests")

    everyone = await site.find_contacts_by_email(address, fields=["id"])
    in_fives = await site.find_contacts_by_email(address, fields=["id"], page_size=50)

    assert sorted(c.id for c in everyone) == sorted(c["id"] for c in seeded)
    assert sorted(c.id for c in in_fives) == sorted(c["id"] for c in seeded)
    assert len(admin.requests("/contacts/v4/contacts/query")) == 3 + 5


# Conversations and messages


async def test_conversation_get_or_create_and_get(site: WixSite) -> None:
    contact = await site.create_contact(email=email(), first_name="Ann")

    created = await site.get_or_create_conversation(contact_id=contact.id)
    again = await site.get_or_create_conversation(contact_id=contact.id)
    got = await site.get_conversation(created.conversation.id)

    assert created.new_conversation is True
    assert again.new_conversation is False
    assert again.conversation.id == created.conversation.id
    assert got.id == created.conversation.id
    assert got.participant is not None
    assert got.participant.contact_id == contact.id


async def test_send_basic_and_minimal_messages(site: WixSite, admin: Admin) -> None:
    conversation_id = await new_conversation(site)
    basic = Message(
        content=MessageContent(
            basic=BasicContent(
                items=[
                    TextItem(text="Hello from SMS"),
                    ImageItem(url="https://static.example.com/photo.jpg", filename="photo.jpg"),
                    FileItem(
                        url="https://static.example.com/doc.pdf",
                        filename="doc.pdf",
                        mime_type="application/pdf",
                    ),
                ]
            )
        ),
        direction=Direction.PARTICIPANT_TO_BUSINESS,
        visibility=Visibility.BUSINESS,
        badges=[Badge(text="SMS", icon_url="https://static.example.com/sms.png")],
        silent=True,
    )
    activity = Message(
        content=MessageContent(
            minimal=MinimalContent(
                text="Order #12 shipped",
                icon_url="https://static.example.com/box.png",
                url="https://shop.example.com/orders/12",
            )
        ),
        direction=Direction.BUSINESS_TO_PARTICIPANT,
        visibility=Visibility.BUSINESS,
    )

    sent_basic = await site.send_message(conversation_id, basic, send_as=SendAs.PARTICIPANT)
    sent_activity = await site.send_message(conversation_id, activity)

    assert sent_basic.id
    assert sent_activity.id
    assert sent_basic.sequence is not None
    assert sent_activity.sequence is not None
    assert int(sent_activity.sequence) > int(sent_basic.sequence)
    assert sent_basic.created_date is not None
    assert sent_basic.content.basic is not None and basic.content.basic is not None
    # Wix keeps its own copies of images and files: new URLs and media ids, the rest as sent.
    for kept, sent in zip(sent_basic.content.basic.items, basic.content.basic.items, strict=True):
        if isinstance(sent, ImageItem | FileItem):
            assert type(kept) is type(sent) and kept.url.startswith("https://static.wixstatic.com/media/")
            assert kept.model_copy(update={"url": sent.url, "id": None}) == sent
        else:
            assert kept == sent
    assert sent_basic.badges == basic.badges
    assert sent_activity.content.minimal == activity.content.minimal
    (stored,) = [c for c in admin.conversations() if c["id"] == conversation_id]
    assert [m["id"] for m in stored["messages"]] == [sent_basic.id, sent_activity.id]
    assert stored["messages"][0]["direction"] == "PARTICIPANT_TO_BUSINESS"
    assert stored["messages"][0]["visibility"] == "BUSINESS"


async def test_list_messages_pages_newest_first_with_cursors(site: WixSite) -> None:
    conversation_id = await new_conversation(site)
    sent = [await site.send_message(conversation_id, text(f"message {i}")) for i in range(7)]

    seen: list[str] = []
    pages = 0
    cursor: str | None = None
    while True:
        page = await site.list_messages(conversation_id, limit=3, cursor=cursor)
        pages += 1
        seen.extend(m.id or "" for m in page.messages)
        if page.next_cursor is None:
            break
        cursor = page.next_cursor

    assert seen == [m.id for m in reversed(sent)]
    assert pages == 3
    newest = (await site.list_messages(conversation_id, limit=1)).messages[0]
    assert newest.content.basic is not None
    assert newest.content.basic.items == [TextItem(text="message 6")]


# Errors


async def test_400_validation_error_lists_field_violations(site: WixSite) -> None:
    conversation_id = await new_conversation(site)

    with pytest.raises(WixBadRequestError) as caught:
        await site.send_message(conversation_id, text(""))

    assert caught.value.status == 400
    assert caught.value.field_violations
    assert caught.value.request_id


async def test_401_for_an_unknown_api_key(wix: WixClient) -> None:
    with pytest.raises(WixUnauthorizedError) as caught:
        await wix.site(ApiKeyAuth(api_key="IST.not-a-key", site_id=DEMO_SITE_ID)).query_contacts()

    assert caught.value.status == 401
    assert "IST.not-a-key" not in str(caught.value)


async def test_403_for_a_key_used_on_another_site(wix: WixClient) -> None:
    with pytest.raises(WixForbiddenError) as caught:
        await wix.site(ApiKeyAuth(api_key=DEMO_API_KEY, site_id=str(uuid.uuid4()))).query_contacts()

    assert caught.value.status == 403


async def test_404_conversation_not_found(site: WixSite) -> None:
    missing = str(uuid.uuid4())

    with pytest.raises(WixNotFoundError) as get_caught:
        await site.get_conversation(missing)
    with pytest.raises(WixNotFoundError) as send_caught:
        await site.send_message(missing, text("hi"))
    with pytest.raises(WixNotFoundError) as list_caught:
        await site.list_messages(missing)

    for caught in (get_caught, send_caught, list_caught):
        assert caught.value.code == "CONVERSATION_NOT_FOUND"
        assert caught.value.outcome_unknown is False


async def test_429_when_the_site_is_over_its_rate(server: SandboxServer, admin: Admin) -> None:
    admin.call("PUT", "/rate-limit", {"requestsPerMinute": 1, "siteId": DEMO_SITE_ID})
    async with WixClient(server.url, retry=RetryPolicy.never(), rate_limit_per_second=1000.0) as client:
        site = client.site(KEY_AUTH)
        await site.query_contacts()
        with pytest.raises(WixRateLimitedError) as caught:
            await site.query_contacts()

    assert caught.value.status == 429
    assert caught.value.outcome_unknown is False
    assert caught.value.request_id


@pytest.mark.parametrize("status", [500, 503])
async def test_server_errors_from_fault_injection(server: SandboxServer, admin: Admin, status: int) -> None:
    admin.call("PUT", "/faults", {"errorRates": {str(status): 1.0}, "pathPrefix": "/inbox/", "seed": 1})
    async with WixClient(server.url, retry=RetryPolicy.never(), rate_limit_per_second=1000.0) as client:
        site = client.site(KEY_AUTH)
        contact = await site.create_contact(email=email())
        with pytest.raises(WixServerError) as read_caught:
            await site.get_or_create_conversation(contact_id=contact.id)
        with pytest.raises(WixServerError) as write_caught:
            await site.send_message(str(uuid.uuid4()), text("hi"))

    assert read_caught.value.status == status
    assert write_caught.value.status == status
    assert write_caught.value.outcome_unknown is True
    assert write_caught.value.request_id


# Retries against injected faults


async def test_safe_calls_ride_out_seeded_faults(server: SandboxServer, admin: Admin) -> None:
    admin.call(
        "PUT",
        "/faults",
        {"errorRates": {"500": 0.2, "503": 0.2, "429": 0.1}, "pathPrefix": "/contacts/", "seed": 7},
    )
    retry = RetryPolicy(attempts=8, backoff_initial=0.001, backoff_max=0.01)
    async with WixClient(server.url, retry=retry, rate_limit_per_second=1000.0) as client:
        site = client.site(KEY_AUTH)
        pages = [await site.query_contacts(limit=1) for _ in range(30)]

    statuses = [r["status"] for r in admin.requests("/contacts/v4/contacts/query")]
    assert len(pages) == 30
    assert statuses.count(200) == 30
    assert {500, 503} <= set(statuses)


async def logged_sends(admin: Admin) -> list[dict[str, Any]]:
    """The Send Message requests in the log, once the sandbox has finished answering them all."""
    for _ in range(100):
        sends = [r for r in admin.requests("/inbox/v2/messages") if r["method"] == "POST"]
        if sends:
            return sends
        # The sandbox logs a request when its answer is out, which slowThenSucceed holds back.
        await asyncio.sleep(0.05)
    return []


async def test_send_message_is_not_repeated_when_the_outcome_is_unknown(server: SandboxServer, admin: Admin) -> None:
    async with WixClient(server.url, timeout=0.3, rate_limit_per_second=1000.0) as client:
        site = client.site(KEY_AUTH)
        conversation_id = await new_conversation(site)
        admin.call(
            "PUT",
            "/faults",
            {"slowThenSucceed": {"probability": 1.0, "delayMs": 1000}, "pathPrefix": "/inbox/v2/messages"},
        )
        with pytest.raises(WixTimeoutError) as caught:
            await site.send_message(conversation_id, text("stored although we timed out"))
        admin.call("DELETE", "/faults")
        recent = await site.list_messages(conversation_id, limit=5)

    assert caught.value.outcome_unknown is True
    assert len(await logged_sends(admin)) == 1
    assert [m.content.basic.items for m in recent.messages if m.content.basic] == [
        [TextItem(text="stored although we timed out")]
    ]


# OAuth app instances


async def test_app_instance_calls_share_one_token(wix: WixClient, admin: Admin) -> None:
    site = wix.site(APP_AUTH)

    contact = await site.create_contact(email=email())
    results = await asyncio.gather(*(site.get_contact(contact.id) for _ in range(10)))

    assert {r.contact.id for r in results} == {contact.id}
    assert len(admin.requests("/oauth2/token")) == 1
    calls = admin.requests("/contacts/")
    assert {(r["authKind"], r["tokenSubject"], r["status"]) for r in calls} == {("oauth", DEMO_INSTANCE_ID, 200)}


async def test_wrong_app_secret_is_refused(wix: WixClient) -> None:
    auth = AppInstanceAuth(app_id=DEMO_APP_ID, app_secret="not-the-secret", instance_id=DEMO_INSTANCE_ID)

    with pytest.raises(WixUnauthorizedError) as caught:
        await wix.site(auth).query_contacts()

    assert "not-the-secret" not in str(caught.value)


class ManualClock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


async def test_token_is_renewed_before_it_expires(server: SandboxServer, admin: Admin) -> None:
    clock = ManualClock()
    async with WixClient(server.url, clock=clock, rate_limit_per_second=1000.0) as client:
        site = client.site(APP_AUTH)
        await site.query_contacts()
        clock.now += 14400 - 30
        await site.query_contacts()

    assert len(admin.requests("/oauth2/token")) == 2
    assert [r["status"] for r in admin.requests("/contacts/")] == [200, 200]


async def test_expired_token_is_refreshed_once_on_401() -> None:
    clock = ManualClock()
    with SandboxServer(sandbox_config(token_ttl_seconds=1)) as server:
        admin = Admin(server.url)
        # The client's clock stands still, so it trusts its token until the sandbox says it expired.
        async with WixClient(server.url, clock=clock, rate_limit_per_second=1000.0) as client:
            site = client.site(APP_AUTH)
            await site.query_contacts()
            await asyncio.sleep(1.1)
            await asyncio.gather(*(site.query_contacts() for _ in range(5)))
        statuses = [r["status"] for r in admin.requests("/contacts/")]
        tokens = admin.requests("/oauth2/token")
        admin.http.close()

    assert len(tokens) == 2
    assert statuses.count(401) == 5
    assert statuses.count(200) == 6


# Rate limiting


async def test_an_unpaced_burst_does_meet_429s(server: SandboxServer, admin: Admin) -> None:
    # The control for the test below: the same burst without client pacing overruns the sandbox.
    admin.call("PUT", "/rate-limit", {"requestsPerMinute": 57, "siteId": DEMO_SITE_ID})
    async with WixClient(server.url, retry=RetryPolicy.never(), rate_limit_per_second=1000.0) as client:
        site = client.site(KEY_AUTH)
        outcomes = await asyncio.gather(*(site.query_contacts(limit=1) for _ in range(60)), return_exceptions=True)

    throttled = [o for o in outcomes if isinstance(o, WixRateLimitedError)]
    # The bucket refills a little during the burst, so at most (not exactly) the 3 over the bucket fail.
    assert 1 <= len(throttled) <= 60 - 57
    assert all(not isinstance(o, BaseException) for o in outcomes if o not in throttled)


async def test_a_burst_paced_by_the_client_never_meets_a_429(server: SandboxServer, admin: Admin) -> None:
    per_minute = 57
    # A site of its own: its sandbox bucket starts full, whatever earlier tests spent on the demo site.
    site_id = str(uuid.uuid4())
    admin.call("POST", "/seed", {"sites": [{"siteId": site_id, "apiKeys": ["IST.paced-burst"]}]})
    admin.call("PUT", "/rate-limit", {"requestsPerMinute": per_minute, "siteId": site_id})
    # The sandbox's bucket holds a minute's worth of requests; the client's holds as many and refills a bit
    # slower, so 60 calls need the client to hold the last few back.
    limiter = TokenBucketLimiter(rate=per_minute / 60 * 0.9, burst=per_minute)
    async with WixClient(server.url, retry=RetryPolicy.never(), limiter=limiter) as client:
        site = client.site(ApiKeyAuth(api_key="IST.paced-burst", site_id=site_id))
        pages = await asyncio.gather(*(site.query_contacts(limit=1) for _ in range(60)))

    statuses = [r["status"] for r in admin.requests("/contacts/v4/contacts/query") if r["siteId"] == site_id]
    assert len(pages) == 60
    assert statuses == [200] * 60
