"""One language at a time on the supervisors' and enterprises' web: every page a supervisor, the city, the
administrator, an enterprise and a visitor can reach is rendered in Chinese and in English; none shows a label
written twice ("退出 / Sign out", or "检查覆盖" with "Coverage by phase" under it), each shows its labels in the
reader's language, and the switch in the header is remembered per user (and per browser when signed out)."""

from __future__ import annotations

import re
import uuid
from collections.abc import Collection
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import parse_qsl, urlsplit

import pytest
import sqlalchemy as sa
from flask import Flask
from flask.testing import FlaskClient

from server.extensions import db
from server.models import User
from tests.conftest import login

CJK = r"[\u3400-\u9fff\uff08-\uff1f\u3001-\u3011]"
#: A Chinese text and an English word (or the other way round) either side of a slash: a label written twice.
DOUBLED = re.compile(rf"{CJK}[^/<>]*\s/\s*[A-Za-z]{{2,}}|[A-Za-z]{{2,}}[^/<>]*\s/\s*{CJK}")
#: Latin words a Chinese page may show: names of formats and things that have no Chinese name.
LATIN_NAMES = {
    "PDF",
    "EXIF",
    "Dice",
    "WEBP",
    "JPEG",
    "PNG",
    "Word",
    "XLSX",
    "JSON",
    "CSV",
    "QR",
    "ID",
    "GPS",
    "Excel",
    "English",
    "SHA",
    "URL",
    "OpenStreetMap",
}
#: Where a page puts its labels (data such as enterprise names sits elsewhere, or is Chinese in the demo).
LABEL_TAGS = {"h1", "h2", "h3", "th", "button", "label", "legend", "caption", "nav", "dt", "summary"}
MAX_PAGES_PER_USER = 90

SUPERVISOR_SAMPLES = {"zh": ["总览", "隐患台账", "退出"], "en": ["Dashboard", "Hazards", "Sign out"]}
PORTAL_SAMPLES = {
    "zh": ["自查台账", "整改", "退出"],
    "en": ["Self-inspection ledger", "Rectification", "Sign out"],
}
DASHBOARD_SAMPLES = {"zh": ["检查覆盖", "重点事项清零"], "en": ["Coverage by phase", "Key items cleared"]}


class _Page(HTMLParser):
    """The text of a page by the tag it sits in, its links and its ``<html lang>``."""

    def __init__(self) -> None:
        super().__init__()
        self.stack: list[str] = []
        self.texts: list[tuple[tuple[str, ...], str]] = []
        self.links: list[str] = []
        self.html_lang: str | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = dict(attrs)
        if tag == "html":
            self.html_lang = values.get("lang")
        if tag == "a" and values.get("href"):
            self.links.append(str(values["href"]))
        for name in ("title", "alt", "placeholder", "aria-label"):
            if values.get(name):
                self.texts.append(((*self.stack, tag, "@" + name), str(values[name])))
        if tag not in {"br", "img", "input", "meta", "link", "hr", "col", "source", "wbr"}:
            self.stack.append(tag)

    def handle_endtag(self, tag: str) -> None:
        if tag in self.stack:
            while self.stack and self.stack.pop() != tag:
                pass

    def handle_data(self, data: str) -> None:
        # A text area holds what was typed (data), not a label.
        if data.strip() and not {"script", "style", "textarea"} & set(self.stack):
            self.texts.append((tuple(self.stack), data.strip()))

    def label_text(self) -> dict[str, str]:
        """The text of each label element (its own text and its children's), keyed by position."""
        out: dict[str, str] = {}
        for position, (stack, text) in enumerate(self.texts):
            if set(stack) & LABEL_TAGS and not any(s.startswith("@") for s in stack):
                out[f"{position}:{'/'.join(stack)}"] = text
        return out


def parse(html: str) -> _Page:
    page = _Page()
    page.feed(html)
    return page


