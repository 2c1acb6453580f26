"""The what-if inputs' refusal: one line naming the field (or file) at fault, for pages and the CLI to show."""

from __future__ import annotations


class FieldError(ValueError):
    """An input that cannot be used; `field` names it and `message` says why."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field
        self.message = message
