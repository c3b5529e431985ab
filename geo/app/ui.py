"""Streamlit-side plumbing for the explorer (app.py): articles, engines, caches, selection.

app.py stays a thin layout; what it needs to remember between reruns and what
is expensive lives here, so it can be tested without a browser:

* Articles (seeds, uploads, pasted texts) are :class:`Article` values kept in
  ``st.session_state`` by :func:`remember`, so a rerun never loses them.
* Engines are built once per server and geocoder choice, in a registry held by
  ``st.cache_resource``. The registry, not the Engine, is the cached value
  because building reports progress to the page, and Streamlit would record
  and replay those progress elements if they were made inside a cached call.
* Parse results are cached per (text, options, corrections revision) with
  ``st.cache_resource`` (shared, never copied: nothing here changes a Result);
  a saved correction changes the revision, so every text it may affect is
  parsed again and nothing stale is shown. Offline readings are also kept on
  disk (:class:`geo.cache.ReadingCache`, keyed by the engine's fingerprint as
  well), so a new server shows an article it read before without spaCy.
* All article and gazetteer text that becomes HTML goes through
  :mod:`markupsafe` or the :mod:`geo.app.mapview` helpers.
"""

from __future__ import annotations

import hashlib
import os
import re
import threading
import time
from collections.abc import Iterable, MutableMapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import folium
import streamlit as st
from branca.element import Element
from geopy.geocoders.base import Geocoder
from markupsafe import Markup

from geo.app.mapview import MapLayer, approximate_text, excerpt_html, highlight_html, is_low_confidence, kind_of
from geo.cache import Correction, ReadingCache
from geo.features import FEATURES
from geo.gazetteer import Gazetteer, ProgressCallback
from geo.geocoders import online_geocoder
from geo.model import APPROXIMATE_SOURCE, Candidate, Excerpt, Feature, Place, Reason, Result
from geo.pipeline import Engine
from geo.search import USER_SOURCE, full_name, population_text, where
from geo.textio import InputError, check_size, clean_text, read_upload

ROOT = Path(__file__).resolve().parents[2]
SEEDS_DIR = ROOT / "seeds"
DEFAULT_SEED = "tashkent-conference.txt"

OFFLINE = "Offline gazetteer"
NOMINATIM = "Nominatim (OpenStreetMap)"
GEOCODERS = (OFFLINE, NOMINATIM)

# Outline colour per article (distinct from the marker fill colours, which encode the kind of place).
ARTICLE_COLORS = ("#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e", "#8c564b", "#e377c2", "#17becf")
MAX_SHOWN = len(ARTICLE_COLORS)  # articles on the map at once: each keeps a colour of its own
PARSE_CACHE_ENTRIES = 64  # parse results kept in memory (one per text and option set)
PARSED = "parsed"  # session state: (article id, title, geocoder, demonyms, corrections) -> the Result shown
MAX_LABEL_CHARS = 40  # article labels in tooltips and the legend
ZOOM_FOR = {
    Feature.CITY: 8,
    Feature.ADMIN2: 7,
    Feature.ADMIN1: 6,
    Feature.COUNTRY: 5,
    Feature.REGION: 3,
    Feature.WATER: 4,
    Feature.AIRPORT: 11,
}

# Session-state keys (one place, so app.py and tests agree).
ARTICLES = "dl_articles"  # dict[id, Article]: uploads and pasted texts
SHOWN = "dl_shown"  # multiselect: ids of the articles on the map
SEEN_UPLOADS = "dl_seen_uploads"  # file_uploader file ids already read (or rejected)
UPLOAD_ERRORS = "dl_upload_errors"  # file id -> one-line message
SELECTED = "dl_selected"  # (article id, place key) or None
SEEN_CLICK = "dl_seen_click"  # signature of the last map click acted on
SEEN_TABLE = "dl_seen_table"  # last place-table selection acted on
VIEW = "dl_view"  # (lat, lon, zoom) the map should move to, after a pick in the list
VIEW_NONCE = "dl_view_nonce"  # alternates 0/1 so that every pick in the list moves the map
MAP_SCENE = "dl_map_scene"  # which articles and box the view was fitted to; a change refits it
MAP_KEY = "map"  # streamlit-folium copies the component's value here (its on_change)
TABLE_KEY = "places_table"


