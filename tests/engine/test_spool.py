"""A scan's findings are kept on disk, not in the parent's memory, and its report reads
them back in print order: the same report, byte for byte, whether it is held in memory or
on disk."""

from __future__ import annotations

import pickle
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path

import pytest

from deploysafe.config import Config
from deploysafe.engine import pool, scan, spool
from deploysafe.engine.check import Partial, RuleFacts
from deploysafe.engine.interned import Interned, Row, fact_row, finding
from deploysafe.engine.pool import check_files
from deploysafe.engine.read import Job
from deploysafe.engine.report import Report, finish
from deploysafe.engine.scan import RenderOptions
from deploysafe.engine.settings import Settings, settings_for
from deploysafe.engine.suppress import Waiver
from deploysafe.formats import jsonfmt, sarif, text
from deploysafe.formats.summary import summarize
from deploysafe.model import Fact, Finding, Practice, Resource, Severity
from tests.support.scantools import jobs_of

POD = """\
apiVersion: v1
kind: Pod
metadata:
  name: app{n}
  namespace: shop
spec:
  containers:
  - name: app
    image: registry.example/app:latest
    securityContext:
      privileged: true
      allowPrivilegeEscalation: true
"""


def tree(root: Path, files: int, *, padding: int = 0) -> Path:
    for i in range(files):
        pods = "---\n".join(POD.format(n=k) for k in range(3))
        (root / f"team{i % 3}").mkdir(exist_ok=True)
        (root / f"team{i % 3}" / f"p{i:02}.yaml").write_text(pods + "#" * padding + "\n")
    return root


def report_of(root: Path, jobs: int) -> Report:
    return scan([root], Config(), root=root, render=RenderOptions(enabled=False), jobs=jobs)


