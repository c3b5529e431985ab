"""The learned ranker: its features, the shipped model file, fitting, folds and the calibration measure."""

from __future__ import annotations

from dataclasses import replace

import pytest

from geo.features import (
    CALIBRATION_ONLY,
    FEATURE_NAMES,
    FEATURES,
    MODEL_PATH,
    Ranker,
    Situation,
    feature_vector,
    fit,
    fit_calibration,
)
from geo.learn import (
    NEUTRAL,
    Choice,
    DocRows,
    expected_calibration_error,
    fold_models,
    fold_of,
    ranking_accuracy,
    train,
)
from geo.model import Candidate, Feature

PARIS_FR = Candidate(2988507, "Paris", 48.85, 2.35, Feature.CITY, "FR", "FR.11", 2_138_551, capital=True)
PARIS_KY = Candidate(4303602, "Paris", 38.21, -84.25, Feature.CITY, "US", "US.KY", 9_846)
KENTUCKY = Candidate(6254925, "Kentucky", 37.5, -85.0, Feature.ADMIN1, "US", "US.KY", 4_339_367)


def value(name: str, c: Candidate, s: Situation, kind: int = 0) -> float:
    return feature_vector(c, kind, s)[FEATURE_NAMES.index(name)]


def test_features_are_declared_once_with_unique_names():
    assert len(FEATURE_NAMES) == len(set(FEATURE_NAMES)) == len(FEATURES)
    assert all(callable(fn) and why for _, fn, why in FEATURES)


def test_a_qualifier_speaks_for_the_place_inside_it():
    s = Situation("Paris", qualifies=True, qualifiers=(KENTUCKY,), max_population=PARIS_FR.population)
    assert value("qualifier", PARIS_KY, s) == 1.0 and value("qualifier", PARIS_FR, s) == 0.0
    assert value("population_gap", PARIS_FR, s) == 0.0 and value("population_gap", PARIS_KY, s) < -2


def test_a_small_town_in_the_articles_country_but_an_unnamed_province_is_told_apart():
    s = Situation("Paris", countries={"US": 1.0}, max_population=PARIS_FR.population)
    assert value("small_town_outside_named_province", PARIS_KY, s) == 1.0
    named = Situation("Paris", countries={"US": 1.0}, admins={"US.KY": 1.0})
    assert value("small_town_outside_named_province", PARIS_KY, named) == 0.0
    assert value("article_province", PARIS_KY, named) == 1.0
    assert value("stray_abroad", PARIS_KY, Situation("Paris", countries={"FR": 1.0})) == 1.0


def test_a_compass_word_alone_is_rarely_a_province_abroad():
    """ "West" alone read as Cameroon's West Region in a story about the US is marked; the same reading in a story
    about Cameroon, a province with a real name, and a town called West are not."""
    west = Candidate(2221788, "West", 5.5, 10.5, Feature.ADMIN1, "CM", "CM.08", 1_900_000)
    us, cameroon = Situation("West", countries={"US": 1.0}), Situation("West", countries={"CM": 1.0})
    assert value("compass_word_abroad", west, us) == 1.0
    assert value("compass_word_abroad", west, Situation("Western")) == 1.0
    assert value("compass_word_abroad", west, cameroon) == 0.0
    assert value("compass_word_abroad", KENTUCKY, Situation("Kentucky", countries={"FR": 1.0})) == 0.0
    town = Candidate(4740328, "West", 31.8, -97.1, Feature.CITY, "US", "US.TX", 2_800)
    assert value("compass_word_abroad", town, us) == 0.0


def test_a_big_namesake_in_the_articles_country_marks_the_readings_outside_it():
    """London, England, in a story about Canada, where London, Ontario is a big town: marked by how much more
    the article is about Canada; not London, Ontario itself, and not a reading with no country (a region)."""
    london_gb = Candidate(2643743, "London", 51.5, -0.13, Feature.CITY, "GB", "GB.ENG", 8_961_989, capital=True)
    london_ca = Candidate(6058560, "London", 42.98, -81.23, Feature.CITY, "CA", "CA.08", 346_765)
    europe = Candidate(6255148, "Europe", 48.7, 9.1, Feature.REGION, "", "", 0)
    s = Situation("London", countries={"CA": 0.8, "GB": 0.1}, best_country=0.8)
    assert value("rival_in_article_country", london_gb, s) == pytest.approx(0.7)
    assert value("rival_in_article_country", london_ca, s) == 0.0
    assert value("rival_in_article_country", europe, s) == 0.0


