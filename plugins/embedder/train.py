"""Self-supervised training of an embedder, seeded and deterministic on CPU.

Windows of each series are split in time: the last ``holdout`` share (after a
gap of ``window + horizon`` bars, so no window or target overlaps) is held
out and never trained on. Normalisation statistics come from the training
windows only. With the same data, options and seed, training on CPU gives the
same weight bytes (``torch.use_deterministic_algorithms(True)``, a fixed thread
count, a seeded shuffle); on CUDA the same code runs with cuBLAS's
deterministic workspace.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch

from .artifact import EmbeddingModel
from .bars import BarArrays
from .features import FeatureSpec, features, forward_targets, sliding_raw
from .model import EmbedderNet, NetConfig

__all__ = ["TrainError", "TrainOptions", "TrainResult", "prepare", "train"]


class TrainError(ValueError):
    """Training cannot run with these data or options (the message says why)."""


@dataclass(frozen=True)
class TrainOptions:
    kind: str = "tcn"
    window: int = 64
    epochs: int = 10
    seed: int = 0
    batch_size: int = 256
    learning_rate: float = 1e-3
    holdout: float = 0.2
    threads: int = 1
    device: str = "cpu"
    channels: int = 48
    levels: int = 5
    horizon: int = 8
    dim: int = 128
    beta: float = 1e-3
    #: Cap on windows per series (evenly spaced) to bound memory on long files.
    max_windows: int = 200_000

    def net_config(self) -> NetConfig:
        return NetConfig(kind=self.kind, window=self.window, channels=self.channels,
                         levels=self.levels, dim=self.dim, horizon=self.horizon)


@dataclass
class TrainResult:
    model: EmbeddingModel
    train_loss: list[float]
    val_loss: list[float]
    seconds_per_epoch: list[float]
    train_windows: int
    val_windows: int
    data_start_ts: int
    data_end_ts: int
    parts: dict[str, float] = field(default_factory=dict)

    @property
    def heldout_loss(self) -> float:
        return self.val_loss[-1] if self.val_loss else float("nan")

    def metrics(self) -> dict[str, Any]:
        return {"heldout_loss": self.heldout_loss,
                "train_loss": self.train_loss[-1] if self.train_loss else None,
                "epochs": len(self.train_loss), "train_windows": self.train_windows,
                "val_windows": self.val_windows, **{f"heldout_{k}": v
                                                    for k, v in self.parts.items()}}


@dataclass
class _Split:
    x_train: np.ndarray
    y_train: np.ndarray
    x_val: np.ndarray
    y_val: np.ndarray
    spec: FeatureSpec


def _windows(series: BarArrays, spec: FeatureSpec, horizon: int, max_windows: int
             ) -> tuple[np.ndarray, np.ndarray]:
    raw = series.raw()
    first, last = spec.lookback - 1, len(series) - horizon - 1
    if last < first:
        return np.empty(0, dtype=np.int64), raw
    ends = np.arange(first, last + 1, dtype=np.int64)
    if len(ends) > max_windows:
        ends = ends[np.linspace(0, len(ends) - 1, max_windows).round().astype(np.int64)]
    return ends, raw


def _feats(raw: np.ndarray, ends: np.ndarray, spec: FeatureSpec, horizon: int
           ) -> tuple[np.ndarray, np.ndarray]:
    xs, ys = [], []
    for i in range(0, len(ends), 4096):
        chunk = ends[i:i + 4096]
        xs.append(features(sliding_raw(raw, spec.lookback, chunk), spec))
        ys.append(forward_targets(raw, chunk, horizon))
    return np.concatenate(xs), np.concatenate(ys)


def prepare(series: Sequence[BarArrays], opts: TrainOptions) -> _Split:
    """Features and targets of every window, split in time into train and held-out."""
    spec = FeatureSpec(window=opts.window)
    gap = opts.window + opts.horizon
    parts: dict[str, list[np.ndarray]] = {"xt": [], "yt": [], "xv": [], "yv": []}
    for s in series:
        ends, raw = _windows(s, spec, opts.horizon, opts.max_windows)
        n = len(ends)
        n_val = int(n * opts.holdout)
        if n - n_val - gap < 1 or (opts.holdout > 0 and n_val < 1):
            continue
        cut = ends[n - n_val] if n_val else ends[-1] + 1
        train_ends = ends[ends <= cut - gap]
        val_ends = ends[n - n_val:]
        x, y = _feats(raw, train_ends, spec, opts.horizon)
        parts["xt"].append(x)
        parts["yt"].append(y)
        if n_val:
            x, y = _feats(raw, val_ends, spec, opts.horizon)
            parts["xv"].append(x)
            parts["yv"].append(y)
    if not parts["xt"]:
        need = spec.lookback + opts.horizon + gap
        raise TrainError(f"not enough bars: each series needs well over {need} bars for "
                         f"window {opts.window} (lookback {spec.lookback}, horizon "
                         f"{opts.horizon}) and a held-out share of {opts.holdout}")
    empty_x = np.empty((0, 4, opts.window))
    empty_y = np.empty((0, 2, opts.horizon))
    return _Split(np.concatenate(parts["xt"]), np.concatenate(parts["yt"]),
                  np.concatenate(parts["xv"]) if parts["xv"] else empty_x,
                  np.concatenate(parts["yv"]) if parts["yv"] else empty_y, spec)


def _stats(a: np.ndarray) -> tuple[list[float], list[float]]:
    mean = a.mean(axis=(0, 2))
    std = a.std(axis=(0, 2))
    std = np.where(std > 1e-12, std, 1.0)
    return [float(v) for v in mean], [float(v) for v in std]


def _device(name: str) -> torch.device:
    if name == "cuda":
        if not torch.cuda.is_available():
            raise TrainError("--device cuda: no CUDA device is available to this torch build")
        # cuBLAS is deterministic only with a fixed workspace (set before its first use).
        os.environ.setdefault("CUBLAS_WORKSPACE_CONFIG", ":4096:8")
        return torch.device("cuda")
    if name != "cpu":
        raise TrainError(f"--device must be cpu or cuda, got {name!r}")
    return torch.device("cpu")


def train(series: Sequence[BarArrays], opts: TrainOptions,
          progress: Callable[[int, int, float], None] | None = None) -> TrainResult:
    """Train on ``series``; ``progress(epoch, batch, loss)`` is called after each batch."""
    if opts.kind not in ("tcn", "vae"):
        raise TrainError(f"--kind must be tcn or vae, got {opts.kind!r}")
    if opts.window < 8 or opts.epochs < 1:
        raise TrainError("--window must be >= 8 and --epochs >= 1")
    device = _device(opts.device)
    torch.manual_seed(opts.seed)
    torch.use_deterministic_algorithms(True)
    torch.set_num_threads(opts.threads)
    split = prepare(series, opts)
    fmean, fstd = _stats(split.x_train)
    tmean, tstd = _stats(split.y_train)
    net = EmbedderNet(opts.net_config()).to(device)
    model = EmbeddingModel(net=net, spec=split.spec, feature_mean=fmean, feature_std=fstd,
                           target_mean=tmean, target_std=tstd)

    def tensors(x: np.ndarray, y: np.ndarray) -> tuple[torch.Tensor, torch.Tensor]:
        yn = (y - np.asarray(tmean)[None, :, None]) / np.asarray(tstd)[None, :, None]
        return (torch.from_numpy(model.normalise(x)).to(device),
                torch.from_numpy(yn.astype(np.float32)).to(device))

    xt, yt = tensors(split.x_train, split.y_train)
    xv, yv = tensors(split.x_val, split.y_val)
    opt = torch.optim.Adam(net.parameters(), lr=opts.learning_rate)
    shuffle = torch.Generator().manual_seed(opts.seed)
    noise = torch.Generator(device=device).manual_seed(opts.seed + 1)
    result = TrainResult(model, [], [], [], len(xt), len(xv),
                         int(min(s.ts[0] for s in series)), int(max(s.ts[-1] for s in series)))
    for epoch in range(opts.epochs):
        started = time.perf_counter()  # keel: ambient-ok (epoch timing)
        net.train()
        order = torch.randperm(len(xt), generator=shuffle)
        total, count = 0.0, 0
        for b, i in enumerate(range(0, len(xt), opts.batch_size)):
            idx = order[i:i + opts.batch_size].to(device)
            loss, _ = net.loss(xt[idx], yt[idx], noise, opts.beta)
            opt.zero_grad()
            loss.backward()
            opt.step()
            total += loss.item() * len(idx)
            count += len(idx)
            if progress is not None:
                progress(epoch, b, loss.item())
        result.train_loss.append(total / max(count, 1))
        result.val_loss.append(_evaluate(net, xv, yv, opts, result.parts))
        result.seconds_per_epoch.append(time.perf_counter() - started)  # keel: ambient-ok (timing)
    net.eval()
    return result


def _evaluate(net: EmbedderNet, x: torch.Tensor, y: torch.Tensor, opts: TrainOptions,
              parts: dict[str, float]) -> float:
    if len(x) == 0:
        return float("nan")
    net.eval()
    # A fixed generator: the VAE's held-out ELBO is the same on every evaluation.
    gen = torch.Generator(device=x.device).manual_seed(opts.seed + 2)
    total, sums = 0.0, {}
    with torch.no_grad():
        for i in range(0, len(x), 1024):
            loss, p = net.loss(x[i:i + 1024], y[i:i + 1024], gen, opts.beta)
            n = len(x[i:i + 1024])
            total += loss.item() * n
            for k, v in p.items():
                sums[k] = sums.get(k, 0.0) + v * n
    parts.clear()
    parts.update({k: v / len(x) for k, v in sums.items()})
    return total / len(x)
