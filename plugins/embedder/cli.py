"""``keel train embedder``, ``keel embed`` and ``keel similar``."""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from typing import Any

from kernel import Command, KeelError, load_config

__all__ = ["COMMANDS"]


def _run(coro: Any) -> int:
    from kernel.cli import run_async

    try:
        return int(run_async(coro))
    except (ValueError, LookupError) as exc:  # user errors: a message, no traceback
        raise KeelError(str(exc)) from None


# -- keel train embedder -------------------------------------------------------
def _configure_train(p: argparse.ArgumentParser) -> None:
    sub = p.add_subparsers(dest="what", required=True, metavar="WHAT")
    e = sub.add_parser("embedder", help="train a TCN or VAE market-state embedder",
                       description="Self-supervised training on bar files; registers the "
                       "model and prints the held-out loss.")
    e.add_argument("--data", nargs="+", required=True, metavar="FILE", help="bar files")
    e.add_argument("--kind", choices=("tcn", "vae"), default="tcn")
    e.add_argument("--window", type=int, default=64, help="bars per window (default 64)")
    e.add_argument("--epochs", type=int, default=10)
    e.add_argument("--seed", type=int, default=0)
    e.add_argument("--name", default="embedder", help="model name in the registry")
    e.add_argument("--batch-size", type=int, default=256)
    e.add_argument("--lr", type=float, default=1e-3)
    e.add_argument("--threads", type=int, default=1, help="torch threads (fixed: deterministic)")
    e.add_argument("--device", choices=("cpu", "cuda"), default="cpu")
    e.add_argument("--holdout", type=float, default=0.2, help="share of windows held out")
    e.add_argument("--plot", default=None, metavar="PNG",
                   help="loss curve (default: DATA_DIR/models/NAME-VERSION-loss.png)")
    e.add_argument("--no-register", action="store_true",
                   help="train and save only (--out), do not register")
    e.add_argument("--out", default=None, metavar="FILE", help="also write the model bytes here")


def _cmd_train(args: argparse.Namespace) -> int:
    return _run(_train(args))


async def _train(args: argparse.Namespace) -> int:
    from pathlib import Path

    from tqdm import tqdm

    from kernel import LiveClock

    from .bars import file_sha256, read_bar_file
    from .plots import loss_curve_png
    from .registry_io import model_event, next_version, register_model
    from .train import TrainOptions, train

    config = load_config(args.config)
    series = [read_bar_file(f) for f in args.data]
    opts = TrainOptions(kind=args.kind, window=args.window, epochs=args.epochs, seed=args.seed,
                        batch_size=args.batch_size, learning_rate=args.lr,
                        threads=args.threads, device=args.device, holdout=args.holdout)
    bar = tqdm(total=args.epochs, desc=f"train {args.kind}", unit="epoch", file=sys.stderr)
    done = [0]

    def progress(epoch: int, batch: int, loss: float) -> None:
        if epoch > done[0]:  # a new epoch began: the previous ones are done
            bar.update(epoch - done[0])
            done[0] = epoch
        bar.set_postfix(loss=f"{loss:.4f}", refresh=False)

    try:
        result = await asyncio.to_thread(train, series, opts, progress)
    finally:
        bar.update(args.epochs - done[0])
        bar.close()
    version = 0 if args.no_register else await next_version(config, args.name)
    plot = Path(args.plot) if args.plot else (
        Path(config.data_dir) / "models" / f"{args.name}-{version}-loss.png")
    loss_curve_png(result.train_loss, result.val_loss, plot,
                   title=f"{args.name}:{version if version else 'not registered'} "
                   f"({args.kind}, window {args.window})")
    if args.out:
        Path(args.out).write_bytes(result.model.to_bytes())
    print(f"held-out loss {result.heldout_loss:.6f} (train {result.train_loss[-1]:.6f}) over "
          f"{result.val_windows} held-out windows; {result.train_windows} trained; "
          f"{sum(result.seconds_per_epoch) / len(result.seconds_per_epoch):.2f} s/epoch")
    print(f"loss curve: {plot}")
    if args.no_register:
        return 0
    hashes = [file_sha256(f) for f in args.data]
    import hashlib

    data_hash = hashes[0] if len(hashes) == 1 else hashlib.sha256(
        "".join(hashes).encode()).hexdigest()
    params = {"kind": args.kind, "window": args.window, "epochs": args.epochs,
              "seed": args.seed, "batch_size": args.batch_size, "learning_rate": args.lr,
              "holdout": args.holdout, "threads": args.threads, "device": args.device,
              "net": result.model.cfg.to_dict(), "files": [Path(f).name for f in args.data]}
    event = model_event(name=args.name, version=version, model=result.model, parameters=params,
                        metrics=result.metrics(), data_start_ts=result.data_start_ts,
                        data_end_ts=result.data_end_ts, data_hash=data_hash,
                        ts=LiveClock().now_ns())
    await register_model(config, event)
    print(f"registered {args.name}:{version} (kind embedder.{args.kind}, weights sha256 "
          f"{event.card.weights_sha256[:16]}...)")
    return 0


