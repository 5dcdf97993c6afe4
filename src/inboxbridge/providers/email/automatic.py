"""Emails a machine sent rather than a person wrote: bounces, delivery and read reports, automatic replies.

They are told apart by the marks RFC 3464, RFC 3798 and RFC 3834 define (a ``multipart/report`` body, an
``Auto-Submitted`` header other than ``no``) and by the older ones mail servers still write (``X-Autoreply``,
``X-Autorespond``, ``Precedence: auto_reply``, a sender named ``MAILER-DAEMON``). None of them is a customer
writing: an out-of-office reply to the business's own email, or a bounce from a mail server whose address would
otherwise become a contact.
"""

from __future__ import annotations

from collections.abc import Mapping

__all__ = ["automatic_reason"]

_AUTOREPLY_HEADERS = ("x-autoreply", "x-autorespond")


def automatic_reason(headers: Mapping[str, str], sender: str) -> str | None:
    """Why the email is a machine's, from its ``headers`` (lower-case names) and ``sender`` address; ``None``
    when nothing marks it so."""
    media_type = headers.get("content-type", "").split(";", 1)[0].strip().lower()
    if media_type == "multipart/report":
        return "a delivery or read report (Content-Type: multipart/report)"
    if sender.rpartition("@")[0].lower() == "mailer-daemon":
        return f"a bounce (sent by {sender})"
    submitted = headers.get("auto-submitted", "").split(";", 1)[0].strip()
    if submitted and submitted.lower() != "no":
        return f"an automatic email (Auto-Submitted: {submitted[:64]})"
    for name in _AUTOREPLY_HEADERS:
        if headers.get(name, "").strip():
            return f"an automatic reply ({_written(name)})"
    if headers.get("precedence", "").strip().lower() == "auto_reply":
        return "an automatic reply (Precedence: auto_reply)"
    return None


def _written(name: str) -> str:
    """``x-autoreply`` as mail headers are written: ``X-Autoreply``."""
    return "-".join(part.capitalize() for part in name.split("-"))