def test_calibration_only_features_get_no_ranking_weight_but_a_calibration_weight():
    """They say how sure to be of the top reading, not which reading it is: the ranker's coefficient stays 0."""
    names = ["log_population", "rival_in_article_country"]
    assert set(names) & CALIBRATION_ONLY
    choices = [([[6.0, 0.0], [4.0, 0.5]], [0, 1]), ([[6.0, 0.5], [4.0, 0.0]], [0, 1])]
    choices += [([[5.0, 0.0], [3.0, 0.0]], [1, 0])]
    model = fit(choices * 10, names, l2=0.1)
    assert model.coef[1] == 0.0 and model.coef[0] != 0.0
    ps = [0.9] * 20
    tops = [[6.0, 0.0]] * 10 + [[6.0, 0.6]] * 10
    right = [1] * 9 + [0] + [1] * 3 + [0] * 7  # sure picks with a big namesake in the article's country go wrong
    calibrated = replace(model, calibration=fit_calibration(model, ps, tops, right, l2=0.1))
    assert calibrated.calibrated(0.9, [6.0, 0.6]) < 0.5 < calibrated.calibrated(0.9, [6.0, 0.0])


def test_the_shipped_model_loads_and_knows_every_feature_it_uses():
    ranker = Ranker.load(MODEL_PATH)
    assert set(ranker.names) <= set(FEATURE_NAMES) and len(ranker.coef) == len(ranker.names)
    assert len(ranker.calibration) == 2 + len(ranker.names)
    x = feature_vector(PARIS_FR, 0, Situation("Paris", max_population=PARIS_FR.population))
    x = [x[i] for i in ranker.columns()]
    assert 0.0 < ranker.calibrated(0.9, x) < 1.0
    assert ranker.calibrated(0.99, x) > ranker.calibrated(0.4, x)  # surer choices are surer readings


def test_fit_learns_which_feature_marks_the_right_reading():
    names = ["log_population", "capital"]
    # Each choice: a capital and a bigger non-capital town; the capital is right, so "capital" must outweigh size.
    choices = [([[6.0, 1.0], [6.5, 0.0], [4.0, 0.0]], [1, 0, 0]), ([[5.0, 1.0], [5.2, 0.0]], [1, 0])] * 10
    choices += [([[5.0, 0.0], [3.0, 0.0]], [1, 0])] * 10  # without a capital, the bigger town
    model = fit(choices, names, l2=0.1)
    assert model.coef[1] > 0 and model.coef[0] > 0
    assert model.logit([5.0, 1.0]) > model.logit([5.2, 0.0]) and model.logit([5.0, 0.0]) > model.logit([3.0, 0.0])
    assert Ranker.from_json(model.to_json()) == model
    assert model.logit([6.0, 1.0]) == pytest.approx(sum(model.contributions([6.0, 1.0])))


def test_calibration_learns_how_often_the_top_reading_is_right():
    model = fit([([[1.0], [0.0]], [1, 0]), ([[0.0], [1.0]], [0, 1])], ["capital"])
    # Readings chosen with p = 0.9 are right 9 times in 10; with p = 0.6, 6 in 10.
    ps = [0.9] * 10 + [0.6] * 10
    right = [1] * 9 + [0] + [1] * 6 + [0] * 4
    calibrated = replace(model, calibration=fit_calibration(model, ps, [[0.5]] * 20, right, l2=100.0))
    assert calibrated.calibrated(0.9, [0.5]) == pytest.approx(0.9, abs=0.02)
    assert calibrated.calibrated(0.6, [0.5]) == pytest.approx(0.6, abs=0.02)


def test_folds_split_by_document_and_no_model_sees_its_own_document():
    ids = [f"d{i}" for i in range(23)]
    folds = fold_of(ids)
    assert folds == fold_of(list(reversed(ids)))  # the split depends on the documents, not their order
    assert set(folds.values()) == set(range(5)) and all(3 <= list(folds.values()).count(f) <= 5 for f in range(5))
    n = len(FEATURE_NAMES)
    pop = FEATURE_NAMES.index("log_population")

    def doc(i: int) -> DocRows:
        big, small = [0.0] * n, [0.0] * n
        big[pop], small[pop] = 6.0 + i / 100, 3.0
        return DocRows(f"d{i}", "t", [Choice([big, small], [1, 0])])

    docs = [doc(i) for i in range(23)]
    models = fold_models(docs)
    for d in docs:
        # Each document's model is the one trained on exactly the documents of the other folds.
        assert models[d.doc_id] == train([e for e in docs if folds[e.doc_id] != folds[d.doc_id]])
    assert ranking_accuracy(docs, models) == 1.0


