"""The running service: store, Wix client, tenants, worker, and (on defaults) the built-in Wix sandbox.

``Service`` is what ``inboxbridge serve`` starts; the HTTP app and the worker share one instance.
"""

from __future__ import annotations

import asyncio
from pathlib import Path

import structlog

from inboxbridge.config import Settings
from inboxbridge.metrics import observe_cache_lookup, observe_wix_call
from inboxbridge.pipeline import LayeredIdCache, Pipeline
from inboxbridge.retention import Retention
from inboxbridge.sandbox import DEMO_API_KEY, DEMO_SITE_ID, SandboxConfig, SandboxServer, default_config
from inboxbridge.store import DeliveryQueue, Ledger, Store
from inboxbridge.store.changes import ChangeWatch
from inboxbridge.store.dialect import is_postgres
from inboxbridge.tenants import TenantDirectory
from inboxbridge.wix import ApiKeyAuth, Auth, RateLimiter, WixClient
from inboxbridge.worker import Worker

__all__ = ["Service"]

log = structlog.get_logger("inboxbridge.service")


class Service:
    """Everything one inboxbridge process runs. ``start`` opens and starts it, ``stop`` drains and closes."""

    def __init__(
        self,
        settings: Settings,
        *,
        run_worker: bool = True,
        serves_http: bool = True,
        sandbox_database: str | None = None,
    ) -> None:
        self.settings = settings
        self.run_worker = run_worker
        # A worker-only process is woken by nothing it stores itself: it watches the store for other processes'.
        self._watch_store = run_worker and not serves_http
        self._changes: ChangeWatch | None = None
        self._sandbox_database = sandbox_database
        self.sandbox: SandboxServer | None = None
        self._store: Store | None = None
        self._ids: LayeredIdCache | None = None
        self._wix: WixClient | None = None
        self._tenants: TenantDirectory | None = None
        self.worker: Worker | None = None
        self._stop = asyncio.Event()
        self._worker_task: asyncio.Task[None] | None = None
        self._retention_task: asyncio.Task[None] | None = None

    @property
    def store(self) -> Store:
        """The open store (after ``start``)."""
        if self._store is None:
            raise RuntimeError("the service is not started")
        return self._store

    @property
    def queue(self) -> DeliveryQueue:
        """The store's delivery queue (after ``start``)."""
        return self.store.queue

    @property
    def ledger(self) -> Ledger:
        """The store's ledger (after ``start``)."""
        return self.store.ledger

    @property
    def wix_base_url(self) -> str:
        """The Wix API this service talks to: the built-in sandbox's URL when it runs one."""
        if self.sandbox is not None:
            return self.sandbox.url
        return self.settings.wix.base_url.rstrip("/")

    async def ping(self) -> None:
        """Check that the store answers; raises StoreUnavailable if not."""
        await self.store.ping()

    @property
    def ids(self) -> LayeredIdCache:
        """The id cache of this process: memory in front of the store's (after ``start``). Drops go through it, so
        this process's memory forgets what the store forgets."""
        if self._ids is None:
            raise RuntimeError("the service is not started")
        return self._ids

    @property
    def tenants(self) -> TenantDirectory:
        """The configured tenants (after ``start``)."""
        if self._tenants is None:
            raise RuntimeError("the service is not started")
        return self._tenants

    async def start(self) -> None:
        """Open the store, connect to Wix, and start the worker and the retention task.

        A SQLite store's schema is created or upgraded here (one node, nothing to coordinate). A PostgreSQL
        store is only checked: several nodes share it, so its schema changes when the operator runs
        ``inboxbridge migrate``, and a node refuses to start on a schema that is missing, behind, or newer
        than it knows. On PostgreSQL the Wix rate limit of each site is shared by all nodes.
        """
        settings = self.settings
        base_url = settings.wix.base_url
        default_auth: Auth | None = None
        if settings.uses_sandbox:
            self.sandbox = SandboxServer(self._sandbox_config()).start()
            base_url = self.sandbox.url
            default_auth = ApiKeyAuth(api_key=DEMO_API_KEY, site_id=DEMO_SITE_ID)
            log.info("using the built-in Wix sandbox", url=base_url)
        shared = is_postgres(settings.database_url)
        self._store = store = await Store.open(settings.database_url, migrate=not shared)
        for name in settings.tenants:
            # A tenant stopped by App Removed stays stopped across restarts until the app is installed again.
            if await store.ledger.get_tenant(name) is None:
                await store.ledger.upsert_tenant(name)
        rate = settings.wix.requests_per_minute / 60
        limiter: RateLimiter | None = None
        if shared:
            limiter = store.rate_limiter(rate, settings.wix.burst)
        self._wix = WixClient(
            base_url,
            timeout=settings.wix.timeout_seconds,
            rate_limit_per_second=rate,
            rate_limit_burst=settings.wix.burst,
            limiter=limiter,
            on_response=observe_wix_call,
        )
        self._tenants = TenantDirectory.build(settings, self._wix, default_auth=default_auth)
        await self._tenants.load_installed(store.ledger)
        self._ids = LayeredIdCache(store.ids, observe=observe_cache_lookup)
        if self.run_worker:
            if self._watch_store:
                self._changes = store.watch_changes()
            self.worker = Worker(
                store.queue,
                self._tenants,
                Pipeline(self._ids),
                settings.worker,
                ids=self._ids,
                changes=self._changes,
                settle_seconds=settings.settle_seconds,
            )
            self._worker_task = asyncio.create_task(self.worker.run(self._stop), name="worker")
            retention = Retention(store.ledger, settings.retention)
            self._retention_task = asyncio.create_task(retention.run(self._stop), name="retention")
        log.info("service started", tenants=self._tenants.names(), worker=self.run_worker)

    def _sandbox_config(self) -> SandboxConfig:
        config = default_config()
        if self._sandbox_database:
            Path(self._sandbox_database).parent.mkdir(parents=True, exist_ok=True)
            config = config.model_copy(update={"database": self._sandbox_database})
        return config

    def wake_worker(self) -> None:
        """Tell this process's worker that new events are waiting."""
        if self.worker is not None:
            self.worker.wake()

    async def stop(self) -> None:
        """Finish or hand back in-flight deliveries, then close Wix connections, the store and the sandbox."""
        self._stop.set()
        if self._worker_task is not None:
            await self._worker_task
            self._worker_task = None
        if self._retention_task is not None:
            await self._retention_task
            self._retention_task = None
        if self._changes is not None:
            self._changes.close()
            self._changes = None
        if self._wix is not None:
            await self._wix.aclose()
        if self._store is not None:
            await self._store.close()
        if self.sandbox is not None:
            self.sandbox.stop()
        log.info("service stopped")
