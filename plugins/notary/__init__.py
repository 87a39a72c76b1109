"""keel built-in plugin: the notary, which seals the log for integrity checks."""

from .config import NotaryConfig
from .core import Block, Sealer
from .notary import Notary

__all__ = ["Block", "Notary", "NotaryConfig", "Sealer"]
