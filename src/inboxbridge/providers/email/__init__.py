"""Email providers (SendGrid Inbound Parse, Mailgun routes, Postmark inbound) and the email reading they share."""

from inboxbridge.providers.email.mail import EmailSettings, Mail, MailAddress, MailAttachment, mail_event
from inboxbridge.providers.email.mailgun import (
    MailgunSource,
    MailgunSourceConfig,
    read_mailgun,
    verify_mailgun_signature,
)
from inboxbridge.providers.email.postmark import PostmarkSource, PostmarkSourceConfig, read_postmark
from inboxbridge.providers.email.sendgrid import SendGridSource, SendGridSourceConfig, read_sendgrid

__all__ = [
    "EmailSettings",
    "Mail",
    "MailAddress",
    "MailAttachment",
    "MailgunSource",
    "MailgunSourceConfig",
    "PostmarkSource",
    "PostmarkSourceConfig",
    "SendGridSource",
    "SendGridSourceConfig",
    "mail_event",
    "read_mailgun",
    "read_postmark",
    "read_sendgrid",
    "verify_mailgun_signature",
]
