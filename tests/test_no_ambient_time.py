"""Plugins and the replay path read time only from their Clock and draw randomness
only from the seeded RNG. A justified exception is marked on its line with
``# keel: ambient-ok (<why>)``."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
BANNED = re.compile(
    r"\btime\.(time|time_ns|perf_counter|perf_counter_ns|monotonic|monotonic_ns)\(|"
    r"\bdatetime\.(now|utcnow|today)\(|\bdate\.today\(|"
    r"\buuid\.uuid[14]\(|"
    r"\brandom\.(random|randint|randrange|choice|choices|shuffle|uniform|gauss|seed)\(|"
    r"\bnp\.random\.(rand|randn|randint|random|seed|choice)\(|default_rng\(\)|"
    r"\bos\.urandom\("
)
MARK = "keel: ambient-ok"


def offenders() -> list[str]:
    found = []
    for base in ("plugins", "replay"):
        for path in sorted((ROOT / base).rglob("*.py")):
            for n, line in enumerate(path.read_text().splitlines(), 1):
                code = line.split("#", 1)[0]
                if BANNED.search(code) and MARK not in line:
                    found.append(f"{path.relative_to(ROOT)}:{n}: {line.strip()}")
    return found


def test_no_ambient_time_or_randomness_in_plugins_and_replay() -> None:
    assert offenders() == [], (
        "use ctx.clock / ctx.rng, or mark a justified exception with "
        f"'# {MARK} (why)':\n" + "\n".join(offenders())
    )


def test_the_scan_catches_a_wall_clock_read(tmp_path: Path) -> None:
    assert BANNED.search("ts = time.time_ns()")
    assert BANNED.search("x = random.random()")
    assert not BANNED.search("rng = random.Random(seed)")
