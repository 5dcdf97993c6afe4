"""inboxbridge: sync conversations from every outside channel into the Wix Inbox."""

from __future__ import annotations

from typing import TYPE_CHECKING

__version__ = "0.1.0"

__all__ = ["InboxBridge", "__version__"]

if TYPE_CHECKING:
    from inboxbridge.library import InboxBridge


def __getattr__(name: str) -> object:
    """``InboxBridge``, imported on first use.

    The library API loads the settings and so every provider; importing it lazily lets ``import inboxbridge.wix``
    load the Wix client alone.
    """
    if name == "InboxBridge":
        from inboxbridge.library import InboxBridge

        return InboxBridge
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
