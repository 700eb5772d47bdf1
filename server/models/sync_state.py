"""The one-row change counter that numbers writes in commit order for pull."""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from .base import Base


class ChangeCounter(Base):
    """A single row whose value each writing transaction increments under a row lock; a plain
    sequence would hand out numbers in start order, so a pull could skip a row committed late."""

    __tablename__ = "change_counter"

    id: Mapped[int] = mapped_column(primary_key=True)
    value: Mapped[int] = mapped_column(sa.BigInteger, default=0)
