"""JMESPath expressions named after the mapping field they fill, so every message says which one failed."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any

import jmespath
import jmespath.exceptions
import jmespath.visitor

from inboxbridge.providers.base import PayloadError

__all__ = ["FieldExpression"]

# ``ParsedResult.search`` builds a new interpreter (and its function table) on every call; the interpreter keeps no
# state between visits, so one serves every expression.
_INTERPRETER = jmespath.visitor.TreeInterpreter()


def _compile_reason(error: jmespath.exceptions.JMESPathError) -> str:
    # jmespath appends the expression and a caret on further lines; the field message already quotes it.
    first_line = str(error).splitlines()[0] if str(error) else type(error).__name__
    return first_line.removesuffix(", for expression:").rstrip(":")


@dataclass(frozen=True)
class FieldExpression:
    """A compiled expression for one mapping field."""

    field: str
    source: str
    _parsed: Any = dataclasses.field(repr=False, compare=False)

    @classmethod
    def compile(cls, field_name: str, source: str) -> FieldExpression:
        """Compile ``source``; an invalid expression raises ``ValueError`` naming the field."""
        if not source.strip():
            raise ValueError(f'mapping "{field_name}": the expression is empty')
        try:
            parsed = jmespath.compile(source)
        except jmespath.exceptions.JMESPathError as error:
            reason = _compile_reason(error)
            raise ValueError(
                f'mapping "{field_name}": {source!r} is not a valid JMESPath expression ({reason})'
            ) from None
        return cls(field_name, source, parsed)

    @property
    def label(self) -> str:
        """How messages name this field: ``mapping "email" (customer.email)``."""
        return f'mapping "{self.field}" ({self.source})'

    def search(self, data: Any) -> Any:
        """The expression's value on ``data``; ``None`` when it selects nothing."""
        try:
            return _INTERPRETER.visit(self._parsed.parsed, data)
        # The payload is untrusted and JMESPath functions raise assorted errors on values of the wrong type
        # (or on absurdly deep data); each one means this field cannot be read from this payload.
        except Exception as error:
            detail = str(error).splitlines()[0] if str(error) else type(error).__name__
            raise PayloadError(f"{self.label} could not be evaluated: {detail}") from None
