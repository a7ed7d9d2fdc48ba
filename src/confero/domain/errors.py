"""Domain errors carry a stable ``code`` that every channel turns into its own form.

HTTP maps the code to a problem+json response, the phone maps it to a spoken prompt;
the code itself never changes once published, so clients may branch on it.
"""

from __future__ import annotations


class DomainError(Exception):
    """A rule was broken; nothing was changed."""

    def __init__(self, code: str, detail: str, **context: object) -> None:
        super().__init__(detail)
        self.code = code
        self.detail = detail
        self.context = context

    def __repr__(self) -> str:
        return f"DomainError({self.code!r}, {self.detail!r})"
