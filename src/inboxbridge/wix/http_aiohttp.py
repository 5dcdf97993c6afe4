"""The :class:`~inboxbridge.wix.http.HttpBackend` on aiohttp: the real network path, cheap in CPU per request."""

from __future__ import annotations

import functools
import math
import os
import ssl
import urllib.request
from collections.abc import Mapping
from urllib.parse import quote, urlencode

import aiohttp
from yarl import URL

from inboxbridge.wix.errors import WixRetryableError
from inboxbridge.wix.http import USER_AGENT, Limits, RawResponse, Timeout, no_answer_error

__all__ = ["AiohttpBackend"]

# Everything a percent-encoded path may hold, so that quoting leaves the paths the site methods build untouched.
_PATH_SAFE = "/%:@!$&'()*+,;="
_PROXY_SCHEMES = ("http", "https")
# Failures before a byte of the request left: no connection, a proxy that refused the tunnel, an unusable URL.
_NOT_SENT = (
    aiohttp.ClientConnectorError,
    aiohttp.ClientHttpProxyError,
    aiohttp.InvalidURL,
    aiohttp.NonHttpUrlClientError,
)


class AiohttpBackend:
    """Exchanges over one ``aiohttp.ClientSession``, created in the first exchange (it needs a running loop).

    How ``timeout`` and ``limits`` map onto aiohttp:

    - ``connect`` bounds the TCP connect and TLS handshake; the wait for a free pooled connection plus DNS and
      connect is bounded by the larger of ``connect`` and ``pool`` (aiohttp has one budget for both);
    - ``read`` bounds each wait for the answer's bytes; writing the request has no bound of its own (requests
      are a few KB, which the kernel takes in one write);
    - any idle connection is kept for the next request, for ``keepalive_expiry`` seconds, unless ``keep_alive``
      is off.

    The environment is read once, here: HTTP_PROXY, HTTPS_PROXY, ALL_PROXY and NO_PROXY choose the proxy for
    the base URL's host, SSL_CERT_FILE or else SSL_CERT_DIR the trusted CAs (else the system's). aiohttp's own
    ``trust_env`` stays off: it looks the proxy and ``.netrc`` up again on every request, in a worker thread,
    which costs more CPU than the whole exchange. aiohttp itself sends an idempotent request (GET) a second time
    when a pooled connection turns out to have been closed, and caches DNS answers for 10 s.
    """

    def __init__(self, base_url: str, timeout: Timeout, limits: Limits) -> None:
        url = URL(base_url)
        # Percent- and IDNA-encoded once, so that each request's URL can be put together as an encoded string.
        self._base_url = str(url)
        self._timeout = _client_timeout(timeout)
        self._limits = limits
        self._proxy, self._proxy_auth = _environment_proxy(url)
        self._ssl: ssl.SSLContext | bool = _tls_context() if url.scheme == "https" else True
        self._session: aiohttp.ClientSession | None = None
        self._closed = False

    async def exchange(
        self,
        method: str,
        path: str,
        *,
        body: bytes | None,
        params: Mapping[str, str] | None,
        headers: Mapping[str, str],
    ) -> RawResponse:
        """One request; see :class:`~inboxbridge.wix.http.HttpBackend`."""
        session = self._session or self._open()
        # Encoded by the stdlib and handed over as is: yarl need not parse it again.
        query = f"?{urlencode(params)}" if params else ""
        url = URL(f"{self._base_url}{_quoted(path)}{query}", encoded=True)
        try:
            async with session.request(
                method,
                url,
                data=body,
                headers=headers,
                allow_redirects=False,
                proxy=self._proxy,
                proxy_auth=self._proxy_auth,
            ) as response:
                content = await response.read()
        # A bare TimeoutError can slip through aiohttp when the kernel gives up on an established connection.
        except (aiohttp.ClientError, TimeoutError) as exc:
            raise _no_answer(exc, method, path) from exc
        return RawResponse(response.status, response.reason or "", response.headers, content)

    async def aclose(self) -> None:
        """Close the session and its connections."""
        self._closed = True
        if self._session is not None:
            await self._session.close()

    def _open(self) -> aiohttp.ClientSession:
        if self._closed:
            raise RuntimeError("Cannot send a request, as the client has been closed.")
        limits = self._limits
        connector = aiohttp.TCPConnector(
            limit=limits.max_connections or 0,
            keepalive_timeout=limits.keepalive_expiry if limits.keep_alive else None,
            force_close=not limits.keep_alive,
            ssl=self._ssl,
            # aiohttp rounds deadlines of 5 s or more up to a whole second; keep them as configured.
            timeout_ceil_threshold=math.inf,
        )
        self._session = aiohttp.ClientSession(
            connector=connector,
            timeout=self._timeout,
            headers={"User-Agent": USER_AGENT},
            trust_env=False,
        )
        return self._session


@functools.lru_cache(maxsize=4096)
def _quoted(path: str) -> str:
    # Most requests go to a handful of paths (Send Message's above all): quoting each anew cost more than the cache.
    return quote(path, safe=_PATH_SAFE)


def _client_timeout(timeout: Timeout) -> aiohttp.ClientTimeout:
    connect, pool = timeout.connect, timeout.pool
    return aiohttp.ClientTimeout(
        total=None,
        connect=None if connect is None or pool is None else max(connect, pool),
        sock_connect=connect,
        sock_read=timeout.read,
        ceil_threshold=math.inf,
    )


def _tls_context() -> ssl.SSLContext:
    """Certificate-checking TLS trusting the CAs in SSL_CERT_FILE, or else SSL_CERT_DIR, or else the system's.

    The variables are read here rather than by OpenSSL, which would trust its compiled-in CA directory as well as
    the CAs SSL_CERT_FILE names.
    """
    if cafile := os.environ.get("SSL_CERT_FILE"):
        return ssl.create_default_context(cafile=cafile)
    if capath := os.environ.get("SSL_CERT_DIR"):
        return ssl.create_default_context(capath=capath)
    return ssl.create_default_context()


def _environment_proxy(url: URL) -> tuple[URL | None, aiohttp.BasicAuth | None]:
    """The proxy the environment names for ``url``, and its credentials (taken out of the proxy's URL)."""
    if url.host is None or urllib.request.proxy_bypass(url.host):
        return None, None
    proxies = urllib.request.getproxies()
    named = proxies.get(url.scheme) or proxies.get("all")
    if not named:
        return None, None
    proxy = URL(named if "://" in named else f"http://{named}")
    if proxy.scheme not in _PROXY_SCHEMES:
        raise ValueError(f"the environment names a {proxy.scheme}:// proxy; only http:// and https:// work here")
    return proxy.with_user(None), aiohttp.BasicAuth.from_url(proxy)


def _no_answer(exc: aiohttp.ClientError | TimeoutError, method: str, path: str) -> WixRetryableError:
    name = type(exc).__name__
    # Before TimeoutError: aiohttp raises it for a pool wait, DNS and connect that took too long.
    if isinstance(exc, aiohttp.ConnectionTimeoutError):
        return no_answer_error(name, timed_out=True, request_sent=False, method=method, path=path)
    if isinstance(exc, TimeoutError):
        return no_answer_error(name, timed_out=True, request_sent=True, method=method, path=path)
    if isinstance(exc, _NOT_SENT):
        return no_answer_error(name, timed_out=False, request_sent=False, method=method, path=path)
    return no_answer_error(name, timed_out=False, request_sent=True, method=method, path=path)
