"""Check responses of the classroom service against its OpenAPI document."""

from __future__ import annotations

from pathlib import Path

import yaml
from jsonschema import Draft202012Validator

import hub.service

SPEC = yaml.safe_load((Path(hub.service.__file__).parent / "openapi.yaml").read_text(
    encoding="utf-8"))


def response_schema(template: str, method: str, status: int) -> dict:
    """The JSON schema the document gives for one response."""
    response = SPEC["paths"][template][method.lower()]["responses"][str(status)]
    if "$ref" in response:
        response = SPEC["components"]["responses"][response["$ref"].rsplit("/", 1)[1]]
    return response["content"]["application/json"]["schema"]


def check_response(template: str, method: str, status: int, body: object) -> None:
    """Raise unless ``body`` is what the document promises for this response."""
    schema = {**response_schema(template, method, status), "components": SPEC["components"]}
    Draft202012Validator(schema).validate(body)