def test_expected_calibration_error_on_a_hand_example():
    # Bin 0.2-0.3: two readings at 0.25, one right (accuracy 0.5, gap 0.25); bin 0.9-1.0: two at 0.95 (and
    # 1.0 belongs to the last bin), all right (mean confidence 0.9667, gap 0.0333).
    confidences = [0.25, 0.25, 0.95, 0.95, 1.0]
    right = [True, False, True, True, True]
    ece, table = expected_calibration_error(confidences, right)
    assert ece == pytest.approx(2 / 5 * 0.25 + 3 / 5 * (1 - (0.95 + 0.95 + 1.0) / 3))
    assert len(table) == 10 and table[2][2] == 2 and table[9][2] == 3 and table[9][4] == 1.0
    assert expected_calibration_error([0.7, 0.7], [True, False])[0] == pytest.approx(0.2)


def test_mentions_keep_why_their_reading_won(engine):
    result = engine.parse("Officials met in Paris, Kentucky, on Monday.")
    paris = next(m for m in result.mentions if m.text == "Paris")
    assert paris.candidate is not None and paris.candidate.admin1 == "US.KY"
    why = {r.feature: r for r in paris.why}
    assert set(why) <= set(FEATURE_NAMES)
    # The qualifier is what lifts it over the runner-up (Paris, France): this reading is in Kentucky, the rival
    # is not.
    assert why["qualifier"].share > 0 and why["qualifier"].value > why["qualifier"].rival_value
    # A runner-up's reasons are its gap to the winner: they add up to a loss.
    assert paris.alternatives and sum(r.share for r in paris.alternatives[0].why) < 0


def test_training_refuses_a_held_out_corpus(tmp_path, capsys):
    import argparse

    from geo.bench import train_main as main

    held_out = tmp_path / "tud.jsonl"
    held_out.write_text("")
    args = argparse.Namespace(corpora=[str(held_out)], model=tmp_path / "m.json", cache_dir=None, geocoder="offline")
    assert main(args) == 2 and not (tmp_path / "m.json").exists()
    assert "not a development corpus" in capsys.readouterr().err


def test_first_pass_weights_are_named_features():
    """Pass one's hand-set weights name features of the one list (or its own few), so nothing is weighed
    anywhere else."""
    from geo.features import _FUNCTIONS, FEATURE_NAMES, FIRST_LOOK

    names = [name for name, _, _ in FIRST_LOOK]
    assert len(names) == len(set(names))
    assert all(name in _FUNCTIONS for name in names)
    assert sum(name in FEATURE_NAMES for name in names) >= len(names) - 1
    assert all(why for _, _, why in FIRST_LOOK)


def test_prior_prefers_the_country_and_the_capital():
    """The context-free score orders a bare name's readings: the country over a bigger same-named state, an own
    name over an abbreviation."""
    from geo.features import prior
    from geo.gazetteer import ABBR, NAME
    from geo.model import Candidate, Feature

    country = Candidate(geonameid=1, name="Georgia", lat=42.0, lon=43.5, country_code="GE",
                        feature=Feature.COUNTRY, population=3_700_000)
    state = Candidate(geonameid=2, name="Georgia", lat=33.0, lon=-83.5, country_code="US",
                      feature=Feature.ADMIN1, population=10_000_000, admin1="GA")
    assert prior(country) > prior(state)
    assert prior(state, NAME) > prior(state, ABBR)


# --------------------------------------------------------------------------- approximate readings' confidence


def test_approximate_features_are_declared_once_with_unique_names():
    from geo.features import APPROXIMATE_FEATURES, APPROXIMATE_NAMES

    assert len(APPROXIMATE_NAMES) == len(set(APPROXIMATE_NAMES)) == len(APPROXIMATE_FEATURES)
    assert all(callable(fn) and why for _, fn, why in APPROXIMATE_FEATURES)


