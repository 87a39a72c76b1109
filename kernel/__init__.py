"""keel kernel: bus, clocks, ids, plugin host and runner, config, CLI.

Plugins import only from here (and ``contracts``).
"""

from .bus import Bus, Delivery, Subscription, subject_matches
from .clock import Clock, LiveClock, SimClock
from .codehash import code_hash
from .commands import Command
from .config import KeelConfig, config_hash, convert_config, load_config
from .errors import (
    BusClosedError,
    ConfigError,
    KeelError,
    PluginError,
    PublishError,
    RequestTimeoutError,
)
from .hookspecs import hookimpl
from .host import PluginHost, PluginInfo
from .ids import IdSource
from .instruments import InstrumentSpec, spec_for
from .memory_bus import MemoryBus
from .nats_bus import BusUnavailableError, NatsBus, server_urls
from .plugin import Context, NoConfig, Plugin, Query
from .rng import derive_seed, plugin_rng
from .runner import PluginRunner, RunnerStats
from .streams import StreamSettings

__all__ = [
    "Bus",
    "BusClosedError",
    "BusUnavailableError",
    "Clock",
    "Command",
    "ConfigError",
    "Context",
    "Delivery",
    "IdSource",
    "InstrumentSpec",
    "KeelConfig",
    "KeelError",
    "LiveClock",
    "MemoryBus",
    "NatsBus",
    "NoConfig",
    "Plugin",
    "PluginError",
    "PluginHost",
    "PluginInfo",
    "PluginRunner",
    "PublishError",
    "Query",
    "RequestTimeoutError",
    "RunnerStats",
    "SimClock",
    "StreamSettings",
    "Subscription",
    "code_hash",
    "config_hash",
    "convert_config",
    "derive_seed",
    "hookimpl",
    "load_config",
    "plugin_rng",
    "server_urls",
    "spec_for",
    "subject_matches",
]
