"""Step 2 of the flow: the Inbox conversation with a contact (Get or Create Conversation), cached."""

from __future__ import annotations

from inboxbridge.config import PolicySettings
from inboxbridge.pipeline.id_cache import IdCache
from inboxbridge.wix import WixSite

__all__ = ["conversation_for"]


async def conversation_for(
    site: WixSite,
    cache: IdCache,
    tenant: str,
    contact_id: str,
    policy: PolicySettings,
    *,
    fresh: bool = False,
) -> str:
    """The id of the contact's conversation. ``fresh`` (or the strict policy) asks Wix instead of the cache."""
    if not fresh and not policy.strict_conversations:
        cached = await cache.get_cached_conversation(tenant, contact_id)
        if cached:
            return cached
    result = await site.get_or_create_conversation(contact_id=contact_id)
    conversation_id = result.conversation.id
    await cache.put_cached_conversation(tenant, contact_id, conversation_id, policy.cache_ttl_seconds)
    return conversation_id
