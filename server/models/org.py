"""Counties, training bases, sites and the occupation catalogue."""

from __future__ import annotations

import uuid
from datetime import date

from sqlalchemy import ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from server.models.base import Model, TimestampMixin, UUIDMixin


class County(UUIDMixin, Model):
    """A county, county-level city, district or development zone (县市区/开发区)."""

    __tablename__ = "county"
    name: Mapped[str] = mapped_column(String(64), unique=True)
    code: Mapped[str] = mapped_column(String(12), unique=True)
    # county | city | district | zone
    kind: Mapped[str] = mapped_column(String(16), default="county")

    bases: Mapped[list[TrainingBase]] = relationship(back_populates="county")


class TrainingBase(UUIDMixin, TimestampMixin, Model):
    """A training base (培训基地) with its annual quota (R1) and standing (R15)."""

    __tablename__ = "training_base"
    name: Mapped[str] = mapped_column(String(128), unique=True)
    county_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("county.id"), index=True)
    quota: Mapped[int] = mapped_column(default=0)
    # active | suspended | revoked
    status: Mapped[str] = mapped_column(String(16), default="active")
    revoked_until: Mapped[date | None] = mapped_column(default=None)

    county: Mapped[County] = relationship(back_populates="bases")
    sites: Mapped[list[Site]] = relationship(back_populates="base")


class Site(UUIDMixin, TimestampMixin, Model):
    """A training place (培训场所): WGS-84 coordinates and a geofence radius."""

    __tablename__ = "site"
    base_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("training_base.id"), index=True)
    name: Mapped[str] = mapped_column(String(128))
    address: Mapped[str] = mapped_column(String(256))
    lat: Mapped[float]
    lon: Mapped[float]
    radius_m: Mapped[float] = mapped_column(default=150.0)
    # What the person typed and in which datum (wgs84 | gcj02 | bd09); lat/lon are always WGS-84.
    entered_datum: Mapped[str] = mapped_column(String(8), default="wgs84")
    entered_lat: Mapped[float | None] = mapped_column(default=None)
    entered_lon: Mapped[float | None] = mapped_column(default=None)

    base: Mapped[TrainingBase] = relationship(back_populates="sites")


class Occupation(UUIDMixin, Model):
    """An occupation (工种) of the national catalogue (R2)."""

    __tablename__ = "occupation"
    code: Mapped[str] = mapped_column(String(16), unique=True)
    name: Mapped[str] = mapped_column(String(64), unique=True)
