"""Twilio: Messaging webhooks (SMS, MMS, WhatsApp) and Voice status callbacks, both signed by the account."""

from inboxbridge.providers.twilio.signature import twilio_signature, verify_twilio_signature
from inboxbridge.providers.twilio.sms import TwilioSmsSource, TwilioSmsSourceConfig
from inboxbridge.providers.twilio.voice import TwilioVoiceSource, TwilioVoiceSourceConfig, call_line, duration_text

__all__ = [
    "TwilioSmsSource",
    "TwilioSmsSourceConfig",
    "TwilioVoiceSource",
    "TwilioVoiceSourceConfig",
    "call_line",
    "duration_text",
    "twilio_signature",
    "verify_twilio_signature",
]
