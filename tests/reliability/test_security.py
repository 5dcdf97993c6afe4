"""Security suite: constant-time comparisons, admin credentials on every admin route, and, against a running
service with two tenants (an API key and a Wix app instance), that no secret or token ever shows in its logs,
answers, dashboard or admin API, that each tenant's webhooks land only in its own site, and that each site is
only ever called with its own tenant's credentials (the sandbox's request log says who called)."""

from __future__ import annotations

import ast
import base64
import contextlib
import hmac
import secrets
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from starlette.routing import Route

from inboxbridge.providers import WebhookRequest, build_source, parse_source_config
from inboxbridge.sandbox import SandboxConfig, SandboxServer
from inboxbridge.server import admin_api, dashboard

from .connectors import CONNECTORS, PUBLIC
from .inprocess import TENANTS, app_client
from .report import Figure, Figures

SRC = Path(__file__).parents[2] / "src" / "inboxbridge"
ADMIN_USER, ADMIN_PASSWORD, ADMIN_TOKEN = "operator", "admin-password-0123456789", "admin-token-abcdef0123456789"
SECRETISH = ("signature", "digest", "mac", "expected", "given", "token", "secret", "password", "candidate")


def _compared_names(node: ast.Compare) -> str:
    """The compared values' source when both are values computed at run time (a literal on one side compares a
    setting or a name, not a secret)."""
    parts = (node.left, *node.comparators)
    if any(isinstance(part, ast.Constant | ast.Compare) for part in parts):
        return ""
    return " ".join(ast.unparse(part) for part in parts).lower()


def test_no_signature_or_secret_is_compared_with_equals() -> None:
    files = [*sorted((SRC / "providers").rglob("*.py")), SRC / "server" / "auth.py", SRC / "server" / "wix_events.py"]
    found = []
    for path in files:
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Compare) and any(isinstance(op, ast.Eq | ast.NotEq) for op in node.ops):
                names = _compared_names(node)
                if any(word in names for word in SECRETISH):
                    found.append(f"{path.name}:{node.lineno}: {ast.unparse(node)}")
    assert found == []


def test_every_source_verifies_with_compare_digest(monkeypatch: pytest.MonkeyPatch, figures: Figures) -> None:
    calls: list[int] = []
    real = hmac.compare_digest

    def counting(a: Any, b: Any) -> bool:
        calls.append(1)
        return real(a, b)

    monkeypatch.setattr(hmac, "compare_digest", counting)
    monkeypatch.setattr(secrets, "compare_digest", counting)
    checked = 0
    for connector in CONNECTORS:
        source = build_source(connector.name, parse_source_config(connector.config(connector.secret)))
        path = f"/hooks/acme/{connector.name}"
        for secret in (connector.secret, connector.secret[::-1]):
            req = connector.valid(0, path, secret=secret)
            query = {**req.query}
            url = PUBLIC + path + (f"?token={query['token']}" if query else "")
            webhook = WebhookRequest("POST", url, path, query, req.headers, req.body, received_at=datetime.now(UTC))
            calls.clear()
            with contextlib.suppress(Exception):
                source.verify(webhook)
            assert calls, f"{connector.name} verified a request without hmac.compare_digest"
            checked += 1
    figures.record(
        Figure(
            "security",
            "constant-time comparison",
            "no `==` on signatures, secrets or tokens in providers/ and the admin auth (AST scan); every source "
            "verifies genuine and forged requests through `hmac.compare_digest` (counted by monkeypatching)",
            checked,
            f"{checked // 2} forged requests",
            None,
            None,
            None,
            0,
            "",
        )
    )


ADMIN = {"username": ADMIN_USER, "password": ADMIN_PASSWORD, "token": ADMIN_TOKEN}


@pytest.fixture
def sandbox() -> Iterator[SandboxServer]:
    with SandboxServer(SandboxConfig(sites=[], requests_per_minute=1_000_000)) as server:
        yield server


def _admin_routes() -> list[tuple[str, str]]:
    out = []
    for route in [*admin_api.router.routes, *dashboard.router.routes]:
        if isinstance(route, Route) and route.path.startswith("/admin"):
            path = route.path
            for name in route.param_convertors:
                path = path.replace("{" + name + "}", "1")
            out += [(method, path) for method in sorted(route.methods or ()) if method != "HEAD"]
    return out


async def test_admin_api_and_dashboard_refuse_requests_without_the_credentials(
    sandbox: SandboxServer, tmp_path: Path, figures: Figures
) -> None:
    wrong = [
        {},
        {"authorization": "Basic " + base64.b64encode(f"{ADMIN_USER}:wrong".encode()).decode()},
        {"authorization": "Basic " + base64.b64encode(f"someone:{ADMIN_PASSWORD}".encode()).decode()},
        {"authorization": "Bearer wrong-token"},
        {"authorization": f"Bearer {ADMIN_PASSWORD}"},
        {"authorization": "Basic !!notbase64"},
    ]
    right = {"authorization": f"Bearer {ADMIN_TOKEN}"}
    refused = 0
    async with app_client(sandbox, tmp_path / "on.db", admin=ADMIN) as client:
        routes = _admin_routes()
        assert len(routes) >= 20, routes
        for method, path in routes:
            for headers in wrong:
                answer = await client.request(method, path, headers=headers)
                assert answer.status_code == 401, (method, path, headers, answer.status_code)
                refused += 1
            answer = await client.request(method, path, headers=right)
            assert answer.status_code != 401, (method, path)
    async with app_client(sandbox, tmp_path / "off.db") as client:
        for method, path in routes:
            answer = await client.request(method, path, headers=right)
            assert answer.status_code == 403, (method, path, answer.status_code)
            refused += 1
    figures.record(
        Figure(
            "security",
            "admin credentials",
            f"every admin API and dashboard route ({len(routes)} method+path pairs) without, or with wrong, "
            "credentials; and with no [admin] configured",
            refused,
            f"{refused} requests without the right credentials",
            None,
            None,
            None,
            0,
            "all 401 (403 when the admin side is off)",
        )
    )


async def test_a_url_token_is_masked_in_the_quarantine(sandbox: SandboxServer, tmp_path: Path) -> None:
    sendgrid = next(c for c in CONNECTORS if c.name == "sendgrid")
    async with app_client(sandbox, tmp_path / "ib.db", admin=ADMIN) as client:
        req = sendgrid.request(b"not a form", "text/plain")
        answer = await client.post(
            f"/hooks/{TENANTS[0]}/sendgrid", content=req.body, headers=req.headers, params=req.query
        )
        assert answer.status_code == 400
        quarantine_id = answer.json()["quarantineId"]
        auth = {"authorization": f"Bearer {ADMIN_TOKEN}"}
        for path in (
            f"/admin/api/quarantine/{quarantine_id}",
            f"/admin/quarantine/{quarantine_id}",
            "/admin/api/quarantine",
        ):
            page = (await client.get(path, headers=auth)).text
            assert sendgrid.secret not in page and "token=***" in page.replace("%2A", "*"), path
