"""``keel sweep``: a parameter grid spread over worker processes through a NATS work queue.

Infrastructure, not the event log, so it talks to NATS with nats-py directly:

* its subjects live in their own space, ``keelsweep.>``, outside the event
  log's ``keel.>``, so a sweep runs on the very server a live keel logs to
  (JetStream refuses two streams over one subject); its two streams are
  created if absent, reused if they exist with the same subjects, and any
  other state is an error naming the stream (``SweepError``), never ignored;
* jobs go to the JetStream stream ``KEEL_SWEEP_JOBS`` (``retention=workqueue``,
  subjects ``keelsweep.jobs.<sweep>``), one message per grid point, published
  with ``Nats-Msg-Id = <sweep>-<job>`` so a repeated publish is dropped;
* every worker (``keel sweep-worker``, on any machine that reaches NATS and
  the data file) pulls from the one shared durable consumer ``sweep-workers``
  with explicit ack and ``ack_wait``: a job whose worker dies unacked is
  redelivered to another worker after ``ack_wait``; a live worker keeps its
  job with progress acks while it runs;
* a worker publishes the job's summary to ``keelsweep.results.<sweep>``
  (stream ``KEEL_SWEEP_RESULTS``, again deduplicated by job id) BEFORE it
  acks the job; the coordinator collects one row per job id into the table.
So a job is never lost (at-least-once delivery) and never counted twice.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import itertools
import json
import logging
import os
import secrets
import signal
import subprocess
import sys
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import msgspec

from kernel import server_urls

from .errors import SweepError

__all__ = ["JOBS_STREAM", "RESULTS_STREAM", "WORKERS", "cmd_sweep", "cmd_sweep_worker",
           "configure_sweep", "configure_sweep_worker", "grid_points", "run_sweep", "work"]

JOBS_STREAM = "KEEL_SWEEP_JOBS"
RESULTS_STREAM = "KEEL_SWEEP_RESULTS"
WORKERS = "sweep-workers"
#: The sweep's own subject space: never under the event log's ``keel.>``.
SUBJECT_ROOT = "keelsweep"
JOBS = f"{SUBJECT_ROOT}.jobs"
RESULTS = f"{SUBJECT_ROOT}.results"


def grid_points(grid: Mapping[str, Sequence[Any]]) -> list[dict[str, Any]]:
    """Cartesian product of the grid, in a stable order (first key varies slowest)."""
    keys = list(grid)
    return [dict(zip(keys, values, strict=True))
            for values in itertools.product(*(grid[k] for k in keys))]


def parse_grid(items: Sequence[str]) -> dict[str, list[Any]]:
    from .cli import parse_value

    grid: dict[str, list[Any]] = {}
    for item in items:
        key, sep, values = item.partition("=")
        if not sep or not key.strip() or not values.strip():
            raise SweepError(f"--grid {item!r}: expected KEY=V1,V2,... (e.g. fast=5,10,20)")
        grid[key.strip()] = [parse_value(v.strip()) for v in values.split(",") if v.strip()]
    if not grid:
        raise SweepError("a sweep needs at least one --grid KEY=V1,V2,...")
    return grid


async def _ensure_stream(js: Any, name: str, subject: str, **settings: Any) -> None:
    """Create stream ``name`` over ``subject``, or reuse it if it already is exactly that.

    Anything else (a stream of that name over other subjects, a subject taken
    by another stream, no JetStream) raises ``SweepError`` with the server's words.
    """
    from nats.js.api import StreamConfig
    from nats.js.errors import APIError, NotFoundError

    try:
        info = await js.stream_info(name)
    except NotFoundError:
        info = None
    except APIError as exc:
        raise SweepError(f"cannot read stream {name}: {exc.description or exc}") from None
    if info is not None:
        if list(info.config.subjects or []) != [subject]:
            raise SweepError(
                f"stream {name} exists with subjects {info.config.subjects}, not [{subject!r}]"
                f" (made by an older keel?): remove it (`nats stream rm {name}`) and retry")
        return
    try:
        await js.add_stream(StreamConfig(name=name, subjects=[subject], **settings))
    except APIError as exc:
        if exc.err_code == 10065:  # subjects overlap with an existing stream
            raise SweepError(
                f"cannot create stream {name} on {subject}: another stream already captures "
                f"those subjects ({exc.description})") from None
        if exc.err_code == 10058:  # created meanwhile by another worker: check it
            await _ensure_stream(js, name, subject, **settings)
            return
        raise SweepError(f"cannot create stream {name} on {subject}: "
                         f"{exc.description or exc}") from None


async def _setup(js: Any, ack_wait: float) -> None:
    """The sweep's streams and its workers' shared consumer, created or reused explicitly."""
    from nats.js.api import AckPolicy, ConsumerConfig, RetentionPolicy
    from nats.js.errors import APIError, NotFoundError

    await _ensure_stream(js, JOBS_STREAM, f"{JOBS}.>", retention=RetentionPolicy.WORK_QUEUE)
    await _ensure_stream(js, RESULTS_STREAM, f"{RESULTS}.>", max_age=7 * 86_400)
    try:
        await js.consumer_info(JOBS_STREAM, WORKERS)
        return
    except NotFoundError:
        pass
    config = ConsumerConfig(durable_name=WORKERS, ack_policy=AckPolicy.EXPLICIT,
                            ack_wait=ack_wait, max_ack_pending=-1, filter_subject=f"{JOBS}.>")
    try:
        await js.add_consumer(JOBS_STREAM, config=config)
    except APIError as exc:
        raise SweepError(f"cannot create the workers' consumer {WORKERS} on {JOBS_STREAM}: "
                         f"{exc.description or exc}") from None


@contextlib.asynccontextmanager
async def _connect(nats_url: str) -> Any:
    """A nats-py connection; an unreachable server is a ``SweepError`` naming the URL."""
    import nats
    from nats.errors import Error as NatsError

    async def on_error(exc: BaseException) -> None:  # one line, not nats-py's traceback
        logging.getLogger("keel.sweep").warning("NATS %s: %s", nats_url,
                                                exc or type(exc).__name__)

    try:
        nc = await nats.connect(server_urls(nats_url), connect_timeout=5,
                                max_reconnect_attempts=3, error_cb=on_error)
    except (NatsError, OSError, TimeoutError) as exc:
        raise SweepError(f"cannot reach NATS at {nats_url}: {exc or type(exc).__name__}"
                         ) from None
    try:
        yield nc
    finally:
        await nc.close()


async def run_sweep(
    nats_url: str,
    *,
    data: str | Sequence[str],
    grid: Mapping[str, Sequence[Any]],
    backtest: Mapping[str, Any],
    config: Any = None,
    sweep_id: str | None = None,
    ack_wait: float = 30.0,
    timeout: float = 3600.0,
    on_result: Any = None,
    check: Any = None,
) -> list[dict[str, Any]]:
    """Publish the grid's jobs and wait for one result per job; rows in grid order.

    ``check()``, if given, is called about once a second while waiting; it
    raises to abandon the sweep (e.g. when every local worker has died).
    """
    from nats.errors import Error as NatsError

    sweep = sweep_id or "s" + secrets.token_hex(4)
    points = grid_points(grid)
    async with _connect(nats_url) as nc:
        js = nc.jetstream()
        await _setup(js, ack_wait)
        results: dict[int, dict[str, Any]] = {}
        sub = await js.subscribe(f"{RESULTS}.{sweep}", ordered_consumer=True)
        files = [data] if isinstance(data, (str, Path)) else list(data)
        for k, params in enumerate(points):
            job = {"sweep": sweep, "job": k, "data": [str(Path(f).resolve()) for f in files],
                   "grid": params, "backtest": dict(backtest),
                   "config": None if config is None else msgspec.to_builtins(config)}
            try:
                await js.publish(f"{JOBS}.{sweep}", json.dumps(job).encode(),
                                 headers={"Nats-Msg-Id": f"{sweep}-{k}"})
            except NatsError as exc:
                raise SweepError(f"sweep {sweep}: publishing job {k} to {JOBS_STREAM} failed: "
                                 f"{exc or type(exc).__name__}") from None
        # The one sanctioned wall-clock read here: a deadline for the whole sweep.
        deadline = time.monotonic() + timeout  # keel: ambient-ok (work-queue timeouts)
        while len(results) < len(points):
            left = deadline - time.monotonic()  # keel: ambient-ok (work-queue timeouts)
            if left <= 0:
                missing = sorted(set(range(len(points))) - set(results))
                raise SweepError(f"sweep {sweep}: {len(missing)} of {len(points)} jobs without "
                                 f"a result after {timeout}s (jobs {missing[:10]}); are workers "
                                 "running (`keel sweep-worker --nats URL`)?")
            if check is not None:
                check()
            try:
                msg = await sub.next_msg(timeout=min(left, 1.0))
            except TimeoutError:
                continue
            row = json.loads(msg.data)
            if row["job"] not in results:  # a redelivered job may report twice
                results[row["job"]] = row
                if on_result is not None:
                    on_result(row)
        await sub.unsubscribe()
    return [results[k] for k in range(len(points))]


def _run_job(job: dict[str, Any]) -> dict[str, Any]:
    from kernel import KeelConfig

    from .result import run_backtest

    kw = dict(job["backtest"])
    if job.get("config") is not None:
        kw["config"] = msgspec.convert(job["config"], KeelConfig)
    kw["params"] = {**kw.get("params", {}), **job["grid"]}
    try:
        full = run_backtest(job["data"], **kw).summary
        failure = full.get("failure") or {}
        error = f"{failure['plugin']}: {failure['error']}" if failure else ""
        summary = {k: v for k, v in full.items() if k not in _NESTED}
    except Exception as exc:  # reported in the table, never a lost job
        summary, error = {}, f"{type(exc).__name__}: {exc}"
    return {"sweep": job["sweep"], "job": job["job"], **job["grid"], "error": error, **summary}


#: Summary entries left out of a sweep row (a row is one line of a table).
_NESTED = ("per_instrument", "config", "failure", "data")


async def work(nats_url: str, *, idle_exit: float | None = None, max_jobs: int | None = None,
               job_delay: float = 0.0, ack_wait: float = 30.0, name: str = "") -> int:
    """Pull jobs until stopped (or idle for ``idle_exit`` s); returns the number done."""
    from nats.errors import TimeoutError as NatsTimeout

    done = 0
    async with _connect(nats_url) as nc:
        js = nc.jetstream()
        await _setup(js, ack_wait)
        sub = await js.pull_subscribe_bind(durable=WORKERS, stream=JOBS_STREAM)
        idle_since = time.monotonic()  # keel: ambient-ok (work-queue timeouts)
        while max_jobs is None or done < max_jobs:
            try:
                msgs = await sub.fetch(1, timeout=1.0)
            except (NatsTimeout, TimeoutError):
                now = time.monotonic()  # keel: ambient-ok (worker idle exit)
                if idle_exit is not None and now - idle_since > idle_exit:
                    break
                continue
            for msg in msgs:
                job = json.loads(msg.data)
                print(f"{name or os.getpid()}: job {job['sweep']}/{job['job']} {job['grid']}",
                      flush=True)
                task = asyncio.create_task(_hold(msg, job_delay, job))
                beat = max(0.5, ack_wait / 3)
                while not task.done():
                    await asyncio.wait({task}, timeout=beat)
                    if not task.done():
                        await msg.in_progress()  # still working: keep the job
                row = task.result()
                await js.publish(f"{RESULTS}.{job['sweep']}", json.dumps(row).encode(),
                                 headers={"Nats-Msg-Id": f"{job['sweep']}-{job['job']}"})
                await msg.ack_sync()
                done += 1
            idle_since = time.monotonic()  # keel: ambient-ok (work-queue timeouts)
    return done


async def _hold(msg: Any, delay: float, job: dict[str, Any]) -> dict[str, Any]:
    if delay:
        await asyncio.sleep(delay)
    return await asyncio.to_thread(_run_job, job)


# -- command line ---------------------------------------------------------------------------
def configure_sweep(p: argparse.ArgumentParser) -> None:
    from .cli import add_backtest_args

    add_backtest_args(p)
    p.add_argument("--grid", action="append", default=[], metavar="K=V1,V2",
                   help="strategy parameter values to sweep (repeatable): --grid fast=5,10,20")
    p.add_argument("--nats", default="", metavar="URL",
                   help="NATS URL (default: config nats_url, else an embedded server)")
    p.add_argument("--workers", type=int, default=2,
                   help="local worker processes to start (0: use workers started elsewhere)")
    p.add_argument("--ack-wait", type=float, default=30.0,
                   help="seconds before an unacked job goes to another worker")
    p.add_argument("--timeout", type=float, default=3600.0, help="give up after this many s")
    p.add_argument("--sweep-id", default=None, help="name of this sweep (default: random)")
    p.add_argument("--out", default=None, metavar="FILE", help="result table: .csv or .json")
    p.add_argument("--json", action="store_true", help="print the table as one JSON object")
    p.add_argument("--report", default=None, metavar="DIR",
                   help="write the ranked table and (two parameters) a heatmap into DIR")
    p.add_argument("--rank-by", default="sharpe", metavar="METRIC",
                   help="summary metric to rank by (default sharpe; drawdowns rank ascending)")


def configure_sweep_worker(p: argparse.ArgumentParser) -> None:
    p.add_argument("--nats", default="", metavar="URL", help="NATS URL (default: config)")
    p.add_argument("--idle-exit", type=float, default=None,
                   help="exit after this many seconds without a job (default: run forever)")
    p.add_argument("--max-jobs", type=int, default=None)
    p.add_argument("--ack-wait", type=float, default=30.0)
    p.add_argument("--job-delay", type=float, default=0.0,
                   help="wait this long before each job (demos and tests of redelivery)")


def _url(args: argparse.Namespace) -> str:
    """``--nats``, else the configured URL, else the server a running ``keel servers``
    (or ``keel up``) started on this data dir, else "" (none)."""
    if args.nats:
        return str(args.nats)
    from kernel import load_config
    from kernel.node import NoBusError, nats_url

    try:
        return nats_url(load_config(args.config))
    except NoBusError:
        return ""


def cmd_sweep_worker(args: argparse.Namespace) -> int:
    url = _url(args)
    if not url:
        raise SweepError("sweep-worker needs a NATS URL: --nats nats://HOST:4222 (or nats_url)")
    n = asyncio.run(work(url, idle_exit=args.idle_exit, max_jobs=args.max_jobs,
                         job_delay=args.job_delay, ack_wait=args.ack_wait))
    print(f"sweep-worker: {n} jobs done", file=sys.stderr)
    return 0


def spawn_workers(url: str, n: int, *extra: str) -> list[subprocess.Popen[bytes]]:
    """Start ``n`` local ``keel sweep-worker`` processes (the caller stops them)."""
    cmd = [sys.executable, "-m", "kernel.cli", "sweep-worker", "--nats", url, *extra]
    return [subprocess.Popen(cmd, stdout=subprocess.DEVNULL) for _ in range(n)]


def cmd_sweep(args: argparse.Namespace) -> int:
    from kernel import load_config

    from .cli import backtest_kwargs, data_kwargs, progress_bar, report_folder

    grid = parse_grid(args.grid)
    report_folder(args.report)
    kw = {**backtest_kwargs(args), **data_kwargs(args)}
    if args.instrument:
        kw["instrument"] = args.instrument
    config = load_config(args.config)
    for key in grid:
        if key in kw["params"]:
            raise SweepError(f"{key} is both a --param and a --grid key: pick one")
    url = _url(args)
    stack = contextlib.ExitStack()
    workers: list[subprocess.Popen[bytes]] = []
    try:
        if not url:
            from kernel import load_config
            from kernel.embedded import NatsServer

            server = stack.enter_context(NatsServer(Path(load_config(args.config).data_dir)
                                                    / "sweep-nats"))
            url = server.url
        workers = spawn_workers(url, args.workers, "--ack-wait", str(args.ack_wait))
        total = len(grid_points(grid))
        update, close = progress_bar(total, "sweep")
        count = itertools.count()
        def check() -> None:
            codes = [w.poll() for w in workers]
            if workers and all(c is not None for c in codes):
                raise SweepError(f"all {len(workers)} local sweep workers exited (codes "
                                 f"{codes}) before the sweep finished: see their errors above")

        try:
            rows = asyncio.run(run_sweep(url, data=args.data, grid=grid, backtest=kw,
                                         config=config,
                                         sweep_id=args.sweep_id, ack_wait=args.ack_wait,
                                         timeout=args.timeout,
                                         on_result=lambda _: update(next(count)),
                                         check=check))
        finally:
            close()
    finally:
        for w in workers:
            with contextlib.suppress(ProcessLookupError):
                w.send_signal(signal.SIGTERM)
        for w in workers:
            try:
                w.wait(5)
            except subprocess.TimeoutExpired:
                w.kill()
        stack.close()
    _write_table(rows, args.out)
    if args.report:
        from .sweep_report import write_sweep_report

        write_sweep_report(rows, list(grid), args.report, metric=args.rank_by)
    if args.json:
        print(json.dumps({"rows": rows}))
    else:
        _print_table(rows, list(grid))
    return 0


def _write_table(rows: list[dict[str, Any]], out: str | None) -> None:
    if not out:
        return
    if out.endswith(".json"):
        Path(out).write_text(json.dumps(rows, indent=1) + "\n")
        return
    import pandas as pd

    pd.DataFrame(rows).to_csv(out, index=False)


def _print_table(rows: list[dict[str, Any]], keys: list[str]) -> None:
    cols = [*keys, "fills", "realized_pnl", "return_pct", "sharpe", "max_drawdown_pct",
            "win_rate_pct", "error"]
    print("  ".join(f"{c:>13}" for c in cols))
    for r in rows:
        cells = []
        for c in cols:
            v = r.get(c, "")
            cells.append(f"{v:>13.6g}" if isinstance(v, float) else f"{v!s:>13}")
        print("  ".join(cells))
