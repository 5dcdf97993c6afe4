"""The sandbox's state in SQLite: sites, keys, app instances, tokens, contacts, conversations, messages.

One connection guarded by a lock serves every request of the process, so each method here is one atomic step
even when uvicorn and test threads call in at once. Documents are stored as Wix wire JSON.
"""

from __future__ import annotations

import json
import sqlite3
import threading
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

__all__ = ["Conversation", "RequestRecord", "SandboxState", "new_guid", "now_rfc3339"]

_SCHEMA = """
CREATE TABLE IF NOT EXISTS sites (site_id TEXT PRIMARY KEY, name TEXT NOT NULL, owner_id TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS api_keys (api_key TEXT PRIMARY KEY, site_id TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS instances (instance_id TEXT PRIMARY KEY, app_id TEXT NOT NULL,
    site_id TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS tokens (token TEXT PRIMARY KEY, app_id TEXT NOT NULL, instance_id TEXT NOT NULL,
    expires_at REAL NOT NULL);
CREATE TABLE IF NOT EXISTS contacts (n INTEGER PRIMARY KEY AUTOINCREMENT, id TEXT UNIQUE NOT NULL,
    site_id TEXT NOT NULL, member_id TEXT, doc TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS conversations (n INTEGER PRIMARY KEY AUTOINCREMENT, id TEXT UNIQUE NOT NULL,
    site_id TEXT NOT NULL, participant TEXT NOT NULL, contact_id TEXT, member_id TEXT, visitor_id TEXT,
    merged_into TEXT, merged_from TEXT NOT NULL DEFAULT '[]', doc TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS messages (id TEXT PRIMARY KEY, site_id TEXT NOT NULL,
    conversation_id TEXT NOT NULL,
    sequence INTEGER NOT NULL, doc TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS messages_by_conversation ON messages (conversation_id, sequence);
CREATE TABLE IF NOT EXISTS counters (name TEXT PRIMARY KEY, value INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS requests (seq INTEGER PRIMARY KEY AUTOINCREMENT, method TEXT NOT NULL,
    path TEXT NOT NULL, query TEXT NOT NULL, site_id TEXT, status INTEGER NOT NULL, started_at REAL NOT NULL,
    ended_at REAL NOT NULL, wix_request_id TEXT, conversation_id TEXT, auth_kind TEXT, token_subject TEXT);
CREATE TABLE IF NOT EXISTS events (seq INTEGER PRIMARY KEY AUTOINCREMENT, app_id TEXT NOT NULL,
    instance_id TEXT NOT NULL, event_type TEXT NOT NULL, url TEXT, status INTEGER, error TEXT,
    payload TEXT NOT NULL, jwt TEXT NOT NULL, sent_at REAL NOT NULL);
"""

_DATA_TABLES = ("contacts", "conversations", "messages", "counters", "requests", "events")


def new_guid() -> str:
    """A random GUID in Wix's lower-case dashed form."""
    return str(uuid.uuid4())


def now_rfc3339() -> str:
    """The current time as Wix writes timestamps: RFC 3339, UTC, milliseconds."""
    return datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


@dataclass(frozen=True)
class Conversation:
    """A conversation row: its wire document and where it went if it was merged."""

    id: str
    site_id: str
    doc: dict[str, Any]
    merged_into: str | None
    merged_from: list[str]


@dataclass(frozen=True)
class RequestRecord:
    """One received request, as written to the request log."""

    method: str
    path: str
    query: str
    site_id: str | None
    status: int
    started_at: float
    ended_at: float
    wix_request_id: str | None
    conversation_id: str | None
    auth_kind: str | None
    token_subject: str | None


