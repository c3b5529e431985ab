"""Benchmark: score recognition and resolution the way the geoparsing literature does.

Corpora are JSONL files (see ``../shared/eval/README.md``): one document a
line with gold ``toponyms`` (start, end, text, lat, lon). The engine runs
through the same code as ``python -m geo batch`` (:func:`geo.batch.process_records`):
end to end (plain texts) and given the gold spans (``"spans"``). Reported:

* recognition precision / recall / F1 (exact span match);
* resolution over gold toponyms with coordinates, end to end (spans found)
  and given gold spans: accuracy@161 km, median and mean error, AUC of
  ln(1 + km) / ln(20039) (an unresolved toponym counts as 20,039 km);
* throughput (tokens/s) of the engine vs. the bare spaCy NER pass;
* given gold spans: expected calibration error of the confidence (10 bins) with its reliability table,
  and the shares of wrong and right readings under the app's low-confidence flag;
* the ranker is learned from the development corpora (``geo.learn.DEV_CORPORA``), so each of their documents
  is scored by a model trained on the other folds (split by document), any other corpus by one trained on
  all development documents; and an ablation table: the ranker's out-of-fold accuracy without each feature;
* error breakdown (missed, spurious, wrong place > 161 km) with the worst cases;
  a wrong place given the gold span is one of the ``MISS_KINDS``, since each
  needs a different fix: a ranking error, a place the offline data lacks, or
  the right place whose point in the installed packages is far from GeoNames'.

The corpora are never copied into the repository; missing files are skipped.
"""

from __future__ import annotations

import argparse
import json
import math
import statistics
import sys
import time
from collections import Counter
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path

from geo.geometry import haversine_km
from geo.learn import (
    DEV_CORPORA,
    ablation,
    ablation_table,
    approximate_ablation,
    approximate_ablation_table,
    expected_calibration_error,
    fold_models,
    ranking_accuracy,
    record_approximate,
    record_document,
    train_approximate,
    train_demonym,
    with_learned,
)
from geo.learn import train as train_ranker
from geo.model import LOW_CONFIDENCE, under_line
from geo.resolution import APPROXIMATE_MAX_CONFIDENCE

MAX_KM = 20039.0
ACC_KM = 161.0
TIMING_CHUNK = 32  # documents per turn when the bare and the full pass take turns
DEFAULT_EVAL_DIR = Path(__file__).resolve().parent.parent.parent / "shared" / "eval"
SEED_ARTICLE = Path(__file__).resolve().parent.parent / "seeds" / "tashkent-conference.txt"
WARM_RUNS = 20
FLAG_LINES = (0.5, 0.6, 0.7, 0.75, 0.78, 0.8, 0.82, 0.85, 0.86, 0.88, 0.9)
RIGHT_FLAGGED_AT_MOST = 0.10  # the bound on right readings flagged, which sets the line (flag_line)
MISS_KINDS = {
    "wrong_reading": "another place was chosen, though the gold place is in the gazetteer",
    "not_in_gazetteer": "the gold place (its GeoNames id) is not in the offline gazetteer",
    "right_place_far_point": "the gold place was chosen, but the packages' point for it is > 161 km from GeoNames'",
    "gold_without_id": "the gold toponym has coordinates but no GeoNames id (mostly streets and buildings)",
}


