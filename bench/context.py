"""What every figure shares: the run's folder and size, the sandbox, fresh sites, stores, and its result rows."""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from payloads import Batch, contact_seeds, write_batch
from rig import CUSTOMERS, Sandbox, api_key, copy_store, site_id
from stores import create_conversations, new_store, warm_caches


@dataclass
class Row:
    """One line of the table: inboxbridge's value, the baselines measured beside it, the ratio, the target."""

    figure: str
    value: str
    baselines: str
    ratio: str
    target: str
    met: bool | None
    note: str = ""


@dataclass
class Context:
    """One run of the benchmarks."""

    workdir: Path
    quick: bool
    rows: list[Row] = field(default_factory=list)
    _sandbox: Sandbox | None = None
    _sites: itertools.count[int] = field(default_factory=lambda: itertools.count(100))
    _files: itertools.count[int] = field(default_factory=itertools.count)

    def size(self, quick: float, full: float) -> float:
        """The quick or the full value of a load parameter."""
        return quick if self.quick else full

    @property
    def sandbox(self) -> Sandbox:
        """The run's Wix sandbox process (started on first use)."""
        if self._sandbox is None:
            self._sandbox = Sandbox(self.workdir, sites=0).start()
        return self._sandbox

    def new_site(self) -> str:
        """A fresh sandbox site with ``CUSTOMERS`` known contacts, unlimited rate, an empty request log."""
        site = site_id(next(self._sites))
        body = {
            "sites": [
                {
                    "siteId": site,
                    "name": "Bench",
                    "apiKeys": [api_key(site)],
                    "contacts": contact_seeds(site, CUSTOMERS),
                }
            ]
        }
        self.sandbox.admin("POST", "/seed", body)
        return site

    def path(self, stem: str) -> Path:
        """A new file name in the run's folder."""
        return self.workdir / f"{next(self._files):03d}-{stem}"

    def store(self, site: str, *, warm: bool = True, history: Path | None = None) -> Path:
        """A store for ``site``: a copy of ``history`` or empty; with the customers' Wix ids cached (``warm``)."""
        path = self.path("store.db")
        if history is not None:
            copy_store(history, path)
        else:
            new_store(path)
        if warm:
            warm_caches(path, self.sandbox.url, site)
        return path

    def batch(self, count: int, first: int = 0) -> Batch:
        """A file of ``count`` signed webhooks numbered from ``first``, each a new event of this run."""
        path = self.path("webhooks.txt")
        return write_batch(path, first, count, CUSTOMERS, run=path.stem)

    def floor_spec(self, site: str, first: int, count: int) -> dict[str, Any]:
        """What the floor client needs to post messages ``first ..`` straight into the customers' conversations
        on ``site`` (created here, outside any measurement)."""
        conversations = create_conversations(self.sandbox.url, site)
        return {
            "site": site,
            "key": api_key(site),
            "conversations": {str(k): v for k, v in conversations.items()},
            "first": first,
            "count": count,
            "customers": CUSTOMERS,
        }

    def close(self) -> None:
        """Stop the sandbox."""
        if self._sandbox is not None:
            self._sandbox.stop()
