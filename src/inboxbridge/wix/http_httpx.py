"""The :class:`~inboxbridge.wix.http.HttpBackend` on httpx2, for a caller-supplied transport (tests' mocks)."""

from __future__ import annotations

from collections.abc import Mapping

import httpx2

from inboxbridge.wix.errors import WixRetryableError
from inboxbridge.wix.http import USER_AGENT, RawResponse, no_answer_error

__all__ = ["HttpxBackend"]


class HttpxBackend:
    """Exchanges through ``httpx2.AsyncClient`` over ``transport``; the environment (proxies, CAs) is ignored."""

    def __init__(
        self, base_url: str, timeout: httpx2.Timeout, limits: httpx2.Limits, transport: httpx2.AsyncBaseTransport
    ) -> None:
        self._http = httpx2.AsyncClient(
            base_url=base_url,
            timeout=timeout,
            limits=limits,
            transport=transport,
            headers={"User-Agent": USER_AGENT},
            follow_redirects=False,
            trust_env=False,
        )

    async def exchange(
        self,
        method: str,
        path: str,
        *,
        json_body: bytes | None,
        params: Mapping[str, str] | None,
        headers: Mapping[str, str],
    ) -> RawResponse:
        """One request; see :class:`~inboxbridge.wix.http.HttpBackend`."""
        if json_body is not None:
            headers = {**headers, "Content-Type": "application/json"}
        try:
            response = await self._http.request(method, path, content=json_body, params=params, headers=headers)
        except httpx2.TransportError as exc:
            raise _no_answer(exc, method, path) from exc
        return RawResponse(response.status_code, response.reason_phrase, response.headers, response.content)

    async def aclose(self) -> None:
        """Close the pool."""
        await self._http.aclose()


def _no_answer(exc: httpx2.TransportError, method: str, path: str) -> WixRetryableError:
    name = type(exc).__name__
    if isinstance(exc, httpx2.ConnectTimeout | httpx2.PoolTimeout):
        return no_answer_error(name, timed_out=True, request_sent=False, method=method, path=path)
    if isinstance(exc, httpx2.TimeoutException):
        return no_answer_error(name, timed_out=True, request_sent=True, method=method, path=path)
    if isinstance(exc, httpx2.ConnectError | httpx2.ProxyError | httpx2.UnsupportedProtocol):
        return no_answer_error(name, timed_out=False, request_sent=False, method=method, path=path)
    return no_answer_error(name, timed_out=False, request_sent=True, method=method, path=path)
