"""device_for_token runs one statement built at import (bound token digest): each token still finds its own
device and user, and an unknown token none."""

from __future__ import annotations

import pytest
from flask import Flask

from server.extensions import db
from server.services.devices import device_for_token
from sync.problems import Problem
from tests.integration.sync_helpers import Device


def test_each_token_finds_its_own_device_through_the_prebuilt_statement(app: Flask) -> None:
    """Tokens asked in turn, in one session, give their own device and user every time."""
    tablets = [Device(app, name) for name in ("xx_insp1", "xx_insp2", "xx_insp1")]
    with app.app_context():
        for _ in range(2):
            for tablet in tablets:
                found = device_for_token(db.session, tablet.token)
                assert (str(found.id), found.user.username) == (tablet.device_id, tablet.username)
        with pytest.raises(Problem):
            device_for_token(db.session, "not-a-token")