# --------------------------------------------------------------------------- articles


@dataclass(frozen=True)
class Article:
    """A text the user can put on the map; ``id`` is stable across reruns."""

    id: str
    title: str
    text: str
    origin: str  # "seed", "upload" or "paste"


def _digest(text: str) -> str:
    return hashlib.sha1(text.encode("utf-8", "surrogatepass")).hexdigest()[:12]


def _seed_title(stem: str) -> str:
    words = re.sub(r"[-_]+", " ", stem).strip()
    return words[:1].upper() + words[1:] if words else stem


def seed_articles(folder: Path = SEEDS_DIR) -> list[Article]:
    """Every readable article in seeds/, sorted by file name (unreadable ones are skipped)."""
    out = []
    for path in sorted(folder.glob("*")):
        if not path.is_file() or path.name.startswith("."):
            continue
        try:
            title, text = read_upload(path.name, path.read_bytes())
        except (InputError, OSError):
            continue
        if path.suffix.lower() in (".txt", ".text"):
            title = _seed_title(path.stem)
        out.append(Article(id=f"seed:{path.name}", title=title, text=text, origin="seed"))
    return out


def article_from_upload(name: str, data: bytes) -> Article:
    """An uploaded file as an Article; raises InputError with a one-line message."""
    title, text = read_upload(name, data)
    if not text.strip():
        raise InputError(f"{title}: the file has no text.")
    return Article(id=f"upload:{_digest(text)}", title=title, text=text, origin="upload")


def article_from_paste(text: str, title: str = "") -> Article:
    """Pasted text as an Article, titled by the user or by its first line."""
    text = clean_text(text).strip()
    if not text:
        raise InputError("Paste some text first.")
    check_size(text)
    title = " ".join(clean_text(title).split())
    if not title:
        first = " ".join(text.split("\n", 1)[0].split())
        title = first if len(first) <= 60 else first[:59].rstrip() + "…"
    return Article(id=f"paste:{_digest(text)}", title=title, text=text, origin="paste")


def init_state(state: MutableMapping[str, Any], seeds: list[Article]) -> None:
    """First run of a session: no extra articles, the default seed on the map."""
    state.setdefault(ARTICLES, {})
    state.setdefault(SEEN_UPLOADS, set())
    state.setdefault(UPLOAD_ERRORS, {})
    state.setdefault(SELECTED, None)
    if SHOWN not in state:
        default = [a.id for a in seeds if a.id == f"seed:{DEFAULT_SEED}"] or [a.id for a in seeds[:1]]
        state[SHOWN] = default


def keep_widget_state(state: MutableMapping[str, Any], keys: Iterable[str]) -> None:
    """Keep these widgets' values while the other view is shown.

    Streamlit forgets a widget's value on a run that does not draw it; a value the script sets itself is
    kept. Re-setting each one at the top of every run keeps the articles shown and the collection's filters
    across a switch of views.
    """
    for key in keys:
        if key in state:
            state[key] = state[key]


def remember(state: MutableMapping[str, Any], article: Article, *, show: bool = True) -> None:
    """Keep an uploaded/pasted article for the session and (by default) put it on the map.

    Must run before the "articles on the map" multiselect is drawn in this run. At most :data:`MAX_SHOWN`
    articles are on the map: a new one takes the place of the one shown longest, which stays in the
    session's list (nothing is lost) and comes back when picked again.
    """
    if article.origin != "seed":
        state[ARTICLES] = {**state.get(ARTICLES, {}), article.id: article}
    if show and article.id not in state.get(SHOWN, []):
        state[SHOWN] = [*state.get(SHOWN, []), article.id][-MAX_SHOWN:]


def add_upload(state: MutableMapping[str, Any], file_id: str, name: str, data: bytes) -> Article | None:
    """Read one uploaded file once; a bad file is remembered as a message, never raised.

    ``file_id`` identifies this upload (streamlit's UploadedFile.file_id), so a
    file is read on the rerun after it was dropped in, not on every rerun.
    """
    seen: set[str] = state.setdefault(SEEN_UPLOADS, set())
    if file_id in seen:
        return None
    seen.add(file_id)
    try:
        article = article_from_upload(name, data)
    except InputError as exc:
        state.setdefault(UPLOAD_ERRORS, {})[file_id] = f"{name}: {exc}"
        return None
    remember(state, article)
    return article


