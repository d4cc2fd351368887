"""Writing is all or nothing: a failure before the renames leaves every file untouched."""

from __future__ import annotations

from pathlib import Path

import pytest

from deploysafe.errors import InputError
from deploysafe.fix import Change, write


def test_every_file_is_written_whole_with_its_permission_bits(tmp_path: Path) -> None:
    a, b = tmp_path / "a.yaml", tmp_path / "b.yaml"
    a.write_text("kind: A\n")
    b.write_text("kind: B\r\n")
    a.chmod(0o640)
    write(
        [
            Change("a.yaml", a, "kind: A\n", "kind: AA\n"),
            Change("b.yaml", b, "kind: B\r\n", "kind: BB\r\n"),
        ]
    )
    assert a.read_bytes() == b"kind: AA\n"
    assert b.read_bytes() == b"kind: BB\r\n"
    assert a.stat().st_mode & 0o777 == 0o640
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.yaml", "b.yaml"]


def test_a_failure_part_way_leaves_every_file_untouched(tmp_path: Path) -> None:
    a, b = tmp_path / "a.yaml", tmp_path / "b.yaml"
    a.write_text("kind: A\n")
    b.write_text("kind: B, edited by someone else\n")
    changes = [
        Change("a.yaml", a, "kind: A\n", "kind: AA\n"),
        Change("b.yaml", b, "kind: B\n", "kind: BB\n"),
    ]
    with pytest.raises(
        InputError, match=r"b\.yaml changed while it was being fixed: nothing written"
    ):
        write(changes)
    assert a.read_text() == "kind: A\n"
    assert b.read_text() == "kind: B, edited by someone else\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.yaml", "b.yaml"]  # no temp files


def test_a_new_file_is_created_and_its_diff_comes_from_dev_null(tmp_path: Path) -> None:
    new = tmp_path / "sub" / "new.yaml"
    new.parent.mkdir()
    change = Change("sub/new.yaml", new, "", "kind: A\n", created=True)
    assert change.diff().splitlines() == [
        "--- /dev/null",
        "+++ b/sub/new.yaml",
        "@@ -0,0 +1 @@",
        "+kind: A",
    ]
    write([change])
    assert new.read_text() == "kind: A\n"
    assert new.stat().st_mode & 0o777 == 0o666 & ~_umask()
    assert sorted(p.name for p in new.parent.iterdir()) == ["new.yaml"]


def test_a_new_file_never_overwrites_one_that_appeared(tmp_path: Path) -> None:
    a, new = tmp_path / "a.yaml", tmp_path / "new.yaml"
    a.write_text("kind: A\n")
    new.write_text("mine\n")
    changes = [
        Change("a.yaml", a, "kind: A\n", "kind: AA\n"),
        Change("new.yaml", new, "", "kind: N\n", created=True),
    ]
    with pytest.raises(InputError, match=r"new\.yaml exists already: nothing written"):
        write(changes)
    assert (a.read_text(), new.read_text()) == ("kind: A\n", "mine\n")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.yaml", "new.yaml"]


def _umask() -> int:
    import os

    mask = os.umask(0)
    os.umask(mask)
    return mask
