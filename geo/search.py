"""Places the editor names: gazetteer search (fuzzy), coordinates, and readings described in words.

The correction box needs what the resolver does not: when the right reading is not among the alternatives
the resolver weighed, the editor types it ("Newark, Delaware", "Tashknet", "39.68, -75.75"); and namesakes
("the four Newarks") must be told apart by province, country and size, not by code and coordinates.
No UI library here: the app formats what this module finds.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from rapidfuzz import fuzz, process

from geo.features import prior
from geo.gazetteer import ALT, Gazetteer
from geo.geometry import haversine_km
from geo.model import Candidate, Feature
from geo.names import normalize

USER_SOURCE = "user"  # Candidate.source of a point the editor gave as coordinates
SEARCH_LIMIT = 10  # readings offered for one typed name
FUZZY_CUTOFF = 75.0  # rapidfuzz ratio (0-100) a name must reach to count as a misspelling of what was typed
FUZZY_NAMES = 25  # distinct names looked up after the fuzzy pass
NEAR_TOWN_KM = 100.0  # a point this close to a town is said to be in that town's province and country
MIN_PREFIX = 3  # typed letters before names that merely start with them are offered


@dataclass(frozen=True, slots=True)
class Where:
    """The province (state) and country a reading lies in, by name; empty where there is none."""

    admin1: str = ""
    country: str = ""


def where(gazetteer: Gazetteer, candidate: Candidate) -> Where:
    """Names for the reading's codes, so "Newark, US" reads "New Jersey, United States"."""
    admin1 = ""
    if candidate.admin1 and candidate.feature not in (Feature.ADMIN1, Feature.COUNTRY):
        province = gazetteer.admin1(candidate.admin1)
        admin1 = province.name if province is not None else ""
    country = ""
    if candidate.country_code and candidate.feature is not Feature.COUNTRY:
        found = gazetteer.country(candidate.country_code)
        country = found.name if found is not None else candidate.country_code
    return Where(admin1=admin1, country=country)


def full_name(gazetteer: Gazetteer, candidate: Candidate) -> str:
    """"Newark, New Jersey, United States": the reading's name with its province and country."""
    place = where(gazetteer, candidate)
    parts = [candidate.name, place.admin1, place.country]
    return ", ".join(dict.fromkeys(p for p in parts if p))  # "Georgia, Georgia" reads once


# --------------------------------------------------------------------------- coordinates

_NUMBER = r"([-+−]?\d+(?:[.,]\d+)?)\s*°?\s*([NSEWnsew]?)"
_POINT = re.compile(rf"^\s*{_NUMBER}\s*[,;/\s]\s*{_NUMBER}\s*$")
_NUMERIC_LOOKING = re.compile(r"^[\s\d.,;:/°+\-−NSEWnsew]+$")


class CoordinateError(ValueError):
    """Text that looks like coordinates but is not a point on Earth; the message is one line."""


def parse_point(text: str) -> tuple[float, float] | None:
    """(lat, lon) from "40.73, -74.17", "40.73 -74.17" or "40.73°N 74.17°W"; None if the text is not numbers.

    Raises :class:`CoordinateError` when it is numbers but not a valid point (one number, out of range).
    """
    if not _NUMERIC_LOOKING.match(text) or not any(ch.isdigit() for ch in text):
        return None
    found = _POINT.match(text.replace("−", "-"))
    if found is None:
        raise CoordinateError("Give a latitude and a longitude, such as 40.73, -74.17.")
    lat = _signed(found.group(1), found.group(2), "NS")
    lon = _signed(found.group(3), found.group(4), "EW")
    if lat is None or lon is None:
        raise CoordinateError("Write the latitude (N or S) first, then the longitude (E or W).")
    if not -90.0 <= lat <= 90.0:
        raise CoordinateError(f"Latitude must be between -90 and 90; {lat:g} is not.")
    if not -180.0 <= lon <= 180.0:
        raise CoordinateError(f"Longitude must be between -180 and 180; {lon:g} is not.")
    return lat, lon


def _signed(number: str, hemisphere: str, allowed: str) -> float | None:
    """The number with its hemisphere's sign; None when the letter belongs to the other axis."""
    value = float(number.replace(",", "."))  # the pattern allows one separator: "40,73" is a decimal comma
    letter = hemisphere.upper()
    if letter and letter not in allowed:
        return None
    return -abs(value) if letter in ("S", "W") else value