# -- keel embed -----------------------------------------------------------------
def _configure_embed(p: argparse.ArgumentParser) -> None:
    p.add_argument("--data", required=True, metavar="FILE", help="bar file to embed")
    p.add_argument("--model", required=True, metavar="NAME[:VERSION]")
    p.add_argument("--instrument", default=None, help="default: the file name's stem")
    p.add_argument("--out", default=None, metavar="FILE.parquet", help="write ts + vectors here")
    p.add_argument("--batch", type=int, default=1,
                   help="windows per forward pass: 1 (default) gives bytes identical to the "
                   "live plugin; larger is faster and agrees to ~1e-6")
    p.add_argument("--no-store", action="store_true", help="do not write the vector store")


def _cmd_embed(args: argparse.Namespace) -> int:
    return _run(_embed(args))


async def _embed(args: argparse.Namespace) -> int:
    from .backfill import backfill

    config = load_config(args.config)
    summary = await backfill(config, data=args.data, ref=args.model,
                             instrument=args.instrument, out=args.out, batch=args.batch,
                             store=not args.no_store)
    print(json.dumps(summary))
    return 0


# -- keel similar ---------------------------------------------------------------
def _configure_similar(p: argparse.ArgumentParser) -> None:
    p.add_argument("--instrument", required=True)
    p.add_argument("--at", default=None, metavar="TIME",
                   help="ISO 8601 time (UTC if naive) or integer ns; default: the latest state")
    p.add_argument("-k", type=int, default=10)
    p.add_argument("--model", default=None, metavar="NAME[:VERSION]")
    p.add_argument("--horizon", default=None, help="comma-separated, e.g. 1h,1d")
    p.add_argument("--exclude", default=None,
                   help="skip states this close before TIME (default: the window's span)")
    p.add_argument("--any-instrument", action="store_true",
                   help="search every instrument's states, not only INSTRUMENT's")
    p.add_argument("--json", action="store_true")


def _cmd_similar(args: argparse.Namespace) -> int:
    return _run(_similar(args))


def parse_time(text: str | None) -> int | None:
    """ISO 8601 (UTC when naive) or integer nanoseconds -> ns."""
    if text is None:
        return None
    if text.lstrip("-").isdigit():
        return int(text)
    from datetime import UTC, datetime

    try:
        dt = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise ValueError(f"--at {text!r}: expected ISO 8601 (2024-03-01T12:00) or ns") from None
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=UTC)
    return int(dt.timestamp()) * 10**9 + dt.microsecond * 1000


async def _similar(args: argparse.Namespace) -> int:
    from kernel.registry import database_url

    from .config import EmbedderConfig, parse_model_ref
    from .horizons import parse_horizon
    from .report import print_similar
    from .search import similar
    from .store import EmbeddingStore

    config = load_config(args.config)
    from kernel import convert_config

    cfg = convert_config(config.plugin_config("embedder"), EmbedderConfig,
                         prefix="plugin.embedder")
    at = parse_time(args.at)
    name, version = parse_model_ref(args.model) if args.model else (None, None)
    horizons = [h for h in args.horizon.split(",") if h] if args.horizon else None
    exclusion = args.exclude or cfg.exclusion
    async with database_url(config) as url:
        store = await EmbeddingStore.connect(url, cfg.store)
        try:
            report = await similar(store, instrument=args.instrument, at=at, k=args.k,
                                   model=name, model_version=version, horizons=horizons,
                                   exclusion_ns=parse_horizon(exclusion).ns if exclusion
                                   else None, any_instrument=args.any_instrument)
        finally:
            await store.close()
    if args.json:
        print(json.dumps(report))
    else:
        print_similar(report)
    return 0


COMMANDS = (
    Command("train", "train a model: `keel train embedder --data FILE...`", _configure_train,
            _cmd_train),
    Command("embed", "embed a bar file with a registered model (backfill the vector store)",
            _configure_embed, _cmd_embed),
    Command("similar", "analog search: the nearest past market states and what followed",
            _configure_similar, _cmd_similar),
)
