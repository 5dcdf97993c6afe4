"""The generic source: any JSON webhook, mapped onto events by configured JMESPath expressions."""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from typing import Any, Literal, TypeVar

import orjson
from pydantic import BaseModel, ConfigDict, Field, SecretStr, ValidationError, field_validator, model_validator

from inboxbridge.events import MAX_TEXT, Direction, EventKind, InboundEvent
from inboxbridge.providers.base import PayloadError, SignatureError, WebhookRequest
from inboxbridge.providers.generic.expressions import FieldExpression
from inboxbridge.providers.helpers.clock import Clock
from inboxbridge.providers.helpers.connector import ConnectorConfig, ConnectorSource
from inboxbridge.providers.helpers.json_body import read_json
from inboxbridge.providers.helpers.signatures import (
    SignatureEncoding,
    decode_standard_webhooks_secret,
    verify_hmac,
    verify_standard_webhooks,
)
from inboxbridge.providers.helpers.values import (
    as_attachments,
    as_emails,
    as_id,
    as_key,
    as_text,
    as_time,
    as_url,
    describe_type,
    preview,
    split_name,
    truncate,
)

__all__ = ["GenericMapping", "GenericSource", "GenericSourceConfig", "KindChoice", "Verification"]

Verification = Literal["hmac-sha256", "standard-webhooks", "none"]
KindChoice = Literal["message", "activity", "ignore"]
"""What a provider's event type becomes; ``ignore`` drops events of that type (e.g. typing indicators)."""

_T = TypeVar("_T")

EXPRESSION_FIELDS = (
    "events",
    "event_id",
    "occurred_at",
    "kind",
    "direction",
    "email",
    "phone",
    "first_name",
    "last_name",
    "name",
    "text",
    "title",
    "attachments",
    "activity_url",
    "activity_icon_url",
    "channel",
)

# The event field a validation error points at → the mapping field that filled it.
_EVENT_TO_MAPPING = {
    "external_id": "event_id",
    "occurred_at": "occurred_at",
    "emails": "email",
    "phone": "phone",
    "first_name": "first_name",
    "last_name": "last_name",
    "text": "text",
    "title": "title",
    "attachments": "attachments",
    "activity_url": "activity_url",
    "activity_icon_url": "activity_icon_url",
    "channel": "channel",
}
_TITLE_LIMIT = 256
_NAME_LIMIT = 256


