"""The app's Collection view: a whole geoparsed archive (a store made by ``python -m geo index``) on one map.

Places are drawn sized by how many articles name them. A map of 100,000 places would be unreadable and
slow, so only the places named by most articles in the part of the map in view are drawn
(:data:`geo.archive.explore.TOP_IN_VIEW`); zooming in shows the smaller ones. Clicking a place lists the
articles that name it, newest first, each with the sentences that do; *Open* shows an article in the
single-article view. The store is opened once per server (``st.cache_resource``), and reopened when an
index run adds to it.
"""

from __future__ import annotations

import argparse
import html
import math
import os
from collections.abc import MutableMapping, Sequence
from datetime import date
from pathlib import Path
from typing import Any

import pandas as pd
import streamlit as st
from markupsafe import Markup, escape

from geo.app import ui
from geo.app.mapview import (
    DEFAULT_STROKE,
    KIND_COLORS,
    SELECTED_STROKE,
    FitOnce,
    MarkerSpec,
    PlaceMarkers,
    _degrees_per_pixel,
    _js_template_safe,
    base_map,
    kind_of,
)
from geo.archive.explore import ArticleHit, Box, Collection, CollectionPlace, Scope, store_signature
from geo.archive.store import StoreError
from geo.gazetteer import Gazetteer, GazetteerError
from geo.model import Feature

ARTICLES_VIEW = "One article at a time"
COLLECTION_VIEW = "Collection"
VIEWS = (ARTICLES_VIEW, COLLECTION_VIEW)

VIEW_MODE = "dl_view_mode"  # radio: which view
STORE = "dl_store"  # text input: the store's folder
DATES = "dl_coll_dates"  # slider: (from, to)
COUNTRY = "dl_coll_country"  # selectbox: "" or an ISO code
TEXT = "dl_coll_text"  # text input: words the articles contain
PLACE = "dl_coll_place"  # the chosen place's key, or None
SEEN_CLICK = "dl_coll_seen_click"
DRAWN = "dl_coll_drawn"  # (tooltip, lat, lon, place key) of the markers drawn last run: what a click can hit
FIT_SCENE = "dl_coll_scene"  # the store and filters the map was last fitted to
FIT_BOX = "dl_coll_box"
MAP_KEY = "collection_map"
WIDGETS = (VIEW_MODE, STORE, DATES, COUNTRY, TEXT)

RETURNED = ["last_object_clicked", "last_object_clicked_tooltip", "last_object_clicked_count", "bounds", "zoom"]
MAP_HEIGHT = 560
ARTICLES_LISTED = 15  # newest articles listed for a place at first; "Show more" lists as many again
LISTED = "dl_coll_listed"  # (place key, how many articles are listed)
MIN_RADIUS, MAX_RADIUS = 4.0, 22.0
ENV_STORE = "DATELINE_STORE"


# --------------------------------------------------------------------------- pure helpers


def store_from_argv(argv: Sequence[str]) -> str:
    """``streamlit run app.py -- --store PATH`` (then DATELINE_STORE): the store to open at start, or ""."""
    parser = argparse.ArgumentParser(add_help=False)
    parser.add_argument("--store", default="")
    known, _ = parser.parse_known_args(list(argv))
    return known.store or os.environ.get(ENV_STORE, "")


def init_state(state: MutableMapping[str, Any], argv: Sequence[str]) -> None:
    """First run: a store given on the command line opens the Collection view."""
    if STORE not in state:
        state[STORE] = store_from_argv(argv)
        state[VIEW_MODE] = COLLECTION_VIEW if state[STORE] else ARTICLES_VIEW
    state.setdefault(PLACE, None)


