"""A first install without the demo, by the command line: regions, a campaign, users; disabling an account and
resetting a password; `flask version`; seed-demo refused outside a demo setup."""

from __future__ import annotations

import sqlalchemy as sa
from flask import Flask

from server.extensions import db
from server.models import AuditEvent, Campaign, Region, User
from server.services import operations
from tests.conftest import login


def run(app: Flask, *args: str) -> tuple[int, str]:
    result = app.test_cli_runner().invoke(args=list(args))
    return result.exit_code, result.output


def test_a_first_install_without_the_demo(empty_app: Flask) -> None:
    app = empty_app
    assert run(app, "region", "create", "--code", "141100", "--name", "吕梁市", "--level", "city") == (
        0, "created region 141100 吕梁市 (city)\n")  # fmt: skip
    code, out = run(app, "region", "create", "--code", "141123", "--name", "兴县", "--level", "county",
                    "--parent", "141100", "--authority", "兴县应急管理局")  # fmt: skip
    assert code == 0, out
    code, out = run(
        app, "region", "create", "--code", "9", "--name", "错", "--level", "zone", "--parent", "141100"
    )
    assert code == 1 and "a zone needs a county as parent" in out
    code, out = run(app, "region", "create", "--code", "141123", "--name", "重复", "--level", "county",
                    "--parent", "141100")  # fmt: skip
    assert code == 1 and "exists already" in out

    phases = [
        "--phase",
        "deployment:2026-04-20:2026-05-02",
        "--phase",
        "county_coverage:2026-06-01:2026-08-31",
    ]
    code, out = run(
        app, "campaign", "create", "--code", "xx-2026", "--name", "兴县大检查", "--region", "141123", *phases
    )
    assert code == 0, out
    overlapping = [
        "--phase",
        "deployment:2026-04-20:2026-06-02",
        "--phase",
        "county_coverage:2026-06-01:2026-08-31",
    ]
    code, out = run(
        app, "campaign", "create", "--code", "b", "--name", "b", "--region", "141123", *overlapping
    )
    assert code == 1 and "overlaps" in out
    code, out = run(app, "campaign", "create", "--code", "c", "--name", "c", "--region", "141123",
                    "--phase", "deployment:20260420:x")  # fmt: skip
    assert code == 2 and "CODE:YYYY-MM-DD:YYYY-MM-DD" in out

    code, out = run(app, "create-user", "--username", "xx_sup", "--role", "supervisor", "--region", "141123",
                    "--password", "first-password")  # fmt: skip
    assert code == 0, out
    client = app.test_client()
    login(client, "xx_sup", "first-password")

    assert run(app, "user", "disable", "xx_sup") == (0, "disabled xx_sup\n")
    refused = app.test_client().post(
        "/api/auth/login", json={"username": "xx_sup", "password": "first-password"}
    )
    assert refused.status_code == 403
    assert client.get("/api/auth/me").status_code in (401, 403), "the open session ends too"
    assert run(app, "user", "enable", "xx_sup")[0] == 0
    code, out = run(app, "user", "reset-password", "xx_sup", "--password", "second-password")
    assert code == 0, out
    assert run(app, "user", "reset-password", "xx_sup", "--password", "short")[0] == 1
    assert run(app, "user", "disable", "nobody")[0] == 1
    login(app.test_client(), "xx_sup", "second-password")
    code, out = run(app, "user", "list")
    assert "xx_sup" in out and "active" in out

    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count()).select_from(Region)) == 2
        campaign = db.session.scalar(sa.select(Campaign))
        assert campaign is not None and [p.name for p in campaign.phases] == ["动员部署", "县级全覆盖检查"]
        actions = list(db.session.scalars(sa.select(AuditEvent.action).order_by(AuditEvent.id)))
        assert actions[:3] == ["region.create", "region.create", "campaign.create"]
        assert {"user.disable", "user.enable", "user.reset_password"} <= set(actions)
        assert db.session.scalar(sa.select(User).where(User.username == "xx_sup")).active  # type: ignore[union-attr]
    assert run(app, "audit", "verify")[0] == 0


def test_seed_demo_is_refused_outside_a_demo_setup(empty_app: Flask) -> None:
    code, out = run(empty_app, "seed-demo")
    assert code == 2
    assert "公开的密码" in out and "DEMO=1" in out and "--i-know-this-is-a-demo" in out
    with empty_app.app_context():
        assert db.session.scalar(sa.select(sa.func.count()).select_from(User)) == 0


def test_flask_version(empty_app: Flask) -> None:
    code, out = run(empty_app, "version")
    assert code == 0
    with empty_app.app_context():
        heads = operations.code_schema_heads()
    assert out.splitlines()[0] == f"field-inspection {operations.app_version()}"
    assert f"code {', '.join(heads)}; database {', '.join(heads)}" in out
