"""Learning the ranker from annotated news, and judging it honestly.

The resolver's pass-two features (``geo.features``) do not depend on the model, so each document is resolved
once given its gold spans with the features recorded; training, cross-validation and ablation then work on
those cached rows and never re-parse. Folds are split by document (fixed seed): every figure for a
development document comes from a model that did not see it. ``python -m geo train`` fits the shipped
model on all development documents and writes ``geo/data/ranker.json``.
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from dataclasses import dataclass, field, replace

from geo.features import (
    APPROXIMATE_NAMES,
    FEATURE_NAMES,
    ApproximateModel,
    Ranker,
    fit,
    fit_approximate,
    fit_calibration,
    softmax,
)
from geo.geometry import haversine_km
from geo.model import MentionKind
from geo.resolution import BACKOFF_CONFIDENCE

ACC_KM = 161.0
FOLDS = 5
SEED = 13
DEV_CORPORA = ("gwn", "trnews")  # may be trained on; anything else (TUD) is only measured
CALIBRATION_BINS = 10
_N = len(FEATURE_NAMES)
NEUTRAL = Ranker(tuple(FEATURE_NAMES), (0.0,) * _N, (1.0,) * _N, (0.0,) * _N)  # all readings alike


@dataclass
class Choice:
    """One gold toponym's candidate readings (pass two): which are right (for training) and which are within
    161 km of gold (for scoring)."""

    x: list[list[float]]
    right: list[int]
    near: list[int] | None = None  # None: the same as ``right``


@dataclass
class DocRows:
    """A document's recorded choices; gold toponyms the resolver had no candidates for count as misses."""

    doc_id: str
    corpus: str
    choices: list[Choice] = field(default_factory=list)
    no_candidates: int = 0


def record_document(engine, doc: dict) -> DocRows:
    """Resolve ``doc`` given its gold spans and keep pass two's features for each gold toponym."""
    resolver = engine.resolver
    resolver.recorder = []
    chooser = resolver.choose_ranker
    resolver.choose_ranker = lambda _: NEUTRAL  # the features do not depend on the model; the shipped one may be stale
    try:
        engine.resolve(doc["text"], [(t["start"], t["end"]) for t in doc["toponyms"]])
        groups = resolver.recorder
    finally:
        resolver.recorder = None
        resolver.choose_ranker = chooser
    by_span = {span: g for g in groups for span in g["spans"]}
    rows = DocRows(doc["id"], doc.get("corpus", ""))
    for t in doc["toponyms"]:
        if t.get("lat") is None:
            continue
        g = by_span.get((t["start"], t["end"]))
        if g is None:
            rows.no_candidates += 1
            continue
        near = [int(haversine_km(t["lat"], t["lon"], lat, lon) <= ACC_KM) for lat, lon in g["points"]]
        rows.choices.append(Choice(g["x"], _right(t, g), near))
    return rows


@dataclass
class ApproximateRows:
    """A document's approximate readings (given its gold spans): their features and whether each is within 161 km;
    and whether each of its demonyms read as a country is."""

    doc_id: str
    corpus: str
    x: list[list[float]] = field(default_factory=list)
    right: list[int] = field(default_factory=list)
    how: list[str] = field(default_factory=list)
    demonyms: list[int] = field(default_factory=list)


def record_approximate(engine, doc: dict) -> ApproximateRows:
    """Resolve ``doc`` given its gold spans, with whatever rankers the resolver is set to use, and keep the
    features of each approximate reading of a gold toponym with coordinates.

    Which readings are approximate and where they are put depends on the ranker, not on the approximate
    model (that only sets their confidence afterwards), so the bench records them with the out-of-fold rankers.
    """
    resolver = engine.resolver
    resolver.approximate_recorder = []
    try:
        result = engine.resolve(doc["text"], [(t["start"], t["end"]) for t in doc["toponyms"]])
        found = {r["span"]: r for r in resolver.approximate_recorder}
    finally:
        resolver.approximate_recorder = None
    rows = ApproximateRows(doc["id"], doc.get("corpus", ""))
    for t, m in zip(doc["toponyms"], result.mentions, strict=True):
        if m.kind is MentionKind.DEMONYM and m.candidate is not None and t.get("lat") is not None:
            rows.demonyms.append(int(haversine_km(t["lat"], t["lon"], m.candidate.lat, m.candidate.lon) <= ACC_KM))
        r = found.get((t["start"], t["end"]))
        if r is None or t.get("lat") is None:
            continue
        rows.x.append(r["x"])
        rows.right.append(int(haversine_km(t["lat"], t["lon"], *r["point"]) <= ACC_KM))
        rows.how.append(r["how"])
    return rows


def train_approximate(docs: Sequence[ApproximateRows], names: Sequence[str] = APPROXIMATE_NAMES):
    """The approximate readings' calibration fitted on ``docs``."""
    return fit_approximate([x for d in docs for x in d.x], [r for d in docs for r in d.right], names)


