"""The connection pool lends a connection without pinging the database first, on SQLite and on PostgreSQL alike:
the ping was a round trip on every request, and a connection that died under the pool costs one request a
retryable 503 instead (tests/integration/test_database_connection_lost.py)."""

from __future__ import annotations

from server.config import load_config


def test_sqlite_connections_are_lent_without_a_ping() -> None:
    """SQLite: no SELECT 1 before each checkout."""
    config = load_config({"DATABASE_URL": "sqlite:///:memory:", "SECRET_KEY": "x"})
    assert not config["SQLALCHEMY_ENGINE_OPTIONS"].get("pool_pre_ping")


def test_server_connections_are_lent_without_a_ping() -> None:
    """PostgreSQL: no SELECT 1 before each checkout either (a dead connection is answered 503, then renewed)."""
    config = load_config({"DATABASE_URL": "postgresql+psycopg://u@h/d", "SECRET_KEY": "x"})
    assert not config["SQLALCHEMY_ENGINE_OPTIONS"].get("pool_pre_ping")


def test_engine_options_given_are_kept() -> None:
    """A deployment's own engine options win."""
    options = {"pool_pre_ping": True, "pool_size": 3}
    config = load_config({"DATABASE_URL": "sqlite:///:memory:", "SECRET_KEY": "x",
                          "SQLALCHEMY_ENGINE_OPTIONS": options})  # fmt: skip
    assert config["SQLALCHEMY_ENGINE_OPTIONS"] == options