def all_articles(state: MutableMapping[str, Any], seeds: list[Article]) -> dict[str, Article]:
    """Seeds first, then the session's uploads and pastes in the order they were added."""
    out = {a.id: a for a in seeds}
    out.update(state.get(ARTICLES, {}))
    return out


def article_color(article_id: str, order: list[str]) -> str:
    """A colour that stays with an article while others are shown or hidden."""
    index = order.index(article_id) if article_id in order else len(order)
    return ARTICLE_COLORS[index % len(ARTICLE_COLORS)]


def short_label(title: str) -> str:
    title = " ".join(title.split())
    return title if len(title) <= MAX_LABEL_CHARS else title[: MAX_LABEL_CHARS - 1].rstrip() + "…"


# --------------------------------------------------------------------------- engines and parsing


def cache_dir() -> Path:
    """DATELINE_CACHE_DIR, else the project's cache/ (read per call: tests point it elsewhere)."""
    return Path(os.environ.get("DATELINE_CACHE_DIR") or ROOT / "cache").resolve()


def offline_assets_wanted() -> bool:
    """Local Leaflet and the country-outline basemap: when DATELINE_OFFLINE_ASSETS asks, or no CDN answers.

    geo.app.offline_assets decides (it probes the CDNs once per process); without
    that module only the environment variable counts.
    """
    try:
        from geo.app.offline_assets import use_offline_assets
    except ModuleNotFoundError as exc:
        if exc.name != "geo.app.offline_assets":
            raise
        return os.environ.get("DATELINE_OFFLINE_ASSETS", "").strip().lower() in ("1", "true", "yes", "on")
    return use_offline_assets()


FIRST_PAGE = threading.Event()  # set when a browser has drawn this server's first map (geo.app.server waits)
_last_page_run = [0.0]  # monotonic time at which a page last ran (geo.app.server waits for a quiet spell)


def note_page_run() -> None:
    _last_page_run[0] = time.monotonic()


def last_page_run() -> float:
    return _last_page_run[0]


@dataclass
class _EngineHub:
    lock: threading.Lock = field(default_factory=threading.Lock)
    engines: dict[tuple[str, str], Engine] = field(default_factory=dict)


@st.cache_resource(show_spinner=False)
def _hub() -> _EngineHub:
    return _EngineHub()


def _geocoder(choice: str) -> Geocoder | None:
    """None means the offline gazetteer; DATELINE_NOMINATIM_DOMAIN points at a private Nominatim."""
    if choice == NOMINATIM:
        domain = os.environ.get("DATELINE_NOMINATIM_DOMAIN") or None
        return online_geocoder("nominatim", domain=domain)
    return None


def engine_ready(cache: Path, choice: str) -> bool:
    return (str(cache), choice) in _hub().engines


def get_engine(cache: Path, choice: str, progress: ProgressCallback | None = None) -> Engine:
    """The server's engine for this cache dir and geocoder, built on first use (one builder at a time)."""
    hub = _hub()
    key = (str(cache), choice)
    with hub.lock:
        if key not in hub.engines:
            hub.engines[key] = Engine(cache, geocoder=_geocoder(choice), progress=progress)
        return hub.engines[key]


def st_folium(fmap: folium.Map, **options: Any) -> Any:
    """streamlit-folium's ``st_folium``, imported at its first use.

    Streamlit registers a component (and serves its files) only if it is declared during a script run.
    app.py is first imported by the server, outside any run (see :mod:`geo.app.server`), so importing
    streamlit-folium there would leave its map a blank frame (a 404 for its page).
    """
    from streamlit_folium import st_folium as draw

    return draw(fmap, **options)


def corrections_revision(engine: Engine) -> str:
    """A fingerprint of every saved correction: part of the parse cache key."""
    rows = [(c.name, c.context, c.candidate.key if c.candidate else "-") for c in engine.corrections.all()]
    return hashlib.sha1(repr(rows).encode()).hexdigest()


