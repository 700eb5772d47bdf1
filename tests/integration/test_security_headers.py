"""Issue 16, item 11, over HTTP: a refused CSRF on a web form is a page, signed-in pages and JSON are never
cached, no path traversal in the static routes, the deployment sends HSTS and names no server software."""

from __future__ import annotations

import urllib.request
from pathlib import Path

import pytest
from flask import Flask

from tests.conftest import login
from tests.integration.test_sync_server_killed import ROOT, Server

ROOT_DIR = Path(__file__).resolve().parents[2]


def test_a_refused_csrf_on_a_web_form_is_a_page_with_a_way_back(app: Flask) -> None:
    client = app.test_client()
    login(client, "xx_sup")
    reply = client.post(
        "/logout", data={"csrf_token": "forged"}, headers={"Referer": "http://localhost/dashboard"}
    )
    assert reply.status_code == 403
    assert reply.mimetype == "text/html"
    page = reply.get_data(as_text=True)
    assert "CSRF" in page and "页面已过期" in page and 'href="/' in page
    # The API keeps answering JSON.
    api = client.post("/api/devices", json={})
    assert api.status_code == 403 and api.get_json()["code"] == "403.2"


def test_signed_in_pages_and_json_are_not_stored(app: Flask) -> None:
    client = app.test_client()
    login(client, "xx_sup")
    for url in ("/dashboard", "/hazards", "/api/auth/me", "/api/enterprises"):
        reply = client.get(url)
        assert reply.status_code == 200, url
        assert "no-store" in reply.headers.get("Cache-Control", ""), url
    assert "no-store" in app.test_client().get("/api/auth/me").headers.get("Cache-Control", "")


@pytest.mark.parametrize("url", [
    "/web-assets/assets/%2e%2e/.vite/manifest.json",
    "/web-assets/assets/../.vite/manifest.json",
    "/web-assets/.vite/manifest.json",
    "/web-assets/assets/%2e%2e/%2e%2e/%2e%2e/server/config.py",
    "/app/assets/%2e%2e/.vite/manifest.json",
    "/app/%2e%2e/%2e%2e/server/config.py",
])  # fmt: skip
def test_no_path_traversal_in_the_static_routes(app: Flask, url: str, tmp_path: Path) -> None:
    for name in ("WEB_ASSETS_DIST", "PWA_DIST"):  # bundles as a build leaves them
        dist = tmp_path / name
        (dist / "assets").mkdir(parents=True)
        (dist / ".vite").mkdir()
        (dist / "index.html").write_text("<!doctype html><title>app</title>")
        (dist / "assets" / "main.js").write_text("console.log(1)")
        (dist / ".vite" / "manifest.json").write_text('{"main.js": {"file": "assets/main.js"}}')
        app.config[name] = str(dist)
    reply = app.test_client().get(url)
    body = reply.get_data(as_text=True)
    assert reply.status_code == 404 or ('"file"' not in body and "load_config" not in body), (
        url,
        reply.status_code,
    )


def test_nginx_sends_hsts_and_hides_its_version() -> None:
    conf = (ROOT_DIR / "deploy" / "nginx-site.conf").read_text()
    assert "server_tokens off;" in conf
    assert "Strict-Transport-Security" in conf and "max-age=" in conf and "always" in conf


def test_gunicorn_names_no_server_software(database_url: str, tmp_path: Path, qr_key_file: str) -> None:
    import os
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    env = {**os.environ, "DATABASE_URL": database_url, "INSTANCE_PATH": str(tmp_path / "instance"),
           "QR_SIGNING_KEY_FILE": qr_key_file, "SECRET_KEY": "hdr-test", "HOST": "127.0.0.1", "PORT": str(port),
           "WEB_CONCURRENCY": "1", "PYTHONPATH": str(ROOT)}  # fmt: skip
    server = Server(env, tmp_path / "server.log")
    server.start()
    try:
        with urllib.request.urlopen(f"{server.url}/login", timeout=10) as response:
            assert response.headers.get("Server") is None, response.headers.get("Server")
    finally:
        server.kill()
