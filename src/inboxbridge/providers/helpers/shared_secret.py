"""Proof for providers that sign nothing: HTTP basic auth credentials or a secret token in the URL.

SendGrid Inbound Parse and Postmark inbound post unsigned requests, so the only proof that a request comes from
them is a secret they were given with the URL: ``https://user:password@host/hooks/...`` (basic auth) or
``https://host/hooks/...?token=...``. Every comparison is constant-time and every configured credential must
match.
"""

from __future__ import annotations

import base64
import binascii
import hmac
from typing import Self

from pydantic import BaseModel, SecretStr, field_validator, model_validator

from inboxbridge.providers.base import SignatureError, WebhookRequest

__all__ = ["SharedSecretConfig", "verify_shared_secret"]


def _equal(given: str, expected: SecretStr) -> bool:
    return hmac.compare_digest(given.encode("utf-8", "surrogatepass"), expected.get_secret_value().encode())


class SharedSecretConfig(BaseModel):
    """The credentials an unsigned provider must present: basic auth, a URL token, or both."""

    username: str | None = None
    password: SecretStr | None = None
    token: SecretStr | None = None
    token_parameter: str = "token"  # noqa: S105 - the name of a query parameter, not a secret

    @field_validator("token_parameter")
    @classmethod
    def _parameter_name(cls, value: str) -> str:
        if not value.strip() or any(c in value for c in "&=#? "):
            raise ValueError("token_parameter must be a URL query parameter name, such as token")
        return value

    @model_validator(mode="after")
    def _some_proof(self) -> Self:
        if (self.username is None) != (self.password is None):
            raise ValueError("set both username and password (basic auth), or neither")
        if self.password is not None and not self.password.get_secret_value():
            raise ValueError("password must not be empty")
        if self.username is not None and ":" in self.username:
            raise ValueError("username must not contain ':' (basic auth cannot carry it)")
        if self.token is not None and len(self.token.get_secret_value()) < 16:
            raise ValueError("token must be at least 16 characters: it is the only proof of origin")
        if self.password is None and self.token is None:
            raise ValueError(
                "this provider signs nothing: set username and password (basic auth in the webhook URL) "
                "or token (a secret query parameter in the webhook URL), so that only the provider can post"
            )
        return self


def _basic_credentials(header: str | None) -> tuple[str, str] | None:
    if not header:
        return None
    scheme, _, encoded = header.strip().partition(" ")
    if scheme.lower() != "basic" or not encoded.strip():
        return None
    try:
        decoded = base64.b64decode(encoded.strip(), validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError):
        return None
    username, colon, password = decoded.partition(":")
    return (username, password) if colon else None


def verify_shared_secret(request: WebhookRequest, config: SharedSecretConfig) -> None:
    """Return when every configured credential is present and right; raise :class:`SignatureError` otherwise."""
    if config.token is not None:
        given = request.query.get(config.token_parameter)
        if not given:
            raise SignatureError(
                f'the "{config.token_parameter}" query parameter is missing: '
                "add the configured token to the webhook URL"
            )
        if not _equal(given, config.token):
            raise SignatureError(f'the "{config.token_parameter}" query parameter is wrong')
    if config.password is not None:
        assert config.username is not None
        credentials = _basic_credentials(request.headers.get("authorization"))
        if credentials is None:
            raise SignatureError(
                "the request has no basic auth credentials: "
                "put them in the webhook URL as https://username:password@host/..."
            )
        # Both compared, always, so the time taken does not tell which one was wrong.
        right_user = hmac.compare_digest(credentials[0].encode(), config.username.encode())
        right_password = _equal(credentials[1], config.password)
        if not (right_user and right_password):
            raise SignatureError("the basic auth username or password is wrong")
