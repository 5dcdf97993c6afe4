"""What the HTTP layer needs from the running service, and nothing more: the server's modules are typed against
:class:`ServerContext`, not the service, so each dependency is named here and the server never reaches into the
wiring behind it."""

from __future__ import annotations

from typing import Protocol

from inboxbridge.config import Settings
from inboxbridge.pipeline import IdCache
from inboxbridge.store import DeliveryQueue, Ledger
from inboxbridge.tenants import TenantDirectory

__all__ = ["ServerContext"]


class ServerContext(Protocol):
    """The service as its HTTP routes see it (after it started)."""

    @property
    def settings(self) -> Settings:
        """The settings the service runs with."""
        ...

    @property
    def queue(self) -> DeliveryQueue:
        """Where accepted events go (every ingest: webhooks, reingest, Wix app events)."""
        ...

    @property
    def ledger(self) -> Ledger:
        """Tenants, quarantine and the reads of the admin side."""
        ...

    @property
    def ids(self) -> IdCache:
        """The id cache of this process; drops go through it."""
        ...

    @property
    def tenants(self) -> TenantDirectory:
        """The tenants served."""
        ...

    @property
    def wix_base_url(self) -> str:
        """The Wix API the service talks to (the built-in sandbox's URL when it runs one), for operator links."""
        ...

    def wake_worker(self) -> None:
        """Tell this process's worker that new events are waiting."""
        ...

    async def ping(self) -> None:
        """Check that the store answers; raises StoreUnavailable if not."""
        ...
