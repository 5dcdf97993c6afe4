"""Settings: one TOML file, with every value (secrets included) overridable from the environment.

Environment variables start with ``INBOXBRIDGE_`` and use ``__`` to reach into tables, e.g.
``INBOXBRIDGE_DATABASE_URL`` or ``INBOXBRIDGE_TENANTS__ACME__WIX__API_KEY``.
"""

from __future__ import annotations

import tomllib
from contextvars import ContextVar
from enum import StrEnum
from pathlib import Path
from typing import Any, Literal, Self

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    SecretStr,
    ValidationError,
    field_validator,
    model_validator,
)
from pydantic.fields import FieldInfo
from pydantic_settings import BaseSettings, PydanticBaseSettingsSource, SettingsConfigDict

from inboxbridge.providers import SourceConfig
from inboxbridge.site_secrets import check_template

__all__ = [
    "AdminSettings",
    "ConfigError",
    "ContactPolicy",
    "DeliverySettings",
    "MissingContactPolicy",
    "PolicySettings",
    "RetentionSettings",
    "RetrySettings",
    "Settings",
    "SourceSettings",
    "TenantSettings",
    "WixAppSettings",
    "WixAuthSettings",
    "WixSettings",
    "WorkerSettings",
    "load_settings",
]

SANDBOX = "sandbox"
"""The value of ``wix.base_url`` that means: start the built-in Wix sandbox and talk to it."""


class ConfigError(Exception):
    """The configuration cannot be used; the message says which setting and why."""


class ContactPolicy(StrEnum):
    """Which contact(s) get the message when several Wix contacts share the customer's email or phone."""

    ALL = "all"
    NEWEST = "newest"
    OLDEST = "oldest"
    PRIMARY = "primary"
    """The contact whose primary email (or phone) is the customer's; the newest one if none is."""


class MissingContactPolicy(StrEnum):
    """What to do when no Wix contact has the customer's email or phone."""

    CREATE = "create"
    SKIP = "skip"


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, hide_input_in_errors=True)


class PolicySettings(_Strict):
    """How an event finds its contact and conversation."""

    contacts: ContactPolicy = ContactPolicy.PRIMARY
    missing_contact: MissingContactPolicy = MissingContactPolicy.CREATE
    cache_ttl_seconds: float = Field(default=86400.0, ge=0)
    strict_conversations: bool = False
    """Call Get or Create Conversation before every send, as Wix advises, instead of trusting the cache."""
    default_phone_region: str | None = Field(default=None, min_length=2, max_length=2)
    """ISO country code (e.g. "US") for phone numbers written without a country code."""


class DeliverySettings(_Strict):
    """How a source's events look in the Inbox."""

    visibility: Literal["BUSINESS", "BUSINESS_AND_PARTICIPANT"] = "BUSINESS"
    badge_text: str | None = Field(default=None, max_length=64)
    """The channel shown on each message; defaults to the channel the event names, if any."""
    badge_icon_url: str | None = None
    badge_visibility: Literal["BUSINESS", "BUSINESS_AND_PARTICIPANT"] = "BUSINESS"
    activity_icon_url: str | None = None
    """The icon of activity lines when the event brings none."""
    silent: bool = False
    send_notifications: bool = False


class SourceSettings(_Strict):
    """One webhook source of a tenant: how to verify and parse it, and how its events are delivered."""

    config: SourceConfig
    delivery: DeliverySettings = DeliverySettings()

    @model_validator(mode="before")
    @classmethod
    def _split(cls, data: Any) -> Any:
        # In the file, a source's own fields and its `delivery` table sit side by side.
        if not isinstance(data, dict):
            return data
        rest = dict(data)
        delivery = rest.pop("delivery", {})
        config = rest.pop("config", {})
        if not isinstance(config, dict):
            return data
        return {"config": {**config, **rest}, "delivery": delivery}


class WixAuthSettings(_Strict):
    """A tenant's Wix credentials: an API key with its site id, or a Wix app's id and secret with an instance id."""

    api_key: SecretStr | None = None
    site_id: str | None = None
    app_id: str | None = None
    app_secret: SecretStr | None = None
    instance_id: str | None = None

    @model_validator(mode="after")
    def _one_kind(self) -> Self:
        api_key = self.api_key is not None or self.site_id is not None
        app = any(v is not None for v in (self.app_id, self.app_secret, self.instance_id))
        if api_key and app:
            raise ValueError("give either api_key + site_id or app_id + app_secret + instance_id, not both")
        if api_key and (self.api_key is None or not self.site_id):
            raise ValueError("an API key needs both api_key and site_id")
        if app and (not self.app_id or self.app_secret is None or not self.instance_id):
            raise ValueError("a Wix app needs app_id, app_secret and instance_id")
        if not api_key and not app:
            raise ValueError(
                "no Wix credentials: set api_key + site_id, or app_id + app_secret + instance_id"
            )
        return self

    @property
    def site_key(self) -> str:
        """What identifies the Wix site these credentials act on (for rate limits and logs)."""
        return self.site_id or self.instance_id or ""


