"""`inboxbridge sandbox`: the local Wix API emulator."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from inboxbridge.cli.common import console
from inboxbridge.sandbox import SandboxConfig, default_config
from inboxbridge.sandbox import serve as serve_sandbox


def sandbox(
    host: Annotated[str, typer.Option(help="Address to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to listen on.")] = 8765,
    config: Annotated[Path | None, typer.Option("--config", "-c", help="Sandbox config (TOML or JSON).")] = None,
    db: Annotated[str | None, typer.Option(help="SQLite file for the sandbox's state (default: memory).")] = None,
) -> None:
    """Run the local Wix API emulator, with its Inbox page at / (see docs/sandbox.md)."""
    sandbox_config = SandboxConfig.load(config) if config else default_config()
    if db:
        sandbox_config = sandbox_config.model_copy(update={"database": db})
    console.print(f"Wix sandbox on http://{host}:{port} (Inbox page: http://{host}:{port}/)", highlight=False)
    serve_sandbox(sandbox_config, host=host, port=port)
