"""The figures each reliability suite measures, and docs/reliability.md written from them."""

from __future__ import annotations

import platform
import threading
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime

__all__ = ["Figure", "Figures", "render"]

HEADER = """# Reliability: what the chaos, bad-input and security suites show

A sync service is trusted only when it is shown to lose nothing. The suites in `tests/reliability/` run the real
service (a child process, or the app on a real HTTP server) against the built-in Wix sandbox and break things on
purpose: the process is killed, Wix fails and slows down, webhooks arrive three times, requests are malformed or
forged, the disk fills up and the database goes away. Each suite then reads the sandbox's Inbox (its admin API and
`/_sandbox/overlaps`) and the store to count what was lost, posted twice or posted out of order.

Regenerate this page (the table below is written from the run, nothing is typed in by hand):

```sh
.venv/bin/pip install -e '.[test]' schemathesis
.venv/bin/python -m pytest tests/reliability --report docs/reliability.md                # the quick run (a few minutes)
.venv/bin/python -m pytest tests/reliability --report docs/reliability.md --chaos-long   # the long run
```

The quick run is part of the default test run (`pytest`); `--chaos-long` (or `INBOXBRIDGE_CHAOS_LONG=1`) makes
every suite longer: more events, 20 kills instead of 8, more fuzzed examples. `INBOXBRIDGE_RELIABILITY_REPORT=FILE`
does what `--report FILE` does when pytest runs from the repository root. The store-fault suite mounts a small
tmpfs, so it runs as root (it is skipped, saying why, otherwise); the PostgreSQL suites use the server named by
`INBOXBRIDGE_TEST_POSTGRES_URL` (default `postgresql://postgres@127.0.0.1:5432/test`).

Columns: **events** — distinct events sent (or requests, for the bad-input and security suites); **faults** —
what was injected; **lost**, **duplicated**, **out of order** — counted in the sandbox's Inbox against what the
service accepted; **5xx** — answers of 500 or more that were not the intended 503 of a store that cannot commit.
"""


@dataclass(frozen=True)
class Figure:
    """One row of the table: a suite's case and what its run measured."""

    suite: str
    case: str
    what: str
    events: int
    faults: str
    lost: int | None = None
    duplicated: int | None = None
    out_of_order: int | None = None
    server_errors: int = 0
    notes: str = ""
    test: str = ""
    """The test that measured it (filled in by :meth:`Figures.record`)."""


@dataclass
class Figures:
    """Rows collected during a pytest session (tests of one session may run in any order)."""

    long: bool
    rows: list[Figure] = field(default_factory=list)
    current_test: str = ""
    """The node id of the test running now (set by the suite's conftest before each test)."""
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def record(self, figure: Figure) -> None:
        """Keep one case's figures for the report, with the test that measured them."""
        with self._lock:
            self.rows.append(figure if figure.test else replace(figure, test=self.current_test))


SUITE_ORDER = ["crash", "wix faults", "duplicates", "bad input", "security", "store faults"]


def _cell(value: int | None) -> str:
    return "—" if value is None else str(value)


