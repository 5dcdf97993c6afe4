"""Signature checks: HMAC-SHA256 in a configured header; Standard Webhooks against the official library."""

from __future__ import annotations

import base64
import hashlib
import hmac
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from standardwebhooks import Webhook

from inboxbridge.providers import SignatureError, WebhookRequest, build_source
from inboxbridge.providers.generic import GenericSource, GenericSourceConfig

RequestFactory = Callable[..., WebhookRequest]

HMAC_SECRET = "shh-7f3a9c1e-hmac-secret"
WHSEC = "whsec_" + base64.b64encode(b"standard-webhooks-test-key-32byt").decode()
OTHER_WHSEC = "whsec_" + base64.b64encode(b"a-different-key-of-32-bytes-long").decode()
NOW = datetime(2026, 11, 3, 12, 0, tzinfo=UTC)
BODY = b'{"email":"ada@example.com","text":"Hello"}'
MAPPING = {"email": "email", "text": "text"}


def hmac_source(**options: Any) -> GenericSource:
    return GenericSourceConfig(secret=HMAC_SECRET, mapping=MAPPING, **options).build("chat")


def digest(body: bytes = BODY, secret: str = HMAC_SECRET) -> bytes:
    return hmac.new(secret.encode(), body, hashlib.sha256).digest()


def refused(source: GenericSource, request: WebhookRequest) -> str:
    with pytest.raises(SignatureError) as caught:
        source.verify(request)
    assert caught.value.status == 401
    return caught.value.reason


# --- HMAC-SHA256 in a configured header ---------------------------------------------------------------------


def test_hex_signature_is_accepted(make_request: RequestFactory) -> None:
    hmac_source().verify(make_request(BODY, {"x-signature": digest().hex()}))
    hmac_source().verify(make_request(BODY, {"X-Signature": digest().hex().upper()}))


def test_base64_signature_with_prefix_in_a_custom_header(make_request: RequestFactory) -> None:
    source = hmac_source(
        signature_header="X-Hub-Signature-256", signature_encoding="base64", signature_prefix="sha256="
    )
    value = "sha256=" + base64.b64encode(digest()).decode()
    source.verify(make_request(BODY, {"x-hub-signature-256": value}))
    url_safe_unpadded = "sha256=" + base64.urlsafe_b64encode(digest()).decode().rstrip("=")
    source.verify(make_request(BODY, {"x-hub-signature-256": url_safe_unpadded}))


def test_hex_signature_with_prefix(make_request: RequestFactory) -> None:
    source = hmac_source(signature_prefix="sha256=")
    source.verify(make_request(BODY, {"x-signature": "sha256=" + digest().hex()}))
    assert refused(source, make_request(BODY, {"x-signature": digest().hex()})) == (
        'the x-signature header does not start with "sha256="'
    )


def test_missing_signature(make_request: RequestFactory) -> None:
    assert refused(hmac_source(), make_request(BODY, {})) == (
        "the x-signature header is missing: the request is not signed"
    )
    assert refused(hmac_source(), make_request(BODY, {"x-signature": "  "})) == (
        "the x-signature header is missing: the request is not signed"
    )


def test_wrong_secret(make_request: RequestFactory) -> None:
    request = make_request(BODY, {"x-signature": digest(secret="guess").hex()})
    assert refused(hmac_source(), request) == (
        "the x-signature header does not match the body: wrong secret or altered body"
    )


def test_tampered_body(make_request: RequestFactory) -> None:
    request = make_request(BODY.replace(b"Hello", b"Hellp"), {"x-signature": digest().hex()})
    assert "does not match the body" in refused(hmac_source(), request)


@pytest.mark.parametrize("garbled", ["zz" * 32, "abc", "not hex at all", "sha256=" + "00" * 32])
def test_garbled_hex_signature(garbled: str, make_request: RequestFactory) -> None:
    assert refused(hmac_source(), make_request(BODY, {"x-signature": garbled})) == (
        "the x-signature header is not a hex HMAC-SHA256 signature"
    )


