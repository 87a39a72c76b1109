"""Seeded randomness: each plugin gets its own stream derived from one seed."""

from __future__ import annotations

import random
from hashlib import blake2b

__all__ = ["derive_seed", "plugin_rng"]


def derive_seed(seed: int, name: str) -> int:
    """A 64-bit seed for ``name``, stable across runs and Python versions."""
    digest = blake2b(f"{seed}:{name}".encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big")


def plugin_rng(seed: int, name: str) -> random.Random:
    """The RNG a plugin must use instead of the ``random`` module's global one."""
    return random.Random(derive_seed(seed, name))
