"""The archive store: a Parquet dataset with a ``documents`` and a ``mentions`` table, one file per partition.

Layout::

    STORE/dateline-store.json               marks the folder as a store (never written into anything else)
    STORE/documents/part-000012-<digest>.parquet
    STORE/mentions/part-000012-<digest>.parquet

A partition's name carries a digest of its articles and of the options that change results, so a rerun
of the same command recognises finished partitions by name and skips them. Each file is written under a
temporary name and renamed into place; ``documents`` is written last and marks the partition finished,
so a crash or Ctrl-C loses at most the partitions in flight.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from geo import atomic

if TYPE_CHECKING:
    import pyarrow as pa

    from geo.archive.sources import Article

MARKER = "dateline-store.json"
FORMAT = 1
TABLES = ("documents", "mentions")


class StoreError(ValueError):
    """The store cannot be used as asked (one line for the user; the CLI's exit code 2)."""


def documents_schema() -> pa.Schema:
    import pyarrow as pa

    return pa.schema(
        [
            ("id", pa.string()),
            ("title", pa.string()),
            ("date", pa.date32()),
            ("source", pa.string()),
            ("url", pa.string()),
            ("focus_country", pa.string()),
            ("places", pa.int32()),  # distinct places, as the single-article view lists them
            ("mentions", pa.int32()),
            ("chars", pa.int32()),
            ("partition", pa.string()),
            # the article itself, so that a mention's sentence (its offsets) and the single-article view need
            # nothing but the store; Parquet reads columns apart, so queries that do not use it never load it
            ("text", pa.string()),
        ]
    )


def mentions_schema() -> pa.Schema:
    import pyarrow as pa

    return pa.schema(
        [
            ("doc_id", pa.string()),
            ("start", pa.int32()),
            ("end", pa.int32()),
            ("text", pa.string()),
            ("name", pa.string()),
            ("lat", pa.float64()),
            ("lon", pa.float64()),
            ("geonameid", pa.int64()),
            ("country_code", pa.string()),
            ("feature", pa.string()),
            ("confidence", pa.float64()),
            ("kind", pa.string()),
            ("approximate", pa.bool_()),
            ("sentence_start", pa.int32()),
            ("sentence_end", pa.int32()),
        ]
    )


def partition_name(index: int, articles: Sequence[Article], settings: dict[str, Any]) -> str:
    """``part-<index>-<digest>``: the digest covers the articles and the result-changing ``settings``."""
    digest = hashlib.sha256(json.dumps(settings, sort_keys=True).encode())
    for a in articles:
        fields = [a.id, a.text, a.title, a.date.isoformat() if a.date else None, a.url, a.source]
        digest.update(json.dumps(fields, ensure_ascii=False).encode("utf-8", "surrogatepass"))
        digest.update(b"\n")
    return f"part-{index:06d}-{digest.hexdigest()[:16]}"


@dataclass(frozen=True, slots=True)
class PartitionTables:
    """A finished partition: its documents and their mentions, as Arrow tables."""

    documents: pa.Table
    mentions: pa.Table


def partition_tables(name: str, articles: Sequence[Article], lines: Iterable[dict[str, Any]]) -> PartitionTables:
    """The two tables for a partition from its articles and their batch lines (``details=True``).

    Articles without a line (they failed and were reported) are left out.
    """
    import pyarrow as pa

    by_id = {a.id: a for a in articles}
    docs: dict[str, list[Any]] = {f: [] for f in documents_schema().names}
    mentions: dict[str, list[Any]] = {f: [] for f in mentions_schema().names}
    for line in lines:
        article = by_id[line["id"]]
        for field, value in (
            ("id", article.id),
            ("title", article.title),
            ("date", article.date),
            ("source", article.source),
            ("url", article.url),
            ("focus_country", line.get("focus_country")),
            ("places", line.get("places", 0)),
            ("mentions", len(line["mentions"])),
            ("chars", len(article.text)),
            ("partition", name),
            ("text", article.text),
        ):
            docs[field].append(value)
        for m in line["mentions"]:
            mentions["doc_id"].append(article.id)
            for field in mentions:
                if field != "doc_id":
                    mentions[field].append(m[field])
    return PartitionTables(
        documents=pa.table(docs, schema=documents_schema()),
        mentions=pa.table(mentions, schema=mentions_schema()),
    )


class Store:
    """A store folder: which partitions are finished, writing one atomically, dropping stale ones."""

    def __init__(self, path: Path) -> None:
        self.path = Path(path)

    def table_dir(self, table: str) -> Path:
        return self.path / table

    def create(self, settings: dict[str, Any]) -> None:
        """Make the folder a store; refuse a non-empty folder that is not one (it would be written into)."""
        marker = self.path / MARKER
        if self.path.exists() and not self.path.is_dir():
            raise StoreError(f"{self.path}: exists and is not a folder")
        if self.path.is_dir() and not marker.exists() and any(self.path.iterdir()):
            raise StoreError(f"{self.path}: a non-empty folder that is not a Dateline store; choose another -o")
        try:
            for table in TABLES:
                self.table_dir(table).mkdir(parents=True, exist_ok=True)
            if not marker.exists():
                marker.write_text(json.dumps({"format": FORMAT, "settings": settings}, indent=2) + "\n")
            for table in TABLES:  # files a killed run was writing
                for leftover in self.table_dir(table).glob(".part-*.tmp"):
                    leftover.unlink(missing_ok=True)
        except OSError as exc:
            raise StoreError(f"cannot write {self.path}: {exc.strerror or exc}") from exc

    def finished(self) -> set[str]:
        """Names of the partitions whose documents file exists (written last, so the partition is whole)."""
        folder = self.table_dir("documents")
        return {p.name.removesuffix(".parquet") for p in folder.glob("part-*.parquet")} if folder.is_dir() else set()

    def remove(self, name: str) -> None:
        for table in reversed(TABLES):  # documents first: the partition stops counting as finished
            (self.table_dir(table) / f"{name}.parquet").unlink(missing_ok=True)

    def write(self, name: str, tables: PartitionTables) -> None:
        """Write both files of a partition, each under a temporary name renamed into place, documents last."""
        import pyarrow.parquet as pq

        for table, data in (("mentions", tables.mentions), ("documents", tables.documents)):
            with atomic.replacing(self.table_dir(table) / f"{name}.parquet") as temporary:
                pq.write_table(data, temporary, compression="zstd")

    def check(self) -> None:
        """Raise :class:`StoreError` unless this is a store with at least the two table folders."""
        if not (self.path / MARKER).is_file():
            raise StoreError(f"{self.path}: not a Dateline store (no {MARKER}); build one with python -m geo index")