def month_series(counts: Sequence[tuple[date, int]], first: date | None, last: date | None) -> pd.DataFrame:
    """Articles per month from ``first`` to ``last`` with the empty months as zeros (a time axis without gaps),
    labelled "2024-06" so that each month is one bar."""
    if not counts:
        return pd.DataFrame({"month": [], "articles": []})
    start = min([m for m, _ in counts] + ([first.replace(day=1)] if first else []))
    end = max([m for m, _ in counts] + ([last.replace(day=1)] if last else []))
    by_month = {(m.year, m.month): n for m, n in counts}
    rows, year, month = [], start.year, start.month
    while (year, month) <= (end.year, end.month):
        rows.append((f"{year:04d}-{month:02d}", by_month.get((year, month), 0)))
        year, month = (year + 1, 1) if month == 12 else (year, month + 1)
    return pd.DataFrame(rows, columns=["month", "articles"])


CHART_HEIGHT = 110  # pixels of bars, above one line of month labels


def month_chart_html(frame: pd.DataFrame, label: str) -> str:
    """The articles per month as a small SVG bar chart (each bar says its month and count on hover).

    Plain SVG rather than ``st.bar_chart``: Vega-Lite is 0.8 MB of script that the browser parsed before it
    made the map's frame, about 0.4 s of every visitor's first map, for a chart that only shows counts.
    """
    months, counts = list(frame["month"]), [int(n) for n in frame["articles"]]
    if not months:
        return ""
    most = max(max(counts), 1)
    width = 1000 / len(months)  # the viewBox is 1000 wide; the SVG stretches to the column
    bars = Markup("").join(
        Markup('<rect x="{:.2f}" y="{:.2f}" width="{:.2f}" height="{:.2f}"><title>{}: {}</title></rect>').format(
            i * width + width * 0.1, CHART_HEIGHT - CHART_HEIGHT * n / most, width * 0.8,
            CHART_HEIGHT * n / most, month, f"{n:,} article" + ("" if n == 1 else "s"),
        )
        for i, (month, n) in enumerate(zip(months, counts, strict=True))
    )
    return str(Markup(
        '<figure class="dl-months" style="margin:0">'
        '<svg viewBox="0 0 1000 {h}" preserveAspectRatio="none" role="img" aria-label="{label}" '
        'style="width:100%;height:{h}px;display:block;fill:#4c78a8">{bars}</svg>'
        '<figcaption style="display:flex;justify-content:space-between;font-size:.75rem;color:#666">'
        "<span>{first}</span><span>most in a month: {most:,}</span><span>{last}</span></figcaption></figure>"
    ).format(h=CHART_HEIGHT, label=label, bars=bars, first=months[0], most=most, last=months[-1]))


def box_around(places: Sequence[CollectionPlace]) -> list[list[float]] | None:
    """[[south, west], [north, east]] around ``places``, for the view a new scope opens on."""
    if not places:
        return None
    lats, lons = [p.lat for p in places], [p.lon for p in places]
    return [[min(lats), min(lons)], [max(lats), max(lons)]]


def radius(articles: int, most: int) -> float:
    """Marker radius in pixels: its area grows with the number of articles, up to the busiest place's."""
    share = math.sqrt(articles / most) if most > 0 else 0.0
    return round(MIN_RADIUS + (MAX_RADIUS - MIN_RADIUS) * share, 1)


def markers(places: Sequence[CollectionPlace], selected: str | None) -> list[tuple[MarkerSpec, str]]:
    """Circle markers, the busiest first so smaller ones are drawn over them, the chosen place last."""
    most = max((p.articles for p in places), default=0)
    ordered = sorted(places, key=lambda p: (p.key == selected, -p.articles))
    out = []
    for p in ordered:
        chosen = p.key == selected
        label = f"{p.name}{', ' + p.country_code if p.country_code else ''} · {p.articles:,} " + (
            "article" if p.articles == 1 else "articles"
        )
        spec = MarkerSpec(
            location=(float(p.lat), float(p.lon)),
            options={
                "radius": radius(p.articles, most) + (2 if chosen else 0),
                "className": "dl-place dl-collection" + (" dl-selected" if chosen else ""),
                "color": SELECTED_STROKE if chosen else DEFAULT_STROKE,
                "weight": 4 if chosen else 1.5,
                "opacity": 1.0,
                "fill": True,
                "fillColor": KIND_COLORS[kind_of(_feature(p.feature))],
                "fillOpacity": 0.9 if chosen else 0.6,
            },
            tooltip=_js_template_safe(str(escape(label))),
            popup=_js_template_safe(str(escape(label))),
        )
        out.append((spec, p.key))
    return out


