"""``keel regime fit`` (offline fit, logged and registered) and ``keel regime show``."""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from typing import Any

import msgspec
import numpy as np

from contracts import DecodeError, RegimeModelFitted, decode, query_subject
from kernel import Command, ConfigError, KeelConfig, KeelError, convert_config, load_config

from .config import RegimeConfig
from .core import settings_of
from .data import read_closes
from .features import FeatureState
from .fit import FitError, fit_model
from .forward import ForwardFilter
from .views import model_view

__all__ = ["commands", "fit_file", "format_model", "format_posterior"]


def _config(keel: KeelConfig, args: argparse.Namespace) -> RegimeConfig:
    raw = keel.plugin_config("regime")
    if args.states is not None:
        raw["n_states"] = args.states
    if args.features:
        raw["features"] = [f.strip() for f in args.features.split(",") if f.strip()]
    return convert_config(raw, RegimeConfig, prefix="plugin.regime")


def fit_file(path: str, instrument: str, config: RegimeConfig, *, window: int | None,
             seed: int, version: int, previous: RegimeModelFitted | None) -> RegimeModelFitted:
    """Fit a model on the last ``window`` bars of a file (all when None): the offline fit."""
    closes = read_closes(path, instrument)
    fs = FeatureState(tuple(config.features), config.rv_window)
    rows, ts = [], []
    for t, c in zip(closes.ts, closes.close, strict=True):
        row = fs.update(c)
        if row is not None:
            rows.append(row)
            ts.append(t)
    if window is not None:
        rows, ts = rows[-window:], ts[-window:]
    if not rows:
        raise FitError(instrument, 0, f"{path} has too few bars for rv_window {config.rv_window}")
    fields = fit_model(
        np.array(rows, dtype=np.float64), settings=settings_of(config), instrument=instrument,
        model_name=config.model_name(instrument), version=version, seed=seed,
        start_ts=ts[0], end_ts=ts[-1], previous=previous, source="offline")
    fields["data_hash"] = closes.sha256 or fields["data_hash"]
    digest = fields["data_hash"][:12]
    return RegimeModelFitted(
        id=f"regime-cli-{instrument}-v{version}-{digest}", ts=ts[-1], producer="regime-cli",
        **fields)


def _fmt_ts(ns: int) -> str:
    from datetime import UTC, datetime

    return datetime.fromtimestamp(ns / 1e9, tz=UTC).strftime("%Y-%m-%d %H:%M:%S")


def format_model(view: dict[str, Any]) -> str:
    """A model summary (``model`` query answer) as text: states and transition matrix."""
    lines = [
        f"model {view['model']} v{view['version']} ({view['source']}), {view['n_states']} "
        f"states, features {', '.join(view['features'])}",
        f"trained on {view['train_bars']} bars {_fmt_ts(view['train_start_ts'])} .. "
        f"{_fmt_ts(view['train_end_ts'])}, score {view['score']:.4f}/bar, seed {view['seed']}",
        "",
        f"{'#':>2}  {'label':<26} {'mean ret':>11} {'vol':>10} {'duration':>9}",
    ]
    for s in view["states"]:
        dur = s["expected_duration_bars"]
        lines.append(f"{s['regime']:>2}  {s['label']:<26} {s['mean_return']:>11.6f} "
                     f"{s['volatility']:>10.6f} {'inf' if dur is None else f'{dur:.1f}':>9}")
    lines += ["", "transition matrix (row: from, column: to)"]
    for k, row in enumerate(view["transmat"]):
        lines.append(f"{k:>2}  " + " ".join(f"{p:7.4f}" for p in row))
    return "\n".join(lines)


def format_posterior(view: dict[str, Any]) -> str:
    lines = [f"{view['instrument']} at {_fmt_ts(view['ts'])}: {view['label']} "
             f"(regime {view['regime']}, confidence {view['confidence']:.3f}, "
             f"model {view['model']} v{view['model_version']})"]
    for k, (label, p) in enumerate(zip(view["labels"], view["probabilities"], strict=True)):
        lines.append(f"{k:>2}  {label:<26} {p:7.4f}  {'#' * round(p * 40)}")
    return "\n".join(lines)


async def _last_logged(bus: Any, instrument: str) -> RegimeModelFitted | None:
    found = await bus.last_message(f"keel.model.regime.{instrument}")
    if found is None:
        return None
    try:
        event = decode(found.data)
    except DecodeError:
        return None
    return event if isinstance(event, RegimeModelFitted) else None


