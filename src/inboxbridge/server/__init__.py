"""The HTTP side of inboxbridge: webhook routes per tenant and source, health probes."""

from inboxbridge.server.app import create_app

__all__ = ["create_app"]
