"""Issue 16, item 9: the API matches its own OpenAPI. schemathesis generates requests for every operation of
/api/openapi.json (valid and invalid ones), sends them in-process (WSGI) as a signed-in supervisor whose tablet
also holds a bearer token, and asserts no 5xx and no response that differs from what is documented (status
code, content type, body schema). Examples per operation are limited to keep the run near a minute."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
import schemathesis
from flask import Flask
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.errors import Unsatisfiable
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.core.failures import Failure, FailureGroup
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from tests.conftest import login

EXAMPLES_PER_OPERATION = 20
CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance]


def _credentials(app: Flask, username: str) -> dict[str, str]:
    """A fresh session (cookie and CSRF token) and a registered tablet's bearer token for ``username``."""
    client = app.test_client()
    csrf = login(client, username)
    cookie = client.get_cookie("session")
    assert cookie is not None
    reply = client.post("/api/devices", json={"device_id": str(uuid.uuid4())}, headers={"X-CSRF-Token": csrf})
    token = reply.get_json()["token"]
    return {"Cookie": f"session={cookie.value}", "X-CSRF-Token": csrf, "Authorization": f"Bearer {token}"}


def _fuzz(operation: Any, headers: dict[str, str], failures: list[str], mode: GenerationMode) -> None:
    """Send generated requests (valid or invalid ones) to one operation; note each response that breaks a check."""

    @given(data=st.data())
    @settings(max_examples=EXAMPLES_PER_OPERATION, deadline=None, database=None,
              suppress_health_check=list(HealthCheck))  # fmt: skip
    def run(data: Any) -> None:
        case = data.draw(operation.as_strategy(generation_mode=mode))
        # Uncompressed: the in-process transport does not inflate gzip (compression has its own tests).
        sent = {**headers, **(case.headers or {}), "Accept-Encoding": "identity"}
        try:
            response = case.call(headers=sent)
        except Exception as error:  # the test app propagates what would be a 500
            failures.append(f"{operation.label} raised {error!r:.300} for {case.as_curl_command()}")
            return
        try:
            case.validate_response(response, checks=CHECKS, headers=sent)
        except (Failure, FailureGroup) as error:  # every operation's failures, not only the first
            found = error.exceptions if isinstance(error, FailureGroup) else (error,)
            for failure in found:
                failures.append(
                    f"{operation.label} -> {response.status_code}: {failure.title}: {failure.message[:300]}"
                )

    try:
        run()
    except Unsatisfiable:
        assert mode is GenerationMode.NEGATIVE  # an operation with no input has no invalid request to make


def test_every_operation_conforms_to_the_documented_schema(app: Flask) -> None:
    # The fuzzer is one address sending many wrong passwords to /api/auth/login: throttling it would only
    # hide the other operations' answers behind 429s (throttling has its own tests).
    app.config["LOGIN_FAILURES_PER_ADDRESS"] = app.config["LOGIN_FAILURES_PER_ACCOUNT"] = 10**9
    schema = schemathesis.openapi.from_wsgi("/api/openapi.json", app)
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) >= 25
    failures: list[str] = []
    for operation in operations:
        # Fresh credentials per operation: a fuzzed logout or sign-out ends only its own session.
        for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):
            _fuzz(operation, _credentials(app, "xx_sup"), failures, mode)
    assert not failures, "\n".join(failures[:60])


@pytest.mark.parametrize("path", ["/api/openapi.json"])
def test_error_codes_are_documented_as_strings(app: Flask, path: str) -> None:
    spec = app.test_client().get(path).get_json()
    problem = spec["components"]["schemas"]["Problem"]
    assert problem["properties"]["code"]["type"] == "string"


def test_cross_field_rules_are_in_the_spec(app: Flask) -> None:
    """Returning an inspection needs a comment, listing a hazard needs the supervising level: the spec says so."""
    schemas = app.test_client().get("/api/openapi.json").get_json()["components"]["schemas"]
    review = schemas["Review"]["allOf"][0]
    assert review["if"]["properties"]["outcome"]["const"] == "return" and review["then"]["required"] == [
        "comment"
    ]
    actions = {rule["if"]["properties"]["action"]["const"]: rule["then"]["required"]
               for rule in schemas["HazardAction"]["allOf"]}  # fmt: skip
    assert actions == {
        "list": ["supervision_level"],
        "extend": ["comment", "deadline"],
        "reject": ["comment"],
    }
    assert schemas["Hazard"]["properties"]["funds_yuan"]["type"] == ["string", "null"]
    assert "pattern" in schemas["Hazard"]["properties"]["funds_yuan"]
