"""Chinese resident ID numbers (GB 11643-1999): validation, birth date, masking."""

from __future__ import annotations

import re
import unicodedata
from datetime import date

from server.services.clock import local_today

_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
_CHECK_CHARS = "10X98765432"
_PATTERN = re.compile(r"^\d{17}[\dX]$")


def normalise_id_number(raw: str) -> str:
    """Return an ID number as ASCII digits and X, however it was typed.

    The one form used for validation, duplicate checks, storage and the look-up hash: Unicode
    NFKC (full-width ０-９ and Ｘ from a Chinese IME), then every decimal digit of any script as
    its ASCII digit, x as X, and spaces and invisible format characters dropped. Anything else is
    kept, so the number still fails validation.
    """
    out = []
    for char in unicodedata.normalize("NFKC", raw or ""):
        if char.isspace() or unicodedata.category(char) == "Cf":
            continue
        digit = unicodedata.decimal(char, None)
        out.append(str(digit) if digit is not None else char.upper())
    return "".join(out)


def check_character(first17: str) -> str:
    """Return the ISO 7064 MOD 11-2 check character for the first 17 digits."""
    total = sum(int(d) * w for d, w in zip(first17, _WEIGHTS, strict=True))
    return _CHECK_CHARS[total % 11]


def birth_date_of(id_number: str) -> date | None:
    """Return the birth date encoded in an 18-character ID number, or None if it is no date."""
    try:
        return date(int(id_number[6:10]), int(id_number[10:12]), int(id_number[12:14]))
    except ValueError:
        return None


def is_valid_id_number(raw: str, today: date | None = None) -> bool:
    """True for an 18-character ID with a real, past birth date and the right check character.

    15-digit numbers (the pre-1999 format) are refused: they carry no check character.
    """
    number = normalise_id_number(raw)
    if not _PATTERN.match(number):
        return False
    if not plausible_birth_date(birth_date_of(number), today):
        return False
    return check_character(number[:17]) == number[17]


def plausible_birth_date(born: date | None, today: date | None = None) -> bool:
    """A real date, from 1900 on, not after today (local_today: the date in the bureau's zone,
    not the server machine's). The one birth-date rule of is_valid_id_number and its reasons."""
    return born is not None and born.year >= 1900 and born <= (today or local_today())


def mask_id_number(raw: str) -> str:
    """Mask all but the first 4 and last 4 characters: 3707**********123X."""
    number = normalise_id_number(raw)
    if len(number) <= 8:
        return "*" * len(number)
    return number[:4] + "*" * (len(number) - 8) + number[-4:]


def gender_of(id_number: str) -> str:
    """Return 男 or 女 from the 17th digit."""
    return "男" if int(id_number[16]) % 2 else "女"


def synthetic_id_number(region: str, born: date, serial: int) -> str:
    """Make a checksum-valid ID number for demo and test data (serial 0..999; odd = male)."""
    first17 = f"{region}{born:%Y%m%d}{serial % 1000:03d}"
    return first17 + check_character(first17)
