"""A trained embedder as canonical bytes (what the registry stores and hashes).

Layout: ``b"KEELEMB1"``, a 4-byte little-endian header length, the header
as canonical JSON (sorted keys: network shape, feature spec, normalisation
statistics, tensor names/shapes/offsets), then every tensor as little-endian
float32, in ``state_dict`` order. The same model always gives the same bytes,
so its SHA-256 identifies it; ``load`` refuses bytes that are not this format.
"""

from __future__ import annotations

import hashlib
import json
import struct
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch

from .features import FeatureSpec, features
from .model import EmbedderNet, NetConfig

__all__ = ["MAGIC", "ArtifactError", "EmbeddingModel"]

MAGIC = b"KEELEMB1"


class ArtifactError(ValueError):
    """Bytes that are not a keel embedder (or were altered)."""


@dataclass
class EmbeddingModel:
    """A network with its feature spec and normalisation, ready to embed raw bars."""

    net: EmbedderNet
    spec: FeatureSpec
    feature_mean: list[float]
    feature_std: list[float]
    target_mean: list[float] = field(default_factory=lambda: [0.0, 0.0])
    target_std: list[float] = field(default_factory=lambda: [1.0, 1.0])

    @property
    def cfg(self) -> NetConfig:
        return self.net.cfg

    @property
    def dim(self) -> int:
        return self.net.cfg.dim

    def normalise(self, feats: np.ndarray) -> np.ndarray:
        """``[B, 4, window]`` float64 features -> float32 network input (clipped to +-10)."""
        mean = np.asarray(self.feature_mean)[None, :, None]
        std = np.asarray(self.feature_std)[None, :, None]
        return np.clip((feats - mean) / std, -10.0, 10.0).astype(np.float32)

    def embed_raw(self, raw: np.ndarray) -> np.ndarray:
        """``[B, lookback, 4]`` raw bars (high, low, close, volume) -> ``[B, dim]`` float32."""
        x = torch.from_numpy(self.normalise(features(raw, self.spec)))
        self.net.eval()
        with torch.no_grad():
            device = next(self.net.parameters()).device
            out = self.net.embed(x.to(device)).cpu().numpy()
        return np.ascontiguousarray(out, dtype=np.float32)

    # -- bytes -----------------------------------------------------------------
    def to_bytes(self) -> bytes:
        state = self.net.state_dict()
        tensors = []
        blobs = []
        offset = 0
        for name, t in state.items():
            arr = t.detach().cpu().numpy().astype("<f4")
            blob = arr.tobytes()
            tensors.append({"name": name, "shape": list(arr.shape), "offset": offset})
            blobs.append(blob)
            offset += len(blob)
        header = {
            "format": 1,
            "net": self.cfg.to_dict(),
            "spec": {"window": self.spec.window, "volume_window": self.spec.volume_window,
                     "rv_window": self.spec.rv_window},
            "feature_mean": self.feature_mean,
            "feature_std": self.feature_std,
            "target_mean": self.target_mean,
            "target_std": self.target_std,
            "tensors": tensors,
        }
        head = json.dumps(header, sort_keys=True, separators=(",", ":")).encode()
        return MAGIC + struct.pack("<I", len(head)) + head + b"".join(blobs)

    def sha256(self) -> str:
        return hashlib.sha256(self.to_bytes()).hexdigest()

    @classmethod
    def from_bytes(cls, data: bytes, *, expected_sha256: str | None = None) -> EmbeddingModel:
        """Rebuild a model; with ``expected_sha256`` the bytes must hash to it."""
        if expected_sha256 is not None:
            actual = hashlib.sha256(data).hexdigest()
            if actual != expected_sha256:
                raise ArtifactError(f"embedder weights hash to sha256 {actual[:16]}..., "
                                    f"expected {expected_sha256[:16]}...")
        if not data.startswith(MAGIC) or len(data) < len(MAGIC) + 4:
            raise ArtifactError("not a keel embedder model (bad magic)")
        (size,) = struct.unpack_from("<I", data, len(MAGIC))
        start = len(MAGIC) + 4
        try:
            header: dict[str, Any] = json.loads(data[start:start + size])
        except ValueError as exc:
            raise ArtifactError(f"embedder model header is not JSON: {exc}") from None
        body = memoryview(data)[start + size:]
        net = EmbedderNet(NetConfig(**header["net"]))
        state = {}
        for t in header["tensors"]:
            count = int(np.prod(t["shape"])) if t["shape"] else 1
            arr = np.frombuffer(body, dtype="<f4", count=count, offset=t["offset"])
            state[t["name"]] = torch.from_numpy(arr.reshape(t["shape"]).astype(np.float32))
        net.load_state_dict(state)
        net.eval()
        return cls(net=net, spec=FeatureSpec(**header["spec"]),
                   feature_mean=header["feature_mean"], feature_std=header["feature_std"],
                   target_mean=header["target_mean"], target_std=header["target_std"])