@st.cache_resource(show_spinner=False)
def _readings(cache: str) -> ReadingCache:
    return ReadingCache(Path(cache) / "readings.sqlite3")


def reading_key(engine: Engine, text: str, title: str, include_demonyms: bool, revision: str) -> str:
    """Everything a reading depends on: the engine (code, data, models), the corrections, the options, the text."""
    parts = (engine.fingerprint, revision, str(include_demonyms), title, text)
    return hashlib.sha256("\0".join(parts).encode("utf-8", "surrogatepass")).hexdigest()


# A resource cache, not a data cache: the app only reads a Result, and st.cache_data would unpickle a fresh copy
# of every article's Result on every rerun (each click) of every session.
@st.cache_resource(max_entries=PARSE_CACHE_ENTRIES, show_spinner=False)
def _parse(text: str, title: str, include_demonyms: bool, choice: str, cache: str, revision: str) -> Result:
    """The engine's reading; an offline one is kept on disk too (an online geocoder's answers may change)."""
    engine = get_engine(Path(cache), choice)
    if choice != OFFLINE:
        return engine.parse(text, title=title, include_demonyms=include_demonyms)
    key = reading_key(engine, text, title, include_demonyms, revision)
    kept = _readings(cache).get(key)
    if kept is not None:
        return kept
    result = engine.parse(text, title=title, include_demonyms=include_demonyms)
    _readings(cache).put(key, result)
    return result


def parse(
    engine_dir: Path,
    choice: str,
    article: Article,
    *,
    include_demonyms: bool,
    revision: str,
    state: MutableMapping[str, Any] | None = None,
) -> Result:
    """The engine's reading of an article, computed once per text, options and corrections.

    With the session's ``state``, the session also keeps the results it shows (``PARSED``; see
    :func:`keep_parsed`): the shared cache holds a bounded number of results for all sessions, and when many
    readers each show many articles, one session's new articles would evict another's, whose next click
    would then wait for its articles to be parsed again.
    """
    key = (article.id, article.title, choice, include_demonyms, revision)
    memo = state.setdefault(PARSED, {}) if state is not None else {}
    if key not in memo:
        memo[key] = _parse(article.text, article.title, include_demonyms, choice, str(engine_dir), revision)
    return memo[key]


def keep_parsed(state: MutableMapping[str, Any], article_ids: Iterable[str]) -> None:
    """Forget the session's results for articles no longer shown, and all but the newest of each shown one
    (older ones were read with other options or before a correction)."""
    wanted = set(article_ids)
    memo = state.get(PARSED, {})
    newest = {key[0]: key for key in memo}  # insertion order: the last key of an article is its newest
    for key in [k for k in memo if k[0] not in wanted or newest[k[0]] != k]:
        del memo[key]


def context_of(result: Result) -> str:
    """The key the resolver files this document's corrections under (dateline or main country)."""
    return result.context or ""


# --------------------------------------------------------------------------- map and selection


@dataclass(frozen=True)
class Row:
    """One line of the places list: one marker on the map."""

    article_id: str
    layer: int
    place: Place


def place_rows(layers: list[MapLayer], article_ids: list[str], *, show_low: bool) -> list[Row]:
    """Markers in list order: each article's places, most mentioned first."""
    return [
        Row(aid, i, place)
        for i, (layer, aid) in enumerate(zip(layers, article_ids, strict=True))
        for place in layer.result.places
        if show_low or not is_low_confidence(place)
    ]


def row_index(rows: list[Row], selected: tuple[str, str] | None) -> int | None:
    if selected is None:
        return None
    return next((i for i, r in enumerate(rows) if (r.article_id, r.place.key) == tuple(selected)), None)


def click_signature(value: Any) -> tuple | None:
    """What identifies one click in streamlit-folium's value (zoom changes are not clicks)."""
    if not isinstance(value, dict) or not isinstance(value.get("last_object_clicked"), dict):
        return None
    point = value["last_object_clicked"]
    return (point.get("lat"), point.get("lng"), value.get("last_object_clicked_tooltip"),
            value.get("last_object_clicked_count"))