def _pattern(path: str) -> str:
    """One page per route and set of filters: ids and values do not make another page."""
    parts = urlsplit(path)
    route = re.sub(r"/[0-9a-f]{8}-[0-9a-f-]{27}", "/<id>", parts.path)
    route = re.sub(r"/\d+(?=/|$)", "/<n>", route)
    route = re.sub(r"/\d{4}-\d{2}-\d{2}(?=/|$)", "/<day>", route)
    return route + "?" + ",".join(sorted({k for k, _ in parse_qsl(parts.query)} - {"page"}))


def crawl(client: FlaskClient, starts: list[str]) -> dict[str, str]:
    """Every HTML page reachable by links from ``starts`` (one per route and filter set): path → HTML."""
    seen_patterns: set[str] = set()
    pages: dict[str, str] = {}
    queue = list(starts)
    while queue and len(pages) < MAX_PAGES_PER_USER:
        path = queue.pop(0)
        pattern = _pattern(path)
        if pattern in seen_patterns:
            continue
        seen_patterns.add(pattern)
        response = client.get(path)
        if response.status_code != 200 or response.mimetype != "text/html":
            continue
        html = response.get_data(as_text=True)
        pages[path] = html
        for href in parse(html).links:
            target = urlsplit(href)
            if target.scheme or target.netloc or not target.path.startswith("/") or href.startswith("//"):
                continue
            if target.path.startswith(("/app", "/api", "/photos", "/static", "/web-assets")):
                continue
            if target.path.endswith((".pdf", ".xlsx", ".json")) or "/file" in target.path:
                continue
            queue.append(target.path + (f"?{target.query}" if target.query else ""))
    return pages


def doubled_labels(html: str) -> list[str]:
    """Texts that carry a label in both languages."""
    return [text for _stack, text in parse(html).texts if DOUBLED.search(text)]


def english_in_chinese_labels(html: str, data: Collection[str] = ()) -> list[str]:
    """Labels of a Chinese page with English words in them (names of formats and data aside)."""
    found = []
    latin = {name.lower() for name in LATIN_NAMES}
    for text in parse(html).label_text().values():
        rest = text
        for value in sorted(data, key=len, reverse=True):
            rest = rest.replace(value, "")
        words = [w for w in re.findall(r"[A-Za-z]{3,}", rest) if w.lower() not in latin]
        if words:
            found.append(text)
    return found


def chinese_in_english_labels(html: str, data: set[str]) -> list[str]:
    """Labels of an English page with Chinese in them that is not data (an enterprise's name and the like)."""
    found = []
    for text in parse(html).label_text().values():
        rest = text
        for value in sorted(data, key=len, reverse=True):
            rest = rest.replace(value, "")
        if re.search(r"[\u3400-\u9fff]", rest) and "中文" not in rest:
            found.append(text)
    return found


def _data_names() -> set[str]:
    """Names that are data, not labels: they stay as entered whatever the reader's language."""
    from server.models import (
        Campaign,
        CatalogueItem,
        Enterprise,
        Hazard,
        Region,
        ScoringCriterion,
        SubmissionRequirement,
    )

    names: set[str] = set()
    names |= set(db.session.scalars(sa.select(Enterprise.name)))
    names |= set(db.session.scalars(sa.select(Region.name)))
    names |= {n for n in db.session.scalars(sa.select(User.display_name)) if n}
    names |= set(db.session.scalars(sa.select(User.username)))  # sign-in names, shown on the admin's pages
    names |= set(db.session.scalars(sa.select(Campaign.name)))
    names |= set(db.session.scalars(sa.select(SubmissionRequirement.name)))
    names |= set(db.session.scalars(sa.select(Campaign.code)))
    names |= set(db.session.scalars(sa.select(SubmissionRequirement.code)))
    names |= set(db.session.scalars(sa.select(ScoringCriterion.code)))
    names |= set(db.session.scalars(sa.select(CatalogueItem.code)))
    names |= set(db.session.scalars(sa.select(CatalogueItem.text)))
    for hazard in db.session.scalars(sa.select(Hazard)):
        names |= {hazard.description, hazard.place or hazard.description}
    for campaign in db.session.scalars(sa.select(Campaign)):
        names |= {phase.name for phase in campaign.phases}
    return names


