"""GitLab `!reference` tags built to blow up: nesting past GitLab's ten levels, doubling
that expands to millions of lines, loops, and thousands of references. Each is an input
error naming the file and line; the rest of the pipeline is still built and judged.
Time limits are safety bounds against blow-ups, not benchmarks."""

from __future__ import annotations

import time
from pathlib import Path

from deploysafe.ci import gitlab
from deploysafe.ci.yamlci import CiDocument
from deploysafe.config import Config
from deploysafe.engine import check_documents
from tests.support.scantools import scan_tree

# CPU seconds, not wall time: the bound tells linear from quadratic work, and a loaded
# machine stretches wall time but not the CPU a process uses.
LIMIT_S = 5.0


def build(tmp_path: Path, text: str) -> tuple[list[CiDocument], list[tuple[str, int | None, str]]]:
    root = tmp_path / ".gitlab-ci.yml"
    root.write_text(text, encoding="utf-8")
    result = gitlab.build(text, ".gitlab-ci.yml", root)
    docs = [d for d in result.documents if isinstance(d, CiDocument)]
    return docs, [(e.file, e.line, e.message) for e in result.errors]


def doubling(levels: int, width: int = 2) -> str:
    """`.a0` holds one line; each `.aN` lists `.a(N-1)` `width` times: `width**levels`
    lines once expanded. Two lines per level and reference."""
    out = [".a0:\n  s: [echo]\n"]
    for n in range(1, levels):
        refs = "".join(f"    - !reference [.a{n - 1}, s]\n" for _ in range(width))
        out.append(f".a{n}:\n  s:\n{refs}")
    out.append(f"unit:\n  script:\n    - !reference [.a{levels - 1}, s]\n    - pytest || true\n")
    return "".join(out)


def line_of(text: str, needle: str) -> int:
    return text.splitlines().index(needle) + 1


def test_ten_levels_of_references_resolve(tmp_path: Path) -> None:
    docs, errors = build(tmp_path, doubling(10))
    assert errors == []
    script = [line for _, line in gitlab.pipeline_of(docs[0]).by_name["unit"].script_lines()]
    assert script == ["echo"] * 2**9 + ["pytest || true"]


def test_references_nested_past_ten_levels_are_an_error(tmp_path: Path) -> None:
    text = doubling(20)  # 2**19 lines if expanded; GitLab refuses past ten levels
    started = time.process_time()
    docs, errors = build(tmp_path, text)
    assert time.process_time() - started < LIMIT_S
    # The references eleven deep are reported; those above them stay as written, unreported.
    first = line_of(text, ".a11:") + 2
    message = (
        "!reference [.a10, s]: references nested deeper than 10 levels (GitLab's limit); "
        "left unresolved"
    )
    assert errors == [(".gitlab-ci.yml", first, message), (".gitlab-ci.yml", first + 1, message)]
    # The rest of the job is still judged: its `|| true` test step.
    report = check_documents(docs, Config())
    assert [(f.rule_id, f.line) for f in report.findings] == [
        ("DS604", line_of(text, "    - pytest || true"))
    ]


def test_expansion_past_the_cap_is_an_error(tmp_path: Path) -> None:
    # Within ten levels, but 8**9 (134 million) lines once expanded.
    text = doubling(10, width=8)
    started = time.process_time()
    docs, errors = build(tmp_path, text)
    assert time.process_time() - started < LIMIT_S
    # Levels resolve in order, each copying its references' values: 2 values for each
    # of `.a1`'s eight, 17, 137, 1,097, 8,777, 70,217 for `.a6`'s; with the first of
    # those the count is 150,457, with the second 220,674.
    assert errors == [
        (
            ".gitlab-ci.yml",
            line_of(text, ".a6:") + 3,
            "!reference [.a5, s]: references expand to more than 200000 values; "
            "this and the references after it are left unresolved",
        )
    ]
    report = check_documents(docs, Config())
    assert [(f.rule_id, f.line) for f in report.findings] == [
        ("DS604", line_of(text, "    - pytest || true"))
    ]


def test_thousands_of_references_resolve_in_linear_time(tmp_path: Path) -> None:
    n = 10_000
    text = ".base:\n  script: [pytest || true]\n" + "".join(
        f"j{i}:\n  script: !reference [.base, script]\n" for i in range(n)
    )
    started = time.process_time()
    docs, errors = build(tmp_path, text)
    assert time.process_time() - started < LIMIT_S
    assert errors == []
    jobs = gitlab.pipeline_of(docs[0]).by_name
    assert all(jobs[f"j{i}"].data["script"] == ["pytest || true"] for i in range(n))


def test_a_loop_of_references_is_an_error(tmp_path: Path) -> None:
    text = (
        ".a:\n  s:\n    - !reference [.b, s]\n"
        ".b:\n  s:\n    - !reference [.a, s]\n"
        "unit:\n  script:\n    - pytest || true\n"
    )
    docs, errors = build(tmp_path, text)
    assert errors == [
        (".gitlab-ci.yml", 3, "!reference [.b, s]: a loop of references; left unresolved"),
        (".gitlab-ci.yml", 6, "!reference [.a, s]: a loop of references; left unresolved"),
    ]
    report = check_documents(docs, Config())
    assert [(f.rule_id, f.line) for f in report.findings] == [("DS604", 9)]


def test_a_reference_bomb_is_one_input_error_in_a_scan(tmp_path: Path) -> None:
    (tmp_path / ".gitlab-ci.yml").write_text(doubling(20), encoding="utf-8")
    report = scan_tree(tmp_path)
    assert {(e.file, e.kind) for e in report.errors} == {(".gitlab-ci.yml", "input")}
    assert [f.rule_id for f in report.findings] == ["DS604"]
