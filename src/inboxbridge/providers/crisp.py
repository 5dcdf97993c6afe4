"""Crisp: chat messages a visitor sends (``message:send``) or an operator sends (``message:received``).

Plugin Hooks are signed: ``X-Crisp-Signature`` is the hex HMAC-SHA256, keyed with the plugin's signing secret,
of ``[{X-Crisp-Request-Timestamp};{body}]``, the body being the JSON as ``JSON.stringify`` writes it. Website
Hooks are not signed: Crisp advises a secret key in the URL (``?key=...``), which ``verify = "url-key"`` checks.

Crisp's message events name the visitor by nickname and conversation (session) only. A message that carries no
email (``data.email``, or the visitor's ``data.user.email``) has the conversation as its customer reference: with
a Crisp token keypair configured, the visitor's email is looked up in the conversation's metas when the message is
delivered; without one, or when the visitor left no email, the conversation's Wix contact is created from the
nickname and kept for the conversation.
"""

from __future__ import annotations

import contextlib
import hashlib
import hmac
import json
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any, Literal

from pydantic import Field, SecretStr, field_validator, model_validator

from inboxbridge.events import Attachment, AttachmentKind, Direction, EventKind, InboundEvent
from inboxbridge.providers.base import FoundCustomer, PayloadError, SignatureError, WebhookRequest
from inboxbridge.providers.crisp_visitors import CrispVisitors, session_ref
from inboxbridge.providers.helpers.clock import Clock
from inboxbridge.providers.helpers.connector import ConnectorConfig, ConnectorSource, make_attachment, make_event
from inboxbridge.providers.helpers.json_body import read_json, read_json_object
from inboxbridge.providers.helpers.signatures import digest_in
from inboxbridge.providers.helpers.values import (
    as_time,
    object_at,
    required_object,
    required_string,
    split_name,
    string_at,
)

__all__ = ["CrispSource", "CrispSourceConfig", "js_stringify"]

CHANNEL = "Crisp"
CrispEvent = Literal["message:send", "message:received"]
ALL_EVENTS: tuple[CrispEvent, ...] = ("message:send", "message:received")
_FILE_TYPES = frozenset({"file", "animation", "audio"})
_SKIPPED_TYPES = frozenset({"note", "event"})


class CrispSourceConfig(ConnectorConfig):
    """A Crisp Plugin Hook (signed) or Website Hook (secret key in the URL)."""

    type: Literal["crisp"] = "crisp"
    verify: Literal["signature", "url-key"] = "signature"
    secret: SecretStr | None = None
    """Plugin Hooks: the plugin's web hooks signing secret."""
    key: SecretStr | None = None
    """Website Hooks: the secret you append to the hook URL as ``?key=...``."""
    events: list[CrispEvent] = Field(default_factory=lambda: list(ALL_EVENTS))
    tolerance_seconds: float = Field(default=300, gt=0)
    """Plugin Hooks: how far ``X-Crisp-Request-Timestamp`` may be from our clock, either way."""
    api_identifier: SecretStr | None = None
    """The identifier of a Crisp token keypair (a Marketplace plugin token), to look visitors' emails up."""
    api_key: SecretStr | None = None
    """The key of that token keypair."""
    api_tier: Literal["plugin", "user"] = "plugin"
    api_base_url: str = "https://api.crisp.chat"
    lookup_timeout_seconds: float = Field(default=10, gt=0, le=120)
    lookup_cache_seconds: float = Field(default=600, ge=0)
    """How long a conversation's looked-up visitor is remembered (in memory, per source)."""

    @model_validator(mode="after")
    def _secrets(self) -> CrispSourceConfig:
        needed, other = ("secret", "key") if self.verify == "signature" else ("key", "secret")
        value = getattr(self, needed)
        if value is None or not value.get_secret_value().strip():
            raise ValueError(f'verify = "{self.verify}" needs "{needed}"')
        if getattr(self, other) is not None:
            raise ValueError(f'"{other}" is not used with verify = "{self.verify}": remove it')
        halves = (self.api_identifier, self.api_key)
        if len({half is not None and bool(half.get_secret_value().strip()) for half in halves}) > 1:
            raise ValueError("api_identifier and api_key are a Crisp token keypair: set both, or neither")
        return self

    @field_validator("api_base_url")
    @classmethod
    def _http_url(cls, value: str) -> str:
        if not value.startswith(("https://", "http://")):
            raise ValueError("api_base_url must be an http(s) URL")
        return value.rstrip("/")

    def build(self, name: str, *, clock: Clock | None = None) -> CrispSource:
        """The source this configuration describes, named ``name``."""
        return CrispSource(name, self, clock=clock)


