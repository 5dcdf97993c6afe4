"""The Wix flow for one event: resolve contacts, get the conversation, render, (reconcile,) send.

Pure logic over a Wix client and an id cache; the service drives it from the worker, applications can use it
directly through :class:`inboxbridge.InboxBridge`.
"""

from inboxbridge.pipeline.deliver import DeliveryFailed, Pipeline, Posted
from inboxbridge.pipeline.errors import NoContactError
from inboxbridge.pipeline.id_cache import IdCache, LayeredIdCache, MemoryIdCache, SharedIdCache
from inboxbridge.pipeline.render import render

__all__ = [
    "DeliveryFailed",
    "IdCache",
    "LayeredIdCache",
    "MemoryIdCache",
    "NoContactError",
    "Pipeline",
    "Posted",
    "SharedIdCache",
    "render",
]
