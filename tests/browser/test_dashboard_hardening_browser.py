"""The dashboard's hardening in real headless Chromium: every page renders and runs its script under its
Content-Security-Policy without a single violation, the form token's cookie is HttpOnly and SameSite=Strict, and
a form posts with it; a browser that lost the cookie is refused with a message saying to reload, and a reload
makes the form work again."""

from __future__ import annotations

import hashlib
import hmac
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx2
import pytest

from e2e.harness import wait_until
from inboxbridge.sandbox import SandboxConfig, SandboxServer, SiteConfig
from server.conftest import SITES, chat_body
from server.live import ADMIN, CHAT_SECRET, LiveService, settings_for

CHROMIUM = "/usr/bin/chromium"
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--no-first-run"]
# Every violation the page sees, gathered before any of its own scripts run.
WATCH_CSP = """
window.cspViolations = [];
document.addEventListener("securitypolicyviolation", function (e) {
  window.cspViolations.push(e.violatedDirective + " " + e.blockedURI);
});
"""

playwright_api = pytest.importorskip("playwright.sync_api")
if shutil.which(CHROMIUM) is None:
    pytest.skip(f"{CHROMIUM} is not installed (apt-get install chromium)", allow_module_level=True)


@pytest.fixture
def live(tmp_path: Path) -> Iterator[LiveService]:
    config = SandboxConfig(
        sites=[SiteConfig(site_id=site, name=name, api_keys=[f"key-{name}"]) for name, site in SITES.items()],
        requests_per_minute=1_000_000,
    )
    with SandboxServer(config) as sandbox, LiveService(settings_for(sandbox.url, tmp_path / "ib.db", SITES)) as live:
        yield live


def _post(live: LiveService, body: bytes) -> httpx2.Response:
    signature = hmac.new(CHAT_SECRET.encode(), body, hashlib.sha256).hexdigest()
    return httpx2.post(f"{live.url}/hooks/shop/chat", content=body, headers={"x-signature": signature})


def _seed(live: LiveService) -> None:
    """One delivered event and one quarantined request."""
    assert _post(live, chat_body("ok1", "ana@example.com", "Is my order ready?")).status_code == 202
    event = f"{live.url}/admin/api/events/1"
    wait_until(lambda: httpx2.get(event, auth=ADMIN).json()["status"] == "delivered", what="the delivery")
    assert _post(live, b'{"id": "q1", "at": "2026-11-26T10:00:00Z", "text": "no customer"}').status_code == 400


def test_pages_run_under_their_policy_and_forms_post_with_the_cookie(live: LiveService) -> None:
    _seed(live)
    with playwright_api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS, headless=True)
        try:
            context = browser.new_context(http_credentials={"username": ADMIN[0], "password": ADMIN[1]})
            context.add_init_script(WATCH_CSP)
            page = context.new_page()
            console: list[str] = []
            page.on("console", lambda message: console.append(message.text))
            dialogs: list[str] = []

            def accept(dialog: Any) -> None:
                dialogs.append(dialog.message)
                dialog.accept()

            page.on("dialog", accept)

            for path in ("/admin/", "/admin/events", "/admin/events/1", "/admin/dead-letters", "/admin/quarantine"):
                answer = page.goto(live.url + path)
                assert answer is not None and answer.status == 200, path
                headers = answer.headers
                assert "script-src 'nonce-" in headers["content-security-policy"], path
                assert headers["x-content-type-options"] == "nosniff"
                assert headers["referrer-policy"] == "same-origin"
                # The nonce'd style sheet applies: the header bar is dark.
                header_color = page.evaluate("getComputedStyle(document.querySelector('header')).backgroundColor")
                assert header_color == "rgb(11, 26, 51)", path
                assert page.evaluate("window.cspViolations") == [], path

            (cookie,) = [c for c in context.cookies() if c["name"] == "inboxbridge_csrf"]
            assert (cookie["httpOnly"], cookie["sameSite"], cookie["path"], cookie["secure"]) == (
                True,
                "Strict",
                "/admin",
                False,
            )
            assert "inboxbridge_csrf" not in page.evaluate("document.cookie")

            # The dashboard's script runs (it asks before deleting), and the form posts with the cookie.
            page.goto(f"{live.url}/admin/quarantine/1")
            page.click("button:has-text('Delete')")
            assert dialogs == ["Delete this request for good?"]
            assert page.locator(".notice").inner_text() == "Deleted the quarantined request."
            assert page.evaluate("window.cspViolations") == []

            # A browser that lost the cookie (cleared, or the browser restarted) is told to reload ...
            page.goto(f"{live.url}/admin/dead-letters?tenant=shop")
            context.clear_cookies()
            with page.expect_response(lambda r: r.url.endswith("/admin/dead-letters/replay")) as refused:
                page.click("#replay-all")
            assert refused.value.status == 403
            assert "reload the page" in page.locator("body").inner_text()
            # ... and after the reload the same form goes through.
            page.goto(f"{live.url}/admin/dead-letters?tenant=shop")
            page.click("#replay-all")
            assert page.locator(".notice").inner_text() == "Replayed 0 event(s): back in the queue."
            assert page.evaluate("window.cspViolations") == []
            assert [line for line in console if "Content Security Policy" in line] == []
        finally:
            browser.close()
