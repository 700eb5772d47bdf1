"""The connection pool pings the database before lending a connection only where a connection can go stale:
a server (PostgreSQL) can restart under a pooled connection, a SQLite file cannot, and the ping cost every
SQLite request a statement."""

from __future__ import annotations

from server.config import load_config


def test_sqlite_connections_are_lent_without_a_ping() -> None:
    """SQLite: no SELECT 1 before each checkout."""
    config = load_config({"DATABASE_URL": "sqlite:///:memory:", "SECRET_KEY": "x"})
    assert not config["SQLALCHEMY_ENGINE_OPTIONS"].get("pool_pre_ping")


def test_server_connections_are_pinged_before_they_are_lent() -> None:
    """PostgreSQL: a restarted server's dead connections are replaced before a request uses them."""
    config = load_config({"DATABASE_URL": "postgresql+psycopg://u@h/d", "SECRET_KEY": "x"})
    assert config["SQLALCHEMY_ENGINE_OPTIONS"]["pool_pre_ping"] is True


def test_engine_options_given_are_kept() -> None:
    """A deployment's own engine options win."""
    options = {"pool_pre_ping": True, "pool_size": 3}
    config = load_config({"DATABASE_URL": "sqlite:///:memory:", "SECRET_KEY": "x",
                          "SQLALCHEMY_ENGINE_OPTIONS": options})  # fmt: skip
    assert config["SQLALCHEMY_ENGINE_OPTIONS"] == options
