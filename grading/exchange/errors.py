"""Why the exchange refused a request, in Chinese first and English second.

Each refusal has a stable ``code`` (the service maps it to an HTTP status and the
nbgrader client shows the message to the student), and names the offending file
or field so that a student knows what to fix.
"""

from __future__ import annotations


class ExchangeRefused(Exception):
    """A request the exchange will not carry out; nothing was stored."""

    def __init__(self, code: str, zh: str, en: str) -> None:
        super().__init__(f"{zh} / {en}")
        self.code = code
        self.zh = zh
        self.en = en

    def as_dict(self) -> dict[str, str]:
        """The JSON body of an error response."""
        return {"error": self.code, "message": self.zh, "message_en": self.en}
