"""Wire-style datelines ("TASHKENT, Uzbekistan – ..."): where the reporter files from.

Used by recognition (the model often misses a place written in capitals)
and by resolution (the dateline sets the scene for ambiguous names).

Agencies write them in several ways, all of which are recognised:
"BEIRUT (AP) — ...", "WASHINGTON, April 5 (Reuters) - ...", "CAMP MURRAY, Wash. - ...",
"PLEASANTON, Calif.--(BUSINESS WIRE)--...", "SOUTH WAZIRISTAN, April 5 (APP): ...",
and after a by-line ("By Jill Colvin, Associated Press WASHINGTON (AP) — ...").
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass

_MONTH = r"(?:Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Sept|Oct|Nov|Dec)[a-z]*\.?"
_CAPS_WORD = r"[A-Z][A-Z.'’\-]+"
_TITLE_WORD = r"[A-Z][A-Za-z.'’]*(?:-[A-Za-z.'’]+)*"  # hyphens only inside ("Wilkes-Barre"), not "--"
DATELINE = re.compile(
    rf"(?P<place>{_CAPS_WORD}(?: {_CAPS_WORD}){{0,3}})"
    rf"(?:\s*,\s*(?P<qualifier>{_TITLE_WORD}(?: {_TITLE_WORD}){{0,3}}))?"
    rf"(?:\s*,\s*{_MONTH} \d{{1,2}}(?:,? \d{{4}})?)?"
    r"\s*(?P<agency>\([^)\n]{0,40}\)\s*)?"
    r"(?:--|[–—�]|-\s|:)"
)
# Where a dateline may start: the text's beginning, or right after a by-line or title sentence.
_START = re.compile(r"^\s*|(?<=[.\n])\s+|(?<=Press)\s+|(?<=Associated Press,)\s+")
SEARCH_CHARS = 300


@dataclass(frozen=True, slots=True)
class Dateline:
    place: str
    qualifier: str
    start: int
    end: int


def find_dateline(text: str) -> Dateline | None:
    """The dateline near the start of an article, if any."""
    return next(_datelines(text[:SEARCH_CHARS]), None)


def find_datelines(text: str) -> list[Dateline]:
    """Every dateline: the article's own, and those of further wire stories on the same page, which are
    recognised by their agency ("... the Guard. WASHINGTON (AP) - President ...")."""
    found = list(_datelines(text[:SEARCH_CHARS]))[:1]
    found += [d for d in _datelines(text, agency_only=True) if d.start >= SEARCH_CHARS]
    return found


def _datelines(text: str, agency_only: bool = False) -> Iterator[Dateline]:
    for start in _START.finditer(text):
        match = DATELINE.match(text, start.end())
        if match and len(match["place"].replace(".", "")) >= 3 and (match["agency"] or not agency_only):
            place, qualifier = match["place"].strip(), (match["qualifier"] or "").strip()
            yield Dateline(place, qualifier, match.start("place"), match.end())
