"""The dashboard in real headless Chromium (Debian's ``chromium``, driven by Playwright): log in, find an event
by email, open it, replay a dead letter and see it delivered; without credentials the page is refused.
Screenshots of the main pages go to test-artifacts/screenshots/."""

from __future__ import annotations

import hashlib
import hmac
import shutil
from collections.abc import Iterator
from pathlib import Path

import httpx2
import pytest

from e2e.harness import wait_until
from inboxbridge.sandbox import SandboxConfig, SandboxServer, SiteConfig
from server.conftest import SITES, chat_body
from server.live import ADMIN, CHAT_SECRET, LiveService, settings_for

CHROMIUM = "/usr/bin/chromium"
SHOTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "screenshots"
ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]

playwright_api = pytest.importorskip("playwright.sync_api")
if shutil.which(CHROMIUM) is None:
    pytest.skip(f"{CHROMIUM} is not installed (apt-get install chromium)", allow_module_level=True)


@pytest.fixture
def live(tmp_path: Path) -> Iterator[tuple[LiveService, SandboxServer]]:
    config = SandboxConfig(
        sites=[SiteConfig(site_id=site, name=name, api_keys=[f"key-{name}"]) for name, site in SITES.items()],
        requests_per_minute=1_000_000,
    )
    with SandboxServer(config) as sandbox, LiveService(settings_for(sandbox.url, tmp_path / "ib.db", SITES)) as live:
        yield live, sandbox


def _post(live: LiveService, tenant: str, body: bytes) -> httpx2.Response:
    signature = hmac.new(CHAT_SECRET.encode(), body, hashlib.sha256).hexdigest()
    return httpx2.post(f"{live.url}/hooks/{tenant}/chat", content=body, headers={"x-signature": signature})


def _status(live: LiveService, event_id: int) -> str:
    return str(httpx2.get(f"{live.url}/admin/api/events/{event_id}", auth=ADMIN).json()["status"])


def _seed(live: LiveService, sandbox: SandboxServer) -> int:
    """A few delivered events, one dead letter (Wix kept answering 503) and one quarantined request."""
    for i, (email, text) in enumerate(
        [
            ("ana@example.com", "Is my order ready?"),
            ("bo@example.com", "Can I change the size?"),
            ("ana@example.com", "Thanks, see you at 5!"),
        ]
    ):
        assert _post(live, "shop", chat_body(f"ok{i}", email, text)).status_code == 202
    assert _post(live, "cafe", chat_body("c1", "cy@example.com", "Table for two tonight?")).status_code == 202
    delivered = f"{live.url}/admin/api/events?status=delivered"
    wait_until(lambda: len(httpx2.get(delivered, auth=ADMIN).json()) == 4, what="four deliveries")
    httpx2.put(f"{sandbox.url}/_sandbox/faults", json={"errorRates": {"503": 1.0}, "pathPrefix": "/inbox/v2/messages"})
    dead = _post(live, "shop", chat_body("d1", "dee@example.com", "Where is my parcel?")).json()["eventIds"][0]
    wait_until(lambda: _status(live, dead) == "dead", what="the dead letter")
    httpx2.delete(f"{sandbox.url}/_sandbox/faults")
    assert _post(live, "shop", b'{"id": "q1", "at": "2026-11-26T10:00:00Z", "text": "no customer"}').status_code == 400
    return int(dead)


def test_operator_finds_an_event_and_replays_a_dead_letter(live: tuple[LiveService, SandboxServer]) -> None:
    service, sandbox = live
    dead_id = _seed(service, sandbox)
    SHOTS.mkdir(parents=True, exist_ok=True)
    with playwright_api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS, headless=True)
        try:
            anonymous = browser.new_context().new_page()
            # Headless Chromium, asked for credentials it does not have, abandons the navigation.
            with (
                anonymous.expect_response(f"{service.url}/admin/") as answer,
                pytest.raises(playwright_api.Error, match="ERR_INVALID_AUTH_CREDENTIALS"),
            ):
                anonymous.goto(f"{service.url}/admin/")
            assert answer.value.status == 401

            context = browser.new_context(
                http_credentials={"username": ADMIN[0], "password": ADMIN[1]}, viewport={"width": 1280, "height": 800}
            )
            page = context.new_page()
            page.goto(f"{service.url}/admin/")
            shop = page.locator("tr[data-tenant=shop]")
            assert shop.locator("td").nth(2).inner_text() == "4"
            assert shop.locator("td").nth(6).inner_text() == "1"
            page.screenshot(path=str(SHOTS / "overview.png"), full_page=True)

            page.click("text=Events")
            page.fill("input[name=customer]", "ana@example.com")
            page.click("button:has-text('Search')")
            rows = page.locator("#events tbody tr")
            assert rows.count() == 2
            assert "Thanks, see you at 5!" in rows.first.inner_text()
            page.screenshot(path=str(SHOTS / "events.png"), full_page=True)
            rows.first.locator("a").first.click()
            assert "email:ana@example.com" in page.locator("dl").inner_text()
            assert '"text": "Thanks, see you at 5!"' in page.locator("#rendered").inner_text()
            assert "delivered" in page.locator("#attempts").inner_text()
            assert page.locator("a:has-text('sandbox Inbox page')").get_attribute("href") == (
                f"{sandbox.url}/?site={SITES['shop']}"
            )
            page.screenshot(path=str(SHOTS / "event.png"), full_page=True)

            page.click("text=Dead letters")
            assert page.locator(f"tr[data-event='{dead_id}']").count() == 1
            assert "gave up after 2 tries: Wix 503" in page.locator("#events").inner_text()
            page.screenshot(path=str(SHOTS / "dead-letters.png"), full_page=True)
            page.click(f"tr[data-event='{dead_id}'] a")
            page.click("#replay")
            assert "Replayed 1 event(s)" in page.locator(".notice").inner_text()

            def delivered() -> bool:
                page.reload()
                return page.locator("h1 .pill").inner_text() == "delivered"

            wait_until(delivered, what="the replayed dead letter to be delivered")
            page.screenshot(path=str(SHOTS / "replayed.png"), full_page=True)

            page.click("text=Quarantine")
            assert "the event names no customer" in page.locator("#quarantine").inner_text()
            page.locator("#quarantine tbody tr a").first.click()
            assert "no customer" in page.locator("#body").inner_text()
            page.screenshot(path=str(SHOTS / "quarantine.png"), full_page=True)
        finally:
            browser.close()
