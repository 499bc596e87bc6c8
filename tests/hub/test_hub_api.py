"""The hub REST client's one reading of a user's model."""

from __future__ import annotations

import pytest

from hub.hub_api import server_state


@pytest.mark.parametrize(("model", "state"), [
    ({"servers": {"": {"ready": True}}, "pending": None}, "ready"),
    ({"servers": {"": {"ready": False}}, "pending": "spawn"}, "pending"),
    ({"servers": {"": {"ready": False}}, "pending": "stop"}, "pending"),
    ({"servers": {}, "pending": None}, "stopped"),
    ({"servers": None}, "stopped"),
    ({"status": 403, "message": "forbidden"}, "stopped"),
])
def test_server_state_from_the_user_model(model: dict, state: str) -> None:
    """Is a server ready only when the hub says so, and pending while it starts or stops?"""
    assert server_state(model) == state


def test_a_named_server_is_read_by_its_name() -> None:
    """Does a ready named server leave the default server stopped?"""
    model = {"servers": {"gpu": {"ready": True}}, "pending": None}
    assert server_state(model, "gpu") == "ready"
    assert server_state(model) == "stopped"