def _js_number(value: float) -> str:
    if value.is_integer() and abs(value) < 1e21:
        return str(int(value))
    if 1e-6 <= abs(value) < 1e21:
        return format(Decimal(repr(value)), "f")
    mantissa, _, exponent = repr(value).partition("e")
    return f"{mantissa}e{'-' if exponent.startswith('-') else '+'}{int(exponent.lstrip('+-'))}"


def js_stringify(value: Any) -> str:
    """``value`` (parsed JSON) written as JavaScript's ``JSON.stringify`` writes it: compact, keys in order."""
    if isinstance(value, dict):
        return "{" + ",".join(f"{json.dumps(k, ensure_ascii=False)}:{js_stringify(v)}" for k, v in value.items()) + "}"
    if isinstance(value, list):
        return "[" + ",".join(js_stringify(item) for item in value) + "]"
    if isinstance(value, bool) or value is None:
        return json.dumps(value)
    if isinstance(value, float):
        return _js_number(value)
    return json.dumps(value, ensure_ascii=False)


def _content(data: dict[str, Any]) -> tuple[str | None, tuple[Attachment, ...]]:
    kind = string_at(data, "type") or "text"
    content = data.get("content")
    if kind in _FILE_TYPES and isinstance(content, dict):
        url = string_at(content, "url")
        if url is None or not url.startswith(("https://", "http://")):
            raise PayloadError(f"the {kind} message has no http(s) content.url")
        mime = string_at(content, "type")
        image = kind == "animation" or bool(mime and mime.startswith("image/"))
        attachment = make_attachment(
            "the file",
            kind=AttachmentKind.IMAGE if image else AttachmentKind.FILE,
            url=url,
            filename=string_at(content, "name"),
            mime_type=mime,
        )
        return None, (attachment,)
    if isinstance(content, str):
        return content, ()
    # Pickers, fields and carousels carry their question in content.text.
    return string_at(content, "text"), ()


def _request_time(stamp: str) -> datetime | None:
    """``X-Crisp-Request-Timestamp`` as a time: unix seconds, or milliseconds as Crisp writes its other times."""
    if not stamp.isascii() or not stamp.isdigit() or len(stamp) > 14:
        return None
    value = int(stamp)
    return datetime.fromtimestamp(value / 1000 if len(stamp) > 11 else value, tz=UTC)


