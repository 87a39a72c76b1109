from pathlib import Path

import pytest

from kernel.logfile import LogFileError, LogReader, LogRecord, LogWriter, read_log


def test_roundtrip(tmp_path: Path) -> None:
    path = tmp_path / "run.keellog"
    recs = [LogRecord(i, f"keel.md.bar.X{i}", i * 10, {"h": str(i)}, bytes([i]))
            for i in range(1, 6)]
    with LogWriter(path, source="KEEL") as w:
        w.write_all(recs)
    reader = LogReader(path)
    assert reader.header.source == "KEEL"
    assert list(reader) == recs
    assert recs[0].delivery().seq == 1


def test_truncated_file_is_reported_with_offset(tmp_path: Path) -> None:
    path = tmp_path / "run.keellog"
    with LogWriter(path) as w:
        w.write(LogRecord(1, "s", 0, {}, b"x" * 100))
    path.write_bytes(path.read_bytes()[:-10])
    with pytest.raises(LogFileError, match="truncated frame"):
        read_log(path)


def test_not_a_log(tmp_path: Path) -> None:
    path = tmp_path / "x"
    path.write_bytes(b"hello world")
    with pytest.raises(LogFileError):
        LogReader(path)
