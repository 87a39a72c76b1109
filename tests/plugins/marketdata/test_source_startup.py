"""An unusable market-data source refuses to start, with a clear message."""

from __future__ import annotations

from pathlib import Path

import pytest

from kernel import PluginError
from kernel.testing.harness import Harness
from plugins.marketdata import MarketData


async def start(config: dict[str, object]) -> None:
    async with Harness([MarketData], config={"marketdata": config}) as h:
        await h.runners["marketdata"].wait_source()


async def test_a_missing_data_file_refuses_to_start(tmp_path: Path) -> None:
    missing = tmp_path / "nope.csv"
    with pytest.raises(PluginError, match=r"data file .*nope\.csv does not exist"):
        await start({"source": "file", "path": str(missing), "instruments": ["X"]})


async def test_a_directory_refuses_to_start(tmp_path: Path) -> None:
    with pytest.raises(PluginError, match="is not a file"):
        await start({"source": "file", "path": str(tmp_path), "instruments": ["X"]})


async def test_a_bad_first_row_refuses_to_start(tmp_path: Path) -> None:
    bad = tmp_path / "bad.csv"
    bad.write_text("ts_ns,open,high,low,close,volume\n1,abc,1,1,1,1\n")
    with pytest.raises(PluginError, match=r"bad\.csv"):
        await start({"source": "file", "path": str(bad), "instruments": ["X"]})
