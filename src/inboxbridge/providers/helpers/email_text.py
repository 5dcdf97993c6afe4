"""The words a person wrote in an email: the reply without the quoted thread or the signature.

Mail clients quote the message being answered below the reply, introduced by an attribution line ("On Tue, ...
Ana <ana@example.com> wrote:", Outlook's "-----Original Message-----" or "From: / Sent: / To:" block), and
writers sign off with a "-- " delimited signature or a "Sent from my iPhone" line. The Inbox already holds the
earlier messages, so only the new words are kept.

Quoted lines (``>``) inside a reply are kept: in an answer written between the quoted lines they are the context
that makes the answer readable. Only the quoted block at the end, with the attribution line above it, is cut.
"""

from __future__ import annotations

import re
from html.parser import HTMLParser

__all__ = ["format_size", "html_to_text", "strip_reply"]

# An attribution line may be wrapped by the client over up to three lines (Gmail breaks long ones).
_ATTRIBUTION_SPAN = 3
_ATTRIBUTION = re.compile(
    r"^\s*(?:"
    r"On\s.{1,400}\swrote:"  # English (Gmail, Apple Mail, Thunderbird)
    r"|Le\s.{1,400}\sa\s+écrit\s*:"  # French
    r"|Am\s.{1,400}\sschrieb\s.{0,200}:"  # German
    r"|El\s.{1,400}\sescribió\s*:"  # Spanish
    r"|Em\s.{1,400}\sescreveu\s*:"  # Portuguese
    r"|Il\s.{1,400}\sha\s+scritto\s*:"  # Italian
    r"|Op\s.{1,400}\sschreef\s.{0,200}:"  # Dutch
    r")\s*$",
    re.IGNORECASE | re.DOTALL,
)
_ORIGINAL_MESSAGE = re.compile(
    r"^\s*-{2,}\s*(?:Original Message|Ursprüngliche Nachricht|Message d'origine|Mensaje original)\s*-{2,}\s*$",
    re.IGNORECASE,
)
# Outlook separates the reply from the quoted message's header block with a line of underscores.
_OUTLOOK_RULE = re.compile(r"^\s*_{20,}\s*$")
_HEADER_FROM = re.compile(r"^\s*\**(?:From|De|Von|Van|Da)\s*:\**\s*\S", re.IGNORECASE)
_HEADER_NEXT = re.compile(
    r"^\s*\**(?:Sent|Date|To|Subject|Envoyé|Gesendet|Enviado|Inviato|Verzonden|Cc)\s*:", re.IGNORECASE
)
_SIGNATURE = re.compile(r"^--\s?$")
_MOBILE_SIGNATURE = re.compile(
    r"^\s*(?:Sent from my\s.{1,60}|Sent from (?:Mail|Outlook) for .{1,40}|Get Outlook for .{1,40}"
    r"|Sent from Yahoo Mail.{0,60}|Envoyé de mon .{1,60}|Von meinem .{1,60} gesendet)\s*$",
    re.IGNORECASE,
)
# A mobile sign-off only counts as one near the end: in the middle of a text it is just words.
_MOBILE_SIGNATURE_TAIL = 3


def _quoted(line: str) -> bool:
    return line.lstrip().startswith(">")


def _attribution_at(lines: list[str], index: int) -> bool:
    """Whether an attribution line ("On ... wrote:") starts at ``index``, possibly wrapped."""
    first = lines[index].strip()
    if not first:
        return False
    joined = first
    for offset in range(_ATTRIBUTION_SPAN):
        if offset:
            if index + offset >= len(lines) or not lines[index + offset].strip():
                return False
            joined += " " + lines[index + offset].strip()
        if _ATTRIBUTION.match(joined):
            return True
    return False


def _header_block_at(lines: list[str], index: int) -> bool:
    """Whether Outlook's quoted header block ("From: ... / Sent: ... / To: ...") starts at ``index``."""
    if not _HEADER_FROM.match(lines[index]):
        return False
    following = [line for line in lines[index + 1 : index + 5] if line.strip()]
    return sum(1 for line in following if _HEADER_NEXT.match(line)) >= 2


def _thread_start(lines: list[str]) -> int:
    """The index of the first line of the quoted thread (or signature), ``len(lines)`` when there is none."""
    for index, line in enumerate(lines):
        if _SIGNATURE.match(line) or _ORIGINAL_MESSAGE.match(line) or _attribution_at(lines, index):
            return index
        if _OUTLOOK_RULE.match(line) and any(
            _header_block_at(lines, i) for i in range(index + 1, min(index + 3, len(lines)))
        ):
            return index
        if _header_block_at(lines, index):
            return index
    return len(lines)


