from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from inboxbridge.wix import ApiKeyAuth, WixClient, WixSite

from .fakes import FakeTime, FakeWix, make_client

API_KEY = "IST.secret-api-key-value"
SITE_ID = "site-1"


@pytest.fixture
def fake() -> FakeWix:
    return FakeWix()


@pytest.fixture
def fake_time() -> FakeTime:
    return FakeTime()


@pytest.fixture
async def client(fake: FakeWix, fake_time: FakeTime) -> AsyncIterator[WixClient]:
    async with make_client(fake, fake_time) as wix:
        yield wix


@pytest.fixture
def site(client: WixClient) -> WixSite:
    return client.site(ApiKeyAuth(api_key=API_KEY, site_id=SITE_ID))
