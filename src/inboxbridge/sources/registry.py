"""Every kind of source inboxbridge knows, and how a configuration becomes a source.

Adding a provider is one module (its config model, with ``type: Literal["<name>"]`` and a ``build``
method) and one line: its config class in the ``SourceConfig`` union below.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Annotated, Any

from pydantic import ConfigDict, Field, RootModel

from inboxbridge.sources.base import Source
from inboxbridge.sources.calendly import CalendlySourceConfig
from inboxbridge.sources.crisp import CrispSourceConfig
from inboxbridge.sources.generic import Clock, GenericSourceConfig
from inboxbridge.sources.intercom import IntercomSourceConfig
from inboxbridge.sources.mailgun import MailgunSourceConfig
from inboxbridge.sources.postmark import PostmarkSourceConfig
from inboxbridge.sources.sendgrid import SendGridSourceConfig
from inboxbridge.sources.shopify import ShopifySourceConfig
from inboxbridge.sources.stripe import StripeSourceConfig
from inboxbridge.sources.twilio_sms import TwilioSmsSourceConfig
from inboxbridge.sources.twilio_voice import TwilioVoiceSourceConfig

__all__ = ["SourceConfig", "build_source", "parse_source_config"]

SourceConfig = Annotated[
    GenericSourceConfig
    | SendGridSourceConfig
    | MailgunSourceConfig
    | PostmarkSourceConfig
    | IntercomSourceConfig
    | CrispSourceConfig
    | TwilioSmsSourceConfig
    | TwilioVoiceSourceConfig
    | CalendlySourceConfig
    | StripeSourceConfig
    | ShopifySourceConfig,
    Field(discriminator="type"),
]
"""The configuration of one source, told apart by its ``type`` field (a union as providers are added)."""


class _SourceConfigDocument(RootModel[SourceConfig]):
    # Validation errors would otherwise repeat the input, secret included.
    model_config = ConfigDict(hide_input_in_errors=True)


def parse_source_config(data: Mapping[str, Any]) -> SourceConfig:
    """Validate one source's table from a config file; errors never repeat the input (it holds the secret)."""
    return _SourceConfigDocument.model_validate(dict(data)).root


def build_source(name: str, config: SourceConfig, *, clock: Clock | None = None) -> Source:
    """The source named ``name`` that ``config`` describes. ``clock`` replaces the wall clock (for tests)."""
    return config.build(name, clock=clock)
