"""GitLab `extends:` and `default:` built to blow up: jobs that each inherit a template of
22,000 values. Inherited keys are shared and their positions found through the job's
templates, so the cost is not one copy per inherited value; the values all jobs inherit
are capped, the job that crosses the cap is an input error at its line, and the rest of
the pipeline is still judged. Time limits are safety bounds, not benchmarks."""

from __future__ import annotations

import time
from pathlib import Path

from deploysafe.ci import gitlab
from deploysafe.ci.yamlci import CiDocument
from deploysafe.config import Config
from deploysafe.engine import check_documents

LIMIT_S = 5.0
VARIABLES = 22_000


def pipeline(jobs: int) -> str:
    """`.tpl` holds 22,004 values (itself, its two keys, the script line and the
    variables); each job `jN` extends it and writes one key of its own; `unit` extends
    nothing."""
    out = [".tpl:\n  script:\n    - pytest || true\n  variables:\n"]
    out += [f"    V{i}: x\n" for i in range(VARIABLES)]
    out += [f"j{n}:\n  extends: .tpl\n  stage: test\n" for n in range(jobs)]
    out.append("unit:\n  script:\n    - make check || true\n")
    return "".join(out)


def line_of(text: str, needle: str) -> int:
    return text.splitlines().index(needle) + 1


def test_inheritance_past_the_cap_is_an_error_at_the_job(tmp_path: Path) -> None:
    text = pipeline(24)
    (tmp_path / ".gitlab-ci.yml").write_text(text, encoding="utf-8")
    started = time.monotonic()
    result = gitlab.build(text, ".gitlab-ci.yml", tmp_path / ".gitlab-ci.yml")
    assert time.monotonic() - started < LIMIT_S
    # 22 jobs inherit 22 x 22,004 = 484,088 values; the 23rd would take it to 506,092.
    message = (
        "extends of 'j{}': jobs would inherit more than 500000 values through extends: "
        "and default:; left as written"
    )
    assert [(e.file, e.line, e.message, e.kind) for e in result.errors] == [
        (".gitlab-ci.yml", line_of(text, f"j{n}:"), message.format(n), "input") for n in (22, 23)
    ]
    (doc,) = [d for d in result.documents if isinstance(d, CiDocument)]
    jobs = gitlab.pipeline_of(doc).by_name
    assert jobs["j21"].data["variables"]["V21999"] == "x"
    assert "variables" not in jobs["j22"].data
    # An inherited key is where the template writes it; the job's own keys are its own.
    assert doc.locate(("j5", "variables", "V100")) == (line_of(text, "    V100: x"), 5)
    assert doc.locate(("j5", "stage")) == (line_of(text, "j5:") + 2, 3)
    report = check_documents([doc], Config())
    assert sorted({(f.rule_id, f.line) for f in report.findings}) == [
        ("DS604", line_of(text, "    - pytest || true")),
        ("DS604", line_of(text, "    - make check || true")),
    ]


def test_default_counts_towards_the_cap_and_points_at_default(tmp_path: Path) -> None:
    text = (
        "default:\n  image: python:3.12\n  before_script:\n    - pytest || true\n"
        "unit:\n  script: [make]\n"
        "lint:\n  image: ruff:0.6\n  script: [ruff check]\n"
    )
    result = gitlab.build(text, ".gitlab-ci.yml", tmp_path / ".gitlab-ci.yml")
    assert result.errors == []
    (doc,) = [d for d in result.documents if isinstance(d, CiDocument)]
    jobs = gitlab.pipeline_of(doc).by_name
    assert jobs["unit"].data["image"] == "python:3.12"
    assert jobs["lint"].data["image"] == "ruff:0.6"
    assert doc.locate(("unit", "image")) == (2, 3)
    assert doc.locate(("unit", "before_script", 0)) == (4, 7)
    assert doc.locate(("lint", "image")) == (8, 3)
    report = check_documents([doc], Config())
    assert sorted({(f.rule_id, f.line) for f in report.findings}) == [("DS604", 4)]
