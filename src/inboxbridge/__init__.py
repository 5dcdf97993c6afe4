"""inboxbridge: sync conversations from every outside channel into the Wix Inbox."""

__version__ = "0.1.0"

from inboxbridge.api import InboxBridge

__all__ = ["InboxBridge", "__version__"]