def choose(client: FlaskClient, lang: str, next_page: str = "/") -> None:
    """Use the header's switch (a form POST carrying the page's CSRF token)."""
    html = client.get("/login").get_data(as_text=True)
    token = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert token, "the switch carries a CSRF token"
    response = client.post("/language", data={"lang": lang, "next": next_page, "csrf_token": token.group(1)})
    assert response.status_code == 302
    assert response.headers["Location"].endswith(next_page)


def pages_only_a_form_makes(app: Flask, client: FlaskClient, username: str) -> list[str]:
    """Pages no link of the demo reaches: a stop order and a draw are made as a user would (by their forms); the
    rest are found in the demo's records."""
    from server.domain.hazards import HazardLevel
    from server.domain.inspections import InspectionStatus
    from server.models import Campaign, Enterprise, Hazard, HazardSource, Inspection, User

    html = client.get("/").get_data(as_text=True)
    found = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert found
    token = found.group(1)
    with app.app_context():
        user = db.session.scalar(sa.select(User).where(User.username == username))
        assert user is not None
        if user.enterprise_id is not None:
            own = db.session.scalar(sa.select(Hazard.id).where(
                Hazard.enterprise_id == user.enterprise_id, Hazard.source == HazardSource.self_ledger,
                Hazard.deleted_at.is_(None)).limit(1))  # fmt: skip
            return [f"/portal/ledger/{own}/edit"] if own else []
        inspection = db.session.scalar(
            sa.select(Inspection.id).join(Enterprise).where(
                Inspection.status == InspectionStatus.approved, Enterprise.name.like("兴县%")).limit(1)
        )  # fmt: skip
        major = db.session.execute(
            sa.select(Hazard.enterprise_id, Hazard.id).join(Enterprise)
            .where(Hazard.level == HazardLevel.major, Enterprise.name.like("兴县%")).limit(1)
        ).one()  # fmt: skip
        campaign = db.session.scalar(sa.select(Campaign.id).limit(1))
    extra = ["/submissions/figures", f"/inspections/{inspection}/expert-opinions"]
    made = client.post(f"/stop-orders/new?enterprise={major[0]}", data={
        "csrf_token": token, "reasons": "重大事故隐患未整改", "legal_basis": "《中华人民共和国安全生产法》第六十五条",
        "scope": "炼钢车间", "resume_conditions": "整改完成并经验收合格", "hazard_ids": [str(major[1])],
    })  # fmt: skip
    assert made.status_code == 303, made.get_data(as_text=True)
    extra.append(made.headers["Location"])
    if username == "ll_city":
        drawn = client.post("/sampling", data={"csrf_token": token, "percent": "10"})
        assert drawn.status_code in (302, 303), drawn.get_data(as_text=True)
        extra.append(drawn.headers["Location"])
    if username == "admin":
        extra += [f"/admin/campaigns/{campaign}/scoring", f"/admin/campaigns/{campaign}/submissions"]
    return extra


USERS = [
    ("xx_sup", ["/", "/dashboard"], SUPERVISOR_SAMPLES),
    ("ll_city", ["/", "/dashboard"], SUPERVISOR_SAMPLES),
    ("admin", ["/", "/dashboard", "/quarantine", "/admin/campaigns"], SUPERVISOR_SAMPLES),
    ("qy_jinxing", ["/", "/portal"], PORTAL_SAMPLES),
]