def _feature(value: str) -> Feature:
    try:
        return Feature(value)
    except ValueError:  # a kind this version does not know: drawn as a town
        return Feature.CITY


def drawn_entry(spec: MarkerSpec, key: str) -> tuple[str, float, float, str]:
    """What a later click is matched against: the marker's tooltip text, point and place."""
    return (" ".join(html.unescape(spec.tooltip).split()), spec.location[0], spec.location[1], key)


def clicked_place(value: Any, drawn: Sequence[tuple[str, float, float, str]]) -> str | None:
    """The place whose marker a streamlit-folium click value points at, if one was drawn there.

    Leaflet reports a big circle's click where the mouse was, not its centre, so the tooltip names the
    marker and the point only picks among markers with the same tooltip (or, without one, the nearest
    within a marker's reach).
    """
    point = value.get("last_object_clicked") if isinstance(value, dict) else None
    if not isinstance(point, dict) or not drawn:
        return None
    try:
        lat, lon = float(point["lat"]), float(point["lng"])
    except (KeyError, TypeError, ValueError):
        return None
    tooltip = value.get("last_object_clicked_tooltip")
    wanted = " ".join(html.unescape(tooltip).split()) if isinstance(tooltip, str) else ""
    pool = [d for d in drawn if wanted and d[0] == wanted]
    if not pool:
        zoom = value.get("zoom")
        reach = (MAX_RADIUS + 3) * _degrees_per_pixel(float(zoom)) if isinstance(zoom, int | float) else 1e-4
        pool = [d for d in drawn if abs(d[1] - lat) <= reach and abs(d[2] - lon) <= reach]
    if not pool:
        return None
    return min(pool, key=lambda d: (d[1] - lat) ** 2 + (d[2] - lon) ** 2)[3]


def passages_html(hit: ArticleHit) -> str:
    """The sentences of one article that name the place, the names marked (all text escaped)."""
    items = []
    for passage in hit.passages:
        parts, at = [], 0
        for start, end in passage.names:
            if start < at or end > len(passage.text):
                continue
            parts.append(escape(passage.text[at:start]))
            parts.append(Markup("<mark>{}</mark>").format(passage.text[start:end]))
            at = end
        parts.append(escape(passage.text[at:]))
        items.append(Markup('<p class="dl-excerpt">{}</p>').format(Markup("").join(parts)))
    return str(Markup('<div class="dl-coll-passages">{}</div>').format(Markup("").join(items)))


def article_heading(hit: ArticleHit) -> str:
    """'2024-06-20 · Title · source' (markdown-escaped): what a reader scans a list by."""
    parts = [hit.date.isoformat() if hit.date else "undated", hit.title or hit.id]
    if hit.source:
        parts.append(hit.source)
    return ui.md_escape(" · ".join(parts))


def scope_words(scope: Scope, country: str) -> str:
    """The active filters in words, for the panel's heading."""
    bits = []
    if scope.date_from or scope.date_to:
        bits.append(f"{scope.date_from or '…'} to {scope.date_to or '…'}")
    if scope.country:
        bits.append(f"places in {country}")
    if scope.text.strip():
        bits.append(f"containing “{scope.text.strip()}”")
    return ", ".join(bits)


# --------------------------------------------------------------------------- cached resources


@st.cache_resource(max_entries=4, show_spinner=False)
def _open(path: str, signature: tuple) -> Collection:
    del signature  # part of the key only: a store an index run has added to is read again
    return Collection(Path(path))


