"""Wix's error answers: application errors, validation errors and empty-bodied server errors."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

__all__ = ["FieldViolation", "WixHTTPError", "app_error", "validation_error"]


@dataclass(frozen=True)
class FieldViolation:
    """One rule a request field broke, as Wix reports it in ``validationError.fieldViolations``."""

    field: str
    description: str
    violated_rule: str = "OTHER"

    def to_wire(self) -> dict[str, str]:
        """The violation in Wix's JSON shape."""
        return {"field": self.field, "description": self.description, "violatedRule": self.violated_rule}


@dataclass
class WixHTTPError(Exception):
    """An error answer, raised anywhere inside a Wix route and turned into the response by its wrapper."""

    status: int
    body: dict[str, Any] | None = None
    headers: dict[str, str] = field(default_factory=dict)


def app_error(status: int, code: str, message: str, data: dict[str, Any] | None = None) -> WixHTTPError:
    """An ``applicationError`` answer, e.g. 409 ``DUPLICATE_CONTACT_EXISTS``."""
    return WixHTTPError(
        status,
        {
            "message": message,
            "details": {"applicationError": {"code": code, "description": message, "data": data or {}}},
        },
    )


def validation_error(violations: list[FieldViolation], message: str | None = None) -> WixHTTPError:
    """A 400 ``validationError`` answer listing every broken field rule."""
    text = message or "; ".join(f"{v.field}: {v.description}" for v in violations)
    return WixHTTPError(
        400,
        {
            "message": text,
            "details": {"validationError": {"fieldViolations": [v.to_wire() for v in violations]}},
        },
    )
