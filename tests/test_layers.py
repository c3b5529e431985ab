"""The layers stay apart: the engine loads no UI library, and no engine module imports the app or a cycle."""

from __future__ import annotations

import functools
import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
ENGINE_MODULES = sorted(p for p in (ROOT / "geo").glob("*.py"))
UI_LIBRARIES = ("streamlit", "folium", "streamlit_folium", "branca", "pandas")


@pytest.mark.slow
def test_parsing_loads_no_ui_library(cache_dir):
    """``import geo; geo.parse(...)`` in a fresh interpreter: a cluster worker needs no Streamlit or Folium."""
    script = (
        "import json, sys, geo\n"
        f"result = geo.parse('Talks in Kabul and Tashkent.', cache_dir={str(cache_dir)!r})\n"
        "print(json.dumps({'places': [p.name for p in result.places], 'modules': sorted(sys.modules)}))\n"
    )
    done = subprocess.run([sys.executable, "-c", script], cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout.strip().splitlines()[-1])
    assert "Kabul" in report["places"]
    loaded = {m.split(".")[0] for m in report["modules"]}
    assert loaded.isdisjoint(UI_LIBRARIES), sorted(loaded & set(UI_LIBRARIES))
    assert not any(m.startswith("geo.app") for m in report["modules"])


# Read in a fresh interpreter: CPython 3.11's ast.parse can fail with "SystemError: AST constructor recursion
# depth mismatch" in a process where other threads have run (python/cpython#106905), as they have here after
# the app and server tests.
_IMPORTS_SCRIPT = """
import ast, json, sys
out = {}
for name in sys.argv[1:]:
    tree = ast.parse(open(name, encoding="utf-8").read())
    roots, geo = set(), set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            roots.update(a.name.split(".")[0] for a in node.names)
            geo.update(a.name for a in node.names if a.name.split(".")[0] == "geo")
        elif isinstance(node, ast.ImportFrom) and node.module:
            roots.add(node.module.split(".")[0])
            if node.module.split(".")[0] == "geo":
                geo.add(node.module)
                geo.update(node.module + "." + a.name for a in node.names)
    out[name] = {"roots": sorted(roots), "geo": sorted(geo)}
print(json.dumps(out))
"""


@functools.cache
def _imports() -> dict[str, dict[str, list[str]]]:
    """For every module under geo/: the top-level packages it imports and the geo modules (and names) it imports,
    at any depth (lazy imports inside functions count)."""
    files = [str(p) for p in sorted((ROOT / "geo").rglob("*.py"))]
    done = subprocess.run(
        [sys.executable, "-c", _IMPORTS_SCRIPT, *files], capture_output=True, text=True, timeout=120, check=True
    )
    return json.loads(done.stdout)


def _geo_imports(path: Path) -> set[str]:
    return set(_imports()[str(path)]["geo"])


def _import_roots(path: Path) -> set[str]:
    return set(_imports()[str(path)]["roots"])


def test_engine_modules_import_neither_the_app_nor_a_ui_library():
    for path in ENGINE_MODULES:
        assert _import_roots(path).isdisjoint(UI_LIBRARIES), path.name
        assert not any(m.startswith("geo.app") for m in _geo_imports(path)), path.name


def test_no_import_cycle_between_engine_modules():
    """Counting lazy imports too: a cycle (like the old bench <-> cli one) means a layer is misplaced."""
    names = {p.stem for p in ENGINE_MODULES} - {"__init__", "__main__"}
    graph = {
        name: {m.split(".")[1] for m in _geo_imports(ROOT / "geo" / f"{name}.py") if m.count(".") >= 1} & names - {name}
        for name in names
    }

    def reaches(start: str, goal: str, seen: set[str]) -> bool:
        return any(nxt == goal or reaches(nxt, goal, seen | {nxt}) for nxt in graph[start] - seen)

    cycles = sorted(name for name in names if reaches(name, name, set()))
    assert cycles == []


ARCHIVE_MODULES = sorted((ROOT / "geo" / "archive").glob("*.py"))
# the batch contract, text reading and whole-file writes; the rest is the public geo API
ARCHIVE_USES = ("geo.batch", "geo.textio", "geo.atomic")


def test_the_archive_wraps_the_engine_and_only_the_command_line_and_the_app_import_it():
    """geo.archive builds on geo.batch and the public API, never on engine internals; the engine never needs it
    (the command line and the app's Collection view, in geo/app/, are its only users)."""
    import geo

    assert ARCHIVE_MODULES
    for path in ARCHIVE_MODULES:
        assert _import_roots(path).isdisjoint(UI_LIBRARIES), path.name
        for module in _geo_imports(path):
            if module.startswith("geo.archive") or module == "geo":
                continue
            uses = module in ARCHIVE_USES or module.rpartition(".")[0] in ARCHIVE_USES
            public = module.count(".") == 1 and module.split(".")[1] in geo.__all__
            assert uses or public, f"{path.name} imports {module}"
    for path in sorted((ROOT / "geo").rglob("*.py")):
        parts = path.relative_to(ROOT / "geo").parts
        if "archive" in parts or parts[0] == "app" or path.name == "cli.py":
            continue
        assert not any(m.startswith("geo.archive") for m in _geo_imports(path)), path.name
