"""Why a delivery cannot go on, beyond the Wix client's own errors."""

from __future__ import annotations

__all__ = ["NoContactError"]


class NoContactError(Exception):
    """No Wix contact has the customer's email or phone, and the policy says not to create one."""
