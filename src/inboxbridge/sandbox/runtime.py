"""The running sandbox: configuration, state, signing keys, rate limiter and faults, shared by every route."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from .config import AppConfig, SandboxConfig
from .contacts import build_contact
from .errors import WixHTTPError
from .limits import FaultInjector, RateLimiter
from .state import SandboxState
from .webhooks import AppKeys, EventSender

__all__ = ["Sandbox"]


class Sandbox:
    """Everything one sandbox app holds; created by ``create_app``.

    ``clock`` (wall-clock seconds) decides token expiry; tests may replace it to age tokens.
    """

    def __init__(self, config: SandboxConfig) -> None:
        self.config = config
        self.clock: Callable[[], float] = time.time
        self.state = SandboxState(config.database)
        self.apps: dict[str, AppConfig] = {app.app_id: app for app in config.apps}
        self.keys: dict[str, AppKeys] = {app.app_id: AppKeys.for_app(app) for app in config.apps}
        self.limiter = RateLimiter(config.requests_per_minute)
        self.faults = FaultInjector()
        self.events = EventSender(self.state, self.apps, self.keys)
        self._apply_config()

    def _apply_config(self) -> None:
        for site in self.config.sites:
            self.state.put_site(site.site_id, site.name, site.api_keys)
        for app in self.config.apps:
            for instance_id, site_id in app.instances.items():
                self.state.put_instance(instance_id, app.app_id, site_id)
        for site in self.config.sites:
            self.seed_contacts(site.site_id, site.contacts)

    def reset(self) -> None:
        """Back to the configured start: data, log, faults, rate limits wiped; configured seeds re-applied."""
        self.state.wipe()
        self.faults.clear()
        self.limiter.reset(self.config.requests_per_minute)
        self._apply_config()

    def seed_contacts(self, site_id: str, contacts: list[dict[str, Any]]) -> list[dict[str, Any]]:
        """Store contacts given in Wix's wire shape (id and dates optional) without the duplicate check."""
        created: list[dict[str, Any]] = []
        for seed in contacts:
            try:
                doc = build_contact(seed, [], allow_duplicates=True)
            except WixHTTPError as exc:
                raise ValueError(f"seed contact {seed!r} is invalid: {exc.body}") from None
            for key in ("id", "createdDate", "updatedDate", "lastActivity", "source"):
                if key in seed:
                    doc[key] = seed[key]
            self.state.insert_contact(site_id, doc)
            created.append(doc)
        return created

    def close(self) -> None:
        """Release the database."""
        self.state.close()
