"""Wire-style datelines ("TASHKENT, Uzbekistan – ..."): where the reporter files from.

Used by recognition (the model often misses a place written in capitals)
and by resolution (the dateline sets the scene for ambiguous names).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

DATELINE = re.compile(
    r"^\s*(?P<place>[A-Z][A-Z.'’\- ]{1,40}?)(?:\s*,\s*(?P<qualifier>[A-Z][A-Za-z.'’\- ]{1,40}?))?"
    r"\s*(?:\([^)\n]{1,40}\)\s*)?[–—-]{1,2}\s"
)


@dataclass(frozen=True, slots=True)
class Dateline:
    place: str
    qualifier: str
    start: int
    end: int


def find_dateline(text: str) -> Dateline | None:
    """The dateline at the start of an article, if any."""
    match = DATELINE.match(text[:200])
    if not match:
        return None
    return Dateline(match["place"].strip(), (match["qualifier"] or "").strip(), match.start("place"), match.end())
