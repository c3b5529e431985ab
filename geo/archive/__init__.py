"""Archives: geoparse whole collections on dask.distributed into a Parquet store, query it with DuckDB.

``sources`` reads articles (JSONL[.gz], Parquet, CSV, folders of files), ``store`` lays out the Parquet
dataset, ``index`` runs the engine over partitions on a Dask cluster (``python -m geo index``) and
``query`` answers the common questions through DuckDB (``python -m geo query``). The package wraps the
engine through :mod:`geo.batch` and the public ``geo`` API only; nothing else in ``geo`` imports it
except the command line.
"""
