"""The embedding networks: a TCN encoder with reconstruction and forecast heads, and a VAE.

TCN (Bai, Kolter & Koltun 2018, "An Empirical Evaluation of Generic
Convolutional and Recurrent Networks for Sequence Modeling"): residual blocks
of two dilated causal 1-D convolutions (dilations 1, 2, 4, ...), so the
output at bar t sees only bars <= t. The embedding is a linear map of the
last time step's channels to ``dim`` (128) values.

VAE (Kingma & Welling 2014, "Auto-Encoding Variational Bayes"): the same
encoder gives the posterior mean and log-variance of a ``dim``-d Gaussian;
the decoder reconstructs the window from a sample; the embedding is the
posterior mean.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

import torch
from torch import nn
from torch.nn import functional as F

__all__ = ["EmbedderNet", "NetConfig", "TCNEncoder", "build_net"]


@dataclass(frozen=True)
class NetConfig:
    """Shape of a network: everything needed to rebuild it before loading weights."""

    kind: str = "tcn"  # "tcn" or "vae"
    features: int = 4
    window: int = 64
    channels: int = 48
    levels: int = 5
    kernel_size: int = 3
    dim: int = 128
    horizon: int = 8

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @property
    def receptive_field(self) -> int:
        return 1 + 2 * (self.kernel_size - 1) * (2**self.levels - 1)


class _CausalConv(nn.Module):
    def __init__(self, c_in: int, c_out: int, k: int, dilation: int) -> None:
        super().__init__()
        self.pad = (k - 1) * dilation
        self.conv = nn.Conv1d(c_in, c_out, k, dilation=dilation)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.conv(F.pad(x, (self.pad, 0)))


class _Block(nn.Module):
    def __init__(self, c_in: int, c_out: int, k: int, dilation: int) -> None:
        super().__init__()
        self.conv1 = _CausalConv(c_in, c_out, k, dilation)
        self.conv2 = _CausalConv(c_out, c_out, k, dilation)
        self.skip = nn.Conv1d(c_in, c_out, 1) if c_in != c_out else nn.Identity()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = F.relu(self.conv1(x))
        h = F.relu(self.conv2(h))
        return F.relu(h + self.skip(x))


class TCNEncoder(nn.Module):
    """``[B, features, window]`` -> ``[B, channels]`` (the last time step)."""

    def __init__(self, cfg: NetConfig) -> None:
        super().__init__()
        blocks = []
        c_in = cfg.features
        for level in range(cfg.levels):
            blocks.append(_Block(c_in, cfg.channels, cfg.kernel_size, 2**level))
            c_in = cfg.channels
        self.blocks = nn.Sequential(*blocks)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out: torch.Tensor = self.blocks(x)[:, :, -1]
        return out


class EmbedderNet(nn.Module):
    """Encoder plus training heads. ``embed(x)`` is all inference uses."""

    def __init__(self, cfg: NetConfig) -> None:
        super().__init__()
        if cfg.kind not in ("tcn", "vae"):
            raise ValueError(f"kind must be 'tcn' or 'vae', got {cfg.kind!r}")
        self.cfg = cfg
        self.encoder = TCNEncoder(cfg)
        self.mu = nn.Linear(cfg.channels, cfg.dim)
        self.logvar = nn.Linear(cfg.channels, cfg.dim) if cfg.kind == "vae" else None
        self.decoder = nn.Linear(cfg.dim, cfg.features * cfg.window)
        self.forecast = nn.Linear(cfg.dim, 2 * cfg.horizon) if cfg.kind == "tcn" else None

    def embed(self, x: torch.Tensor) -> torch.Tensor:
        """``[B, features, window]`` -> ``[B, dim]`` (the VAE's posterior mean)."""
        out: torch.Tensor = self.mu(self.encoder(x))
        return out

    def loss(self, x: torch.Tensor, target: torch.Tensor | None,
             generator: torch.Generator | None = None, beta: float = 1e-3
             ) -> tuple[torch.Tensor, dict[str, float]]:
        """The training objective on a batch; returns (loss, its parts as floats).

        TCN: MSE of the window's reconstruction + MSE of the next ``horizon``
        bars' (log return, range) forecast. VAE: negative ELBO with a unit
        Gaussian likelihood (per-element MSE) and ``beta``-weighted KL to N(0, I).
        """
        h = self.encoder(x)
        mu = self.mu(h)
        b = x.shape[0]
        if self.logvar is None:
            recon = self.decoder(mu).view(b, self.cfg.features, self.cfg.window)
            rec = F.mse_loss(recon, x)
            assert self.forecast is not None and target is not None
            fc = F.mse_loss(self.forecast(mu).view(b, 2, self.cfg.horizon), target)
            return rec + fc, {"reconstruction": rec.item(), "forecast": fc.item()}
        logvar = self.logvar(h).clamp(-10.0, 10.0)
        eps = torch.randn(mu.shape, generator=generator, dtype=mu.dtype, device=mu.device)
        z = mu + eps * torch.exp(0.5 * logvar)
        recon = self.decoder(z).view(b, self.cfg.features, self.cfg.window)
        rec = F.mse_loss(recon, x)
        kl = -0.5 * torch.mean(torch.sum(1 + logvar - mu.pow(2) - logvar.exp(), dim=1))
        return rec + beta * kl, {"reconstruction": rec.item(), "kl": kl.item()}


def build_net(cfg: NetConfig) -> EmbedderNet:
    return EmbedderNet(cfg)
