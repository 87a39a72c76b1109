"""Deriv adapter: market data over Deriv's websocket API, recorded for exact replay.

Layers: a sans-IO codec (``wire``, ``requests``, ``messages``, ``errors``,
``market``, ``limits``), a pure core (``core``), the websocket shell
(``transport``, ``link``, ``session``) and the plugin (``shell``). A
protocol-level fake venue for tests lives in ``fake``.
"""

from .config import DerivConfig
from .core import DerivCore
from .errors import REJECTS, DerivAPIError, DerivError, RejectCode, reject_for
from .session import ConnectionLost, DerivSession, Stream
from .shell import DerivPlugin

__all__ = [
    "REJECTS",
    "ConnectionLost",
    "DerivAPIError",
    "DerivConfig",
    "DerivCore",
    "DerivError",
    "DerivPlugin",
    "DerivSession",
    "RejectCode",
    "Stream",
    "reject_for",
]
