"""`inboxbridge secret`: an installed site's secret for a template source, and clear refusals."""

from __future__ import annotations

import hashlib
import hmac
from pathlib import Path

import pytest
from typer.testing import CliRunner

from inboxbridge.cli import app

TEMPLATE_KEY = "template-key-0123456789abcdef0123456789"
SITE = "6f5e4d3c-2b1a-4098-8765-43210fedcba9"
CONFIG = f"""
[wix_app]
app_id = "app"
public_key = '''-----BEGIN PUBLIC KEY-----
MIIB
-----END PUBLIC KEY-----'''
[wix_app.sources.chat]
type = "generic"
secret = "{TEMPLATE_KEY}"
[wix_app.sources.chat.mapping]
email = "customer.email"
text = "text"
[wix_app.sources.mail]
type = "postmark"
username = "postmark"
password = "{TEMPLATE_KEY}"
token = "{TEMPLATE_KEY}"
[wix_app.sources.open]
type = "generic"
verify = "none"
allow_unsigned = true
[wix_app.sources.open.mapping]
email = "customer.email"
text = "text"
[tenants.acme.sources.chat]
type = "generic"
secret = "acme-secret"
[tenants.acme.sources.chat.mapping]
email = "customer.email"
text = "text"
"""


@pytest.fixture
def config(tmp_path: Path) -> Path:
    path = tmp_path / "inboxbridge.toml"
    path.write_text(CONFIG)
    return path


def _derived(source: str, field: str) -> str:
    message = b"\0".join((b"inboxbridge source secret", SITE.encode(), source.encode(), field.encode()))
    return hmac.new(TEMPLATE_KEY.encode(), message, hashlib.sha256).hexdigest()


def test_prints_the_sites_secret_once(config: Path) -> None:
    result = CliRunner().invoke(app, ["secret", "--tenant", SITE, "--source", "chat", "-c", str(config)])
    assert result.exit_code == 0, result.output
    assert result.stdout == _derived("chat", "secret") + "\n"


def test_prints_each_field_of_a_source_with_several(config: Path) -> None:
    result = CliRunner().invoke(app, ["secret", "-t", SITE, "-s", "mail", "-c", str(config)])
    assert result.exit_code == 0, result.output
    assert result.stdout.splitlines() == [
        f"password: {_derived('mail', 'password')}",
        f"token: {_derived('mail', 'token')}",
    ]


@pytest.mark.parametrize(
    ("tenant", "source", "refusal"),
    [
        ("acme", "chat", "'acme' is a configured tenant: its secrets are the ones under [tenants.acme.sources]"),
        ("not/an id", "chat", "'not/an id' is not an app instance id"),
        (SITE, "sms", "no source 'sms' in [wix_app.sources] (there: chat, mail, open)"),
        (SITE, "open", "source 'open' is unsigned"),
    ],
)
def test_refuses_what_has_no_derived_secret(config: Path, tenant: str, source: str, refusal: str) -> None:
    result = CliRunner().invoke(app, ["secret", "-t", tenant, "-s", source, "-c", str(config)])
    assert result.exit_code == 1
    assert refusal in result.stderr
    assert result.stdout == ""


def test_without_a_wix_app_says_so(tmp_path: Path) -> None:
    path = tmp_path / "inboxbridge.toml"
    path.write_text('[tenants.acme.wix]\napi_key = "k"\nsite_id = "s"\n')
    result = CliRunner().invoke(app, ["secret", "-t", SITE, "-s", "chat", "-c", str(path)])
    assert result.exit_code == 1
    assert "no [wix_app] in the configuration" in result.stderr