def open_collection(path: str) -> Collection:
    """The server's Collection for ``path`` (StoreError with one line if it is not a store)."""
    folder = Path(path).expanduser().resolve()
    return _open(str(folder), store_signature(folder) if folder.is_dir() else ())


@st.cache_resource(show_spinner=False)
def _country_names(cache: str) -> dict[str, str]:
    try:
        gazetteer = Gazetteer(Path(cache) / "gazetteer.sqlite3")
    except GazetteerError:
        return {}
    return gazetteer.country_names()


def country_name(code: str) -> str:
    return _country_names(str(ui.cache_dir())).get(code, code) if code else ""


# --------------------------------------------------------------------------- the view


def _open_article(collection: Collection, doc_id: str) -> None:
    """Button callback: the article joins the session's articles and the single-article view shows it."""
    stored = collection.article(doc_id)
    if stored is None:
        return
    title = stored.title or stored.id
    article = ui.Article(id=f"store:{stored.id}", title=title, text=stored.text, origin="store")
    state = st.session_state
    ui.remember(state, article, show=False)
    state[ui.SHOWN] = [article.id]
    state[ui.SELECTED] = None
    state[VIEW_MODE] = ARTICLES_VIEW


def _sidebar(collection: Collection) -> Scope:
    summary = collection.summary()
    dates: tuple[date, date] | None = None
    if summary.first_date and summary.last_date and summary.first_date < summary.last_date:
        held = st.session_state.get(DATES)
        if not (isinstance(held, tuple) and summary.first_date <= held[0] <= held[1] <= summary.last_date):
            st.session_state[DATES] = (summary.first_date, summary.last_date)  # a new store: its whole range
        dates = st.slider(
            "Dates", min_value=summary.first_date, max_value=summary.last_date, key=DATES, format="YYYY-MM-DD"
        )
    codes = [""] + [code for code, _ in summary.countries]
    counts = dict(summary.countries)
    names = _country_names(str(ui.cache_dir()))
    if st.session_state.get(COUNTRY) not in codes:
        st.session_state[COUNTRY] = ""
    country = st.selectbox(
        "Country of the places",
        codes,
        key=COUNTRY,
        format_func=lambda c: "All countries" if not c else f"{names.get(c, c)} ({c}) · {counts[c]:,} articles",
    )
    text = st.text_input("Articles containing", key=TEXT, placeholder="a word or phrase")
    first, last = dates if dates else (None, None)
    if dates and (first, last) == (summary.first_date, summary.last_date):
        first = last = None  # the whole range: undated articles count too
    return Scope(date_from=first, date_to=last, country=country or None, text=text or "")


