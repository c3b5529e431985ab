"""Geocoders through geopy: the offline gazetteer as a real ``Geocoder``, and online ones.

Every provider follows geopy's one contract (``geocode``/``reverse`` returning
``Location``). Caching, rate limiting and the fall-back to the offline
gazetteer are wrappers around a provider (:class:`CandidateSource`), not mixed
into it.
"""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Callable
from dataclasses import dataclass

from geopy.adapters import BaseAdapter, RequestsAdapter
from geopy.exc import GeocoderQuotaExceeded, GeocoderRateLimited, GeocoderTimedOut, GeocoderUnavailable
from geopy.extra.rate_limiter import RateLimiter
from geopy.geocoders import get_geocoder_for_service
from geopy.geocoders import options as geopy_options
from geopy.geocoders.base import DEFAULT_SENTINEL, Geocoder
from geopy.location import Location

from geo.cache import GeocodeCache
from geo.features import prior
from geo.gazetteer import Gazetteer
from geo.model import Candidate, Feature
from geo.names import variants

log = logging.getLogger(__name__)

CANDIDATES_VERSION = 2  # bump when candidate generation changes: cached offline answers then expire
USER_AGENT = "dateline-geoparser/0.1 (+https://pypi.org/project/dateline/)"
CONNECT_TIMEOUT_S = 1.5  # a service that has not accepted the connection by then is taken to be unreachable
UNREACHABLE_PAUSE_S = 300.0  # after that, documents go straight to the offline gazetteer for this long


class Unreachable(Exception):
    """The online geocoder could not be reached (no route, no name, refused, connect timeout).

    Not a ``GeocoderServiceError``, so geopy's RateLimiter does not retry it: a service that is not there
    will not be there two seconds later, and the reader would wait for nothing.
    """


def candidate_to_location(candidate: Candidate) -> Location:
    address = ", ".join(p for p in (candidate.name, candidate.country_code) if p)
    return Location(address, (candidate.lat, candidate.lon), raw=candidate.to_dict())


class OfflineGazetteer(Geocoder):
    """The GeoNames-based gazetteer as a geopy geocoder: no network, ever."""

    def __init__(
        self, gazetteer: Gazetteer, *, timeout: float | None = None, user_agent: str | None = None, **kwargs
    ) -> None:
        super().__init__(
            scheme="https",
            timeout=timeout if timeout is not None else DEFAULT_SENTINEL,
            user_agent=user_agent or USER_AGENT,
            **kwargs,
        )
        self.gazetteer = gazetteer

    def geocode(
        self,
        query: str,
        *,
        exactly_one: bool = True,
        limit: int | None = None,
        country_codes: str | list[str] | None = None,
        feature: Feature | None = None,
        timeout=DEFAULT_SENTINEL,
    ) -> Location | list[Location] | None:
        """Entries named ``query``, most plausible first (population, kind, exact name)."""
        if not isinstance(query, str) or not query.strip():
            return None if exactly_one else []
        wanted = {country_codes} if isinstance(country_codes, str) else set(country_codes or ())
        wanted = {c.upper() for c in wanted}
        ranked = sorted(self.gazetteer.lookup_with_kind(query), key=lambda ck: -prior(*ck))
        locations = [
            candidate_to_location(c)
            for c, _ in ranked
            if (not wanted or c.country_code in wanted) and (feature is None or c.feature is feature)
        ]
        if limit:
            locations = locations[:limit]
        if exactly_one:
            return locations[0] if locations else None
        return locations

    def reverse(
        self, query, *, exactly_one: bool = True, limit: int = 10, timeout=DEFAULT_SENTINEL
    ) -> Location | list[Location] | None:
        """Nearest towns to a point (``"lat, lon"``, a tuple or a geopy ``Point``)."""
        from geopy.point import Point

        point = Point(query)
        nearest = self.gazetteer.nearest(point.latitude, point.longitude, limit=limit)
        locations = [candidate_to_location(c) for c in nearest]
        if exactly_one:
            return locations[0] if locations else None
        return locations


