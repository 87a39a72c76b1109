"""Regenerate the order-lifecycle golden log (by hand; the committed file must NOT be
regenerated after a contract change: it stands for a log written by an earlier keel).

    .venv/bin/python tests/data/golden/make_orders_golden.py

v1_order_lifecycle.keellog was written with the schema-1 order contracts (MARKET and
LIMIT orders; GTC, IOC and DAY) through the real risk, execution, paper and portfolio
plugins: accepted, rejected, resting, cancelled, IOC-cancelled and partially filled orders.
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).parent
sys.path.insert(0, str(HERE.parent.parent / "replay"))

from kernel import PluginHost  # noqa: E402
from plugins.simulator import run_backtest  # noqa: E402

PLUGIN_CONFIG = {
    "risk": {"max_order_qty": "1000"},
    "paper": {"max_volume_participation": "0.1", "fee_bps": "1"},
    "portfolio": {"snapshot_every_n_bars": 5},
}


def main() -> None:
    import golden_orders

    host = PluginHost(extra=[golden_orders])
    with tempfile.TemporaryDirectory() as tmp:
        data = Path(tmp) / "bars.csv"
        data.write_text("ts_ns,open,high,low,close,volume\n" + "".join(
            ",".join(map(str, r)) + "\n" for r in golden_orders.bar_rows()))
        result = run_backtest(data, strategy="t_orders", instrument="GOLD", host=host,
                              plugin=PLUGIN_CONFIG, log=HERE / "v1_order_lifecycle.keellog")
    print(result.summary)


if __name__ == "__main__":
    main()
