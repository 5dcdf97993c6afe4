"""What every command shares: output consoles, the --config option, loading settings."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console

from inboxbridge.config import ConfigError, Settings, load_settings
from inboxbridge.demo import DEMO_CONFIG

console = Console(highlight=False, markup=False, soft_wrap=True)
err = Console(stderr=True, highlight=False, markup=False, soft_wrap=True)

DEFAULT_CONFIG_FILE = "inboxbridge.toml"
SANDBOX_DATABASE = "inboxbridge-sandbox.db"

ConfigOption = Annotated[
    Path | None,
    typer.Option(
        "--config",
        "-c",
        envvar="INBOXBRIDGE_CONFIG",
        help=f"TOML settings file (default: ./{DEFAULT_CONFIG_FILE} if present, else the built-in demo setup).",
    ),
]
LogLevel = Annotated[str, typer.Option("--log-level", help="debug, info, warning or error.")]


def load(config: Path | None, **overrides: Any) -> Settings:
    """The settings from ``config`` (or ./inboxbridge.toml, or the demo setup); exits with a clear error."""
    path = config
    if path is None and Path(DEFAULT_CONFIG_FILE).exists():
        path = Path(DEFAULT_CONFIG_FILE)
    clean = {k: v for k, v in overrides.items() if v is not None}
    try:
        settings = load_settings(path, **clean)
        if not settings.tenants and settings.uses_sandbox:
            # No tenants and no Wix account: run the demo tenant against the built-in sandbox.
            settings = load_settings(None, **{**DEMO_CONFIG, **settings.model_dump(exclude={"tenants"}), **clean})
    except ConfigError as exc:
        err.print(str(exc))
        raise typer.Exit(2) from None
    return settings


def sandbox_db(settings: Settings) -> str | None:
    """Where the built-in sandbox keeps its state when the service runs against it."""
    return SANDBOX_DATABASE if settings.uses_sandbox else None
