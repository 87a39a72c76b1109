from __future__ import annotations

import pytest

from contracts import chain_hash, message_digest
from plugins.notary import Sealer


def test_blocks_chain_and_close_on_gaps() -> None:
    s = Sealer(3)
    out = []
    for seq in (1, 2, 3, 4, 6, 7):
        out += s.add(seq, f"keel.x.{seq}", b"p%d" % seq, seq * 10)
    tail = s.flush()
    assert tail is not None
    blocks = [*out, tail]
    assert [(b.first_seq, b.last_seq) for b in blocks] == [(1, 3), (4, 4), (6, 7)]
    assert blocks[0].prev == b"" and blocks[1].prev == blocks[0].chain
    assert blocks[0].digests[1] == message_digest(2, "keel.x.2", b"p2")
    b = blocks[2]
    assert b.chain == chain_hash(b.prev, 6, 7, b.digests) and b.last_stored_ns == 70
    assert s.flush() is None


def test_block_size_must_be_positive() -> None:
    with pytest.raises(ValueError):
        Sealer(0)