def table_selection(value: Any) -> list[int]:
    """Selected row numbers from st.dataframe's state (a dict, or its attribute-dict)."""
    try:
        rows = value["selection"]["rows"]
    except (KeyError, TypeError):
        return []
    return [int(r) for r in rows]


def table_state(rows: list[int]) -> dict[str, dict[str, list]]:
    return {"selection": {"rows": rows, "columns": [], "cells": []}}


def view_for(c: Candidate, state: MutableMapping[str, Any]) -> tuple[float, float, float]:
    """Where the map goes when a place is picked in the list (closer in for smaller places).

    streamlit-folium moves the map only when ``center``/``zoom`` differ from
    the last ones it applied, so picking the same place twice (after panning
    away) would do nothing. Each pick therefore nudges the view by a
    centimetre and a millionth of a zoom level (Leaflet snaps the zoom back
    to a whole level), alternating, which makes every pick a change.
    """
    nonce = state[VIEW_NONCE] = (state.get(VIEW_NONCE, 0) + 1) % 2
    return (c.lat + nonce * 1e-7, c.lon, ZOOM_FOR.get(c.feature, 6) + nonce * 1e-6)


def stable_ids(element: Element) -> Element:
    """Give every element under ``element`` an id that depends only on its position.

    Folium ids are random, and streamlit-folium only normalises some of them,
    so the same markers would produce a different script on every rerun and
    the browser would redraw them all each time. Parents key their children
    by name (templates use those keys as JS variable names), so they are
    re-keyed too. Returns ``element``.
    """
    counter = iter(range(1_000_000_000))

    def visit(node: Element) -> None:
        parts = [getattr(node, name, None) for name in ("header", "html", "script")]
        for part in (p for p in parts if isinstance(p, Element)):
            visit(part)  # popups keep their content in separate header/html/script trees
        children = list(node._children.values())
        for child in children:
            child._id = f"dl{next(counter)}"
            visit(child)
        node._children = type(node._children)((child.get_name(), child) for child in children)

    visit(element)
    return element


MAP_CSS = (
    "<style>"
    ".leaflet-container{font:12px/1.4 'Source Sans Pro','Segoe UI',Roboto,sans-serif;}"
    ".leaflet-control-attribution{font-size:10.5px!important;line-height:1.4;max-width:75%;}"
    ".leaflet-control-scale-line{font-size:11px;line-height:1.2;}"
    ".leaflet-tooltip{font-size:13px;font-weight:600;}"
    "</style>"
)


def style_map(fmap: folium.Map) -> folium.Map:
    """Small, constant CSS for the map page: a compact credit line and readable tooltips."""
    fmap.get_root().header.add_child(folium.Element(MAP_CSS), name="dateline_css")
    return fmap


def scene_of(article_ids: list[str], box: list[list[float]] | None) -> tuple:
    """What the map's fitted view depends on: which articles, and the box around their places."""
    return (tuple(article_ids), tuple(tuple(p) for p in box) if box else None)


def scene_key(scene: tuple) -> str:
    """A short stable name for a scene, which the browser compares to know when to refit."""
    return hashlib.sha1(repr(scene).encode("utf-8")).hexdigest()[:16]


# --------------------------------------------------------------------------- text for the page

_MD_SPECIAL = re.compile(r"([\\`*_{}\[\]()#+\-.!|<>~$:])")


def md_escape(text: str) -> str:
    """Plain text safe inside Streamlit Markdown (st.warning, st.error, st.markdown)."""
    return _MD_SPECIAL.sub(r"\\\1", " ".join(str(text).split()))


def kind_label(candidate: Candidate) -> str:
    if candidate.source == APPROXIMATE_SOURCE:
        return "approximate location"
    if candidate.source == USER_SOURCE:
        return "your point"
    return {
        "city": "city / town",
        "admin": "province / district",
        "country": "country",
        "region": "region",
        "water": "sea / gulf",
        "airport": "airport",
    }[kind_of(candidate.feature)]


