"""People and their accounts. A person may have no account: staff register residents without a phone."""
from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from flask_login import UserMixin
from sqlalchemy.orm import Mapped, mapped_column
from werkzeug.security import check_password_hash, generate_password_hash

from council.extensions import db
from council.sqltypes import UTCDateTime, utcnow


class User(UserMixin, db.Model):
    """A person known to the platform; `password_hash` is empty until they have an account."""

    __tablename__ = "users"

    id: Mapped[int] = mapped_column(primary_key=True)
    display_name: Mapped[str] = mapped_column(sa.String(64))
    # Stored lower-case; sign-in accepts the username or the mobile number.
    username: Mapped[str | None] = mapped_column(sa.String(32), unique=True)
    # Eleven-digit mainland mobile number, normalised (no +86, no spaces).
    mobile: Mapped[str | None] = mapped_column(sa.String(11), unique=True)
    password_hash: Mapped[str | None] = mapped_column(sa.String(255))
    locale: Mapped[str | None] = mapped_column(sa.String(8))
    is_site_admin: Mapped[bool] = mapped_column(default=False)
    # Part of the session id: bumping it signs the person out on every device.
    session_version: Mapped[int] = mapped_column(default=1)
    # Moved on with every change to this person's roles or memberships (council.permissions): app processes
    # keep the standing they read for a (person, standing_version) and read it again when the number moves.
    standing_version: Mapped[int] = mapped_column(default=1, server_default=sa.text("1"))
    # Set when staff registered this person (no phone, no account yet).
    registered_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    def get_id(self) -> str:
        return f"{self.id}:{self.session_version}"

    @property
    def has_account(self) -> bool:
        return self.password_hash is not None

    @property
    def is_active(self) -> bool:  # Flask-Login: a record without an account cannot sign in
        return self.has_account

    def set_password(self, password: str) -> None:
        self.password_hash = generate_password_hash(password)

    def check_password(self, password: str) -> bool:
        return self.password_hash is not None and check_password_hash(self.password_hash, password)

    @property
    def masked_mobile(self) -> str:
        """138****5678: how other residents see a phone number."""
        return f"{self.mobile[:3]}****{self.mobile[-4:]}" if self.mobile else ""

    def __repr__(self) -> str:
        return f"<User {self.id} {self.display_name!r}>"


class ClaimCode(db.Model):
    """A one-time code, handed over on paper, that lets a staff-registered person take over their record."""

    __tablename__ = "claim_codes"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id"), index=True)
    # Only a hash is kept: whoever reads the database cannot claim someone else's record.
    code_hash: Mapped[str] = mapped_column(sa.String(64), unique=True)
    created_by_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    used_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
