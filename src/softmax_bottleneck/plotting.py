"""The book's figure style: one look for every chapter, readable by colour-blind readers.

The palette is Okabe & Ito's (2008) eight colours, designed to stay distinct under the
common forms of colour blindness; figures also differ by marker or hatch where it matters.
"""

from __future__ import annotations

from typing import Any

#: Okabe-Ito colours, in the order the book uses them.
PALETTE: dict[str, str] = {
    "blue": "#0072B2",
    "orange": "#E69F00",
    "green": "#009E73",
    "vermillion": "#D55E00",
    "sky": "#56B4E9",
    "purple": "#CC79A7",
    "yellow": "#F0E442",
    "black": "#000000",
}


def use_book_style() -> None:
    """Set matplotlib's defaults to the book's figure style.

    Okabe-Ito colour cycle, a page-width figure size, light grid, no top/right spines, and
    a fixed SVG hash salt so that saved figures do not change between runs. In a Jupyter
    kernel it also switches the inline backend to "retina" PNGs (twice the pixels, shown at
    the same size), so figures stay sharp on high-DPI screens and when a reader zooms in on
    the website; see :func:`use_retina_figures`.

    Examples
    --------
    >>> import softmax_bottleneck as sb
    >>> sb.plotting.use_book_style()
    >>> import matplotlib.pyplot as plt
    >>> plt.rcParams["axes.prop_cycle"].by_key()["color"][0]
    '#0072B2'
    """
    import matplotlib as mpl
    from cycler import cycler

    mpl.rcParams.update(
        {
            "axes.prop_cycle": cycler(color=list(PALETTE.values())),
            "figure.figsize": (7.0, 3.6),
            "figure.dpi": 100,
            "savefig.dpi": 150,
            "savefig.bbox": "tight",
            "font.size": 11,
            "axes.titlesize": 11,
            "axes.labelsize": 11,
            "axes.grid": True,
            "grid.alpha": 0.3,
            "axes.spines.top": False,
            "axes.spines.right": False,
            "legend.frameon": False,
            "svg.hashsalt": "softmax-bottleneck",
            "figure.constrained_layout.use": True,
        }
    )
    use_retina_figures()


def use_retina_figures() -> bool:
    """Make a Jupyter kernel display matplotlib figures as 2x ("retina") PNGs.

    The PNG has twice the pixels in each direction and records its display size in the
    output's metadata, so Jupyter and the website show it at the usual size, sharp on
    high-DPI screens. Outside IPython (a script, a doctest) nothing changes.

    Returns
    -------
    bool
        True if the inline backend was switched, False when not running under IPython.

    Examples
    --------
    >>> use_retina_figures()   # not in a Jupyter kernel: nothing to do
    False
    """
    try:
        from IPython import get_ipython
    except ImportError:  # pragma: no cover - IPython is part of the book extra
        return False
    shell = get_ipython()
    if shell is None or not hasattr(shell, "kernel"):
        return False
    from matplotlib_inline.backend_inline import set_matplotlib_formats
    from matplotlib_inline.config import InlineBackend

    # Both: the config survives a later `%matplotlib inline`, the call applies it now.
    InlineBackend.instance().figure_formats = {"retina"}
    set_matplotlib_formats("retina")
    return True


def new_figure(ncols: int = 1, nrows: int = 1, **kwargs: Any) -> tuple[Any, Any]:
    """A `matplotlib.figure.Figure` and its axes, not attached to pyplot's global state.

    Figures made this way are returned by the book's figure functions and displayed by the
    notebook; they never pile up in pyplot (no "More than 20 figures" warning).

    Examples
    --------
    >>> from softmax_bottleneck.plotting import new_figure
    >>> fig, axes = new_figure(ncols=2)
    >>> len(axes)
    2
    """
    from matplotlib.figure import Figure

    fig = Figure(**kwargs)
    axes = fig.subplots(nrows, ncols, squeeze=True)
    return fig, axes
