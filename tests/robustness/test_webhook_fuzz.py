"""Bad input never gets a 5xx, and every refusal is a clear 4xx with a reason; nothing half-stored."""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import AsyncIterator
from pathlib import Path

import httpx2
import orjson
import pytest
import pytest_asyncio
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from inboxbridge.config import load_settings
from inboxbridge.sandbox import DEMO_API_KEY, DEMO_SITE_ID, SandboxServer, default_config
from inboxbridge.server import create_app
from inboxbridge.service import Service

SECRET = "fuzz-secret"
SETTINGS = {
    "tenants": {
        "fuzz": {
            "wix": {"api_key": DEMO_API_KEY, "site_id": DEMO_SITE_ID},
            "sources": {
                "chat": {
                    "type": "generic",
                    "secret": SECRET,
                    "mapping": {"event_id": "id", "email": "customer.email", "text": "text", "occurred_at": "at"},
                }
            },
        }
    },
    "max_body_bytes": 65536,
}

json_values = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**63), 2**63 - 1) | st.floats(allow_nan=False) | st.text(max_size=40),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=10), inner, max_size=4),
    max_leaves=25,
)
near_valid = st.fixed_dictionaries(
    {},
    optional={
        "id": st.text(max_size=30) | st.integers(0, 2**62) | st.none(),
        "at": st.text(max_size=30) | st.integers(-(2**62), 2**62) | st.floats(allow_nan=False, allow_infinity=False),
        "text": st.text(max_size=50) | st.integers(0, 2**62) | st.lists(st.text(max_size=5), max_size=3),
        "customer": st.fixed_dictionaries(
            {},
            optional={
                "email": st.emails() | st.text(max_size=30) | st.integers(0, 99) | st.lists(st.emails(), max_size=3)
            },
        ),
    },
)
bodies = (
    st.binary(max_size=300)
    | json_values.map(orjson.dumps)
    | near_valid.map(orjson.dumps)
    | st.integers(1, 3000).map(lambda depth: b"[" * depth + b"]" * depth)
    | st.just(b'\xff\xfe{"id": 1}')
)
content_types = st.sampled_from(
    ["application/json", "text/plain", "multipart/form-data", "", "application/x-www-form-urlencoded"]
)


@pytest.fixture(scope="module")
def sandbox() -> SandboxServer:
    with SandboxServer(default_config()) as server:
        yield server  # type: ignore[misc]


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def client(sandbox: SandboxServer, tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[httpx2.AsyncClient]:
    db: Path = tmp_path_factory.mktemp("fuzz") / "ib.db"
    service = Service(
        load_settings(None, **SETTINGS, database_url=f"sqlite:///{db}", wix={"base_url": sandbox.url}),
        run_worker=False,
    )
    await service.start()
    app = create_app(service)
    async with httpx2.AsyncClient(transport=httpx2.ASGITransport(app=app), base_url="http://test") as http:
        http.service = service  # type: ignore[attr-defined]
        yield http
    await service.stop()


@pytest.mark.asyncio(loop_scope="module")
@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(body=bodies, content_type=content_types, signed=st.booleans())
async def test_any_body_gets_a_clear_answer_and_stores_all_or_nothing(
    client: httpx2.AsyncClient, body: bytes, content_type: str, signed: bool
) -> None:
    service: Service = client.service  # type: ignore[attr-defined]
    before = await service.store.ledger.counts("fuzz")
    signature = hmac.new(SECRET.encode(), body, hashlib.sha256).hexdigest() if signed else "00" * 32
    answer = await client.post(
        "/hooks/fuzz/chat", content=body, headers={"content-type": content_type, "x-signature": signature}
    )
    assert answer.status_code < 500, answer.text
    after = await service.store.ledger.counts("fuzz")
    stored = sum(after.values()) - sum(before.values())
    if answer.status_code >= 400:
        reason = answer.json()["error"]
        assert isinstance(reason, str) and len(reason) > 10
        assert stored == 0
    if not signed:
        assert answer.status_code == 401
    if answer.status_code == 202:
        assert stored == answer.json()["accepted"] >= 1