def point_candidate(gazetteer: Gazetteer, name: str, lat: float, lon: float) -> Candidate:
    """The editor's own point for ``name``, in the province and country of the nearest town (if one is near)."""
    town = next(iter(gazetteer.nearest(lat, lon, limit=1)), None)
    near = town is not None and haversine_km(lat, lon, town.lat, town.lon) <= NEAR_TOWN_KM
    return Candidate(
        geonameid=None,
        name=name,
        lat=round(lat, 6),
        lon=round(lon, 6),
        feature=Feature.CITY,
        country_code=town.country_code if near else "",
        admin1=town.admin1 if near else "",
        source=USER_SOURCE,
    )


# --------------------------------------------------------------------------- names


@dataclass(frozen=True, slots=True)
class Found:
    """What a typed text gave: readings to choose from, or a one-line reason there are none."""

    candidates: tuple[Candidate, ...] = ()
    message: str = ""


def find(gazetteer: Gazetteer, text: str, name: str) -> Found:
    """Readings for what the editor typed for the spelling ``name``: a point, or gazetteer places."""
    text = " ".join(text.split())
    if not text:
        return Found(message="Type a place name or coordinates.")
    try:
        point = parse_point(text)
    except CoordinateError as exc:
        return Found(message=str(exc))
    if point is not None:
        return Found(candidates=(point_candidate(gazetteer, name, *point),))
    found = search(gazetteer, text)
    if not found:
        return Found(message=f"No place in the gazetteer is named like “{text}”; try another spelling or "
                             "give coordinates (latitude, longitude).")
    return Found(candidates=tuple(found))


def search(gazetteer: Gazetteer, text: str, limit: int = SEARCH_LIMIT) -> list[Candidate]:
    """Gazetteer places named like ``text``, best first: exact names, then names starting with it, then
    misspellings (rapidfuzz); bigger and more important places first among equally good names.

    "Name, qualifier" ("Newark, Delaware", "Paris, US") keeps the places whose province or country matches
    the qualifier, when any does.
    """
    head, _, qualifier = text.partition(",")
    query = normalize(head)
    if not query:
        return []
    scored: dict[str, tuple[float, float, Candidate]] = {}
    for norm, score in _similar_names(gazetteer, query):
        for candidate, kind in gazetteer.lookup_with_kind(norm):
            if kind > ALT:
                continue
            rank = (score, prior(candidate, kind))
            if candidate.key not in scored or rank > scored[candidate.key][:2]:
                scored[candidate.key] = (*rank, candidate)
    ranked = [c for _, _, c in sorted(scored.values(), key=lambda s: (-s[0], -s[1]))]
    wanted = normalize(qualifier)
    if wanted:
        # The qualifier may be any name or abbreviation the gazetteer has for a province or country ("N.J.").
        areas = {a.admin1 if a.feature is Feature.ADMIN1 else a.country_code for a in gazetteer.lookup(qualifier)
                 if a.feature in (Feature.ADMIN1, Feature.COUNTRY)} - {""}
        narrowed = [c for c in ranked if {c.admin1, c.country_code} & areas or _in_area(gazetteer, c, wanted)]
        ranked = narrowed or ranked
    return ranked[:limit]


def _similar_names(gazetteer: Gazetteer, query: str) -> list[tuple[str, float]]:
    """Index names like ``query`` with a score: 100 exact, 90 a longer name starting with it, else the fuzzy
    ratio. Only names with the same first letter are compared: a misspelling rarely starts wrong, and one
    letter's names (at most about 70,000) are compared in well under a tenth of a second."""
    first = query[0]
    pool = gazetteer.names_starting(first)
    out: dict[str, float] = {query: 100.0}
    if len(query) >= MIN_PREFIX:
        for norm in pool:
            if norm.startswith(query) and norm != query:
                out.setdefault(norm, 90.0 - min(len(norm) - len(query), 20) / 10)
    for norm, score, _ in process.extract(query, pool, scorer=fuzz.ratio, limit=FUZZY_NAMES,
                                          score_cutoff=FUZZY_CUTOFF):
        out.setdefault(norm, min(float(score), 89.0))
    best = sorted(out.items(), key=lambda item: -item[1])
    return best[: FUZZY_NAMES * 2]


def _in_area(gazetteer: Gazetteer, candidate: Candidate, wanted: str) -> bool:
    """Whether the qualifier names the reading's province or country (or is its country code)."""
    if wanted == candidate.country_code.lower():
        return True
    place = where(gazetteer, candidate)
    names = [normalize(n) for n in (place.admin1, place.country) if n]
    if candidate.feature is Feature.COUNTRY:
        names.append(normalize(candidate.name))
    return any(n == wanted or n.startswith(wanted) or fuzz.ratio(n, wanted) >= 85 for n in names)


def population_text(population: int) -> str:
    """"pop. 281,054", or "" when the population is unknown."""
    return f"pop. {population:,}" if population > 0 else ""