def location_to_candidate(location: Location, source: str) -> Candidate:
    """Any geopy ``Location`` as a Candidate; Nominatim's raw answer fills in kind and country."""
    raw = location.raw if isinstance(location.raw, dict) else {}
    if _coordinates_missing(raw):
        raise ValueError(f"answer for {location.address!r} has no coordinates")
    if "feature" in raw and "lat" in raw and "name" in raw:
        return Candidate.from_dict(raw)
    address = raw.get("address") or {}
    kind = str(raw.get("addresstype") or raw.get("type") or "")
    feature = {
        "country": Feature.COUNTRY,
        "state": Feature.ADMIN1,
        "province": Feature.ADMIN1,
        "region": Feature.ADMIN1,
        "county": Feature.ADMIN2,
        "continent": Feature.REGION,
        "aeroway": Feature.AIRPORT,
        "aerodrome": Feature.AIRPORT,
    }.get(kind, Feature.CITY)
    name = str(raw.get("name") or (location.address or "").split(",")[0] or location.address)
    importance = float(raw.get("importance") or 0.0)
    return Candidate(
        geonameid=None,
        name=name,
        lat=float(location.latitude),
        lon=float(location.longitude),
        feature=feature,
        country_code=str(address.get("country_code", "")).upper(),
        population=int(10 ** (2 + 6 * min(max(importance, 0.0), 1.0))),
        source=source,
    )


def _coordinates_missing(raw: dict) -> bool:
    """A Nominatim-style answer without usable "lat"/"lon" (geopy reads a missing one as 0.0, off Africa)."""
    if not {"lat", "lon", "display_name"} & raw.keys():
        return False  # another provider's shape: geopy parsed its point
    try:
        return not all(math.isfinite(float(raw[k])) for k in ("lat", "lon"))
    except (KeyError, TypeError, ValueError):
        return True


def _single_try_adapter(*, proxies, ssl_context) -> BaseAdapter:
    """geopy's HTTP adapter without its own silent retries (urllib3 retries each request twice at once).

    Retries then all go through the RateLimiter and its back-off: a failing
    provider gets ``max_retries + 1`` requests per name, within its rate limit.
    """
    factory = geopy_options.default_adapter_factory
    if factory is RequestsAdapter:
        return RequestsAdapter(proxies=proxies, ssl_context=ssl_context, max_retries=0)
    return factory(proxies=proxies, ssl_context=ssl_context)


def online_geocoder(
    service: str,
    *,
    user_agent: str = USER_AGENT,
    domain: str | None = None,
    scheme: str | None = None,
    timeout: float = 5.0,
    **kwargs,
) -> Geocoder:
    """A geopy geocoder by service name ("nominatim", "photon", ...) with a proper user agent."""
    cls = get_geocoder_for_service(service)
    if geopy_options.default_adapter_factory is RequestsAdapter:
        # requests takes (connect, read): an unreachable host fails within CONNECT_TIMEOUT_S, a slow answer has
        # the whole timeout.
        timeout = (min(CONNECT_TIMEOUT_S, timeout), timeout)  # type: ignore[assignment]
    options = {"user_agent": user_agent, "timeout": timeout, "adapter_factory": _single_try_adapter, **kwargs}
    if domain:
        options["domain"] = domain
    if scheme:
        options["scheme"] = scheme
    return cls(**options)


