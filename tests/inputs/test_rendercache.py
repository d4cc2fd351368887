"""The render cache's folder, keys and entries, read back as a later scan reads them."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from deploysafe.inputs.rendercache import Key, RenderCache, default_folder


def as_dict(value: Any) -> dict[str, Any] | None:
    return value if isinstance(value, dict) else None


def test_the_folder_is_the_variable_else_xdg_else_home() -> None:
    assert default_folder({"DEPLOYSAFE_CACHE_DIR": "/c", "XDG_CACHE_HOME": "/x"}) == Path("/c")
    assert default_folder({"DEPLOYSAFE_CACHE_DIR": "", "HOME": "/h"}) is None
    assert default_folder({"XDG_CACHE_HOME": "/x", "HOME": "/h"}) == Path("/x/deploysafe/renders")
    # A relative XDG_CACHE_HOME is invalid by the spec: ignored.
    assert default_folder({"XDG_CACHE_HOME": "x", "HOME": "/h"}) == Path(
        "/h/.cache/deploysafe/renders"
    )
    assert default_folder({}) is None
    # In CI only a folder named on purpose: a restored CI cache may hold a poisoned entry.
    assert default_folder({"CI": "true", "HOME": "/h"}) is None
    assert default_folder({"CI": "false", "HOME": "/h"}) == Path("/h/.cache/deploysafe/renders")
    assert default_folder({"CI": "true", "DEPLOYSAFE_CACHE_DIR": "/c"}) == Path("/c")


def digest(*parts: str) -> str:
    key = Key("test")
    key.add(*parts)
    return key.hexdigest()


def test_keys_tell_apart_how_parts_are_split_and_what_files_hold(tmp_path: Path) -> None:
    assert digest("ab", "c") != digest("a", "bc")
    assert digest("a") == digest("a")
    chart = tmp_path / "chart"
    (chart / "templates").mkdir(parents=True)
    (chart / "templates" / "a.yaml").write_text("a: 1\n")

    def tree() -> str:
        key = Key("test")
        key.tree("chart", chart)
        return key.hexdigest()

    before = tree()
    assert tree() == before
    (chart / "templates" / "a.yaml").write_text("a: 2\n")
    changed = tree()
    assert changed != before
    (chart / "templates" / "b.yaml").write_text("")  # an empty file is a file too
    assert tree() != changed
    (chart / "templates" / "b.yaml").unlink()
    assert tree() == changed
    (chart / "templates" / "a.yaml").rename(chart / "a.yaml")  # moved: another render
    assert tree() != changed


def test_entries_round_trip_and_anything_else_is_a_miss(tmp_path: Path) -> None:
    cache = RenderCache(tmp_path / "c")
    key = digest("one")
    assert cache.get(key, as_dict) is None
    cache.put(key, {"out": "text"})
    assert cache.get(key, as_dict) == {"out": "text"}
    entry = tmp_path / "c" / key[:2] / f"{key}.json"
    assert json.loads(entry.read_text()) == {"format": 1, "key": key, "value": {"out": "text"}}
    assert [p.name for p in entry.parent.iterdir()] == [entry.name]  # no temporary left
    # The entry of another key, copied under this one's name.
    other = digest("two")
    cache.put(other, {"out": "other"})
    entry.write_bytes((tmp_path / "c" / other[:2] / f"{other}.json").read_bytes())
    assert cache.get(key, as_dict) is None
    entry.write_text('{"format": 0, "key": "' + key + '", "value": {"out": "text"}}')
    assert cache.get(key, as_dict) is None
    entry.write_text("[" * 100_000)
    assert cache.get(key, as_dict) is None
    entry.write_text('{"format": 1, "key": "' + key + '", "value": ["a list"]}')
    assert cache.get(key, as_dict) is None
    assert (cache.hits, cache.misses, cache.written) == (1, 5, 2)
    assert (
        cache.note()
        == "render cache: 1 render(s) reused, 5 rendered (--no-cache renders everything)"
    )


def test_a_folder_that_cannot_be_written_is_only_slower(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("")
    cache = RenderCache(blocker / "c")
    cache.put(digest("one"), {"out": "text"})
    assert cache.get(digest("one"), as_dict) is None
    assert cache.written == 0


def test_prune_keeps_the_most_recently_used(tmp_path: Path) -> None:
    cache = RenderCache(tmp_path / "c")
    keys = [digest(str(i)) for i in range(5)]
    for i, key in enumerate(keys):
        cache.put(key, {"n": i})
        path = tmp_path / "c" / key[:2] / f"{key}.json"
        os.utime(path, (1_000_000 + i, 1_000_000 + i))
    assert cache.get(keys[0], as_dict) == {"n": 0}  # used: now the newest
    cache.prune(keep=2)
    assert [k for k in keys if cache.get(k, as_dict) is not None] == [keys[0], keys[4]]
