"""What each configured tenant is at run time: its Wix site, its sources, its policies.

Built once from the settings; the server looks sources up here, the worker sites and policies.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from inboxbridge.config import DeliverySettings, PolicySettings, Settings, WixAuthSettings
from inboxbridge.sources import Source, build_source
from inboxbridge.wix import ApiKeyAuth, AppInstanceAuth, Auth, WixClient, WixSite

__all__ = ["Tenant", "TenantDirectory", "auth_from_settings"]


def auth_from_settings(wix: WixAuthSettings) -> Auth:
    """The Wix client's credentials object for a tenant's ``wix`` table."""
    if wix.api_key is not None:
        assert wix.site_id is not None
        return ApiKeyAuth(api_key=wix.api_key.get_secret_value(), site_id=wix.site_id)
    assert wix.app_id is not None and wix.app_secret is not None and wix.instance_id is not None
    return AppInstanceAuth(
        app_id=wix.app_id, app_secret=wix.app_secret.get_secret_value(), instance_id=wix.instance_id
    )


@dataclass(frozen=True)
class Tenant:
    """One Wix site served by this deployment."""

    name: str
    site: WixSite
    policy: PolicySettings
    sources: dict[str, Source] = field(default_factory=dict)
    deliveries: dict[str, DeliverySettings] = field(default_factory=dict)

    def delivery(self, source: str) -> DeliverySettings:
        """How events of ``source`` look in the Inbox (defaults when the source has since been removed)."""
        return self.deliveries.get(source) or DeliverySettings()


class TenantDirectory:
    """Every configured tenant by name."""

    def __init__(self, tenants: dict[str, Tenant]) -> None:
        self._tenants = tenants

    @classmethod
    def build(
        cls, settings: Settings, client: WixClient, *, default_auth: Auth | None = None
    ) -> TenantDirectory:
        """Tenants from ``settings``; a tenant without credentials uses ``default_auth`` (the sandbox's)."""
        tenants: dict[str, Tenant] = {}
        for name, conf in settings.tenants.items():
            if conf.wix is not None:
                auth = auth_from_settings(conf.wix)
            elif default_auth is not None:
                auth = default_auth
            else:
                raise ValueError(f"tenant {name!r} has no Wix credentials")
            tenants[name] = Tenant(
                name=name,
                site=client.site(auth),
                policy=settings.policy_for(name),
                sources={src: build_source(src, entry.config) for src, entry in conf.sources.items()},
                deliveries={src: entry.delivery for src, entry in conf.sources.items()},
            )
        return cls(tenants)

    def get(self, name: str) -> Tenant | None:
        """The tenant called ``name``, if configured."""
        return self._tenants.get(name)

    def names(self) -> list[str]:
        """Every tenant's name."""
        return list(self._tenants)
