"""Several inboxbridge nodes on one PostgreSQL schema, for the scale-out tests.

The schema is new per test and dropped afterwards; ``INBOXBRIDGE_TEST_POSTGRES_URL`` names the server (default:
the CI machine's). An unreachable server fails the test with its address, it is not skipped.
"""

from __future__ import annotations

import asyncio
import os
import secrets
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import asyncpg
import pytest

from .harness import ServiceProcess, free_port, write_config

DEFAULT_URL = "postgresql://postgres@127.0.0.1:5432/test"


def server_url() -> str:
    return os.environ.get("INBOXBRIDGE_TEST_POSTGRES_URL", DEFAULT_URL)


async def _execute(statement: str) -> None:
    try:
        connection = await asyncpg.connect(server_url(), timeout=5)
    except (OSError, asyncpg.PostgresError) as exc:
        message = f"PostgreSQL is not reachable at {server_url()} ({exc}); the scale-out tests need it"
        pytest.fail(message, pytrace=False)
    try:
        await connection.execute(statement)
    finally:
        await connection.close()


@contextmanager
def postgres_schema() -> Iterator[str]:
    """A store URL on a fresh schema, migrated with ``inboxbridge migrate``; the schema is dropped at the end."""
    name = f"ib_e2e_{secrets.token_hex(4)}"
    asyncio.run(_execute(f'CREATE SCHEMA "{name}"'))
    sep = "&" if "?" in server_url() else "?"
    try:
        yield f"{server_url()}{sep}search_path={name}&pool_size=5&max_overflow=5"
    finally:
        asyncio.run(_execute(f'DROP SCHEMA "{name}" CASCADE'))


def migrate(config: Path) -> None:
    """Run ``inboxbridge migrate`` with a node's config, as an operator would before starting the nodes."""
    done = subprocess.run(
        [sys.executable, "-m", "inboxbridge", "migrate", "--config", str(config)],
        cwd=config.parent,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    assert "schema up to date" in done.stdout


def start_nodes(
    count: int,
    sandbox_url: str,
    tenants: dict[str, dict[str, Any]],
    database_url: str,
    work: Path,
    *,
    concurrency: int = 16,
    burst: int = 10,
    **options: Any,
) -> list[ServiceProcess]:
    """``count`` service processes on one database (migrated first), each with its own port, config and log."""
    nodes = []
    for n in range(count):
        folder = work / f"node{n}"
        folder.mkdir()
        port = free_port()
        config = write_config(
            folder / "inboxbridge.toml", sandbox_url, tenants, port=port, database=folder / "unused.db", **options
        )
        text = config.read_text().replace("concurrency = 16", f"concurrency = {concurrency}")
        lines = text.replace("burst = 10", f"burst = {burst}").splitlines()
        config.write_text("\n".join([f'database_url = "{database_url}"', *lines[1:]]) + "\n")
        nodes.append(ServiceProcess(config, port, folder / "service.log"))
    migrate(nodes[0].config)
    return [node.start() for node in nodes]


def stop_all(nodes: list[ServiceProcess]) -> None:
    for node in nodes:
        if node.proc is not None and node.proc.poll() is None:
            node.stop()
