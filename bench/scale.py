"""Scale benchmark: one process of ``geo batch`` against ``geo index`` on 1 and 2 Dask workers (a measurement,
not a test).

    python bench/scale.py [--articles 20000] [--workers 1 2] [--cache-dir cache]

The collection is synthetic: the development corpora (``../shared/eval/*.jsonl``, read at run time, never
copied into the repository) repeated under new ids, with made-up dates, until there are ``--articles``.
Each configuration runs on the same file:

* ``batch``: the ``geo batch`` loop (:func:`geo.batch.process_records`, JSON lines written) in a process of
  its own, timed after the engine has loaded and run a few articles; its peak RSS is the process's own;
* ``index N``: ``geo.archive.index.run_index`` on a LocalCluster of N single-threaded workers that have
  already loaded the engine (a small warm-up run), writing a fresh store; its time is the run's wall time,
  Parquet writes and scheduling included. Peak and current RSS come from each worker after each partition.

Reported: articles/s, tokens/s (spaCy's English tokenizer), speed-up and scaling efficiency against
``batch``, CPU time per article (workers and driver together: the overhead of Dask and Parquet, and a
figure that a busy machine disturbs far less than wall time), peak RSS per worker, and each worker's RSS
growth from the partition at which it had done 2,000 articles (or half its share, on smaller runs) to its
last. Results go to bench/results/scale-<n>.{json,md}.
The machine may be shared: the figures are indicative.
"""

from __future__ import annotations

import argparse
import io
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from datetime import date, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from geo.bench import DEFAULT_EVAL_DIR, load_corpus  # noqa: E402

RESULTS = ROOT / "bench" / "results"
FLAT_FROM = 2000  # the target: worker RSS flat (within 10 %) from the 2,000th article to the end


def synthetic_collection(path: Path, articles: int) -> tuple[int, int]:
    """Write ``articles`` JSONL records cycling through the development corpora; (characters, tokens)."""
    import spacy

    corpora = sorted(DEFAULT_EVAL_DIR.glob("*.jsonl"))
    if not corpora:
        raise SystemExit(f"scale: no development corpus in {DEFAULT_EVAL_DIR}")
    docs = [d for c in corpora for d in load_corpus(c)]
    tokenizer = spacy.blank("en").tokenizer
    tokens = [len(tokenizer(d["text"])) for d in docs]
    chars = total_tokens = 0
    start = date(2020, 1, 1)
    with open(path, "w", encoding="utf-8") as handle:
        for i in range(articles):
            doc = docs[i % len(docs)]
            record = {
                "id": f"syn-{i:07d}",
                "title": doc.get("title", ""),
                "date": (start + timedelta(days=(i * 7) % 1500)).isoformat(),
                "source": doc.get("corpus", ""),
                "text": doc["text"],
            }
            handle.write(json.dumps(record, ensure_ascii=False) + "\n")
            chars += len(doc["text"])
            total_tokens += tokens[i % len(docs)]
    return chars, total_tokens


def batch_child(source: Path, cache_dir: Path | None) -> None:
    """In a fresh process: the ``geo batch`` loop (``process_records``, JSON lines written) over ``source``,
    timed after the engine has loaded; prints wall and CPU seconds and the process's peak RSS as JSON."""
    import resource

    from geo.batch import engine_from_options, json_line, process_records

    engine = engine_from_options(cache_dir)
    records = [json.loads(line) for line in source.open(encoding="utf-8")]
    list(process_records(engine, records[:4]))  # the same warm-up the index workers get
    started, cpu = time.perf_counter(), time.process_time()
    with open(os.devnull, "w") as out:
        for line in process_records(engine, ({"id": r["id"], "text": r["text"]} for r in records)):
            out.write(json_line(line) + "\n")
    result = {
        "articles": len(records),
        "seconds": time.perf_counter() - started,
        "cpu_seconds": time.process_time() - cpu,
        "peak_rss": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024,
    }
    print(json.dumps(result))


