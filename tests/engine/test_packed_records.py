"""What the parent holds for each file of a large tree is packed: the files the check could
not use, the spool blocks of each file's findings (every file's coverage record: in
test_coverage.py). Each reads back as the mapping it stands for."""

from __future__ import annotations

import pickle

from deploysafe.engine.check import FileBlocks, Partial, Skipped
from deploysafe.engine.report import _by_file
from deploysafe.inputs.discover import Reason


def test_skipped_files_read_back_in_the_order_they_came() -> None:
    skipped = Skipped({"b.tpl": Reason.TEMPLATE})
    skipped["a.png"] = Reason.BINARY
    more = Skipped([("c.yaml", Reason.TOO_LARGE)])
    skipped.update(more)
    assert list(skipped.items()) == [
        ("b.tpl", Reason.TEMPLATE),
        ("a.png", Reason.BINARY),
        ("c.yaml", Reason.TOO_LARGE),
    ]
    assert len(skipped) == 3 and skipped == dict(skipped.items())
    assert pickle.loads(pickle.dumps(skipped)) == skipped


def test_a_file_s_blocks_come_in_the_order_they_were_added() -> None:
    first, second = Partial(), Partial()
    first.blocks.add(["b.yaml", "a.yaml"], 10)
    second.blocks.add(["a.yaml"], 2)  # a later block may have a lower number
    second.blocks.add(["c.yaml", "a.yaml"], 11)
    first.merge(second)
    assert list(first.blocks.by_file()) == [
        ("a.yaml", (2, 10, 11)),  # by number: the spool numbers blocks as they come
        ("b.yaml", (10,)),
        ("c.yaml", (11,)),
    ]
    assert FileBlocks() == Partial().blocks and len(first.blocks) == 5


def test_files_with_findings_of_either_kind_come_once_in_order() -> None:
    spooled = [("a.yaml", (1,)), ("c.yaml", (2, 3))]
    files = _by_file(spooled, ["b.yaml", "c.yaml", "d.yaml"], ())
    assert [(file, blocks) for file, blocks, _ in files] == [
        ("a.yaml", (1,)),
        ("b.yaml", ()),
        ("c.yaml", (2, 3)),
        ("d.yaml", ()),
    ]
