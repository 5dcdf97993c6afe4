"""Every source type, configured with its own secret, and how each provider signs (or forges) a request.

Used by the bad-input suite (fuzzed bodies, signed so that the parser is reached) and the security suite
(forged, missing and replayed signatures).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlencode

from inboxbridge.providers.twilio.signature import twilio_signature

__all__ = ["CONNECTORS", "PUBLIC", "Connector", "Req", "source_settings"]

PUBLIC = "https://bridge.example.com"
FIXTURES = Path(__file__).parents[1] / "providers" / "fixtures"
FORM = "application/x-www-form-urlencoded"
JSON = "application/json"
STANDARD_KEY = b"standard-webhooks-key-for-tests!"


@dataclass(frozen=True)
class Req:
    """A request as a provider would send it to ``/hooks/<tenant>/<source>``."""

    body: bytes
    headers: dict[str, str] = field(default_factory=dict)
    query: dict[str, str] = field(default_factory=dict)


def _fixture(name: str) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((FIXTURES / f"{name}.json").read_text())
    return data


def _hex256(key: bytes, data: bytes) -> str:
    return hmac.new(key, data, hashlib.sha256).hexdigest()


@dataclass(frozen=True)
class Connector:
    """A configured source: its config (with ``secret`` as the proof) and how its requests are made.

    ``sign(body, content_type, secret, now, path)`` proves a raw body (None: the proof lives in form fields, see
    ``form``); ``sample(n)`` is a realistic, valid payload (bytes, content type); ``timestamped`` says whether
    the proof carries a time, so an old one is a replay.
    """

    name: str
    config: Callable[[str], dict[str, Any]]
    sample: Callable[[int], tuple[bytes, str]]
    sign: Callable[[bytes, str, str, int, str], Req] | None
    form: Callable[[dict[str, str], str, int, str], Req] | None = None
    timestamped: bool = False
    secret: str = ""

    def request(
        self, body: bytes, content_type: str, *, secret: str | None = None, now: int | None = None, path: str = ""
    ) -> Req:
        """The body proven with the connector's secret (or ``secret``) at ``now`` (default: the wall clock)."""
        key = self.secret if secret is None else secret
        when = int(time.time()) if now is None else now
        if self.sign is not None:
            return self.sign(body, content_type, key, when, path)
        assert self.form is not None
        fields = dict(_parse_form(body))
        return self.form(fields, key, when, path)

    def valid(self, n: int, path: str, *, secret: str | None = None, now: int | None = None) -> Req:
        """Sample ``n`` proven like the provider proves it."""
        body, content_type = self.sample(n)
        return self.request(body, content_type, secret=secret, now=now, path=path)


def _parse_form(body: bytes) -> list[tuple[str, str]]:
    return parse_qsl(body.decode(), keep_blank_values=True)


# Generic, HMAC-SHA256 of the body in x-signature.
def _generic_sample(n: int) -> tuple[bytes, str]:
    body = {
        "id": f"g{n}-{uuid.uuid4().hex[:6]}",
        "at": "2026-11-26T10:00:00Z",
        "customer": {"email": f"generic{n}@example.com", "phone": "+14155550123"},
        "text": f"hello {n}",
    }
    return json.dumps(body).encode(), JSON


def _generic_sign(body: bytes, content_type: str, secret: str, now: int, path: str) -> Req:
    return Req(body, {"x-signature": _hex256(secret.encode(), body), "content-type": content_type})


def _standard_sign(body: bytes, content_type: str, secret: str, now: int, path: str) -> Req:
    key = base64.b64decode(secret.removeprefix("whsec_"))
    webhook_id = f"msg_{hashlib.sha256(body).hexdigest()[:16]}"
    mac = hmac.new(key, f"{webhook_id}.{now}.".encode() + body, hashlib.sha256).digest()
    headers = {
        "webhook-id": webhook_id,
        "webhook-timestamp": str(now),
        "webhook-signature": "v1," + base64.b64encode(mac).decode(),
        "content-type": content_type,
    }
    return Req(body, headers)


GENERIC_MAPPING = {
    "event_id": "id",
    "occurred_at": "at",
    "email": "customer.email",
    "phone": "customer.phone",
    "name": "customer.name",
    "text": "text",
}


