"""Security suite, signatures: for every source type, a table of forged, missing, tampered and replayed requests
(old timestamps, reused ids), and another tenant's secret on this tenant's URL. Each is refused with 401 and
stores nothing; a repeat of a genuine request is stored once."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from dataclasses import replace

import httpx2
import pytest
import pytest_asyncio

from inboxbridge.sandbox import SandboxServer, default_config
from inboxbridge.service import Service

from .connectors import CONNECTORS, Connector, Req
from .inprocess import TENANTS, app_client, post, tenant_secret
from .report import Figure, Figures
from .support import outcome

DAY = 86_400
TAMPERABLE = {c.name for c in CONNECTORS} - {"sendgrid", "postmark", "mailgun"}
"""Sources whose proof covers the body (SendGrid and Postmark send a bare credential; Mailgun signs only its
timestamp and token)."""


@pytest.fixture(scope="module")
def sandbox() -> SandboxServer:
    with SandboxServer(default_config()) as server:
        yield server  # type: ignore[misc]


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def client(sandbox: SandboxServer, tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[httpx2.AsyncClient]:
    async with app_client(sandbox, tmp_path_factory.mktemp("signatures") / "ib.db") as http:
        yield http


def _strip_proof(connector: Connector, req: Req) -> Req:
    proof_headers = {
        "x-signature",
        "webhook-signature",
        "x-hub-signature",
        "x-crisp-signature",
        "x-twilio-signature",
        "calendly-webhook-signature",
        "stripe-signature",
        "x-shopify-hmac-sha256",
        "authorization",
    }
    headers = {k: v for k, v in req.headers.items() if k not in proof_headers}
    body = req.body
    if connector.name == "mailgun":
        body = b"&".join(p for p in body.split(b"&") if not p.startswith((b"signature=", b"token=")))
    return Req(body, headers, {})


def _tamper(req: Req) -> Req:
    return replace(req, body=req.body.replace(b"e", b"E", 1))


def cases(connector: Connector, path: str, now: int) -> dict[str, Req]:
    """The refused variants of a genuine request."""
    genuine = connector.valid(0, path, now=now)
    out = {
        "forged (wrong secret)": connector.valid(1, path, secret=connector.secret[::-1], now=now),
        "another tenant's secret": connector.valid(2, path, secret=tenant_secret(connector, TENANTS[1]), now=now),
        "missing": _strip_proof(connector, genuine),
    }
    if connector.name in TAMPERABLE:
        out["tampered body"] = _tamper(genuine)
    if connector.timestamped:
        out["replayed a day later"] = connector.valid(3, path, now=now - DAY)
        out["timestamp a day ahead"] = connector.valid(4, path, now=now + DAY)
    return out


ONE_TIME_PROOFS = frozenset({"mailgun"})
"""Sources whose signature covers a one-time token, not the body: each token is accepted once."""


@pytest.mark.asyncio(loop_scope="module")
@pytest.mark.parametrize("connector", CONNECTORS, ids=lambda c: c.name)
async def test_forged_missing_and_replayed_proofs_are_refused(
    client: httpx2.AsyncClient, connector: Connector, figures: Figures
) -> None:
    service: Service = client.service  # type: ignore[attr-defined]
    tenant = TENANTS[0]
    path = f"/hooks/{tenant}/{connector.name}"
    now = int(time.time())
    before = await service.store.ledger.counts(tenant)
    refused = 0
    for case, req in cases(connector, path, now).items():
        answer = await post(client, tenant, connector.name, req)
        assert answer.status_code == 401, (case, answer.status_code, answer.text)
        assert len(answer.json()["error"]) > 10
        refused += 1
    assert await service.store.ledger.counts(tenant) == before, "a refused request stored something"

    genuine = connector.valid(5, path, now=now)
    first = await post(client, tenant, connector.name, genuine)
    assert first.status_code == 202, first.text
    again = await post(client, tenant, connector.name, genuine)
    # Mailgun signs a token, not the mail: a repeat of its token is refused as a replay (its mail was stored once).
    once = connector.name in ONE_TIME_PROOFS
    if once:
        assert again.status_code == 401 and "replayed" in again.json()["error"], again.text
    else:
        assert (again.status_code, outcome(again)["duplicates"]) == (200, outcome(first)["accepted"])
    after = await service.store.ledger.counts(tenant)
    assert sum(after.values()) - sum(before.values()) == outcome(first)["accepted"]
    # The same request on the other tenant's URL is refused: its secrets are not this tenant's.
    other = await post(client, TENANTS[1], connector.name, genuine)
    assert other.status_code == 401, other.text
    figures.record(
        Figure(
            "security",
            f"signatures: {connector.name}",
            "forged, missing, tampered, replayed (old or future timestamp) and cross-tenant proofs; a repeat",
            refused + 3,
            f"{refused + 1} bad proofs, 1 replay of a genuine request",
            None,
            0,
            None,
            0,
            "every bad proof 401, nothing stored; the repeat "
            + ("refused as a replay (401), stored once" if once else "answered 200 and stored once"),
        )
    )
