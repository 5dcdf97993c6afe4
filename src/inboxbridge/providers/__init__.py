"""The outside services inboxbridge works with, one module or package each, and what they share (``helpers``).

A configured provider is a webhook source: it verifies the provider's request and parses it into events, with
no I/O beyond the request it is given.
"""

from inboxbridge.providers.base import PayloadError, SignatureError, Source, SourceError, WebhookRequest
from inboxbridge.providers.registry import SourceConfig, build_source, parse_source_config

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
