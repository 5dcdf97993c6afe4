"""What each tenant is at run time: its Wix site, its sources, its policies.

Configured tenants come from the settings. Sites that install the Wix app (``[wix_app]``) become tenants at run
time: the store remembers them (name = the app instance id), and every process finds them there, so a tenant
installed through one node is served by all. Their sources are the ``[wix_app.sources]`` template with secrets of
their own, derived from the template's (``inboxbridge.site_secrets``). The server looks sources up here, the worker
sites and policies.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

import structlog

from inboxbridge.config import DeliverySettings, PolicySettings, Settings, SourceSettings, WixAuthSettings
from inboxbridge.providers import Source, build_source
from inboxbridge.site_secrets import bind_to_site
from inboxbridge.store import Ledger
from inboxbridge.wix import ApiKeyAuth, AppInstanceAuth, Auth, WixClient, WixSite

__all__ = ["Tenant", "TenantDirectory", "auth_from_settings", "installed_tenant_name"]

log = structlog.get_logger("inboxbridge.tenants")
_SLUG = re.compile(r"^[A-Za-z0-9_-]{1,64}$")


def auth_from_settings(wix: WixAuthSettings) -> Auth:
    """The Wix client's credentials object for a tenant's ``wix`` table."""
    if wix.api_key is not None:
        assert wix.site_id is not None
        return ApiKeyAuth(api_key=wix.api_key.get_secret_value(), site_id=wix.site_id)
    assert wix.app_id is not None and wix.app_secret is not None and wix.instance_id is not None
    return AppInstanceAuth(
        app_id=wix.app_id, app_secret=wix.app_secret.get_secret_value(), instance_id=wix.instance_id
    )


def installed_tenant_name(instance_id: str) -> str | None:
    """The tenant name of a site that installed the app: its instance id, when that can be part of a URL."""
    return instance_id if _SLUG.match(instance_id) else None


@dataclass(frozen=True)
class Tenant:
    """One Wix site served by this deployment."""

    name: str
    site: WixSite
    policy: PolicySettings
    sources: dict[str, Source] = field(default_factory=dict)
    deliveries: dict[str, DeliverySettings] = field(default_factory=dict)
    instance_id: str | None = None
    """The Wix app instance, for tenants that installed the app (or are configured with app credentials)."""

    def delivery(self, source: str) -> DeliverySettings:
        """How events of ``source`` look in the Inbox (defaults when the source has since been removed)."""
        return self.deliveries.get(source) or DeliverySettings()


def _tenant(
    name: str, site: WixSite, policy: PolicySettings, sources: dict[str, SourceSettings], instance_id: str | None
) -> Tenant:
    return Tenant(
        name=name,
        site=site,
        policy=policy,
        sources={src: build_source(src, entry.config) for src, entry in sources.items()},
        deliveries={src: entry.delivery for src, entry in sources.items()},
        instance_id=instance_id,
    )


class TenantDirectory:
    """Every tenant by name: the configured ones, and those installed through the Wix app."""

    def __init__(
        self, tenants: dict[str, Tenant], *, settings: Settings | None = None, client: WixClient | None = None
    ) -> None:
        self._tenants = tenants
        self._settings = settings
        self._client = client
        self._ledger: Ledger | None = None

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
            instance_id = conf.wix.instance_id if conf.wix is not None else None
            tenants[name] = _tenant(name, client.site(auth), settings.policy_for(name), conf.sources, instance_id)
        return cls(tenants, settings=settings, client=client)

    def get(self, name: str) -> Tenant | None:
        """The tenant called ``name``, if this process knows it."""
        return self._tenants.get(name)

    def names(self) -> list[str]:
        """Every tenant's name."""
        return list(self._tenants)

    def of_instance(self, instance_id: str) -> list[Tenant]:
        """The tenants acting as the Wix app instance ``instance_id``."""
        return [t for t in self._tenants.values() if t.instance_id == instance_id]

    def can_install(self) -> bool:
        """Whether sites may install the app at run time: ``[wix_app]`` with its ``app_secret`` is configured."""
        app = self._settings.wix_app if self._settings is not None else None
        return app is not None and app.app_secret is not None and self._client is not None

    def install(self, name: str, instance_id: str) -> Tenant:
        """Serve the site that installed the app as tenant ``name``, with the app's OAuth tokens for
        ``instance_id`` and the ``[wix_app.sources]`` template, each secret the site's own; the tenant if it exists
        already."""
        known = self._tenants.get(name)
        if known is not None:
            return known
        assert self._settings is not None and self._client is not None
        app = self._settings.wix_app
        if app is None or app.app_secret is None:
            raise ValueError("installing a site needs [wix_app] app_id, app_secret and public_key")
        auth = AppInstanceAuth(app_id=app.app_id, app_secret=app.app_secret.get_secret_value(), instance_id=instance_id)
        sources = {
            source: entry.model_copy(update={"config": bind_to_site(entry.config, name, source)})
            for source, entry in app.sources.items()
        }
        tenant = _tenant(name, self._client.site(auth), self._settings.policy, sources, instance_id)
        self._tenants[name] = tenant
        return tenant

    async def load_installed(self, ledger: Ledger) -> list[str]:
        """Add the tenants the store's ledger knows as app installs, and remember ``ledger`` to find later ones;
        returns the names added."""
        self._ledger = ledger
        added: list[str] = []
        for row in await ledger.list_tenants():
            if row.id in self._tenants or row.instance_id is None:
                continue
            if not self.can_install():
                log.warning("installed tenant skipped: [wix_app] app_secret is not configured", tenant=row.id)
                continue
            self.install(row.id, row.instance_id)
            added.append(row.id)
        return added

    async def lookup(self, name: str) -> Tenant | None:
        """The tenant called ``name``, looking in the store for a site that installed the app through another
        process when this one does not know it yet."""
        known = self._tenants.get(name)
        if known is not None or self._ledger is None or not self.can_install() or installed_tenant_name(name) is None:
            return known
        row = await self._ledger.get_tenant(name)
        if row is None or row.instance_id is None:
            return None
        return self.install(name, row.instance_id)
