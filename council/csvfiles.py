"""CSV downloads opened in a spreadsheet: a cell that starts like a formula is made plain text (CSV
injection: a resident named "=HYPERLINK(...)" must not run anything on the office computer)."""
from __future__ import annotations

from collections.abc import Iterable

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def spreadsheet_safe(value) -> str:
    text = "" if value is None else str(value)
    return "'" + text if text.startswith(FORMULA_STARTS) else text


def safe_row(values: Iterable) -> list[str]:
    return [spreadsheet_safe(value) for value in values]
