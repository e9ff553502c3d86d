"""Real data sets for the imbalance chapters, with no download at run time (Book: chapters 2-5).

* :func:`load_long_tailed_digits`: scikit-learn's bundled 8×8 handwritten digits, with a training
  set made long-tailed on purpose and a **balanced** test set, so that every class counts the same
  in the test metrics.
* :func:`load_text_categories`: the English part of the ``chatterbot-corpus`` package as an
  utterance → category data set, naturally imbalanced, with a stratified split.

Both return a :class:`Dataset`, and both are deterministic for a given ``rng``.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any

import numpy as np

from ._typing import ArrayLike, IntArray, NDArray, SeedLike
from ._validation import check_choice, check_positive_number, check_rng, is_integer

__all__ = [
    "Dataset",
    "class_counts",
    "load_long_tailed_digits",
    "load_text_categories",
    "long_tailed_counts",
]

PROFILES = ("exp", "step")


@dataclass(frozen=True)
class Dataset:
    """A train/test split with its class names and per-class training counts.

    Attributes
    ----------
    X_train, y_train : ndarray
        Training inputs and integer labels in ``0 .. n_classes - 1``.
    X_test, y_test : ndarray
        Test inputs and labels.
    class_counts : ndarray of int
        Number of training examples of each class (``np.bincount(y_train)``).
    class_names : tuple of str
        A readable name for each label.
    """

    X_train: NDArray[Any]  # float32 images, or str objects for the text corpus
    y_train: IntArray
    X_test: NDArray[Any]
    y_test: IntArray
    class_counts: IntArray
    class_names: tuple[str, ...]

    @property
    def n_classes(self) -> int:
        """The number of classes."""
        return len(self.class_names)


def _check_int(value: object, name: str, *, minimum: int) -> int:
    if not is_integer(value):
        raise TypeError(f"Expected `{name}` to be an integer >= {minimum}, got {value!r}")
    if int(value) < minimum:
        raise ValueError(f"Expected `{name}` to be an integer >= {minimum}, got {value!r}")
    return int(value)


def _check_ratio(imbalance_ratio: object) -> float:
    rho = check_positive_number(imbalance_ratio, "imbalance_ratio")
    if rho < 1:
        raise ValueError(f"Expected `imbalance_ratio` to be a number >= 1, got {imbalance_ratio!r}")
    return rho


def class_counts(y: ArrayLike, /, *, n_classes: int | None = None) -> IntArray:
    """Count the examples of each class.

    Parameters
    ----------
    y : array_like of int
        Labels in ``0 .. n_classes - 1``.
    n_classes : int, optional
        Length of the result; by default ``max(y) + 1``.

    Returns
    -------
    ndarray of int64
        ``counts[c]`` is the number of entries of `y` equal to ``c``.

    Raises
    ------
    ValueError
        If `y` is not 1-d, holds negative labels, or labels ``>= n_classes``.

    Examples
    --------
    >>> class_counts([0, 2, 2, 1, 2], n_classes=4)
    array([1, 1, 3, 0])
    """
    labels = np.asarray(y)
    if labels.ndim != 1:
        raise ValueError(f"Expected `y` to be 1-d, got shape {labels.shape}")
    if labels.size and (labels.dtype.kind not in "iu" or labels.min() < 0):
        raise ValueError("Expected `y` to hold non-negative integer labels")
    minlength = 0
    if n_classes is not None:
        minlength = _check_int(n_classes, "n_classes", minimum=1)
        if labels.size and labels.max() >= minlength:
            raise ValueError(
                f"Expected labels of `y` below `n_classes`={minlength}, got {int(labels.max())}"
            )
    return np.bincount(labels.astype(np.int64), minlength=minlength)


def long_tailed_counts(
    n_max: int, n_classes: int, /, *, imbalance_ratio: float, profile: str = "exp"
) -> IntArray:
    r"""Per-class sizes of a long-tailed training set, largest class first.

    With ``n_max`` examples in class 0 and imbalance ratio :math:`\rho = n_{\max} / n_{\min}`:

    * ``"exp"``: :math:`n_c = n_{\max}\, \rho^{-c/(K-1)}`, a geometric decay from head to tail;
    * ``"step"``: the first half of the classes have :math:`n_{\max}` examples, the rest
      :math:`n_{\max}/\rho`.

    Counts are rounded to the nearest integer and never below 1, so the achieved ratio
    ``counts[0] / counts[-1]`` can differ a little from `imbalance_ratio`.

    Parameters
    ----------
    n_max : int
        Size of the largest class (>= 1).
    n_classes : int
        Number of classes ``K`` (>= 2).
    imbalance_ratio : float
        :math:`\rho \ge 1`; 1 gives a balanced set.
    profile : {"exp", "step"}, default "exp"
        The shape of the tail.

    Returns
    -------
    ndarray of int64
        ``K`` non-increasing counts.

    Raises
    ------
    TypeError
        If `n_max` or `n_classes` is not an integer, or `imbalance_ratio` not a number.
    ValueError
        If `n_max` < 1, `n_classes` < 2, `imbalance_ratio` < 1 or `profile` is unknown.

    Notes
    -----
    The two profiles are those of Cao et al. (2019) and Cui et al. (2019) for long-tailed
    CIFAR. Book: chapters 2 and 3.

    Examples
    --------
    >>> long_tailed_counts(100, 5, imbalance_ratio=100)
    array([100,  32,  10,   3,   1])
    >>> long_tailed_counts(100, 4, imbalance_ratio=10, profile="step")
    array([100, 100,  10,  10])
    """
    n_max = _check_int(n_max, "n_max", minimum=1)
    n_classes = _check_int(n_classes, "n_classes", minimum=2)
    rho = _check_ratio(imbalance_ratio)
    check_choice(profile, "profile", PROFILES)
    c = np.arange(n_classes)
    if profile == "exp":
        sizes = n_max * rho ** (-c / (n_classes - 1))
    else:
        sizes = np.where(c < n_classes // 2 + n_classes % 2, n_max, n_max / rho)
    return np.maximum(np.round(sizes), 1).astype(np.int64)


def load_long_tailed_digits(
    *,
    imbalance_ratio: float,
    profile: str = "exp",
    n_max: int = 130,
    n_test_per_class: int = 40,
    rng: SeedLike = 0,
) -> Dataset:
    """The 8×8 digits of scikit-learn with a long-tailed training set and a balanced test set.

    First `n_test_per_class` images of every digit are set aside as the test set (so the test
    set is balanced and never overlaps the training set); then digit ``c`` keeps
    ``long_tailed_counts(n_max, 10, ...)[c]`` of its remaining images for training: digit 0 is
    the head, digit 9 the tail. Pixels are scaled from 0..16 to [0, 1] as float32.

    Parameters
    ----------
    imbalance_ratio : float
        ρ = n_max / n_min >= 1.
    profile : {"exp", "step"}, default "exp"
        See :func:`long_tailed_counts`.
    n_max : int, default 130
        Training size of the largest class. Every digit has at least 174 images, so
        ``n_max + n_test_per_class`` must stay <= 174.
    n_test_per_class : int, default 40
        Test images per class.
    rng : int, Generator or None, default 0
        Chooses which images go where. The default makes the data set the same on every call.

    Returns
    -------
    Dataset
        ``X_*`` of shape (n, 64) float32 (reshape to (n, 8, 8) for images), ``y_*`` int64.

    Raises
    ------
    ValueError
        If `imbalance_ratio` < 1, `profile` is unknown, or `n_max + n_test_per_class` exceeds
        the images of the smallest digit.

    Notes
    -----
    Book: chapters 2-5.

    Examples
    --------
    >>> data = load_long_tailed_digits(imbalance_ratio=10)
    >>> data.class_counts
    array([130, 101,  78,  60,  47,  36,  28,  22,  17,  13])
    >>> data.X_train.shape, data.X_test.shape
    ((532, 64), (400, 64))
    """
    from sklearn.datasets import load_digits

    n_max = _check_int(n_max, "n_max", minimum=1)
    n_test_per_class = _check_int(n_test_per_class, "n_test_per_class", minimum=1)
    counts = long_tailed_counts(n_max, 10, imbalance_ratio=imbalance_ratio, profile=profile)
    gen = check_rng(rng)

    digits = load_digits()
    X = (digits.data / 16.0).astype(np.float32)
    y = digits.target.astype(np.int64)
    smallest = int(np.bincount(y).min())
    if n_max + n_test_per_class > smallest:
        raise ValueError(
            f"Expected `n_max` + `n_test_per_class` <= {smallest} (the smallest digit), "
            f"got {n_max} + {n_test_per_class}"
        )
    train_idx, test_idx = [], []
    for c in range(10):
        idx = gen.permutation(np.flatnonzero(y == c))
        test_idx.append(idx[:n_test_per_class])
        train_idx.append(idx[n_test_per_class : n_test_per_class + counts[c]])
    train = gen.permutation(np.concatenate(train_idx))  # shuffled: classes interleaved
    test = np.concatenate(test_idx)
    return Dataset(
        X_train=X[train],
        y_train=y[train],
        X_test=X[test],
        y_test=y[test],
        class_counts=counts,
        class_names=tuple(str(c) for c in range(10)),
    )


def _chatterbot_english_dir() -> str:
    try:
        import chatterbot_corpus
    except ImportError as err:
        raise ImportError(
            "load_text_categories needs the `chatterbot-corpus` package: "
            "pip install 'softmax-bottleneck[data]' (or pip install chatterbot-corpus)"
        ) from err
    return os.path.join(os.path.dirname(chatterbot_corpus.__file__), "data", "english")


def _read_utterances(directory: str) -> list[tuple[str, str]]:
    """(utterance, category) for every line of every conversation, file name as category."""
    import yaml

    pairs = []
    for name in sorted(os.listdir(directory)):
        if not name.endswith(".yml"):
            continue
        category = name[: -len(".yml")]
        with open(os.path.join(directory, name), encoding="utf-8") as f:
            doc = yaml.safe_load(f)
        for conversation in doc.get("conversations", []):
            for line in conversation:
                if isinstance(line, str) and line.strip():
                    pairs.append((" ".join(line.split()), category))
    return pairs


def load_text_categories(
    *,
    min_count: int = 10,
    deduplicate: bool = True,
    test_size: float = 0.25,
    rng: SeedLike = 0,
) -> Dataset:
    """Utterances of the English ``chatterbot-corpus`` labelled by their topic file.

    Every line of every conversation in ``data/english/<topic>.yml`` becomes one example of
    class ``<topic>`` (e.g. "Tell me a joke" → ``humor``). The topics differ in size by more
    than an order of magnitude, so the set is imbalanced by nature, not by our choice.

    Parameters
    ----------
    min_count : int, default 10
        Topics with fewer (distinct) utterances are dropped: a stratified split needs a few
        examples of each class on both sides.
    deduplicate : bool, default True
        Keep each utterance once, and drop utterances that appear under two topics (their label
        is ambiguous). With ``False`` the raw lines are kept: ``tech_support`` repeats 20
        distinct lines about a hundred times each, so copies of a test sentence sit in the
        training set (a leak the book measures in chapter 2).
    test_size : float, default 0.25
        Fraction of each class put in the test set, in (0, 1).
    rng : int, Generator or None, default 0
        Seeds the stratified split.

    Returns
    -------
    Dataset
        ``X_*`` are 1-d object arrays of str; classes are sorted by name.

    Raises
    ------
    ImportError
        If ``chatterbot-corpus`` (or PyYAML) is not installed.
    ValueError
        If `test_size` is not in (0, 1) or `min_count` < 2.

    Notes
    -----
    Book: chapters 2 and 5.

    Examples
    --------
    >>> data = load_text_categories()
    >>> data.class_names[:3]
    ('ai', 'botprofile', 'coding')
    >>> int(data.class_counts.max()) > 10 * int(data.class_counts.min())
    True
    """
    from sklearn.model_selection import train_test_split

    min_count = _check_int(min_count, "min_count", minimum=2)
    test_size = check_positive_number(test_size, "test_size")
    if not test_size < 1:
        raise ValueError(f"Expected `test_size` to be in (0, 1), got {test_size!r}")
    pairs = _read_utterances(_chatterbot_english_dir())
    if deduplicate:
        topics: dict[str, set[str]] = {}
        for text, category in pairs:
            topics.setdefault(text, set()).add(category)
        pairs = [(t, next(iter(c))) for t, c in topics.items() if len(c) == 1]
    names, sizes = np.unique([c for _, c in pairs], return_counts=True)
    kept = [str(n) for n, s in zip(names, sizes, strict=True) if s >= min_count]
    label = {name: i for i, name in enumerate(kept)}
    texts = np.array([t for t, c in pairs if c in label], dtype=object)
    y = np.array([label[c] for _, c in pairs if c in label], dtype=np.int64)
    seed = int(check_rng(rng).integers(2**31 - 1))
    X_train, X_test, y_train, y_test = train_test_split(
        texts, y, test_size=test_size, stratify=y, random_state=seed
    )
    return Dataset(
        X_train=X_train,
        y_train=y_train,
        X_test=X_test,
        y_test=y_test,
        class_counts=np.bincount(y_train, minlength=len(kept)),
        class_names=tuple(kept),
    )
