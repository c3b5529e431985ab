"""Whole-file replacement: readers see the old file or the new one, never half, and a failure keeps the old."""

from __future__ import annotations

import os

import pytest

from geo import atomic


def test_write_text_replaces_the_file_and_leaves_nothing_beside_it(tmp_path):
    target = tmp_path / "sub" / "data.json"
    assert atomic.write_text(target, "é" * 3) == 6
    assert target.read_text(encoding="utf-8") == "ééé"
    assert oct(target.stat().st_mode & 0o777) == oct(0o644)  # served files must be readable by others
    atomic.write_text(target, "new")
    assert target.read_text(encoding="utf-8") == "new"
    assert [p.name for p in target.parent.iterdir()] == ["data.json"]


def test_a_failed_write_keeps_the_old_file_and_removes_the_temporary(tmp_path):
    target = tmp_path / "data.json"
    target.write_text("old", encoding="utf-8")
    with pytest.raises(RuntimeError), atomic.replacing(target) as temporary:
        temporary.write_text("half", encoding="utf-8")
        raise RuntimeError("disk full")
    assert target.read_text(encoding="utf-8") == "old"
    assert [p.name for p in tmp_path.iterdir()] == ["data.json"]


def test_copy_keeps_the_modification_time(tmp_path):
    src = tmp_path / "leaflet.js"
    src.write_bytes(b"x" * 100)
    os.utime(src, ns=(1_000_000_000, 1_000_000_000))
    dst = tmp_path / "static" / "leaflet.js"
    atomic.copy(src, dst)
    assert dst.read_bytes() == src.read_bytes() and dst.stat().st_mtime_ns == src.stat().st_mtime_ns
