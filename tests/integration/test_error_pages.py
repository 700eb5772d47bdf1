"""Error pages as a browser meets them: one language at a time (the reader's), a way back; JSON for programs."""

from __future__ import annotations

import re

import pytest
from flask import Flask, abort
from flask.testing import FlaskClient

from tests.conftest import login

BROWSER = "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"
#: What each page must say, in Chinese and in English.
EXPECTED = {
    404: ("找不到请求的资源", "The requested resource was not found."),
    403: ("无权执行此操作", "You are not allowed to do this."),
    405: ("不支持此请求方法", "This method is not allowed here."),
    500: ("服务器内部错误", "Internal server error; please retry later."),
}


@pytest.fixture
def browser_app(app: Flask) -> Flask:
    """The app with a page that is forbidden and one that fails, as a real deployment answers (no propagation)."""
    app.config["PROPAGATE_EXCEPTIONS"] = False

    def forbidden() -> str:
        abort(403)

    def broken() -> str:
        raise RuntimeError("a bug")

    app.add_url_rule("/test-forbidden", "test_forbidden", forbidden)
    app.add_url_rule("/test-broken", "test_broken", broken)
    app.add_url_rule("/api/test-broken", "api_test_broken", broken)
    return app


def _request(client: FlaskClient, status: int, lang: str) -> tuple[int, str, str]:
    headers = {"Accept": BROWSER, "Accept-Language": "en-GB,en;q=0.9" if lang == "en" else "zh-CN,zh;q=0.9"}
    if status == 404:
        reply = client.get("/no-such-page", headers=headers)
    elif status == 403:
        reply = client.get("/test-forbidden", headers=headers)
    elif status == 405:
        reply = client.get("/logout", headers=headers)  # sign-out is a POST only
    else:
        reply = client.get("/test-broken", headers=headers)
    return reply.status_code, reply.content_type, reply.get_data(as_text=True)


@pytest.mark.parametrize("lang", ["zh", "en"])
@pytest.mark.parametrize("status", [404, 403, 405, 500])
def test_an_error_page_speaks_the_readers_language_and_offers_a_way_back(
    browser_app: Flask, status: int, lang: str
) -> None:
    code, content_type, html = _request(browser_app.test_client(), status, lang)
    assert code == status and content_type.startswith("text/html")
    zh, en = EXPECTED[status]
    shown, hidden = (en, zh) if lang == "en" else (zh, en)
    assert shown in html and hidden not in html
    assert 'href="/"' in html and 'href="/login"' in html  # home, and sign in (nobody is signed in)
    assert "Not Found" not in html or lang == "en"  # never werkzeug's bare page
    assert "<header" in html  # the site's layout, not a bare page


def test_the_way_back_is_the_previous_page_of_this_site_only(browser_app: Flask) -> None:
    client = browser_app.test_client()
    inside = client.get("/no-such-page", headers={"Accept": BROWSER, "Referer": "http://localhost/dashboard"})
    assert 'href="http://localhost/dashboard"' in inside.get_data(as_text=True)
    outside = client.get("/no-such-page", headers={"Accept": BROWSER, "Referer": "https://evil.example/x"})
    assert "evil.example" not in outside.get_data(as_text=True)


@pytest.mark.parametrize(("lang", "expected"), [("zh", "CSRF 校验失败"), ("en", "CSRF check failed")])
def test_a_form_refused_by_the_csrf_check_is_a_page_with_a_way_back(
    app: Flask, lang: str, expected: str
) -> None:
    client = app.test_client()
    login(client, "xx_sup")
    headers = {"Accept": BROWSER, "Referer": "http://localhost/sampling"}
    if lang == "en":
        headers["Accept-Language"] = "en"
    reply = client.post("/logout", data={"csrf_token": "stale"}, headers=headers)
    html = reply.get_data(as_text=True)
    assert reply.status_code == 403 and reply.content_type.startswith("text/html")
    assert expected in html and not html.lstrip().startswith("{")
    assert ("页面已过期" in html) == (lang == "zh")
    assert 'href="http://localhost/sampling"' in html and 'href="/"' in html


def test_programs_keep_getting_the_catalogue_json(browser_app: Flask) -> None:
    client = browser_app.test_client()
    missing = client.get("/api/no-such-thing", headers={"Accept": BROWSER, "Accept-Language": "en"})
    assert missing.status_code == 404 and missing.get_json()["code"] == "404.1"
    assert missing.get_json()["message"] == "The requested resource was not found."
    assert missing.get_json()["messages"]["zh-CN"] == "找不到请求的资源。"
    wrong = client.put("/api/auth/me")
    assert wrong.status_code == 405 and wrong.get_json()["code"] == "405.1"
    broken = client.get("/api/test-broken")
    assert broken.status_code == 500 and broken.get_json()["code"] == "500.1"
    asked = client.get("/no-such-page", headers={"Accept": "application/json"})
    assert asked.status_code == 404 and asked.get_json()["code"] == "404.1"
    assert re.search(r"[\u4e00-\u9fff]", asked.get_json()["message"])  # Chinese unless English is asked for