async def _fit(args: argparse.Namespace) -> int:
    keel = load_config(args.config)
    config = _config(keel, args)
    seed = keel.seed if args.seed is None else args.seed
    if args.dry_run:
        model = fit_file(args.data, args.instrument, config, window=args.window, seed=seed,
                         version=1, previous=None)
        _print_fit(model, args, logged=None)
        return 0
    from kernel.node import open_bus
    from kernel.node_cli import embedded_servers
    from kernel.registry import ModelRegistry, project_event

    async with embedded_servers(keel) as cfg, open_bus(cfg, name="keel-regime-fit") as bus:
        previous = await _last_logged(bus, args.instrument)
        version = (previous.version if previous is not None else 0) + 1
        model = await asyncio.to_thread(
            fit_file, args.data, args.instrument, config, window=args.window, seed=seed,
            version=version, previous=previous)
        seq = await bus.publish(model)
        # Logged: now the registry row (the projection would write the same one).
        registry = await ModelRegistry.connect(cfg.database_url, data_dir=cfg.data_dir)
        try:
            await project_event(registry, model)
        finally:
            await registry.close()
    _print_fit(model, args, logged=seq)
    return 0


def _print_fit(model: RegimeModelFitted, args: argparse.Namespace, *, logged: int | None) -> None:
    view = model_view(model)
    closes = read_closes(args.data, args.instrument)
    fs = FeatureState(tuple(model.features), model.rv_window)
    rows = [r for r in (fs.update(c) for c in closes.close) if r is not None]
    posterior = ForwardFilter(model).run(rows)
    counts = np.bincount(np.argmax(posterior, axis=1), minlength=model.n_states)
    view["filtered_share"] = [float(c) / len(rows) for c in counts]
    view["logged_seq"] = logged
    if args.json:
        print(json.dumps(view, indent=2))
        return
    print(format_model(view))
    print("\nshare of bars per filtered regime: " + ", ".join(
        f"{label} {share:.1%}" for label, share in zip(model.labels, view["filtered_share"],
                                                       strict=True)))
    if logged is None:
        print("\n(dry run: not logged, not registered)")
    else:
        print(f"\nlogged as {model.id} (log seq {logged}) and registered as "
              f"{model.model}:{model.version}; a running regime plugin uses it from its next bar")


async def _show(args: argparse.Namespace) -> int:
    from kernel import RequestTimeoutError
    from kernel.node import open_bus

    keel = load_config(args.config)
    req = json.dumps({"instrument": args.instrument}).encode()
    out: dict[str, Any] = {"instrument": args.instrument}
    async with open_bus(keel, name="keel-regime-show") as bus:
        try:
            for name in ("current", "model"):
                raw = await bus.request(query_subject("regime", name), req, timeout=args.timeout)
                reply = json.loads(raw)
                out[name] = reply.get("result") if reply.get("ok") else None
                if not reply.get("ok"):
                    out[f"{name}_error"] = reply.get("error")
        except RequestTimeoutError:
            out["plugin"] = "not running"
            logged = await _last_logged(bus, args.instrument)
            out["model"] = model_view(logged) if logged is not None else None
    if args.json:
        print(json.dumps(out, indent=2))
        return 0
    if out.get("current"):
        print(format_posterior(out["current"]))
    else:
        why = out.get("current_error") or "the regime plugin is not running"
        print(f"no live posterior for {args.instrument}: {why}")
    print()
    if out.get("model"):
        print(format_model(out["model"]))
    else:
        print(f"no model for {args.instrument}: {out.get('model_error') or 'none logged'}")
    return 0 if out.get("model") else 1


def _configure(p: argparse.ArgumentParser) -> None:
    sub = p.add_subparsers(dest="action", required=True, metavar="ACTION")
    fit = sub.add_parser("fit", help="fit a regime model on a bar file, log and register it")
    fit.add_argument("--data", required=True, metavar="FILE", help="CSV or Parquet bars")
    fit.add_argument("--instrument", required=True)
    fit.add_argument("--states", type=int, default=None, metavar="K",
                     help="number of regimes, 2-5 (default: [plugin.regime] n_states, 3)")
    fit.add_argument("--features", default=None,
                     help="comma-separated, e.g. log_return,realized_vol")
    fit.add_argument("--window", type=int, default=None, metavar="W",
                     help="fit on the last W bars only (default: the whole file)")
    fit.add_argument("--seed", type=int, default=None, help="default: the node's seed")
    fit.add_argument("--dry-run", action="store_true", help="fit and print; log nothing")
    fit.add_argument("--json", action="store_true")
    fit.set_defaults(_action=_fit)
    show = sub.add_parser("show", help="the current posterior and model of an instrument")
    show.add_argument("--instrument", required=True)
    show.add_argument("--timeout", type=float, default=2.0)
    show.add_argument("--json", action="store_true")
    show.set_defaults(_action=_show)


def _run(args: argparse.Namespace) -> int:
    try:
        return asyncio.run(args._action(args))
    except FitError as exc:
        print(f"keel regime: {exc}", file=sys.stderr)
        return 1
    except ConfigError:
        raise
    except (KeelError, OSError, msgspec.ValidationError) as exc:
        print(f"keel regime: {exc}", file=sys.stderr)
        return 1


def commands() -> list[Command]:
    return [Command("regime", "market regimes: fit a model offline, show the current one",
                    _configure, _run)]