@dataclass
class Scores:
    corpus: str
    documents: int
    tokens: int
    gold: int
    predicted: int
    correct: int
    precision: float
    recall: float
    f1: float
    e2e: dict[str, float]
    given: dict[str, float]
    tokens_per_s: float
    bare_ner_tokens_per_s: float
    throughput_ratio: float
    bare_ner_prf: tuple[float, float, float] = (0.0, 0.0, 0.0)  # the spaCy model alone, GPE/LOC/FAC
    model: str = ""  # the spaCy pipeline both passes use, e.g. "en_core_web_md 3.8.0"
    errors: dict[str, int] = field(default_factory=dict)
    missed_top: list[tuple[str, int]] = field(default_factory=list)
    spurious_top: list[tuple[str, int]] = field(default_factory=list)
    worst: list[dict] = field(default_factory=list)
    given_misses: dict[str, int] = field(default_factory=dict)  # wrong places given gold spans, by MISS_KINDS
    given_right_place: float = 0.0  # given gold spans: share within 161 km or on the gold GeoNames entry
    given_approximate: int = 0  # given gold spans: toponyms read approximately (placed near a known place)
    given_approximate_near: int = 0  # ... of which within 161 km of gold: how far the "approximate" flag means doubt
    ranker: str = ""  # which model ranked: out of fold (development corpora) or trained on all development documents
    ece: float = 0.0  # given gold spans: expected calibration error of the confidence (10 bins)
    ece_uncapped: float = 0.0  # the same were approximate readings shown at their learned chance (not capped)
    reliability: list[tuple[float, float, int, float, float]] = field(default_factory=list)  # low, high, n, conf, acc
    flagged_wrong: float = 0.0  # share of wrong readings (> 161 km or none) under the low-confidence flag
    flagged_right: float = 0.0  # share of right readings under it
    given_approximate_confidence: float = 0.0  # mean confidence of the approximate readings
    # (line, share of wrong readings flagged, share of right ones) were the flag at another line
    flag_lines: list[tuple[float, float, float]] = field(default_factory=list)
    # given gold spans, each reading with coordinates (for error analysis; written to readings.jsonl, not bench.json)
    readings: list[dict] = field(default_factory=list, repr=False)


def load_corpus(path: Path, limit: int | None = None) -> list[dict]:
    docs = []
    with open(path, encoding="utf-8") as handle:
        for line in handle:
            if line.strip():
                docs.append(json.loads(line))
                if limit and len(docs) >= limit:
                    break
    return docs


def resolution_metrics(errors_km: list[float]) -> dict[str, float]:
    if not errors_km:
        return {"n": 0, "acc161": 0.0, "median_km": 0.0, "mean_km": 0.0, "auc": 0.0}
    return {
        "n": len(errors_km),
        "acc161": sum(e <= ACC_KM for e in errors_km) / len(errors_km),
        "median_km": statistics.median(errors_km),
        "mean_km": statistics.fmean(errors_km),
        "auc": statistics.fmean(math.log1p(e) / math.log(MAX_KM) for e in errors_km),
    }


def _error_km(gold: dict, mention: dict | None) -> float:
    if mention is None or mention.get("lat") is None:
        return MAX_KM
    return haversine_km(gold["lat"], gold["lon"], mention["lat"], mention["lon"])


def miss_kind(gold: dict, mention: dict | None, known_ids: frozenset[int]) -> str:
    """Which of ``MISS_KINDS`` a wrong place (given the gold span) is."""
    gold_id = gold.get("geonameid")
    if gold_id is None:
        return "gold_without_id"
    if mention is not None and mention.get("geonameid") == gold_id:
        return "right_place_far_point"
    return "wrong_reading" if gold_id in known_ids else "not_in_gazetteer"


