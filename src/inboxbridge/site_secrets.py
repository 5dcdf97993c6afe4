"""Each installed site's own secrets for the sources of the ``[wix_app.sources]`` template.

Every site that installs the Wix app gets the template's sources, but a secret shared by all of them would let a
request signed for one site be stored for another (a signature covers the body, not the URL's tenant). So each
secret in the template is a key, and each site's secret is derived from it:
HMAC-SHA256(template secret, "inboxbridge source secret" NUL tenant NUL source NUL field), written the way the
provider's secrets are written. The operator reads a site's secrets with ``inboxbridge secret`` and gives them to
the provider. A secret the provider issues (a Twilio auth token, a Stripe endpoint's signing secret...) cannot be
chosen per site, so a source that verifies with one cannot be part of the template.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from collections.abc import Callable

from pydantic import SecretStr

from inboxbridge.providers import SourceConfig
from inboxbridge.providers.calendly import CalendlySourceConfig
from inboxbridge.providers.crisp import CrispSourceConfig
from inboxbridge.providers.email import PostmarkSourceConfig, SendGridSourceConfig
from inboxbridge.providers.generic import GenericSourceConfig

__all__ = ["MIN_TEMPLATE_SECRET_LENGTH", "bind_to_site", "check_template", "site_secrets"]

MIN_TEMPLATE_SECRET_LENGTH = 32
"""A template secret is the key to every site's secret: a site owner who knows one derived secret must not be able
to guess it."""

_LABEL = b"inboxbridge source secret"

Encoder = Callable[[bytes], str]

_ISSUED_BY_PROVIDER = {
    "intercom": "Intercom issues the app's client_secret",
    "crisp": 'Crisp issues the plugin\'s signing secret (a Website Hook with verify = "url-key" can be a template)',
    "twilio_sms": "Twilio issues the account's auth_token",
    "twilio_voice": "Twilio issues the account's auth_token",
    "stripe": "Stripe issues each endpoint's signing_secret",
    "shopify": "Shopify issues the app's client secret and the store's webhook signing secret",
    "mailgun": "Mailgun issues the account's webhook signing_key",
}


def _hex(digest: bytes) -> str:
    return digest.hex()


def _standard_webhooks(digest: bytes) -> str:
    return "whsec_" + base64.b64encode(digest).decode("ascii")


def _secret_fields(config: SourceConfig) -> dict[str, Encoder]:
    """The fields of ``config`` that hold a secret we choose, and how each is written; ValueError for a source
    whose secret the provider issues."""
    match config:
        case GenericSourceConfig(verify="none"):
            return {}
        case GenericSourceConfig(verify="standard-webhooks"):
            return {"secret": _standard_webhooks}
        case GenericSourceConfig():
            return {"secret": _hex}
        case SendGridSourceConfig() | PostmarkSourceConfig():
            return {name: _hex for name in ("password", "token") if getattr(config, name) is not None}
        case CalendlySourceConfig():
            # Calendly signs with the signing_key given when the webhook subscription is created.
            return {"signing_key": _hex}
        case CrispSourceConfig(verify="url-key"):
            return {"key": _hex}
    issuer = _ISSUED_BY_PROVIDER.get(config.type, f"inboxbridge cannot choose a {config.type} source's secret")
    raise ValueError(
        f"a {config.type} source cannot be a template for every site that installs the app: {issuer}, so every "
        "site would share it and a request signed for one site would be accepted on another's URL; configure "
        "it for each site instead, as a tenant of its own ([tenants.<name>] with wix app_id, app_secret and "
        "instance_id, and this source under [tenants.<name>.sources])"
    )


def check_template(config: SourceConfig) -> None:
    """Raise ValueError, saying why, unless ``config`` can serve every site that installs the app."""
    for name in _secret_fields(config):
        value = getattr(config, name)
        if len(value.get_secret_value()) < MIN_TEMPLATE_SECRET_LENGTH:
            raise ValueError(
                f"{name} must be at least {MIN_TEMPLATE_SECRET_LENGTH} characters: each site's {name} is derived "
                "from it, and a site that knows its own must not be able to guess it (e.g. openssl rand -hex 32)"
            )


def _derive(template: str, tenant: str, source: str, field: str) -> bytes:
    message = b"\0".join((_LABEL, tenant.encode(), source.encode(), field.encode()))
    return hmac.new(template.encode(), message, hashlib.sha256).digest()


def site_secrets(config: SourceConfig, tenant: str, source: str) -> dict[str, str]:
    """Each secret of the template source ``source`` as tenant ``tenant``'s copy of it has it, by field name (empty
    for an unsigned source); ValueError for a source that cannot be a template."""
    return {
        name: encode(_derive(getattr(config, name).get_secret_value(), tenant, source, name))
        for name, encode in _secret_fields(config).items()
    }


def bind_to_site(config: SourceConfig, tenant: str, source: str) -> SourceConfig:
    """The template source ``config`` with the secrets of tenant ``tenant`` in place of the template's."""
    secrets = {name: SecretStr(value) for name, value in site_secrets(config, tenant, source).items()}
    return config.model_copy(update=secrets) if secrets else config
