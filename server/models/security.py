"""Failed attempts by address, for limits the client cannot reset (state shared by every worker)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from server.models.base import Model, utcnow


class FailedLogin(Model):
    """One failed attempt: where from, at what (a username; `selfsignin:<visit id>` for a
    self sign-in that matched no one on the roster), when."""

    __tablename__ = "failed_login"
    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"),
                                    primary_key=True, autoincrement=True)
    ip: Mapped[str] = mapped_column(String(64), index=True)
    username: Mapped[str] = mapped_column(String(64), default="")
    at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
