"""yamlload.load_data keeps parse_all's caps: data that walks deep or wide is refused."""

from __future__ import annotations

from pathlib import Path

import pytest

from deploysafe.yamlload import TooDeep, TooLarge, load_data, read_capped


def test_load_data_reads_plain_data_and_shared_aliases() -> None:
    assert load_data("a: &x [1, {b: 2}]\nc: *x\n") == {"a": [1, {"b": 2}], "c": [1, {"b": 2}]}
    assert load_data("") is None


def test_load_data_refuses_deep_nesting() -> None:
    with pytest.raises(TooDeep, match=r"^nesting deeper than 256 levels \(line 1\)$"):
        load_data("x: " + "[" * 990 + "]" * 990 + "\n")


def test_load_data_refuses_an_alias_bomb() -> None:
    lines = ["a0: &a0 [x, x, x, x, x, x, x, x, x, x]"]
    lines += [f"a{i}: &a{i} [{', '.join([f'*a{i - 1}'] * 10)}]" for i in range(1, 8)]
    with pytest.raises(TooDeep, match=r"^aliases expand to too many nodes \(an alias bomb\?\)$"):
        load_data("\n".join(lines) + "\n")


def test_read_capped_stops_at_the_cap(tmp_path: Path) -> None:
    path = tmp_path / "k.yaml"
    path.write_text("x" * 101)
    assert read_capped(path, 101) == "x" * 101
    with pytest.raises(TooLarge, match=r"^larger than the 100-byte cap \(max_file_size\)$"):
        read_capped(path, 100)
