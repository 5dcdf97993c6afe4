"""Settings: a TOML file, the environment over it, command-line values over both, clear errors."""

from __future__ import annotations

from pathlib import Path

import pytest

from inboxbridge.config import ConfigError, ContactPolicy, load_settings

CONFIG = """
database_url = "sqlite:///from-file.db"
[wix]
base_url = "https://www.wixapis.com"
[policy]
contacts = "newest"
[tenants.acme.wix]
api_key = "file-key"
site_id = "11111111-2222-3333-4444-555555555555"
[tenants.acme.policy]
contacts = "all"
[tenants.acme.sources.chat]
type = "generic"
secret = "file-secret"
[tenants.acme.sources.chat.mapping]
email = "customer.email"
text = "text"
[tenants.acme.sources.chat.delivery]
badge_text = "Chat"
visibility = "BUSINESS_AND_PARTICIPANT"
"""


@pytest.fixture
def config_file(tmp_path: Path) -> Path:
    path = tmp_path / "inboxbridge.toml"
    path.write_text(CONFIG)
    return path


def test_file_is_read_with_per_tenant_policy_and_delivery(config_file: Path) -> None:
    settings = load_settings(config_file)
    assert settings.database_url == "sqlite:///from-file.db"
    assert settings.policy_for("acme").contacts is ContactPolicy.ALL
    source = settings.tenants["acme"].sources["chat"]
    assert source.delivery.badge_text == "Chat"
    assert source.delivery.visibility == "BUSINESS_AND_PARTICIPANT"


def test_environment_overrides_the_file_and_flags_override_both(
    config_file: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("INBOXBRIDGE_DATABASE_URL", "sqlite:///from-env.db")
    monkeypatch.setenv("INBOXBRIDGE_TENANTS__ACME__WIX__API_KEY", "env-key")
    monkeypatch.setenv("INBOXBRIDGE_TENANTS__ACME__SOURCES__CHAT__SECRET", "env-secret")
    monkeypatch.setenv("INBOXBRIDGE_PORT", "9000")
    settings = load_settings(config_file, port=9100)
    acme = settings.tenants["acme"]
    assert settings.database_url == "sqlite:///from-env.db"
    assert acme.wix is not None and acme.wix.api_key is not None
    assert acme.wix.api_key.get_secret_value() == "env-key"
    assert acme.sources["chat"].config.secret is not None
    assert acme.sources["chat"].config.secret.get_secret_value() == "env-secret"
    assert acme.sources["chat"].delivery.badge_text == "Chat"
    assert settings.port == 9100


def test_typo_is_reported_with_its_path_and_no_secret(tmp_path: Path) -> None:
    path = tmp_path / "bad.toml"
    path.write_text(CONFIG.replace('secret = "file-secret"', 'secrt = "file-secret"'))
    with pytest.raises(ConfigError) as caught:
        load_settings(path)
    message = str(caught.value)
    assert "tenants.acme.sources.chat.secrt: Extra inputs are not permitted" in message
    assert "file-secret" not in message


def test_real_wix_needs_credentials_for_every_tenant(tmp_path: Path) -> None:
    path = tmp_path / "nocreds.toml"
    path.write_text(CONFIG.replace('api_key = "file-key"\n', ""))
    with pytest.raises(ConfigError, match="an API key needs both api_key and site_id"):
        load_settings(path)


def test_tenant_name_must_fit_in_a_url(tmp_path: Path) -> None:
    path = tmp_path / "name.toml"
    path.write_text(CONFIG.replace("tenants.acme", 'tenants."a b"'))
    with pytest.raises(ConfigError, match="must be 1-64 letters"):
        load_settings(path)


def test_missing_and_broken_files_are_clear(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="config file not found"):
        load_settings(tmp_path / "nope.toml")
    broken = tmp_path / "broken.toml"
    broken.write_text("[wix\n")
    with pytest.raises(ConfigError, match="is not valid TOML"):
        load_settings(broken)


def test_tenant_policy_overrides_only_what_it_sets(tmp_path: Path) -> None:
    path = tmp_path / "merge.toml"
    path.write_text(
        CONFIG.replace('[policy]\ncontacts = "newest"', '[policy]\ncontacts = "newest"\ndefault_phone_region = "US"')
    )
    policy = load_settings(path).policy_for("acme")
    assert policy.contacts is ContactPolicy.ALL
    assert policy.default_phone_region == "US"


def test_request_deadlines_and_connection_limit_from_file_and_environment(
    config_file: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    defaults = load_settings(config_file)
    assert (defaults.header_timeout_seconds, defaults.body_timeout_seconds, defaults.max_connections) == (10, 30, 1000)
    config_file.write_text("header_timeout_seconds = 5\nbody_timeout_seconds = 60\n" + CONFIG)
    monkeypatch.setenv("INBOXBRIDGE_MAX_CONNECTIONS", "200")
    settings = load_settings(config_file)
    assert (settings.header_timeout_seconds, settings.body_timeout_seconds, settings.max_connections) == (5, 60, 200)


@pytest.mark.parametrize(
    ("setting", "value", "message"),
    [
        ("header_timeout_seconds", 0, "header_timeout_seconds: Input should be greater than 0"),
        ("body_timeout_seconds", -1, "body_timeout_seconds: Input should be greater than 0"),
        ("header_timeout_seconds", "inf", "header_timeout_seconds: Input should be a finite number"),
        ("body_timeout_seconds", "soon", "body_timeout_seconds: Input should be a valid number"),
        ("max_connections", 0, "max_connections: Input should be greater than or equal to 1"),
        ("max_connections", 1.5, "max_connections: Input should be a valid integer"),
    ],
)
def test_bad_request_deadlines_and_connection_limit_are_named_with_the_reason(
    setting: str, value: object, message: str
) -> None:
    with pytest.raises(ConfigError) as caught:
        load_settings(None, **{setting: value})
    assert message in str(caught.value)