class TenantSettings(_Strict):
    """One Wix site served by this deployment."""

    wix: WixAuthSettings | None = None
    """Omitted: the tenant writes into the built-in sandbox's demo site (only when wix.base_url = "sandbox")."""
    policy: PolicySettings | None = None
    sources: dict[str, SourceSettings] = Field(default_factory=dict)

    @field_validator("sources")
    @classmethod
    def _names(cls, value: dict[str, SourceSettings]) -> dict[str, SourceSettings]:
        for name in value:
            _check_slug(name, "source")
        return value


class WixSettings(_Strict):
    """How to reach Wix."""

    base_url: str = SANDBOX
    """``https://www.wixapis.com`` for the real Wix; ``sandbox`` for the built-in emulator; or any emulator URL."""
    timeout_seconds: float = Field(default=10.0, gt=0)
    requests_per_minute: float = Field(default=200.0, gt=0)
    """Wix allows 200 requests a minute per site; every node's calls to one site are kept under this."""
    burst: int = Field(default=5, ge=1)


class WixAppSettings(_Strict):
    """The Wix app whose webhooks this deployment receives at ``/wix/webhooks`` (JWTs signed with its key)."""

    app_id: str = Field(min_length=1)
    app_secret: SecretStr | None = None
    """Needed for sites that install the app at run time: their OAuth tokens are fetched with it."""
    public_key: str = Field(min_length=1)
    """The app's public key (PEM), from the app's webhooks page in Wix's app dashboard."""
    sources: dict[str, SourceSettings] = Field(default_factory=dict)
    """The webhook sources every site that installs the app gets (``/hooks/<instance id>/<source>``), each
    secret the key from which each site's own is derived (see ``inboxbridge.site_secrets``)."""

    @field_validator("sources")
    @classmethod
    def _template(cls, value: dict[str, SourceSettings]) -> dict[str, SourceSettings]:
        for name, entry in value.items():
            _check_slug(name, "source")
            try:
                check_template(entry.config)
            except ValueError as exc:
                raise ValueError(f"source {name!r}: {exc}") from None
        return value

    @field_validator("public_key")
    @classmethod
    def _pem(cls, value: str) -> str:
        if "-----BEGIN PUBLIC KEY-----" not in value:
            raise ValueError("public_key must be a PEM public key (-----BEGIN PUBLIC KEY----- ...)")
        return value


class AdminSettings(_Strict):
    """Credentials of the admin API and dashboard (HTTP basic auth, or the token as a bearer token)."""

    username: str = Field(default="admin", min_length=1)
    password: SecretStr
    token: SecretStr | None = None
    """For scripts: ``Authorization: Bearer <token>``."""


class RetentionSettings(_Strict):
    """How long delivered events and their attempts are kept; dead letters are kept until replayed or dropped."""

    delivered_days: float = Field(default=30.0, gt=0)
    quarantine_days: float = Field(default=30.0, gt=0)
    """Kept requests (quarantine) not seen again for this long are deleted."""
    quarantine_per_source: int = Field(default=1000, ge=10)
    """At most this many kept requests per tenant and source: past it, the one last seen longest ago goes, so a
    sender that fills the quarantine cannot fill the disk."""
    prune_interval_seconds: float = Field(default=300.0, gt=0)
    batch_size: int = Field(default=1000, ge=1)


class RetrySettings(_Strict):
    """When a failed delivery is tried again: exponential backoff with jitter, until ``give_up_after_seconds``."""

    base_seconds: float = Field(default=5.0, gt=0)
    max_delay_seconds: float = Field(default=3600.0, gt=0)
    give_up_after_seconds: float = Field(default=86400.0, gt=0)


class WorkerSettings(_Strict):
    """The delivery loop."""

    concurrency: int = Field(default=64, ge=1, le=1024)
    """How many customers are served at once (one event at a time per customer)."""
    lease_seconds: float = Field(default=120.0, gt=0)
    poll_interval_seconds: float = Field(default=0.5, gt=0)
    shutdown_grace_seconds: float = Field(default=10.0, ge=0)
    settle_seconds: float | None = Field(default=None, gt=0)
    """How long after a send whose outcome is unknown (it timed out, or was handed back mid-flight) the event is
    left alone before Wix is searched for it or the customer's next message goes into that conversation: Wix may
    still be handling the request. Default and minimum: ``wix.timeout_seconds``."""
    retry: RetrySettings = RetrySettings()