def train_demonym(docs: Sequence[ApproximateRows]) -> float | None:
    """How often a demonym read as its country is right in ``docs`` (add-one smoothed; None without any)."""
    outcomes = [r for d in docs for r in d.demonyms]
    return (sum(outcomes) + 1) / (len(outcomes) + 2) if outcomes else None


def with_learned(rankers: dict[str, Ranker], docs: Sequence[ApproximateRows]) -> dict[str, Ranker]:
    """Each document's ranker carrying the approximate calibration and demonym rate of the other folds."""
    folds = fold_of([d.doc_id for d in docs])
    learned = {}
    for f in set(folds.values()):
        others = [d for d in docs if folds[d.doc_id] != f]
        learned[f] = (train_approximate(others), train_demonym(others))
    out = dict(rankers)
    for d in docs:
        approximate, demonym = learned[folds[d.doc_id]]
        out[d.doc_id] = replace(rankers[d.doc_id], approximate=approximate, demonym=demonym)
    return out


def approximate_fold_models(
    docs: Sequence[ApproximateRows], names: Sequence[str] = APPROXIMATE_NAMES
) -> dict[str, ApproximateModel | None]:
    """For each document, the approximate calibration trained on the other folds (the ranker's folds)."""
    folds = fold_of([d.doc_id for d in docs])
    models = {f: train_approximate([d for d in docs if folds[d.doc_id] != f], names) for f in set(folds.values())}
    return {d.doc_id: models[folds[d.doc_id]] for d in docs}


def approximate_ablation(docs: Sequence[ApproximateRows]) -> list[tuple[str, dict[str, tuple[float, float]]]]:
    """Per corpus, the out-of-fold log loss and ECE of approximate readings' calibrated confidence (not capped),
    with all features, then with each one left out (retrained); first row: the fixed guess (BACKOFF_CONFIDENCE)."""
    import math

    corpora = sorted({d.corpus for d in docs})

    def measure(confidence: dict[str, list[float]]) -> dict[str, tuple[float, float]]:
        out = {}
        for c in corpora:
            ps = [p for d in docs if d.corpus == c for p in confidence[d.doc_id]]
            ys = [y for d in docs if d.corpus == c for y in d.right]
            if not ps:
                out[c] = (0.0, 0.0)
                continue
            loss = -sum(math.log(p if y else 1 - p) for p, y in zip(ps, ys, strict=True)) / len(ps)
            out[c] = (loss, expected_calibration_error(ps, [bool(y) for y in ys])[0])
        return out

    def scores(names: Sequence[str]) -> dict[str, tuple[float, float]]:
        models = approximate_fold_models(docs, names)
        return measure(
            {
                d.doc_id: [models[d.doc_id].probability(x) if models[d.doc_id] else BACKOFF_CONFIDENCE for x in d.x]
                for d in docs
            }
        )

    fixed = measure({d.doc_id: [BACKOFF_CONFIDENCE] * len(d.x) for d in docs})
    out = [(f"(fixed {BACKOFF_CONFIDENCE})", fixed)]
    out.append(("(all features)", scores(APPROXIMATE_NAMES)))
    for name in APPROXIMATE_NAMES:
        out.append((name, scores([n for n in APPROXIMATE_NAMES if n != name])))
    return out


def approximate_ablation_table(rows: list[tuple[str, dict[str, tuple[float, float]]]]) -> str:
    corpora = list(rows[0][1])
    head = "| approximate feature removed | " + " | ".join(f"{c} log loss | {c} ECE" for c in corpora) + " |\n"
    head += "|---|" + "---|---|" * len(corpora) + "\n"
    lines = [
        f"| {name} | " + " | ".join(f"{got[c][0]:.3f} | {got[c][1]:.3f}" for c in corpora) + " |" for name, got in rows
    ]
    return head + "\n".join(lines) + "\n"


def _right(gold: dict, group: dict) -> list[int]:
    """Which candidates are right: the gold GeoNames entry where it is among them, else any within 161 km.

    Within 161 km alone would teach that an odd alternate name of a suburb ("City of London" for London,
    a town near Washington that GeoNames also calls "Washington") is as good as the place itself.
    """
    if gold.get("geonameid") is not None and gold["geonameid"] in group["ids"]:
        return [int(i == gold["geonameid"]) for i in group["ids"]]
    return [int(haversine_km(gold["lat"], gold["lon"], lat, lon) <= ACC_KM) for lat, lon in group["points"]]


def fold_of(doc_ids: Sequence[str], folds: int = FOLDS, seed: int = SEED) -> dict[str, int]:
    """Each document's fold: a seeded shuffle dealt round-robin, so folds are split by document."""
    order = sorted(set(doc_ids))
    random.Random(seed).shuffle(order)
    return {doc_id: i % folds for i, doc_id in enumerate(order)}


def _choices(
    docs: Sequence[DocRows], names: Sequence[str], near: bool = False
) -> list[tuple[list[list[float]], list[int]]]:
    """Each choice's rows (``names`` only) and which readings are right, or with ``near`` within 161 km of gold."""
    columns = [FEATURE_NAMES.index(n) for n in names]
    return [
        ([[row[i] for i in columns] for row in c.x], (c.near or c.right) if near else c.right)
        for d in docs
        for c in d.choices
    ]