def show(state: MutableMapping[str, Any], *, offline: bool) -> None:
    """The Collection view (call it after the view switch; the sidebar is open for its filters)."""
    with st.sidebar:
        st.text_input("Store folder", key=STORE, help="A folder made by python -m geo index SOURCE -o STORE.")
        path = str(state.get(STORE) or "").strip()
        collection: Collection | None = None
        if path:
            try:
                collection = open_collection(path)
            except StoreError as exc:
                st.error(ui.md_escape(str(exc)))
        scope = _sidebar(collection) if collection else Scope()

    st.title("Dateline · collection")
    if collection is None:
        st.info(
            "Type the folder of a store in the sidebar, or start the app with "
            "`streamlit run app.py -- --store PATH`. Make a store with "
            "`python -m geo index articles.jsonl -o PATH`."
        )
        return
    summary = collection.summary()
    span = (
        f", {summary.first_date} to {summary.last_date}" if summary.first_date and summary.last_date else ""
    )
    st.caption(
        f"{collection.store.name}: {summary.articles:,} articles naming {summary.places:,} places{span}. "
        "Click a place to list the articles that name it."
    )

    # a click on the map chooses a place (markers are matched by the points drawn last run)
    click = state.get(MAP_KEY)
    signature = ui.click_signature(click)
    if signature != state.get(SEEN_CLICK):
        state[SEEN_CLICK] = signature
        hit = clicked_place(click, state.get(DRAWN, []))
        if hit is not None:
            state[PLACE] = hit
    chosen_key = state.get(PLACE)

    # a new store or new filters: the map fits the places they leave, once (FitOnce), then follows the reader
    scene = ui.scene_key(("collection", str(collection.store), collection.signature, scope))
    if state.get(FIT_SCENE) != scene:
        state[FIT_SCENE] = scene
        state[FIT_BOX] = box_around(collection.places(scope).places)
    box = Box.from_leaflet(click.get("bounds")) if isinstance(click, dict) else None
    in_view = collection.places(scope, box)
    chosen = collection.place(chosen_key) if chosen_key else None
    drawn = list(in_view.places)
    if chosen is not None and all(p.key != chosen.key for p in drawn):
        drawn.append(chosen)  # the chosen place stays on the map while the reader pans

    histogram = collection.months(scope, chosen.key if chosen else None)
    if histogram:
        subject = f"Articles naming {chosen.name} per month" if chosen else "Articles per month"
        st.caption(subject + (" (within the filters)" if scope != Scope() else ""))
        frame = month_series(histogram, summary.first_date, summary.last_date)
        st.html(month_chart_html(frame, subject))

    map_col, panel_col = st.columns([3, 2], gap="medium")
    with map_col:
        shown = len(in_view.places)
        st.caption(
            f"{shown:,} places in view" if shown == in_view.total
            else f"The {shown:,} places named by most articles in view, of {in_view.total:,}: zoom in for more"
        )
        fmap = ui.style_map(base_map(offline=offline))
        specs = markers(drawn, chosen_key)
        state[DRAWN] = [drawn_entry(spec, key) for spec, key in specs]
        group = _group([spec for spec, _ in specs])
        if state.get(FIT_BOX):
            FitOnce(state[FIT_BOX], scene).add_to(group)
        group = ui.stable_ids(group)
        ui.st_folium(
            fmap, key=MAP_KEY, height=MAP_HEIGHT, use_container_width=True,
            returned_objects=RETURNED, feature_group_to_add=group,
        )

    with panel_col:
        if chosen is None:
            st.subheader("Articles")
            st.markdown("Click a place on the map to list the articles that name it, newest first.")
            return
        _panel(collection, chosen, scope)


def _group(specs: list[MarkerSpec]) -> Any:
    import folium

    group = folium.FeatureGroup(name="Places")
    PlaceMarkers(specs).add_to(group)
    return group


def _show_more(key: str, listed: int) -> None:
    st.session_state[LISTED] = (key, listed + ARTICLES_LISTED)


def _panel(collection: Collection, place: CollectionPlace, scope: Scope) -> None:
    held = st.session_state.get(LISTED)
    listed = held[1] if isinstance(held, tuple) and held[0] == place.key else ARTICLES_LISTED
    found = collection.articles(place.key, scope, limit=listed)
    where = ", ".join(x for x in (country_name(place.country_code),) if x)
    st.subheader(place.name + (f", {where}" if where else ""))
    within = scope_words(scope, country_name(scope.country or ""))
    total = f"{found.total:,} article" + ("" if found.total == 1 else "s")
    line = f"Named in {total}" + (f" ({ui.md_escape(within)})" if within else "")
    if found.total > len(found.articles):
        line += f"; the newest {len(found.articles)} are listed"
    st.markdown(line + ".")
    if not found.articles:
        st.info("No article within the filters names this place.")
        return
    with st.container(height=620, border=False):
        for hit in found.articles:
            with st.container(border=True):
                st.markdown(f"**{article_heading(hit)}**")
                st.html(passages_html(hit))
                st.button(
                    "Open this article", key=f"open:{hit.id}", on_click=_open_article, args=(collection, hit.id),
                    help="Show it in the single-article view, with all its places.",
                )
        if found.total > len(found.articles):
            more = min(ARTICLES_LISTED, found.total - len(found.articles))
            st.button(f"Show {more} more", key="coll_more", on_click=_show_more, args=(place.key, listed))
