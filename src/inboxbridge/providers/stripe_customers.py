"""Stripe customers by id, through Stripe's API (``GET /v1/customers/{id}``), for events that name the customer
only by id: since API version 2022-11-15 a PaymentIntent embeds no charges, so a ``payment_intent.succeeded``
without ``receipt_email`` carries nothing but ``customer: "cus_..."``.

A restricted key with read access to Customers is all it needs. Stripe answers a deleted customer with 200 and
``deleted: true``, an unknown one with 404, a wrong key with 401, a key without the permission with 403.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from pydantic import SecretStr

from inboxbridge.providers.base import CustomerLookupError, FoundCustomer
from inboxbridge.providers.helpers.lookup import TtlCache, get_json
from inboxbridge.providers.helpers.values import split_name, string_at

__all__ = ["REF_PREFIX", "StripeCustomers", "customer_ref"]

REF_PREFIX = "stripe:"


def customer_ref(customer_id: str) -> str:
    """The event's ``customer_ref`` for the Stripe customer ``customer_id``."""
    return REF_PREFIX + customer_id


def _words(body: Any) -> str | None:
    """Stripe's explanation in an error answer: ``{"error": {"message": ..., "code": ...}}``."""
    error = body.get("error") if isinstance(body, dict) else None
    message, code = string_at(error, "message"), string_at(error, "code")
    if message and code:
        return f"{message} ({code})"
    return message or code


class StripeCustomers:
    """Looks Stripe customers up with ``api_key``, keeping each answer ``cache_seconds``."""

    def __init__(self, api_key: SecretStr, *, base_url: str, timeout_seconds: float, cache_seconds: float) -> None:
        self._key = api_key
        self._base = base_url.rstrip("/")
        self._timeout = timeout_seconds
        self._cache: TtlCache[FoundCustomer] = TtlCache(cache_seconds)

    async def find(self, ref: str) -> FoundCustomer:
        """The email, phone and name Stripe has for the customer ``ref`` (``stripe:cus_...``); a customer with
        neither email nor phone, a deleted one, or a refusal raise :class:`CustomerLookupError`."""
        if not ref.startswith(REF_PREFIX) or len(ref) == len(REF_PREFIX):
            raise CustomerLookupError(f"{ref!r} is not a Stripe customer reference", retryable=False)
        cached = self._cache.get(ref)
        if cached is not None:
            return cached
        customer_id = ref.removeprefix(REF_PREFIX)
        secret = self._key.get_secret_value().strip()
        body = await get_json(
            f"{self._base}/v1/customers/{quote(customer_id, safe='')}",
            provider="Stripe",
            headers={"Authorization": f"Bearer {secret}", "Accept": "application/json"},
            timeout_seconds=self._timeout,
            words=_words,
            secrets=(secret,),
        )
        found = _read(customer_id, body)
        self._cache.put(ref, found)
        return found


def _read(customer_id: str, body: Any) -> FoundCustomer:
    if not isinstance(body, dict) or body.get("object") != "customer":
        raise CustomerLookupError(f"Stripe's answer for customer {customer_id} is not a customer", retryable=True)
    if body.get("deleted") is True:
        raise CustomerLookupError(f"Stripe customer {customer_id} has been deleted", retryable=False)
    email, phone = string_at(body, "email"), string_at(body, "phone")
    if email is None and phone is None:
        raise CustomerLookupError(
            f"Stripe customer {customer_id} has no email or phone: add one in the Stripe Dashboard, then replay "
            "the event",
            retryable=False,
        )
    first, last = split_name(string_at(body, "name"))
    return FoundCustomer(emails=(email,) if email else (), phone=phone, first_name=first, last_name=last)
