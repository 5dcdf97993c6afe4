"""Bad-input suite: fuzzed and property-based requests against every webhook route (each source type), proven
with the right secret so that the parsers are reached. No 5xx, each refusal a 4xx with a reason, nothing
half-stored: a request stores all its events or none."""

from __future__ import annotations

import json
import os
import time
from collections import Counter
from collections.abc import AsyncIterator
from urllib.parse import urlencode

import httpx2
import pytest
import pytest_asyncio
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from inboxbridge.sandbox import SandboxServer, default_config
from inboxbridge.service import Service

from .connectors import CONNECTORS, Connector
from .inprocess import TENANTS, app_client, post
from .report import Figure, Figures
from .support import outcome

EXAMPLES = 400 if os.environ.get("INBOXBRIDGE_CHAOS_LONG", "") not in ("", "0") else 40
MAX_BODY = 65536


def _dumps(value: object) -> bytes:
    # The standard library writes what orjson refuses: integers past 64 bits, NaN and infinities.
    return json.dumps(value).encode()


json_values = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**70), 2**70) | st.floats() | st.text(max_size=40),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=10), inner, max_size=4),
    max_leaves=30,
)
odd_emails = (
    st.sampled_from(
        [
            "ANA@EXAMPLE.COM",
            " ana@example.com ",
            "ana@example",
            "@example.com",
            "ana@",
            "ana@@example.com",
            "<ana@example.com>",
            "Ana <ana@example.com>",
            "ana@example.com, bo@example.com",
            "ana+tag@exämple.com",
            "änä@example.com",
            "ana@[127.0.0.1]",
            "a" * 300 + "@example.com",
            "",
            "null",
            "ana@example.com\x00",
        ]
    )
    | st.emails()
    | st.text(max_size=40)
)
odd_phones = st.sampled_from(
    [
        "+1 (415) 555-0123",
        "415.555.0123",
        "00 44 20 7946 0958",
        "tel:+14155550123",
        "+999999999999999999",
        "555",
        "+1-800-FLOWERS",
        "٠١٢٣٤٥٦٧٨٩",
        "",
        "+",
        "++14155550123",
        "1" * 80,
    ]
) | st.text(max_size=20)
customer = st.fixed_dictionaries(
    {},
    optional={
        "email": odd_emails | st.integers() | st.lists(odd_emails, max_size=3) | st.none(),
        "phone": odd_phones | st.integers() | st.none(),
        "name": st.text(max_size=30) | st.integers(),
    },
)
near_valid = st.fixed_dictionaries(
    {},
    optional={
        "id": st.text(max_size=30) | st.integers() | st.none() | st.lists(st.integers(), max_size=2),
        "at": st.text(max_size=30)
        | st.integers(-(2**62), 2**62)
        | st.floats()
        | st.sampled_from(
            ["2026-02-30T10:00:00Z", "9999-12-31T23:59:59Z", "0001-01-01T00:00:00Z", "2026-11-26T10:00:00+25:00"]
        ),
        "text": st.text(max_size=60) | st.integers() | st.lists(st.text(max_size=5), max_size=3),
        "customer": customer | st.text(max_size=5),
    },
)
deep = st.integers(1, 5000).map(lambda d: b"[" * d + b"]" * d) | st.integers(1, 3000).map(
    lambda d: b'{"a":' * d + b"1" + b"}" * d
)
bodies = (
    st.binary(max_size=400)
    | json_values.map(_dumps)
    | near_valid.map(_dumps)
    | deep
    | st.sampled_from([b'\xff\xfe{"id": 1}', b'{"id": "\xed\xa0\x80"}', b"", b"null", b"{" * 10, b'"\\ud800"'])
    | st.integers(MAX_BODY - 10, MAX_BODY + 10).map(lambda n: b'{"text": "' + b"x" * n + b'"}')
)
content_types = st.sampled_from(
    [
        "application/json",
        "text/plain",
        "multipart/form-data",
        "multipart/form-data; boundary=x",
        "",
        "application/x-www-form-urlencoded",
        "application/json; charset=latin-1",
        "text/html; charset=utf-8",
    ]
)
form_fields = st.dictionaries(
    st.sampled_from(
        [
            "From",
            "To",
            "Body",
            "MessageSid",
            "CallSid",
            "CallStatus",
            "CallDuration",
            "NumMedia",
            "MediaUrl0",
            "Direction",
            "from",
            "recipient",
            "subject",
            "body-plain",
            "Message-Id",
            "attachments",
            "message-headers",
            "stripped-text",
            "Timestamp",
        ]
    )
    | st.text(max_size=8),
    odd_phones | odd_emails | st.text(max_size=60) | st.integers().map(str),
    max_size=10,
)


