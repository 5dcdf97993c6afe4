"""A real inboxbridge service process and a real Wix sandbox, both on loopback, for end-to-end tests."""

from __future__ import annotations

import hashlib
import hmac
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx2
import orjson
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from inboxbridge.sandbox import SandboxConfig, SandboxServer, SiteConfig

CHAT_SECRET = "e2e-chat-secret"
BOOKING_SECRET = "e2e-booking-secret"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def site_id(n: int) -> str:
    return f"00000000-0000-4000-8000-{n:012d}"


def start_sandbox(tenants: list[str]) -> SandboxServer:
    """A sandbox with one site per tenant (API key ``key-<tenant>``; none for tenants named ``revoked*``),
    no practical rate limit."""
    config = SandboxConfig(
        sites=[
            SiteConfig(site_id=site_id(i), name=t, api_keys=[] if t.startswith("revoked") else [f"key-{t}"])
            for i, t in enumerate(tenants)
        ],
        requests_per_minute=1_000_000,
    )
    return SandboxServer(config).start()


def write_config(
    path: Path,
    sandbox_url: str,
    tenants: dict[str, dict[str, Any]],
    *,
    port: int,
    database: Path,
    requests_per_minute: float = 1_000_000,
    timeout: float = 5,
    lease_seconds: float = 10,
) -> Path:
    """A TOML config with a chat source and a bookings source per tenant; ``tenants`` maps name → policy table."""
    lines = [
        f'database_url = "sqlite:///{database}"',
        f"port = {port}",
        "[wix]",
        f'base_url = "{sandbox_url}"',
        f"requests_per_minute = {requests_per_minute}",
        "burst = 10",
        f"timeout_seconds = {timeout}",
        "[worker]",
        "poll_interval_seconds = 0.05",
        "concurrency = 16",
        f"lease_seconds = {lease_seconds}",
        "[worker.retry]",
        "base_seconds = 0.2",
        "max_delay_seconds = 1",
    ]
    for i, (name, policy) in enumerate(tenants.items()):
        lines += [
            f"[tenants.{name}.wix]",
            f'api_key = "key-{name}"',
            f'site_id = "{site_id(i)}"',
            f"[tenants.{name}.policy]",
            *(f"{k} = {orjson.dumps(v).decode()}" for k, v in policy.items()),
            f"[tenants.{name}.sources.chat]",
            'type = "generic"',
            f'secret = "{CHAT_SECRET}"',
            f"[tenants.{name}.sources.chat.mapping]",
            'event_id = "id"',
            'occurred_at = "at"',
            'email = "customer.email"',
            'name = "customer.name"',
            'text = "text"',
            'direction = "author"',
            'direction_map = { customer = "inbound", agent = "outbound" }',
            'default_channel = "Chat"',
            f"[tenants.{name}.sources.bookings]",
            'type = "generic"',
            f'secret = "{BOOKING_SECRET}"',
            f"[tenants.{name}.sources.bookings.mapping]",
            'event_id = "id"',
            'occurred_at = "at"',
            'default_kind = "activity"',
            'email = "email"',
            'text = "line"',
            'activity_url = "url"',
            f"[tenants.{name}.sources.bookings.delivery]",
            'activity_icon_url = "https://example.com/calendar.png"',
        ]
    path.write_text("\n".join(lines) + "\n")
    return path


def sign(body: bytes, secret: str = CHAT_SECRET) -> str:
    return hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def chat(event_id: str, email: str, text: str, *, author: str = "customer", at: str = "2026-11-26T10:00:00Z") -> bytes:
    return orjson.dumps(
        {"id": event_id, "at": at, "customer": {"email": email, "name": "Test Person"}, "text": text, "author": author}
    )


def stamp(i: int) -> str:
    """An occurred_at that orders events by ``i``."""
    return f"2026-11-26T10:{i // 60 % 60:02d}:{i % 60:02d}.{i // 3600:06d}Z"


class ServiceProcess:
    """``inboxbridge serve`` (or ``command``: ``serve --no-worker``...) as a child process."""

    def __init__(self, config: Path, port: int, log: Path, *, command: tuple[str, ...] = ("serve",)) -> None:
        self.command = command
        self.config = config
        self.url = f"http://127.0.0.1:{port}"
        self.log = log
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> ServiceProcess:
        env = {**os.environ, "INBOXBRIDGE_CONFIG": str(self.config)}
        with self.log.open("ab") as out:
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "inboxbridge", *self.command, "--log-level", "warning"],
                stdout=out,
                stderr=subprocess.STDOUT,
                env=env,
                cwd=self.config.parent,
            )
        wait_until(self._ready, timeout=30, what=f"the service to answer /readyz (log: {self.log})")
        return self

    def _ready(self) -> bool:
        assert self.proc is not None
        if self.proc.poll() is not None:
            raise RuntimeError(f"the service exited with {self.proc.returncode}: {self.log.read_text()[-3000:]}")
        try:
            return httpx2.get(f"{self.url}/readyz", timeout=1).status_code == 200
        except httpx2.TransportError:
            return False

    def kill(self) -> None:
        assert self.proc is not None
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(timeout=10)

    def stop(self) -> int:
        assert self.proc is not None
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        return self.proc.returncode

    def post(
        self,
        tenant: str,
        source: str,
        body: bytes,
        *,
        secret: str | None = None,
        signature: str | None = None,
        content_type: str = "application/json",
    ) -> httpx2.Response:
        sig = (
            signature
            if signature is not None
            else sign(body, secret or (CHAT_SECRET if source == "chat" else BOOKING_SECRET))
        )
        return httpx2.post(
            f"{self.url}/hooks/{tenant}/{source}",
            content=body,
            headers={"x-signature": sig, "content-type": content_type},
            timeout=10,
        )


def wait_until(predicate: Callable[[], bool], *, timeout: float = 30, what: str = "a condition") -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.05)
    raise AssertionError(f"timed out after {timeout}s waiting for {what}")


class Inbox:
    """The sandbox's view of one site, through its admin API."""

    def __init__(self, sandbox_url: str, site: str) -> None:
        self.base = sandbox_url
        self.site = site

    def conversations(self) -> list[dict[str, Any]]:
        return httpx2.get(f"{self.base}/_sandbox/sites/{self.site}/conversations", timeout=10).json()["conversations"]

    def contacts(self) -> list[dict[str, Any]]:
        return httpx2.get(f"{self.base}/_sandbox/sites/{self.site}/contacts", timeout=10).json()["contacts"]

    def messages_of(self, contact_id: str) -> list[dict[str, Any]]:
        return [
            m for c in self.conversations() if c["participant"].get("contactId") == contact_id for m in c["messages"]
        ]

    def all_messages(self) -> list[dict[str, Any]]:
        return [m for c in self.conversations() for m in c["messages"]]

    def requests(self) -> list[dict[str, Any]]:
        rows: list[dict[str, Any]] = httpx2.get(
            f"{self.base}/_sandbox/requests", params={"siteId": self.site}, timeout=10
        ).json()["requests"]
        return rows


def texts(message: dict[str, Any]) -> str:
    content = message["content"]
    if "minimal" in content:
        return str(content["minimal"]["text"])
    return " ".join(item.get("text", "") for item in content["basic"]["items"])


def rsa_key_pair() -> tuple[str, str]:
    """(private, public) PEM of a new RS256 key, for a sandbox app that signs its webhooks."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    private = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()
    public = (
        key.public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        .decode()
    )
    return private, public