def candidate_label(candidate: Candidate, confidence: float | None = None, *, gazetteer: Gazetteer) -> str:
    """Plain-text one-liner for a reading that tells namesakes apart (select boxes, lists):
    "Newark, New Jersey, United States · city / town · pop. 281,054 · 92%". A reading of unknown size shows
    its coordinates instead; the editor's own point says so."""
    if candidate.source == USER_SOURCE:
        detail = f"{candidate.lat:.4f}, {candidate.lon:.4f}"
    else:
        detail = population_text(candidate.population) or f"{candidate.lat:.2f}, {candidate.lon:.2f}"
    score = f" · {round(confidence * 100)}%" if confidence is not None else ""
    return f"{full_name(gazetteer, candidate)} · {kind_label(candidate)} · {detail}{score}"


def correction_label(fix: Correction, *, gazetteer: Gazetteer) -> str:
    """Plain text for one saved correction: "Newark → Newark, New Jersey, United States (articles set in the
    United States)"."""
    if fix.candidate is None:
        target = "not a place"
    elif fix.candidate.source == USER_SOURCE:
        target = f"{full_name(gazetteer, fix.candidate)} ({fix.candidate.lat:.4f}, {fix.candidate.lon:.4f})"
    else:
        target = full_name(gazetteer, fix.candidate)
    return f"{fix.name} → {target} ({scope_label(fix.context, gazetteer=gazetteer)})"


def scope_label(context: str, *, gazetteer: Gazetteer) -> str:
    """Where a correction applies, in words: "every article", "articles set in Uzbekistan"."""
    if context == "*":
        return "every article"
    if not context:
        return "articles with no main country"
    country = gazetteer.country(context)
    return f"articles set in {country.name if country else context}"


def country_name(engine: Engine, code: str) -> str:
    if not code:
        return ""
    country = engine.gazetteer.country(code)
    return country.name if country else code


def focus_html(layers: list[MapLayer]) -> str:
    """The "Mainly about" line: one article's main country, or for several each country once with the articles
    about it ("Mainly about: Afghanistan (Tashkent conference, Border trade) and Pakistan (Floods)."); empty
    when no article has one."""
    groups: dict[str, tuple[Candidate, list[MapLayer]]] = {}
    for layer in layers:
        focus = layer.result.focus
        if focus is not None:
            groups.setdefault(focus.key, (focus, []))[1].append(layer)
    if not groups:
        return ""
    if len(layers) == 1:
        (focus, _), = groups.values()
        return str(Markup('<div class="dl-focus">Mainly about: <b>{}</b></div>').format(focus.name))
    parts = []
    for focus, articles in groups.values():
        named = (Markup('<span style="color:{}">{}</span>').format(a.color, a.label) for a in articles)
        parts.append(Markup("<b>{}</b> ({})").format(focus.name, Markup(", ").join(named)))
    listed = parts[0] if len(parts) == 1 else Markup(", ").join(parts[:-1]) + Markup(" and ") + parts[-1]
    return str(Markup('<div class="dl-focus">Mainly about: {}.</div>').format(listed))


NO_PLACES_HINT = (
    "Dateline found no place names in this text. It reads English news; a place it missed may be written in a "
    "way it does not recognise, or be too small for its gazetteer."
)


def article_text_html(layer: MapLayer) -> str:
    """An article's title and whole text, escaped, in a scrolling box (for an article with no places)."""
    title = layer.result.title or layer.label
    return str(Markup('<div class="dl-card" style="border-left-color:{}"><div class="dl-card-title">{}</div>'
                      "</div>{}").format(layer.color, title, Markup(highlight_html(layer.result.text, []))))


def page_notices(layers: list[MapLayer]) -> list[str]:
    """Each distinct notice once, for the whole page: a geocoder that cannot be reached is one warning, not one
    per article. A notice only some of the articles got names them."""
    seen: dict[str, list[str]] = {}
    for layer in layers:
        for notice in layer.result.notices:
            seen.setdefault(notice, []).append(layer.label)
    return [
        notice if len(labels) == len(layers) or len(layers) == 1 else f"{', '.join(labels)}: {notice}"
        for notice, labels in seen.items()
    ]


FEATURE_WHY = {name: why for name, _, why in FEATURES}
REASONS_SHOWN = 3  # the strongest few each way; the rest are small


