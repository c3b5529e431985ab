"""The map: markers, escaping of hostile data, click round trip, text highlighting."""

from __future__ import annotations

import json
import shutil
import subprocess

import folium
import pytest

from geo.app import mapview
from geo.app.mapview import (
    MapLayer,
    base_map,
    bounds,
    build_map,
    excerpt_html,
    focus_bounds,
    highlight_html,
    place_at,
    places_feature_group,
)
from geo.model import Candidate, Excerpt, Feature
from tests.factories import (
    AFGHANISTAN,
    CHAMAN,
    HOSTILE_NAMES,
    KANDAHAR_PROVINCE,
    PAKISTAN,
    SPIN_BOLDAK,
    hostile_result,
    mention,
    result_from,
    sample_result,
)


def markers(fg: folium.FeatureGroup) -> list[mapview.MarkerSpec]:
    return [m for c in fg._children.values() if isinstance(c, mapview.PlaceMarkers) for m in c.markers]


def tip(marker: mapview.MarkerSpec) -> str:
    return marker.tooltip


def layer(result=None, color="#1f77b4", label="Article 1") -> MapLayer:
    return MapLayer(result if result is not None else sample_result(), color, label)


def rendered(layers: list[MapLayer], **kwargs) -> str:
    return build_map(layers, **kwargs).get_root().render()


# --------------------------------------------------------------------------- markers


def test_one_marker_per_place_not_per_mention():
    lay = layer()
    assert len(lay.result.mentions) == 5
    ms = markers(places_feature_group([lay]))
    assert len(ms) == 3
    assert sorted(tuple(m.location) for m in ms) == sorted(
        (c.lat, c.lon) for c in (CHAMAN, SPIN_BOLDAK, KANDAHAR_PROVINCE)
    )


def test_one_marker_per_place_per_article():
    ms = markers(places_feature_group([layer(), layer(color="#ff7f0e", label="Article 2")]))
    assert len(ms) == 6


def test_no_marker_cluster_and_circle_markers():
    html = rendered([layer()])
    assert "markerClusterGroup" not in html
    assert html.count("L.circleMarker([") == 3  # one per place, at its coordinates (leader dots are drawn apart)


def test_radius_grows_with_mentions():
    assert mapview.marker_radius(1) < mapview.marker_radius(2) < mapview.marker_radius(9)
    assert mapview.marker_radius(10_000) == mapview.MAX_RADIUS


def test_fill_by_kind_and_stroke_by_article_when_several():
    by_name = {tip(m): m for m in markers(places_feature_group([layer()]))}
    assert by_name["Chaman"].options["fillColor"] == mapview.KIND_COLORS["city"]
    assert by_name["Kandahar"].options["fillColor"] == mapview.KIND_COLORS["admin"]
    assert by_name["Chaman"].options["color"] == mapview.DEFAULT_STROKE
    two = markers(places_feature_group([layer(), layer(color="#ff7f0e", label="B")]))
    assert {m.options["color"] for m in two} == {"#1f77b4", "#ff7f0e"}


def test_bad_layer_colour_falls_back():
    two = markers(places_feature_group([layer(color="red;}</style>"), layer(label="B")]))
    assert mapview.FALLBACK_COLOR in {m.options["color"] for m in two}


def test_low_confidence_dashed_and_noted():
    by_name = {tip(m): m for m in markers(places_feature_group([layer()]))}
    assert by_name["Kandahar"].options["dashArray"] == "4 4"
    assert by_name["Chaman"].options["dashArray"] is None
    lay = layer()
    kandahar = lay.result.place("Kandahar")
    assert "Low confidence" in mapview.popup_html(lay, kandahar, several=False)


def test_hide_low_confidence():
    ms = markers(places_feature_group([layer()], show_low_confidence=False))
    assert {tip(m) for m in ms} == {"Chaman", "Spin Boldak"}


def test_selected_place_highlighted_and_drawn_last():
    ms = markers(places_feature_group([layer()], selected=CHAMAN.key))
    assert tip(ms[-1]) == "Chaman"
    assert ms[-1].options["color"] == mapview.SELECTED_STROKE
    assert "dl-selected" in ms[-1].options["className"]
    assert all(m.options["color"] != mapview.SELECTED_STROKE for m in ms[:-1])


