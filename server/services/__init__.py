"""Use cases: small functions handed what they need (a session, the actor, plain values)."""

from typing import Any, TypeAlias

from sqlalchemy.orm import Session, scoped_session

#: A session as use cases receive it: Flask-SQLAlchemy's scoped ``db.session`` or a plain Session.
DbSession: TypeAlias = Session | scoped_session[Any]