@pytest.mark.parametrize("garbled", ["***", "caf\u00e9", "abcde"])
def test_garbled_base64_signature(garbled: str, make_request: RequestFactory) -> None:
    source = hmac_source(signature_encoding="base64")
    assert refused(source, make_request(BODY, {"x-signature": garbled})) == (
        "the x-signature header is not a base64 HMAC-SHA256 signature"
    )


def test_truncated_signature_does_not_match(make_request: RequestFactory) -> None:
    request = make_request(BODY, {"x-signature": digest().hex()[:40]})
    assert "does not match the body" in refused(hmac_source(), request)


def test_reason_never_reveals_the_expected_signature(make_request: RequestFactory) -> None:
    reason = refused(hmac_source(), make_request(BODY, {"x-signature": "00" * 32}))
    assert digest().hex() not in reason
    assert base64.b64encode(digest()).decode() not in reason


def test_unsigned_source_accepts_anything(make_request: RequestFactory) -> None:
    source = GenericSourceConfig(verify="none", allow_unsigned=True, mapping=MAPPING).build("chat")
    source.verify(make_request(BODY, {}))


# --- Standard Webhooks, checked against the official library ------------------------------------------------


def sw_source(at: datetime = NOW, secret: str = WHSEC) -> GenericSource:
    config = GenericSourceConfig(verify="standard-webhooks", secret=secret, mapping=MAPPING)
    return config.build("chat", clock=lambda: at)


def sw_headers(
    body: bytes = BODY, sent_at: datetime = NOW, msg_id: str = "msg_2Lx9", secret: str = WHSEC
) -> dict[str, str]:
    signature = Webhook(secret).sign(msg_id=msg_id, timestamp=sent_at, data=body.decode())
    return {
        "webhook-id": msg_id,
        "webhook-timestamp": str(int(sent_at.timestamp())),
        "webhook-signature": signature,
    }


def test_standard_webhooks_signature_is_accepted(make_request: RequestFactory) -> None:
    sw_source().verify(make_request(BODY, sw_headers()))


def test_standard_webhooks_secret_without_prefix_is_accepted(make_request: RequestFactory) -> None:
    sw_source(secret=WHSEC.removeprefix("whsec_")).verify(make_request(BODY, sw_headers()))


@pytest.mark.parametrize("offset", [timedelta(minutes=-4, seconds=-59), timedelta(minutes=4, seconds=59)])
def test_timestamp_within_five_minutes_is_accepted(offset: timedelta, make_request: RequestFactory) -> None:
    sw_source().verify(make_request(BODY, sw_headers(sent_at=NOW + offset)))


def test_timestamp_older_than_five_minutes(make_request: RequestFactory) -> None:
    request = make_request(BODY, sw_headers(sent_at=NOW - timedelta(minutes=5, seconds=1)))
    assert refused(sw_source(), request) == (
        "the webhook-timestamp header is more than 5 minutes old: a delayed or replayed request"
    )


def test_timestamp_newer_than_five_minutes(make_request: RequestFactory) -> None:
    request = make_request(BODY, sw_headers(sent_at=NOW + timedelta(minutes=5, seconds=1)))
    assert refused(sw_source(), request) == (
        "the webhook-timestamp header is more than 5 minutes in the future: check the clocks"
    )


def test_tampered_body_is_refused(make_request: RequestFactory) -> None:
    request = make_request(BODY + b" ", sw_headers())
    assert refused(sw_source(), request) == (
        "no signature in the webhook-signature header matches the body: wrong secret or altered body"
    )


def test_tampered_id_or_timestamp_is_refused(make_request: RequestFactory) -> None:
    headers = sw_headers()
    headers["webhook-id"] = "msg_other"
    assert "matches the body" in refused(sw_source(), make_request(BODY, headers))
    headers = sw_headers()
    headers["webhook-timestamp"] = str(int(NOW.timestamp()) + 1)
    assert "matches the body" in refused(sw_source(), make_request(BODY, headers))