def _drop_quoted_tail(lines: list[str]) -> list[str]:
    """Without the block of ``>`` lines (and blank lines) at the end."""
    end = len(lines)
    while end and (not lines[end - 1].strip() or _quoted(lines[end - 1])):
        end -= 1
    return lines[:end]


def _drop_mobile_signature(lines: list[str]) -> list[str]:
    content = [i for i, line in enumerate(lines) if line.strip()]
    for index in content[-_MOBILE_SIGNATURE_TAIL:]:
        if _MOBILE_SIGNATURE.match(lines[index]):
            return lines[:index]
    return lines


def strip_reply(text: str) -> str:
    """The new words of an email body: the quoted thread, the signature and trailing blank lines removed.

    When nothing would be left (a message that is all quote), the whole body is returned, trimmed: showing
    something is better than an empty message.
    """
    lines = text.replace("\r\n", "\n").replace("\r", "\n").split("\n")
    kept = lines[: _thread_start(lines)]
    kept = _drop_mobile_signature(_drop_quoted_tail(kept))
    reply = "\n".join(line.rstrip() for line in kept).strip()
    return reply or text.strip()


_BLOCK_TAGS = frozenset(
    {"p", "div", "br", "li", "tr", "h1", "h2", "h3", "h4", "h5", "h6", "table", "ul", "ol", "pre", "hr"}
)
_SKIPPED_TAGS = frozenset({"script", "style", "head", "title", "blockquote"})
# Quoted threads that clients wrap in a marked element rather than a <blockquote>.
_QUOTE_MARKERS = ("gmail_quote", "yahoo_quoted")
# Outlook marks only where the quoted thread begins (an empty "appendonsend" div, the "From: / Sent:" block of
# "divRplyFwdMsg"); the quoted message follows outside them, so everything from the mark on is left out.
# Thunderbird's "moz-cite-prefix" is not a mark: it holds the "On ... wrote:" line, which ends the reply when the
# text is stripped, and Thunderbird sometimes writes the reply itself inside it.
_THREAD_MARKERS = ("divrplyfwdmsg", "appendonsend")
_VOID_TAGS = frozenset({"br", "hr", "img", "meta", "link", "input", "wbr", "col", "area", "base", "source"})


def _marked(attrs: list[tuple[str, str | None]], markers: tuple[str, ...]) -> bool:
    return any(name in ("class", "id") and value and any(m in value.lower() for m in markers) for name, value in attrs)


class _TextExtractor(HTMLParser):
    """Collects an HTML body's visible text, skipping quoted threads."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self._skip_depth = 0
        self._open: list[tuple[str, bool]] = []
        self._thread_started = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if _marked(attrs, _THREAD_MARKERS):
            self._thread_started = True
        if tag not in _VOID_TAGS:
            skipping = tag in _SKIPPED_TAGS or _marked(attrs, _QUOTE_MARKERS)
            self._open.append((tag, skipping))
            self._skip_depth += skipping
        if tag in _BLOCK_TAGS:
            self.parts.append("\n")

    def handle_endtag(self, tag: str) -> None:
        if tag in _VOID_TAGS:
            return
        # Mail HTML is often unbalanced: an end tag closes every element opened since its start tag.
        if any(name == tag for name, _ in self._open):
            while self._open:
                name, skipping = self._open.pop()
                self._skip_depth -= skipping
                if name == tag:
                    break
        if tag in _BLOCK_TAGS:
            self.parts.append("\n")

    def handle_data(self, data: str) -> None:
        if not self._skip_depth and not self._thread_started:
            self.parts.append(re.sub(r"[ \t\r\n\f]+", " ", data))


def html_to_text(html: str) -> str:
    """The visible text of an HTML email body, one line per block, quoted threads left out."""
    parser = _TextExtractor()
    parser.feed(html)
    parser.close()
    lines = [line.strip() for line in "".join(parser.parts).replace("\xa0", " ").split("\n")]
    text = "\n".join(lines)
    return re.sub(r"\n{3,}", "\n\n", text).strip()


def format_size(size: int) -> str:
    """``512 B``, ``48 KB``, ``1.2 MB``: a file size for people."""
    if size < 1024:
        return f"{size} B"
    if size < 1024 * 1024:
        return f"{round(size / 1024)} KB"
    return f"{size / (1024 * 1024):.1f} MB"
