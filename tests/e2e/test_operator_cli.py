"""`inboxbridge replay`, `dlq list|replay|drop` and `doctor` against a running service's store and the sandbox."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner

from inboxbridge.cli import app
from inboxbridge.sandbox import SandboxServer

from .harness import ServiceProcess, chat, free_port, start_sandbox, wait_until, write_config

TENANTS = {"shop": {}, "revoked": {}}


@pytest.fixture(scope="module")
def sandbox() -> Iterator[SandboxServer]:
    server = start_sandbox(list(TENANTS))
    yield server
    server.stop()


@pytest.fixture(scope="module")
def service(sandbox: SandboxServer, tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServiceProcess]:
    work = tmp_path_factory.mktemp("operator-cli")
    port = free_port()
    config = write_config(work / "inboxbridge.toml", sandbox.url, TENANTS, port=port, database=work / "ib.db")
    proc = ServiceProcess(config, port, work / "service.log").start()
    yield proc
    proc.stop()


class Result:
    def __init__(self, code: int, stdout: str, stderr: str) -> None:
        self.returncode, self.stdout, self.stderr = code, stdout, stderr


def cli(config: Path, *args: str) -> Result:
    """The command in this process (the real store and sandbox; no interpreter start per call)."""
    result = CliRunner().invoke(app, list(args), env={"INBOXBRIDGE_CONFIG": str(config), "COLUMNS": "200"})
    return Result(result.exit_code, result.stdout, result.stderr)


def dead_ids(config: Path) -> list[int]:
    with sqlite3.connect(config.parent / "ib.db") as db:
        rows = db.execute("SELECT id FROM events WHERE status = 'dead' AND tenant_id = 'revoked' ORDER BY id")
        return [row[0] for row in rows]


def tries(config: Path, event_id: int) -> int:
    with sqlite3.connect(config.parent / "ib.db") as db:
        return int(db.execute("SELECT count(*) FROM attempts WHERE event_id = ?", (event_id,)).fetchone()[0])


def test_dead_letters_listed_replayed_and_dropped(service: ServiceProcess) -> None:
    for i in range(2):
        assert service.post("revoked", "chat", chat(f"r{i}", f"r{i}@example.com", f"lost {i}")).status_code == 202
    wait_until(lambda: len(dead_ids(service.config)) == 2, what="two dead letters")
    listing = cli(service.config, "dlq", "list")
    assert listing.returncode == 0
    assert "Wix 401" in listing.stdout
    assert "email:r0@example.com" in listing.stdout
    first, second = dead_ids(service.config)

    refused = cli(service.config, "dlq", "replay")
    assert refused.returncode == 2
    assert "give event ids, or --all" in refused.stderr

    replayed = cli(service.config, "replay", str(first))
    assert (replayed.returncode, replayed.stdout.strip()) == (0, "replayed 1 of 1 event(s)")
    # Still no key at Wix: dead again after a second try.
    wait_until(lambda: tries(service.config, first) == 2 and len(dead_ids(service.config)) == 2, what="a second death")
    unknown = cli(service.config, "replay", "999999")
    assert unknown.returncode == 1
    assert "not dead letters" in unknown.stderr

    assert cli(service.config, "dlq", "drop", str(second)).stdout.strip() == "dropped 1 event(s)"
    assert cli(service.config, "dlq", "drop", "--all", "--tenant", "shop").stdout.strip() == "dropped 0 event(s)"
    assert cli(service.config, "dlq", "drop", "--all", "--tenant", "revoked").stdout.strip() == "dropped 1 event(s)"
    assert dead_ids(service.config) == []


def test_doctor_names_the_tenant_whose_credentials_wix_refuses(service: ServiceProcess) -> None:
    result = cli(service.config, "doctor")
    assert result.returncode == 1, result.stdout
    lines = result.stdout.splitlines()
    assert "ok    tenant shop: Wix accepts its credentials (Query Contacts answered)" in lines
    (revoked,) = [line for line in lines if "tenant revoked" in line]
    assert revoked.startswith(
        "FAIL  tenant revoked: Wix refused the credentials (401); check tenants.revoked.wix.api_key"
    )
    assert any(line.startswith("ok    database:") for line in lines)
    assert any(line.startswith("warn  admin: no [admin] table") for line in lines)
    assert "1 problem(s) found" in result.stdout


def test_doctor_says_when_the_database_has_no_schema(service: ServiceProcess, tmp_path: Path) -> None:
    config = tmp_path / "fresh.toml"
    text = service.config.read_text().replace(str(service.config.parent / "ib.db"), str(tmp_path / "empty.db"))
    config.write_text(text.replace("[tenants.revoked", "[unused.revoked", 0))
    result = cli(config, "doctor")
    assert result.returncode == 1
    (line,) = [line for line in result.stdout.splitlines() if line.startswith("FAIL  database")]
    assert "inboxbridge migrate" in line
