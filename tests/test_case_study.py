"""Tests of the chapter-6 case-study runner: splits, metrics, fairness and errors."""

from __future__ import annotations

import configparser
import pathlib
import re

import numpy as np
import pytest
import torch
from sklearn.metrics import balanced_accuracy_score, f1_score, recall_score

from softmax_bottleneck import case_study as cs
from softmax_bottleneck.calibration import expected_calibration_error
from softmax_bottleneck.losses import adjust_logits
from softmax_bottleneck.models import build_model
from softmax_bottleneck.softmax import softmax
from softmax_bottleneck.train import fit, predict_logits


@pytest.fixture(autouse=True)
def one_thread():
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


def _blobs(counts, seed, spread=1.2):
    """Gaussian blobs in 4-d, class c centred on 2 e_c (c < 4), with `counts[c]` rows."""
    gen = np.random.default_rng(seed)
    X = np.concatenate([gen.normal(size=(n, 4)) * spread + 2 * np.eye(4)[c]
                        for c, n in enumerate(counts)])
    y = np.repeat(np.arange(len(counts)), counts)
    order = gen.permutation(len(y))
    return X[order].astype(np.float32), y[order]


@pytest.fixture(scope="module")
def problem():
    X, y = _blobs([60, 20, 8], seed=0)
    X_test, y_test = _blobs([30, 30, 30], seed=1)
    X_fit, y_fit, X_val, y_val = cs.validation_split(X, y, fraction=0.25, rng=0)
    return {"X_train": X_fit, "y_train": y_fit, "X_val": X_val, "y_val": y_val,
            "X_test": X_test, "y_test": y_test}


def _make(seed):
    return build_model("softmax", n_features=4, n_classes=3, rng=seed)


def _augment(X, y, gen):
    # grow the data by noisy copies of every row
    return np.concatenate([X, X + 0.1 * gen.normal(size=X.shape)]), np.concatenate([y, y]), {}


FAST = {"epochs": 4, "lr": 0.1, "batch_size": 16}
GRID = ({"lr": 0.02}, {}, {"lr": 0.5})


def _run(problem, methods=cs.METHODS, seed=0, **kw):
    options = {"make_model": _make, "fit_options": FAST, "seed": seed, "tuning_grid": GRID,
               "augment": _augment, **problem, **kw}
    return cs.run_methods(methods, **options)


def _without_seconds(result):
    return {m: {k: v for k, v in r.items() if k != "seconds"} for m, r in result.items()}


# --- validation_split ---------------------------------------------------------------------


def test_validation_split_is_a_stratified_partition():
    y = np.array([0] * 50 + [1] * 7 + [2] * 2 + [3])
    X = np.arange(len(y))[:, None]
    X_fit, y_fit, X_val, y_val = cs.validation_split(X, y, fraction=0.2, rng=3)
    assert sorted(np.concatenate([X_fit[:, 0], X_val[:, 0]])) == list(range(len(y)))
    assert (y[X_fit[:, 0]] == y_fit).all() and (y[X_val[:, 0]] == y_val).all()
    # round(0.2 n), at least one in validation, at least one left for training
    assert np.bincount(y_val, minlength=4).tolist() == [10, 1, 1, 0]
    assert np.bincount(y_fit, minlength=4).tolist() == [40, 6, 1, 1]
    again = cs.validation_split(X, y, fraction=0.2, rng=3)
    assert all(np.array_equal(a, b) for a, b in zip(again, (X_fit, y_fit, X_val, y_val),
                                                     strict=True))
    other = cs.validation_split(X, y, fraction=0.2, rng=4)
    assert not np.array_equal(other[2], X_val)


def test_validation_split_errors():
    with pytest.raises(ValueError, match="fraction"):
        cs.validation_split(np.zeros((4, 1)), [0, 0, 1, 1], fraction=1.0)
    with pytest.raises(TypeError, match="fraction"):
        cs.validation_split(np.zeros((4, 1)), [0, 0, 1, 1], fraction="half")
    with pytest.raises(ValueError, match="one per label"):
        cs.validation_split(np.zeros((3, 1)), [0, 0, 1, 1])
    with pytest.raises(ValueError, match="integer labels"):
        cs.validation_split(np.zeros((2, 1)), [0.5, 1.0])


