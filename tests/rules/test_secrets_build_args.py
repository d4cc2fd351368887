"""DS324: build secrets passed as build arguments in CI files and scripts.

Each file is written from rows (text, reported?), so the expected lines sit beside the text
they are about. Literal secrets are made up at run time (tests/secretgen.py)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from deploysafe.cli.exits import EXIT_FINDINGS
from deploysafe.model import redact
from deploysafe.rules.secrets.build_arg import flags, reads_files
from tests.support.policy import load as load_policy
from tests.support.scantools import invoke, scan_tree
from tests.support.secretgen import expand, fake_github_token

PW = expand("{an:6}-{an:9}", seed=31)  # a generic password
KEY = expand("{an:12}{dig:4}", seed=32)  # a generic API key
URL_PW = expand("{an:7}{dig:3}", seed=33)
GH = fake_github_token(seed=34)
SECRETS = [PW, KEY, URL_PW, GH]

Row = tuple[str, bool]  # (line, whether DS324 reports it)

WORKFLOW: list[Row] = [
    ("on: push", False),
    ("permissions: {contents: read}", False),
    ("jobs:", False),
    ("  image:", False),
    ("    runs-on: ubuntu-latest", False),
    ("    steps:", False),
    ("      - run: docker build --build-arg NPM_TOKEN=${{ secrets.NPM_TOKEN }} -t web .", True),
    ("      - run: |", False),
    ("          # docker build --build-arg NPM_TOKEN=$NPM_TOKEN .", False),
    ("          docker buildx build \\", False),
    ('            --build-arg "GITHUB_TOKEN=${{ github.token }}" \\', True),
    ("            --build-arg VERSION=${{ github.sha }} \\", False),
    (
        "            --build-arg=PIP_INDEX_URL=https://__token__:${{ secrets.PYPI }}@pypi.shop \\",
        True,
    ),
    ("            --build-arg NPM_TOKEN \\", True),
    ("            --build-arg CONFIG=${{ secrets.APP_CONFIG }} \\", True),
    ("            --build-arg NODE_AUTH_TOKEN= \\", False),
    ("            --build-arg DB_PASSWORD=placeholder \\", False),
    ("            --secret id=npm,env=NPM_TOKEN .", False),
    ('      - run: "podman build --build-arg \\"SENTRY_AUTH_TOKEN=$SENTRY\\" ."', True),
    ("      - uses: docker/build-push-action@v6", False),
    ("        with:", False),
    ("          push: true", False),
    ("          build-args: |", False),
    ("            VERSION=${{ github.sha }}", False),
    ("            NPM_TOKEN=${{ secrets.NPM_TOKEN }}", True),
    ("", False),
    (f"            DB_PASSWORD={PW}", True),
    ("          secrets: |", False),
    ("            npm=${{ secrets.NPM_TOKEN }}", False),
    ("      - uses: docker/build-push-action@v6", False),
    ("        with:", False),
    ('          build-args: "SENTRY_AUTH_TOKEN=${{ secrets.SENTRY }}"', True),
    ("      - uses: redhat-actions/buildah-build@v2", False),
    ("        with:", False),
    ("          build-args:", False),
    ("            - BUILDKIT_INLINE_CACHE=1", False),
    ("            - REGISTRY_PASSWORD=${{ secrets.REGISTRY }}", True),
]

GITLAB: list[Row] = [
    ("build:", False),
    ("  image: docker:27", False),
    ("  script:", False),
    ("    - docker build --build-arg NPM_TOKEN=$NPM_TOKEN -t $CI_REGISTRY_IMAGE .", True),
    ("    - /kaniko/executor --context $CI_PROJECT_DIR", False),
    ('      --build-arg "CI_JOB_TOKEN=${CI_JOB_TOKEN}"', True),
    ("      --build-arg GIT_SHA=$CI_COMMIT_SHA", False),
    ("      --destination $CI_REGISTRY_IMAGE", False),
    ("    - docker build --build-arg AUTH=$CI_REGISTRY_PASSWORD .", True),
    ("    - docker build --build-arg NPM_TOKEN=dummy .", False),
]

SCRIPT: list[Row] = [
    ("#!/bin/sh", False),
    ('podman build --build-arg DB_PASSWORD="$DB_PASSWORD" -t shop .', True),
    (f"buildah bud --build-arg API_KEY={KEY} -t shop .", True),
    (f"docker build --build-arg REPO=https://ci:{URL_PW}@git.shop.internal/app.git .", True),
    (f"docker build --build-arg SOURCE_REF={GH} .", True),
    ("docker build --build-arg A=1 .  # --build-arg NPM_TOKEN=$NPM_TOKEN", False),
    ("buildctl build --opt build-arg:NPM_TOKEN=$NPM_TOKEN --frontend dockerfile.v0", True),
]

MAKEFILE: list[Row] = [
    ("image:", False),
    ("\tdocker build --build-arg NPM_TOKEN=$(NPM_TOKEN) -t web .", True),
]

JENKINSFILE: list[Row] = [
    ('node { sh "docker build --build-arg NPM_TOKEN=${NPM_TOKEN} ." }', True),
]

# Read by other rules, not by this one: prose and source code quote commands.
NOT_READ = {
    "docs/build.md": "Run `docker build --build-arg NPM_TOKEN=$NPM_TOKEN .`\n",
    "tools/build.py": 'run(["docker", "build", "--build-arg NPM_TOKEN=$NPM_TOKEN", "."])\n',
}

FILES = {
    ".github/workflows/image.yml": WORKFLOW,
    ".gitlab-ci.yml": GITLAB,
    "scripts/build.sh": SCRIPT,
    "Makefile": MAKEFILE,
    "Jenkinsfile": JENKINSFILE,
}


def text(rows: list[Row]) -> str:
    return "".join(f"{line}\n" for line, _ in rows)


def expected(name: str, rows: list[Row]) -> list[tuple[str, int]]:
    return [(name, n) for n, (_, reported) in enumerate(rows, 1) if reported]


def tree(root: Path) -> None:
    for name, content in [*((n, text(r)) for n, r in FILES.items()), *NOT_READ.items()]:
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(content, encoding="utf-8")


def ds323(root: Path) -> list[tuple[str, int]]:
    return sorted((f.file, f.line) for f in scan_tree(root).findings if f.rule_id == "DS324")


def test_build_args_in_ci_files_and_scripts(tmp_path: Path) -> None:
    tree(tmp_path)
    assert ds323(tmp_path) == sorted(
        x for name, rows in FILES.items() for x in expected(name, rows)
    )


def test_messages_columns_and_secrets(tmp_path: Path) -> None:
    tree(tmp_path)
    found = {(f.file, f.line): f for f in scan_tree(tmp_path).findings if f.rule_id == "DS324"}
    first = found[(".github/workflows/image.yml", 7)]
    assert (first.column, first.secret_hash) == (27, None)
    assert first.message == (
        "--build-arg NPM_TOKEN is set from a secret, which the image's history and "
        "provenance record; pass it with --secret id=…,env=NPM_TOKEN"
    )
    entry = found[(".github/workflows/image.yml", 27)]
    assert entry.column == 13
    assert entry.message == (
        "build-args entry DB_PASSWORD holds a literal credential, which the image's history "
        f"and provenance record; move it to the `secrets:` input: {redact(PW)}"
    )
    script = "scripts/build.sh"
    assert found[(script, 2)].message.startswith("--build-arg DB_PASSWORD is set from a secret")
    assert found[(script, 3)].redacted == redact(KEY)
    assert found[(script, 4)].redacted == redact(URL_PW)  # the password, not the whole URL
    assert found[(script, 5)].message.startswith(
        "--build-arg SOURCE_REF holds a GitHub personal access token"
    )
    assert found[(".github/workflows/image.yml", 14)].message.startswith(
        "--build-arg NPM_TOKEN takes a secret from the environment"
    )
    assert found[(".github/workflows/image.yml", 13)].message.startswith(
        "--build-arg PIP_INDEX_URL holds a URL with credentials"
    )
    for f in found.values():
        assert not any(s in f.message or s in f.snippet for s in SECRETS)


@pytest.mark.parametrize("fmt", ["text", "json", "sarif"])
def test_no_output_prints_a_build_arg_secret(tmp_path: Path, fmt: str) -> None:
    tree(tmp_path)
    out = tmp_path / f"report.{fmt}"
    result = invoke("scan", str(tmp_path), "--format", fmt, "--output", str(out))
    assert result.exit_code == EXIT_FINDINGS
    printed = result.output + out.read_text(encoding="utf-8")
    for secret in SECRETS:
        assert secret not in printed, f"{secret[:3]}… printed in full"
    assert f"({len(PW)} chars)" in printed


def test_findings_without_a_secret_have_their_own_fingerprints(tmp_path: Path) -> None:
    tree(tmp_path)
    baseline = tmp_path / "baseline.json"
    invoke("scan", str(tmp_path), "--write-baseline", str(baseline))
    assert invoke("scan", str(tmp_path), "--baseline", str(baseline)).exit_code == 0
    # Lines move: still accepted. A new secret build argument: reported.
    script = tmp_path / "scripts" / "build.sh"
    old = script.read_text(encoding="utf-8")
    script.write_text("set -eu\n" + old, encoding="utf-8")
    assert invoke("scan", str(tmp_path), "--baseline", str(baseline)).exit_code == 0
    script.write_text(old + "docker build --build-arg SSH_PRIVATE_KEY=$KEY .\n", "utf-8")
    result = invoke("scan", str(tmp_path), "--baseline", str(baseline), "--format", "json")
    assert result.exit_code == EXIT_FINDINGS
    rows = [(f["rule_id"], f["line"]) for f in json.loads(result.output)["findings"]]
    assert ("DS324", len(SCRIPT) + 1) in rows


def test_policy_exclusion_applies(tmp_path: Path) -> None:
    tree(tmp_path)
    (tmp_path / "deploysafe.yaml").write_text(
        "secrets:\n  exclude: ['.github/*', '.gitlab-ci.yml', scripts, Makefile, Jenkinsfile]\n",
        encoding="utf-8",
    )
    cfg = load_policy(tmp_path / "deploysafe.yaml")
    assert [f for f in scan_tree(tmp_path, cfg).findings if f.rule_id == "DS324"] == []


@pytest.mark.parametrize(
    ("line", "name", "value"),
    [
        ("docker build --build-arg A=${{ secrets.X }} .", "A", "${{ secrets.X }}"),
        ("docker build --build-arg A=$(cat /run/a b) .", "A", "$(cat /run/a b)"),
        ("docker build --build-arg A=\"x y\"'z' .", "A", "x yz"),
        ('docker build --build-arg "A=x y" .', "A", "x y"),
        ("docker build --build-arg 'A=x' .", "A", "x"),
        ('run: "docker build --build-arg \\"A=x y\\" ."', "A", "x y"),
        ("docker build --build-arg=A=${B:-c d};", "A", "${B:-c d}"),
        ("docker build --build-arg A .", "A", None),
        ("docker build --build-arg A= .", "A", ""),
        ("buildctl build --opt build-arg:A=b", "A", "b"),
    ],
)
def test_build_arg_values_are_read_as_the_shell_does(
    line: str, name: str, value: str | None
) -> None:
    assert [(a.name, a.value) for a in flags(line)] == [(name, value)]


def test_flags_skip_comments_and_join_continuations() -> None:
    assert list(flags("# docker build --build-arg A=b\n")) == []
    assert list(flags("echo hi # --build-arg A=b\n")) == []
    joined = list(flags("docker build \\\n  --build-arg \\\n  A=b .\n"))
    assert [(a.name, a.value, a.offset) for a in joined] == [("A", "b", 17)]


@pytest.mark.parametrize(
    ("path", "read"),
    [
        (".github/workflows/ci.yml", True),
        (".gitlab-ci.yml", True),
        ("ci/build.sh", True),
        ("Makefile", True),
        ("Jenkinsfile", True),
        ("justfile", True),
        ("package.json", True),
        ("README.md", False),
        ("src/build.py", False),
    ],
)
def test_which_files_are_read(path: str, read: bool) -> None:
    assert reads_files(path) is read


def test_the_text_analysis_tells_whether_a_text_may_hold_a_build_argument() -> None:
    """DS324 reads a text only when its analysis found `build-arg` (in any case) in it."""
    from deploysafe.secrets.detect import analyse

    assert "build-arg" in analyse("docker build --build-arg X=1 .", "b.sh").present
    assert "build-arg" in analyse("podman build --Build-Arg X .", "b.sh").present
    assert "build-arg" not in analyse("docker build --secret id=x .", "b.sh").present
