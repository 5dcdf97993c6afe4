"""The service's app in this process on a real uvicorn server (127.0.0.1, free port), against a sandbox."""

from __future__ import annotations

import threading
import time
from pathlib import Path
from types import TracebackType
from typing import Any

import httpx2
import uvicorn

from inboxbridge.config import Settings, load_settings
from inboxbridge.server import create_app
from inboxbridge.service import Service

ADMIN = ("operator", "correct horse battery staple")
TOKEN = "admin-token-for-scripts"
CHAT_SECRET = "server-chat-secret"


def settings_for(sandbox_url: str, database: Path, tenants: dict[str, str], **extra: Any) -> Settings:
    """A service with a chat source per tenant (``tenants`` maps name → sandbox site id, API key ``key-<name>``),
    quick retries that give up after the second try, and the admin credentials above."""
    mapping = {
        "event_id": "id",
        "occurred_at": "at",
        "email": "customer.email",
        "phone": "customer.phone",
        "name": "customer.name",
        "text": "text",
    }
    config: dict[str, Any] = {
        "database_url": f"sqlite:///{database}",
        "wix": {"base_url": sandbox_url, "requests_per_minute": 1_000_000, "burst": 100, "timeout_seconds": 5},
        "worker": {
            "poll_interval_seconds": 0.05,
            "retry": {"base_seconds": 0.05, "max_delay_seconds": 0.05, "give_up_after_seconds": 0.05},
        },
        "admin": {"username": ADMIN[0], "password": ADMIN[1], "token": TOKEN},
        "tenants": {
            name: {
                "wix": {"api_key": f"key-{name}", "site_id": site},
                "sources": {
                    "chat": {
                        "type": "generic",
                        "secret": CHAT_SECRET,
                        "mapping": mapping,
                        "delivery": {"badge_text": "Chat"},
                    }
                },
            }
            for name, site in tenants.items()
        },
    }
    config.update(extra)
    return load_settings(None, **config)


class LiveService:
    """``with LiveService(settings) as live:`` serves the app at ``live.url`` until the block ends."""

    def __init__(self, settings: Settings) -> None:
        self.service = Service(settings)
        self.server = uvicorn.Server(
            uvicorn.Config(create_app(self.service), host="127.0.0.1", port=0, log_level="warning", lifespan="on")
        )
        self._thread = threading.Thread(target=self.server.run, name="live-service", daemon=True)
        self.url = ""

    def __enter__(self) -> LiveService:
        self._thread.start()
        deadline = time.monotonic() + 30
        while not self.server.started:
            if not self._thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError("the service did not start")
            time.sleep(0.01)
        port = self.server.servers[0].sockets[0].getsockname()[1]
        self.url = f"http://127.0.0.1:{port}"
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.server.should_exit = True
        self._thread.join(timeout=30)

    def admin(self) -> httpx2.Client:
        """A client with the admin's basic-auth credentials."""
        return httpx2.Client(base_url=self.url, auth=ADMIN, timeout=10)
