"""The process-wide Wix client: one HTTP connection pool, one rate limiter, one token cache.

:class:`WixClient` sends requests; :meth:`WixClient.site` gives a :class:`~inboxbridge.wix.site.WixSite` that
offers the API calls for one site's credentials. Each request goes through: credentials (fetching an app
instance token when needed), the site's rate limiter, the HTTP call, the mapping of failures to typed errors,
one token refresh on a 401, and the short retry policy.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from collections.abc import Awaitable, Callable
from types import TracebackType
from typing import Any, Self

import orjson

from inboxbridge.wix.auth import ApiKeyAuth, AppInstanceAuth, Auth
from inboxbridge.wix.call import Call
from inboxbridge.wix.errors import (
    WixConnectionError,
    WixError,
    WixPermanentError,
    WixRetryableError,
    WixTimeoutError,
    WixUnauthorizedError,
    error_for_status,
)
from inboxbridge.wix.http import HttpBackend, Limits, Timeout
from inboxbridge.wix.http_aiohttp import AiohttpBackend
from inboxbridge.wix.ratelimit import RateLimiter, TokenBucketLimiter
from inboxbridge.wix.retry import RetryPolicy
from inboxbridge.wix.site import WixSite
from inboxbridge.wix.tokens import AccessToken, TokenCache

__all__ = ["DEFAULT_BASE_URL", "ResponseObserver", "WixClient"]

DEFAULT_BASE_URL = "https://www.wixapis.com"
TOKEN_PATH = "/oauth2/token"  # noqa: S105 - a path, not a secret

log = logging.getLogger(__name__)

ResponseObserver = Callable[[str, str, int, float], None]
"""Called after each HTTP exchange with Wix: method, path, status (0: no answer), seconds."""


def _encode_json(value: Any) -> bytes:
    """``value`` as compact UTF-8 JSON; NaN and infinities, which JSON has no number for, raise ValueError."""
    body = orjson.dumps(value, option=orjson.OPT_NON_STR_KEYS)
    # orjson writes NaN and infinities as null; look closer only then, and let the stdlib raise its ValueError.
    if b"null" in body:
        json.dumps(value, allow_nan=False)
    return body


class WixClient:
    """The async client of Wix's REST API; create one per process and share it.

    ``timeout`` is seconds (or a :class:`~inboxbridge.wix.http.Timeout` for separate connect/read/pool limits).
    Requests of one site (API key's site id, or app instance id) share a token bucket of
    ``rate_limit_per_second`` with ``rate_limit_burst``, unless ``limiter`` supplies another
    :class:`RateLimiter` (e.g. one shared between processes). ``limits`` sizes the connection pool. Requests go
    out through aiohttp (see :class:`~inboxbridge.wix.http_aiohttp.AiohttpBackend` for how ``timeout`` and
    ``limits`` map onto it), or through ``backend``, another :class:`~inboxbridge.wix.http.HttpBackend` (tests'
    fakes), which ``timeout`` and ``limits`` then do not apply to. ``clock`` and ``sleep`` drive token expiry,
    the default limiter and retry waits. ``on_response`` is told of every HTTP exchange (method, path, status
    or 0 when no answer came, seconds taken), e.g. to keep metrics.
    """

    def __init__(
        self,
        base_url: str = DEFAULT_BASE_URL,
        *,
        timeout: float | Timeout = 10.0,
        retry: RetryPolicy | None = None,
        rate_limit_per_second: float = 200 / 60,
        rate_limit_burst: int = 10,
        limits: Limits | None = None,
        backend: HttpBackend | None = None,
        limiter: RateLimiter | None = None,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
        on_response: ResponseObserver | None = None,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.on_response = on_response
        self.retry = retry or RetryPolicy()
        self._sleep = sleep
        self.limiter: RateLimiter = limiter or TokenBucketLimiter(
            rate_limit_per_second, rate_limit_burst, clock=clock, sleep=sleep
        )
        self.tokens = TokenCache(self._fetch_token, clock=clock)
        if backend is None:
            timeout = timeout if isinstance(timeout, Timeout) else Timeout.uniform(timeout)
            backend = AiohttpBackend(self.base_url, timeout, limits or Limits())
        self._http: HttpBackend = backend

    def __repr__(self) -> str:
        return f"WixClient(base_url={self.base_url!r}, retry={self.retry!r}, limiter={self.limiter!r})"

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        """Close the connection pool."""
        await self._http.aclose()

    def site(self, auth: Auth) -> WixSite:
        """The API calls for one site, made with ``auth``; cheap, create as many as needed."""
        return WixSite(self, auth)

    async def request(self, auth: Auth, call: Call) -> dict[str, Any]:
        """Send ``call`` for ``auth``'s site; the decoded JSON answer, or a :class:`WixError` raised."""
        attempt = 0
        refreshed = False
        earlier_unknown = False
        while True:
            attempt += 1
            headers, token = await self._auth_headers(auth)
            await self.limiter.acquire(auth.limiter_key)
            try:
                return await self._send(call, headers)
            except WixUnauthorizedError:
                # A token can be revoked or expire early; one fresh token is worth a second try, not more.
                if not isinstance(auth, AppInstanceAuth) or refreshed:
                    raise
                refreshed = True
                attempt -= 1
                log.info("wix token refused, refreshing", extra={"wix_instance_id": auth.instance_id})
                await self.tokens.get(auth, refused=token)
            except WixRetryableError as error:
                # An earlier try that may have reached Wix keeps the outcome unknown, whatever the last one did.
                error.outcome_unknown = error.outcome_unknown or earlier_unknown
                earlier_unknown = error.outcome_unknown
                delay = self.retry.delay_before_retry(error, attempt, safe_to_repeat=call.safe_to_repeat)
                if delay is None:
                    raise
                self._log_retry(call, error, attempt, delay)
                await self._sleep(delay)

    async def _auth_headers(self, auth: Auth) -> tuple[dict[str, str], str | None]:
        if isinstance(auth, ApiKeyAuth):
            return {"Authorization": auth.api_key, "wix-site-id": auth.site_id}, None
        token = await self.tokens.get(auth)
        return {"Authorization": token}, token

    async def _fetch_token(self, auth: AppInstanceAuth) -> AccessToken:
        call = Call(
            "POST",
            TOKEN_PATH,
            json={
                "grant_type": "client_credentials",
                "client_id": auth.app_id,
                "client_secret": auth.app_secret,
                "instance_id": auth.instance_id,
            },
        )
        attempt = 0
        while True:
            attempt += 1
            try:
                body = await self._send(call, {})
                break
            except WixRetryableError as error:
                delay = self.retry.delay_before_retry(error, attempt, safe_to_repeat=True)
                if delay is None:
                    # Without a token the caller's own request never left, whatever became of this one.
                    error.outcome_unknown = False
                    raise
                self._log_retry(call, error, attempt, delay)
                await self._sleep(delay)
        value = body.get("access_token")
        expires_in = body.get("expires_in")
        if not isinstance(value, str) or not value or not isinstance(expires_in, int | float):
            raise WixPermanentError(
                "the token answer lacks access_token or expires_in",
                status=200,
                method="POST",
                path=TOKEN_PATH,
            )
        return AccessToken(value=value, expires_in=float(expires_in))

    async def _send(self, call: Call, headers: dict[str, str]) -> dict[str, Any]:
        """One HTTP exchange; the answer's JSON object, or the typed error."""
        content = None
        if call.json is not None:
            content = _encode_json(call.json)
            headers = {**headers, "Content-Type": "application/json"}
        started = time.perf_counter()
        try:
            response = await self._http.exchange(
                call.method, call.path, body=content, params=call.params, headers=headers
            )
        except (WixTimeoutError, WixConnectionError):
            self._observe(call, 0, started)
            raise
        self._observe(call, response.status, started)
        request_id = response.headers.get("x-wix-request-id")
        try:
            body: Any = orjson.loads(response.content) if response.content else None
        except orjson.JSONDecodeError:
            body = None
        if response.is_success:
            if not isinstance(body, dict):
                raise WixPermanentError(
                    "Wix answered with a body that is not a JSON object",
                    status=response.status,
                    request_id=request_id,
                    method=call.method,
                    path=call.path,
                )
            return body
        raise error_for_status(
            response.status,
            reason=response.reason,
            body=response.content,
            json_body=body,
            request_id=request_id,
            retry_after=response.headers.get("retry-after"),
            writes=call.writes,
            method=call.method,
            path=call.path,
        )

    def _observe(self, call: Call, status: int, started: float) -> None:
        if self.on_response is not None:
            self.on_response(call.method, call.path, status, time.perf_counter() - started)

    @staticmethod
    def _log_retry(call: Call, error: WixError, attempt: int, delay: float) -> None:
        log.warning(
            "wix call failed, retrying: %s",
            error,
            extra={
                "wix_method": call.method,
                "wix_path": call.path,
                "wix_status": error.status,
                "wix_request_id": error.request_id,
                "attempt": attempt,
                "delay": delay,
            },
        )
