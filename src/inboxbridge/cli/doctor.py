"""`inboxbridge doctor`: check the configuration, the database and every tenant's Wix credentials, and say what is
wrong in plain words (exit status 1 when something is)."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass

import typer

from inboxbridge.cli.common import ConfigOption, console, load
from inboxbridge.config import Settings
from inboxbridge.store import SchemaVersionError, Store, StoreUnavailable
from inboxbridge.tenants import auth_from_settings
from inboxbridge.wix import (
    AppInstanceAuth,
    Auth,
    WixClient,
    WixConnectionError,
    WixError,
    WixForbiddenError,
    WixNotFoundError,
    WixTimeoutError,
    WixUnauthorizedError,
)


@dataclass
class _Report:
    problems: int = 0

    def ok(self, what: str, text: str) -> None:
        console.print(f"ok    {what}: {text}", highlight=False)

    def warn(self, what: str, text: str) -> None:
        console.print(f"warn  {what}: {text}", highlight=False)

    def fail(self, what: str, text: str) -> None:
        self.problems += 1
        console.print(f"FAIL  {what}: {text}", highlight=False)


def doctor(config: ConfigOption = None) -> None:
    """Check the config, the database, and each tenant's Wix credentials with one harmless call."""
    settings = load(config)
    report = _Report()
    report.ok("configuration", f"{len(settings.tenants)} tenant(s): {', '.join(settings.tenants) or 'none'}")
    if settings.admin is None:
        report.warn("admin", "no [admin] table: the dashboard and admin API refuse every request")
    if settings.wix_app is not None and settings.wix_app.app_secret is None:
        report.warn("wix_app", "no app_secret: sites that install the app cannot be served")
    installed = asyncio.run(_check_store(settings, report))
    asyncio.run(_check_wix(settings, installed, report))
    if report.problems:
        console.print(f"\n{report.problems} problem(s) found")
        raise typer.Exit(1)
    console.print("\nall checks passed")


async def _check_store(settings: Settings, report: _Report) -> dict[str, str]:
    """Open the store without migrating; the tenants installed through the Wix app (name → instance id)."""
    try:
        store = await Store.open(settings.database_url, migrate=False)
    except SchemaVersionError as exc:
        report.fail("database", f"{exc} (run `inboxbridge migrate` to create or upgrade the schema)")
        return {}
    except StoreUnavailable as exc:
        report.fail("database", f"cannot open it: {exc}")
        return {}
    try:
        await store.ping()
        rows = await store.ledger.list_tenants()
        dead = (await store.ledger.counts())["dead"]
    except StoreUnavailable as exc:
        report.fail("database", f"it does not answer: {exc}")
        return {}
    finally:
        await store.close()
    report.ok("database", f"{settings.database_url} answers; schema current; {dead} dead letter(s)")
    return {row.id: row.instance_id for row in rows if row.instance_id and row.id not in settings.tenants}


async def _check_wix(settings: Settings, installed: dict[str, str], report: _Report) -> None:
    if settings.uses_sandbox:
        report.ok("Wix", "the built-in sandbox (no credentials to check)")
        return
    targets: list[tuple[str, Auth, str]] = []
    for name, tenant in settings.tenants.items():
        if tenant.wix is not None:
            where = "api_key" if tenant.wix.api_key is not None else "app_id/app_secret/instance_id"
            targets.append((name, auth_from_settings(tenant.wix), f"tenants.{name}.wix.{where}"))
    app = settings.wix_app
    for name, instance_id in installed.items():
        if app is not None and app.app_secret is not None:
            app_auth = AppInstanceAuth(app.app_id, app.app_secret.get_secret_value(), instance_id)
            targets.append((name, app_auth, "wix_app.app_id/app_secret"))
    async with WixClient(settings.wix.base_url, timeout=settings.wix.timeout_seconds) as client:
        for name, auth, setting in targets:
            try:
                await client.site(auth).query_contacts(fields=["id"], limit=1)
            except WixError as exc:
                report.fail(f"tenant {name}", _explain(exc, setting, settings.wix.base_url))
            else:
                report.ok(f"tenant {name}", "Wix accepts its credentials (Query Contacts answered)")


def _explain(error: WixError, setting: str, base_url: str) -> str:
    said = f"Wix said: {error.code + ' ' if error.code else ''}{error.message}"
    if isinstance(error, WixUnauthorizedError):
        return f"Wix refused the credentials (401); check {setting}. {said}"
    if isinstance(error, WixForbiddenError):
        return f"the credentials lack a permission for Contacts (403); grant it, or check {setting}. {said}"
    if isinstance(error, WixNotFoundError):
        return f"Wix does not know this site or app instance (404); check {setting}. {said}"
    if isinstance(error, WixTimeoutError | WixConnectionError):
        return f"cannot reach Wix at {base_url} ({error.message}); check wix.base_url and the network"
    return f"Wix answered {error.status or 'nothing'}; {said}"
