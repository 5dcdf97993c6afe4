"""Each installed site's own secrets for the [wix_app.sources] template, and the template sources refused."""

from __future__ import annotations

import base64
from typing import Any

import pytest

from inboxbridge.config import ConfigError, load_settings
from inboxbridge.providers import parse_source_config
from inboxbridge.site_secrets import bind_to_site, site_secrets
from inboxbridge.tenants import TenantDirectory
from inboxbridge.wix import WixClient

KEY = "template-key-0123456789abcdef0123456789"
MAPPING = {"email": "customer.email", "text": "text"}
PUBLIC_KEY = "-----BEGIN PUBLIC KEY-----\nMIIB\n-----END PUBLIC KEY-----"
TEMPLATES: dict[str, dict[str, Any]] = {
    "hmac": {"type": "generic", "secret": KEY, "mapping": MAPPING},
    "standard": {"type": "generic", "verify": "standard-webhooks", "secret": "whsec_" + "A" * 44, "mapping": MAPPING},
    "calendly": {"type": "calendly", "signing_key": KEY},
    "sendgrid": {"type": "sendgrid", "token": KEY},
    "postmark": {"type": "postmark", "username": "postmark", "password": KEY, "token": KEY},
    "crisp-website": {"type": "crisp", "verify": "url-key", "key": KEY},
}


def _secrets(template: dict[str, Any], tenant: str, source: str = "src") -> dict[str, str]:
    return site_secrets(parse_source_config(template), tenant, source)


@pytest.mark.parametrize("name", TEMPLATES)
def test_each_site_has_its_own_secret_written_as_the_provider_writes_it(name: str) -> None:
    template = TEMPLATES[name]
    site_a, site_b = _secrets(template, "site-a"), _secrets(template, "site-b")
    assert site_a == _secrets(template, "site-a")
    assert set(site_a) == set(site_b) and site_a
    for field, value in site_a.items():
        assert value != site_b[field]
        assert value != _secrets(template, "site-a", "other-source")[field]
        assert value != template[field]
    # The derived values are valid settings of the provider: the source can be built from them.
    bound = bind_to_site(parse_source_config(template), "site-a", "src")
    assert bound.build("src") is not None
    if name == "standard":
        assert len(base64.b64decode(site_a["secret"].removeprefix("whsec_"))) == 32
    else:
        assert all(len(bytes.fromhex(value)) == 32 for value in site_a.values())


def test_two_secrets_of_one_source_differ() -> None:
    found = _secrets(TEMPLATES["postmark"], "site-a")
    assert found["password"] != found["token"]


def test_an_unsigned_source_has_no_secret_to_derive() -> None:
    template = parse_source_config({"type": "generic", "verify": "none", "allow_unsigned": True, "mapping": MAPPING})
    assert site_secrets(template, "site-a", "src") == {}
    assert bind_to_site(template, "site-a", "src") is template


def _load(sources: dict[str, Any]) -> Any:
    return load_settings(None, wix_app={"app_id": "app", "public_key": PUBLIC_KEY, "sources": sources})


@pytest.mark.parametrize(
    ("template", "issuer"),
    [
        ({"type": "twilio_sms", "auth_token": KEY}, "Twilio issues the account's auth_token"),
        ({"type": "twilio_voice", "auth_token": KEY}, "Twilio issues the account's auth_token"),
        ({"type": "stripe", "signing_secret": "whsec_" + KEY}, "Stripe issues each endpoint's signing_secret"),
        ({"type": "intercom", "client_secret": KEY}, "Intercom issues the app's client_secret"),
        ({"type": "shopify", "secret": KEY}, "Shopify issues"),
        ({"type": "mailgun", "signing_key": KEY}, "Mailgun issues"),
        ({"type": "crisp", "secret": KEY}, "Crisp issues the plugin's signing secret"),
    ],
)
def test_a_source_whose_secret_the_provider_issues_cannot_be_a_template(template: dict[str, Any], issuer: str) -> None:
    with pytest.raises(ConfigError) as refused:
        _load({"sms": template})
    message = str(refused.value)
    assert f"wix_app.sources: Value error, source 'sms': a {template['type']} source cannot be a template" in message
    assert issuer in message
    assert "[tenants.<name>.sources]" in message
    assert KEY not in message


def test_a_short_template_secret_is_refused() -> None:
    with pytest.raises(ConfigError, match="secret must be at least 32 characters"):
        _load({"chat": {"type": "generic", "secret": "change-me", "mapping": MAPPING}})


def test_the_same_source_of_a_configured_tenant_keeps_its_secret() -> None:
    settings = load_settings(
        None,
        wix={"base_url": "https://www.wixapis.com"},
        wix_app={"app_id": "app", "app_secret": "s", "public_key": PUBLIC_KEY, "sources": {"chat": TEMPLATES["hmac"]}},
        tenants={
            "acme": {
                "wix": {"api_key": "k", "site_id": "site"},
                "sources": {"chat": {"type": "generic", "secret": "short", "mapping": MAPPING}},
            }
        },
    )
    directory = TenantDirectory.build(settings, WixClient("https://www.wixapis.com"))
    installed = directory.install("site-a", "site-a")
    configured = directory.get("acme")
    assert configured is not None
    assert configured.sources["chat"].config.secret.get_secret_value() == "short"  # type: ignore[attr-defined]
    derived = installed.sources["chat"].config.secret.get_secret_value()  # type: ignore[attr-defined]
    assert derived == _secrets(TEMPLATES["hmac"], "site-a", "chat")["secret"]
