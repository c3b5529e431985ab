"""Dateline explorer: map every place an article names; click a marker to read those passages.

Run with ``streamlit run app.py``. This file is layout only; state, caching
and HTML building live in :mod:`geo.app.ui`, the map in :mod:`geo.app.mapview`.

``streamlit run`` first imports this file and finds ``app`` (an ``st.App``, at the end): the server, which
loads the engine and reads the default article as it starts (:mod:`geo.app.server`), so the
first visitor does not wait for them. Each visitor's page is :func:`main`, run as ``__main__``.
"""

from __future__ import annotations

import streamlit as st

from geo.app.server import warm_server

MAP_HEIGHT = 560
PASSAGES_HEIGHT = 420  # long lists of passages scroll, so the correction box stays in reach
RETURNED = ["last_object_clicked", "last_object_clicked_tooltip", "last_object_clicked_count", "zoom"]


def main() -> None:
    """The page, run by Streamlit for every visitor and every rerun."""
    # Imported here, not at the top: the server imports this file before it starts (to find `app`), and
    # these imports would keep it from answering for about 2 s; the server's warm-up imports them meanwhile.
    import json
    import sys

    import pandas as pd

    from geo.app import collection, corrections, ui
    from geo.app.mapview import (
        FitOnce,
        MapLayer,
        base_map,
        bounds,
        focus_bounds,
        highlight_html,
        is_low_confidence,
        place_at,
        places_feature_group,
    )
    from geo.export import to_csv, to_geojson
    from geo.model import LOW_CONFIDENCE, Result
    from geo.pipeline import Engine
    from geo.textio import MAX_UPLOAD_MB, InputError

    ui.note_page_run()  # (and at the end): the server loads what it still lacks when no page runs
    st.set_page_config(page_title="Dateline", page_icon="🗺️", layout="wide")
    state = st.session_state
    seeds = ui.seed_articles()
    ui.init_state(state, seeds)
    collection.init_state(state, sys.argv[1:])
    ui.keep_widget_state(state, (ui.SHOWN, "opt_demonyms", "opt_hide_low", "opt_geocoder", *collection.WIDGETS))
    st.html(ui.CSS)

    with st.sidebar:
        view_mode = st.radio("View", collection.VIEWS, key=collection.VIEW_MODE, horizontal=True,
                             help="One article at a time, or a whole archive indexed with python -m geo index.")
    if view_mode == collection.COLLECTION_VIEW:
        collection.show(state, offline=ui.offline_assets_wanted())
        st.stop()


    # --------------------------------------------------------------------------- sidebar: input


    def add_pasted() -> None:
        """Button callback: runs before the multiselect is drawn, so the new text can join it."""
        try:
            article = ui.article_from_paste(state.get("paste_text", ""), state.get("paste_title", ""))
        except InputError as exc:
            state["paste_error"] = str(exc)
            return
        state.pop("paste_error", None)
        ui.remember(state, article)
        state["paste_text"] = ""
        state["paste_title"] = ""


    with st.sidebar:
        st.header("Articles")
        with st.expander("Add articles: upload or paste", expanded=False):
            uploads = st.file_uploader(
                "Upload .txt, .md or .html files", type=["txt", "md", "markdown", "html", "htm"],
                accept_multiple_files=True, key="uploads", max_upload_size=MAX_UPLOAD_MB,
            )
            current_ids = set()
            for f in uploads or []:
                current_ids.add(f.file_id)
                ui.add_upload(state, f.file_id, f.name, f.getvalue())
            for file_id, message in state[ui.UPLOAD_ERRORS].items():
                if file_id in current_ids:
                    st.error(ui.md_escape(message))
            st.text_input("Title (optional)", key="paste_title")
            st.text_area("…or paste an article", key="paste_text", height=140)
            st.button("Map this text", on_click=add_pasted, width="stretch")
            if state.get("paste_error"):
                st.error(ui.md_escape(state["paste_error"]))

        available = ui.all_articles(state, seeds)
        order = list(available)
        state[ui.SHOWN] = [a for a in state[ui.SHOWN] if a in available]
        shown: list[str] = st.multiselect(
            "On the map", options=order, key=ui.SHOWN,
            format_func=lambda a: available[a].title, max_selections=ui.MAX_SHOWN,
            help=f"Each article gets its own outline colour; up to {ui.MAX_SHOWN} at once (a new article takes "
                 "the place of the one shown longest).",
        )

        st.header("Options")
        include_demonyms = st.toggle("Include demonyms (“Afghan”, “Russian”)", key="opt_demonyms")
        hide_low = st.toggle("Hide low-confidence places", key="opt_hide_low")
        choice = st.radio("Geocoder", ui.GEOCODERS, key="opt_geocoder")
        if choice == ui.NOMINATIM:
            st.caption(
                "Nominatim is asked at most once a second (its usage policy), so a new article can take "
                "a while; answers are cached. If it cannot be reached, the offline gazetteer is used."
            )

    cache = ui.cache_dir()


    # --------------------------------------------------------------------------- engine


    def load_engine() -> Engine:
        """The engine, with a progress bar while the gazetteer is built (first start only).

        The placeholder is created on every run, so the elements after it keep their
        positions and Streamlit does not mount a second map on the run after the build.
        """
        slot = st.empty()
        if ui.engine_ready(cache, choice):
            return ui.get_engine(cache, choice)
        with slot.container(), st.status("Getting ready: loading the place gazetteer and the language model "
                                         "(the very first start also builds the gazetteer: about 20 s)…",
                                         expanded=True) as box:
            bar = st.progress(0.0, text="Starting")

            def progress(fraction: float, message: str) -> None:
                bar.progress(min(max(float(fraction), 0.0), 1.0), text=ui.md_escape(message))

            engine = ui.get_engine(cache, choice, progress)
            box.update(label="Ready", state="complete")
        slot.empty()
        return engine


    engine = load_engine()
    revision = ui.corrections_revision(engine)

    # Everything above the map sits in containers made on every run, so the map's place on the page never
    # changes. If a spinner, an error or a notice shifted it, the browser would reload the map's iframe under
    # Streamlit's feet and the reader's next clicks on it would be lost.
    reading = st.container()
    results: list[Result] = []
    ids: list[str] = []
    for article_id in shown:
        article = available[article_id]
        try:
            with reading, st.spinner(f"Reading {ui.md_escape(ui.short_label(article.title))}…"):
                result = ui.parse(cache, choice, article, include_demonyms=include_demonyms, revision=revision,
                                  state=state)
        except (InputError, ValueError) as exc:
            reading.error(ui.md_escape(f"{article.title}: {exc}"))
            continue
        results.append(result)
        ids.append(article_id)
    ui.keep_parsed(state, shown)

    colors = [ui.article_color(a, order) for a in ids]
    layers = [MapLayer(r, c, ui.short_label(available[a].title)) for r, c, a in zip(results, colors, ids, strict=True)]
    rows = ui.place_rows(layers, ids, show_low=not hide_low)


    # --------------------------------------------------------------------------- selection (map <-> list)

    box = bounds(layers)  # all places, so hiding low-confidence ones does not refit the view
    scene = ui.scene_of(ids, box)
    if state.get(ui.MAP_SCENE) != scene:  # other articles: the map refits, and a view picked before is moot
        state[ui.MAP_SCENE] = scene
        state[ui.VIEW] = None

    selected = state[ui.SELECTED]
    click = state.get(ui.MAP_KEY)
    signature = ui.click_signature(click)
    clicked = signature != state.get(ui.SEEN_CLICK)
    if clicked:
        state[ui.SEEN_CLICK] = signature
        hit = place_at(layers, click, show_low_confidence=not hide_low)
        if hit is not None:
            selected = (ids[layers.index(hit[0])], hit[1].key)
            state[ui.VIEW] = None  # the user is looking at it already

    picked = ui.table_selection(state.get(ui.TABLE_KEY))
    # One reader action per rerun. A list value that changed along with a new click is the list's old
    # selection: the browser sent the click before the list had shown the selection the last run gave it,
    # and taking it as a pick would undo the click (the panel kept its old place, about 1 click in 600
    # under load). The click wins, and the list is set to it below.
    if picked != state.get(ui.SEEN_TABLE) and not clicked:
        state[ui.SEEN_TABLE] = picked
        if picked and picked[0] < len(rows):
            row = rows[picked[0]]
            selected = (row.article_id, row.place.key)
            state[ui.VIEW] = ui.view_for(row.place.candidate, state)
        else:
            selected = None

    index = ui.row_index(rows, selected)
    if index is None:
        selected = None
    want = [] if index is None else [index]
    if want != ui.table_selection(state.get(ui.TABLE_KEY)):
        state[ui.TABLE_KEY] = ui.table_state(want)
    state[ui.SEEN_TABLE] = want
    state[ui.SELECTED] = selected
    chosen = rows[index] if index is not None else None


    # --------------------------------------------------------------------------- header

    st.title("Dateline")
    st.caption("Where the news happens: every place an article names, on one map. "
               "Click a marker to read the passages that name it.")

    header = st.container()
    focus = ui.focus_html(layers)
    if focus:
        header.html(focus)
    for notice in ui.page_notices(layers):
        header.warning(ui.md_escape(notice))
    for layer in layers:
        if not layer.result.places:
            header.info(ui.md_escape(f"No places found in “{layer.label}”: its text is on the right."))
    if layers and not rows and any(layer.result.places for layer in layers):
        header.info("Every place is low-confidence and hidden: switch off “Hide low-confidence places” to see them.")
    if not shown:
        header.info("Pick an article in the sidebar, upload one, or paste a text.")

    map_col, panel_col = st.columns([3, 2], gap="medium")


    # --------------------------------------------------------------------------- map and list

    with map_col:
        legend = st.container()  # made on every run, so the map below it keeps its place
        if len(layers) > 1:
            legend.html(ui.article_legend_html((layer.label, layer.color) for layer in layers))
        fmap = ui.style_map(base_map(offline=ui.offline_assets_wanted()))  # the same for every article
        group = places_feature_group(layers, chosen.place.key if chosen else None, show_low_confidence=not hide_low)
        if box is not None:  # opens on the articles' main region; the map's button shows all places
            FitOnce(focus_bounds(layers) or box, ui.scene_key(scene)).add_to(group)
        markers = ui.stable_ids(group)
        view = state.get(ui.VIEW)
        ui.st_folium(
            fmap, key=ui.MAP_KEY, height=MAP_HEIGHT, use_container_width=True,
            returned_objects=RETURNED, feature_group_to_add=markers,
            center=(view[0], view[1]) if view else None, zoom=view[2] if view else None,
        )

        if rows:
            several = len(layers) > 1
            table = pd.DataFrame({
                "Place": [("⚠ " if is_low_confidence(r.place) else "") + r.place.name for r in rows],
                "Country": [r.place.candidate.country_code for r in rows],
                "Kind": [ui.kind_label(r.place.candidate) for r in rows],
                "Mentions": [r.place.count for r in rows],
                "Confidence": [round(r.place.confidence * 100) for r in rows],
                **({"Article": [layers[r.layer].label for r in rows]} if several else {}),
            })
            count = f"{len(rows)} place" + ("" if len(rows) == 1 else "s")
            st.caption(f"{count} · ⚠ = low confidence (under {LOW_CONFIDENCE:.0%}), check it · "
                       "pick a row to show it on the map")
            st.dataframe(
                table, key=ui.TABLE_KEY, on_select="rerun", selection_mode="single-row",
                hide_index=True, width="stretch", height=min(36 * (len(rows) + 1) + 3, 380),
                column_config={
                    "Mentions": st.column_config.NumberColumn(width="small"),
                    "Confidence": st.column_config.ProgressColumn(
                        "Confidence", min_value=0, max_value=100, format="%d%%", width="small"),
                },
            )


    # --------------------------------------------------------------------------- panel


    with panel_col:
        placeless = [layer for layer in layers if not layer.result.places]
        if chosen is None and placeless and not rows:  # nothing to click: the reader gets the text itself
            st.subheader("No places found")
            st.markdown(ui.NO_PLACES_HINT)
            for layer in placeless:
                st.html(ui.article_text_html(layer))
        elif chosen is None:
            st.subheader("Read the passages")
            st.markdown("Click a marker on the map, or pick a place in the list, to read every passage "
                        "that names it.")
            for layer in placeless:
                with st.expander(f"Text of {layer.label} (no places found)"):
                    st.html(ui.article_text_html(layer))
        else:
            layer = layers[chosen.layer]
            result = layer.result
            place = chosen.place
            st.html(ui.place_card_html(place, country=ui.area_name(engine.gazetteer, place.candidate),
                                       article_title=result.title or layer.label, color=layer.color,
                                       rival=ui.runner_up(place, engine.gazetteer)))
            found = ui.passages(place, result)
            times = "mention" if place.count == 1 else "mentions"
            st.markdown(f"**Passages** · {place.count} {times} in {len(found)} "
                        f"{'sentence' if len(found) == 1 else 'sentences'}, in article order")
            with st.container(height=PASSAGES_HEIGHT if len(found) > 3 else "content", border=False):
                st.html(ui.excerpts_html(place, result, color=layer.color))
            corrections.correction_box(engine, state, chosen.article_id, result, place)
            with st.expander("Show full article"):
                starts = {m.start for m in place.mentions}
                st.html(highlight_html(result.text, ui.mentions_for_highlight(result), starts))


    # --------------------------------------------------------------------------- sidebar: output

    with st.sidebar:
        if choice == ui.NOMINATIM:
            stats = engine.cache.stats
            st.caption(f"Geocode cache this session: {stats.hits} hits, {stats.misses} misses.")
        corrections.saved_list(engine)
        if results:
            # The files are made when a button is clicked (deferred data), not on every rerun: a file made
            # ahead is replaced by the next rerun, and a browser still holding its address gets a 404.
            st.header("Download")
            st.download_button("GeoJSON (for GIS tools)",
                               lambda: json.dumps(to_geojson(results), ensure_ascii=False, indent=1),
                               file_name="dateline-places.geojson", mime="application/geo+json", width="stretch",
                               on_click="ignore", key="download_geojson")
            st.download_button("CSV (for spreadsheets)", lambda: to_csv(results), file_name="dateline-places.csv",
                               mime="text/csv", width="stretch", on_click="ignore", key="download_csv")

    if state.get(ui.MAP_KEY) is not None:  # a browser has drawn this server's first map and reported back
        ui.FIRST_PAGE.set()
    ui.note_page_run()
    st.divider()
    credit = "Place data © GeoNames (CC BY 4.0); seas: Natural Earth (public domain); airports: airportsdata (MIT)"
    if not ui.offline_assets_wanted():
        credit += " · Map tiles © OpenStreetMap contributors"
    st.caption(credit)


if __name__ == "__main__":  # Streamlit runs this file as each visitor's page
    main()
else:  # `streamlit run app.py` first imports it to find its server: one that readies the engine as it starts
    app = st.App(__file__, lifespan=warm_server)
