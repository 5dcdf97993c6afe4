"""Crisp: chat messages a visitor sends (``message:send``) or an operator sends (``message:received``).

Plugin Hooks are signed: ``X-Crisp-Signature`` is the hex HMAC-SHA256, keyed with the plugin's signing secret,
of ``[{X-Crisp-Request-Timestamp};{body}]``, the body being the JSON as ``JSON.stringify`` writes it. Website
Hooks are not signed: Crisp advises a secret key in the URL (``?key=...``), which ``verify = "url-key"`` checks.

Crisp's message events carry no email of their own; the visitor's address is read from the message's ``user``
(``email``) when Crisp includes it, and a message without one is refused with that reason.
"""

from __future__ import annotations

import contextlib
import hashlib
import hmac
import json
from decimal import Decimal
from typing import Any, Literal

from pydantic import Field, SecretStr, model_validator

from inboxbridge.events import Attachment, AttachmentKind, Direction, EventKind, InboundEvent
from inboxbridge.providers.base import PayloadError, SignatureError, WebhookRequest
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

    @model_validator(mode="after")
    def _secrets(self) -> CrispSourceConfig:
        needed, other = ("secret", "key") if self.verify == "signature" else ("key", "secret")
        value = getattr(self, needed)
        if value is None or not value.get_secret_value().strip():
            raise ValueError(f'verify = "{self.verify}" needs "{needed}"')
        if getattr(self, other) is not None:
            raise ValueError(f'"{other}" is not used with verify = "{self.verify}": remove it')
        return self

    def build(self, name: str, *, clock: Clock | None = None) -> CrispSource:
        """The source this configuration describes, named ``name``."""
        return CrispSource(name, self)


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


class CrispSource(ConnectorSource[CrispSourceConfig]):
    """A source configured by :class:`CrispSourceConfig`."""

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

    def parse(self, request: WebhookRequest, *, tenant: str) -> list[InboundEvent]:
        """One message per configured message event; nothing for other events, notes and system events."""
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
        user = object_at(data, "user")
        email = string_at(data, "email") or (None if outbound else string_at(user, "email"))
        if email is None:
            raise PayloadError(
                f"the {event} message of session {session} names no visitor email: Crisp includes it only for "
                "visitors who gave one"
            )
        first, last = split_name(None if outbound else string_at(user, "nickname"))
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
                emails=(email,),
                first_name=first,
                last_name=last,
                text=text,
                attachments=attachments,
                channel=CHANNEL,
                raw=body,
            )
        ]
