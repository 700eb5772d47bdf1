"""A downgrade that would drop data refuses unless told it may: 0004 → 0003 used to drop the sampling draws
silently."""

from __future__ import annotations

import re

import flask_migrate
import pytest
import sqlalchemy as sa
from flask import Flask

from server import clock
from server.domain.roles import Role
from server.extensions import db
from server.models import SamplingDraw, User
from server.services import operations
from server.services.sampling import make_draw


def test_downgrading_past_the_sampling_draws_refuses_then_drops_only_when_told(
    app: Flask, capfd: pytest.CaptureFixture[str]
) -> None:
    with app.app_context():
        city = db.session.scalar(sa.select(User).where(User.username == "ll_city"))
        assert city is not None
        make_draw(db.session, city, 10, False, today=clock.today(), tz=clock.zone())
        # Later revisions guard their own data (0008 keeps legal reviewers): out of the way, to reach 0004's guard.
        db.session.execute(
            sa.update(User).where(User.role == Role.legal_reviewer).values(role=Role.supervisor)
        )
        db.session.commit()
        assert db.session.scalar(sa.select(sa.func.count()).select_from(SamplingDraw)) == 1
        db.session.remove()

        # flask-migrate reports the refusal and exits non-zero, as `flask db downgrade` does on the console.
        with pytest.raises(SystemExit) as refused:
            flask_migrate.downgrade(revision="0003_inspection_seal")
        assert refused.value.code == 1
        assert re.search(r"1 sampling draws .*drop-data=yes", capfd.readouterr().err, re.S)
        db.session.remove()
        # PostgreSQL rolls the whole downgrade back (transactional DDL); SQLite keeps the revisions undone before
        # the refusal. Either way the draws are kept.
        stopped_at = (
            "0014_decision_withdrawn" if db.engine.dialect.name == "postgresql" else "0004_sampling_draw"
        )
        assert operations.database_schema(db.session) == (stopped_at,)
        assert db.session.scalar(sa.select(sa.func.count()).select_from(SamplingDraw)) == 1, "nothing dropped"
        db.session.remove()

        flask_migrate.downgrade(revision="0003_inspection_seal", x_arg="drop-data=yes")
        db.session.remove()
        assert operations.database_schema(db.session) == ("0003_inspection_seal",)
        with db.engine.connect() as connection:
            assert "sampling_draw" not in sa.inspect(connection).get_table_names()
        db.session.remove()

        # And up again over the demo county's rows: every table rebuilt under rows that point at it (SQLite copies
        # a table to alter it), nothing lost.
        users = db.session.scalar(sa.select(sa.func.count()).select_from(User))
        db.session.remove()
        flask_migrate.upgrade()
        db.session.remove()
        assert db.session.scalar(sa.select(sa.func.count()).select_from(User)) == users
        db.session.remove()
