from __future__ import annotations

import signal
from collections.abc import Iterator
from pathlib import Path

import pytest

from inboxbridge.sandbox import SandboxServer

from .harness import Inbox, ServiceProcess, free_port, site_id, start_sandbox, write_config

TENANTS = {
    "shop": {},
    "everyone": {"contacts": "all"},
    "newest": {"contacts": "newest"},
    "oldest": {"contacts": "oldest"},
    "strict": {"missing_contact": "skip"},
    "revoked": {},
    "cautious": {"strict_conversations": True},
}


@pytest.fixture(scope="module")
def sandbox() -> Iterator[SandboxServer]:
    server = start_sandbox(list(TENANTS))
    yield server
    server.stop()


@pytest.fixture
def shop_sandbox() -> Iterator[SandboxServer]:
    """A sandbox of the test's own with one site (the ``shop`` tenant's): for tests that set faults, stop
    processes or count the calls they make."""
    server = start_sandbox(["shop"])
    yield server
    server.stop()


@pytest.fixture(scope="module")
def service(sandbox: SandboxServer, tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServiceProcess]:
    work = tmp_path_factory.mktemp("service")
    port = free_port()
    config = write_config(work / "inboxbridge.toml", sandbox.url, TENANTS, port=port, database=work / "ib.db")
    proc = ServiceProcess(config, port, work / "service.log").start()
    yield proc
    # uvicorn re-raises SIGTERM after its graceful shutdown, so the exit status names the signal.
    assert proc.stop() in (0, -signal.SIGTERM), (work / "service.log").read_text()[-3000:]


def inbox(sandbox: SandboxServer, tenant: str) -> Inbox:
    return Inbox(sandbox.url, site_id(list(TENANTS).index(tenant)))


@pytest.fixture
def database(service: ServiceProcess) -> Path:
    return service.config.parent / "ib.db"