def _intercom_sample(n: int) -> tuple[bytes, str]:
    data = _fixture("intercom_conversation_user_created")
    data["id"] = f"notif_{uuid.uuid4().hex}"
    data["data"]["item"]["id"] = str(10_000 + n) + uuid.uuid4().hex[:4]
    return json.dumps(data).encode(), JSON


def _intercom_sign(body: bytes, content_type: str, secret: str, now: int, path: str) -> Req:
    mac = hmac.new(secret.encode(), body, hashlib.sha1).hexdigest()
    return Req(body, {"x-hub-signature": f"sha1={mac}", "content-type": content_type})


def _crisp_sample(n: int) -> tuple[bytes, str]:
    data = _fixture("crisp_message_send")
    data["data"]["fingerprint"] = 10_000_000 + n * 7919 + int(uuid.uuid4().int % 1000)
    data["data"]["user"]["email"] = f"crisp{n}@example.com"
    return json.dumps(data, separators=(",", ":")).encode(), JSON


def _crisp_sign(body: bytes, content_type: str, secret: str, now: int, path: str) -> Req:
    stamp = str(now)
    mac = _hex256(secret.encode(), b"[" + stamp.encode() + b";" + body + b"]")
    return Req(body, {"x-crisp-request-timestamp": stamp, "x-crisp-signature": mac, "content-type": content_type})


def _twilio_sample(name: str) -> Callable[[int], tuple[bytes, str]]:
    def sample(n: int) -> tuple[bytes, str]:
        data = {k: str(v) for k, v in _fixture(name).items()}
        sid = ("SM" if "sms" in name else "CA") + uuid.uuid4().hex
        for key in ("MessageSid", "SmsSid", "SmsMessageSid", "CallSid"):
            if key in data:
                data[key] = sid
        return urlencode(data).encode(), FORM

    return sample


def _twilio_form(fields: dict[str, str], secret: str, now: int, path: str) -> Req:
    params = {k: [v] for k, v in fields.items()}
    signature = base64.b64encode(twilio_signature(PUBLIC + path, params, secret)).decode()
    return Req(urlencode(fields).encode(), {"x-twilio-signature": signature, "content-type": FORM})


def _timestamped(header: str) -> Callable[[bytes, str, str, int, str], Req]:
    def sign(body: bytes, content_type: str, secret: str, now: int, path: str) -> Req:
        mac = _hex256(secret.encode(), f"{now}.".encode() + body)
        return Req(body, {header: f"t={now},v1={mac}", "content-type": content_type})

    return sign


def _calendly_sample(n: int) -> tuple[bytes, str]:
    data = _fixture("calendly_invitee_created")
    data["payload"]["uri"] = f"https://api.calendly.com/scheduled_events/E/invitees/{uuid.uuid4().hex}"
    return json.dumps(data).encode(), JSON


def _stripe_sample(n: int) -> tuple[bytes, str]:
    data = _fixture("stripe_payment_intent_succeeded")
    data["id"] = f"evt_{uuid.uuid4().hex}"
    data["data"]["object"]["id"] = f"pi_{uuid.uuid4().hex}"
    return json.dumps(data).encode(), JSON


def _shopify_sample(n: int) -> tuple[bytes, str]:
    data = _fixture("shopify_order_created")
    data["id"] = 5_000_000 + n * 31 + int(uuid.uuid4().int % 30)
    return json.dumps(data).encode(), JSON


def _shopify_sign(body: bytes, content_type: str, secret: str, now: int, path: str) -> Req:
    mac = base64.b64encode(hmac.new(secret.encode(), body, hashlib.sha256).digest()).decode()
    headers = {
        "x-shopify-hmac-sha256": mac,
        "x-shopify-topic": "orders/create",
        "x-shopify-webhook-id": str(uuid.uuid4()),
        "content-type": content_type,
    }
    return Req(body, headers)


def _sendgrid_sample(n: int) -> tuple[bytes, str]:
    data = _fixture("email/sendgrid_parse")
    data["headers"] = data["headers"].replace("CAKWdv", uuid.uuid4().hex)
    return urlencode(data).encode(), FORM


def _token_sign(body: bytes, content_type: str, secret: str, now: int, path: str) -> Req:
    return Req(body, {"content-type": content_type}, {"token": secret})


