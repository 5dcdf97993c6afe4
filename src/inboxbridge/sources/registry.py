"""Every kind of source inboxbridge knows, and how a configuration becomes a source.

Adding a provider is one module (its config model, with ``type: Literal["<name>"]`` and a ``build``
method) and one line: its config class in the ``SourceConfig`` union below.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Annotated, Any

from pydantic import ConfigDict, Field, RootModel

from inboxbridge.sources.base import Source
from inboxbridge.sources.generic import Clock, GenericSourceConfig

__all__ = ["SourceConfig", "build_source", "parse_source_config"]

SourceConfig = Annotated[GenericSourceConfig, Field(discriminator="type")]
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
