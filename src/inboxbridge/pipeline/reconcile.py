"""Exactly once into the Inbox: find a message an earlier attempt may already have posted.

Wix's Send Message has no idempotency key. When an attempt ended without knowing whether Wix stored the message
(timeout, crash after the request left), the next attempt looks at the conversation's newest messages and skips
the send if the same message is there, created after that attempt started.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from inboxbridge.wix import FileItem, ImageItem, Message, TextItem, WixSite

__all__ = ["CLOCK_SKEW", "find_posted"]

CLOCK_SKEW = timedelta(seconds=5)
"""How far Wix's clock may be behind ours when comparing a message's createdDate with our send time."""
PAGE_SIZE = 50
MAX_PAGES = 4


def _fingerprint(message: Message) -> tuple[Any, ...]:
    # Only what we chose goes in: Wix adds media ids, sizes and previews of its own to what it stores.
    content = message.content
    parts: list[Any] = [message.direction.value]
    if content.minimal is not None:
        parts.append(("minimal", content.minimal.text, content.minimal.url))
    if content.basic is not None:
        for item in content.basic.items:
            if isinstance(item, TextItem):
                parts.append(("text", item.text))
            elif isinstance(item, ImageItem):
                parts.append(("image", item.url))
            elif isinstance(item, FileItem):
                parts.append(("file", item.url))
            else:
                parts.append(("other", sorted(item)))
    return tuple(parts)


async def find_posted(site: WixSite, conversation_id: str, message: Message, since: datetime) -> Message | None:
    """The message in the conversation equal to ``message`` and created at or after ``since``, if any."""
    wanted = _fingerprint(message)
    horizon = since - CLOCK_SKEW
    cursor: str | None = None
    for _ in range(MAX_PAGES):
        page = await site.list_messages(conversation_id, limit=PAGE_SIZE, cursor=cursor)
        for candidate in page.messages:
            if candidate.created_date is not None and candidate.created_date < horizon:
                return None
            if _fingerprint(candidate) == wanted:
                return candidate
        if page.next_cursor is None:
            return None
        cursor = page.next_cursor
    return None