@pytest.mark.parametrize(("jobs", "hold"), [(1, 0), (2, 0), (2, spool.HOLD), (2, 40)])
def test_a_report_on_disk_is_the_report_held_in_memory(
    tmp_path: Path, jobs: int, hold: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Large enough files that two jobs use worker processes.
    root = tree(tmp_path, 24, padding=120_000 if jobs == 2 else 0)
    held = report_of(root, jobs)
    assert isinstance(held.findings, tuple) and len(held.findings) > 100
    monkeypatch.setattr(spool, "SPILL", 7)
    # The spool's blocks written, held, or held until they pass 40 findings and facts.
    monkeypatch.setattr(spool, "HOLD", hold)
    on_disk = report_of(root, jobs)
    assert isinstance(on_disk.findings, spool.Spooled)
    assert on_disk == held
    assert list(on_disk.findings) == list(held.findings)
    assert "".join(jsonfmt.chunks(on_disk)) == "".join(jsonfmt.chunks(held))
    assert "".join(sarif.chunks(on_disk)) == "".join(sarif.chunks(held))
    assert on_disk.failing_count() == len(held.failing) > 0


@pytest.mark.parametrize("fail_on", [Severity.MEDIUM, Severity.CRITICAL])
def test_a_report_on_disk_adds_up_as_it_was_written(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, fail_on: Severity
) -> None:
    # Findings of every severity, some suppressed where they are written: the summary and
    # the exit code of a report on disk (added up as it was written) are those of a pass.
    root = tree(tmp_path, 6)
    (root / "team0" / "p00.yaml").write_text(
        POD.format(n="x").replace(
            "privileged: true", "privileged: true  # deploysafe: ignore[DS201] GPU node"
        )
    )
    held = scan([root], Config(fail_on=fail_on), root=root, render=RenderOptions(enabled=False))
    monkeypatch.setattr(spool, "SPILL", 4)
    on_disk = scan([root], Config(fail_on=fail_on), root=root, render=RenderOptions(enabled=False))
    assert isinstance(on_disk.findings, spool.Spooled)
    assert len({f.severity for f in held.findings}) >= 3
    assert any(f.suppressed is not None for f in held.findings)
    assert summarize(on_disk) == summarize(held)
    assert on_disk.failing_count() == len(held.failing)
    assert text.render(on_disk) == text.render(held)


def test_spooled_findings_are_a_sequence(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    held = report_of(tree(tmp_path, 4), 1).findings
    monkeypatch.setattr(spool, "SPILL", 5)
    found = report_of(tmp_path, 1).findings
    assert isinstance(found, spool.Spooled) and len(found) == len(held) > 10
    assert [found[i] for i in range(len(found))] == list(held)
    assert found[-1] == held[-1] and found[3:9] == held[3:9]
    with pytest.raises(IndexError):
        found[len(found)]
    assert pickle.loads(pickle.dumps(found)) == tuple(held)
    assert repr(found) == f"<{len(held)} findings on disk>"


def test_the_files_findings_never_enter_the_parents_memory(tmp_path: Path) -> None:
    root = tree(tmp_path, 6)
    config = Config()
    jobs = jobs_of(root, config)
    kept = spool.Spool()
    partial, _ = check_files(jobs, settings_for(config, {}), 1, spool=kept)
    assert partial.findings == [] and partial.spooled > 0
    by_file = dict(partial.blocks.by_file())
    assert list(by_file) == sorted(job[1] for job in jobs)
    blocks = {b for bs in by_file.values() for b in bs}
    back: list[Finding] = [f for b in sorted(blocks) for f in kept.findings(b)]
    assert len(back) == partial.spooled


def test_a_spool_holds_a_small_trees_blocks_until_they_pass_its_bound(tmp_path: Path) -> None:
    assert spool.Spool.for_files(spool.HOLD_FILES).holding
    assert not spool.Spool.for_files(spool.HOLD_FILES + 1).holding
    config = Config()
    jobs = jobs_of(tree(tmp_path, 6), config)
    s = settings_for(config, {})
    written = spool.Spool()
    on_disk, _ = check_files(jobs, s, 1, spool=written)
    blocks = sorted({b for _, bs in on_disk.blocks.by_file() for b in bs})
    expected = [f for b in blocks for f in written.findings(b)]
    assert len(expected) == on_disk.spooled > 20
    # Held; held until they pass 20 findings and facts, then written (the held ones first).
    for kept, holding in ((spool.Spool(spool.HOLD), True), (spool.Spool(20), False)):
        partial, _ = check_files(jobs, s, 1, spool=kept)
        assert kept.holding is holding
        assert partial.findings == [] and partial.blocks == on_disk.blocks
        assert [f for b in blocks for f in kept.findings(b)] == expected
        assert [r for b in blocks for r in kept.rows(b)] == [
            r for b in blocks for r in written.rows(b)
        ]


def test_held_facts_are_one_object_where_a_result_repeats_one_as_on_disk() -> None:
    # decide_sets finds each fact's waiver by identity: equal facts of one result are one
    # object (with the last waiver), a fact with a part that is not hashable is its own.
    fact = Fact("a.yaml", 3, 1, "/metadata", Resource("Pod", "shop", "a"), ("sa", "x"))
    row, odd = fact_row(fact), fact_row(replace(fact, data=["not", "hashable"]))
    waiver = Waiver(frozenset({"DS511"}), "lab", None, "inline")
    results: list[list[tuple[Row, Waiver | None]]] = [
        [(row, None), (row, waiver), (odd, None), (odd, None)],
        [(row, None)],
    ]
    read = []
    for kept in (spool.Spool(), spool.Spool(spool.HOLD)):
        for result in results:
            kept.add_facts({"DS511": result})
        got = RuleFacts()
        kept.facts(kept.fact_blocks()["DS511"], got)
        read.append(got.facts)
        assert list(got.waived.values()) == [waiver]
    written, held = read
    assert held == written and len(held) == 5
    assert [[a is b for b in held] for a in held] == [[a is b for b in written] for a in written]
    assert held[0] is held[1] and held[2] is not held[3] and held[4] is not held[0]


def test_decided_findings_come_back_by_file_in_the_order_they_were_decided(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Three rules' findings, each over the whole tree, in batches of three whose files
    # overlap: merged, a file's findings are in the order they were added.
    monkeypatch.setattr(spool.Decided, "_BATCH", 3)
    files = {"DS1": [1, 4, 2, 9, 3], "DS2": [5, 1, 1, 8], "DS3": [2, 4]}
    added = [
        Finding(rid, "t", Practice.DEFAULTS, Severity.LOW, f"f{n}.yaml", i, 1, "/", None, "m", "")
        for rid, ns in files.items()
        for i, n in enumerate(ns)
    ]
    decided = spool.Decided(spool.Spool())
    for f in added:
        decided.add(f)
    back = list(decided.by_file())
    assert [file for file, _ in back] == sorted({f.file for f in added})
    for file, found in back:
        assert found == [f for f in added if f.file == file]


def test_a_finish_without_a_spool_keeps_everything_in_memory() -> None:
    out = spool.Collector(None)
    out.extend([])
    assert out.done() == ()
    assert Partial().spooled == 0


WORKLOAD = """\
apiVersion: apps/v1
kind: Deployment
metadata:
  name: web{n}
{namespace}{annotations}spec:
  template:
    metadata:
      labels: {{app: web{n}}}{comment}
    spec:
      containers:
      - name: web
        image: registry.example/web:1.0
"""


WAIVED = '  annotations: {deploysafe.io/ignore: "DS509: lab"}\n'


def cross_resource_tree(root: Path) -> Path:
    """Files whose findings come mostly from the cross-resource rules (DS509, DS511), some
    waived by an inline comment or an annotation, in folders whose names sort apart."""
    for i in range(30):
        folder = root / f"{'abz'[i % 3]}{i % 4}"
        folder.mkdir(exist_ok=True)
        text = WORKLOAD.format(
            n=i,
            namespace="" if i % 5 == 0 else f"  namespace: team{i % 2}\n",
            annotations='  annotations: {deploysafe.io/ignore: "DS509: lab"}\n'
            if i % 7 == 0
            else "",
            comment="  # deploysafe: ignore[DS509] until the mesh" if i % 6 == 0 else "",
        )
        (folder / f"w{i:02}.yaml").write_text(text)
    return root


def cross_resource_jobs(tmp_path: Path) -> tuple[Config, list[Job], Settings]:
    config = Config()
    return config, jobs_of(cross_resource_tree(tmp_path), config), settings_for(config, {})


def test_cross_resource_findings_read_back_from_disk_are_those_held_in_memory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    config, jobs, s = cross_resource_jobs(tmp_path)
    everything = finish(check_files(jobs, s, 1)[0], s, config, None, ())
    # The baseline holds some findings of every rule, the cross-resource ones too.
    baseline = frozenset(f.fingerprint for f in everything.findings[::3])
    assert {f.rule_id for f in everything.findings[::3]} >= {"DS509", "DS511"}
    in_memory, _ = check_files(jobs, s, 1)
    held = finish(in_memory, s, config, baseline, ())
    assert in_memory.facts == {}  # let go as they are decided
    decided = [f for f in held.findings if f.rule_id in {"DS509", "DS511"}]
    assert len(decided) > 20
    assert {f.suppressed.source for f in decided if f.suppressed} == {
        "baseline",
        "inline",
        "annotation",
    }

    monkeypatch.setattr(spool.Decided, "_BATCH", 4)
    monkeypatch.setattr(spool, "SPILL", 5)
    kept = spool.Spool()
    on_disk_partial, _ = check_files(jobs, s, 1, spool=kept)
    written = spool.Spool.add
    blocks: list[tuple[int, set[str]]] = []

    def add(self: spool.Spool, rows: Sequence[Row]) -> int:
        blocks.append((len(rows), {finding(row, Interned()).rule_id for row in rows}))
        return written(self, rows)

    monkeypatch.setattr(spool.Spool, "add", add)
    on_disk = finish(on_disk_partial, s, config, baseline, (), spool=kept)
    assert isinstance(on_disk.findings, spool.Spooled)
    assert list(on_disk.findings) == list(held.findings)
    # Written as they are decided, four at a time, before the report's blocks of five.
    before_report = blocks[: [n for n, _ in blocks].index(5)]
    assert all(n <= 4 and rules <= {"DS509", "DS511"} for n, rules in before_report)
    assert sum(n for n, _ in before_report) >= len(decided)


@pytest.mark.parametrize("hold", [0, spool.HOLD, 60])
def test_cross_resource_facts_wait_in_the_spool_and_are_decided_as_in_memory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, hold: int
) -> None:
    config, jobs, s = cross_resource_jobs(tmp_path)
    in_memory, _ = check_files(jobs, s, 1)
    expected = {rid: list(facts) for rid, facts in in_memory.facts.items()}
    held = finish(in_memory, s, config, None, ())

    # Results of four files, written three facts at a time: a rule's facts span blocks.
    monkeypatch.setattr(pool, "_CHUNK_FILES", 4)
    monkeypatch.setattr(spool.FactBlocks, "_BATCH", 3)
    # Written; held (built as they come); held until they pass 60 findings and facts.
    kept = spool.Spool(hold)
    on_disk, _ = check_files(jobs, s, 1, spool=kept)
    assert kept.holding is (hold == spool.HOLD)
    assert on_disk.facts == {}
    assert list(on_disk.fact_blocks) == list(expected)  # the rules in the order they came
    assert all(len(blocks) > 1 for blocks in on_disk.fact_blocks.values())
    for rid, blocks in on_disk.fact_blocks.items():
        # In order, each with the waiver that covers it there (inline or annotation).
        got = RuleFacts()
        kept.facts(blocks, got)
        assert [(f, got.waived.get(id(f))) for f in got.facts] == expected[rid]
    assert any(w is not None for facts in expected.values() for _, w in facts)
    decided = finish(on_disk, s, config, None, (), spool=kept)
    assert on_disk.fact_blocks == {}  # let go as they are decided
    assert list(decided.findings) == list(held.findings)
