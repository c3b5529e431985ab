"""Files replaced whole: written under a temporary name beside the target, then renamed over it.

Readers (a second app process, a browser fetching a static file, a resumed index run) never see half a
file, and a write that fails leaves the old file as it was.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path


@contextmanager
def replacing(path: Path, *, mode: int = 0o644) -> Iterator[Path]:
    """A temporary path to write; it replaces ``path`` when the block ends, or is removed if it raises."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    os.close(fd)
    temporary = Path(name)
    try:
        yield temporary
        os.chmod(temporary, mode)  # mkstemp makes it owner-only; these files are served and shared
        os.replace(temporary, path)
    except BaseException:
        temporary.unlink(missing_ok=True)
        raise


def write_text(path: Path, text: str) -> int:
    """Replace ``path`` with ``text`` (UTF-8); returns the size in bytes."""
    data = text.encode("utf-8")
    with replacing(path) as temporary:
        temporary.write_bytes(data)
    return len(data)


def copy(src: Path, dst: Path) -> None:
    """Replace ``dst`` with a copy of ``src``, keeping its modification time (how a copy is recognised)."""
    with replacing(dst) as temporary:
        shutil.copyfile(src, temporary)
        shutil.copystat(src, temporary)
