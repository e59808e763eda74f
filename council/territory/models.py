"""The territory: street → community → (grid) → estate → building, and households in buildings."""
from __future__ import annotations

import enum
import re
from datetime import datetime
from decimal import Decimal

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from council.extensions import db
from council.sqltypes import UTCDateTime, str_enum, utcnow


class PlaceKind(enum.StrEnum):
    STREET = "street"
    COMMUNITY = "community"
    GRID = "grid"
    ESTATE = "estate"
    BUILDING = "building"


# Which kind of place may sit directly under which. An estate usually sits in a grid, but many
# communities are not split into grids (or, like Qinghe ju, split one estate into grids), so an
# estate may also sit directly under its community.
PARENT_KINDS: dict[PlaceKind, frozenset[PlaceKind | None]] = {
    PlaceKind.STREET: frozenset({None}),
    PlaceKind.COMMUNITY: frozenset({PlaceKind.STREET}),
    PlaceKind.GRID: frozenset({PlaceKind.COMMUNITY}),
    PlaceKind.ESTATE: frozenset({PlaceKind.GRID, PlaceKind.COMMUNITY}),
    PlaceKind.BUILDING: frozenset({PlaceKind.ESTATE}),
}

CHILD_KINDS: dict[PlaceKind, tuple[PlaceKind, ...]] = {
    kind: tuple(k for k, parents in PARENT_KINDS.items() if kind in parents) for kind in PlaceKind
}


def natural_key(text: str) -> str:
    """A sort key that orders "2号楼" before "10号楼": digit runs are zero-padded."""
    return re.sub(r"\d+", lambda m: m.group(0).rjust(8, "0"), text.strip().lower())[:255]


class Place(db.Model):
    """A node of the territory. Roles held on a place count for every place beneath it."""

    __tablename__ = "places"
    __table_args__ = (sa.UniqueConstraint("parent_id", "name"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[PlaceKind] = mapped_column(str_enum(PlaceKind, 16))
    name: Mapped[str] = mapped_column(sa.String(100))
    sort_key: Mapped[str] = mapped_column(sa.String(255), default="")
    parent_id: Mapped[int | None] = mapped_column(sa.ForeignKey("places.id"), index=True)
    # Materialised path of ids, "/1/4/9/": ancestors in one read, descendants with a prefix match.
    path: Mapped[str] = mapped_column(sa.String(255), index=True, default="")
    address: Mapped[str | None] = mapped_column(sa.String(200))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    parent: Mapped[Place | None] = relationship(remote_side=[id], back_populates="children")
    children: Mapped[list[Place]] = relationship(back_populates="parent")
    households: Mapped[list[Household]] = relationship(back_populates="building")

    @property
    def lineage_ids(self) -> tuple[int, ...]:
        """Ids from the top of the territory down to this place, itself included."""
        return tuple(int(p) for p in self.path.strip("/").split("/") if p)

    def __repr__(self) -> str:
        return f"<Place {self.kind.value} {self.id} {self.name!r}>"


class Tenure(enum.StrEnum):
    OWNER_OCCUPIED = "owner_occupied"
    RENTED = "rented"


class UnitKind(enum.StrEnum):
    """What a unit on the property register is; parking spaces are left out of the Art. 278 area base.
    (The same values as council.ballots.rules.UnitKind, which stays free of database imports.)"""

    DWELLING = "dwelling"
    SHOP = "shop"
    PARKING = "parking"


class Household(db.Model):
    """A dwelling (户) in a building: unit (单元) and room, its floor area and who lives there."""

    __tablename__ = "households"
    __table_args__ = (
        sa.UniqueConstraint("building_id", "unit", "room"),
        sa.CheckConstraint("floor_area_dm2 > 0", name="floor_area_positive"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    building_id: Mapped[int] = mapped_column(sa.ForeignKey("places.id"), index=True)
    unit: Mapped[str] = mapped_column(sa.String(16))
    room: Mapped[str] = mapped_column(sa.String(16))
    sort_key: Mapped[str] = mapped_column(sa.String(255), default="")
    # Floor area in dm² (1 dm² = 0.01 m²): whole numbers keep Art. 278 area sums exact everywhere.
    floor_area_dm2: Mapped[int] = mapped_column(sa.Integer)
    tenure: Mapped[Tenure] = mapped_column(str_enum(Tenure, 16), default=Tenure.OWNER_OCCUPIED)
    kind: Mapped[UnitKind] = mapped_column(str_enum(UnitKind, 16), default=UnitKind.DWELLING,
                                           server_default=UnitKind.DWELLING.value)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    building: Mapped[Place] = relationship(back_populates="households")

    @property
    def floor_area(self) -> Decimal:
        """Floor area in m², two decimals."""
        return (Decimal(self.floor_area_dm2) / 100).quantize(Decimal("0.01"))

    @property
    def label(self) -> str:
        """Unit and room as residents write them, e.g. "2-301"."""
        return f"{self.unit}-{self.room}"

    def __repr__(self) -> str:
        return f"<Household {self.id} {self.label}>"
