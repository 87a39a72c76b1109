"""The training loss curve as a PNG."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

__all__ = ["loss_curve_png"]


def loss_curve_png(train: Sequence[float], heldout: Sequence[float], path: str | Path,
                   *, title: str = "") -> Path:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    out = Path(path)
    out.parent.mkdir(parents=True, exist_ok=True)
    epochs = range(1, len(train) + 1)
    fig, ax = plt.subplots(figsize=(7, 4))
    ax.plot(epochs, train, marker="o", label="train")
    ax.plot(epochs, heldout, marker="s", label="held-out")
    ax.set_xlabel("epoch")
    ax.set_ylabel("loss")
    ax.set_title(title or "embedder training")
    ax.grid(alpha=0.3)
    ax.legend()
    fig.tight_layout()
    fig.savefig(out, dpi=100)
    plt.close(fig)
    return out