def run_batch(source: Path, cache_dir: Path | None) -> dict:
    """The single-process ``geo batch`` loop, in its own process (so its RSS is its own)."""
    command = [sys.executable, str(Path(__file__).resolve()), "--batch-child", str(source)]
    if cache_dir:
        command += ["--cache-dir", str(cache_dir)]
    done = subprocess.run(
        command, cwd=ROOT, capture_output=True, text=True, env={**os.environ, "PYTHONPATH": str(ROOT)}
    )
    if done.returncode != 0:
        raise SystemExit(f"scale: the batch run failed:\n{done.stderr[-2000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def _warm(name: str, dask_worker=None) -> None:
    dask_worker.plugins[name].engine()


def run_index(
    source: Path, warmup: Path, store: Path, workers: int, cache_dir: Path | None, partition_size: int
) -> dict:
    """``run_index`` on a LocalCluster of ``workers`` processes that have loaded the engine and run a few articles."""
    from distributed import Client

    from geo.archive.index import EnginePlugin, IndexOptions, local_cluster
    from geo.archive.index import run_index as index

    with local_cluster(workers) as cluster, Client(cluster) as client:
        plugin = EnginePlugin(str(cache_dir) if cache_dir else None)
        client.register_plugin(plugin, name=plugin.name)
        client.run(_warm, plugin.name)
        common = {"cache_dir": cache_dir, "scheduler": cluster.scheduler_address, "progress": False}
        warm_store = store.with_name(store.name + "-warmup")
        index(IndexOptions(sources=(warmup,), store=warm_store, partition_size=1, **common), out=io.StringIO())
        started, cpu = time.perf_counter(), time.process_time()
        options = IndexOptions(sources=(source,), store=store, partition_size=partition_size, **common)
        report = index(options, out=sys.stderr)
        seconds, driver_cpu = time.perf_counter() - started, time.process_time() - cpu  # driver: scheduler, Parquet
    growth = {}
    for worker in report.peak_rss:
        samples = [(done, rss) for w, done, rss in report.rss_samples if w == worker]
        if len(samples) < 2:
            continue
        share = samples[-1][0]
        start = next((rss for done, rss in samples if done >= min(FLAT_FROM, share // 2)), samples[0][1])
        growth[worker] = {
            "from_articles": min(FLAT_FROM, share // 2),
            "rss_then": start,
            "rss_end": samples[-1][1],
            "growth": samples[-1][1] / start - 1 if start else None,
            "articles": share,
        }
    return {
        "articles": report.articles,
        "failed": report.failed,
        "seconds": seconds,
        "busy_seconds": report.busy_seconds,
        "cpu_seconds": report.cpu_seconds + driver_cpu,
        "worker_cpu_seconds": report.cpu_seconds,
        "driver_cpu_seconds": driver_cpu,
        "peak_rss": report.peak_rss,
        "rss_growth": growth,
        "store_bytes": sum(p.stat().st_size for p in store.rglob("*.parquet")),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--articles", type=int, default=20000)
    parser.add_argument("--workers", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--cache-dir", type=Path, default=None)
    parser.add_argument("--partition-size", type=int, default=200)
    parser.add_argument("--work-dir", type=Path, default=None, help="where the collection and stores go (temporary)")
    parser.add_argument("--out", type=Path, default=RESULTS)
    parser.add_argument(
        "--keep-store", type=Path, default=None, help="move the last index run's store here (for the Collection view)"
    )
    parser.add_argument("--batch-child", type=Path, default=None, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.batch_child:
        batch_child(args.batch_child, args.cache_dir)
        return 0

    with tempfile.TemporaryDirectory(dir=args.work_dir) as tmp:
        work = Path(tmp)
        source = work / "collection.jsonl"
        chars, tokens = synthetic_collection(source, args.articles)
        warmup = work / "warmup.jsonl"
        warmup.write_text("".join(source.open(encoding="utf-8").readline() for _ in range(4)), encoding="utf-8")
        print(f"scale: {args.articles} articles, {chars:,} characters, {tokens:,} tokens", file=sys.stderr)
        runs = {"batch": run_batch(source, args.cache_dir)}
        print(f"scale: batch {runs['batch']}", file=sys.stderr)
        for n in args.workers:
            runs[f"index {n}"] = run_index(source, warmup, work / f"store-{n}", n, args.cache_dir, args.partition_size)
            print(f"scale: index {n}: {runs[f'index {n}']['seconds']:.1f} s", file=sys.stderr)
        if args.keep_store and args.workers:
            shutil.rmtree(args.keep_store, ignore_errors=True)
            shutil.move(work / f"store-{args.workers[-1]}", args.keep_store)

    base = args.articles / runs["batch"]["seconds"]
    cpu_base = runs["batch"]["cpu_seconds"] / runs["batch"]["articles"]
    rows = []
    for name, run in runs.items():
        rate = run["articles"] / run["seconds"]
        workers = int(name.split()[1]) if name.startswith("index") else 1
        peaks = run["peak_rss"].values() if isinstance(run["peak_rss"], dict) else [run["peak_rss"]]
        growth = [g["growth"] for g in run.get("rss_growth", {}).values() if g["growth"] is not None]
        rows.append(
            {
                "run": name,
                "workers": workers,
                "seconds": round(run["seconds"], 1),
                "articles_per_s": round(rate, 2),
                "tokens_per_s": round(rate * tokens / args.articles),
                "speedup": round(rate / base, 2),
                "efficiency": round(rate / base / workers, 2),
                "cpu_ms_per_article": round(1000 * run["cpu_seconds"] / run["articles"], 1),
                "cpu_vs_batch": round(run["cpu_seconds"] / run["articles"] / cpu_base, 2),
                "peak_rss_mb_per_worker": round(max(peaks) / 1e6),
                "rss_growth_pct": round(100 * max(growth, key=abs), 1) if growth else None,
            }
        )
    per_core = max(r["articles_per_s"] / r["workers"] for r in rows if r["run"].startswith("index"))
    result = {
        "articles": args.articles,
        "characters": chars,
        "tokens": tokens,
        "rows": rows,
        "runs": runs,
        "projected_hours_1m_articles_64_cores": round(1_000_000 / (per_core * 64) / 3600, 2),
        "cpu_count": os.cpu_count(),
        "load_average": os.getloadavg(),
    }
    args.out.mkdir(parents=True, exist_ok=True)
    stem = args.out / f"scale-{args.articles}"
    stem.with_suffix(".json").write_text(json.dumps(result, indent=2, default=str) + "\n")
    header = (
        "| run | workers | s | articles/s | tokens/s | speed-up | efficiency | CPU ms/article | CPU vs batch "
        "| peak RSS/worker MB | RSS growth % |"
    )
    lines = [header, "|" + "---|" * 11]
    for r in rows:
        lines.append("| " + " | ".join(str(v) for v in r.values()) + " |")
    lines.append("")
    lines.append(
        f"Projected wall time for 1,000,000 articles on 64 cores at {per_core:.1f} articles/s per core: "
        f"{result['projected_hours_1m_articles_64_cores']} h"
    )
    stem.with_suffix(".md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
