"""A worker process holds no more after many chunks than after one: it receives the scan's
settings anew with every chunk (pickled), and nothing it keeps may be keyed by their
identity without a bound."""

from __future__ import annotations

import gc
import importlib
import multiprocessing
import pickle
from pathlib import Path

import pytest

from deploysafe.config import Config
from deploysafe.engine import pool, scan
from deploysafe.engine.namespaces import NamespacePolicy
from deploysafe.engine.pool import _chunk_worker
from deploysafe.engine.settings import settings_for
from deploysafe.model import LATEST, Level
from deploysafe.secrets import detect
from tests.support.scantools import jobs_of

# The module (the package's `scan` is the function).
scan_module = importlib.import_module("deploysafe.engine.scan")


POD = (
    "apiVersion: v1\nkind: Pod\nmetadata:\n  name: p\n  namespace: shop\nspec:\n"
    "  containers:\n    - name: c\n      image: r.example/c:1\n"
    "      securityContext:\n        privileged: true\n"
)
SECRET = "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: c\ndata:\n  password: {value}\n"


def test_settings_received_with_every_chunk_are_not_kept(tmp_path: Path) -> None:
    (tmp_path / "c.yaml").write_text(SECRET.format(value="x" + "Qz7" * 6))
    config = Config()
    jobs = jobs_of(tmp_path, config)
    s = settings_for(config, {})
    for _ in range(40):
        _chunk_worker(pickle.loads(pickle.dumps(s)), jobs)  # as a worker receives them
    assert 0 < len(detect._Index.built) <= detect._Index._KEEP


def test_workers_started_for_a_check_leave_the_callers_collector_as_it_was(
    tmp_path: Path,
) -> None:
    for i in range(60):  # large enough for worker processes, started by the check itself
        (tmp_path / f"c{i}.yaml").write_text(SECRET.format(value="v") + "#" * 40_000 + "\n")
    config = Config()
    jobs = jobs_of(tmp_path, config)
    assert gc.get_freeze_count() == 0
    frozen: list[int] = []
    partial, _ = pool.check_files(
        jobs, settings_for(config, {}), 2, lambda _: frozen.append(gc.get_freeze_count())
    )
    assert partial.files == 60
    assert frozen and min(frozen) > 0  # frozen while the workers ran
    assert gc.get_freeze_count() == 0  # and thawed after


def test_a_worker_unpickles_the_scans_settings_once(tmp_path: Path) -> None:
    (tmp_path / "pod.yaml").write_text(POD)
    config = Config()
    jobs = jobs_of(tmp_path, config)
    s = settings_for(config, {"shop": NamespacePolicy(Level.RESTRICTED, LATEST)})
    settings = pickle.dumps(s)
    first = pool._check_chunk(7, settings, False, jobs)
    received = pool._received[0][1]
    assert "shop" in received.namespaces
    second = pool._check_chunk(7, settings, False, jobs)
    assert pool._received[0][1] is received  # the same scan: not unpickled again
    assert first.rows() == second.rows() != []
    pool._check_chunk(8, settings, False, jobs)
    assert pool._received[0][1] is not received  # another scan's


def test_workers_are_forked_while_the_tree_is_found_and_gone_when_the_scan_ends(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    before = set(multiprocessing.active_children())
    workers = pool.Workers.start(2)
    assert workers is not None
    started = set(multiprocessing.active_children()) - before
    assert len(started) == 2  # forked at once, before any chunk exists
    workers.close()
    assert not any(p.is_alive() for p in started)
    for i in range(60):  # large enough in bytes that the scan uses its workers
        (tmp_path / f"p{i}.yaml").write_text(POD + "#" * 40_000 + "\n")
    started_at: list[int] = []
    start = pool.Workers.start

    def counting(jobs: int | None) -> pool.Workers | None:
        started_at.append(len(list(tmp_path.iterdir())))
        return start(jobs)

    monkeypatch.setattr(scan_module, "_LARGE_TREE", 10)  # a tree of 60 files is "large"
    monkeypatch.setattr(pool.Workers, "start", staticmethod(counting))
    report = scan([tmp_path], Config(), root=tmp_path, jobs=2)
    assert len(report.findings) >= 60 and started_at == [60]
    assert set(multiprocessing.active_children()) <= before
    monkeypatch.setattr(scan_module, "_LARGE_TREE", 1000)
    scan([tmp_path], Config(), root=tmp_path, jobs=2)
    assert started_at == [60]  # smaller than that: no processes forked early
