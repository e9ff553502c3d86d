"""Three small classifiers for 8×8 digits (or any flat features), all ending in logits.

Each casts its input to the dtype of its weights and returns **logits**: the softmax lives in the loss (``F.cross_entropy``), not in the model,
so that it is applied exactly once. Book: chapters 2-5.
"""

from __future__ import annotations

from typing import cast

import torch
from torch import nn

__all__ = ["MLP", "SmallCNN", "SoftmaxRegression"]


class SoftmaxRegression(nn.Module):
    """Multinomial logistic regression: one linear layer, ``logits = X W^T + b``.

    Parameters
    ----------
    n_features : int
        Input size (64 for flattened digits).
    n_classes : int
        Number of classes.

    Notes
    -----
    The bias ``b`` is the part of the model that learns the class prior; chapter 2 plots it
    against the log class frequency.

    Examples
    --------
    >>> model = SoftmaxRegression(64, 10)
    >>> model(torch.zeros(3, 64)).shape
    torch.Size([3, 10])
    """

    def __init__(self, n_features: int, n_classes: int) -> None:
        super().__init__()
        self.linear = nn.Linear(n_features, n_classes)

    def forward(self, X: torch.Tensor) -> torch.Tensor:
        return self.linear(X.flatten(1).to(self.linear.weight.dtype))  # (B, C)


class MLP(nn.Module):
    """A one-hidden-layer perceptron with ReLU.

    Parameters
    ----------
    n_features : int
        Input size.
    n_classes : int
        Number of classes.
    hidden : int, default 64
        Width of the hidden layer.

    Examples
    --------
    >>> MLP(64, 10, hidden=32)(torch.zeros(2, 64)).shape
    torch.Size([2, 10])
    """

    def __init__(self, n_features: int, n_classes: int, *, hidden: int = 64) -> None:
        super().__init__()
        self.net = nn.Sequential(
            nn.Linear(n_features, hidden), nn.ReLU(), nn.Linear(hidden, n_classes)
        )

    def forward(self, X: torch.Tensor) -> torch.Tensor:
        first = cast(nn.Linear, self.net[0])
        return self.net(X.flatten(1).to(first.weight.dtype))  # (B, C)


class SmallCNN(nn.Module):
    """Two 3×3 convolutions, a 2×2 max-pool and a linear read-out, for 8×8 images.

    It really is convolutional (the seeds call a single linear layer a CNN): the same 3×3
    filters slide over every position, so a shifted digit activates the same features.

    Parameters
    ----------
    n_classes : int
        Number of classes.
    channels : int, default 16
        Feature maps per convolution.
    side : int, default 8
        Images are ``side × side``; flat input of length ``side**2`` is reshaped.

    Examples
    --------
    >>> SmallCNN(10)(torch.zeros(5, 64)).shape
    torch.Size([5, 10])
    """

    def __init__(self, n_classes: int, *, channels: int = 16, side: int = 8) -> None:
        super().__init__()
        self.side = side
        self.features = nn.Sequential(
            nn.Conv2d(1, channels, 3, padding=1),  # (B, ch, 8, 8)
            nn.ReLU(),
            nn.Conv2d(channels, channels, 3, padding=1),  # (B, ch, 8, 8)
            nn.ReLU(),
            nn.MaxPool2d(2),  # (B, ch, 4, 4)
        )
        self.head = nn.Linear(channels * (side // 2) ** 2, n_classes)

    def forward(self, X: torch.Tensor) -> torch.Tensor:
        # inputs of any float dtype are cast to the weights' (float64 in the book)
        images = X.reshape(-1, 1, self.side, self.side).to(self.head.weight.dtype)  # (B,1,8,8)
        return self.head(self.features(images).flatten(1))  # (B, C)