@pytest.mark.parametrize(("username", "starts", "samples"), USERS, ids=[u[0] for u in USERS])
def test_every_page_shows_one_language_at_a_time(
    app: Flask, username: str, starts: list[str], samples: dict[str, list[str]]
) -> None:
    client = app.test_client()
    login(client, username)
    with app.app_context():
        data = _data_names()
    problems: list[tuple[str, str, str]] = []
    extra = pages_only_a_form_makes(app, client, username)
    for lang in ("zh", "en"):
        choose(client, lang)
        pages = crawl(client, starts + extra)
        missing = [path for path in extra if urlsplit(path).path not in {urlsplit(p).path for p in pages}]
        assert not missing, missing
        assert len(pages) >= 5, (lang, sorted(pages))
        for path, html in pages.items():
            page = parse(html)
            assert page.html_lang == ("en" if lang == "en" else "zh-CN"), (lang, path)
            problems += [(lang, path, text) for text in doubled_labels(html)]
            if lang == "zh":
                problems += [
                    (lang, path, "English label: " + t) for t in english_in_chinese_labels(html, data)
                ]
            else:
                problems += [
                    (lang, path, "Chinese label: " + t) for t in chinese_in_english_labels(html, data)
                ]
        home = pages[starts[-1]] if starts[-1] in pages else next(iter(pages.values()))
        other = "en" if lang == "zh" else "zh"
        problems += [(lang, starts[-1], "missing " + s) for s in samples[lang] if s not in home]
        problems += [
            (lang, starts[-1], "other language " + s)
            for s in samples[other]
            if s not in samples[lang] and s in home
        ]
        if "/dashboard" in pages:
            dashboard = pages["/dashboard"]
            problems += [
                (lang, "/dashboard", "missing " + s) for s in DASHBOARD_SAMPLES[lang] if s not in dashboard
            ]
            problems += [
                (lang, "/dashboard", "other language " + s)
                for s in DASHBOARD_SAMPLES[other]
                if s in dashboard
            ]
    assert not problems, f"{len(problems)} problems:\n" + "\n".join(
        f"{lang} {path}: {text}" for lang, path, text in problems[:80]
    )


def test_signed_out_pages_follow_the_cookie_and_the_browser(client: FlaskClient) -> None:
    zh = client.get("/login").get_data(as_text=True)
    assert '<html lang="zh-CN">' in zh and "登录" in zh and "Sign in" not in zh
    assert not doubled_labels(zh) and not english_in_chinese_labels(zh)

    en_browser = client.get("/login", headers={"Accept-Language": "en-GB,en;q=0.9"}).get_data(as_text=True)
    assert '<html lang="en">' in en_browser and "Sign in" in en_browser and "登录" not in en_browser

    choose(client, "en", "/login")
    cookie = client.get_cookie("lang")
    assert cookie is not None and cookie.value == "en"
    en = client.get("/login").get_data(as_text=True)
    assert '<html lang="en">' in en and "Sign in" in en and not doubled_labels(en)
    unknown = "0" * 64
    public = ["/login", "/gongshi", f"/d/record/{uuid.uuid4()}/{unknown}", f"/d/stop/{uuid.uuid4()}/{unknown}",
              f"/d/expert/{uuid.uuid4()}/{unknown}", "/q/not-a-code"]  # fmt: skip
    for lang, other_word in (("en", "查无此文书"), ("zh", "No such document")):
        client.set_cookie("lang", lang)
        for path in public:
            html = client.get(path).get_data(as_text=True)
            assert f'<html lang="{"en" if lang == "en" else "zh-CN"}">' in html, (lang, path)
            assert not doubled_labels(html), (lang, path)
            assert other_word not in html, (lang, path)
            if lang == "en":
                assert not chinese_in_english_labels(html, set()), (lang, path)
            else:
                assert not english_in_chinese_labels(html), (lang, path)


