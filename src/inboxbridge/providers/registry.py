"""Every kind of source inboxbridge knows, and how a configuration becomes a source.

Adding a provider is one module or package under ``providers/`` (its config model, with
``type: Literal["<name>"]`` and a ``build`` method) and one line: its config class in the ``SourceConfig`` union
below.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Annotated, Any

from pydantic import ConfigDict, Field, RootModel

from inboxbridge.providers.base import Source
from inboxbridge.providers.calendly import CalendlySourceConfig
from inboxbridge.providers.crisp import CrispSourceConfig
from inboxbridge.providers.email import MailgunSourceConfig, PostmarkSourceConfig, SendGridSourceConfig
from inboxbridge.providers.generic import GenericSourceConfig
from inboxbridge.providers.helpers.clock import Clock
from inboxbridge.providers.intercom import IntercomSourceConfig
from inboxbridge.providers.shopify import ShopifySourceConfig
from inboxbridge.providers.stripe import StripeSourceConfig
from inboxbridge.providers.twilio import TwilioSmsSourceConfig, TwilioVoiceSourceConfig

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
