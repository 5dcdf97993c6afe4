"""Webhook sources: verify a provider's request and parse it into events.

Sources do no I/O beyond the request they are given.
"""

from inboxbridge.sources.base import PayloadError, SignatureError, Source, SourceError, WebhookRequest
from inboxbridge.sources.registry import SourceConfig, build_source, parse_source_config

__all__ = [
    "PayloadError",
    "SignatureError",
    "Source",
    "SourceConfig",
    "SourceError",
    "WebhookRequest",
    "build_source",
    "parse_source_config",
]