def score_corpus(engine, path: Path, limit: int | None = None, rounds: int = 3) -> Scores:
    from geo.batch import process_records
    from geo.recognize import load_bare_ner, model_description

    docs = load_corpus(path, limit)
    texts = [d["text"] for d in docs]
    tokens = sum(len(engine.nlp.make_doc(t)) for t in texts)

    bare = load_bare_ner()
    plain = [{"id": d["id"], "text": d["text"]} for d in docs]
    bare_seconds = seconds = math.inf
    # The two passes take turns a few documents at a time, so a machine that slows down or speeds up
    # mid-run affects both alike, and they swap who goes first, so neither always runs on warm caches.
    # Each pass's best round counts. The first engine round also fills the geocode cache; later rounds
    # show the steady state.
    for _ in range(rounds):
        bare_docs, e2e_out, round_bare, round_engine = [], [], 0.0, 0.0
        for turn, at in enumerate(range(0, len(docs), TIMING_CHUNK)):
            for which in (0, 1) if turn % 2 == 0 else (1, 0):
                started = time.perf_counter()
                if which == 0:
                    bare_docs += bare.pipe(texts[at : at + TIMING_CHUNK], batch_size=32)
                    round_bare += time.perf_counter() - started
                else:
                    e2e_out += process_records(engine, plain[at : at + TIMING_CHUNK], demonyms=True)
                    round_engine += time.perf_counter() - started
        bare_seconds, seconds = min(bare_seconds, round_bare), min(seconds, round_engine)
    bare_spans = [
        {(e.start_char, e.end_char) for e in doc.ents if e.label_ in ("GPE", "LOC", "FAC")} for doc in bare_docs
    ]
    bare_correct = sum(
        len(spans & {(t["start"], t["end"]) for t in d["toponyms"]}) for spans, d in zip(bare_spans, docs, strict=True)
    )
    bare_p, bare_r, bare_f1 = _prf(bare_correct, sum(map(len, bare_spans)), sum(len(d["toponyms"]) for d in docs))

    # Given gold spans, one document at a time, keeping each approximate reading's learned chance before the cap.
    given_out, uncapped = [], []
    engine.resolver.approximate_recorder = []
    try:
        for line in process_records(
            engine,
            [
                {"id": d["id"], "text": d["text"], "spans": [[t["start"], t["end"]] for t in d["toponyms"]]}
                for d in docs
            ],
        ):
            given_out.append(line)
            uncapped.append({tuple(r["span"]): r["probability"] for r in engine.resolver.approximate_recorder})
            engine.resolver.approximate_recorder.clear()
    finally:
        engine.resolver.approximate_recorder = None

    gold_n = pred_n = correct = 0
    e2e_errors: list[float] = []
    given_errors: list[float] = []
    missed: Counter[str] = Counter()
    spurious: Counter[str] = Counter()
    worst: list[dict] = []
    misses: Counter[str] = Counter({kind: 0 for kind in MISS_KINDS})
    approximate = approximate_near = 0
    confidences: list[float] = []
    approximates: list[bool] = []
    chances: list[float] = []  # the confidence, but an approximate reading's before the cap
    readings: list[dict] = []
    known_ids = engine.gazetteer.geonameids()
    for doc, e2e, given, before_cap in zip(docs, e2e_out, given_out, uncapped, strict=True):
        predicted = {(m["start"], m["end"]): m for m in e2e["mentions"]}
        gold = {(t["start"], t["end"]): t for t in doc["toponyms"]}
        gold_n += len(gold)
        pred_n += len(predicted)
        correct += len(gold.keys() & predicted.keys())
        missed.update(gold[k]["text"] for k in gold.keys() - predicted.keys())
        spurious.update(predicted[k]["text"] for k in predicted.keys() - gold.keys())
        for key, t in gold.items():
            if t.get("lat") is not None and key in predicted:
                e2e_errors.append(_error_km(t, predicted[key]))
        for t, m in zip(doc["toponyms"], given["mentions"], strict=True):
            if t.get("lat") is None:
                continue
            km = _error_km(t, m)
            given_errors.append(km)
            confidences.append(m.get("confidence") or 0.0 if m.get("lat") is not None else 0.0)
            approximates.append(bool(m.get("approximate")))
            chances.append(before_cap.get((t["start"], t["end"]), confidences[-1]))  # approximate ones only
            if m.get("approximate"):
                approximate += 1
                approximate_near += km <= ACC_KM
            kind = miss_kind(t, m, known_ids) if km > ACC_KM else ""
            reading = {
                "doc": doc["id"],
                "text": t["text"],
                "gold": [t["lat"], t["lon"], t.get("geonameid")],
                "got": [m.get(k) for k in ("name", "country_code", "feature", "lat", "lon", "geonameid")],
                "km": round(km),
                "right": km <= ACC_KM,  # exact: "km" is rounded, and 161.4 km is wrong
            }
            readings.append(
                {
                    **reading,
                    "confidence": confidences[-1],
                    "approximate": approximates[-1],
                    "chance": chances[-1],
                    "miss": kind,
                    "kind": m.get("kind"),
                }
            )
            if km > ACC_KM:
                misses[kind] += 1
                sentence_start = max(0, doc["text"].rfind(".", 0, t["start"]) + 1)
                worst.append(
                    {
                        **reading,
                        "kind": kind,
                        "got": [*reading["got"], m.get("confidence")],
                        "context": doc["text"][sentence_start : t["end"] + 80].strip()[:240],
                    }
                )
    precision, recall, f1 = _prf(correct, pred_n, gold_n)
    right = [e <= ACC_KM for e in given_errors]
    ece, reliability = expected_calibration_error(confidences, right) if right else (0.0, [])
    ece_uncapped = expected_calibration_error(chances, right)[0] if right else 0.0
    n_wrong = right.count(False)

    def flag_shares(line: float) -> tuple[float, float, float]:
        # the cap on approximate readings moves with the line (it is the line): their chance before the cap decides
        under = [under_line(c, line) for c in chances]
        wrong = sum(u and not r for u, r in zip(under, right, strict=True))
        fine = sum(u and r for u, r in zip(under, right, strict=True))
        return line, wrong / n_wrong if n_wrong else 0.0, fine / right.count(True) if any(right) else 0.0

    # As the app flags them (geo.app.mapview.is_low_confidence): under the line, approximate or not.
    _, flagged_wrong, flagged_right = flag_shares(LOW_CONFIDENCE)

    worst.sort(key=lambda w: -w["km"])
    tps = tokens / seconds if seconds else 0.0
    bare_tps = tokens / bare_seconds if bare_seconds else 0.0
    return Scores(
        corpus=path.stem,
        documents=len(docs),
        tokens=tokens,
        gold=gold_n,
        predicted=pred_n,
        correct=correct,
        precision=precision,
        recall=recall,
        f1=f1,
        e2e=resolution_metrics(e2e_errors),
        given=resolution_metrics(given_errors),
        tokens_per_s=tps,
        bare_ner_tokens_per_s=bare_tps,
        throughput_ratio=tps / bare_tps if bare_tps else 0.0,
        bare_ner_prf=(bare_p, bare_r, bare_f1),
        model=model_description(),
        errors={
            "missed": gold_n - correct,
            "spurious": pred_n - correct,
            "wrong_place_given_spans": sum(e > ACC_KM for e in given_errors),
        },
        missed_top=missed.most_common(20),
        spurious_top=spurious.most_common(20),
        worst=worst[:20],
        given_misses=dict(misses),
        given_right_place=(
            1 - (sum(misses.values()) - misses["right_place_far_point"]) / len(given_errors) if given_errors else 0.0
        ),
        given_approximate=approximate,
        given_approximate_near=approximate_near,
        given_approximate_confidence=(
            statistics.fmean(c for c, a in zip(confidences, approximates, strict=True) if a) if approximate else 0.0
        ),
        flag_lines=[flag_shares(line) for line in FLAG_LINES],
        ece=ece,
        ece_uncapped=ece_uncapped,
        reliability=reliability,
        readings=readings,
        flagged_wrong=flagged_wrong,
        flagged_right=flagged_right,
    )


