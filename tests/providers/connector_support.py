"""Requests and documented configs for the provider connector tests."""

from __future__ import annotations

import json
import re
import tomllib
from collections.abc import Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlencode, urlsplit

import pytest

from inboxbridge.events import InboundEvent
from inboxbridge.providers import Source, SourceError, WebhookRequest, build_source, parse_source_config
from inboxbridge.providers.helpers.clock import Clock

FIXTURES = Path(__file__).parent / "fixtures"
DOCS = Path(__file__).parents[2] / "docs" / "sources"
NOW = datetime(2026, 11, 3, 12, 0, 30, tzinfo=UTC)
URL = "https://bridge.example.com/hooks/acme/src"


def fixture(name: str) -> Any:
    """A provider's documented example payload from tests/providers/fixtures/<name>.json."""
    return json.loads((FIXTURES / f"{name}.json").read_text())


def request(
    body: bytes, headers: Mapping[str, str] | None = None, *, url: str = URL, received_at: datetime = NOW
) -> WebhookRequest:
    """A POST of ``body`` to ``url``."""
    parts = urlsplit(url)
    query = dict(pair.split("=", 1) for pair in parts.query.split("&") if "=" in pair)
    return WebhookRequest("POST", url, parts.path, query, dict(headers or {}), body, received_at)


def form_body(params: Mapping[str, str]) -> bytes:
    """``params`` form-encoded as Twilio sends them."""
    return urlencode(params).encode()


def doc_sources(name: str) -> dict[str, dict[str, Any]]:
    """The source tables of every TOML block in docs/sources/<name>.md."""
    sources: dict[str, dict[str, Any]] = {}
    for block in re.findall(r"```toml\n(.*?)```", (DOCS / f"{name}.md").read_text(), flags=re.S):
        document = tomllib.loads(block)
        for tenant in document.get("tenants", {}).values():
            sources.update(tenant["sources"])
    return sources


def source_from(table: Mapping[str, Any], *, name: str = "src", clock: Clock | None = None) -> Source:
    """The source a config table describes (the delivery table left to the service)."""
    config = {k: v for k, v in table.items() if k != "delivery"}
    return build_source(name, parse_source_config(config), clock=clock or (lambda: NOW))


def one(source: Source, req: WebhookRequest) -> InboundEvent:
    """The single event a verified request carries."""
    source.verify(req)
    events = source.parse(req, tenant="acme")
    assert len(events) == 1, events
    return events[0]


def refused(call: Any, req: WebhookRequest, status: int) -> str:
    """The reason ``call(req)`` refuses the request with, checking its status."""
    with pytest.raises(SourceError) as caught:
        call(req) if call.__name__ == "verify" else call(req, tenant="acme")
    assert caught.value.status == status, caught.value
    return caught.value.reason
