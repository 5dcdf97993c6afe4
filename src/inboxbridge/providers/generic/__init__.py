"""The generic provider: any JSON webhook, verified by a configured scheme and mapped by JMESPath expressions."""

from inboxbridge.providers.generic.expressions import FieldExpression
from inboxbridge.providers.generic.source import (
    GenericMapping,
    GenericSource,
    GenericSourceConfig,
    KindChoice,
    Verification,
)

__all__ = ["FieldExpression", "GenericMapping", "GenericSource", "GenericSourceConfig", "KindChoice", "Verification"]
