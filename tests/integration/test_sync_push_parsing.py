"""A push's body is decoded once, and the NUL check still refuses every NUL character (a quick scan of the raw
body only lets through bodies that cannot hold one)."""

from __future__ import annotations

import json
from typing import Any

import pytest
from flask import Flask

from tests.integration.sync_helpers import Device, enterprise_and_catalogue, inspection_batch


def _count_decodes(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    decoded: list[int] = []
    original = json.JSONDecoder.decode

    def counting(self: json.JSONDecoder, text: str, *args: Any, **kwargs: Any) -> Any:
        if len(text) > 1000:  # the push body; small JSON values (a column) are not what is counted
            decoded.append(len(text))
        return original(self, text, *args, **kwargs)

    monkeypatch.setattr(json.JSONDecoder, "decode", counting)
    return decoded


def test_a_push_body_is_decoded_once(app: Flask, monkeypatch: pytest.MonkeyPatch) -> None:
    device = Device(app, "xx_insp1")
    enterprise_id, catalogue_id, codes = enterprise_and_catalogue(app)
    batch = inspection_batch(device, enterprise_id, catalogue_id, codes)[1]
    decoded = _count_decodes(monkeypatch)
    reply = device.push(batch)
    assert reply.status_code == 200, reply.get_json()
    assert {r["status"] for r in reply.get_json()["results"]} == {"applied"}
    assert len(decoded) == 2  # the request body once, and the reply (read by this test) once


def test_a_nul_character_in_a_pushed_mutation_is_refused(app: Flask) -> None:
    device = Device(app, "xx_insp1")
    enterprise_id, catalogue_id, codes = enterprise_and_catalogue(app)
    batch = inspection_batch(device, enterprise_id, catalogue_id, codes)[1]
    batch[-1]["data"] = {**batch[-1]["data"], "note": "坏\u0000"}
    reply = device.push(batch)
    assert reply.status_code == 400 and reply.get_json()["code"] == "400.2"


@pytest.mark.parametrize("key_or_value", ["key", "value"])
def test_a_nul_character_in_a_key_or_deep_in_a_list_is_refused(app: Flask, key_or_value: str) -> None:
    client = app.test_client()
    nested = {"a\u0000": 1} if key_or_value == "key" else {"a": [[{"b": ["x", "y\u0000z"]}]]}
    reply = client.post("/api/auth/login", json={"username": "xx_sup", "password": "x", "extra": nested})
    assert reply.status_code == 400 and reply.get_json()["code"] == "400.2"


def test_a_body_in_utf16_holding_a_nul_is_still_refused(app: Flask) -> None:
    client = app.test_client()
    body = json.dumps({"username": "xx_sup\u0000", "password": "x"}).encode("utf-16")
    reply = client.post("/api/auth/login", data=body, content_type="application/json")
    assert reply.status_code == 400 and reply.get_json()["code"] == "400.2"


def test_an_escaped_backslash_before_u0000_is_text_not_a_nul(app: Flask) -> None:
    """A literal backslash followed by "u0000" is six ordinary characters: only a real NUL is refused."""
    client = app.test_client()
    reply = client.post("/api/auth/login", json={"username": "xx_sup\\u0000", "password": "x"})
    assert reply.status_code != 400 or reply.get_json()["code"] != "400.2"