# --- minority_classes and score_logits ----------------------------------------------------


def test_minority_classes_rarest_third_with_stable_ties():
    assert cs.minority_classes([5, 1, 9, 1, 3, 7]).tolist() == [1, 3]
    assert cs.minority_classes([4, 4, 4, 4]).tolist() == [0]  # ties: lowest index first
    assert cs.minority_classes([9, 1], fraction=0.1).tolist() == [1]  # at least one class
    assert cs.minority_classes(np.arange(20, 0, -1)).tolist() == [13, 14, 15, 16, 17, 18, 19]
    with pytest.raises(ValueError, match="class_counts"):
        cs.minority_classes([3])
    with pytest.raises(ValueError, match="fraction"):
        cs.minority_classes([3, 4], fraction=0.0)


def test_score_logits_matches_scikit_learn():
    gen = np.random.default_rng(0)
    z = gen.normal(size=(200, 5)) * 2
    y = gen.integers(0, 5, size=200)
    y[:60] = z[:60].argmax(1)  # some right answers
    pred = z.argmax(1)
    s = cs.score_logits(z, y, minority=[3, 4])
    assert s["balanced_accuracy"] == pytest.approx(balanced_accuracy_score(y, pred), abs=1e-12)
    assert s["macro_f1"] == pytest.approx(f1_score(y, pred, average="macro"), abs=1e-12)
    recall = recall_score(y, pred, average=None)
    assert s["minority_recall"] == pytest.approx(recall[[3, 4]].mean(), abs=1e-12)
    assert s["ece"] == pytest.approx(expected_calibration_error(softmax(z), y), abs=1e-12)
    hot = cs.score_logits(z, y, minority=[3, 4], temperature=2.5)
    assert hot["ece"] == pytest.approx(
        expected_calibration_error(softmax(z / 2.5), y), abs=1e-12)
    assert {k: v for k, v in hot.items() if k != "ece"} == {
        k: v for k, v in s.items() if k != "ece"}  # T never changes a prediction
    with pytest.raises(ValueError, match="logits"):
        cs.score_logits(z[:10], y, minority=[0])


# --- run_methods --------------------------------------------------------------------------


def test_run_methods_is_deterministic_for_a_seed(problem):
    first, second = _run(problem), _run(problem)
    assert list(first) == list(cs.METHODS)
    assert _without_seconds(first) == _without_seconds(second)
    other = _run(problem, methods=["baseline"], seed=1)
    assert other["baseline"]["balanced_accuracy"] != first["baseline"]["balanced_accuracy"] or \
        other["baseline"]["temperature"] != first["baseline"]["temperature"]
    for result in first.values():
        assert set(cs.METRICS) <= set(result)
        assert result["seconds"] >= 0 and result["temperature"] > 0


def test_run_methods_recipes(problem):
    out = _run(problem)
    n = len(problem["y_train"])
    assert out["baseline"]["examples"] == FAST["epochs"] * n
    assert out["over-sampling"]["examples"] == FAST["epochs"] * 3 * np.bincount(
        problem["y_train"]).max()
    assert out["under-sampling"]["examples"] == FAST["epochs"] * 3 * np.bincount(
        problem["y_train"]).min()
    assert out["augmentation"]["examples"] == FAST["epochs"] * 2 * n
    assert out["tuned"]["examples"] == 3 * FAST["epochs"] * n  # the whole grid is paid for
    # post-hoc adjustment: the baseline's model with adjust_logits applied to its test logits
    model = _make(0)
    fit(model, problem["X_train"], problem["y_train"], rng=0, **FAST)
    counts = np.bincount(problem["y_train"])
    z = adjust_logits(predict_logits(model, problem["X_test"]), counts)
    expected = balanced_accuracy_score(problem["y_test"], z.argmax(1))
    assert out["post-hoc logit adjustment"]["balanced_accuracy"] == pytest.approx(expected)
    assert out["post-hoc logit adjustment"]["examples"] == out["baseline"]["examples"]


