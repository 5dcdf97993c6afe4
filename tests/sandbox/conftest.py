"""Fixtures: one sandbox server and its clients for the whole package, the sandbox reset before every test."""

from __future__ import annotations

from collections.abc import Iterator

import httpx2
import pytest

from inboxbridge.sandbox import SandboxServer, default_config

from .support import API_HEADERS


@pytest.fixture(scope="package")
def server() -> Iterator[SandboxServer]:
    with SandboxServer(default_config()) as sb:
        yield sb


@pytest.fixture(scope="package")
def admin(server: SandboxServer) -> Iterator[httpx2.Client]:
    """A client of the sandbox's own ``/_sandbox`` endpoints."""
    with httpx2.Client(base_url=server.url + "/_sandbox", timeout=10.0) as client:
        yield client


@pytest.fixture(scope="package")
def anon(server: SandboxServer) -> Iterator[httpx2.Client]:
    """A client with no credentials (for the token endpoint and auth failures)."""
    with httpx2.Client(base_url=server.url, timeout=10.0) as client:
        yield client


@pytest.fixture(scope="package")
def wix(server: SandboxServer) -> Iterator[httpx2.Client]:
    """A client authenticated with the demo API key, as a site owner's integration would be."""
    with httpx2.Client(base_url=server.url, headers=API_HEADERS, timeout=10.0) as client:
        yield client


@pytest.fixture(autouse=True)
def sb(server: SandboxServer, admin: httpx2.Client) -> SandboxServer:
    admin.post("/reset").raise_for_status()
    return server