def _prf(correct: int, predicted: int, gold: int) -> tuple[float, float, float]:
    precision = correct / predicted if predicted else 0.0
    recall = correct / gold if gold else 0.0
    return precision, recall, (2 * precision * recall / (precision + recall) if precision + recall else 0.0)


def warm_parse_ms(engine, path: Path = SEED_ARTICLE, runs: int = WARM_RUNS) -> tuple[float, float] | None:
    """Median milliseconds of a warm ``Engine.parse`` of the seed article, and of the bare spaCy NER pass over
    the same text (the floor the engine adds its rules and resolution to). None without the seed article."""
    from geo.recognize import load_bare_ner

    if not path.exists():
        return None
    text = path.read_text(encoding="utf-8")
    bare = load_bare_ner()

    def median_ms(run) -> float:
        run()  # warm: caches filled, lazy parts loaded
        times = []
        for _ in range(runs):
            started = time.perf_counter()
            run()
            times.append((time.perf_counter() - started) * 1000)
        return statistics.median(times)

    return median_ms(lambda: engine.parse(text)), median_ms(lambda: bare(text))


def flag_line(scores: list[Scores], at_most: float = RIGHT_FLAGGED_AT_MOST) -> float | None:
    """The highest low-confidence line (in hundredths) that flags at most ``at_most`` of the right readings in each
    development corpus, out of fold: the highest line flags the most wrong readings, and that bound is what a
    reader pays in right readings flagged. None without development corpora."""
    dev = [s for s in scores if s.corpus in DEV_CORPORA and s.readings]
    if not dev:
        return None
    # An approximate reading is shown at its chance up to the line (the cap is the line), so a line flags the readings
    # whose chance, before the cap, is under it.
    right = [[r["chance"] for r in s.readings if r["right"]] for s in dev]
    best = None
    for hundredths in range(50, 96):
        line = hundredths / 100
        if all(sum(under_line(c, line) for c in cs) <= at_most * len(cs) for cs in right):
            best = line
    return best