class SandboxState:
    """Thread-safe access to the sandbox database."""

    def __init__(self, database: str) -> None:
        self._lock = threading.RLock()
        self._db = sqlite3.connect(database, check_same_thread=False, isolation_level=None)
        self._db.row_factory = sqlite3.Row
        if database != ":memory:":
            self._db.execute("PRAGMA journal_mode=WAL")
        self._db.executescript(_SCHEMA)

    @contextmanager
    def _tx(self) -> Iterator[sqlite3.Connection]:
        with self._lock:
            self._db.execute("BEGIN IMMEDIATE")
            try:
                yield self._db
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
            self._db.execute("COMMIT")

    def close(self) -> None:
        """Close the database connection."""
        with self._lock:
            self._db.close()

    def wipe(self) -> None:
        """Forget contacts, conversations, messages, members, the request log and sent events."""
        with self._tx() as db:
            for table in _DATA_TABLES:
                db.execute(f"DELETE FROM {table}")  # noqa: S608 - table names are constants

    # sites, keys, instances, tokens -------------------------------------------------------------------------

    def put_site(self, site_id: str, name: str, api_keys: list[str]) -> None:
        """Create or rename a site and attach API keys to it."""
        with self._tx() as db:
            db.execute(
                "INSERT INTO sites (site_id, name, owner_id) VALUES (?, ?, ?) "
                "ON CONFLICT (site_id) DO UPDATE SET name = excluded.name",
                (site_id, name, new_guid()),
            )
            for key in api_keys:
                db.execute("INSERT OR REPLACE INTO api_keys (api_key, site_id) VALUES (?, ?)", (key, site_id))

    def site(self, site_id: str) -> dict[str, str] | None:
        """A site's id, name and owner (the Wix user an API key acts as), or None."""
        with self._lock:
            row = self._db.execute("SELECT * FROM sites WHERE site_id = ?", (site_id,)).fetchone()
        return dict(row) if row else None

    def sites(self) -> list[dict[str, str]]:
        """Every site, in id order."""
        with self._lock:
            rows = self._db.execute("SELECT * FROM sites ORDER BY name, site_id").fetchall()
        return [dict(r) for r in rows]

    def api_key_site(self, api_key: str) -> str | None:
        """The site an API key belongs to."""
        with self._lock:
            row = self._db.execute("SELECT site_id FROM api_keys WHERE api_key = ?", (api_key,)).fetchone()
        return str(row["site_id"]) if row else None

    def put_instance(self, instance_id: str, app_id: str, site_id: str) -> None:
        """Record that an app is installed on a site as ``instance_id``."""
        with self._tx() as db:
            db.execute(
                "INSERT OR REPLACE INTO instances (instance_id, app_id, site_id) VALUES (?, ?, ?)",
                (instance_id, app_id, site_id),
            )

    def remove_instance(self, instance_id: str) -> dict[str, str] | None:
        """Uninstall an app instance and revoke its tokens; returns the removed row."""
        with self._tx() as db:
            row = db.execute("SELECT * FROM instances WHERE instance_id = ?", (instance_id,)).fetchone()
            db.execute("DELETE FROM instances WHERE instance_id = ?", (instance_id,))
            db.execute("DELETE FROM tokens WHERE instance_id = ?", (instance_id,))
        return dict(row) if row else None

    def instance(self, instance_id: str) -> dict[str, str] | None:
        """An installed instance's app and site."""
        with self._lock:
            row = self._db.execute("SELECT * FROM instances WHERE instance_id = ?", (instance_id,)).fetchone()
        return dict(row) if row else None

    def instances_on_site(self, site_id: str) -> list[dict[str, str]]:
        """Every app instance installed on a site."""
        with self._lock:
            rows = self._db.execute(
                "SELECT * FROM instances WHERE site_id = ? ORDER BY instance_id", (site_id,)
            ).fetchall()
        return [dict(r) for r in rows]

    def put_token(self, token: str, app_id: str, instance_id: str, expires_at: float) -> None:
        """Store an issued access token."""
        with self._tx() as db:
            db.execute(
                "INSERT INTO tokens (token, app_id, instance_id, expires_at) VALUES (?, ?, ?, ?)",
                (token, app_id, instance_id, expires_at),
            )

    def token(self, token: str) -> dict[str, Any] | None:
        """An access token's app, instance and expiry."""
        with self._lock:
            row = self._db.execute("SELECT * FROM tokens WHERE token = ?", (token,)).fetchone()
        return dict(row) if row else None

    # contacts --------------------------------------------------------------------------------------------

    def insert_contact(self, site_id: str, doc: dict[str, Any]) -> None:
        """Store a new contact document."""
        with self._tx() as db:
            db.execute(
                "INSERT INTO contacts (id, site_id, doc) VALUES (?, ?, ?)",
                (doc["id"], site_id, json.dumps(doc)),
            )

    def contacts(self, site_id: str) -> list[dict[str, Any]]:
        """A site's contacts, oldest first."""
        with self._lock:
            rows = self._db.execute("SELECT doc FROM contacts WHERE site_id = ? ORDER BY n", (site_id,)).fetchall()
        return [json.loads(r["doc"]) for r in rows]

    def contact(self, contact_id: str) -> tuple[str, dict[str, Any], str | None] | None:
        """(site id, document, member id) of a contact, whatever its site."""
        with self._lock:
            row = self._db.execute("SELECT * FROM contacts WHERE id = ?", (contact_id,)).fetchone()
        return (row["site_id"], json.loads(row["doc"]), row["member_id"]) if row else None

    def contact_by_member(self, site_id: str, member_id: str) -> str | None:
        """The contact id of a site member."""
        with self._lock:
            row = self._db.execute(
                "SELECT id FROM contacts WHERE site_id = ? AND member_id = ?", (site_id, member_id)
            ).fetchone()
        return str(row["id"]) if row else None

    # conversations and messages -------------------------------------------------------------------------

    @staticmethod
    def _conversation(row: sqlite3.Row) -> Conversation:
        return Conversation(
            id=row["id"],
            site_id=row["site_id"],
            doc=json.loads(row["doc"]),
            merged_into=row["merged_into"],
            merged_from=json.loads(row["merged_from"]),
        )

    def conversation(self, conversation_id: str) -> Conversation | None:
        """A conversation by id, whatever its site, merged or not."""
        with self._lock:
            row = self._db.execute("SELECT * FROM conversations WHERE id = ?", (conversation_id,)).fetchone()
        return self._conversation(row) if row else None

    def get_or_create_conversation(
        self, site_id: str, column: str, participant_id: str, doc: dict[str, Any]
    ) -> tuple[Conversation, bool]:
        """The live conversation whose participant has ``column`` = id; creates ``doc`` when none."""
        assert column in ("contact_id", "member_id", "visitor_id")
        with self._tx() as db:
            row = db.execute(
                f"SELECT * FROM conversations WHERE site_id = ? AND {column} = ? "  # noqa: S608 - checked above
                "AND merged_into IS NULL ORDER BY n DESC LIMIT 1",
                (site_id, participant_id),
            ).fetchone()
            if row:
                return self._conversation(row), False
            participant = doc["participant"]
            db.execute(
                "INSERT INTO conversations (id, site_id, participant, contact_id, member_id, visitor_id, "
                "doc) "
                "VALUES (?, ?, ?, ?, ?, ?, ?)",
                (
                    doc["id"],
                    site_id,
                    json.dumps(participant),
                    participant.get("contactId"),
                    participant.get("memberId"),
                    participant.get("anonymousVisitorId"),
                    json.dumps(doc),
                ),
            )
        return Conversation(doc["id"], site_id, doc, None, []), True

    def conversations(self, site_id: str) -> list[Conversation]:
        """A site's live conversations, newest first."""
        with self._lock:
            rows = self._db.execute(
                "SELECT * FROM conversations WHERE site_id = ? AND merged_into IS NULL ORDER BY n DESC",
                (site_id,),
            ).fetchall()
        return [self._conversation(r) for r in rows]

    def message_count(self, site_id: str) -> int:
        """How many messages a site's conversations hold (merged ones' included)."""
        with self._lock:
            row = self._db.execute("SELECT count(*) AS n FROM messages WHERE site_id = ?", (site_id,)).fetchone()
        return int(row["n"])

    def add_message(self, site_id: str, conversation_id: str, doc: dict[str, Any]) -> dict[str, Any] | None:
        """Append a message, giving it the next sequence; None when the conversation is gone (merged)."""
        with self._tx() as db:
            live = db.execute(
                "SELECT 1 FROM conversations WHERE id = ? AND merged_into IS NULL", (conversation_id,)
            ).fetchone()
            if not live:
                return None
            row = db.execute("SELECT value FROM counters WHERE name = 'sequence'").fetchone()
            sequence = (row["value"] if row else 0) + 1
            db.execute(
                "INSERT INTO counters (name, value) VALUES ('sequence', ?) "
                "ON CONFLICT (name) DO UPDATE SET value = excluded.value",
                (sequence,),
            )
            stored = {**doc, "sequence": str(sequence)}
            db.execute(
                "INSERT INTO messages (id, site_id, conversation_id, sequence, doc) VALUES (?, ?, ?, ?, ?)",
                (stored["id"], site_id, conversation_id, sequence, json.dumps(stored)),
            )
        return stored

    def messages(
        self, conversation_id: str, *, descending: bool = True, after: int | None = None, limit: int = -1
    ) -> list[dict[str, Any]]:
        """Messages of a conversation by sequence, continuing past sequence ``after`` in the chosen order."""
        order = "DESC" if descending else "ASC"
        condition = ""
        params: list[Any] = [conversation_id]
        if after is not None:
            condition = "AND sequence < ?" if descending else "AND sequence > ?"
            params.append(after)
        params.append(limit)
        with self._lock:
            rows = self._db.execute(
                f"SELECT doc FROM messages WHERE conversation_id = ? {condition} "  # noqa: S608 - fixed fragments
                f"ORDER BY sequence {order} LIMIT ?",
                params,
            ).fetchall()
        return [json.loads(r["doc"]) for r in rows]

    def make_member(
        self, contact_id: str, member_id: str, doc: dict[str, Any]
    ) -> tuple[list[str], Conversation | None]:
        """Turn a contact into a member; its live conversations are merged into the new conversation ``doc``.

        Returns the old conversation ids and the new conversation (None when the contact had none, in which
        case ``doc`` is not stored).
        """
        with self._tx() as db:
            row = db.execute("SELECT site_id, member_id FROM contacts WHERE id = ?", (contact_id,)).fetchone()
            site_id = str(row["site_id"])
            db.execute("UPDATE contacts SET member_id = ? WHERE id = ?", (member_id, contact_id))
            old = db.execute(
                "SELECT id, merged_from FROM conversations WHERE site_id = ? AND contact_id = ? "
                "AND merged_into IS NULL ORDER BY n",
                (site_id, contact_id),
            ).fetchall()
            if not old:
                return [], None
            old_ids = [str(r["id"]) for r in old]
            history: list[str] = []
            for r in old:
                history.extend(json.loads(r["merged_from"]))
            history.extend(old_ids)
            participant = doc["participant"]
            db.execute(
                "INSERT INTO conversations (id, site_id, participant, contact_id, member_id, visitor_id, "
                "merged_from, doc) VALUES (?, ?, ?, ?, ?, NULL, ?, ?)",
                (
                    doc["id"],
                    site_id,
                    json.dumps(participant),
                    contact_id,
                    member_id,
                    json.dumps(history),
                    json.dumps(doc),
                ),
            )
            marks = ",".join("?" * len(old_ids))
            db.execute(
                f"UPDATE conversations SET merged_into = ? WHERE id IN ({marks})",  # noqa: S608 - placeholders
                [doc["id"], *old_ids],
            )
            db.execute(
                f"UPDATE messages SET conversation_id = ? WHERE conversation_id IN ({marks})",  # noqa: S608
                [doc["id"], *old_ids],
            )
        return old_ids, Conversation(doc["id"], site_id, doc, None, history)

    # request log and events -----------------------------------------------------------------------------

    def log_request(self, record: RequestRecord) -> int:
        """Append a request to the log; returns its sequence number."""
        with self._tx() as db:
            cur = db.execute(
                "INSERT INTO requests (method, path, query, site_id, status, started_at, ended_at, "
                "wix_request_id, conversation_id, auth_kind, token_subject) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    record.method,
                    record.path,
                    record.query,
                    record.site_id,
                    record.status,
                    record.started_at,
                    record.ended_at,
                    record.wix_request_id,
                    record.conversation_id,
                    record.auth_kind,
                    record.token_subject,
                ),
            )
            return int(cur.lastrowid or 0)

    def requests(
        self, site_id: str | None = None, path_prefix: str | None = None, since: int | None = None
    ) -> list[dict[str, Any]]:
        """Logged requests matching the filters, in arrival order."""
        sql = "SELECT * FROM requests WHERE 1 = 1"
        params: list[Any] = []
        if site_id:
            sql += " AND site_id = ?"
            params.append(site_id)
        if path_prefix:
            sql += " AND substr(path, 1, ?) = ?"
            params.extend([len(path_prefix), path_prefix])
        if since is not None:
            sql += " AND seq > ?"
            params.append(since)
        with self._lock:
            rows = self._db.execute(sql + " ORDER BY seq", params).fetchall()
        return [dict(r) for r in rows]

    def clear_requests(self) -> None:
        """Empty the request log."""
        with self._tx() as db:
            db.execute("DELETE FROM requests")

    def log_event(
        self,
        app_id: str,
        instance_id: str,
        event_type: str,
        url: str | None,
        status: int | None,
        error: str | None,
        payload: dict[str, Any],
        token: str,
        sent_at: float,
    ) -> None:
        """Record a webhook event the sandbox sent (or could not send)."""
        with self._tx() as db:
            db.execute(
                "INSERT INTO events (app_id, instance_id, event_type, url, status, error, payload, jwt, "
                "sent_at) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (app_id, instance_id, event_type, url, status, error, json.dumps(payload), token, sent_at),
            )

    def events(self) -> list[dict[str, Any]]:
        """Every webhook event sent, oldest first."""
        with self._lock:
            rows = self._db.execute("SELECT * FROM events ORDER BY seq").fetchall()
        return [{**dict(r), "payload": json.loads(r["payload"])} for r in rows]
