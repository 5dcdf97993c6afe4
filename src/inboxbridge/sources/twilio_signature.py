"""Twilio's ``X-Twilio-Signature``: base64 HMAC-SHA1, keyed with the account's auth token, of the full URL
Twilio called followed by every POST parameter's name and value, sorted by name.

The URL must be the one Twilio was given (the public one, behind a proxy). Like Twilio's own validator, the URL
is tried with and without its port, since Twilio may sign either form.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
from collections.abc import Mapping, Sequence
from urllib.parse import urlsplit, urlunsplit

from pydantic import SecretStr

from inboxbridge.sources.base import SignatureError

__all__ = ["HEADER", "twilio_signature", "verify_twilio_signature"]

HEADER = "x-twilio-signature"
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
    matched = False
    for form in _url_forms(url):
        matched |= hmac.compare_digest(twilio_signature(form, params, token), given)
    if not matched:
        raise SignatureError(
            f"the {HEADER} header does not match this URL and these parameters: wrong auth token, "
            "altered request, or a URL other than the one Twilio called (set public_base_url behind a proxy)"
        )