def markdown(scores: list[Scores]) -> str:
    head = (
        "| corpus | docs | P | R | F1 | e2e acc@161 | e2e median km | e2e AUC | gold-span acc@161 | "
        "gold-span median km | gold-span mean km | gold-span AUC | tokens/s | bare NER tokens/s | ratio |\n"
        "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|\n"
    )
    rows = []
    for s in scores:
        rows.append(
            f"| {s.corpus} | {s.documents} | {s.precision:.3f} | {s.recall:.3f} | {s.f1:.3f} | "
            f"{s.e2e['acc161']:.1%} | {s.e2e['median_km']:.1f} | {s.e2e['auc']:.3f} | "
            f"{s.given['acc161']:.1%} | {s.given['median_km']:.1f} | {s.given['mean_km']:.0f} | "
            f"{s.given['auc']:.3f} | {s.tokens_per_s:,.0f} | {s.bare_ner_tokens_per_s:,.0f} | "
            f"{s.throughput_ratio:.0%} |"
        )
    baseline = "".join(
        f"\nspaCy {s.model} alone (GPE/LOC/FAC), {s.corpus}: P {s.bare_ner_prf[0]:.3f}, "
        f"R {s.bare_ner_prf[1]:.3f}, F1 {s.bare_ner_prf[2]:.3f}"
        for s in scores
    )
    calibration = "".join(
        f"\n{s.corpus} ({s.ranker}), given gold spans: calibration error (ECE, 10 bins) {s.ece:.3f} "
        f"({s.ece_uncapped:.3f} were approximate readings not capped at {APPROXIMATE_MAX_CONFIDENCE}); "
        f"wrong readings flagged low-confidence (< {LOW_CONFIDENCE}) {s.flagged_wrong:.1%}, "
        f"right ones {s.flagged_right:.1%}\n"
        "| confidence | readings | mean confidence | share right |\n|---|---|---|---|\n"
        + "\n".join(
            f"| {low:.1f}-{high:.1f} | {n} | {conf:.3f} | {acc:.3f} |" for low, high, n, conf, acc in s.reliability
        )
        for s in scores
    )
    misses = "".join(
        f"\n{s.corpus}, given gold spans, wrong places by kind: "
        + ", ".join(f"{kind} {n}" for kind, n in s.given_misses.items())
        + f"; counting the right place as right: {s.given_right_place:.1%}"
        + f"; read approximately: {s.given_approximate}, of which within {ACC_KM:.0f} km: {s.given_approximate_near}"
        + f" (mean confidence {s.given_approximate_confidence:.3f})"
        for s in scores
    )
    lines = "".join(
        f"\n{s.corpus}, given gold spans, were the low-confidence line elsewhere: "
        + ", ".join(f"< {line:.2f}: wrong {w:.1%} / right {r:.1%}" for line, w, r in s.flag_lines)
        for s in scores
    )
    line = flag_line(scores)
    if line is not None:
        lines += (
            f"\nThe highest line flagging at most {RIGHT_FLAGGED_AT_MOST:.0%} of right readings in each development"
            f" corpus (out of fold): {line:.2f}; the app's line (geo.model.LOW_CONFIDENCE): {LOW_CONFIDENCE}"
        )
    return head + "\n".join(rows) + "\n" + baseline + "\n" + misses + "\n" + calibration + "\n" + lines + "\n"


def rule_ablation(engine, dev: list[tuple[Path, dict]]) -> list[tuple[str, dict[str, float]]]:
    """Given gold spans, acc@161 of each development corpus (with the out-of-fold rankers the engine is set to
    use) with every resolution rule, then with each one switched off (``geo.resolution.RESOLUTION_RULES``)."""
    from geo.batch import process_records
    from geo.resolution import RESOLUTION_RULE_NAMES

    def accuracy() -> dict[str, float]:
        out = {}
        for corpus in sorted({p.stem for p, _ in dev}):
            docs = [d for p, d in dev if p.stem == corpus]
            records = [
                {"id": d["id"], "text": d["text"], "spans": [[t["start"], t["end"]] for t in d["toponyms"]]}
                for d in docs
            ]
            errors = [
                _error_km(t, m)
                for d, line in zip(docs, process_records(engine, records), strict=True)
                for t, m in zip(d["toponyms"], line["mentions"], strict=True)
                if t.get("lat") is not None
            ]
            out[corpus] = resolution_metrics(errors)["acc161"]
        return out

    rules = engine.resolver.rules
    rows = [("(all rules)", accuracy())]
    try:
        for name in RESOLUTION_RULE_NAMES:
            engine.resolver.rules = rules - {name}
            rows.append((name, accuracy()))
    finally:
        engine.resolver.rules = rules
    return rows