def test_examples_budget_equalises_the_work(problem):
    out = _run(problem, methods=["baseline", "over-sampling", "under-sampling"],
               budget="examples", fit_options={**FAST, "epochs": 6})
    counts = np.bincount(problem["y_train"])
    n = len(problem["y_train"])
    assert out["baseline"]["examples"] == 6 * n
    assert out["over-sampling"]["examples"] == round(6 * n / (3 * counts.max())) * 3 * counts.max()
    assert out["under-sampling"]["examples"] == round(6 * n / (3 * counts.min())) * 3 * counts.min()
    for method in out:
        assert abs(out[method]["examples"] - 6 * n) <= 3 * counts.max()
    with pytest.raises(ValueError, match="budget"):
        _run(problem, methods=["baseline"], budget="batches")


def test_budget_epochs_conventions():
    # 258 rows in batches of 32 are 9 batches per pass (the last one of 2 rows)
    assert cs.budget_epochs(258, n_train=258, epochs=20, budget="steps") == 20
    assert cs.budget_epochs(10, n_train=258, epochs=20, budget="epochs") == 20
    assert cs.budget_epochs(10, n_train=258, epochs=20, budget="examples") == 516
    assert cs.budget_epochs(10, n_train=258, epochs=20, budget="steps") == 180  # 1 batch a pass
    assert cs.budget_epochs(830, n_train=258, epochs=20, budget="steps") == 7  # 26 a pass
    assert cs.budget_epochs(5000, n_train=10, epochs=1, budget="steps") == 1  # at least one
    assert cs.budget_epochs(64, n_train=64, epochs=3, batch_size=64, budget="steps") == 3
    with pytest.raises(ValueError, match="budget"):
        cs.budget_epochs(10, n_train=20, epochs=2, budget="batches")
    with pytest.raises(ValueError, match="n_rows"):
        cs.budget_epochs(0, n_train=20, epochs=2)
    with pytest.raises(TypeError, match="epochs"):
        cs.budget_epochs(10, n_train=20, epochs=2.5)


