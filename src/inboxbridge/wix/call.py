"""The description of one Wix API request, and what a site method hands it to.

:class:`~inboxbridge.wix.site.WixSite` depends on the :class:`Caller` protocol alone, which
:class:`~inboxbridge.wix.WixClient` satisfies, so that the client can build sites without the two importing
each other.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol

from inboxbridge.wix.auth import Auth

__all__ = ["Call", "Caller"]


@dataclass(frozen=True)
class Call:
    """One API request as a site method describes it.

    ``safe_to_repeat``: the call may be retried after a failure whose outcome is unknown (reads, Get or
    Create Conversation, tokens). ``writes``: the call changes state on Wix, so a 5xx answer leaves its
    outcome unknown.
    """

    method: str
    path: str
    # The token call's body holds the app secret: keep it out of reprs.
    json: Mapping[str, Any] | None = field(default=None, repr=False)
    params: Mapping[str, str] | None = None
    safe_to_repeat: bool = True
    writes: bool = False


class Caller(Protocol):
    """Sends a site's calls: credentials, rate limit, retries and the mapping of failures to typed errors."""

    async def request(self, auth: Auth, call: Call) -> dict[str, Any]:
        """Send ``call`` for ``auth``'s site; the decoded JSON answer, or a ``WixError`` raised."""
        ...