class GenericMapping(BaseModel):
    """Where each event field is found in a provider's JSON.

    Every field except ``events`` is a JMESPath expression evaluated on one event object.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    events: str | None = None
    """Selects the list of event objects in the body; unset, the whole body is one event."""
    event_id: str | None = None
    occurred_at: str | None = None
    kind: str | None = None
    kind_map: dict[str, KindChoice] = Field(default_factory=dict)
    default_kind: EventKind = EventKind.MESSAGE
    direction: str | None = None
    direction_map: dict[str, Direction] = Field(default_factory=dict)
    default_direction: Direction = Direction.INBOUND
    email: str | None = None
    phone: str | None = None
    first_name: str | None = None
    last_name: str | None = None
    name: str | None = None
    text: str | None = None
    title: str | None = None
    attachments: str | None = None
    activity_url: str | None = None
    activity_icon_url: str | None = None
    channel: str | None = None
    default_channel: str | None = Field(default=None, max_length=64)

    @field_validator(*EXPRESSION_FIELDS)
    @classmethod
    def _compiles(cls, value: str | None, info: Any) -> str | None:
        if value is not None:
            FieldExpression.compile(info.field_name, value)
        return value

    @model_validator(mode="after")
    def _complete(self) -> GenericMapping:
        if self.email is None and self.phone is None:
            raise ValueError('map "email" or "phone": every event must name the customer it is about')
        if self.text is None and self.attachments is None:
            raise ValueError('map "text" (or "attachments"): an event needs something to show in the Inbox')
        return self


class GenericSourceConfig(ConnectorConfig):
    """A generic JSON webhook: how its requests are verified and how its JSON maps onto events."""

    type: Literal["generic"] = "generic"
    verify: Verification = "hmac-sha256"
    secret: SecretStr | None = None
    signature_header: str = "x-signature"
    signature_encoding: SignatureEncoding = "hex"
    signature_prefix: str = ""
    allow_unsigned: bool = False
    mapping: GenericMapping

    @field_validator("signature_header")
    @classmethod
    def _header_name(cls, value: str) -> str:
        name = value.strip().lower()
        if not name or not all(c.isascii() and (c.isalnum() or c in "!#$%&'*+-.^_`|~") for c in name):
            raise ValueError("signature_header must be an HTTP header name, such as x-signature")
        return name

    @model_validator(mode="after")
    def _verification(self) -> GenericSourceConfig:
        has_secret = self.secret is not None and bool(self.secret.get_secret_value().strip())
        if self.verify == "none":
            if has_secret:
                raise ValueError(
                    'a secret is set but verify = "none" would ignore it: '
                    'choose verify = "hmac-sha256" or "standard-webhooks"'
                )
            if not self.allow_unsigned:
                raise ValueError(
                    'verify = "none" accepts requests from anyone who knows the URL; '
                    "set allow_unsigned = true to confirm that is intended, "
                    'or set a secret with verify = "hmac-sha256" or "standard-webhooks"'
                )
            return self
        if not has_secret:
            raise ValueError(
                f'verify = "{self.verify}" needs a secret: set "secret", or set verify = "none" '
                "and allow_unsigned = true to accept unsigned requests"
            )
        if self.verify == "standard-webhooks":
            assert self.secret is not None
            try:
                decode_standard_webhooks_secret(self.secret)
            except ValueError as error:
                raise ValueError(f"secret is {error}") from None
        return self

    def build(self, name: str, *, clock: Clock | None = None) -> GenericSource:
        """The source this configuration describes, named ``name``."""
        return GenericSource(name, self, clock=clock)


class GenericSource(ConnectorSource[GenericSourceConfig]):
    """A source configured by :class:`GenericSourceConfig`; its expressions are compiled once, here."""

    def __init__(self, name: str, config: GenericSourceConfig, *, clock: Clock | None = None) -> None:
        super().__init__(name, config, clock=clock)
        self._key = (
            decode_standard_webhooks_secret(config.secret)
            if config.verify == "standard-webhooks" and config.secret is not None
            else b""
        )
        mapping = config.mapping
        self._expressions = {
            field: FieldExpression.compile(field, source)
            for field in EXPRESSION_FIELDS
            if (source := getattr(mapping, field)) is not None
        }

    @property
    def config(self) -> GenericSourceConfig:
        """The configuration the source was built from."""
        return self._config

    def __repr__(self) -> str:
        return f"GenericSource(name={self._name!r}, verify={self._config.verify!r})"

    def verify(self, request: WebhookRequest) -> None:
        """Check the request's signature as configured; raise :class:`SignatureError` when it fails."""
        config = self._config
        if config.verify == "none":
            return
        if config.secret is None:
            raise SignatureError("the source has no secret to verify signatures with")
        if config.verify == "standard-webhooks":
            verify_standard_webhooks(request.headers, request.body, self._key, now=self._clock())
            return
        verify_hmac(
            request.body,
            request.headers.get(config.signature_header),
            config.secret,
            header=config.signature_header,
            encoding=config.signature_encoding,
            prefix=config.signature_prefix,
        )

    def parse(self, request: WebhookRequest, *, tenant: str) -> list[InboundEvent]:
        """The events in the request's JSON body, in body order.

        With an ``events`` expression, an empty list is a batch with nothing in it and yields no events. One
        bad event fails the whole request, so a batch is accepted or refused as one.
        """
        body = read_json(request.body)
        objects = self._event_objects(body)
        events: list[InboundEvent] = []
        batched = "events" in self._expressions
        for position, item in enumerate(objects, start=1):
            try:
                event = self._event(item, request, tenant, position if batched else None)
            except PayloadError as error:
                if "events" not in self._expressions:
                    raise
                raise PayloadError(f"event #{position} of {len(objects)}: {error.reason}") from None
            if event is not None:
                events.append(event)
        return events

    def _fallback_id(self, item: dict[str, Any], request: WebhookRequest, position: int | None) -> str:
        """The event's id when ``event_id`` finds none: from what the provider sent, never from when it arrived.

        Standard Webhooks' ``webhook-id`` is the spec's idempotency key, the same on every retry of a message;
        without one, a redelivery carries the same content. ``position`` is the event's place in a batch.
        """
        suffix = "" if position is None else f"#{position}"
        if self._config.verify == "standard-webhooks":
            delivery_id = request.headers.get("webhook-id", "").strip()
            if delivery_id:
                return delivery_id + suffix
        try:
            canonical = orjson.dumps(item, option=orjson.OPT_SORT_KEYS)
        except TypeError:
            # Nested deeper than orjson writes: the body as received is the same on a redelivery too.
            return "content:" + hashlib.sha256(request.body).hexdigest() + suffix
        return "content:" + hashlib.sha256(canonical).hexdigest()

    def _event_objects(self, body: Any) -> list[dict[str, Any]]:
        selector = self._expressions.get("events")
        if selector is None:
            if not isinstance(body, dict):
                raise PayloadError(
                    f"the body is {describe_type(body)}, not a JSON object; "
                    'map "events" to select the event objects'
                )
            return [body]
        selected = selector.search(body)
        if selected is None:
            raise PayloadError(f"{selector.label} found nothing: expected the list of events")
        if not isinstance(selected, list):
            raise PayloadError(f"{selector.label} gave {describe_type(selected)}, not a list of events")
        for position, item in enumerate(selected, start=1):
            if not isinstance(item, dict):
                raise PayloadError(
                    f"{selector.label} item #{position} is {describe_type(item)}, not an event object"
                )
        return selected

    def _read(self, field: str, data: Any, convert: Callable[[Any], _T]) -> _T | None:
        expression = self._expressions.get(field)
        if expression is None:
            return None
        value = expression.search(data)
        try:
            return convert(value)
        except ValueError as error:
            raise PayloadError(f"{expression.label} gave {preview(value)}, {error}") from None

    def _choice(self, field: str, data: Any, table: dict[str, Any], allowed: tuple[str, ...]) -> str | None:
        """The kind or direction expression's value, looked up in its map; exact names pass as they are."""
        expression = self._expressions.get(field)
        if expression is None:
            return None
        value = expression.search(data)
        try:
            key = as_key(value)
        except ValueError as error:
            raise PayloadError(f"{expression.label} gave {preview(value)}, {error}") from None
        if key is None:
            return None
        if key in table:
            return str(table[key])
        if key in allowed:
            return key
        listed = ", ".join(f'"{name}"' for name in table) or "nothing"
        raise PayloadError(
            f"{expression.label} gave {preview(value)}, which is not "
            + " or ".join(f'"{name}"' for name in allowed)
            + f" and not in {field}_map (it lists {listed})"
        )

    def _event(
        self, item: dict[str, Any], request: WebhookRequest, tenant: str, position: int | None
    ) -> InboundEvent | None:
        mapping = self._config.mapping
        kind_name = (
            self._choice("kind", item, mapping.kind_map, ("message", "activity")) or mapping.default_kind
        )
        if kind_name == "ignore":
            return None
        kind = EventKind(kind_name)
        direction = Direction(
            self._choice("direction", item, mapping.direction_map, ("inbound", "outbound"))
            or mapping.default_direction
        )
        emails = self._read("email", item, as_emails) or ()
        phone = self._read("phone", item, as_text)
        if not emails and not (phone and phone.strip()):
            raise PayloadError(
                f"{self._found_nothing('email', 'phone')}: the event names no customer; "
                'map "email" or "phone"'
            )
        text = truncate(self._read("text", item, as_text), MAX_TEXT)
        attachments = self._read("attachments", item, as_attachments) or ()
        has_text = bool(text and text.strip())
        if kind is EventKind.MESSAGE and not has_text and not attachments:
            raise PayloadError(
                f"{self._found_nothing('text', 'attachments')}: "
                "a message needs text or at least one attachment"
            )
        if kind is EventKind.ACTIVITY and not has_text:
            raise PayloadError(
                f"{self._found_nothing('text')}: an activity needs a text (the line shown in the Inbox)"
            )
        first_name = self._read("first_name", item, as_text)
        last_name = self._read("last_name", item, as_text)
        name_first, name_last = split_name(self._read("name", item, as_text))
        # The full name fills in whichever of first and last name found nothing.
        first_name = first_name if first_name and first_name.strip() else name_first
        last_name = last_name if last_name and last_name.strip() else name_last
        fields: dict[str, Any] = {
            "external_id": self._read("event_id", item, as_id) or self._fallback_id(item, request, position),
            "occurred_at": self._read("occurred_at", item, as_time) or request.received_at,
            "emails": emails,
            "phone": phone,
            "first_name": truncate(first_name, _NAME_LIMIT),
            "last_name": truncate(last_name, _NAME_LIMIT),
            "text": text,
            "title": truncate(self._read("title", item, as_text), _TITLE_LIMIT),
            "attachments": attachments,
            "activity_url": self._read("activity_url", item, as_url),
            "activity_icon_url": self._read("activity_icon_url", item, as_url),
            "channel": self._read("channel", item, as_text) or mapping.default_channel,
        }
        try:
            return InboundEvent(
                tenant=tenant, source=self._name, kind=kind, direction=direction, raw=item, **fields
            )
        except ValidationError as error:
            raise PayloadError(self._explain(error, fields)) from None

    def _found_nothing(self, *fields: str) -> str:
        mapped = [self._expressions[field] for field in fields if field in self._expressions]
        if not mapped:
            return 'mapping "' + '" and "'.join(fields) + '" is not set, so it found nothing'
        return "mapping " + " and ".join(f'"{e.field}" ({e.source})' for e in mapped) + " found nothing"

    def _explain(self, error: ValidationError, fields: dict[str, Any]) -> str:
        problem = error.errors(include_url=False)[0]
        message = str(problem["msg"]).removeprefix("Value error, ")
        location = problem["loc"]
        if not location:
            return f"the event is incomplete: {message}"
        event_field = str(location[0])
        mapping_field = _EVENT_TO_MAPPING.get(event_field)
        if mapping_field is None:
            return f"{event_field}: {message}"
        expression = self._expressions.get(mapping_field)
        label = expression.label if expression is not None else f'mapping "{mapping_field}"'
        return f"{label} gave {preview(fields.get(event_field))}: {message}"