def reasons(why: Iterable[Reason], shown: int = REASONS_SHOWN) -> tuple[list[Reason], list[Reason]]:
    """The features that weighed most for and against a reading against its rival, strongest first; features
    that barely moved it are left out."""
    moved = [r for r in why if abs(r.share) >= 0.05]
    pro = sorted((r for r in moved if r.share > 0), key=lambda r: -r.share)[:shown]
    con = sorted((r for r in moved if r.share < 0), key=lambda r: r.share)[:shown]
    return pro, con


def reasons_html(why: Iterable[Reason], rival: str = "") -> Markup:
    """One escaped line saying why the ranker chose a reading over ``rival`` (the runner-up); each feature's
    own why is its tooltip. A feature the rival has more of is named as the rival's ("stray abroad (America,
    AR)")."""
    pro, con = reasons(why)
    if not pro and not con:
        return Markup("")

    def items(rows: list[Reason]) -> Markup:
        return Markup(", ").join(
            Markup('<span class="dl-reason" title="{}">{}{} {:+.1f}</span>').format(
                FEATURE_WHY.get(r.feature, ""),
                r.feature.replace("_", " "),
                Markup(" ({})").format(rival or "rival") if r.rival_value > r.value else "",
                r.share,
            )
            for r in rows
        )

    parts = []
    if pro:
        parts.append(Markup("for: {}").format(items(pro)))
    if con:
        parts.append(Markup("against: {}").format(items(con)))
    over = Markup(" over {}").format(rival) if rival else Markup("")
    return Markup('<div class="dl-card-sub dl-why">Why this reading{} · {}</div>').format(
        over, Markup(" · ").join(parts)
    )


def place_card_html(place: Place, *, country: str, article_title: str, color: str, rival: str | None = None
                    ) -> str:
    """Escaped HTML header of the side panel: name, where (``country``: "New Jersey, United States"), how
    often, how sure, and why it beat ``rival`` (by default :func:`runner_up`)."""
    c = place.candidate
    low = is_low_confidence(place)
    corrected = any(m.corrected for m in place.mentions)
    badges = Markup("")
    if low:
        badges += Markup('<span class="dl-badge dl-warn">⚠ low confidence: check this reading</span>')
    if place.approximate:
        badges += Markup('<span class="dl-badge dl-approximate">≈ approximate location</span>')
    if corrected:
        badges += Markup('<span class="dl-badge dl-fixed">✔ your correction</span>')
    times = "once" if place.count == 1 else f"{place.count} times"
    forms = [f for f in place.surface_forms if f != c.name]
    written = Markup(" · written {}").format(", ".join(forms)) if forms else Markup("")
    only_reading = (
        Markup('<div class="dl-card-sub dl-why">The only reading considered for this name</div>')
        if not (corrected or place.approximate or place.alternatives)
        else Markup("")
    )
    near = (
        Markup('<div class="dl-card-sub dl-approximate-note">{}</div>').format(approximate_text(place))
        if place.approximate
        else Markup("")
    )
    return str(Markup(
        '<div class="dl-card" style="border-left-color:{color}">'
        '<div class="dl-card-title">{name}</div>'
        '<div class="dl-card-sub">{kind}{country} · {lat:.4f}, {lon:.4f}</div>'
        "{near}"
        '<div class="dl-card-sub">Mentioned {times} in <i>{article}</i>{written}</div>'
        '<div class="dl-card-sub">Confidence <b>{conf}%</b>{badges}</div>'
        "{why}"
        "</div>"
    ).format(color=color, name=c.name, kind=kind_label(c).capitalize(),
             country=Markup(" in {}").format(country) if country else "",
             lat=c.lat, lon=c.lon, near=near, times=times, article=article_title, written=written,
             conf=round(place.confidence * 100), badges=badges,
             why=reasons_html(place.why, rival=runner_up(place) if rival is None else rival) or only_reading))


def runner_up(place: Place, gazetteer: Gazetteer | None = None) -> str:
    """The reading that came second, as the card names it: "Newark, Ohio, United States" with the gazetteer to
    name its province and country, else "Newark, US"."""
    if not place.alternatives:
        return ""
    c = place.alternatives[0].candidate
    if gazetteer is not None:
        return full_name(gazetteer, c)
    return c.name + (f", {c.country_code}" if c.country_code else "")


