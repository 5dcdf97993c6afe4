"""Security suite, the operator's and the developer's pages: what someone gets who can read a dashboard page, or
lure the operator or a developer to a page of theirs.

- Credentials in quarantined requests (the query parameter a source is configured to read its token from, basic
  auth in headers and in URLs) are masked wherever a request is shown: admin API and dashboard.
- The dashboard's form token is random per browser (a double-submit cookie), not derived from the admin password:
  the old derived token is refused, every forged or mismatched form is refused, and the double-submit works on a
  second service instance that shares nothing with the first.
- The sandbox's /_sandbox routes refuse cross-origin requests and bodies not sent as JSON.
- Every admin API and dashboard answer carries a Content-Security-Policy and the other hardening headers.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import re
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from pathlib import Path
from urllib.parse import urlsplit

import httpx2
import pytest
from starlette.routing import Route

from inboxbridge.config import load_settings
from inboxbridge.sandbox import (
    DEMO_APP_ID,
    DEMO_INSTANCE_ID,
    DEMO_SITE_ID,
    SandboxConfig,
    SandboxServer,
    default_config,
)
from inboxbridge.server import admin_api, create_app, dashboard
from inboxbridge.service import Service

from .report import Figure, Figures

ADMIN_USER, ADMIN_PASSWORD, ADMIN_TOKEN = "operator", "admin-password-0123456789", "admin-token-abcdef0123456789"
URL_TOKEN = "sendgrid-url-token-0123456789abcdef"
BASIC_PASSWORD = "postmark-basic-password-0123456789"
BASIC = "Basic " + base64.b64encode(f"postmark:{BASIC_PASSWORD}".encode()).decode()
SOURCES = {
    # SendGrid posts to a URL carrying the token; this deployment names the parameter "auth".
    "mail": {"type": "sendgrid", "token": URL_TOKEN, "token_parameter": "auth"},
    "inbound": {"type": "postmark", "username": "postmark", "password": BASIC_PASSWORD},
}
HARDENING = {"x-content-type-options": "nosniff", "referrer-policy": "same-origin", "x-frame-options": "DENY"}


@pytest.fixture
def sandbox() -> Iterator[SandboxServer]:
    with SandboxServer(SandboxConfig(sites=[], requests_per_minute=1_000_000)) as server:
        yield server


@asynccontextmanager
async def _service(
    sandbox: SandboxServer, database: Path, *, scheme: str = "http"
) -> AsyncIterator[httpx2.AsyncClient]:
    """The service's app in this process (no worker), a client with the admin's basic-auth credentials;
    ``client.service`` is the running service."""
    settings = load_settings(
        None,
        database_url=f"sqlite:///{database}",
        wix={"base_url": sandbox.url},
        admin={"username": ADMIN_USER, "password": ADMIN_PASSWORD, "token": ADMIN_TOKEN},
        tenants={
            "shop": {
                "wix": {"api_key": "key-shop", "site_id": "00000000-0000-4000-8000-000000000001"},
                "sources": SOURCES,
            }
        },
    )
    service = Service(settings, run_worker=False)
    await service.start()
    try:
        transport = httpx2.ASGITransport(app=create_app(service))
        async with httpx2.AsyncClient(
            transport=transport, base_url=f"{scheme}://bridge.test", auth=(ADMIN_USER, ADMIN_PASSWORD)
        ) as client:
            client.service = service  # type: ignore[attr-defined]
            yield client
    finally:
        await service.stop()


async def test_credentials_are_masked_wherever_a_quarantined_request_is_shown(
    sandbox: SandboxServer, tmp_path: Path, figures: Figures
) -> None:
    async with _service(sandbox, tmp_path / "ib.db") as client:
        # Each passes its source's check and cannot be read: kept in quarantine with its URL and headers.
        token_url = await client.post(
            "/hooks/shop/mail",
            params={"auth": URL_TOKEN, "lang": "en"},
            content=b"not a form",
            headers={"content-type": "text/plain"},
        )
        basic_auth = await client.post(
            "/hooks/shop/inbound",
            content=b"{}",
            headers={"authorization": BASIC, "content-type": "application/json"},
            auth=None,  # the provider's credentials, not the admin's
        )
        # Whatever status each provider is answered with, the answer names the quarantined request.
        quarantined = [token_url.json()["quarantineId"], basic_auth.json()["quarantineId"]]
        # A row as it may already be stored: credentials in the URL's user:password@ and in header values.
        kept = await client.service.ledger.quarantine(  # type: ignore[attr-defined]
            tenant="shop",
            source="inbound",
            reason="kept before this release",
            method="POST",
            url=f"https://postmark:{BASIC_PASSWORD}@bridge.example.com/hooks/shop/mail?auth={URL_TOKEN}",
            headers={
                "authorization": BASIC,
                "x-upstream-credentials": BASIC,
                "x-original-url": f"/hooks/shop/mail?auth={URL_TOKEN}",
                "referer": f"https://postmark:{BASIC_PASSWORD}@mail.example.com/inbound",
            },
            body=b'{"From": ""}',
        )
        ids = [*quarantined, kept]
        views = ["/admin/api/quarantine", "/admin/quarantine"]
        views += [f"/admin/api/quarantine/{i}" for i in ids] + [f"/admin/quarantine/{i}" for i in ids]
        shown = []
        for view in views:
            answer = await client.get(view)
            assert answer.status_code == 200, view
            shown += [(view, secret) for secret in (URL_TOKEN, BASIC_PASSWORD, BASIC) if secret in answer.text]
        assert shown == []

        first = (await client.get(f"/admin/api/quarantine/{ids[0]}")).json()
        assert first["url"].endswith("/hooks/shop/mail?auth=***&lang=en")
        old = (await client.get(f"/admin/api/quarantine/{kept}")).json()
        assert old["url"] == "https://***:***@bridge.example.com/hooks/shop/mail?auth=***"
        assert old["headers"] == {
            "authorization": "***",
            "x-upstream-credentials": "***",
            "x-original-url": "/hooks/shop/mail?auth=***",
            "referer": "https://***:***@mail.example.com/inbound",
        }
        page = (await client.get(f"/admin/quarantine/{kept}")).text
        assert "https://***:***@bridge.example.com/hooks/shop/mail?auth=***" in page
    figures.record(
        Figure(
            "security",
            "credentials shown in quarantine",
            "a SendGrid source reading its token from `?auth=`, Postmark basic auth, and a stored row with "
            "`user:password@` and credentials in header values; every quarantine view of the admin API and the "
            "dashboard searched for them",
            len(views),
            "3 quarantined requests carrying 3 credentials",
            None,
            None,
            None,
            0,
            f"{len(shown)} credentials shown",
        )
    )


def _old_token() -> str:
    """The form token of earlier releases: HMAC(admin password, username), the same for every browser."""
    key = ADMIN_PASSWORD.encode()
    return hmac.new(key, b"inboxbridge-dashboard-csrf:" + ADMIN_USER.encode(), hashlib.sha256).hexdigest()


async def _fresh_token(client: httpx2.AsyncClient) -> str:
    """The form token a browser without the cookie is given."""
    client.cookies.clear()
    match = re.search(r'name="csrf" value="([^"]+)"', (await client.get("/admin/dead-letters")).text)
    assert match is not None
    client.cookies.clear()
    return match.group(1)


async def _quarantine_one(client: httpx2.AsyncClient) -> int:
    answer = await client.post(
        "/hooks/shop/mail", params={"auth": URL_TOKEN}, content=b"x", headers={"content-type": "text/plain"}
    )
    return int(answer.json()["quarantineId"])


async def test_the_form_token_is_a_random_double_submit_cookie_that_any_node_accepts(
    tmp_path: Path, figures: Figures
) -> None:
    with (
        SandboxServer(SandboxConfig(sites=[])) as sandbox_a,
        SandboxServer(SandboxConfig(sites=[])) as sandbox_b,
    ):
        async with (
            _service(sandbox_a, tmp_path / "a.db") as node_a,
            _service(sandbox_b, tmp_path / "b.db") as node_b,
            _service(sandbox_a, tmp_path / "tls.db", scheme="https") as over_https,
        ):
            answer = await node_a.get("/admin/dead-letters")
            cookie = answer.headers["set-cookie"]
            token = node_a.cookies["inboxbridge_csrf"]
            assert f'name="csrf" value="{token}"' in answer.text
            assert re.fullmatch(r"[0-9a-f]{64}", token)
            attributes = {part.strip().lower() for part in cookie.split(";")[1:]}
            assert {"httponly", "samesite=strict", "path=/admin"} <= attributes
            assert "secure" not in attributes
            https_cookie = (await over_https.get("/admin/")).headers["set-cookie"]
            assert "secure" in {part.strip().lower() for part in https_cookie.split(";")}
            # The browser keeps it: later pages carry the same token and set no new cookie.
            again = await node_a.get("/admin/dead-letters")
            assert "set-cookie" not in again.headers
            assert f'name="csrf" value="{token}"' in again.text
            other_token = await _fresh_token(node_a)
            assert len({token, other_token, _old_token()}) == 3

            target = await _quarantine_one(node_a)
            delete = f"/admin/quarantine/{target}/delete"
            with_cookie = {"cookie": f"inboxbridge_csrf={token}"}
            forged: list[tuple[str, dict[str, str], dict[str, str], str]] = [
                ("the old password-derived token", {"csrf": _old_token()}, {}, "no dashboard cookie"),
                ("the old token with the browser's cookie", {"csrf": _old_token()}, with_cookie, "does not match"),
                ("the token without its cookie", {"csrf": token}, {}, "no dashboard cookie"),
                ("the cookie without a token", {}, with_cookie, "does not match"),
                ("another browser's token", {"csrf": other_token}, with_cookie, "does not match"),
                ("from another site", {"csrf": token}, {**with_cookie, "origin": "https://evil.example"}, "cross-site"),
                ("a same-site page", {"csrf": token}, {**with_cookie, "sec-fetch-site": "same-site"}, "cross-site"),
            ]
            for what, form, headers, why in forged:
                node_a.cookies.clear()
                refused = await node_a.post(delete, data=form, headers=headers)
                assert refused.status_code == 403, what
                assert why in refused.json()["detail"], what
            assert "reload the page" in (await node_a.post(delete, data={"csrf": _old_token()})).json()["detail"]
            assert (await node_a.get(f"/admin/api/quarantine/{target}")).status_code == 200

            # Node B never saw this browser: the cookie and the form it came with are all it needs.
            on_b = await _quarantine_one(node_b)
            node_b.cookies.clear()
            done = await node_b.post(f"/admin/quarantine/{on_b}/delete", data={"csrf": token}, headers=with_cookie)
            assert done.status_code == 303
            assert (await node_b.get(f"/admin/api/quarantine/{on_b}")).status_code == 404
    figures.record(
        Figure(
            "security",
            "CSRF token",
            "dashboard form posts with the old password-derived token, without or with a mismatched double-submit "
            "cookie, from another site; then the browser's own cookie and token on a second node sharing nothing",
            len(forged) + 1,
            f"{len(forged)} forged form posts",
            None,
            None,
            None,
            0,
            "forged: all 403, nothing deleted; the genuine post accepted by the other node",
        )
    )


async def test_the_sandbox_refuses_what_a_web_page_can_send(figures: Figures) -> None:
    with SandboxServer(default_config()) as server, httpx2.Client(base_url=server.url, timeout=10) as client:
        port = urlsplit(server.url).port
        page = {"origin": "https://evil.example", "sec-fetch-site": "cross-site", "content-type": "text/plain"}
        install = {"siteId": DEMO_SITE_ID, "instanceId": "6f5e4d3c-2b1a-4098-8765-43210fedcba9"}
        attacks = [
            ("POST", "/_sandbox/reset", {"origin": "https://evil.example"}, None, 403),
            ("POST", "/_sandbox/reset", {"sec-fetch-site": "cross-site"}, None, 403),
            ("POST", f"/_sandbox/apps/{DEMO_APP_ID}/instances", page, install, 403),
            ("POST", f"/_sandbox/apps/{DEMO_APP_ID}/instances", {"content-type": "text/plain"}, install, 415),
            ("DELETE", f"/_sandbox/apps/{DEMO_APP_ID}/instances/{DEMO_INSTANCE_ID}", {"origin": "null"}, None, 403),
            ("POST", "/_sandbox/seed", {"content-type": "application/x-www-form-urlencoded"}, {"sites": []}, 415),
            ("PUT", "/_sandbox/faults", {"content-type": "text/plain"}, {"errorRates": {"503": 1.0}}, 415),
            (
                "POST",
                "/_sandbox/reset",
                {"origin": f"http://evil.example:{port}", "host": f"evil.example:{port}"},
                None,
                403,
            ),
        ]
        for method, path, headers, body, status in attacks:
            content = json.dumps(body).encode() if body is not None else b""
            answer = client.request(method, path, content=content, headers=headers)
            assert answer.status_code == status, (method, path, headers)
        assert client.get("/_sandbox/events").json()["events"] == []
        assert client.get("/_sandbox/faults").json() == {"faults": None}
        assert [s["instances"] for s in client.get("/_sandbox/sites").json()["sites"]] == [
            [{"instanceId": DEMO_INSTANCE_ID, "appId": DEMO_APP_ID}]
        ]
        # The same install as JSON from a tool is served, and the sandbox sends its event.
        assert client.post(f"/_sandbox/apps/{DEMO_APP_ID}/instances", json=install).status_code == 200
        assert len(client.get("/_sandbox/events").json()["events"]) == 1
    figures.record(
        Figure(
            "security",
            "sandbox cross-origin",
            "what a web page can send the sandbox: cross-origin POST and DELETE (Origin, Sec-Fetch-Site, a rebound "
            "name), JSON as text/plain or a form; then the same install as JSON from a tool",
            len(attacks),
            f"{len(attacks)} requests a page could send",
            None,
            None,
            None,
            0,
            "all 403 or 415; no app event signed or sent, nothing reset",
        )
    )


def _admin_routes() -> list[tuple[str, str]]:
    out = []
    for route in [*admin_api.router.routes, *dashboard.router.routes]:
        if isinstance(route, Route):
            path = route.path
            for name in route.param_convertors:
                path = path.replace("{" + name + "}", "1")
            out += [(method, path) for method in sorted(route.methods or ()) if method != "HEAD"]
    return out


def _missing(answer: httpx2.Response) -> list[str]:
    policy = answer.headers.get("content-security-policy", "")
    missing = [name for name, value in HARDENING.items() if answer.headers.get(name) != value]
    if "default-src 'none'" not in policy or "frame-ancestors 'none'" not in policy or "unsafe" in policy:
        missing.append("content-security-policy")
    return missing


async def test_every_admin_answer_carries_the_hardening_headers(
    sandbox: SandboxServer, tmp_path: Path, figures: Figures
) -> None:
    checked = 0
    async with _service(sandbox, tmp_path / "ib.db") as client:
        routes = _admin_routes()
        assert len(routes) >= 20, routes
        bearer = {"authorization": f"Bearer {ADMIN_TOKEN}"}
        for method, path in routes:
            for headers in (bearer, {"authorization": "Bearer wrong"}):
                answer = await client.request(method, path, headers=headers, auth=None)
                assert _missing(answer) == [], (method, path, answer.status_code)
                checked += 1
        invalid = await client.get("/admin/api/events", params={"limit": 0})
        assert invalid.status_code == 422
        assert invalid.json()["detail"][0]["loc"] == ["query", "limit"]
        assert _missing(invalid) == []
        page = await client.get("/admin/")
        nonce = re.search(r"script-src 'nonce-([^']+)'", page.headers["content-security-policy"])
        assert nonce is not None
        assert f'<script nonce="{nonce.group(1)}">' in page.text
        assert f'<style nonce="{nonce.group(1)}">' in page.text
        assert nonce.group(1) not in (await client.get("/admin/")).text  # drawn for each answer
        checked += 3
        docs = await client.get("/docs")
        assert docs.status_code == 200
        assert "content-security-policy" not in docs.headers  # it loads its scripts from a CDN
    figures.record(
        Figure(
            "security",
            "dashboard headers",
            "every admin API and dashboard route, with and without credentials, a 422 and the pages: "
            "Content-Security-Policy, X-Content-Type-Options, Referrer-Policy, X-Frame-Options",
            checked,
            "—",
            None,
            None,
            None,
            0,
            "every answer hardened; /docs left to its own policy",
        )
    )
