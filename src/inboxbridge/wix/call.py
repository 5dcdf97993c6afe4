"""The description of one Wix API request, as a site method hands it to the client."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

__all__ = ["Call"]


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
