"""Source configuration: errors for mistakes, the registry, the request type, the documented examples."""

from __future__ import annotations

import hashlib
import hmac
import re
import shutil
import subprocess
import tomllib
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from pydantic import ValidationError

from inboxbridge.events import EventKind
from inboxbridge.providers import (
    PayloadError,
    SignatureError,
    Source,
    SourceError,
    WebhookRequest,
    build_source,
    parse_source_config,
)
from inboxbridge.providers.generic import GenericSource, GenericSourceConfig

RequestFactory = Callable[..., WebhookRequest]

DOC = Path(__file__).parents[3] / "docs" / "sources" / "generic.md"
SECRET = "hunter2!but-longer-0c9b"
MAPPING = {"email": "email", "text": "text"}


def config_error(data: dict[str, Any]) -> str:
    with pytest.raises(ValidationError) as caught:
        parse_source_config(data)
    return str(caught.value)


def test_build_source_gives_a_source() -> None:
    source = build_source("chat", parse_source_config({"type": "generic", "secret": SECRET, "mapping": MAPPING}))
    assert isinstance(source, GenericSource)
    assert isinstance(source, Source)
    assert source.name == "chat"


def test_defaults() -> None:
    config = GenericSourceConfig(secret=SECRET, mapping=MAPPING)
    assert (config.type, config.verify, config.signature_header, config.signature_encoding) == (
        "generic",
        "hmac-sha256",
        "x-signature",
        "hex",
    )
    assert config.signature_prefix == ""
    assert config.allow_unsigned is False


def test_signature_header_is_lower_cased() -> None:
    config = GenericSourceConfig(secret=SECRET, signature_header=" X-Hub-Signature-256 ", mapping=MAPPING)
    assert config.signature_header == "x-hub-signature-256"


@pytest.mark.parametrize(
    ("field", "expression"),
    [("email", "customer.email["), ("text", "message text"), ("events", "")],
)
def test_invalid_expression_names_the_field(field: str, expression: str) -> None:
    mapping = {**MAPPING, field: expression}
    error = config_error({"type": "generic", "secret": SECRET, "mapping": mapping})
    assert f"generic.mapping.{field}" in error
    assert f'mapping "{field}"' in error


def test_invalid_expression_message() -> None:
    error = config_error({"type": "generic", "secret": SECRET, "mapping": {**MAPPING, "text": "message text"}})
    assert "mapping \"text\": 'message text' is not a valid JMESPath expression (Unexpected token: text" in error


def test_typo_in_a_key_is_refused_by_name() -> None:
    error = config_error({"type": "generic", "secret": SECRET, "singature_header": "x-sig", "mapping": MAPPING})
    assert "generic.singature_header" in error
    assert "Extra inputs are not permitted" in error
    error = config_error({"type": "generic", "secret": SECRET, "mapping": {**MAPPING, "emial": "x"}})
    assert "generic.mapping.emial" in error


def test_unknown_type() -> None:
    error = config_error({"type": "smoke-signals", "mapping": MAPPING})
    assert "'smoke-signals'" in error
    assert "'generic'" in error


def test_unsigned_needs_allow_unsigned() -> None:
    error = config_error({"type": "generic", "verify": "none", "mapping": MAPPING})
    assert 'verify = "none" accepts requests from anyone who knows the URL; set allow_unsigned = true' in error
    GenericSourceConfig(verify="none", allow_unsigned=True, mapping=MAPPING)


def test_unsigned_with_a_secret_is_a_mistake() -> None:
    error = config_error(
        {"type": "generic", "verify": "none", "allow_unsigned": True, "secret": SECRET, "mapping": MAPPING}
    )
    assert 'a secret is set but verify = "none" would ignore it' in error


@pytest.mark.parametrize("verify", ["hmac-sha256", "standard-webhooks"])
@pytest.mark.parametrize("secret", [None, "", "   "])
def test_signed_modes_need_a_secret(verify: str, secret: str | None) -> None:
    data: dict[str, Any] = {"type": "generic", "verify": verify, "mapping": MAPPING}
    if secret is not None:
        data["secret"] = secret
    assert f'verify = "{verify}" needs a secret: set "secret"' in config_error(data)


@pytest.mark.parametrize("secret", ["whsec_***not-base64***", "whsec_", "whsec_=="])
def test_standard_webhooks_secret_must_be_base64(secret: str) -> None:
    error = config_error({"type": "generic", "verify": "standard-webhooks", "secret": secret, "mapping": MAPPING})
    assert 'secret is not a Standard Webhooks secret: expected "whsec_" followed by base64' in error
    leftover = secret.removeprefix("whsec_")
    assert not leftover or leftover not in error


def test_mapping_must_name_the_customer() -> None:
    error = config_error({"type": "generic", "secret": SECRET, "mapping": {"text": "text"}})
    assert 'map "email" or "phone": every event must name the customer it is about' in error


def test_mapping_must_have_something_to_show() -> None:
    error = config_error({"type": "generic", "secret": SECRET, "mapping": {"email": "email"}})
    assert 'map "text" (or "attachments"): an event needs something to show in the Inbox' in error


def test_lookup_tables_only_hold_known_values() -> None:
    error = config_error({"type": "generic", "secret": SECRET, "mapping": {**MAPPING, "kind_map": {"typing": "skip"}}})
    assert "generic.mapping.kind_map.typing" in error
    error = config_error(
        {"type": "generic", "secret": SECRET, "mapping": {**MAPPING, "direction_map": {"bot": "sideways"}}}
    )
    assert "generic.mapping.direction_map.bot" in error


