"""Bad-input suite, the service's OpenAPI document: schemathesis generates requests for every operation (webhook
routes, Wix app webhooks, health, the admin API), valid and invalid by the schema, sent with the admin
credentials to a live server. No 5xx, and every refusal says why."""

from __future__ import annotations

import hashlib
import hmac
import os
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx2
import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis import GenerationMode

from inboxbridge.sandbox import SandboxConfig, SandboxServer, SiteConfig
from server.conftest import chat_body
from server.live import CHAT_SECRET, TOKEN, LiveService, settings_for

from .report import Figure, Figures

pytestmark = pytest.mark.slow

EXAMPLES = 150 if os.environ.get("INBOXBRIDGE_CHAOS_LONG", "") not in ("", "0") else 15
SITE = "00000000-0000-4000-8000-00000000c001"
AUTH = {"authorization": f"Bearer {TOKEN}"}


@pytest.fixture
def live(tmp_path: Path) -> Iterator[LiveService]:
    config = SandboxConfig(sites=[SiteConfig(site_id=SITE, name="shop", api_keys=["key-shop"])])
    with (
        SandboxServer(config) as sandbox,
        LiveService(settings_for(sandbox.url, tmp_path / "ib.db", {"shop": SITE})) as service,
    ):
        yield service


def _seed(url: str) -> None:
    """An event, a dead letter and a quarantined request, so that ids 1 and 2 exist."""
    for body in (chat_body("seed-1", "seed@example.com", "hello"), b'{"id": "no-customer"}'):
        signature = hmac.new(CHAT_SECRET.encode(), body, hashlib.sha256).hexdigest()
        httpx2.post(f"{url}/hooks/shop/chat", content=body, headers={"x-signature": signature}, timeout=10)


def _reason(answer: Any) -> str:
    try:
        body = answer.json()
    except ValueError:
        return answer.text
    if isinstance(body, dict):
        return str(body.get("error") or body.get("detail") or "")
    return ""


def test_every_operation_of_the_openapi_document(live: LiveService, figures: Figures) -> None:
    _seed(live.url)
    schema = schemathesis.openapi.from_url(f"{live.url}/openapi.json")
    operations = [result.ok() for result in schema.get_all_operations()]
    counts: Counter[str] = Counter()
    failures: list[str] = []
    for operation in operations:
        for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):

            @settings(
                max_examples=EXAMPLES,
                deadline=None,
                database=None,
                phases=[Phase.generate],
                suppress_health_check=list(HealthCheck),
            )
            @given(case=operation.as_strategy(generation_mode=mode))
            def run(case: Any) -> None:
                answer = case.call(base_url=live.url, headers=AUTH, timeout=30)
                counts["requests"] += 1
                counts[str(answer.status_code)] += 1
                where = f"{case.method} {case.formatted_path}"
                if answer.status_code >= 500:
                    sent = f"{case.query or ''} {case.body if case.body is not None else ''}"
                    failures.append(f"{where} {sent}: {answer.status_code} {answer.text[:200]}")
                elif answer.status_code >= 400 and len(_reason(answer)) < 5:
                    failures.append(f"{where}: {answer.status_code} without a reason: {answer.text[:200]}")

            try:
                run()
            except Unsatisfiable:
                # Nothing in the operation can be made invalid (no parameters, no body).
                assert mode is GenerationMode.NEGATIVE, operation
    server_errors = sum(n for status, n in counts.items() if status.isdigit() and int(status) >= 500)
    figures.record(
        Figure(
            "bad input",
            "schemathesis on /openapi.json",
            f"{len(operations)} operations, valid and schema-violating requests (wrong types, missing and extra "
            "fields), with the admin credentials, against a live server",
            counts["requests"],
            ", ".join(f"{n} x {s}" for s, n in sorted(counts.items()) if s != "requests"),
            None,
            None,
            None,
            server_errors,
            f"{len(failures)} failures",
        )
    )
    assert not failures, "\n".join(failures)


def test_numbers_past_64_bits_are_refused_with_422_not_a_500(live: LiveService) -> None:
    huge = 2**64
    checks = [
        ("GET", f"/admin/api/events?offset={huge}", None),
        ("GET", f"/admin/api/events/{huge}", None),
        ("POST", f"/admin/api/events/{huge}/replay", None),
        ("GET", f"/admin/api/quarantine?offset={huge}", None),
        ("POST", f"/admin/api/quarantine/{huge}/reingest", None),
        ("POST", "/admin/api/dead-letters/replay", {"ids": [huge]}),
        ("POST", "/admin/api/dead-letters/drop", {"ids": [huge]}),
        ("GET", f"/admin/events/{huge}", None),
        ("GET", f"/admin/events?offset={huge}", None),
    ]
    for method, path, body in checks:
        answer = httpx2.request(method, live.url + path, json=body, headers=AUTH, timeout=10)
        assert answer.status_code == 422, (method, path, answer.status_code)