def render(figures: Figures, *, failed: int) -> str:
    """The whole of docs/reliability.md for this run."""
    when = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    mode = "long (`--chaos-long`)" if figures.long else "quick (default)"
    lines = [
        HEADER,
        "## Last run",
        "",
        f"{when}, {mode} run, Python {platform.python_version()} on {platform.system()} "
        f"({len(figures.rows)} cases; failed tests: {failed}).",
        "",
        "| suite | case | what it does | events | faults injected | lost | duplicated | out of order | 5xx | notes |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    rank = {name: i for i, name in enumerate(SUITE_ORDER)}
    for row in sorted(figures.rows, key=lambda r: (rank.get(r.suite, len(rank)), r.suite, r.case)):
        lines.append(
            f"| {row.suite} | {row.case} | {row.what} | {row.events} | {row.faults} | {_cell(row.lost)} | "
            f"{_cell(row.duplicated)} | {_cell(row.out_of_order)} | {row.server_errors} | {row.notes} |"
        )
    lines += ["", *_security(figures.rows), "", FOOTER.replace("FINDINGS_TABLE", _findings())]
    return "\n".join(lines)


def _security(rows: list[Figure]) -> list[str]:
    """The security suite's cases as attack, what happens, and the test that shows it."""
    lines = [
        "## Security: each attack, what happens, and the test that shows it",
        "",
        "| attack | what happens | test |",
        "|---|---|---|",
    ]
    for row in sorted((r for r in rows if r.suite == "security"), key=lambda r: r.case):
        happens = "; ".join(part for part in (row.faults, row.notes, f"{row.server_errors} 5xx") if part)
        lines.append(f"| **{row.case}**: {row.what} | {happens} | `{row.test}` |")
    return lines


FOOTER = """## What the suites found, and what was fixed

Each finding was fixed in the service and has a regression test in the suite that found it:

FINDINGS_TABLE

Looked at and left as they are:

- Mailgun signs its timestamp and token, not the body, and SendGrid and Postmark send a bare credential: for those
  the body cannot be checked (the security suite's tampered-body case covers every other source). Crisp documents
  no maximum age for its signed timestamp: a Crisp request more than `tolerance_seconds` (300) old or ahead is
  refused all the same, as for the other timestamped schemes.
- A filesystem cannot be remounted read-only under a running service (the kernel refuses while the database files
  are open for writing), and the service refuses to start on a read-only database (`?mode=ro`), so the read-only
  case is covered by that refusal at start rather than by a run.
- On a very small disk SQLite's write-ahead log (about 4 MiB between checkpoints) can take all the space freed
  after a disk-full period: the store then stays unavailable (503) until there is room for it. Give the database
  some headroom beyond its own size.

## Reading a failure

Every suite asserts its figures: a lost, duplicated or out-of-order message, a 5xx or an unexpected answer fails
the test with the customer, event or request concerned. Service logs of the child processes are kept in pytest's
temporary folder (`service.log`), and the sandbox's request log is at `/_sandbox/requests` while a test runs.
"""


FINDINGS = [
    (
        "security: secrets scan",
        "The quarantine (admin API and dashboard) showed a refused request's URL as received, so the `?token=` of "
        "SendGrid and Postmark sources (Crisp's `?key=`) appeared in clear.",
        "`server/masking.py` `mask_url`: secret-looking query parameters are shown as `***` (the stored request is "
        "unchanged, so reingesting still works).",
        "`test_secrets.py`, `test_security.py::test_a_url_token_is_masked_in_the_quarantine`",
    ),
    (
        "bad input: schemathesis",
        "Ids and offsets past 64 bits (`/admin/api/events/18446744073709551616`, `?offset=...`, the `ids` of the "
        "dead-letter actions, the same on dashboard pages) reached the database and failed there: 500.",
        "`server/admin_models.py` `IdPath`, `Offset` and bounded `ids`, used by the admin API and the dashboard: "
        "422 with the reason.",
        "`test_openapi_fuzz.py::test_numbers_past_64_bits_are_refused_with_422_not_a_500`",
    ),
    (
        "security: form bombs",
        "Mailgun's form was parsed whole before its signature was checked, on the event loop: 18,000 empty parts "
        "cost 4-5 s a request with every other webhook waiting; parts nested 1,000 deep were an unauthenticated 500; "
        "Twilio's URL-encoded parse cost 0.4-0.8 s the same way.",
        "`providers/helpers/forms.py`: parts and fields counted before parsing (1,000 at most), a linear reader "
        "that never descends into nested parts; bodies over 64 KiB verified and parsed off the event loop.",
        "`test_attacks_forms.py`, `tests/server/test_webhook_bounds.py`, "
        "`tests/providers/helpers/test_forms_bounds.py`",
    ),
    (
        "security: admin body",
        "The admin API read and parsed a request body before checking credentials, with no size limit: a 100 MB "
        "unauthenticated POST took the process from 144 to 657 MB.",
        "`server/gate.py` `RequestGate`: admin credentials checked before a byte of the body is read; every body "
        "capped at `max_body_bytes` (413).",
        "`test_attacks_http.py`, `tests/server/test_gate.py`",
    ),
    (
        "security: slow connections",
        "Partial headers, a partial body or no bytes at all kept a connection open past 100 s, with no limit on "
        "connections: about a thousand held sockets made genuine webhooks fail.",
        "`server/connections.py` `TimedHttpProtocol`: `header_timeout_seconds`, `body_timeout_seconds` (408 and "
        "closed), `max_connections` (503), the open-file limit raised at start; docs/deploy.md says what a proxy adds.",
        "`test_attacks_http.py`, `tests/server/test_timeouts.py`",
    ),
    (
        "security: credentials shown",
        "A source's own `token_parameter` (e.g. `?auth=`) and basic-auth credentials were shown in clear in the "
        "quarantine API and page; `/metrics` listed every tenant (an installed site's instance id) without "
        "credentials.",
        "`server/masking.py` masks each configured token parameter, `user:password@` and credential headers at "
        "display time; `/metrics` takes the admin credentials and reads the store twice per scrape.",
        "`test_attacks_admin_pages.py`, `tests/e2e/test_operator_metrics.py`",
    ),
    (
        "security: CSRF token",
        "The dashboard's CSRF token was HMAC(admin password, username): constant, and a leaked page allowed an "
        "offline guess of the password.",
        "`server/dashboard/csrf.py`: a random double-submit cookie (HttpOnly, SameSite=Strict) that every form "
        "carries; no server state, so any node accepts it.",
        "`test_attacks_admin_pages.py`, `tests/browser/test_dashboard_hardening_browser.py`",
    ),
    (
        "security: sandbox cross-origin",
        "The sandbox's `/_sandbox` routes took JSON sent as `text/plain` from any origin: a web page could reset the "
        "sandbox or make it sign and send app events.",
        "`sandbox/guard.py`: writes need `application/json` (415) and the sandbox's own origin (403).",
        "`test_attacks_admin_pages.py`, `tests/sandbox/test_guard.py`",
    ),
    (
        "security: template secret",
        "Every site that installed the app got the same `[wix_app.sources]` secret, which does not cover the tenant: "
        "a genuine signed request replayed to another site's URL was stored for that site.",
        "`site_secrets.py`: each installed site's secret derived from the template (HMAC of tenant and source), "
        "`inboxbridge secret` prints it; provider-issued secrets refused as templates.",
        "`test_attacks_wix_app.py`, `tests/test_site_secrets.py`",
    ),
    (
        "security: app events",
        "App events matched `instanceId` against configured tenant names (stopping an unrelated API-key tenant); a "
        "captured App Removed could be replayed after a reinstall; a token with no `exp` and `iat=0` was accepted.",
        "`server/wix_events.py`: instance ids matched only against app tenants; `exp` and `iat` required (an hour at "
        "most, 60 s leeway); each event handled once (the store's seen tokens).",
        "`test_attacks_wix_app.py`, `tests/server/test_wix_events.py`",
    ),
    (
        "security: Mailgun replay",
        "Mailgun signs its timestamp and token, not the mail: a captured signature could be reused with another "
        "sender inside the freshness window and land as the customer's words.",
        "`server/webhooks.py` one-time proofs: each Mailgun token accepted once per source, kept until its window "
        "ends; a replay is 401.",
        "`tests/server/test_one_time_proofs.py`",
    ),
    (
        "bad input: schemathesis",
        "A path with a newline in it matched no route of the app's router (its catch-all mount stops at a "
        "newline): 500.",
        "`server/app.py`: the router's default is the FastAPI app, which answers 404.",
        "`tests/server/test_webhook_dispatch.py::test_a_path_with_a_newline_is_answered_by_fastapi_not_a_500`",
    ),
]
"""What the suites found: (suite, what was wrong, the fix, its regression test)."""


def _findings() -> str:
    rows = ["| found by | what was wrong | fix | regression test |", "|---|---|---|---|"]
    rows += [f"| {found} | {wrong} | {fix} | {test} |" for found, wrong, fix, test in FINDINGS]
    return "\n".join(rows)
