"""``StrategyRegistered`` events of the strategy plugins installed here."""

from __future__ import annotations

import json

import msgspec

from contracts import StrategyRegistered
from kernel import IdSource, PluginHost, code_hash

__all__ = ["PRODUCER", "installed_strategies"]

PRODUCER = "strategy_registry"


def installed_strategies(host: PluginHost, ts: int) -> list[StrategyRegistered]:
    """One event per installed plugin whose ``kind`` is ``"strategy"``, by name.

    Ids come from (name, version, code hash): registering the same code again is a
    duplicate the log drops and the projection ignores.
    """
    ids = IdSource(PRODUCER)
    dists = {i.name: i.distribution for i in host.info()}
    out = []
    for name in host.names():
        cls = host.get(name)
        if getattr(cls, "kind", "") != "strategy":
            continue
        digest = code_hash(cls)
        try:
            defaults = msgspec.json.encode(cls.Config()).decode()
        except (TypeError, msgspec.ValidationError, ValueError):
            defaults = "{}"  # a Config with required keys has no default parameter set
        out.append(StrategyRegistered(
            id=ids.natural(name, cls.version, digest[:16]), ts=ts, producer=PRODUCER,
            strategy=name, version=cls.version, code_hash=digest,
            description=cls.description, distribution=dists.get(name, ""),
            default_params_json=json.dumps(json.loads(defaults), sort_keys=True)))
    return out
