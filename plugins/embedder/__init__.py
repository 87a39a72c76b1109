"""Market-state embeddings: a TCN/VAE embedder, the pgvector store and analog search."""

from .artifact import EmbeddingModel
from .shell import Embedder

__all__ = ["Embedder", "EmbeddingModel"]
