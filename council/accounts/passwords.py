"""Password rules, pure: long enough, not one of the passwords everybody tries first, not the login itself.

The common passwords are zxcvbn's list of the 30,000 most used (from published leaks) plus those that lead
the Chinese leak lists and are missing from it (5201314, woaini1314, qq123456...): a guesser tries these
first, whatever the rate limit.
"""
from __future__ import annotations

import enum
from functools import lru_cache

MIN_LENGTH = 8
MAX_LENGTH = 128

# Near the top of the Chinese leak lists (CSDN, Tianya...) and not in zxcvbn's list, lower case.
CHINESE_COMMON = frozenset({
    "5201314", "52013140", "5211314", "1314520", "13145200", "woaini1314", "woaini520", "woaini123", "woaini",
    "qq123456", "qq5201314", "a123456", "a1234567", "a12345678", "a123456789", "aa123456", "abc123456",
    "123456a", "123456aa", "123456abc", "1qaz2wsx", "1q2w3e4r", "147258369", "147258", "159357",
    "123123123", "12344321", "7758521", "7758258", "111222tianya", "88888888", "66666666", "11111111",
    "00000000", "0123456789", "9876543210", "987654321", "zxcvbnm123", "iloveyou1314", "520520520",
    "5201314520", "woaiwojia", "wangyut2", "dearbook", "xiaoming", "zhang123", "wang1234", "li123456",
})


class Problem(enum.StrEnum):
    TOO_SHORT = "too_short"
    TOO_LONG = "too_long"
    COMMON = "common"  # among the passwords tried first
    LIKE_LOGIN = "like_login"  # the username or mobile number, or contains it
    ONE_CHARACTER = "one_character"  # "aaaaaaaa"


@lru_cache(maxsize=1)
def _common() -> frozenset[str]:
    from zxcvbn.frequency_lists import FREQUENCY_LISTS

    return frozenset(FREQUENCY_LISTS["passwords"]) | CHINESE_COMMON


def password_problem(password: str, logins: tuple[str | None, ...] = ()) -> Problem | None:
    """Why this password is refused, or None. `logins`: the person's username and mobile number."""
    if len(password) < MIN_LENGTH:
        return Problem.TOO_SHORT
    if len(password) > MAX_LENGTH:
        return Problem.TOO_LONG
    if len(set(password)) == 1:
        return Problem.ONE_CHARACTER
    lowered = password.lower()
    if lowered in _common():
        return Problem.COMMON
    for login in logins:
        if login and len(login) >= 4 and login.lower() in lowered:
            return Problem.LIKE_LOGIN
    return None