def recognition_ablation(engine, dev: list[tuple[Path, dict]]) -> list[tuple[str, dict[str, float]]]:
    """Recognition F1 (exact spans, demonyms included) of each development corpus with every recognition rule
    (``geo.recognize.RULES``), then with each one switched off. The model's pass runs once; only the rules run
    again, on copies of its documents."""
    import dataclasses

    from geo.recognize import RULE_NAMES, SPAN_KEY, ToponymFinder

    nlp = engine.nlp
    finder = nlp.get_pipe("dateline_toponyms")
    with nlp.select_pipes(disable=["dateline_toponyms"]):
        model_docs = list(nlp.pipe((d["text"] for _, d in dev), batch_size=32))
    gold = [{(t["start"], t["end"]) for t in d["toponyms"]} for _, d in dev]
    corpora = [p.stem for p, _ in dev]

    def f1(find: ToponymFinder) -> dict[str, float]:
        counts: dict[str, list[int]] = {}
        for doc, spans, corpus in zip(model_docs, gold, corpora, strict=True):
            copy = find(doc.copy())
            found = {(s.start_char, s.end_char) for s in copy.spans[SPAN_KEY]}
            n = counts.setdefault(corpus, [0, 0, 0])
            n[0] += len(found & spans)
            n[1] += len(found)
            n[2] += len(spans)
        return {c: _prf(*n)[2] for c, n in sorted(counts.items())}

    rows = [("(all rules)", f1(finder))]
    for name in RULE_NAMES:
        if name in finder.settings.disabled_rules:
            continue
        off = dataclasses.replace(finder.settings, disabled_rules=finder.settings.disabled_rules | {name})
        rows.append((name, f1(ToponymFinder(finder.gazetteer_path, off))))
    return rows


def recognition_ablation_table(rows: list[tuple[str, dict[str, float]]]) -> str:
    return ablation_table(rows, removed="recognition rule switched off", measure="F1", share=False)


def rule_ablation_table(rows: list[tuple[str, dict[str, float]]]) -> str:
    return ablation_table(rows, removed="resolution rule switched off", measure="acc@161")


