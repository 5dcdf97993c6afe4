"""Noticing that another process committed to a SQLite store, without claiming to find out.

``PRAGMA data_version`` on a connection of its own changes whenever any other connection commits to the
database file, this process's pool included; reading it takes no lock and costs microseconds. A worker process
beside an HTTP-only process has no in-process wake-up when a webhook is stored, so it reads this counter while
idle and claims as soon as it moves, instead of at its next poll. PostgreSQL offers no such counter; there,
workers poll.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path

__all__ = ["ChangeWatch"]


class ChangeWatch:
    """Tells whether the SQLite database at ``path`` changed since the last look."""

    def __init__(self, path: Path) -> None:
        # Read on the event loop: never wait for a lock (the default would wait 5 s), answer "changed" instead.
        self._db = sqlite3.connect(str(path), timeout=0, isolation_level=None, check_same_thread=False)
        self._version = self._read()

    def _read(self) -> int:
        return int(self._db.execute("PRAGMA data_version").fetchone()[0])

    def changed(self) -> bool:
        """Whether another connection committed since the last call (or since the watch began); also True when
        the counter cannot be read at this instant, so the caller looks at the store itself, which can tell."""
        try:
            version = self._read()
        except sqlite3.Error:
            return True
        if version == self._version:
            return False
        self._version = version
        return True

    def close(self) -> None:
        """Close the watch's connection."""
        self._db.close()
