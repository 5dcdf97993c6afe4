"""Browser hardening on every answer of the admin API and the dashboard: a Content-Security-Policy, no MIME
sniffing, no framing, no referrer to other sites.

The two routers use :class:`HardenedRoute` as their route class, so the headers are on their answers only (error
answers included); FastAPI's ``/docs`` page, which loads its scripts from a CDN, is not theirs and keeps working.
A dashboard page sets its own policy (:func:`page_policy`), allowing its inline style and script by a nonce drawn
for that answer; every other answer gets :data:`API_POLICY`, which allows nothing at all.
"""

from __future__ import annotations

from collections.abc import Callable, Coroutine
from typing import Any

from fastapi import HTTPException, Request, Response
from fastapi.encoders import jsonable_encoder
from fastapi.exceptions import RequestValidationError
from fastapi.routing import APIRoute
from starlette.exceptions import HTTPException as StarletteHTTPException

__all__ = ["API_POLICY", "HARDENING", "HardenedRoute", "page_policy"]

API_POLICY = "default-src 'none'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
"""JSON, redirects and errors: nothing may load, run or frame them."""

HARDENING = {
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    # frame-ancestors says the same to current browsers; this header to older ones.
    "X-Frame-Options": "DENY",
}


def page_policy(nonce: str) -> str:
    """The policy of a dashboard page whose one ``<style>`` and one ``<script>`` carry ``nonce``: nothing else
    runs, forms post only to this origin, and no other site may frame it."""
    return (
        f"default-src 'none'; script-src 'nonce-{nonce}'; style-src 'nonce-{nonce}'; img-src 'self'; "
        "base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
    )


def _headers() -> dict[str, str]:
    return {"Content-Security-Policy": API_POLICY, **HARDENING}


Handler = Callable[[Request], Coroutine[Any, Any, Response]]


class HardenedRoute(APIRoute):
    """An API route whose every answer carries the hardening headers (a policy already set is kept)."""

    def get_route_handler(self) -> Handler:
        """FastAPI's handler, with the headers added to its answer or to the error it raises."""
        handler = super().get_route_handler()

        async def hardened(request: Request) -> Response:
            try:
                response = await handler(request)
            except StarletteHTTPException as exc:
                exc.headers = {**_headers(), **(exc.headers or {})}
                raise
            except RequestValidationError as exc:
                # The same 422 body FastAPI gives, as an HTTPException so that it can carry headers.
                raise HTTPException(422, jsonable_encoder(exc.errors()), headers=_headers()) from None
            for name, value in _headers().items():
                response.headers.setdefault(name, value)
            return response

        return hardened
