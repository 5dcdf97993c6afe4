"""An :class:`~inboxbridge.pipeline.IdCache` wrapper that counts hits and misses for ``/metrics``."""

from __future__ import annotations

from collections.abc import Sequence

from inboxbridge.metrics import CACHE_LOOKUPS
from inboxbridge.pipeline import IdCache

__all__ = ["MeteredIdCache"]

# Looked up once: ``labels()`` on every lookup cost more than the lookup itself.
_COUNTS = {
    (cache, found): CACHE_LOOKUPS.labels(cache, "hit" if found else "miss")
    for cache in ("contacts", "conversations")
    for found in (True, False)
}


class MeteredIdCache:
    """Passes every call to ``inner``; lookups are counted as hits or misses per cache."""

    def __init__(self, inner: IdCache) -> None:
        self.inner = inner

    async def get_cached_contacts(self, tenant: str, customer_key: str) -> list[str] | None:
        """The inner cache's answer, counted."""
        found = await self.inner.get_cached_contacts(tenant, customer_key)
        _COUNTS["contacts", found is not None].inc()
        return found

    async def put_cached_contacts(
        self, tenant: str, customer_key: str, contact_ids: Sequence[str], ttl_seconds: float
    ) -> None:
        """Passed through."""
        await self.inner.put_cached_contacts(tenant, customer_key, contact_ids, ttl_seconds)

    async def drop_cached_contacts(self, tenant: str, customer_key: str) -> None:
        """Passed through."""
        await self.inner.drop_cached_contacts(tenant, customer_key)

    async def get_cached_conversation(self, tenant: str, contact_id: str) -> str | None:
        """The inner cache's answer, counted."""
        found = await self.inner.get_cached_conversation(tenant, contact_id)
        _COUNTS["conversations", found is not None].inc()
        return found

    async def put_cached_conversation(
        self, tenant: str, contact_id: str, conversation_id: str, ttl_seconds: float
    ) -> None:
        """Passed through."""
        await self.inner.put_cached_conversation(tenant, contact_id, conversation_id, ttl_seconds)

    async def drop_cached_conversations(self, tenant: str, conversation_ids: Sequence[str]) -> int:
        """Passed through."""
        return await self.inner.drop_cached_conversations(tenant, conversation_ids)
