"""What the quarantine shows of a request's URL and headers: credentials as ***, everything else as it came."""

from __future__ import annotations

import pytest

from inboxbridge.server.masking import mask_headers, mask_url


@pytest.mark.parametrize(
    ("url", "shown"),
    [
        ("https://h.example/hooks/a/mail?auth=s3cret&lang=en", "https://h.example/hooks/a/mail?auth=***&lang=en"),
        # The parameter name written percent-encoded, or in another case, is still the parameter.
        ("https://h.example/hooks/a/mail?%61uth=s3cret", "https://h.example/hooks/a/mail?auth=***"),
        ("https://h.example/hooks/a/mail?AUTH=s3cret", "https://h.example/hooks/a/mail?AUTH=***"),
        ("https://h.example/hooks/a/mail?auth=one&auth=two", "https://h.example/hooks/a/mail?auth=***&auth=***"),
        ("https://user:pass@h.example/hooks/a/mail", "https://***:***@h.example/hooks/a/mail"),
        ("https://tokenonly@h.example/hooks", "https://***@h.example/hooks"),
        ("https://h.example/hooks?token=t&key=k", "https://h.example/hooks?token=***&key=***"),
        # Nothing to hide: returned exactly as received, encoding included.
        ("https://h.example/hooks/a/mail?q=a%20b+c", "https://h.example/hooks/a/mail?q=a%20b+c"),
        ("https://[broken/hooks?auth=s3cret", "***"),
    ],
)
def test_credentials_in_a_url_are_masked(url: str, shown: str) -> None:
    assert mask_url(url, {"auth"}) == shown


def test_credentials_in_headers_are_masked_whatever_the_header_is_called() -> None:
    headers = {
        "authorization": "Basic cG9zdG1hcms6c2VjcmV0",
        "x-api-key": "k",
        "x-upstream": "Bearer abc.def",
        "x-original-url": "/hooks/a/mail?auth=s3cret",
        "referer": "https://u:p@mail.example/",
        "user-agent": "Mozilla/5.0 (X11; Linux x86_64) what?ever",
        "from": "ana@example.com",
        "content-type": "multipart/form-data; boundary=xyz",
    }
    assert mask_headers(headers, {"auth"}) == {
        "authorization": "***",
        "x-api-key": "***",
        "x-upstream": "***",
        "x-original-url": "/hooks/a/mail?auth=***",
        "referer": "https://***:***@mail.example/",
        "user-agent": "Mozilla/5.0 (X11; Linux x86_64) what?ever",
        "from": "ana@example.com",
        "content-type": "multipart/form-data; boundary=xyz",
    }