def main(args: argparse.Namespace) -> int:
    from geo.batch import engine_from_options, progress_bar

    paths = [Path(p) for p in args.corpora] or sorted(DEFAULT_EVAL_DIR.glob("*.jsonl"))
    paths = [p for p in paths if p.exists()]
    if not paths:
        print(f"bench: no corpus found (looked in {DEFAULT_EVAL_DIR}); nothing to score", file=sys.stderr)
        return 0
    engine = engine_from_options(
        args.cache_dir,
        geocoder=getattr(args, "geocoder", "offline"),
        domain=getattr(args, "geocoder_domain", None),
        scheme=getattr(args, "geocoder_scheme", None),
        progress=progress_bar(),
        disabled_rules=getattr(args, "disable_rule", None) or (),
    )
    # The ranker is learned from the development corpora: each of their documents is scored by a model trained
    # on the other folds (split by document); any other corpus by one trained on all development documents.
    dev = [(p, d) for p in paths if p.stem in DEV_CORPORA for d in load_corpus(p, args.limit)]
    rows = [record_document(engine, d) for _, d in dev]
    ablated = approximate_ablated = ""
    if rows:
        by_doc = fold_models(rows)
        by_text = {d["text"]: by_doc[r.doc_id] for (_, d), r in zip(dev, rows, strict=True)}
        everything = train_ranker(rows)
        engine.resolver.choose_ranker = lambda text: by_text.get(text, everything)
        # Approximate readings and demonyms, as the out-of-fold rankers make them; their confidence is then learned
        # out of fold too (the same document folds), and for other corpora on all of them.
        approximate = [record_approximate(engine, d) for _, d in dev]
        by_doc = with_learned(by_doc, approximate)
        by_text.update({d["text"]: by_doc[r.doc_id] for (_, d), r in zip(dev, rows, strict=True)})
        everything = replace(everything, approximate=train_approximate(approximate), demonym=train_demonym(approximate))
        ablated = ablation_table(ablation(rows))
        approximate_ablated = approximate_ablation_table(approximate_ablation(approximate))
    rules_ablated = rule_ablation_table(rule_ablation(engine, dev)) if dev else ""
    recognition_ablated = recognition_ablation_table(recognition_ablation(engine, dev)) if dev else ""
    scores = []
    for p in paths:
        s = score_corpus(engine, p, args.limit)
        s.ranker = "out of fold" if p.stem in DEV_CORPORA else "trained on all development documents"
        scores.append(s)
    warm = warm_parse_ms(engine)
    args.out.mkdir(parents=True, exist_ok=True)
    summaries = [{k: v for k, v in asdict(s).items() if k != "readings"} for s in scores]
    (args.out / "bench.json").write_text(json.dumps(summaries, indent=2, ensure_ascii=False))
    with open(args.out / "readings.jsonl", "w", encoding="utf-8") as handle:
        for s in scores:
            for r in s.readings:
                handle.write(json.dumps({"corpus": s.corpus, **r}, ensure_ascii=False) + "\n")
    table = markdown(scores)
    if warm is not None:
        table += (
            f"\nSeed article ({SEED_ARTICLE.name}), warm, median of {WARM_RUNS}: engine.parse {warm[0]:.1f} ms;"
            f" the bare spaCy NER pass over it {warm[1]:.1f} ms\n"
        )
    if ablated:
        table += (
            "\nAblation, given gold spans: the ranker's out-of-fold acc@161 over gold toponyms that have candidates,"
            " retrained without each feature\n" + ablated
        )
    if rules_ablated:
        table += (
            "\nResolution rules, given gold spans: out-of-fold acc@161 of gold toponyms with coordinates, with each"
            " rule switched off\n" + rules_ablated
        )
    if recognition_ablated:
        table += (
            "\nRecognition rules (geo/recognize.py RULES): recognition F1 (exact spans, demonyms included) with each"
            " rule switched off; the model's entities are the same in every row\n" + recognition_ablated
        )
    if approximate_ablated:
        table += (
            "\nApproximate readings' confidence, given gold spans: out-of-fold log loss and ECE (before the cap"
            " at APPROXIMATE_MAX_CONFIDENCE), retrained without each feature\n" + approximate_ablated
        )
    (args.out / "bench.md").write_text(table)
    print(table)
    for s in scores:
        print(f"{s.corpus}: errors {s.errors}")
        print(f"  most missed: {s.missed_top[:10]}")
        print(f"  most spurious: {s.spurious_top[:10]}")
    return 0


def train_main(args: argparse.Namespace) -> int:
    """Fit the shipped ranker on all development documents and write it (``python -m geo train``)."""
    from geo.batch import engine_from_options, progress_bar

    paths = [Path(p) for p in args.corpora] or [DEFAULT_EVAL_DIR / f"{c}.jsonl" for c in DEV_CORPORA]
    for p in paths:
        if p.stem not in DEV_CORPORA:
            print(f"train: {p} is not a development corpus; refusing to train on it", file=sys.stderr)
            return 2
    paths = [p for p in paths if p.exists()]
    if not paths:
        print("train: no development corpus found; nothing to train on", file=sys.stderr)
        return 1
    engine = engine_from_options(args.cache_dir, progress=progress_bar())
    raw = [d for p in paths for d in load_corpus(p)]
    docs = [record_document(engine, d) for d in raw]
    model = train_ranker(docs)
    models = fold_models(docs)
    # Approximate readings as a model that did not see their document makes them, as in the bench.
    by_text = {d["text"]: models[r.doc_id] for d, r in zip(raw, docs, strict=True)}
    engine.resolver.choose_ranker = lambda text: by_text.get(text, model)
    try:
        approximate = [record_approximate(engine, d) for d in raw]
    finally:
        engine.resolver.choose_ranker = None
    model = replace(model, approximate=train_approximate(approximate), demonym=train_demonym(approximate))
    model.save(args.model)
    for corpus in sorted({d.corpus for d in docs}):
        mine = [d for d in docs if d.corpus == corpus]
        print(f"{corpus}: {len(mine)} documents, out-of-fold ranking acc@161 {ranking_accuracy(mine, models):.1%}")
    print(f"wrote {args.model}")
    return 0