def test_an_approximate_situation_is_described_by_its_named_features():
    from geo.features import APPROXIMATE_NAMES, Approximation, approximate_vector

    street = Approximation("backoff", PARIS_KY, "Main Street", chars_to_anchor=20, local_near=0.5, local_count=2)
    x = dict(zip(APPROXIMATE_NAMES, approximate_vector(street), strict=True))
    assert x["at_city"] == 1.0 and x["part_of_name"] == 0.0 and x["local_places_near"] == 0.5
    assert x["wide_kind_word"] == 0.0 and x["log_chars_to_anchor"] > 0
    river = Approximation("part", KENTUCKY, "Kentucky River", part_probability=0.8)
    x = dict(zip(APPROXIMATE_NAMES, approximate_vector(river), strict=True))
    assert x["part_of_name"] == 1.0 and x["part_probability"] == 0.8 and x["at_province"] == 1.0
    assert x["wide_kind_word"] == 1.0 and x["log_chars_to_anchor"] == 0.0


def test_fit_approximate_learns_how_often_an_approximate_reading_is_right():
    from geo.features import APPROXIMATE_NAMES, fit_approximate

    n = len(APPROXIMATE_NAMES)
    near = APPROXIMATE_NAMES.index("local_places_near")
    together, apart = [0.0] * n, [0.0] * n
    together[near] = 1.0
    # Put in an article whose places are close together, right 8 times in 10; in a spread-out one, 2 in 10.
    rows = [together] * 50 + [apart] * 50
    right = [1] * 40 + [0] * 10 + [1] * 10 + [0] * 40
    model = fit_approximate(rows, right, l2=0.01)
    assert model.probability(together) == pytest.approx(0.8, abs=0.02)
    assert model.probability(apart) == pytest.approx(0.2, abs=0.02)
    assert fit_approximate(rows, [1] * 100) is None  # nothing to learn from one outcome


def test_a_ranker_with_an_approximate_model_round_trips_through_json_without_pickle(tmp_path):
    import json

    from geo.features import APPROXIMATE_NAMES, ApproximateModel

    n = len(APPROXIMATE_NAMES)
    approximate = ApproximateModel(tuple(APPROXIMATE_NAMES), (0.5,) * n, (2.0,) * n, (0.1,) * n, -0.3)
    model = fit([([[1.0], [0.0]], [1, 0]), ([[0.0], [1.0]], [0, 1])], ["capital"])
    model = replace(model, approximate=approximate, demonym=0.97)
    path = tmp_path / "ranker.json"
    model.save(path)
    assert json.loads(path.read_text())["approximate"]["intercept"] == -0.3  # plain JSON
    assert Ranker.load(path) == model
    data = json.loads(path.read_text())
    data["approximate"]["names"][0] = "not_a_feature"
    path.write_text(json.dumps(data))
    with pytest.raises(ValueError, match="not_a_feature"):
        Ranker.load(path)


def test_the_shipped_model_calibrates_approximate_readings_and_demonyms():
    from geo.features import APPROXIMATE_NAMES

    ranker = Ranker.load(MODEL_PATH)
    assert ranker.approximate is not None and set(ranker.approximate.names) <= set(APPROXIMATE_NAMES)
    assert len(ranker.approximate.coef) == len(ranker.approximate.names)
    assert ranker.demonym is not None and 0.5 < ranker.demonym < 1.0


def test_approximate_and_demonym_confidence_are_learned_out_of_fold_by_document():
    from geo.features import APPROXIMATE_NAMES
    from geo.learn import ApproximateRows, approximate_fold_models, train_approximate, train_demonym, with_learned

    n = len(APPROXIMATE_NAMES)
    docs = [
        ApproximateRows(f"d{i}", "t", [[float(i % 3)] * n] * 2, [i % 2, 1], demonyms=[1] * i + [0]) for i in range(23)
    ]
    folds = fold_of([d.doc_id for d in docs])
    models = approximate_fold_models(docs)
    rankers = with_learned({d.doc_id: NEUTRAL for d in docs}, docs)
    for d in docs:
        others = [e for e in docs if folds[e.doc_id] != folds[d.doc_id]]
        assert models[d.doc_id] == rankers[d.doc_id].approximate == train_approximate(others)
        assert rankers[d.doc_id].demonym == train_demonym(others)
    # Add-one smoothed share of demonyms read right: 1 right of 1 is not certainty.
    assert train_demonym([ApproximateRows("a", "t", demonyms=[1])]) == pytest.approx(2 / 3)
    assert train_demonym([ApproximateRows("a", "t")]) is None