def train(docs: Sequence[DocRows], names: Sequence[str] = FEATURE_NAMES, calibrate: bool = True) -> Ranker:
    """A ranker fitted on ``docs`` (right: the gold entry, else within 161 km), its confidence calibrated out of fold.

    The calibration is fitted on the top readings of ``docs`` each scored by a model trained on the other
    (inner) folds, so it learns how sure a model should be about documents it did not see.
    """
    model = fit(_choices(docs, names), names)
    if not calibrate:
        return model
    folds = fold_of([d.doc_id for d in docs], seed=SEED + 1)
    probabilities, tops, right = [], [], []
    for f in set(folds.values()):
        inner = fit(_choices([d for d in docs if folds[d.doc_id] != f], names), names)
        # The confidence means "within 161 km of where the text means", as the bench scores it: a reading on
        # another entry for the same place (a city's duplicate, a district around it) is right for it.
        for x, r in _choices([d for d in docs if folds[d.doc_id] == f], names, near=True):
            p = softmax([inner.logit(row) for row in x])
            best = max(range(len(p)), key=p.__getitem__)
            probabilities.append(p[best])
            tops.append(x[best])
            right.append(r[best])
    if 0 < sum(right) < len(right):
        model = replace(model, calibration=fit_calibration(model, probabilities, tops, right))
    return model


def fold_models(
    docs: Sequence[DocRows], names: Sequence[str] = FEATURE_NAMES, calibrate: bool = True
) -> dict[str, Ranker]:
    """For each document, a ranker trained on the other folds only."""
    folds = fold_of([d.doc_id for d in docs])
    models = {f: train([d for d in docs if folds[d.doc_id] != f], names, calibrate) for f in set(folds.values())}
    return {d.doc_id: models[folds[d.doc_id]] for d in docs}


def ranking_accuracy(docs: Sequence[DocRows], model_for: dict[str, Ranker]) -> float:
    """Share of gold toponyms with candidates whose best-scored candidate is within 161 km."""
    right = total = 0
    for d in docs:
        model = model_for[d.doc_id]
        columns = model.columns()
        total += len(d.choices)
        for choice in d.choices:
            scores = [model.logit([row[i] for i in columns]) for row in choice.x]
            right += (choice.near or choice.right)[max(range(len(scores)), key=scores.__getitem__)]
    return right / total if total else 0.0


def ablation(docs: Sequence[DocRows]) -> list[tuple[str, dict[str, float]]]:
    """Out-of-fold ranking accuracy per corpus with all features, then with each one left out (retrained)."""
    corpora = sorted({d.corpus for d in docs})

    def scores(names: Sequence[str]) -> dict[str, float]:
        models = fold_models(docs, names, calibrate=False)
        return {c: ranking_accuracy([d for d in docs if d.corpus == c], models) for c in corpora}

    out = [("(all features)", scores(FEATURE_NAMES))]
    for name in FEATURE_NAMES:
        out.append((name, scores([n for n in FEATURE_NAMES if n != name])))
    return out


def ablation_table(rows: list[tuple[str, dict[str, float]]], removed: str = "feature removed",
                   measure: str = "ranking acc@161", share: bool = True) -> str:
    """Markdown: one row per thing left out, its score on each corpus and the change from the first row
    (``share``: a percentage and points, else a plain score such as F1 to three places)."""
    corpora = list(rows[0][1])
    full = rows[0][1]
    head = f"| {removed} | " + " | ".join(f"{c} {measure} | {c} change" for c in corpora) + " |\n"
    head += "|---|" + "---|---|" * len(corpora) + "\n"
    lines = []
    for name, got in rows:
        cells = " | ".join(
            f"{got[c]:.1%} | {100 * (got[c] - full[c]):+.1f} pt" if share else f"{got[c]:.3f} | {got[c] - full[c]:+.3f}"
            for c in corpora
        )
        lines.append(f"| {name} | {cells} |")
    return head + "\n".join(lines) + "\n"


def expected_calibration_error(confidences: Sequence[float], right: Sequence[bool], bins: int = CALIBRATION_BINS):
    """ECE over equal-width bins, and the reliability table: (low, high, count, mean confidence, accuracy)."""
    table = []
    n = len(confidences)
    ece = 0.0
    for b in range(bins):
        low, high = b / bins, (b + 1) / bins
        members = [
            (c, r) for c, r in zip(confidences, right, strict=True) if low <= c < high or (b == bins - 1 and c == 1.0)
        ]
        if not members:
            table.append((low, high, 0, 0.0, 0.0))
            continue
        conf = sum(c for c, _ in members) / len(members)
        acc = sum(r for _, r in members) / len(members)
        ece += len(members) / n * abs(acc - conf)
        table.append((low, high, len(members), conf, acc))
    return ece, table