def test_popup_content():
    lay = layer()
    html = mapview.popup_html(lay, lay.result.place("Chaman"), several=False)
    assert "<b>Chaman</b> (PK)" in html
    assert "30.9208, 66.4504" in html
    assert "Mentioned 2 times" in html
    assert "confidence 92%" in html
    assert "Other readings" in html and "8%" in html


# --------------------------------------------------------------------------- escaping


def test_hostile_names_and_titles_are_escaped_in_rendered_map():
    html = rendered([layer(hostile_result()), layer(label='<img src=x onerror=alert("label")>')])
    assert "<script>alert" not in html
    assert "<img src=x" not in html
    assert "</script>alert" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert "&lt;img src=x onerror=alert(1)&gt;" in html
    # Template-literal breakers inside popups/tooltips are entities, not code.
    assert "${alert(1)}" not in html
    assert "&#96;&#36;{alert(1)}&#96;&#92;" in html
    assert "O&#39;Brien &#34;Town&#34; &amp; Co" in html


# Runs the map's inline scripts against do-nothing Leaflet/jQuery stubs and
# records every string handed to them, plus any call to alert().
_NODE_HARNESS = r"""
const fs = require("fs"), vm = require("vm");
const html = fs.readFileSync(process.argv[2], "utf8");
const scripts = [...html.matchAll(/<script(?![^>]*\bsrc=)[^>]*>([\s\S]*?)<\/script>/g)].map(m => m[1]);
const strings = [], hits = [];
function stub() {
  const f = function (...args) {
    for (const a of args) if (typeof a === "string") strings.push(a);
    return p;
  };
  const p = new Proxy(f, {
    get(t, k) {
      if (k === Symbol.toPrimitive) return () => "";
      return k === "then" ? undefined : p;
    },
    set() { return true; },
  });
  return p;
}
const ctx = { L: stub(), document: stub(), console, $: (s) => { strings.push(s); return [s]; },
              alert: (x) => hits.push(String(x)) };
ctx.window = ctx;
vm.createContext(ctx);
for (const s of scripts) vm.runInContext(s, ctx);
console.log(JSON.stringify({ hits, strings }));
"""


