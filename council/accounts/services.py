"""Accounts: identifiers, sign-up (or claiming a staff-made record), passwords and claim codes."""
from __future__ import annotations

import hashlib
import re
import secrets
from datetime import timedelta

import phonenumbers
import sqlalchemy as sa
from flask_babel import lazy_gettext as _l

from council.accounts import kept, passwords
from council.accounts.models import ClaimCode, User
from council.activity.services import record
from council.exceptions import Refused
from council.extensions import db
from council.membership.models import Membership, MembershipStatus
from council.sqltypes import utcnow
from council.territory.models import Household

USERNAME_RE = re.compile(r"^[a-z][a-z0-9_]{2,31}$")
PASSWORD_MIN = passwords.MIN_LENGTH
# No 0/O, 1/I/L: codes are read aloud and copied from paper by elderly residents.
CLAIM_ALPHABET = "ABCDEFGHJKMNPQRSTUVWXYZ23456789"
CLAIM_LENGTH = 8


def normalise_mobile(raw: str) -> str | None:
    """An 11-digit mainland mobile number from what a person typed (spaces, dashes, +86), or None."""
    text = re.sub(r"[\s\-()]", "", raw or "")
    if not re.fullmatch(r"(\+?86)?1\d{10}", text):
        return None
    try:
        number = phonenumbers.parse(text, "CN")
    except phonenumbers.NumberParseException:
        return None
    kinds = (phonenumbers.PhoneNumberType.MOBILE, phonenumbers.PhoneNumberType.FIXED_LINE_OR_MOBILE)
    if number.country_code != 86 or not phonenumbers.is_valid_number(number):
        return None
    if phonenumbers.number_type(number) not in kinds:
        return None
    return str(number.national_number)


def normalise_username(raw: str) -> str:
    return (raw or "").strip().lower()


def find_by_login(login: str) -> User | None:
    """The account a sign-in identifier (mobile number or username) names, if any."""
    mobile = normalise_mobile(login)
    if mobile:
        return db.session.scalar(sa.select(User).where(User.mobile == mobile))
    username = normalise_username(login)
    return db.session.scalar(sa.select(User).where(User.username == username)) if username else None


def authenticate(login: str, password: str) -> User | None:
    """The account if the identifier and password match and the record has an account."""
    user = find_by_login(login)
    if user is None or not user.has_account or not user.check_password(password):
        return None
    return user


def mobile_taken(mobile: str) -> bool:
    return db.session.scalar(sa.select(User.id).where(User.mobile == mobile)) is not None


def username_taken(username: str) -> bool:
    return db.session.scalar(sa.select(User.id).where(User.username == username)) is not None


def _hash_code(code: str) -> str:
    return hashlib.sha256(code.encode()).hexdigest()


def clean_code(raw: str) -> str:
    return re.sub(r"[\s\-]", "", raw or "").upper()


def find_claim(raw_code: str) -> ClaimCode | None:
    """A usable (unused, unexpired) claim code matching what the person typed."""
    code = clean_code(raw_code)
    if len(code) != CLAIM_LENGTH:
        return None
    claim = db.session.scalar(sa.select(ClaimCode).where(ClaimCode.code_hash == _hash_code(code)))
    if claim is None or claim.used_at is not None or claim.expires_at < utcnow():
        return None
    return claim


PASSWORD_PROBLEMS = {
    passwords.Problem.TOO_SHORT: _l("The password must be at least %(n)d characters.", n=passwords.MIN_LENGTH),
    passwords.Problem.TOO_LONG: _l("The password can be at most %(n)d characters.", n=passwords.MAX_LENGTH),
    passwords.Problem.COMMON: _l("This password is one of the first that anyone would guess. Please choose "
                                 "another: a short sentence you can remember works well."),
    passwords.Problem.LIKE_LOGIN: _l("The password must not contain your mobile number or username."),
    passwords.Problem.ONE_CHARACTER: _l("The password must not be one character repeated."),
}


def check_password_rules(password: str, field: str, *logins: str | None) -> None:
    """Refuse (under `field`) a password the rules do not allow."""
    problem = passwords.password_problem(password, logins)
    if problem is not None:
        raise Refused(PASSWORD_PROBLEMS[problem], field)


def sign_up(display_name: str, password: str, *, mobile: str | None = None, username: str | None = None,
            locale: str | None = None, claim_code: str | None = None) -> User:
    """Create an account, or give the staff-made record named by `claim_code` its account."""
    if not mobile and not username:
        raise Refused(_l("Give a mobile number or a username."), "mobile")
    check_password_rules(password, "password", mobile, username)
    if mobile and mobile_taken(mobile):
        raise Refused(_l("This mobile number already has an account."), "mobile")
    if username and username_taken(username):
        raise Refused(_l("This username is taken."), "username")
    if claim_code:
        claim = find_claim(claim_code)
        if claim is None:
            raise Refused(_l("This code is not valid. It may be mistyped, used or expired."), "claim_code")
        user = db.session.get(User, claim.user_id)
        if user.has_account:
            raise Refused(_l("This resident record already has an account."), "claim_code")
        claim.used_at = utcnow()
    else:
        user = User()
        db.session.add(user)
    user.display_name = display_name.strip()
    user.mobile, user.username, user.locale = mobile or None, username or None, locale
    user.set_password(password)
    db.session.flush()
    if claim_code:
        _record_claim(user)
    return user


def _record_claim(user: User) -> None:
    """Leave an activity record on each household the claimed record belongs to."""
    rows = db.session.execute(
        sa.select(Membership.id, Household.building_id)
        .join(Household, Household.id == Membership.household_id)
        .where(Membership.user_id == user.id, Membership.status == MembershipStatus.APPROVED)
    ).all()
    for membership_id, building_id in rows:
        record(user, "account.claimed", building_id, "membership", membership_id, target=user)


def change_password(user: User, current: str, new: str) -> None:
    """Set a new password and sign the person out everywhere else (session version bumps)."""
    if not user.check_password(current):
        raise Refused(_l("The current password is not right."), "current")
    check_password_rules(new, "new", user.mobile, user.username)
    user.set_password(new)
    user.session_version += 1


def issue_claim_code(person: User, by: User, days: int) -> str:
    """A fresh one-time code for `person` (older unused codes stop working); returned once, never stored."""
    if person.has_account:
        raise Refused(_l("This person already has an account."))
    now = utcnow()
    db.session.execute(
        sa.update(ClaimCode).where(ClaimCode.user_id == person.id, ClaimCode.used_at.is_(None))
        .values(expires_at=now)
    )
    code = "".join(secrets.choice(CLAIM_ALPHABET) for _ in range(CLAIM_LENGTH))
    db.session.add(ClaimCode(user_id=person.id, code_hash=_hash_code(code), created_by_id=by.id,
                             created_at=now, expires_at=now + timedelta(days=days)))
    db.session.flush()
    return code


def format_code(code: str) -> str:
    """ABCD-EFGH: easier to read aloud and copy."""
    return f"{code[:4]}-{code[4:]}"


def load_user(session_id: str) -> User | None:
    """Flask-Login's loader: "id:version"; an old version (password changed) means signed out."""
    user_id, _, version = session_id.partition(":")
    if not user_id.isdigit() or not version.isdigit():
        return None
    # With the "per_request" group (the header's unread count); kept per process while it has not changed.
    user = kept.person(int(user_id))
    if user is None or user.session_version != int(version) or not user.has_account:
        return None
    return user
