"""People's text as it is stored and shown: NFC, no control characters, no invisible
direction overrides (which can make a summary read differently from what it says)."""

from __future__ import annotations

import re
import unicodedata

# Embedding, override and isolate controls (and the marks): stripped, since they only
# change how the text around them is displayed.
_BIDI = re.compile("[\u200e\u200f\u202a-\u202e\u2066-\u2069]")
_KEEP = {"\n", "\t"}


def clean(value: str, *, field: str) -> str:
    """NFC text without bidi controls; refuses other control characters."""
    text = _BIDI.sub("", unicodedata.normalize("NFC", value))
    bad = {ch for ch in text if unicodedata.category(ch) == "Cc" and ch not in _KEEP}
    if bad:
        codes = ", ".join(f"U+{ord(ch):04X}" for ch in sorted(bad))
        raise ValueError(f"{field} contains control characters ({codes})")
    return text


def visible(value: str) -> bool:
    """Whether the text shows anything: not only spaces and invisible format characters."""
    return any(not ch.isspace() and unicodedata.category(ch) != "Cf" for ch in value)


def clean_name(value: str) -> str:
    text = clean(value, field="name").strip()
    if not visible(text):
        raise ValueError("name must have visible characters")
    return text
