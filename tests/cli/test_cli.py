"""The `inboxbridge` command as a user runs it: send, status, migrate, and its error messages."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx2
import pytest

from inboxbridge.sandbox import DEMO_API_KEY, DEMO_SITE_ID, SandboxServer, default_config


@pytest.fixture(scope="module")
def sandbox() -> Iterator[SandboxServer]:
    with SandboxServer(default_config()) as server:
        yield server


@pytest.fixture
def config(sandbox: SandboxServer, tmp_path: Path) -> Path:
    path = tmp_path / "inboxbridge.toml"
    path.write_text(
        f'database_url = "sqlite:///{tmp_path / "ib.db"}"\n'
        f'[wix]\nbase_url = "{sandbox.url}"\n'
        f'[tenants.shop.wix]\napi_key = "{DEMO_API_KEY}"\nsite_id = "{DEMO_SITE_ID}"\n'
    )
    return path


def run(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("INBOXBRIDGE_")}
    return subprocess.run(
        [sys.executable, "-m", "inboxbridge", *args], capture_output=True, text=True, timeout=120, cwd=cwd, env=env
    )


def test_send_delivers_and_status_counts_it(config: Path, sandbox: SandboxServer) -> None:
    sent = run(
        "send",
        "shop",
        "Hello from the shell",
        "--email",
        "cli@example.com",
        "--channel",
        "Phone",
        "-c",
        str(config),
        cwd=config.parent,
    )
    assert sent.returncode == 0, sent.stderr
    assert sent.stdout.startswith("delivered: event 1 → conversation ")
    inbox = httpx2.get(f"{sandbox.url}/_sandbox/sites/{DEMO_SITE_ID}/conversations").json()
    texts = [m["content"]["basic"]["items"][0]["text"] for c in inbox["conversations"] for m in c["messages"]]
    assert "Hello from the shell" in texts

    status = run("status", "-c", str(config), cwd=config.parent)
    assert status.returncode == 0, status.stderr
    row = next(line for line in status.stdout.splitlines() if "shop" in line)
    # tenant, pending, in_flight, delivered, dead, parked, oldest pending
    assert [cell.strip() for cell in row.split("│")[1:-1]] == ["shop", "0", "0", "1", "0", "0", "—"]


def test_send_refuses_an_event_without_a_customer(config: Path) -> None:
    result = run("send", "shop", "Hello", "--email", "not-an-email", "-c", str(config), cwd=config.parent)
    assert result.returncode == 2
    assert "not an email address" in result.stderr


def test_send_to_an_unknown_tenant_names_the_configured_ones(config: Path) -> None:
    result = run("send", "nobody", "Hello", "--email", "a@example.com", "-c", str(config), cwd=config.parent)
    assert result.returncode == 2
    assert "unknown tenant 'nobody'; configured: shop" in result.stderr


def test_a_config_error_is_one_clear_message(tmp_path: Path) -> None:
    bad = tmp_path / "bad.toml"
    bad.write_text('[wix]\nbase_url = "https://www.wixapis.com"\n[tenants.shop.wix]\napi_key = "k"\n')
    result = run("status", "-c", str(bad), cwd=tmp_path)
    assert result.returncode == 2
    assert "an API key needs both api_key and site_id" in result.stderr
    assert "Traceback" not in result.stderr


def test_migrate_creates_the_schema(config: Path) -> None:
    result = run("migrate", "-c", str(config), cwd=config.parent)
    assert result.returncode == 0, result.stderr
    assert "schema up to date" in result.stdout
    assert (config.parent / "ib.db").exists()
