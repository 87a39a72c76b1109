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


def test_a_text_file_is_named_not_a_keel_log(tmp_path: Path) -> None:
    """`keel replay verify --log-file README.md` said 'truncated frame (52502 of
    589327205 bytes)': the first four bytes of text read as a frame length."""
    path = tmp_path / "bars.csv"
    path.write_text("Date,Open,High,Low,Close\n2022-01-03,1,2,0.5,1.5\n")
    with pytest.raises(LogFileError) as info:
        LogReader(path)
    assert str(info.value).startswith(
        f"{path}: not a keel log (it does not start with a keel-log header: truncated frame")
    assert info.value.offset is None
