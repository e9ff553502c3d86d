"""Tests of the hand-written samplers, against imbalanced-learn's contract and counts."""

from __future__ import annotations

from collections import Counter

import imblearn.over_sampling as imb_over
import imblearn.under_sampling as imb_under
import numpy as np
import pytest

from softmax_bottleneck.resampling import SMOTE, RandomOverSampler, RandomUnderSampler


@pytest.fixture(scope="module")
def imbalanced():
    rng = np.random.default_rng(0)
    counts = [60, 25, 12, 7]
    y = np.repeat(np.arange(4), counts)
    X = rng.standard_normal((len(y), 3)) + 3.0 * y[:, None]
    order = rng.permutation(len(y))
    return X[order], y[order]


PAIRS = [
    (RandomOverSampler, imb_over.RandomOverSampler, {}),
    (RandomUnderSampler, imb_under.RandomUnderSampler, {}),
    (SMOTE, imb_over.SMOTE, {"k_neighbors": 3}),
]


@pytest.mark.parametrize(("ours", "theirs", "kw"), PAIRS)
def test_class_counts_match_imblearn(imbalanced, ours, theirs, kw):
    X, y = imbalanced
    X_a, y_a = ours(random_state=0, **kw).fit_resample(X, y)
    X_b, y_b = theirs(random_state=0, **kw).fit_resample(X, y)
    assert Counter(y_a.tolist()) == Counter(y_b.tolist())
    assert X_a.shape == X_b.shape and X_a.dtype == X.dtype


@pytest.mark.parametrize("cls", [RandomOverSampler, SMOTE])
def test_oversamplers_keep_originals_first(imbalanced, cls):
    X, y = imbalanced
    X_res, y_res = cls(random_state=1).fit_resample(X, y)
    np.testing.assert_array_equal(X_res[: len(X)], X)
    np.testing.assert_array_equal(y_res[: len(y)], y)


def test_random_oversampler_copies_same_class_rows(imbalanced):
    X, y = imbalanced
    sampler = RandomOverSampler(random_state=0)
    X_res, y_res = sampler.fit_resample(X, y)
    np.testing.assert_array_equal(X_res, X[sampler.sample_indices_])
    np.testing.assert_array_equal(y_res, y[sampler.sample_indices_])
    assert sampler.sampling_strategy_ == {1: 35, 2: 48, 3: 53}


def test_random_undersampler_subset_without_repeats(imbalanced):
    X, y = imbalanced
    sampler = RandomUnderSampler(random_state=0)
    _, y_res = sampler.fit_resample(X, y)
    idx = sampler.sample_indices_
    assert len(np.unique(idx)) == len(idx) == 28
    np.testing.assert_array_equal(y_res, y[idx])
    assert np.bincount(y_res).tolist() == [7, 7, 7, 7]


def test_smote_points_on_segments_between_same_class_neighbours(imbalanced):
    X, y = imbalanced
    k = 3
    X_res, y_res = SMOTE(k_neighbors=k, random_state=0).fit_resample(X, y)
    new_X, new_y = X_res[len(X) :], y_res[len(y) :]
    assert len(new_X) == 3 * 60 - 25 - 12 - 7
    for x, c in zip(new_X, new_y, strict=True):
        Xc = X[y == c]
        d = np.linalg.norm(Xc[:, None, :] - Xc[None, :, :], axis=-1)
        np.fill_diagonal(d, np.inf)
        neighbours = np.argsort(d, axis=1)[:, :k]
        found = False
        for i in range(len(Xc)):
            for j in neighbours[i]:
                seg = Xc[j] - Xc[i]
                u = np.dot(x - Xc[i], seg) / np.dot(seg, seg)
                if -1e-9 <= u <= 1 + 1e-9 and np.allclose(Xc[i] + u * seg, x, atol=1e-9):
                    found = True
                    break
            if found:
                break
        assert found, "a synthetic row is not on a segment between same-class neighbours"


@pytest.mark.parametrize("cls", [RandomOverSampler, RandomUnderSampler, SMOTE])
def test_deterministic_and_seed_dependent(imbalanced, cls):
    X, y = imbalanced
    a = cls(random_state=5).fit_resample(X, y)
    b = cls(random_state=5).fit_resample(X, y)
    c = cls(random_state=6).fit_resample(X, y)
    np.testing.assert_array_equal(a[0], b[0])
    assert not np.array_equal(a[0], c[0])


def test_string_labels(imbalanced):
    X, y = imbalanced
    names = np.array(["a", "b", "c", "d"])[y]
    _, y_res = RandomOverSampler(random_state=0).fit_resample(X, names)
    assert Counter(y_res.tolist()) == {"a": 60, "b": 60, "c": 60, "d": 60}