def area_name(gazetteer: Gazetteer, candidate: Candidate) -> str:
    """The province and country a reading lies in ("New Jersey, United States"), for the place card."""
    place = where(gazetteer, candidate)
    return ", ".join(dict.fromkeys(p for p in (place.admin1, place.country) if p and p != candidate.name))


def passages(place: Place, result: Result) -> list[tuple[Excerpt, list[tuple[int, int]]]]:
    """The place's sentences in article order, each once, with every mention of the place in it."""
    grouped: dict[int, tuple[Excerpt, list[tuple[int, int]]]] = {}
    for e in place.excerpts(result.text):
        grouped.setdefault(e.doc_start, (e, []))[1].append((e.start, e.end))
    return [grouped[k] for k in sorted(grouped)]


def excerpts_html(place: Place, result: Result, *, color: str) -> str:
    """Every passage naming the place, in article order, its mentions marked (escaped by mapview)."""
    items = []
    for excerpt, spans in passages(place, result):
        if len(spans) == 1:
            body = Markup(excerpt_html(excerpt))
        else:  # one sentence naming the place twice: show it once, both marked
            body = Markup(highlight_html(excerpt.text, [(a, b, "") for a, b in spans], {a for a, _ in spans}))
        items.append(Markup('<li class="dl-excerpt" style="border-left-color:{}">{}</li>').format(color, body))
    return str(Markup('<ol class="dl-excerpts">{}</ol>').format(Markup("").join(items)))


def article_legend_html(entries: Iterable[tuple[str, str]]) -> str:
    """Swatches naming the article each outline colour stands for (titles escaped)."""
    spans = [
        Markup('<span class="dl-swatch"><span style="border-color:{}"></span>{}</span>').format(color, title)
        for title, color in entries
    ]
    return str(Markup('<div class="dl-legend">{}</div>').format(Markup("").join(spans)))


def mentions_for_highlight(result: Result) -> list[tuple[int, int, str]]:
    """(start, end, hover text) of every mention of a mapped place, for mapview.highlight_html."""
    return sorted((m.start, m.end, p.name) for p in result.places for m in p.mentions)

CSS = """
<style>
.dl-card {border-left: 6px solid #333; padding: .4rem .8rem; margin-bottom: .6rem;
  background: rgba(127,127,127,.06); border-radius: 4px;}
.dl-card-title {font-size: 1.45rem; font-weight: 700; line-height: 1.3;}
.dl-card-sub {color: rgba(49,51,63,.8); font-size: .92rem; margin-top: .1rem;}
.dl-reason {border-bottom: 1px dotted rgba(49,51,63,.5); cursor: help;}
.dl-badge {display: inline-block; margin-left: .5rem; padding: 0 .4rem; border-radius: 3px;
  font-size: .8rem;}
.dl-warn {background: #fde7e9; color: #b00020;}
.dl-fixed {background: #e6f4ea; color: #137333;}
.dl-badge.dl-approximate {background: #eeeeee; color: #444444;}
ol.dl-excerpts {padding-left: 1.4rem; margin: 0;}
li.dl-excerpt {border-left: 3px solid #999; padding: .2rem .6rem; margin: 0 0 .55rem 0;
  line-height: 1.5;}
mark.dl-mention {background: #fff1a8; color: inherit; padding: 0 .1rem; border-radius: 2px;}
mark.dl-mention.dl-selected {background: #ffbf3f; font-weight: 600;}
.dl-excerpt .dl-article {max-height: none; overflow: visible; padding: 0; line-height: 1.5;}
.dl-article {max-height: 28rem; overflow-y: auto; line-height: 1.6; padding: .2rem .4rem;}
.dl-legend {display: flex; flex-wrap: wrap; gap: .3rem 1rem; font-size: .9rem; margin: 0 0 .3rem 0;}
.dl-swatch span {display: inline-block; width: .9rem; height: .9rem; border-radius: 50%;
  border: 3px solid; margin-right: .35rem; vertical-align: -2px;}
.dl-focus {font-size: 1.05rem; margin: 0 0 .2rem 0;}
[data-testid="stMainBlockContainer"] {padding-top: 4rem;}  /* clears the fixed top bar */
[data-testid="stMainBlockContainer"] h1 {font-size: 2.1rem; padding-top: 0;}
</style>
"""
