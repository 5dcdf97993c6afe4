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
    """What identifies a message we sent, in what Wix gives back of it.

    Only what we chose goes in, and of media only the kind and file name: Wix re-hosts images and files (the
    answer's URL is Wix's own, and expires) and adds media ids, sizes and previews of its own.
    """
    content = message.content
    parts: list[Any] = [message.direction.value]
    if content.minimal is not None:
        parts.append(("minimal", content.minimal.text, content.minimal.url))
    if content.basic is not None:
        for item in content.basic.items:
            if isinstance(item, TextItem):
                parts.append(("text", item.text))
            elif isinstance(item, ImageItem | FileItem):
                parts.append(("image" if isinstance(item, ImageItem) else "file", item.filename))
            else:
                parts.append(("other", sorted(item)))
    return tuple(parts)


def _same(candidate: tuple[Any, ...], wanted: tuple[Any, ...]) -> bool:
    """Whether a listed message is the one we sent: equal parts, except that a media item we sent without a
    file name matches one of the same kind that Wix gave a name of its own."""
    if len(candidate) != len(wanted):
        return False
    for theirs, ours in zip(candidate, wanted, strict=True):
        if ours == theirs:
            continue
        is_media = isinstance(ours, tuple) and ours[0] in ("image", "file") and ours[1] is None
        if not (is_media and isinstance(theirs, tuple) and theirs[0] == ours[0]):
            return False
    return True


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
            if _same(_fingerprint(candidate), wanted):
                return candidate
        if page.next_cursor is None:
            return None
        cursor = page.next_cursor
    return None
