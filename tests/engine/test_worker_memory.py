"""A worker process holds no more after many chunks than after one: it receives the scan's
settings anew with every chunk (pickled), and nothing it keeps may be keyed by their
identity without a bound."""

from __future__ import annotations

import gc
import pickle
from pathlib import Path

from deploysafe.config import Config
from deploysafe.engine import coverage, pool, scan
from deploysafe.engine.namespaces import NamespacePolicy
from deploysafe.engine.pool import _chunk_worker
from deploysafe.engine.settings import settings_for
from deploysafe.inputs.discover import discover
from deploysafe.model import LATEST, Level
from deploysafe.secrets import detect

POD = (
    "apiVersion: v1\nkind: Pod\nmetadata:\n  name: p\n  namespace: shop\nspec:\n"
    "  containers:\n    - name: c\n      image: r.example/c:1\n"
    "      securityContext:\n        privileged: true\n"
)
SECRET = "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: c\ndata:\n  password: {value}\n"


def test_settings_received_with_every_chunk_are_not_kept(tmp_path: Path) -> None:
    (tmp_path / "c.yaml").write_text(SECRET.format(value="x" + "Qz7" * 6))
    config = Config()
    inventory = discover([tmp_path], tmp_path, config.exclude)
    jobs = coverage.plan(inventory, charts=False, kustomize=None).jobs
    s = settings_for(config, {})
    for _ in range(40):
        _chunk_worker(pickle.loads(pickle.dumps(s)), jobs)  # as a worker receives them
    assert 0 < len(detect._Index.built) <= detect._Index._KEEP


def test_a_parallel_scan_leaves_the_callers_collector_as_it_found_it(tmp_path: Path) -> None:
    for i in range(60):  # large enough that the scan uses worker processes
        (tmp_path / f"c{i}.yaml").write_text(SECRET.format(value="v") + "#" * 40_000 + "\n")
    assert gc.get_freeze_count() == 0
    report = scan([tmp_path], Config(), root=tmp_path, jobs=2)
    assert report.files == 60
    assert gc.get_freeze_count() == 0  # frozen while the workers ran, thawed after


def test_a_worker_receives_its_settings_once_and_each_chunk_only_the_namespaces(
    tmp_path: Path,
) -> None:
    (tmp_path / "pod.yaml").write_text(POD)
    config = Config()
    inventory = discover([tmp_path], tmp_path, config.exclude)
    jobs = coverage.plan(inventory, charts=False, kustomize=None).jobs
    s = settings_for(config, {})
    pool._receive(pickle.loads(pickle.dumps(s)))
    defined = {"shop": NamespacePolicy(Level.RESTRICTED, LATEST)}
    first = pool._check_chunk(defined, jobs)
    known = pool._received[0]
    assert "shop" in known.namespaces and "shop" not in s.namespaces
    second = pool._check_chunk(pickle.loads(pickle.dumps(defined)), jobs)
    assert pool._received[0] is known  # the same namespaces: the settings kept as they were
    assert first.findings == second.findings != []
