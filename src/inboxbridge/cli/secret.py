"""`inboxbridge secret --tenant T --source S`: the secret a site that installed the Wix app has for a source of the
``[wix_app.sources]`` template, to give to the provider."""

from __future__ import annotations

from typing import Annotated, NoReturn

import typer

from inboxbridge.cli.common import ConfigOption, console, err, load
from inboxbridge.site_secrets import site_secrets
from inboxbridge.tenants import installed_tenant_name


def secret(
    tenant: Annotated[str, typer.Option("--tenant", "-t", help="The site's tenant: its app instance id.")],
    source: Annotated[str, typer.Option("--source", "-s", help="A source of the wix_app.sources template.")],
    config: ConfigOption = None,
) -> None:
    """Print the secret(s) of a template source for one installed site: the value the provider must sign with or
    send (one line), or each field's, as `field: value`, for a source with several."""
    settings = load(config)
    app = settings.wix_app
    if app is None:
        _fail("no [wix_app] in the configuration: only sites that install the app have secrets derived for them")
    if tenant in settings.tenants:
        _fail(f"{tenant!r} is a configured tenant: its secrets are the ones under [tenants.{tenant}.sources]")
    if installed_tenant_name(tenant) is None:
        _fail(f"{tenant!r} is not an app instance id (1-64 letters, digits, '-' or '_')")
    entry = app.sources.get(source)
    if entry is None:
        known = ", ".join(sorted(app.sources)) or "none"
        _fail(f"no source {source!r} in [wix_app.sources] (there: {known})")
    secrets = site_secrets(entry.config, tenant, source)
    if not secrets:
        _fail(f'source {source!r} is unsigned (verify = "none"): it has no secret')
    if len(secrets) == 1:
        console.print(*secrets.values())
        return
    for name, value in secrets.items():
        console.print(f"{name}: {value}")


def _fail(message: str) -> NoReturn:
    err.print(message)
    raise typer.Exit(1)
