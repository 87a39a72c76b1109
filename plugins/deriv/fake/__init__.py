"""A protocol-level fake of Deriv's websocket API (see ``server.py``)."""

from .account import Account, Contract, Proposal
from .logged import LoggedVenue
from .market import FakeSymbol, Market, default_symbols
from .server import Conn, FakeDeriv, Sub

__all__ = [
    "Account",
    "Conn",
    "Contract",
    "FakeDeriv",
    "FakeSymbol",
    "LoggedVenue",
    "Market",
    "Proposal",
    "Sub",
    "default_symbols",
]