def test_bad_signature_settings() -> None:
    assert "signature_header must be an HTTP header name" in config_error(
        {"type": "generic", "secret": SECRET, "signature_header": "x signature", "mapping": MAPPING}
    )
    assert "generic.signature_encoding" in config_error(
        {"type": "generic", "secret": SECRET, "signature_encoding": "base32", "mapping": MAPPING}
    )


def test_config_errors_never_repeat_the_secret() -> None:
    broken: list[dict[str, Any]] = [
        {"type": "generic", "secret": SECRET, "mapping": {"text": "text"}},
        {"type": "generic", "secret": SECRET, "verify": "none", "allow_unsigned": True, "mapping": MAPPING},
        {"type": "generic", "secret": SECRET, "unknown": SECRET, "mapping": MAPPING},
        {"type": "generic", "secret": SECRET, "verify": "standard-webhooks", "mapping": MAPPING},
        {"type": "generic", "secret": SECRET},
        {"type": "nope", "secret": SECRET},
    ]
    for data in broken:
        for validate in (parse_source_config, GenericSourceConfig.model_validate):
            with pytest.raises(ValidationError) as caught:
                validate(data)
            assert SECRET not in str(caught.value)
            assert SECRET not in repr(caught.value)


def test_invalid_source_name() -> None:
    config = GenericSourceConfig(secret=SECRET, mapping=MAPPING)
    with pytest.raises(ValueError, match="a source name must have 1 to 128 characters"):
        build_source(" ", config)


def test_request_needs_an_aware_time() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        WebhookRequest("POST", "https://x.example/h", "/h", {}, {}, b"{}", datetime(2026, 1, 1))


def test_request_is_frozen_and_headers_lower_cased() -> None:
    request = WebhookRequest(
        "POST", "https://x.example/h", "/h", {"a": "1"}, {"Webhook-ID": "m1"}, b"{}", datetime.now(UTC)
    )
    assert dict(request.headers) == {"webhook-id": "m1"}
    with pytest.raises(AttributeError):
        request.body = b"[]"  # type: ignore[misc]
    with pytest.raises(TypeError):
        request.headers["x"] = "y"  # type: ignore[index]


def test_error_types() -> None:
    assert (SignatureError("bad").status, PayloadError("worse").status) == (401, 400)
    error = PayloadError("body is not valid JSON: the body is empty")
    assert isinstance(error, SourceError)
    assert str(error) == error.reason == "body is not valid JSON: the body is empty"
    assert repr(error) == "PayloadError(status=400, reason='body is not valid JSON: the body is empty')"


# --- the documented examples work ---------------------------------------------------------------------------


def doc_sources() -> dict[str, dict[str, Any]]:
    text = DOC.read_text()
    sources: dict[str, dict[str, Any]] = {}
    for block in re.findall(r"```toml\n(.*?)```", text, flags=re.S):
        document = tomllib.loads("\n".join(line.removeprefix("  ") for line in block.splitlines()))
        sources.update(document["tenants"]["acme"]["sources"])
    return sources


def shell_line(name: str) -> str:
    match = re.search(rf"^{name}='(.*)'$", DOC.read_text(), flags=re.M)
    assert match is not None
    return match.group(1)


def test_documented_configs_are_valid() -> None:
    sources = doc_sources()
    assert set(sources) == {"chat", "shop", "bookings"}
    for name, table in sources.items():
        assert isinstance(build_source(name, parse_source_config(table)), GenericSource)


def test_documented_curl_request_is_accepted(make_request: RequestFactory) -> None:
    source = build_source("chat", parse_source_config(doc_sources()["chat"]))
    secret, body = shell_line("SECRET"), shell_line("BODY").encode()
    signature = "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
    request = make_request(body, {"content-type": "application/json", "x-signature": signature})
    source.verify(request)
    [event] = source.parse(request, tenant="acme")
    assert (event.email, event.text, event.first_name) == (
        "ada@example.com",
        "Is the blue teapot back in stock?",
        "Ada",
    )


@pytest.mark.skipif(shutil.which("openssl") is None, reason="openssl is not installed")
def test_documented_openssl_command_computes_the_same_signature() -> None:
    script_line = next(line for line in DOC.read_text().splitlines() if line.startswith("SIG=$("))
    script = "\n".join(
        [f"SECRET='{shell_line('SECRET')}'", f"BODY='{shell_line('BODY')}'", script_line, 'printf %s "$SIG"']
    )
    produced = subprocess.run(["sh", "-c", script], capture_output=True, text=True, check=True).stdout
    expected = hmac.new(shell_line("SECRET").encode(), shell_line("BODY").encode(), hashlib.sha256).hexdigest()
    assert produced == expected


def test_documented_booking_config_makes_an_activity(
    make_request: RequestFactory, payload: Callable[[str], Any]
) -> None:
    table = doc_sources()["bookings"]
    source = build_source("bookings", parse_source_config(table))
    [event] = source.parse(make_request(payload("booking_created")), tenant="acme")
    assert event.kind is EventKind.ACTIVITY
    assert event.activity_url == "https://bookings.example/admin/bk_5521"


def test_events_at_root_selects_a_body_that_is_a_list(make_request: RequestFactory) -> None:
    config = GenericSourceConfig(verify="none", allow_unsigned=True, mapping={**MAPPING, "events": "@"})
    body = [{"email": "a@b.example", "text": "one"}, {"email": "c@d.example", "text": "two"}]
    events = build_source("list", config).parse(make_request(body), tenant="acme")
    assert [e.text for e in events] == ["one", "two"]
