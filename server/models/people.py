"""Users and their API tokens, teachers and trainees."""

from __future__ import annotations

import hashlib
import uuid
from datetime import date, datetime

from flask_login import UserMixin
from sqlalchemy import ForeignKey, LargeBinary, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship, validates

from server.models.base import Model, TimestampMixin, UUIDMixin
from server.models.org import County, TrainingBase

ROLES = ("city_admin", "county_admin", "inspector", "base_staff")


class User(UUIDMixin, TimestampMixin, UserMixin, Model):
    """A person who logs in; role and county/base decide their scope."""

    __tablename__ = "app_user"
    username: Mapped[str] = mapped_column(String(64), unique=True)
    display_name: Mapped[str] = mapped_column(String(64), default="")
    password_hash: Mapped[str] = mapped_column(String(256))
    role: Mapped[str] = mapped_column(String(16))
    county_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("county.id"), default=None)
    base_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("training_base.id"), default=None)
    active: Mapped[bool] = mapped_column(default=True)
    failed_logins: Mapped[int] = mapped_column(default=0)
    locked_until: Mapped[datetime | None] = mapped_column(default=None)

    county: Mapped[County | None] = relationship()
    base: Mapped[TrainingBase | None] = relationship()

    @property
    def is_active(self) -> bool:  # Flask-Login
        return self.active

    @property
    def password_stamp(self) -> str:
        """A short fingerprint of the password hash: sessions and tokens carry the one they began
        with, so any change of the password (page, API, command or the database) ends them."""
        return hashlib.sha256(self.password_hash.encode()).hexdigest()[:16]

    @property
    def is_city(self) -> bool:
        """City users (and inspectors without a county: covert checks) see every county."""
        return self.role == "city_admin" or (self.role == "inspector" and self.county_id is None)


class ApiToken(UUIDMixin, Model):
    """A bearer token for one device; only its SHA-256 is stored."""

    __tablename__ = "api_token"
    user_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("app_user.id"), index=True)
    device_id: Mapped[str] = mapped_column(String(64))
    token_sha256: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime]
    expires_at: Mapped[datetime]
    revoked_at: Mapped[datetime | None] = mapped_column(default=None)
    # Per-device secret for rotating self sign-in codes (HMAC), issued at login.
    device_key: Mapped[str] = mapped_column(String(64), default="")
    # The user's password_stamp when the token was issued; a token of an older password is dead.
    password_stamp: Mapped[str] = mapped_column(String(16), default="")

    user: Mapped[User] = relationship()


class WebSession(UUIDMixin, Model):
    """A logged-in page session. The cookie holds a random id whose SHA-256 is kept here, so
    logout, a password change or an administrator ends the session for good on the server."""

    __tablename__ = "web_session"
    user_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("app_user.id"), index=True)
    sid_sha256: Mapped[str] = mapped_column(String(64), unique=True)
    password_stamp: Mapped[str] = mapped_column(String(16))
    created_at: Mapped[datetime]
    last_seen_at: Mapped[datetime]
    revoked_at: Mapped[datetime | None] = mapped_column(default=None)
    user_agent: Mapped[str] = mapped_column(String(200), default="")

    user: Mapped[User] = relationship()


class Teacher(UUIDMixin, TimestampMixin, Model):
    """A teacher (教师) of a base with the qualifications R4 asks for."""

    __tablename__ = "teacher"
    base_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("training_base.id"), index=True)
    name: Mapped[str] = mapped_column(String(64))
    # 专业技术职务: 正高级 | 副高级 | 中级 | 初级 | 无
    professional_title: Mapped[str] = mapped_column(String(16), default="无")
    # 技能资格: 高级技师 | 技师 | 高级实习指导教师 | 实习指导教师 | 无
    skill_qualification: Mapped[str] = mapped_column(String(16), default="无")
    certificate_no: Mapped[str] = mapped_column(String(64), default="")
    phone: Mapped[str] = mapped_column(String(32), default="")

    base: Mapped[TrainingBase] = relationship()


class Trainee(UUIDMixin, TimestampMixin, Model):
    """A trainee (学员). The ID number is encrypted at rest; look-ups use a keyed hash."""

    __tablename__ = "trainee"
    __table_args__ = (UniqueConstraint("base_id", "id_number_hash"),)
    name: Mapped[str] = mapped_column(String(64))
    gender: Mapped[str] = mapped_column(String(4), default="")
    id_number_enc: Mapped[bytes] = mapped_column(LargeBinary)
    # A trainee's details belong to the base that entered them: each base has its own row for a
    # person (unique per base), so no base can change or learn another base's entry (R7).
    # None: a row from before bases owned their entries; the first base to name it claims it.
    base_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("training_base.id"), default=None,
                                                      index=True)
    id_number_hash: Mapped[str] = mapped_column(String(64), index=True)
    id_masked: Mapped[str] = mapped_column(String(18))
    # Only the birth year is kept (stored as 1 January of it): beside id_masked the exact date
    # narrows the ID number to one or two candidates. R3's age check decrypts the number instead.
    birth_date: Mapped[date]
    education: Mapped[str] = mapped_column(String(16))
    occupation_name: Mapped[str] = mapped_column(String(64), default="")
    certificate_level: Mapped[str] = mapped_column(String(8))
    certificate_date: Mapped[date | None] = mapped_column(default=None)
    employer: Mapped[str] = mapped_column(String(128), default="")
    employer_kind: Mapped[str] = mapped_column(String(8))
    phone: Mapped[str] = mapped_column(String(32), default="")
    # Set when personal data was erased after the retention period (R12 keeps 5 years).
    purged_at: Mapped[datetime | None] = mapped_column(default=None)

    @validates("birth_date")
    def _keep_birth_year_only(self, key: str, value: date | None) -> date | None:
        return value.replace(month=1, day=1) if value else value