class Settings(BaseSettings):
    """Everything inboxbridge reads at start; see ``load_settings``."""

    model_config = SettingsConfigDict(
        env_prefix="INBOXBRIDGE_",
        env_nested_delimiter="__",
        extra="forbid",
        frozen=True,
        hide_input_in_errors=True,
    )

    database_url: str = "sqlite:///inboxbridge.db"
    host: str = "127.0.0.1"
    port: int = Field(default=8080, ge=0, le=65535)
    public_base_url: str | None = None
    """The URL providers call us at (behind a proxy), used to rebuild the URL a provider signed."""
    max_body_bytes: int = Field(default=1_048_576, ge=1024)
    header_timeout_seconds: float = Field(default=10.0, gt=0, allow_inf_nan=False)
    """A request's headers must arrive within this long of the connection opening (or of the request's first byte,
    on a kept-alive connection), else the connection is closed."""
    body_timeout_seconds: float = Field(default=30.0, gt=0, allow_inf_nan=False)
    """A request's body must arrive within this long of its headers, else the request ends (408)."""
    max_connections: int = Field(default=1000, ge=1)
    """Connections served at once; requests past it are answered 503. Each one holds an open file."""
    wix: WixSettings = WixSettings()
    wix_app: WixAppSettings | None = None
    worker: WorkerSettings = WorkerSettings()
    retention: RetentionSettings = RetentionSettings()
    admin: AdminSettings | None = None
    """Without it the admin API and dashboard are off (every request to them is refused)."""
    policy: PolicySettings = PolicySettings()
    tenants: dict[str, TenantSettings] = Field(default_factory=dict)

    @field_validator("tenants")
    @classmethod
    def _tenant_names(cls, value: dict[str, TenantSettings]) -> dict[str, TenantSettings]:
        for name in value:
            _check_slug(name, "tenant")
        return value

    @property
    def settle_seconds(self) -> float:
        """The worker's settle time after an unknown send outcome (see ``WorkerSettings.settle_seconds``)."""
        return self.worker.settle_seconds or self.wix.timeout_seconds

    @model_validator(mode="after")
    def _settle(self) -> Self:
        settle = self.worker.settle_seconds
        if settle is not None and settle < self.wix.timeout_seconds:
            raise ValueError(
                f"worker.settle_seconds ({settle:g}) must be at least wix.timeout_seconds "
                f"({self.wix.timeout_seconds:g}): a send that timed out may be handled by Wix until then"
            )
        return self

    @model_validator(mode="after")
    def _credentials(self) -> Self:
        if self.wix.base_url != SANDBOX:
            missing = [name for name, tenant in self.tenants.items() if tenant.wix is None]
            if missing:
                raise ValueError(
                    f"tenant(s) {', '.join(missing)} have no [tenants.<name>.wix] credentials; "
                    'only with wix.base_url = "sandbox" may they be left out'
                )
        return self

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        # Command-line values (init arguments) win over the environment, which wins over the file.
        return (init_settings, env_settings, _FileSource(settings_cls))

    def policy_for(self, tenant: str) -> PolicySettings:
        """The global policy with what the tenant's own ``[policy]`` table sets on top."""
        own = self.tenants[tenant].policy if tenant in self.tenants else None
        if own is None:
            return self.policy
        return self.policy.model_copy(update={name: getattr(own, name) for name in own.model_fields_set})

    @property
    def uses_sandbox(self) -> bool:
        """True when Wix is the built-in sandbox started by this process."""
        return self.wix.base_url == SANDBOX


_FILE_DATA: ContextVar[dict[str, Any]] = ContextVar("inboxbridge_config_file", default={})  # noqa: B039


class _FileSource(PydanticBaseSettingsSource):
    """The TOML file's values, read by ``load_settings`` (settings sources cannot take arguments)."""

    def get_field_value(self, field: FieldInfo, field_name: str) -> tuple[Any, str, bool]:
        return _FILE_DATA.get().get(field_name), field_name, False

    def __call__(self) -> dict[str, Any]:
        return dict(_FILE_DATA.get())


def _check_slug(name: str, what: str) -> None:
    if not name or len(name) > 64 or not all(c.isalnum() or c in "-_" for c in name):
        raise ValueError(
            f"{what} name {name!r} must be 1-64 letters, digits, '-' or '_' (it is part of a URL)"
        )


def load_settings(path: Path | None = None, **overrides: Any) -> Settings:
    """Read the TOML file at ``path`` (if any), apply the environment over it, then ``overrides`` (command-line
    flags, which win over both).

    Raises ConfigError with a readable list of problems.
    """
    data: dict[str, Any] = {}
    if path is not None:
        try:
            data = tomllib.loads(path.read_text(encoding="utf-8"))
        except FileNotFoundError as exc:
            raise ConfigError(f"config file not found: {path}") from exc
        except tomllib.TOMLDecodeError as exc:
            raise ConfigError(f"{path} is not valid TOML: {exc}") from exc
    token = _FILE_DATA.set(data)
    try:
        return Settings(**overrides)
    except ValidationError as exc:
        raise ConfigError(_describe(exc, path)) from exc
    finally:
        _FILE_DATA.reset(token)


def _describe(exc: ValidationError, path: Path | None) -> str:
    where = f" in {path}" if path else ""
    lines = [f"invalid configuration{where}:"]
    for error in exc.errors(include_url=False, include_input=False):
        location = ".".join(_readable_location(error["loc"])) or "(top level)"
        lines.append(f"  {location}: {error['msg']}")
    return "\n".join(lines)


def _readable_location(loc: tuple[int | str, ...]) -> list[str]:
    """The path of a setting as written in the file: without our `config` wrapper and the source type tag."""
    parts = [str(part) for part in loc]
    out: list[str] = []
    i = 0
    while i < len(parts):
        if parts[i] == "config" and len(out) >= 2 and out[-2] == "sources":
            i += 2
            continue
        out.append(parts[i])
        i += 1
    return out
