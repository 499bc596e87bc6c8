"""The OpenAPI document is valid and describes exactly the routes the service serves."""

from __future__ import annotations

import re

import pytest
from openapi_spec_validator import validate

from hub.service.competition_api import competition_routes
from hub.service.exchange_api import exchange_routes
from hub.service.grading_api import grading_routes
from tests.exchange.openapi_check import SPEC, check_response

PREFIX = "/services/classroom/"
SAMPLES = {"class_id": "demo-s1-g10c1", "assignment_id": "ps1", "student": "stu-abcde",
           "submission_id": "0123456789abcdef0123456789abcdef", "notebook": "problem1",
           "grade_id": "q1", "competition_id": "digits-2026", "name": "test.csv"}
METHODS = ("get", "post", "put", "delete", "patch")
ROUTES = exchange_routes(PREFIX) + grading_routes(PREFIX) + competition_routes(PREFIX)


def concrete(template: str) -> str:
    return PREFIX + "api/v1" + re.sub(r"\{(\w+)\}", lambda m: SAMPLES[m.group(1)],
                                      template).rstrip("/")


def handler_for(path: str) -> type:
    matches = [handler for pattern, handler in ROUTES if re.fullmatch(pattern, path)]
    assert len(matches) == 1, f"{path} matches {matches}"
    return matches[0]


def test_document_is_valid_openapi() -> None:
    validate(SPEC)
    assert SPEC["servers"][0]["url"] == PREFIX + "api/v1"


@pytest.mark.parametrize("template", sorted(SPEC["paths"]))
def test_every_documented_operation_is_served(template: str) -> None:
    handler = handler_for(concrete(template))
    documented = {m for m in SPEC["paths"][template] if m in METHODS}
    served = {m for m in METHODS
              if any(m in cls.__dict__ for cls in handler.__mro__
                     if cls.__module__.startswith("hub.service"))}
    assert documented == served, f"{template}: documented {documented}, served {served}"


def test_every_route_is_documented() -> None:
    documented = [concrete(t) for t in SPEC["paths"]]
    for pattern, _handler in ROUTES:
        assert any(re.fullmatch(pattern, path) for path in documented), pattern


def test_error_schema_rejects_a_body_without_a_chinese_message() -> None:
    check_response("/", "get", 401, {"error": "unauthenticated", "message": "需要令牌",
                                      "message_en": "token required"})
    with pytest.raises(Exception, match="message"):
        check_response("/", "get", 401, {"error": "unauthenticated", "message_en": "x"})