class CrispSource(ConnectorSource[CrispSourceConfig]):
    """A source configured by :class:`CrispSourceConfig`."""

    def __init__(self, name: str, config: CrispSourceConfig, *, clock: Clock | None = None) -> None:
        super().__init__(name, config, clock=clock)
        self._visitors = (
            CrispVisitors(
                config.api_identifier,
                config.api_key,
                tier=config.api_tier,
                base_url=config.api_base_url,
                timeout_seconds=config.lookup_timeout_seconds,
                cache_seconds=config.lookup_cache_seconds,
            )
            if config.api_identifier is not None and config.api_key is not None
            else None
        )

    def verify(self, request: WebhookRequest) -> None:
        """Check the signature (Plugin Hooks) or the URL key (Website Hooks)."""
        if self._config.verify == "url-key":
            assert self._config.key is not None
            given = request.query.get("key", "")
            if not given:
                raise SignatureError('the "key" URL parameter is missing: the request is not authenticated')
            if not hmac.compare_digest(given.encode(), self._config.key.get_secret_value().encode()):
                raise SignatureError('the "key" URL parameter is wrong')
            return
        assert self._config.secret is not None
        stamp = request.headers.get("x-crisp-request-timestamp", "").strip()
        signature = request.headers.get("x-crisp-signature", "").strip()
        if not stamp or not signature:
            missing = "X-Crisp-Request-Timestamp" if not stamp else "X-Crisp-Signature"
            raise SignatureError(f"the {missing} header is missing: the request is not signed")
        self._check_age(stamp)
        try:
            given_mac = bytes.fromhex(signature)
        except ValueError:
            raise SignatureError("the X-Crisp-Signature header is not a hex HMAC-SHA256 signature") from None
        key = self._config.secret.get_secret_value().encode()
        bodies = [request.body]
        # Crisp signs the JSON as JSON.stringify writes it, which is what it sends, but a proxy may re-encode.
        with contextlib.suppress(PayloadError, RecursionError):
            bodies.append(js_stringify(read_json(request.body)).encode())
        signed = (b"[" + stamp.encode() + b";" + body + b"]" for body in bodies)
        if not digest_in(given_mac, (hmac.new(key, content, hashlib.sha256).digest() for content in signed)):
            raise SignatureError("the X-Crisp-Signature header does not match the body: wrong secret or altered body")

    def _check_age(self, stamp: str) -> None:
        """Refuse a signed request whose timestamp is further from our clock than the tolerance: a replay."""
        sent_at = _request_time(stamp)
        if sent_at is None:
            raise SignatureError("the X-Crisp-Request-Timestamp header is not a unix time")
        tolerance, now = timedelta(seconds=self._config.tolerance_seconds), self._clock()
        if sent_at < now - tolerance:
            raise SignatureError(
                f"the X-Crisp-Request-Timestamp header is more than {tolerance.total_seconds():g} seconds old: "
                "a delayed or replayed request"
            )
        if sent_at > now + tolerance:
            raise SignatureError(
                f"the X-Crisp-Request-Timestamp header is more than {tolerance.total_seconds():g} seconds ahead"
            )

    def parse(self, request: WebhookRequest, *, tenant: str) -> list[InboundEvent]:
        """One message per configured message event; nothing for other events, notes and system events. A message
        without the visitor's email names the conversation as its customer."""
        body = read_json_object(request.body)
        event = required_string(body, "event", what="the web hook")
        if event not in self._config.events:
            return []
        data = required_object(body, "data", what="the web hook")
        if (string_at(data, "type") or "text") in _SKIPPED_TYPES:
            return []
        session, fingerprint = string_at(data, "session_id"), string_at(data, "fingerprint")
        if session is None or fingerprint is None:
            raise PayloadError("data.session_id and data.fingerprint are needed to tell messages apart")
        outbound = string_at(data, "from") == "operator"
        # An operator's message carries the operator as its user, never the visitor.
        user = {} if outbound else object_at(data, "user")
        email = string_at(data, "email") or string_at(user, "email")
        website = string_at(data, "website_id") or string_at(body, "website_id")
        if email is None and website is None:
            raise PayloadError(f"the {event} message of session {session} names no email and no website_id")
        first, last = split_name(string_at(user, "nickname"))
        text, attachments = _content(data)
        try:
            occurred_at = as_time(data.get("timestamp")) or as_time(body.get("timestamp")) or request.received_at
        except ValueError:
            raise PayloadError("data.timestamp is not a time") from None
        return [
            make_event(
                f"the {event} message",
                tenant=tenant,
                source=self._name,
                kind=EventKind.MESSAGE,
                occurred_at=occurred_at,
                external_id=f"{session}:{fingerprint}",
                direction=Direction.OUTBOUND if outbound else Direction.INBOUND,
                emails=(email,) if email else (),
                customer_ref=session_ref(website, session) if email is None and website is not None else None,
                first_name=first,
                last_name=last,
                text=text,
                attachments=attachments,
                channel=CHANNEL,
                raw=body,
            )
        ]

    async def find_customer(self, ref: str) -> FoundCustomer:
        """The visitor of the conversation ``ref`` names, from its metas (cached); without a token keypair
        configured, nothing more than the web hook said."""
        if self._visitors is None:
            return FoundCustomer()
        return await self._visitors.find(ref)
