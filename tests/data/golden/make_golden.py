"""Regenerate the golden log (by hand; the committed file must NOT be regenerated
after a contract change: it stands for a log written by an earlier keel).

    .venv/bin/python tests/data/golden/make_golden.py

v1_signal_filler.keellog was written before ``LogSeal.algorithm`` existed
(contract schema 1): its seals lack that field and must keep decoding.
"""

from __future__ import annotations

import asyncio
import os
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).parent
sys.path.insert(0, str(HERE.parent.parent / "replay"))

from kernel import PluginHost  # noqa: E402
from kernel.embedded import NatsServer  # noqa: E402


async def main() -> None:
    import rp_plugins
    from recording import record

    from replay.cli import dump

    host = PluginHost(extra=[rp_plugins])
    with tempfile.TemporaryDirectory() as tmp, NatsServer(Path(tmp) / "nats") as server:
        await record(server.url, host, ["notary", "t_signal", "t_filler"], rp_plugins.bars(24),
                     configs={"notary": {"block": 10}}, expect=24 + 24 + 6, snapshot_every=8)

        class Args:
            log = None
            stream = "KEEL"
            config = None
            from_seq = to_seq = from_time = None
            out = str(HERE / "v1_signal_filler.keellog")

        os.environ["KEEL_NATS_URL"] = server.url
        await dump(Args())  # type: ignore[arg-type]


if __name__ == "__main__":
    asyncio.run(main())
