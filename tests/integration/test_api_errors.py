"""Every JSON error has the catalogue's shape; pages carry a strict Content-Security-Policy."""

from __future__ import annotations

from flask.testing import FlaskClient


def test_unknown_api_path_and_wrong_method_answer_with_catalogue_json(client: FlaskClient) -> None:
    missing = client.get("/api/no-such-thing")
    assert missing.status_code == 404
    assert missing.get_json()["code"] == "404.1"
    wrong = client.delete("/api/auth/me")
    assert wrong.status_code == 405
    assert wrong.get_json()["code"] == "405.1"
    english = client.get("/api/no-such-thing?lang=en")
    assert english.get_json()["message"] == "The requested resource was not found."


def test_openapi_documents_the_api(client: FlaskClient) -> None:
    spec = client.get("/api/openapi.json").get_json()
    assert spec["openapi"].startswith("3.")
    for path in ("/api/auth/login", "/api/devices", "/api/enterprises", "/api/catalogues", "/api/qr/resolve"):
        assert path in spec["paths"]


def test_pages_forbid_inline_script(client: FlaskClient) -> None:
    policy = client.get("/login").headers["Content-Security-Policy"]
    assert "script-src 'self'" in policy and "unsafe-inline" not in policy
