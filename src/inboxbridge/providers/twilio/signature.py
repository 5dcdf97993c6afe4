"""Twilio's ``X-Twilio-Signature``: base64 HMAC-SHA1, keyed with the account's auth token, of the full URL
Twilio called followed by every POST parameter's name and value, sorted by name.

The URL must be the one Twilio was given (the public one, behind a proxy). Like Twilio's own validator, the URL
is tried with and without its port, since Twilio may sign either form. Every Twilio webhook is signed so, and
answered so (an empty TwiML document), which is why the config and source bases of the SMS and Voice webhooks
live here, beside the check.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
from collections.abc import Mapping, Sequence
from typing import Annotated, Any, TypeVar
from urllib.parse import urlsplit, urlunsplit

from pydantic import Field, SecretStr, ValidationInfo, field_validator

from inboxbridge.phones import normalize_phone
from inboxbridge.providers.answers import Reply
from inboxbridge.providers.base import SignatureError, WebhookRequest
from inboxbridge.providers.helpers.clock import Clock
from inboxbridge.providers.helpers.connector import ConnectorConfig, ConnectorSource, PhoneRegionMixin, required_secret
from inboxbridge.providers.helpers.forms import form_fields
from inboxbridge.providers.helpers.signatures import digest_in

__all__ = ["EMPTY_TWIML", "HEADER", "TwilioConfig", "TwilioSource", "twilio_signature", "verify_twilio_signature"]

HEADER = "x-twilio-signature"
EMPTY_TWIML = b'<?xml version="1.0" encoding="UTF-8"?><Response />'
"""What Twilio's own libraries write for a response with no verb: Twilio does nothing more with the message or
call, and logs no error 12300 (which it does for an answer that is not TwiML)."""
_DEFAULT_PORTS = {"https": 443, "http": 80}


def twilio_signature(url: str, params: Mapping[str, Sequence[str]], auth_token: str) -> bytes:
    """The HMAC-SHA1 digest Twilio sends (base64-encoded) for a form POST of ``params`` to ``url``."""
    data = url + "".join(name + value for name in sorted(params) for value in sorted(set(params[name])))
    return hmac.new(auth_token.encode(), data.encode(), hashlib.sha1).digest()


def _url_forms(url: str) -> list[str]:
    parts = urlsplit(url)
    host = parts.hostname or ""
    if ":" in host:
        host = f"[{host}]"
    userinfo = parts.netloc.rpartition("@")[0]
    prefix = f"{userinfo}@" if userinfo else ""
    forms = [url, urlunsplit(parts._replace(netloc=prefix + host))]
    default = _DEFAULT_PORTS.get(parts.scheme)
    if parts.port is None and default is not None:
        forms.append(urlunsplit(parts._replace(netloc=f"{prefix}{host}:{default}")))
    return list(dict.fromkeys(forms))


def verify_twilio_signature(
    url: str, params: Mapping[str, Sequence[str]], signature: str | None, auth_token: SecretStr
) -> None:
    """Return when ``signature`` (the header's value, ``None`` when absent) is Twilio's for this request."""
    if signature is None or not signature.strip():
        raise SignatureError(f"the {HEADER} header is missing: the request is not signed")
    try:
        given = base64.b64decode(signature.strip(), validate=True)
    except (binascii.Error, ValueError):
        raise SignatureError(f"the {HEADER} header is not a base64 signature") from None
    token = auth_token.get_secret_value()
    if not digest_in(given, (twilio_signature(form, params, token) for form in _url_forms(url))):
        raise SignatureError(
            f"the {HEADER} header does not match this URL and these parameters: wrong auth token, "
            "altered request, or a URL other than the one Twilio called (set public_base_url behind a proxy)"
        )


class TwilioConfig(ConnectorConfig, PhoneRegionMixin):
    """What every Twilio webhook is configured with: the auth token that signs it, the business's own numbers and
    the region of national numbers."""

    auth_token: Annotated[SecretStr, required_secret("auth_token must be the Twilio account's auth token")]
    business_numbers: list[str] = Field(default_factory=list)
    """The business's own numbers (Twilio numbers, the phones calls are forwarded to; E.164, or national with
    ``default_region``): never taken for a customer."""

    @field_validator("business_numbers")
    @classmethod
    def _numbers(cls, value: list[str], info: ValidationInfo) -> list[str]:
        return [normalize_phone(number, info.data.get("default_region")) for number in value]


TwilioConfigT = TypeVar("TwilioConfigT", bound=TwilioConfig)


class TwilioSource(ConnectorSource[TwilioConfigT]):
    """A Twilio webhook's source: its requests are forms signed by :func:`twilio_signature`, answered with TwiML."""

    def __init__(self, name: str, config: TwilioConfigT, *, clock: Clock | None = None) -> None:
        super().__init__(name, config, clock=clock)
        self._business = frozenset(config.business_numbers)

    def is_business(self, raw: str) -> bool:
        """Whether ``raw`` (a number as Twilio wrote it) is one of the business's own numbers."""
        try:
            return normalize_phone(raw, self._config.default_region) in self._business
        except ValueError:
            return False

    def answer(self, status: int, outcome: Mapping[str, Any]) -> Reply | None:
        """An accepted (or ignored) webhook is answered with an empty TwiML document, as Twilio expects from a
        Messaging or Voice webhook; Twilio reads only the 2xx of the status, so it keeps the server's (202 stored,
        200 repeat or ignored). Refusals keep their JSON reason, which Twilio's debugger shows."""
        if 200 <= status < 300:
            return Reply(status, EMPTY_TWIML, "text/xml; charset=utf-8")
        return None

    def verify(self, request: WebhookRequest) -> None:
        """Check ``X-Twilio-Signature`` over the public URL and the form parameters."""
        verify_twilio_signature(request.url, form_fields(request), request.headers.get(HEADER), self._config.auth_token)