@pytest.mark.skipif(shutil.which("node") is None, reason="needs node to execute the map's JavaScript")
def test_hostile_names_do_not_run_as_javascript(tmp_path):
    """Folium puts popup/tooltip HTML in JS template literals: ${...} and backticks must stay text."""
    page = tmp_path / "map.html"
    page.write_text(rendered([layer(hostile_result()), layer(label="`${alert('label')}`")]))
    harness = tmp_path / "run.js"
    harness.write_text(_NODE_HARNESS)
    proc = subprocess.run(["node", str(harness), str(page)], capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr  # no syntax error from a stray backtick
    out = json.loads(proc.stdout)
    assert out["hits"] == []
    shown = "\n".join(out["strings"])
    assert "&#96;&#36;{alert(1)}&#96;&#92;" in shown  # rendered by the browser as the literal name
    assert "<script>" not in shown and "<img" not in shown


def test_hostile_names_not_double_escaped():
    lay = layer(hostile_result())
    place = lay.result.place(HOSTILE_NAMES[0])
    html = mapview.popup_html(lay, place, several=False)
    assert "&amp;lt;" not in html
    text = tip(markers(places_feature_group([lay]))[0])
    assert "&amp;lt;" not in text and "&lt;" in text


def test_javascript_url_name_is_only_text():
    lay = layer(hostile_result())
    html = rendered([lay])
    assert 'href="javascript' not in html


def test_attribution_and_legend_online():
    html = rendered([layer()])
    assert "tile.openstreetmap.org" in html
    assert "OpenStreetMap" in html
    assert "GeoNames" in html and "CC BY 4.0" in html
    assert "dateline-legend" in html


def test_offline_has_no_tiles_but_still_credits_geonames():
    html = rendered([layer()], offline=True)
    assert "tile.openstreetmap.org" not in html
    assert "L.tileLayer" not in html
    assert "GeoNames" in html


def test_offline_hook_called_when_module_exists(monkeypatch):
    import sys
    import types

    calls = []
    fake = types.ModuleType("geo.app.offline_assets")
    fake.apply_offline = calls.append
    monkeypatch.setitem(sys.modules, "geo.app.offline_assets", fake)
    m = base_map(offline=True)
    assert calls == [m]
    base_map(offline=False)
    assert calls == [m]


def test_base_map_is_constant():
    a = base_map()
    b = base_map()
    assert a.location == b.location and a.options["zoom"] == b.options["zoom"]


# --------------------------------------------------------------------------- bounds and clicks


def test_bounds():
    assert bounds([]) is None
    assert bounds([layer(sample_result())]) == [
        [CHAMAN.lat, KANDAHAR_PROVINCE.lon],
        [SPIN_BOLDAK.lat, CHAMAN.lon],
    ]
    assert bounds([layer()], show_low_confidence=False) == [
        [CHAMAN.lat, SPIN_BOLDAK.lon],
        [SPIN_BOLDAK.lat, CHAMAN.lon],
    ]


WASHINGTON = Candidate(4140963, "Washington", 38.8951, -77.0364, Feature.CITY, "US", "US.DC", 689545)
FOCUS_TEXT = "In Spin Boldak and Chaman, near Afghanistan and Pakistan, Washington said."


def focus_result(focus: Candidate | None):
    t = FOCUS_TEXT
    r = result_from(t, [mention(t, name, c) for name, c in (
        ("Spin Boldak", SPIN_BOLDAK), ("Chaman", CHAMAN), ("Afghanistan", AFGHANISTAN), ("Pakistan", PAKISTAN),
        ("Washington", WASHINGTON))])
    r.focus = focus
    return r


def test_focus_bounds_open_on_the_main_country_and_its_neighbours():
    """An article about Afghanistan opens on Afghanistan and the places near it, not on Washington too."""
    lay = layer(focus_result(AFGHANISTAN))
    assert focus_bounds([lay]) == [[PAKISTAN.lat, AFGHANISTAN.lon], [AFGHANISTAN.lat, PAKISTAN.lon]]
    assert bounds([lay])[0][1] == WASHINGTON.lon  # "all places" still reaches Washington


def test_focus_bounds_fall_back_to_every_place():
    assert focus_bounds([layer(focus_result(None))]) == bounds([layer(focus_result(None))])
    assert focus_bounds([]) is None
    elsewhere = Candidate(2643743, "London", 51.5, -0.12, Feature.CITY, "GB")
    assert focus_bounds([layer(focus_result(elsewhere))]) == bounds([layer(focus_result(elsewhere))])


def test_base_map_keeps_markers_apart_sized_and_has_a_fit_all_button():
    """What the browser tests exercise, present in the constant base map (the same for every article)."""
    html = base_map().get_root().render()
    assert "ResizeObserver" in html and "invalidateSize" in html
    assert mapview.FIT_ALL_LABEL in html
    assert "datelineSpreadMarkers" in html


def test_legend_is_folded_by_default():
    legend = str(mapview.legend_html())
    assert legend.startswith("<details") and "<summary" in legend and " open" not in legend


def test_build_map_fits_bounds():
    html = rendered([layer()])
    assert "fitBounds" in html


@pytest.mark.parametrize("place", [CHAMAN, SPIN_BOLDAK, KANDAHAR_PROVINCE])
def test_place_at_round_trip_by_coordinates(place):
    lays = [layer()]
    got = place_at(lays, {"last_object_clicked": {"lat": place.lat, "lng": place.lon}})
    assert got is not None
    assert got[0] is lays[0]
    assert got[1].key == place.key


def test_place_at_tolerates_pixel_rounding_with_zoom():
    lays = [layer()]
    # Leaflet rounds a small marker's centre to the pixel grid: ~0.03 degrees at zoom 5.
    clicked = {"last_object_clicked": {"lat": CHAMAN.lat + 0.02, "lng": CHAMAN.lon - 0.02}, "zoom": 5}
    assert place_at(lays, clicked)[1].key == CHAMAN.key
    far = {"last_object_clicked": {"lat": 0.0, "lng": 0.0}, "zoom": 5}
    assert place_at(lays, far) is None


def test_place_at_uses_tooltip():
    lays = [layer()]
    # Big markers report the mouse position; the tooltip says which marker it was.
    clicked = {
        "last_object_clicked": {"lat": 30.95, "lng": 66.43},
        "last_object_clicked_tooltip": "  Spin Boldak \n",
    }
    assert place_at(lays, clicked)[1].key == SPIN_BOLDAK.key


def test_place_at_tooltip_picks_the_article_when_several():
    lays = [layer(label="Article 1"), layer(color="#ff7f0e", label="Article 2")]
    clicked = {
        "last_object_clicked": {"lat": CHAMAN.lat, "lng": CHAMAN.lon},
        "last_object_clicked_tooltip": "Chaman · Article 1",
    }
    got_layer, got_place = place_at(lays, clicked)
    assert got_layer is lays[0] and got_place.key == CHAMAN.key
    clicked["last_object_clicked_tooltip"] = "Chaman · Article 2"
    assert place_at(lays, clicked)[0] is lays[1]


def test_place_at_hostile_tooltip_text():
    lays = [layer(hostile_result())]
    name = HOSTILE_NAMES[1]
    clicked = {"last_object_clicked": {"lat": 0, "lng": 0}, "last_object_clicked_tooltip": name}
    assert place_at(lays, clicked)[1].name == name


@pytest.mark.parametrize(
    "clicked",
    [None, {}, {"last_object_clicked": None}, {"last_object_clicked": {"lat": "x", "lng": 1}}],
)
def test_place_at_nothing(clicked):
    assert place_at([layer()], clicked) is None


# --------------------------------------------------------------------------- text highlighting


def test_highlight_offsets_with_hostile_text():
    text = "A <b>&amp; 'x' in \"Chaman\"</b> <script>alert(1)</script> Spin Boldak.\nNext $5 line"
    c = text.index("Chaman")
    s = text.index("Spin Boldak")
    html = highlight_html(text, [(c, c + 6, "Chaman, PK"), (s, s + 11, "<i>SB</i>")], {s})
    assert "<script>" not in html and "<b>" not in html and "<i>" not in html
    assert '<mark class="dl-mention" title="Chaman, PK">Chaman</mark>' in html
    assert '<mark class="dl-mention dl-selected" title="&lt;i&gt;SB&lt;/i&gt;">Spin Boldak</mark>' in html
    assert "&amp;amp;" in html  # the literal "&amp;" in the article stays visible as text
    assert "\n" not in html and "<br>" in html
    assert "$" not in html


def test_highlight_ignores_overlaps_and_bad_offsets():
    text = "Spin Boldak"
    html = highlight_html(text, [(0, 11, ""), (5, 11, ""), (8, 3, ""), (-4, 2, ""), (9, 99, "")], None)
    assert html.count("<mark") == 1
    assert "Spin Boldak" in html


def test_highlight_without_mentions_is_escaped_text():
    assert highlight_html("x < y", [], None) == '<div class="dl-article">x &lt; y</div>'


def test_excerpt_html():
    ex = Excerpt(text='He said "<Chaman>" & left.', start=9, end=17, doc_start=100)
    html = excerpt_html(ex)
    assert html == 'He said &#34;<mark class="dl-mention dl-selected">&lt;Chaman&gt;</mark>&#34; &amp; left.'


def test_excerpt_from_place():
    result = sample_result()
    place = result.place("Spin Boldak")
    html = excerpt_html(place.excerpts(result.text)[0])
    assert html.startswith("Traders in <mark")
    assert ">Spin Boldak</mark>" in html


# --------------------------------------------------------------------------- approximate places


def test_an_approximate_place_has_its_own_dashed_marker_near_the_known_place():
    from tests.factories import approximate_result

    lay = layer(approximate_result())
    by_name = {tip(m): m for m in markers(places_feature_group([lay]))}
    assert set(by_name) == {"Chaman", "Friendship Gate road"}
    road, chaman = by_name["Friendship Gate road"], by_name["Chaman"]
    assert road.location == chaman.location == (CHAMAN.lat, CHAMAN.lon)
    assert road.options["dashArray"] == "4 4" and "dl-approximate" in road.options["className"]
    assert road.options["fillColor"] == mapview.APPROXIMATE_COLOR
    assert chaman.options["dashArray"] is None and "dl-approximate" not in chaman.options["className"]
    popup = str(mapview.popup_html(lay, lay.result.place("Friendship Gate road"), several=False))
    assert "Approximate location: placed near Chaman, PK" in popup and "Low confidence" in popup
    chaman_popup = str(mapview.popup_html(lay, lay.result.place("Chaman"), several=False))
    assert "Approximate" not in chaman_popup and "Mentioned 2 times" in chaman_popup
    assert mapview.APPROXIMATE_LABEL in str(mapview.legend_html())
    hidden = markers(places_feature_group([lay], show_low_confidence=False))
    assert [tip(m) for m in hidden] == ["Chaman"]
    clicked = {"last_object_clicked": {"lat": CHAMAN.lat, "lng": CHAMAN.lon},
               "last_object_clicked_tooltip": "Friendship Gate road"}
    assert place_at([lay], clicked)[1].name == "Friendship Gate road"


def test_an_approximate_place_likely_right_is_marked_but_not_flagged():
    """Approximate says where it is drawn; the flag says how likely it is wrong. A name nothing knows whose learned
    chance is over the line is drawn dashed and grey and says so, but is not flagged or hidden as a doubtful one."""
    from geo.app.ui import place_card_html
    from geo.model import LOW_CONFIDENCE
    from geo.resolution import APPROXIMATE_MAX_CONFIDENCE
    from tests.factories import approximate_result

    result = approximate_result(confidence=(LOW_CONFIDENCE + APPROXIMATE_MAX_CONFIDENCE) / 2)
    lay = layer(result)
    road = result.place("Friendship Gate road")
    assert road.approximate and not mapview.is_low_confidence(road)
    marker = {tip(m): m for m in markers(places_feature_group([lay]))}["Friendship Gate road"]
    assert marker.options["dashArray"] == "4 4" and "dl-approximate" in marker.options["className"]
    assert "dl-low" not in marker.options["className"]
    popup = str(mapview.popup_html(lay, road, several=False))
    assert "Approximate location: placed near Chaman, PK" in popup and "Low confidence" not in popup
    card = place_card_html(road, country="Pakistan", article_title=result.title, color="red")
    assert "≈ approximate location" in card and "low confidence" not in card
    shown = {tip(m) for m in markers(places_feature_group([lay], show_low_confidence=False))}
    assert shown == {"Chaman", "Friendship Gate road"}


def test_the_side_panel_says_where_an_approximate_place_was_put():
    from geo.app.ui import kind_label, place_card_html
    from tests.factories import approximate_result

    result = approximate_result()
    road, chaman = result.place("Friendship Gate road"), result.place("Chaman")
    card = place_card_html(road, country="Pakistan", article_title=result.title, color="red")
    assert "Approximate location: placed near Chaman, PK" in card and "low confidence" in card
    assert kind_label(road.candidate) == "approximate location"
    known = place_card_html(chaman, country="Pakistan", article_title=result.title, color="red")
    assert "Approximate" not in known and "written" not in known and "Mentioned 2 times" in known


def test_the_flag_agrees_with_the_percent_a_reader_sees():
    """Lists and popups show whole percents: a place shown at 82 % is not flagged "under 82 %", one at 81 % is."""
    from geo.model import LOW_CONFIDENCE, under_line
    from tests.factories import approximate_result

    line = round(LOW_CONFIDENCE * 100)
    for confidence, flagged in (((line - 0.4) / 100, False), ((line - 0.6) / 100, True), (line / 100, False)):
        road = approximate_result(confidence=confidence).place("Friendship Gate road")
        assert under_line(confidence) is flagged and mapview.is_low_confidence(road) is flagged, confidence
