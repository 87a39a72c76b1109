"""The soak's judgement, percentiles and outputs (the soak itself runs by hand: `make soak`)."""

from __future__ import annotations

from pathlib import Path

from benchmarks.soak_report import Sample, judge, percentile_ms, read_csv, write_csv, write_png

BOUNDS = [0.001, 0.01, 0.1]


def test_percentiles_of_a_bucketed_histogram() -> None:
    assert percentile_ms(BOUNDS, [0, 0, 0, 0], 0.5) is None
    assert percentile_ms(BOUNDS, [90, 9, 1, 0], 0.5) == 1.0
    assert percentile_ms(BOUNDS, [90, 9, 1, 0], 0.99) == 10.0
    assert percentile_ms(BOUNDS, [90, 9, 0, 1], 1.0) == 200.0  # +Inf: twice the last bound


def _run(rss: list[float], lag: list[float], every: float = 5.0) -> list[Sample]:
    out: list[Sample] = []
    for i, (mb, n) in enumerate(zip(rss, lag, strict=True)):
        out += [(i * every, "rss_mb", "risk", mb), (i * every, "lag", "risk", n)]
    return out


def test_a_plateau_passes_and_steady_growth_fails() -> None:
    n = 40
    warm = [60.0 + i for i in range(8)]  # start-up growth, before the warm-up ends
    plateau = warm + [68.0 + (i % 3) * 0.5 for i in range(n - 8)]
    leak = warm + [68.0 + 0.8 * i for i in range(n - 8)]  # +4 MB a minute, forever
    lag = [3.0] * (n - 4) + [1.0, 0.0, 0.0, 0.0]
    [mem, lagv] = judge(_run(plateau, lag), warmup_s=40, feed_end_s=170)
    assert mem.ok and mem.check == "memory" and "allowed 8.0" in mem.detail
    assert lagv.ok and "peak 3, last 0" in lagv.detail
    [mem, _] = judge(_run(leak, lag), warmup_s=40, feed_end_s=170)
    assert not mem.ok and "+12.8 MB" in mem.detail


def test_lag_that_does_not_return_to_zero_fails() -> None:
    rss = [60.0] * 20
    [_, lagv] = judge(_run(rss, [0.0] * 10 + [5.0] * 10), warmup_s=10, feed_end_s=60)
    assert not lagv.ok and "last 5" in lagv.detail
    [_, early] = judge(_run(rss, [0.0] * 20), warmup_s=10, feed_end_s=500)
    assert not early.ok and "no sample after the feed ended" in early.detail


def test_csv_round_trip_and_png(tmp_path: Path) -> None:
    samples = _run([60.0, 61.0, 61.0, 61.5], [0.0, 2.0, 0.0, 0.0])
    samples += [(5.0, "p50_ms", "risk", 0.5), (5.0, "p99_ms", "risk", 2.5)]
    write_csv(tmp_path / "s.csv", samples)
    assert read_csv(tmp_path / "s.csv") == samples
    write_png(tmp_path / "s.png", samples, title="t", feed_end_s=10)
    assert (tmp_path / "s.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_nats_server_gets_room_for_its_heap_a_keel_process_does_not() -> None:
    rise = [30.0] * 10 + [44.0] * 10  # +14 MB: the Go heap levelling off higher
    samples = [(i * 5.0, "rss_mb", proc, mb) for proc in ("nats-server", "risk")
               for i, mb in enumerate(rise)]
    verdicts = {v.subject: v for v in judge(samples, warmup_s=0, feed_end_s=200)}
    assert verdicts["nats-server"].ok and not verdicts["risk"].ok