def test_balanced_input_is_unchanged(imbalanced):
    X, y = imbalanced
    X_bal, y_bal = RandomUnderSampler(random_state=0).fit_resample(X, y)
    X2, _ = RandomOverSampler(random_state=0).fit_resample(X_bal, y_bal)
    np.testing.assert_array_equal(X2, X_bal)


@pytest.mark.parametrize("cls", [RandomOverSampler, RandomUnderSampler, SMOTE])
def test_errors(cls):
    with pytest.raises(ValueError, match="X"):
        cls().fit_resample(np.zeros(5), np.zeros(5, dtype=int))
    with pytest.raises(ValueError, match="y"):
        cls().fit_resample(np.zeros((5, 2)), np.zeros(4, dtype=int))
    with pytest.raises(ValueError, match="y"):
        cls().fit_resample(np.zeros((2, 2)), np.array([0.5, 1.5]))
    with pytest.raises(TypeError, match="random_state"):
        cls(random_state="seed").fit_resample(np.zeros((2, 2)), np.array([0, 1]))


def test_smote_errors():
    X = np.arange(12.0).reshape(6, 2)
    y = np.array([0, 0, 0, 0, 1, 1])
    with pytest.raises(ValueError, match="k_neighbors"):
        SMOTE(k_neighbors=2).fit_resample(X, y)
    with pytest.raises(ValueError, match="k_neighbors"):
        SMOTE(k_neighbors=0).fit_resample(X, y)
    X_bad = X.copy()
    X_bad[0, 0] = np.nan
    with pytest.raises(ValueError, match="X"):
        SMOTE(k_neighbors=1).fit_resample(X_bad, y)


@pytest.mark.parametrize("cls", [RandomOverSampler, RandomUnderSampler, SMOTE])
@pytest.mark.parametrize("fmt", ["csr", "csc", "coo"])
def test_sparse_X_refused_by_name(cls, fmt):
    """imbalanced-learn keeps sparse X sparse; these samplers refuse it, naming `X` (before,
    np.asarray made a 0-d object array and the message reported shape ())."""
    import scipy.sparse

    X = scipy.sparse.random(20, 4, density=0.5, format=fmt, random_state=0)
    y = np.array([0] * 14 + [1] * 6)
    with pytest.raises(TypeError, match=r"Expected `X` to be a dense array.*toarray"):
        cls(random_state=0).fit_resample(X, y)
    # the dense copy works
    X_res, y_res = cls(random_state=0).fit_resample(X.toarray(), y)
    assert X_res.shape[0] == y_res.shape[0]


@pytest.mark.parametrize("cls", [RandomOverSampler, RandomUnderSampler, SMOTE])
def test_sparse_torch_X_refused(cls):
    torch = pytest.importorskip("torch")
    X = torch.eye(20, 4).to_sparse()
    with pytest.raises(TypeError, match="`X`"):
        cls().fit_resample(X, np.array([0] * 14 + [1] * 6))


@pytest.mark.parametrize("cls", [RandomOverSampler, RandomUnderSampler, SMOTE])
def test_two_d_y_refused_with_the_conversion(cls):
    X = np.arange(40.0).reshape(20, 2)
    y = np.array([0] * 14 + [1] * 6)
    with pytest.raises(ValueError, match=r"`y`.*shape \(20, 1\).*y\.ravel\(\)"):
        cls().fit_resample(X, y[:, None])
    onehot = np.eye(2, dtype=int)[y]
    with pytest.raises(ValueError, match=r"`y`.*shape \(20, 2\).*argmax"):
        cls().fit_resample(X, onehot)
    # the suggested conversions give the 1-d result
    _, y_a = cls(random_state=0).fit_resample(X, y[:, None].ravel())
    _, y_b = cls(random_state=0).fit_resample(X, onehot.argmax(axis=1))
    np.testing.assert_array_equal(y_a, y_b)


@pytest.mark.parametrize("cls", [RandomOverSampler, RandomUnderSampler, SMOTE])
def test_one_class_refused_as_in_imblearn(cls):
    imblearn_cls = {
        "RandomOverSampler": "imblearn.over_sampling",
        "RandomUnderSampler": "imblearn.under_sampling",
        "SMOTE": "imblearn.over_sampling",
    }[cls.__name__]
    X, y = np.arange(20.0).reshape(10, 2), np.zeros(10, dtype=int)
    with pytest.raises(ValueError, match=r"`y` to hold at least two classes, got one \(0\)"):
        cls(random_state=0).fit_resample(X, y)
    theirs = pytest.importorskip(imblearn_cls)
    with pytest.raises(ValueError, match="more than 1 class"):
        getattr(theirs, cls.__name__)().fit_resample(X, y)
