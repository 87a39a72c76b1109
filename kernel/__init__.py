"""keel kernel: bus, clocks, ids, plugin host and runner, config, CLI.

Plugins import only from here (and ``contracts``).
"""

from . import telemetry
from .audit import ChainBuilder, order_chain
from .bars import BarData, BarDataError, BarSet, Calendar, load_bars
from .bus import Bus, Delivery, Subscription, subject_matches
from .clock import Clock, LiveClock, SimClock
from .codehash import code_hash
from .commands import Command
from .config import KeelConfig, config_hash, convert_config, load_config
from .control import Confirmation, NotConfirmedError, publish_confirmed
from .errors import (
    BusClosedError,
    ConfigError,
    ConfigFileError,
    KeelError,
    LeaseHeldError,
    PluginError,
    PluginFailedError,
    PublishError,
    RequestTimeoutError,
)
from .heartbeats import HeartbeatMonitor
from .hookspecs import hookimpl
from .host import PluginHost, PluginInfo
from .ids import IdSource
from .instruments import InstrumentSpec, spec_for
from .memory_bus import MemoryBus
from .nats_bus import BusUnavailableError, NatsBus, server_urls
from .plugin import Context, NoConfig, Plugin, Query
from .projections import Projection, projection_handler, store_follower
from .registry import (
    ModelNotFoundError,
    ModelRecord,
    ModelRegistry,
    ModelVersionConflictError,
    open_registry,
)
from .rng import derive_seed, plugin_rng
from .runner import PluginRunner, RunnerStats
from .streams import StreamSettings
from .venues import VenueCapabilities

__all__ = [
    "BarData",
    "BarDataError",
    "BarSet",
    "Bus",
    "BusClosedError",
    "BusUnavailableError",
    "Calendar",
    "ChainBuilder",
    "Clock",
    "Command",
    "ConfigError",
    "ConfigFileError",
    "Confirmation",
    "Context",
    "Delivery",
    "HeartbeatMonitor",
    "IdSource",
    "InstrumentSpec",
    "KeelConfig",
    "KeelError",
    "LeaseHeldError",
    "LiveClock",
    "MemoryBus",
    "ModelNotFoundError",
    "ModelRecord",
    "ModelRegistry",
    "ModelVersionConflictError",
    "NatsBus",
    "NoConfig",
    "NotConfirmedError",
    "Plugin",
    "PluginError",
    "PluginFailedError",
    "PluginHost",
    "PluginInfo",
    "PluginRunner",
    "Projection",
    "PublishError",
    "Query",
    "RequestTimeoutError",
    "RunnerStats",
    "SimClock",
    "StreamSettings",
    "Subscription",
    "VenueCapabilities",
    "code_hash",
    "config_hash",
    "convert_config",
    "derive_seed",
    "hookimpl",
    "load_bars",
    "load_config",
    "open_registry",
    "order_chain",
    "plugin_rng",
    "projection_handler",
    "publish_confirmed",
    "server_urls",
    "spec_for",
    "store_follower",
    "subject_matches",
    "telemetry",
]