@dataclass
class CandidateSource:
    """Where the resolver gets candidates: a geocoder, behind the cache and the fall-back.

    ``geocoder`` may be the offline gazetteer or any geopy geocoder; online
    ones are called through geopy's ``RateLimiter`` (``min_delay`` seconds
    apart, retried with back-off on service errors). When the online
    geocoder fails, answers come from the offline gazetteer, a notice is
    recorded, and nothing is cached for the failed provider.

    One source serves a whole engine (the rate limit holds across documents);
    notices are returned per call.
    """

    gazetteer: Gazetteer
    cache: GeocodeCache | None = None
    geocoder: Geocoder | None = None
    min_delay: float = 1.0
    max_retries: int = 2
    error_wait: float = 2.0
    calls: int = 0
    unreachable_pause: float = UNREACHABLE_PAUSE_S
    paused_until: float = 0.0  # time.monotonic() before which the online geocoder is not asked

    def __post_init__(self) -> None:
        self.offline = OfflineGazetteer(self.gazetteer)
        # Cached offline answers are only valid for the gazetteer build that gave them.
        self.offline_key = f"offline:{self.gazetteer.built_at}:{CANDIDATES_VERSION}"
        self.online = (
            self.geocoder if self.geocoder is not None and not isinstance(self.geocoder, OfflineGazetteer) else None
        )
        if self.online is not None:
            extra = {"addressdetails": True} if "addressdetails" in _params(self.online.geocode) else {}

            def ask(query: str) -> list[Location] | None:
                try:
                    return self.online.geocode(query, exactly_one=False, **extra)
                except GeocoderUnavailable as exc:
                    raise Unreachable(str(exc)) from exc

            self._rate_limited: Callable = RateLimiter(
                ask,
                min_delay_seconds=self.min_delay,
                max_retries=self.max_retries,
                error_wait_seconds=self.error_wait,
                swallow_exceptions=False,
            )

    @property
    def service(self) -> str:
        """The online geocoder's name as users know it ("Nominatim")."""
        return type(self.online).__name__ if self.online is not None else "offline gazetteer"

    @property
    def unreachable_notice(self) -> str:
        return f"{self.service} could not be reached; places come from the offline gazetteer."

    def _failure_notice(self, exc: Exception) -> str:
        """One short line for the reader (the full error goes to the log); an unreachable service is not asked
        again for ``unreachable_pause`` seconds, so the next documents do not wait for it."""
        if isinstance(exc, Unreachable | GeocoderTimedOut):
            if isinstance(exc, Unreachable):
                self.paused_until = time.monotonic() + self.unreachable_pause
                return self.unreachable_notice
            return f"{self.service} timed out; places come from the offline gazetteer."
        if isinstance(exc, GeocoderRateLimited | GeocoderQuotaExceeded):
            why = "refused more requests for now"
        elif isinstance(exc, ValueError | TypeError | KeyError | AttributeError):
            why = "gave an answer Dateline cannot read"
        else:
            why = "answered with an error"
        return f"{self.service} {why}; places come from the offline gazetteer."

    @property
    def name(self) -> str:
        return type(self.online).__name__.lower() if self.online is not None else "offline"

    def _offline_answer(self, query: str) -> list[Candidate]:
        """Gazetteer entries for the name, else for a shorter form ("Karak district" -> "Karak")."""
        found = self.offline.geocode(query, exactly_one=False)
        for variant, _ in variants(query) if not found else ():
            found = self.offline.geocode(variant, exactly_one=False)
            if found:
                break
        return [location_to_candidate(loc, "gazetteer") for loc in found]

    def candidates_many(self, queries: list[str]) -> tuple[dict[str, list[Candidate]], list[str]]:
        """Candidates for each query, and notices; cached answers first, one cache write for the rest."""
        notices: list[str] = []
        online_failed = False
        answers: dict[str, list[Candidate]] = {}
        fresh: dict[str, list[Candidate]] = {}
        offline_fresh: dict[str, list[Candidate]] = {}
        if self.online is not None and time.monotonic() < self.paused_until:
            online_failed = True
            notices.append(self.unreachable_notice)
        for query in dict.fromkeys(queries):
            if self.online is not None and not online_failed:
                cached = self.cache.get(self.name, query) if self.cache else None
                if cached is not None:
                    answers[query] = cached
                    continue
                try:
                    self.calls += 1
                    found = self._rate_limited(query) or []
                    answers[query] = fresh[query] = [location_to_candidate(loc, self.name) for loc in found]
                    continue
                except Exception as exc:  # any failure of the provider, malformed answers included
                    online_failed = True
                    notices.append(self._failure_notice(exc))
                    # The reader gets the short notice; the provider's own words are for whoever reads the logs.
                    log.info("%s failed (%s: %s)", self.service, type(exc).__name__, " ".join(str(exc).split()))
            cached = self.cache.get(self.offline_key, query) if self.cache else None
            if cached is not None:
                answers[query] = cached
                continue
            self.calls += 1
            answers[query] = offline_fresh[query] = self._offline_answer(query)
        if self.cache is not None:
            self.cache.put_many(self.name, fresh)
            self.cache.put_many(self.offline_key, offline_fresh)
        return answers, notices


def _params(func: Callable) -> set[str]:
    import inspect

    try:
        return set(inspect.signature(func).parameters)
    except (TypeError, ValueError):
        return set()
