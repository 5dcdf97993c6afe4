"""Configuration of the sandbox: the sites, API keys, apps and seed data it starts with."""

from __future__ import annotations

import json
import tomllib
from pathlib import Path
from typing import Any

from pydantic import AliasGenerator, BaseModel, ConfigDict, Field
from pydantic.alias_generators import to_camel

__all__ = [
    "DEMO_API_KEY",
    "DEMO_APP_ID",
    "DEMO_APP_SECRET",
    "DEMO_INSTANCE_ID",
    "DEMO_SITE_ID",
    "AppConfig",
    "SandboxConfig",
    "SiteConfig",
    "default_config",
]

DEMO_SITE_ID = "5a4f2d1e-7c3b-4e8a-9f10-2b6d8c4e1a01"
DEMO_API_KEY = "IST.sandbox-demo-api-key"
DEMO_APP_ID = "0b6f3c2a-91d4-4c57-8e2f-6a1d9b3e7c02"
DEMO_APP_SECRET = "sandbox-demo-app-secret"  # noqa: S105 - a published demo credential
DEMO_INSTANCE_ID = "e3c1a9d7-2f4b-4a6e-b8c0-5d7f1e9a3b03"

_MODEL_CONFIG = ConfigDict(
    alias_generator=AliasGenerator(validation_alias=to_camel),
    populate_by_name=True,
    extra="forbid",
)


class SiteConfig(BaseModel):
    """A Wix site: its id, display name, the API keys that may act on it and contacts it starts with."""

    model_config = _MODEL_CONFIG

    site_id: str = Field(min_length=1)
    name: str = "Sandbox site"
    api_keys: list[str] = Field(default_factory=list)
    contacts: list[dict[str, Any]] = Field(default_factory=list)


class AppConfig(BaseModel):
    """A Wix app: OAuth client credentials, where it is installed, and where its webhooks go.

    ``instances`` maps an app instance id to the site it is installed on. The RS256 key pair signs the app's
    webhook JWTs; when absent, the sandbox generates one at start-up.
    """

    model_config = _MODEL_CONFIG

    app_id: str = Field(min_length=1)
    app_secret: str = Field(min_length=1)
    instances: dict[str, str] = Field(default_factory=dict)
    webhook_url: str | None = None
    private_key_pem: str | None = None
    public_key_pem: str | None = None


class SandboxConfig(BaseModel):
    """Everything the sandbox starts with. Files may spell keys in snake_case or camelCase."""

    model_config = _MODEL_CONFIG

    sites: list[SiteConfig] = Field(default_factory=list)
    apps: list[AppConfig] = Field(default_factory=list)
    requests_per_minute: int = Field(default=200, ge=1)
    database: str = ":memory:"
    token_ttl_seconds: int = Field(default=14400, ge=1)

    @classmethod
    def load(cls, path: str | Path) -> SandboxConfig:
        """Read a configuration from a ``.toml`` or ``.json`` file (chosen by its suffix)."""
        file = Path(path)
        raw = file.read_bytes()
        data: Any = tomllib.loads(raw.decode("utf-8")) if file.suffix.lower() == ".toml" else json.loads(raw)
        return cls.model_validate(data)


def default_config() -> SandboxConfig:
    """One demo site reachable with the demo API key, and one demo app installed on it; in-memory state."""
    return SandboxConfig(
        sites=[SiteConfig(site_id=DEMO_SITE_ID, name="Demo Site", api_keys=[DEMO_API_KEY])],
        apps=[
            AppConfig(
                app_id=DEMO_APP_ID,
                app_secret=DEMO_APP_SECRET,
                instances={DEMO_INSTANCE_ID: DEMO_SITE_ID},
            )
        ],
    )