def _mailgun_sample(n: int) -> tuple[bytes, str]:
    data = _fixture("email/mailgun_forward")
    data["Message-Id"] = f"<{uuid.uuid4().hex}@mail.example.com>"
    return urlencode({k: v if isinstance(v, str) else json.dumps(v) for k, v in data.items()}).encode(), FORM


def _mailgun_form(fields: dict[str, str], secret: str, now: int, path: str) -> Req:
    token = hashlib.sha256(json.dumps(fields, sort_keys=True).encode()).hexdigest()[:50]
    signature = _hex256(secret.encode(), f"{now}{token}".encode())
    signed = {**fields, "timestamp": str(now), "token": token, "signature": signature}
    return Req(urlencode(signed).encode(), {"content-type": FORM})


def _postmark_sample(n: int) -> tuple[bytes, str]:
    data = _fixture("email/postmark_inbound")
    data["MessageID"] = str(uuid.uuid4())
    return json.dumps(data).encode(), JSON


def _basic_sign(body: bytes, content_type: str, secret: str, now: int, path: str) -> Req:
    credentials = base64.b64encode(f"postmark:{secret}".encode()).decode()
    return Req(body, {"authorization": f"Basic {credentials}", "content-type": content_type})


def _secret(name: str) -> str:
    return f"{name}-secret-0123456789abcdef"


CONNECTORS: list[Connector] = [
    Connector(
        "generic",
        lambda s: {"type": "generic", "secret": s, "mapping": GENERIC_MAPPING},
        _generic_sample,
        _generic_sign,
        secret=_secret("generic"),
    ),
    Connector(
        "standard",
        lambda s: {"type": "generic", "verify": "standard-webhooks", "secret": s, "mapping": GENERIC_MAPPING},
        _generic_sample,
        _standard_sign,
        timestamped=True,
        secret="whsec_" + base64.b64encode(STANDARD_KEY).decode(),
    ),
    Connector(
        "intercom",
        lambda s: {"type": "intercom", "client_secret": s},
        _intercom_sample,
        _intercom_sign,
        secret=_secret("intercom"),
    ),
    Connector("crisp", lambda s: {"type": "crisp", "secret": s}, _crisp_sample, _crisp_sign, secret=_secret("crisp")),
    Connector(
        "sms",
        lambda s: {"type": "twilio_sms", "auth_token": s, "business_numbers": ["+14155550100"]},
        _twilio_sample("twilio_sms_inbound"),
        None,
        _twilio_form,
        secret=_secret("twilio"),
    ),
    Connector(
        "calls",
        lambda s: {"type": "twilio_voice", "auth_token": s},
        _twilio_sample("twilio_voice_completed"),
        None,
        _twilio_form,
        secret=_secret("twilio"),
    ),
    Connector(
        "calendly",
        lambda s: {"type": "calendly", "signing_key": s},
        _calendly_sample,
        _timestamped("calendly-webhook-signature"),
        timestamped=True,
        secret=_secret("calendly"),
    ),
    Connector(
        "stripe",
        lambda s: {"type": "stripe", "signing_secret": s},
        _stripe_sample,
        _timestamped("stripe-signature"),
        timestamped=True,
        secret="whsec_" + _secret("stripe"),
    ),
    Connector(
        "shopify", lambda s: {"type": "shopify", "secret": s}, _shopify_sample, _shopify_sign, secret=_secret("shopify")
    ),
    Connector(
        "sendgrid",
        lambda s: {"type": "sendgrid", "token": s},
        _sendgrid_sample,
        _token_sign,
        secret=_secret("sendgrid"),
    ),
    Connector(
        "mailgun",
        lambda s: {"type": "mailgun", "signing_key": s},
        _mailgun_sample,
        None,
        _mailgun_form,
        timestamped=True,
        secret=_secret("mailgun"),
    ),
    Connector(
        "postmark",
        lambda s: {"type": "postmark", "username": "postmark", "password": s},
        _postmark_sample,
        _basic_sign,
        secret=_secret("postmark"),
    ),
]


def source_settings(secret_of: Callable[[Connector], str] | None = None) -> dict[str, dict[str, Any]]:
    """The ``sources`` table of a tenant with every connector (``secret_of`` may give per-tenant secrets)."""
    return {c.name: c.config(secret_of(c) if secret_of else c.secret) for c in CONNECTORS}
