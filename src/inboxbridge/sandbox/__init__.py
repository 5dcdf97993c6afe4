"""A local emulator of the Wix APIs inboxbridge uses: same paths, shapes, auth, errors and rate limits.

It adds what a test needs and Wix cannot give: fault injection, a request log, admin calls to seed and inspect
state, conversation merges and app install events on demand, and a page showing the Inbox.
"""

from .app import create_app
from .config import (
    DEMO_API_KEY,
    DEMO_APP_ID,
    DEMO_APP_SECRET,
    DEMO_INSTANCE_ID,
    DEMO_SITE_ID,
    AppConfig,
    SandboxConfig,
    SiteConfig,
    default_config,
)
from .server import SandboxServer, serve

__all__ = [
    "DEMO_API_KEY",
    "DEMO_APP_ID",
    "DEMO_APP_SECRET",
    "DEMO_INSTANCE_ID",
    "DEMO_SITE_ID",
    "AppConfig",
    "SandboxConfig",
    "SandboxServer",
    "SiteConfig",
    "create_app",
    "default_config",
    "serve",
]
