"""The one place that decides which language students see.

Chinese (zh-CN) is the default everywhere; English is a second locale chosen either by the
``AICLASS_LANG`` environment variable (read once, here) or by :func:`set_language` from a
notebook.  Every visible string is written as a ``t(zh, en)`` pair next to the code that uses
it, so a label can never exist in one language only.
"""

import os

LANGUAGES = ("zh", "en")

_current = "en" if os.environ.get("AICLASS_LANG", "zh").lower().startswith("en") else "zh"


def set_language(language: str) -> None:
    """Switch the language of explainers created from now on (``"zh"`` or ``"en"``)."""
    global _current
    code = language.lower().split("-")[0].split("_")[0]
    if code not in LANGUAGES:
        raise ValueError(
            f"不支持的语言 {language!r}，可选：zh、en / unsupported language {language!r}; "
            "choose zh or en"
        )
    _current = code


def get_language() -> str:
    """Return the current language code, ``"zh"`` or ``"en"``."""
    return _current


def t(zh: str, en: str, **values: object) -> str:
    """Pick the text for the current language and fill in ``{name}`` placeholders."""
    text = zh if _current == "zh" else en
    return text.format(**values) if values else text
