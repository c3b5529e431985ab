"""Name normalisation shared by the gazetteer, the recogniser and the resolver.

One function decides when two spellings are "the same name", so the index
built from GeoNames and the lookups made from article text always agree:
accents and case are ignored ("Spin Boldak" finds "Spīn Bōldak"), dots and
apostrophes are dropped ("U.S." -> "us"), and a leading article is removed.
"""

from __future__ import annotations

import re
import unicodedata

_SEPARATORS = re.compile(r"[\s\-‐‑‒–—_/]+")
_DROPPED = re.compile(r"[.'’‘`ʻʼ´\"“”(),]")
_LEADING_ARTICLE = re.compile(r"^the\s+")
# Characters that NFKD does not split into base letter + mark.
_FOLD = str.maketrans({"ı": "i", "ł": "l", "ø": "o", "đ": "d", "ð": "d", "þ": "th", "ß": "ss", "æ": "ae",
                       "œ": "oe", "ħ": "h"})


def normalize(name: str) -> str:
    """Fold a place name to its lookup key."""
    folded = unicodedata.normalize("NFKD", name.casefold().translate(_FOLD))
    folded = "".join(ch for ch in folded if not unicodedata.combining(ch))
    folded = _DROPPED.sub("", folded)
    folded = _SEPARATORS.sub(" ", folded).strip()
    return _LEADING_ARTICLE.sub("", folded)


def is_latin(name: str) -> bool:
    """True when every letter is Latin once accents are removed (the only names English text uses)."""
    return all(("a" <= ch <= "z") or not ch.isalpha() for ch in normalize(name))
