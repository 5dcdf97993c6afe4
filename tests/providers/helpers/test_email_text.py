"""Reply text: the quoted thread and signatures cut from replies as real mail clients write them."""

from __future__ import annotations

import pytest

from inboxbridge.providers.helpers.email_text import format_size, html_to_text, strip_reply

GMAIL = (
    "Yes, Friday at 10 works for me.\r\n"
    "\r\n"
    "Thanks,\r\n"
    "Ana\r\n"
    "\r\n"
    "On Tue, Dec 1, 2026 at 9:12 AM Acme Salon <\r\n"
    "bookings@acme-salon.com> wrote:\r\n"
    "\r\n"
    "> Hi Ana,\r\n"
    "> Would Friday at 10 work for you?\r\n"
    ">\r\n"
    "> Acme Salon\r\n"
)

OUTLOOK = (
    "Please cancel my booking, I'm ill.\r\n"
    "\r\n"
    "Bo\r\n"
    "\r\n"
    "________________________________\r\n"
    "From: Acme Salon <bookings@acme-salon.com>\r\n"
    "Sent: Tuesday, December 1, 2026 9:12 AM\r\n"
    "To: Bo Chen <bo@example.com>\r\n"
    "Subject: Your appointment on Friday\r\n"
    "\r\n"
    "Hi Bo, see you Friday at 10.\r\n"
)

OUTLOOK_DESKTOP = (
    "Thank you, received.\n"
    "\n"
    "-----Original Message-----\n"
    "From: Acme Salon [mailto:bookings@acme-salon.com]\n"
    "Sent: Tuesday, December 1, 2026 9:12 AM\n"
    "To: Cy <cy@example.com>\n"
    "Subject: Invoice\n"
    "\n"
    "Your invoice is attached.\n"
)

APPLE_MAIL = (
    "Running 10 minutes late, sorry!\n"
    "\n"
    "Sent from my iPhone\n"
    "\n"
    "> On 1 Dec 2026, at 09:12, Acme Salon <bookings@acme-salon.com> wrote:\n"
    ">\n"
    "> See you at 10.\n"
)

APPLE_MAIL_DESKTOP = (
    "Could we move it to 11?\n"
    "\n"
    "On 1 Dec 2026, at 09:12, Acme Salon <bookings@acme-salon.com> wrote:\n"
    "\n"
    "See you at 10.\n"
)

SIGNATURE = "Two tickets please.\n\n-- \nDana Fox\nFox & Co\n+1 555 0100\n"

INLINE = (
    "Answers below.\n"
    "\n"
    "> Which day suits you?\n"
    "Saturday.\n"
    "> And what time?\n"
    "Morning, before 11.\n"
    "\n"
    "On Tue, Dec 1, 2026 at 9:12 AM Acme <hello@acme.com> wrote:\n"
    "> Which day suits you?\n"
    "> And what time?\n"
)

FRENCH = (
    "Parfait, à vendredi.\n\nLe mar. 1 déc. 2026 à 09:12, Acme Salon <bookings@acme-salon.com> a écrit :\n> Bonjour\n"
)


@pytest.mark.parametrize(
    ("body", "reply"),
    [
        (GMAIL, "Yes, Friday at 10 works for me.\n\nThanks,\nAna"),
        (OUTLOOK, "Please cancel my booking, I'm ill.\n\nBo"),
        (OUTLOOK_DESKTOP, "Thank you, received."),
        (APPLE_MAIL, "Running 10 minutes late, sorry!"),
        (APPLE_MAIL_DESKTOP, "Could we move it to 11?"),
        (SIGNATURE, "Two tickets please."),
        (FRENCH, "Parfait, à vendredi."),
    ],
    ids=["gmail", "outlook-web", "outlook-desktop", "apple-mail-iphone", "apple-mail", "signature", "french"],
)
def test_reply_keeps_only_the_new_words(body: str, reply: str) -> None:
    assert strip_reply(body) == reply


def test_inline_answers_keep_the_quotes_they_answer() -> None:
    assert strip_reply(INLINE) == (
        "Answers below.\n\n> Which day suits you?\nSaturday.\n> And what time?\nMorning, before 11."
    )


def test_text_without_a_thread_is_unchanged() -> None:
    text = "Hello,\n\nOn Friday I wrote you a letter, did it arrive?\n\nAna"
    assert strip_reply(text) == text


def test_a_mobile_sign_off_in_the_middle_is_kept() -> None:
    text = "Sent from my iPhone is what my old phone said.\nIt broke.\nNow I write from a laptop.\nBest, Ana"
    assert strip_reply(text) == text


def test_a_message_that_is_all_quote_is_kept_whole() -> None:
    text = "> Hi Ana,\n> see you Friday.\n"
    assert strip_reply(text) == text.strip()


def test_html_body_becomes_text_without_the_quoted_thread() -> None:
    html = (
        '<html><head><style>p{color:red}</style></head><body><div dir="ltr">Can I change the size to '
        "<b>M</b>?<br><br>Sam&nbsp;Lee</div>"
        '<div class="gmail_quote">On Wed, Acme wrote:<blockquote>Thanks for your order!</blockquote></div>'
        "<p>Unclosed paragraph<p>Next</body></html>"
    )
    assert html_to_text(html) == "Can I change the size to M?\n\nSam Lee\n\nUnclosed paragraph\nNext"


def test_outlook_html_reply_header_is_left_out() -> None:
    html = '<div>Sounds good.</div><div id="divRplyFwdMsg"><b>From:</b> Acme<br><b>Sent:</b> Tuesday</div>'
    assert html_to_text(html) == "Sounds good."


@pytest.mark.parametrize(("size", "shown"), [(0, "0 B"), (1023, "1023 B"), (45_000, "44 KB"), (1_300_000, "1.2 MB")])
def test_sizes_for_people(size: int, shown: str) -> None:
    assert format_size(size) == shown
