"""Belgian structured communication (OGM/VCS) for invoices: +++ddd/dddd/dddcc+++ (RULES §8)."""

from __future__ import annotations

from stdnum.be import ogm_vcs

KIND_DIGIT = {"activity_tax": 1, "turnover_levy": 2, "credit_note": 3}


def structured_communication(*, year: int, kind: str, sequence: int) -> str:
    """12 digits: the year (2), the kind (1), the invoice's sequence in its series (7), then the check digits
    (the first ten mod 97, 97 where that is 0). Unique because (year, kind, sequence) is."""
    if not 0 < sequence < 10_000_000:
        raise ValueError(f"sequence {sequence} does not fit a structured communication")
    base = f"{year % 100:02d}{KIND_DIGIT[kind]}{sequence:07d}"
    check = int(base) % 97 or 97
    # valid by construction (the tests check it with python-stdnum); a validation per invoice was a tenth of a
    # year's issue (issue 15)
    return f"{base}{check:02d}"


def parse(text: str) -> str | None:
    """The 12 digits of a structured communication written with +++ or *** delimiters, or None."""
    digits = "".join(c for c in text if c.isdigit())
    cleaned = text.strip().strip("+*").replace("/", "").strip()
    if len(digits) != 12 or cleaned != digits:
        return None
    return digits if ogm_vcs.is_valid(digits) else None
