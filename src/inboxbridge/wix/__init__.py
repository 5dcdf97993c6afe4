"""Async client of Wix's REST API: Contacts, Inbox conversations and messages.

One :class:`WixClient` per process holds the connection pool, the per-site rate limiter and the app-instance
token cache; ``client.site(auth)`` gives the calls for one site::

    async with WixClient() as client:
        site = client.site(AppInstanceAuth(app_id, app_secret, instance_id))
        contacts = await site.find_contacts_by_email("a@b.com", fields=["id"])

Failures raise :class:`WixError` subclasses; see :mod:`inboxbridge.wix.errors` for what each means.
``WixClient(timeout=Timeout(...), limits=Limits(...))`` tunes the aiohttp connection pool, and
``WixClient(backend=...)`` sends through any other :class:`HttpBackend` instead (tests' fakes).
"""

from inboxbridge.wix.auth import ApiKeyAuth, AppInstanceAuth, Auth
from inboxbridge.wix.client import DEFAULT_BASE_URL, WixClient
from inboxbridge.wix.errors import (
    FieldViolation,
    WixBadRequestError,
    WixConflictError,
    WixConnectionError,
    WixError,
    WixForbiddenError,
    WixNotFoundError,
    WixPermanentError,
    WixPreconditionError,
    WixRateLimitedError,
    WixRetryableError,
    WixServerError,
    WixTimeoutError,
    WixUnauthorizedError,
    parse_retry_after,
)
from inboxbridge.wix.http import HttpBackend, Limits, RawResponse, Timeout
from inboxbridge.wix.models import (
    Badge,
    BadgeVisibility,
    BasicContent,
    Contact,
    ContactResult,
    ContactsPage,
    Conversation,
    ConversationResult,
    Direction,
    FileItem,
    ImageItem,
    Message,
    MessageContent,
    MessagesPage,
    MinimalContent,
    Participant,
    PrimaryInfo,
    SendAs,
    Sort,
    TextItem,
    Visibility,
)
from inboxbridge.wix.ratelimit import RateLimiter, TokenBucketLimiter
from inboxbridge.wix.retry import RetryPolicy
from inboxbridge.wix.site import WixSite

__all__ = [
    "DEFAULT_BASE_URL",
    "ApiKeyAuth",
    "AppInstanceAuth",
    "Auth",
    "Badge",
    "BadgeVisibility",
    "BasicContent",
    "Contact",
    "ContactResult",
    "ContactsPage",
    "Conversation",
    "ConversationResult",
    "Direction",
    "FieldViolation",
    "FileItem",
    "HttpBackend",
    "ImageItem",
    "Limits",
    "Message",
    "MessageContent",
    "MessagesPage",
    "MinimalContent",
    "Participant",
    "PrimaryInfo",
    "RateLimiter",
    "RawResponse",
    "RetryPolicy",
    "SendAs",
    "Sort",
    "TextItem",
    "Timeout",
    "TokenBucketLimiter",
    "Visibility",
    "WixBadRequestError",
    "WixClient",
    "WixConflictError",
    "WixConnectionError",
    "WixError",
    "WixForbiddenError",
    "WixNotFoundError",
    "WixPermanentError",
    "WixPreconditionError",
    "WixRateLimitedError",
    "WixRetryableError",
    "WixServerError",
    "WixSite",
    "WixTimeoutError",
    "WixUnauthorizedError",
    "parse_retry_after",
]