@pytest.fixture(scope="module")
def sandbox() -> SandboxServer:
    with SandboxServer(default_config()) as server:
        yield server  # type: ignore[misc]


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def client(sandbox: SandboxServer, tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[httpx2.AsyncClient]:
    async with app_client(sandbox, tmp_path_factory.mktemp("bad") / "ib.db", max_body_bytes=MAX_BODY) as http:
        yield http


@pytest.fixture(scope="module")
def tally(figures: Figures) -> AsyncIterator[Counter[str]]:
    counts: Counter[str] = Counter()
    yield counts  # type: ignore[misc]
    figures.record(
        Figure(
            "bad input",
            "fuzzed webhooks, every source type",
            "hypothesis: random bytes, JSON of every shape, near-valid payloads with wrong types, odd emails and "
            "phones, invalid UTF-8, 5,000-deep nesting, bodies around the size limit, wrong content types; "
            f"proven with the right secret, against {len(CONNECTORS)} source types",
            counts["requests"],
            ", ".join(f"{n} x {s}" for s, n in sorted(counts.items()) if s != "requests"),
            None,
            0,
            None,
            counts["5xx"],
            "each 4xx with a reason; every request stored all its events or none",
        )
    )


async def check(
    client: httpx2.AsyncClient,
    counts: Counter[str],
    connector: Connector,
    req_body: bytes,
    content_type: str,
    *,
    form: dict[str, str] | None = None,
) -> None:
    service: Service = client.service  # type: ignore[attr-defined]
    tenant = TENANTS[0]
    path = f"/hooks/{tenant}/{connector.name}"
    if form is not None:
        assert connector.form is not None
        req = connector.form(form, connector.secret, int(time.time()), path)
    else:
        req = connector.request(req_body, content_type, path=path)
    before = await service.store.ledger.counts(tenant)
    answer = await post(client, tenant, connector.name, req)
    after = await service.store.ledger.counts(tenant)
    counts["requests"] += 1
    counts[str(answer.status_code)] += 1
    if answer.status_code >= 500:
        counts["5xx"] += 1
    assert answer.status_code < 500, (connector.name, answer.status_code, answer.text[:500])
    stored = sum(after.values()) - sum(before.values())
    reply = outcome(answer)
    if answer.status_code >= 400:
        assert isinstance(reply["error"], str) and len(reply["error"]) > 10, reply
        assert stored == 0, "a refused request stored events"
    elif answer.status_code == 202:
        assert stored == reply["accepted"] >= 1
    else:
        assert stored == 0 and answer.status_code == 200


@pytest.mark.asyncio(loop_scope="module")
@pytest.mark.parametrize("connector", [c for c in CONNECTORS if c.sign is not None], ids=lambda c: c.name)
@settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=list(HealthCheck), database=None)
@given(body=bodies, content_type=content_types)
async def test_any_signed_body_gets_a_clear_answer(
    client: httpx2.AsyncClient, tally: Counter[str], connector: Connector, body: bytes, content_type: str
) -> None:
    await check(client, tally, connector, body, content_type)


@pytest.mark.asyncio(loop_scope="module")
@pytest.mark.parametrize("connector", [c for c in CONNECTORS if c.sign is None], ids=lambda c: c.name)
@settings(max_examples=EXAMPLES * 2, deadline=None, suppress_health_check=list(HealthCheck), database=None)
@given(fields=form_fields)
async def test_any_signed_form_gets_a_clear_answer(
    client: httpx2.AsyncClient, tally: Counter[str], connector: Connector, fields: dict[str, str]
) -> None:
    await check(client, tally, connector, urlencode(fields).encode(), "", form=fields)
