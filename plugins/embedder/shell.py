"""The embedder plugin: the core on the bus, plus the ``embed`` and ``similar`` queries."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from contracts import Bar, EmbeddingComputed, Event
from kernel import Context, Plugin, Query
from kernel.registry import plugin_database_url

from .config import EmbedderConfig, parse_model_ref
from .core import EmbedderCore
from .horizons import parse_horizon
from .search import similar
from .store import EmbeddingStore

__all__ = ["Embedder"]

#: Model events (any ``keel.model.>`` event whose ``model_card()`` names an embedder).
MODEL_SUBJECT = "keel.model.>"


class Embedder(Plugin):
    """Embeds each instrument's recent bars with a registered model (TCN or VAE)."""

    name = "embedder"
    version = "0.1.0"
    description = "market-state embeddings (TCN/VAE) per bar; analog search over pgvector"
    Config = EmbedderConfig

    def __init__(self, ctx: Context) -> None:
        super().__init__(ctx)
        cfg: EmbedderConfig = self.config
        name, version = parse_model_ref(cfg.model)
        self.core = EmbedderCore(model_name=name, model_version=version, every=cfg.every)
        self.latest: dict[str, EmbeddingComputed] = {}
        self._store: EmbeddingStore | None = None
        # Fixed thread count: a result must not depend on the machine's cores.
        import torch  # here, not at import: every `keel` command imports every plugin

        torch.set_num_threads(cfg.threads)

    def subjects(self) -> Sequence[str]:
        cfg: EmbedderConfig = self.config
        bars = [f"keel.md.bar.{'>' if i == '*' else i}" for i in cfg.instruments]
        return [MODEL_SUBJECT, *bars]

    def on_event(self, event: Event) -> None:
        if type(event) is Bar:
            fields = self.core.on_bar(event)  # type: ignore[arg-type]
            if fields is not None:
                out = self.ctx.event(EmbeddingComputed, **fields)
                self.latest[out.instrument] = out
                self.ctx.emit(out)
            return
        card_method = getattr(event, "model_card", None)
        if card_method is not None:
            loaded = self.core.on_model(card_method())
            if loaded is not None:
                self.ctx.log.info("embedder: using model %s:%s (sha256 %s)", loaded.name,
                                  loaded.version, loaded.sha256[:12])

    def health(self) -> dict[str, Any]:
        m = self.core.current
        return {"model": f"{m.name}:{m.version}" if m else "",
                "waiting_for_model": self.core.waiting, "instruments": len(self.core.series)}

    # -- queries (read-only; never change what the plugin emits) --------------
    async def _open_store(self) -> EmbeddingStore:
        if self._store is None:
            cfg: EmbedderConfig = self.config
            url = plugin_database_url(cfg.database_url, cfg.data_dir, "the vector store")
            self._store = await EmbeddingStore.connect(url, cfg.store, max_size=2)
        return self._store

    async def on_stop(self) -> None:
        if self._store is not None:
            await self._store.close()
            self._store = None

    def queries(self) -> Mapping[str, Query]:
        return {"embed": self._q_embed, "similar": self._q_similar}

    async def _q_embed(self, args: dict[str, Any]) -> dict[str, Any]:
        instrument = _required(args, "instrument", str)
        at = args.get("at")
        if at is None and instrument in self.latest:
            e = self.latest[instrument]
            return {"instrument": e.instrument, "ts": e.ts, "model": e.model,
                    "model_version": e.model_version, "model_sha256": e.model_sha256,
                    "window_start_ts": e.window_start_ts, "vector": e.vector}
        if at is not None and not isinstance(at, int):
            raise ValueError("at: expected integer nanoseconds or null")
        store = await self._open_store()
        state = await store.state_at(instrument, at, args.get("model"))
        if state is None:
            raise LookupError(f"no embedding of {instrument} at or before {at}")
        return {"instrument": state.instrument, "ts": state.ts, "model": state.model,
                "model_version": state.model_version, "window_start_ts": state.window_start_ts,
                "vector": [float(v) for v in state.vector]}

    async def _q_similar(self, args: dict[str, Any]) -> dict[str, Any]:
        cfg: EmbedderConfig = self.config
        instrument = _required(args, "instrument", str)
        at = args.get("at")
        if at is not None and not isinstance(at, int):
            raise ValueError("at: expected integer nanoseconds or null")
        k = args.get("k", 10)
        if not isinstance(k, int) or not 1 <= k <= 1000:
            raise ValueError("k: expected an integer from 1 to 1000")
        horizons = args.get("horizons") or None
        exclusion = args.get("exclusion") or cfg.exclusion
        store = await self._open_store()
        return await similar(store, instrument=instrument, at=at, k=k,
                             model=args.get("model"), horizons=horizons,
                             exclusion_ns=parse_horizon(exclusion).ns if exclusion else None,
                             any_instrument=bool(args.get("any_instrument", False)))


def _required(args: dict[str, Any], key: str, kind: type) -> Any:
    value = args.get(key)
    if not isinstance(value, kind) or value == "":
        raise ValueError(f"{key}: required ({kind.__name__})")
    return value
