"""Taking one worker's personal data out of free text (pure): what `appeals purge`
does to every text column of a case whose retention has run out.

The worker's own name, phone and ID number go wherever they were typed — whole, in
the masked forms the screens and e-mails show (王**, 138****8001), and the phone
without its separators — and so does any other mobile or citizen ID number in the
text (a second phone the worker gave, a relative's). What remains reads as it did,
with ``已清除`` where the data was.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from activities.mail import ID_IN_TEXT, PHONE_IN_TEXT
from models.intake import mask_id, mask_name, mask_phone

PURGED = "〔已清除〕"


@dataclass(frozen=True)
class Scrubber:
    """The strings to take out, longest first so that a longer one (the ID number) is
    not cut by a shorter one it contains."""

    needles: tuple[str, ...]

    @classmethod
    def of(cls, *, name: str, phone: str, id_number: str | None) -> Scrubber:
        found: set[str] = set()
        # A one-character name would take that character out of every word.
        if len(name.strip()) >= 2:
            found |= {name.strip(), mask_name(name.strip())}
        if phone:
            digits = "".join(ch for ch in phone if ch.isdigit())
            found |= {phone, digits, mask_phone(phone)}
        if id_number:
            found |= {id_number, id_number.lower(), mask_id(id_number) or ""}
        found.discard("")
        return cls(tuple(sorted(found, key=lambda s: (-len(s), s))))

    def text(self, value: str | None) -> str | None:
        """``value`` without the worker's data or any phone or ID number."""
        if not value:
            return value
        for needle in self.needles:
            value = value.replace(needle, PURGED)
        value = ID_IN_TEXT.sub(PURGED, value)
        return PHONE_IN_TEXT.sub(PURGED, value)

    def json_text(self, value: str | None) -> str | None:
        """A JSON column scrubbed string by string (keys and numbers kept, so the
        figures and reports that read it see the same structure). Unchanged text is
        returned as it was, byte for byte: queries match its exact form."""
        if not value:
            return value
        try:
            data = json.loads(value)
        except ValueError:
            return self.text(value)
        scrubbed = self._walk(data)
        if scrubbed == data:
            return value
        return json.dumps(scrubbed, ensure_ascii=False, default=str)

    def _walk(self, value: Any) -> Any:
        if isinstance(value, str):
            return self.text(value)
        if isinstance(value, list):
            return [self._walk(v) for v in value]
        if isinstance(value, dict):
            return {k: self._walk(v) for k, v in value.items()}
        return value
