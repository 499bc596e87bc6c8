"""Every message exists in both locales, with the same placeholders."""

from __future__ import annotations

import string

from hub.messages import TEXT, text


def _placeholders(template: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(template) if name}


def test_locales_have_the_same_messages_and_placeholders() -> None:
    assert set(TEXT["zh_CN"]) == set(TEXT["en"])
    for key, chinese in TEXT["zh_CN"].items():
        assert _placeholders(chinese) == _placeholders(TEXT["en"][key]), key
        assert any("\u4e00" <= ch <= "\u9fff" for ch in chinese), f"{key} is not Chinese"


def test_text_fills_values() -> None:
    assert "15" in text("zh_CN", "retry_later", seconds=15)
    assert "15" in text("en", "retry_later", seconds=15)