def test_wrong_secret_is_refused(make_request: RequestFactory) -> None:
    request = make_request(BODY, sw_headers(secret=OTHER_WHSEC))
    assert "matches the body" in refused(sw_source(), request)


@pytest.mark.parametrize("missing", ["webhook-id", "webhook-timestamp", "webhook-signature"])
def test_missing_header_is_refused(missing: str, make_request: RequestFactory) -> None:
    headers = sw_headers()
    del headers[missing]
    assert refused(sw_source(), make_request(BODY, headers)) == (
        f"the {missing} header is missing: the request is not signed"
    )


@pytest.mark.parametrize("stamp", ["soon", "1793707200.0", "-1793707200", "9" * 40, "\uff11\uff12\uff13"])
def test_garbled_timestamp_is_refused(stamp: str, make_request: RequestFactory) -> None:
    headers = sw_headers()
    headers["webhook-timestamp"] = stamp
    assert refused(sw_source(), make_request(BODY, headers)) == (
        "the webhook-timestamp header is not a unix time in seconds"
    )


def test_any_one_of_several_signatures_may_match(make_request: RequestFactory) -> None:
    good = sw_headers()["webhook-signature"]
    stale = sw_headers(secret=OTHER_WHSEC)["webhook-signature"]
    for value in (f"{stale} {good}", f"{good} {stale}", f"v1a,c2lnbmF0dXJl {good}", f"v2,abc v1,!!! {good}"):
        headers = sw_headers()
        headers["webhook-signature"] = value
        sw_source().verify(make_request(BODY, headers))


def test_several_signatures_none_matching(make_request: RequestFactory) -> None:
    stale = sw_headers(secret=OTHER_WHSEC)["webhook-signature"]
    headers = sw_headers()
    headers["webhook-signature"] = f"{stale} v1,{base64.b64encode(b'x' * 32).decode()}"
    assert "matches the body" in refused(sw_source(), make_request(BODY, headers))


@pytest.mark.parametrize("value", ["garbage", "v1a,c2lnbmF0dXJl", "v1,", "v1,***"])
def test_no_usable_v1_signature(value: str, make_request: RequestFactory) -> None:
    headers = sw_headers()
    headers["webhook-signature"] = value
    assert refused(sw_source(), make_request(BODY, headers)) == (
        'the webhook-signature header has no "v1,<base64>" signature'
    )


def test_agrees_with_the_library_at_the_current_time(make_request: RequestFactory) -> None:
    now = datetime.now(UTC)
    headers = sw_headers(sent_at=now)
    Webhook(WHSEC).verify(BODY, headers)
    source = build_source("chat", GenericSourceConfig(verify="standard-webhooks", secret=WHSEC, mapping=MAPPING))
    source.verify(make_request(BODY, headers))


# --- secrets stay secret ------------------------------------------------------------------------------------


def test_secrets_never_appear_in_config_source_or_errors(make_request: RequestFactory) -> None:
    configs = [
        GenericSourceConfig(secret=HMAC_SECRET, mapping=MAPPING),
        GenericSourceConfig(verify="standard-webhooks", secret=WHSEC, mapping=MAPPING),
    ]
    texts: list[str] = []
    for config in configs:
        source = build_source("chat", config)
        texts += [str(config), repr(config), str(source), repr(source), str(config.model_dump())]
        for headers in ({}, {"x-signature": "00" * 32}, sw_headers(secret=OTHER_WHSEC), sw_headers()):
            for request in (make_request(BODY, headers), make_request(b"\x00" + BODY, headers)):
                try:
                    source.verify(request)
                except SignatureError as error:
                    texts += [str(error), repr(error), error.reason]
    assert len(texts) > 10
    for text in texts:
        assert HMAC_SECRET not in text
        assert WHSEC not in text
        assert WHSEC.removeprefix("whsec_") not in text