def test_the_choice_is_kept_on_the_user_across_sign_ins(app: Flask) -> None:
    first = app.test_client()
    login(first, "xx_sup")
    choose(first, "en", "/dashboard")
    with app.app_context():
        user = db.session.scalar(sa.select(User).where(User.username == "xx_sup"))
        assert user is not None and user.language == "en"

    # Another browser, no cookie and a Chinese browser: the user's choice still wins.
    second = app.test_client()
    login(second, "xx_sup")
    html = second.get("/dashboard", headers={"Accept-Language": "zh-CN"}).get_data(as_text=True)
    assert '<html lang="en">' in html and "Sign out" in html and "退出" not in html

    choose(second, "zh", "/dashboard")
    html = second.get("/dashboard").get_data(as_text=True)
    assert '<html lang="zh-CN">' in html and "退出" in html and "Sign out" not in html


def test_the_switch_refuses_an_unknown_language_and_a_foreign_post(app: Flask) -> None:
    client = app.test_client()
    login(client, "xx_sup")
    assert client.post("/language", data={"lang": "en"}).status_code == 403
    html = client.get("/dashboard").get_data(as_text=True)
    token = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert token
    assert client.post("/language", data={"lang": "fr", "csrf_token": token.group(1)}).status_code == 400
    response = client.post(
        "/language", data={"lang": "en", "next": "https://evil.example/", "csrf_token": token.group(1)}
    )
    assert response.status_code == 302 and "evil" not in response.headers["Location"]


def test_the_switch_goes_back_to_the_page_it_was_used_on(app: Flask) -> None:
    client = app.test_client()
    login(client, "xx_sup")
    html = client.get("/hazards?level=major").get_data(as_text=True)
    token = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert token
    back = client.post("/language", data={"lang": "en", "csrf_token": token.group(1)},
                       headers={"Referer": "http://localhost/hazards?level=major"})  # fmt: skip
    assert back.status_code == 302 and back.headers["Location"].endswith("/hazards?level=major")
    foreign = client.post("/language", data={"lang": "zh", "csrf_token": token.group(1)},
                          headers={"Referer": "https://evil.example/hazards"})  # fmt: skip
    assert foreign.status_code == 302 and "evil" not in foreign.headers["Location"]


def test_enforcement_documents_stay_in_chinese_whatever_the_readers_language(
    app: Flask, demo_media: Path
) -> None:
    """现场检查记录 and 责令限期整改指令书 are legal documents in Chinese: a reader who chose English gets the
    same Chinese documents (the page's links say so), with no English in their body."""
    from server.models import Inspection
    from tests.integration.test_documents import WITH_HAZARDS, pdf_text

    with app.app_context():
        sealed = db.session.scalar(sa.select(Inspection.sealed_sha256).where(Inspection.id == WITH_HAZARDS))
        assert sealed
    client = app.test_client()
    login(client, "xx_sup")
    choose(client, "en")
    review = client.get(f"/inspections/{WITH_HAZARDS}").get_data(as_text=True)
    assert "Documents (in Chinese)" in review and "现场检查记录" not in review
    for kind, title in (("record", "现场检查记录"), ("order", "责令限期整改指令书")):
        response = client.get(f"/inspections/{WITH_HAZARDS}/documents/{kind}.pdf")
        assert response.status_code == 200
        text, _reader = pdf_text(response.get_data())
        flat = "".join(text.split())
        assert title in flat
        # The verification address and the seal's hash are the only Latin text a document carries (the text
        # extractor breaks lines anywhere, so they are taken out of the text without its whitespace).
        body = re.sub(r"https?://[A-Za-z0-9./:_-]*", "", flat.replace(sealed, ""))
        # The audit chain's head (printed in every footer) is a hash too, and the extractor may cut it anywhere:
        # a run of hex letters alone (CEB, DBFC) is a piece of a hash, not an English word.
        words = {w for w in re.findall(r"[A-Za-z]{3,}", body) if not re.fullmatch(r"[A-Fa-f]+", w)} - {"SHA"}
        assert not words, (kind, sorted(words))