def test_steps_budget_equalises_the_gradient_steps(problem):
    options = {**FAST, "epochs": 6}
    out = _run(problem, methods=["baseline", "over-sampling", "under-sampling", "augmentation"],
               budget="steps", fit_options=options)
    n, bs = len(problem["y_train"]), FAST["batch_size"]
    counts = np.bincount(problem["y_train"])
    steps = 6 * -(-n // bs)
    for method, rows in (("baseline", n), ("over-sampling", 3 * counts.max()),
                         ("under-sampling", 3 * counts.min()), ("augmentation", 2 * n)):
        epochs = out[method]["examples"] / rows
        assert epochs == cs.budget_epochs(rows, n_train=n, epochs=6, batch_size=bs,
                                          budget="steps")
        per_pass = -(-rows // bs)
        assert abs(epochs * per_pass - steps) <= per_pass / 2  # the nearest whole pass
    # the same run as budget="examples" where the two conventions agree
    same = _run(problem, methods=["baseline"], budget="examples", fit_options=options)
    assert _without_seconds(same)["baseline"] == _without_seconds(out)["baseline"]


def test_tuned_picks_the_best_validation_setting(problem):
    alone = _run(problem, methods=["baseline", "tuned"], tuning_grid=[{}])
    assert _without_seconds(alone)["tuned"] == {**_without_seconds(alone)["baseline"],
                                                 "choice": 0.0}
    out = _run(problem, methods=["tuned"])
    scores = []
    for options in GRID:
        model = _make(0)
        fit(model, problem["X_train"], problem["y_train"], rng=0, **{**FAST, **options})
        pred = predict_logits(model, problem["X_val"]).argmax(1)
        scores.append(balanced_accuracy_score(problem["y_val"], pred))
    assert out["tuned"]["choice"] == float(np.argmax(scores))


def test_temperature_is_fitted_on_validation_not_test(problem):
    base = _run(problem, methods=["baseline"])["baseline"]
    flipped = {**problem, "y_test": (problem["y_test"] + 1) % 3}
    after_flip = _run(flipped, methods=["baseline"])["baseline"]
    assert after_flip["temperature"] == base["temperature"]
    assert after_flip["balanced_accuracy"] != base["balanced_accuracy"]  # the test did change
    X, y = np.concatenate([problem["X_train"], problem["X_val"]]), np.concatenate(
        [problem["y_train"], problem["y_val"]])
    half = len(problem["y_val"])
    swapped = {**problem, "X_val": X[:half], "y_val": y[:half],
               "X_train": X[half:], "y_train": y[half:]}
    assert _run(swapped, methods=["baseline"])["baseline"]["temperature"] != base["temperature"]


def test_run_methods_errors(problem):
    with pytest.raises(ValueError, match="methods"):
        _run(problem, methods=["baseline", "dropout"])
    with pytest.raises(ValueError, match="at most once"):
        _run(problem, methods=["baseline", "baseline"])
    with pytest.raises(TypeError, match="sequence of names"):
        _run(problem, methods="baseline")
    with pytest.raises(ValueError, match="augment"):
        _run(problem, methods=["augmentation"], augment=None)
    with pytest.raises(ValueError, match="tuning_grid"):
        _run(problem, methods=["tuned"], tuning_grid=[])
    with pytest.raises(ValueError, match="fit_options"):
        _run(problem, methods=["baseline"], fit_options={"label_smoothing": 0.1})
    with pytest.raises(ValueError, match="tuning_grid"):
        _run(problem, methods=["tuned"], tuning_grid=[{"learning_rate": 0.1}])
    with pytest.raises(TypeError, match="make_model"):
        _run(problem, methods=["baseline"], make_model="softmax")
    with pytest.raises(TypeError, match="seed"):
        _run(problem, methods=["baseline"], seed=1.5)
    with pytest.raises(ValueError, match="X_test"):
        _run(problem, methods=["baseline"], X_test=problem["X_test"][:5])


# --- aggregate and format_table -----------------------------------------------------------


def test_aggregate_and_table():
    runs = [{"a": {"x": v, "seconds": 0.5}, "b": {"x": 2 * v, "seconds": 1.0}}
            for v in (0.1, 0.4, 0.7)]
    summary = cs.aggregate(runs)
    assert summary["b"]["x"] == pytest.approx((np.mean([0.2, 0.8, 1.4]),
                                               np.std([0.2, 0.8, 1.4], ddof=1)))  # sample sd
    table = cs.format_table(summary, metrics=["x"])
    assert table.splitlines()[1].startswith("a      | 0.400 ± 0.300")
    # the wall-time cells are exactly what the book's nbval configuration masks
    cfg = configparser.ConfigParser()
    cfg.read(pathlib.Path(__file__).parents[1] / "book" / "nbval-sanitize.cfg")
    pattern = cfg["case-study wall time"]["regex"]
    assert re.findall(pattern, table) == ["[0.50 s]", "[1.00 s]"]
    assert re.findall(pattern, cs.format_table(summary, metrics=["x"], wall_time=False)) == []
    with pytest.raises(ValueError, match="same methods"):
        cs.aggregate([runs[0], {"a": runs[0]["a"]}])
    with pytest.raises(ValueError, match="at least one"):
        cs.aggregate([])
    paired = cs.compare(runs, "b", "a", metric="x")  # b - a = v for v in (0.1, 0.4, 0.7)
    assert paired.mean == pytest.approx(0.4) and paired.wins == 3
    ece_runs = [{"a": {"ece": 0.05 + v}, "b": {"ece": 0.10 + v}} for v in (0.0, 0.01, 0.02)]
    ece = cs.compare(ece_runs, "a", "b", metric="ece", unit="splits")
    assert ece.verdict == "a better" and ece.wins == 3 and "3/3 splits" in str(ece)
    with pytest.raises(ValueError, match="'c'"):
        cs.compare(runs, "c", "a", metric="x")
    with pytest.raises(ValueError, match="metrics"):
        cs.format_table(summary, metrics=["y"])
