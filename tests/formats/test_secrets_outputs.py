"""Never print a secret: fake secrets fed through every output format, the baseline file,
error paths and the git-history scan; none may appear in full. Secrets are built at run
time from parts, so no file of the repository holds one."""

from __future__ import annotations

import base64
import json
import os
import subprocess
from pathlib import Path

import pytest

from deploysafe.cli.exits import EXIT_FINDINGS, EXIT_USAGE
from deploysafe.model import redact
from tests.support import scantools
from tests.support.secretgen import expand, fake_aws_key_id, fake_github_token

GH = fake_github_token()
AWS = fake_aws_key_id()
PW = expand("{an:6}-{an:9}", seed=11)  # a generic password
KEY_BODY = expand("{b64:64}\\n{b64:64}\\n{b64:40}", seed=13)
PRIVATE = (
    "-----BEGIN " + "OPENSSH PRIVATE KEY-----\n" + KEY_BODY + "\n-----END OPENSSH PRIVATE KEY-----"
)
SECRETS = [GH, AWS, PW, *KEY_BODY.splitlines()]


def tree(root: Path) -> None:
    (root / "deploy").mkdir(parents=True)
    (root / "deploy" / "ci.env").write_text(f"GH_TOKEN={GH}\nAWS_KEY={AWS}\n", encoding="utf-8")
    (root / "deploy" / "values.yaml").write_text(f"db:\n  password: {PW}\n", encoding="utf-8")
    (root / "deploy" / "id_deploy").write_text(PRIVATE + "\n", encoding="utf-8")
    (root / "deploy" / "Dockerfile").write_text(
        f"FROM alpine:3.20\nENV API_TOKEN={GH}\n", encoding="utf-8"
    )
    (root / "deploy" / "secret.yaml").write_text(
        "apiVersion: v1\nkind: Secret\nmetadata: {name: gh, namespace: ci}\n"
        f"stringData:\n  token: {GH}\n",
        encoding="utf-8",
    )


def invoke(*args: str) -> tuple[int, str]:
    result = scantools.invoke(*args)
    return result.exit_code, result.output


def assert_clean(text: str) -> None:
    for secret in SECRETS:
        assert secret not in text, f"{secret[:4]}… printed in full"


@pytest.mark.parametrize(
    "fmt", ["text", "compact", "json", "sarif", "junit", "html", "gitlab-sast", "github-summary"]
)
def test_no_format_prints_a_secret(tmp_path: Path, fmt: str) -> None:
    tree(tmp_path)
    out = tmp_path / f"report.{fmt}"
    code, printed = invoke(
        "scan", str(tmp_path), "--format", fmt, "--output", str(out), "--show-suppressed"
    )
    assert code == EXIT_FINDINGS
    report = out.read_text(encoding="utf-8")
    assert_clean(printed + report)
    assert "(40 chars)" in report  # the redacted form is what shows


def test_text_report_names_every_finding(tmp_path: Path) -> None:
    tree(tmp_path)
    _code, printed = invoke("scan", str(tmp_path), "--format", "json")
    data = json.loads(printed)
    rows = sorted((f["rule_id"], f["file"], f["line"]) for f in data["findings"])
    assert rows == [
        ("DS301", "deploy/Dockerfile", 2),
        ("DS301", "deploy/ci.env", 1),
        ("DS301", "deploy/ci.env", 2),
        ("DS301", "deploy/id_deploy", 1),
        ("DS302", "deploy/values.yaml", 2),
        ("DS310", "deploy/secret.yaml", 5),
        ("DS320", "deploy/Dockerfile", 2),
        ("DS598", "deploy/Dockerfile", 1),  # no USER: the image runs as root
    ]
    # The token in the Secret manifest is one finding that names both rules.
    secret = next(f for f in data["findings"] if f["rule_id"] == "DS310")
    assert secret["also"] == ["DS301"]
    assert secret["severity"] == "critical"
    assert_clean(printed)


def test_baseline_holds_hashes_only(tmp_path: Path) -> None:
    tree(tmp_path)
    baseline = tmp_path / "baseline.json"
    invoke("scan", str(tmp_path), "--write-baseline", str(baseline))
    text = baseline.read_text(encoding="utf-8")
    assert_clean(text)
    code, printed = invoke("scan", str(tmp_path), "--baseline", str(baseline))
    assert code == 0
    # The baseline survives moving the secret to another line: no line numbers in it.
    env = tmp_path / "deploy" / "ci.env"
    env.write_text("# moved\n" + env.read_text(encoding="utf-8"), encoding="utf-8")
    code, printed = invoke("scan", str(tmp_path), "--baseline", str(baseline))
    assert code == 0, printed


def git(root: Path, *args: str) -> str:
    env = {
        **os.environ,
        "GIT_AUTHOR_NAME": "dev",
        "GIT_AUTHOR_EMAIL": "dev@shop.internal",
        "GIT_COMMITTER_NAME": "dev",
        "GIT_COMMITTER_EMAIL": "dev@shop.internal",
        "GIT_CONFIG_GLOBAL": "/dev/null",
    }
    proc = subprocess.run(
        ["git", "-C", str(root), *args], capture_output=True, text=True, env=env, check=True
    )
    return proc.stdout.strip()


def test_git_history_reports_deleted_secrets_at_their_first_commit(tmp_path: Path) -> None:
    git(tmp_path, "init", "-q", "-b", "main")
    (tmp_path / "app.yaml").write_text("replicas: 2\n", encoding="utf-8")
    git(tmp_path, "add", ".")
    git(tmp_path, "commit", "-q", "-m", "start")
    (tmp_path / "ci.env").write_text(f"GH_TOKEN={GH}\n", encoding="utf-8")
    git(tmp_path, "add", ".")
    git(tmp_path, "commit", "-q", "-m", "add ci settings")
    first = git(tmp_path, "rev-parse", "HEAD")
    (tmp_path / "ci.env").write_text(f"# rotated\nGH_TOKEN={GH}\nLEVEL=2\n", encoding="utf-8")
    git(tmp_path, "commit", "-q", "-am", "edit")
    (tmp_path / "ci.env").unlink()
    git(tmp_path, "commit", "-q", "-am", "remove the token")
    for _ in range(3):
        (tmp_path / "app.yaml").write_text(f"replicas: {_}\n", encoding="utf-8")
        git(tmp_path, "commit", "-q", "-am", "scale")

    code, printed = invoke("scan", str(tmp_path))
    assert code == 0  # the tree is clean now
    out = tmp_path / "history.json"
    code, printed = invoke(
        "scan", str(tmp_path), "--git-history", "--format", "json", "--output", str(out)
    )
    assert code == EXIT_FINDINGS
    data = json.loads(out.read_text(encoding="utf-8"))
    assert [(f["rule_id"], f["file"], f["line"]) for f in data["findings"]] == [
        ("DS301", "ci.env", 1)
    ]
    assert f"introduced in commit {first[:12]}" in data["findings"][0]["message"]
    assert_clean(printed + out.read_text(encoding="utf-8"))
    code, printed = invoke("scan", str(tmp_path), "--git-history")
    assert_clean(printed)
    assert "git history: 7 commit(s)" in printed, printed


def test_git_history_line_with_two_secrets_shows_neither(tmp_path: Path) -> None:
    """Each finding's snippet hides the other secret on its line, in history as in the tree."""
    git(tmp_path, "init", "-q", "-b", "main")
    password = expand("{an:16}", 17)
    (tmp_path / "Dockerfile").write_text(
        f"FROM alpine:3.20\nRUN echo {GH} > /t && curl -u ci:{password} https://x.shop.internal\n",
        encoding="utf-8",
    )
    git(tmp_path, "add", ".")
    git(tmp_path, "commit", "-q", "-m", "build")
    for fmt in ("text", "json"):
        code, printed = invoke("scan", str(tmp_path), "--git-history", "--format", fmt)
        assert code == EXIT_FINDINGS
        assert "curl-basic-auth" in printed and "github-pat" in printed
        assert password not in printed, fmt
        assert_clean(printed)


def test_a_secret_written_in_another_form_is_not_shown(tmp_path: Path) -> None:
    """The value a rule judges is not always the line's text: a YAML escape, a folded scalar
    or a shell escape in the middle of it. The line is not shown then (it still holds most
    of the secret, which no replacement can find)."""
    esc, head, tail, build = (expand("{an:16}", n) for n in (21, 22, 23, 24))
    (tmp_path / "esc.yaml").write_text(
        "apiVersion: v1\nkind: Secret\nmetadata: {name: a, namespace: shop}\nstringData:\n"
        f'  password: "{esc[:4]}\\u{ord(esc[4]):04x}{esc[5:]}"\n',
        encoding="utf-8",
    )
    (tmp_path / "fold.yaml").write_text(
        "apiVersion: v1\nkind: Secret\nmetadata: {name: b, namespace: shop}\nstringData:\n"
        f"  password: {head}\n    {tail}\n",
        encoding="utf-8",
    )
    (tmp_path / "build.sh").write_text(
        f'docker build --build-arg "DB_PASSWORD={build[:6]}\\"{build[6:]}" .\n',
        encoding="utf-8",
    )
    _code, printed = invoke("scan", str(tmp_path), "--no-render")
    found = [ln.split()[2] for ln in printed.splitlines() if " high DS3" in ln]
    assert found.count("DS310") == 2 and "DS324" in found, printed
    for secret in (esc[5:], head, tail, build[6:]):
        assert secret not in printed, secret[:4]
    # A line that holds the secret as it is still shows, redacted.
    assert 'password: "' not in printed and "| password:" not in printed
    assert "| docker build" not in printed


@pytest.mark.parametrize("fmt", ["text", "html"])
def test_a_secret_in_base64_data_is_not_shown_in_either_form(tmp_path: Path, fmt: str) -> None:
    """A Secret's `data:` holds the value base64-encoded, which anyone decodes: the line
    shows it redacted like any other form of the secret, `echo | base64` newline or not."""
    newline = expand("{an:8}-{an:10}", seed=31)
    plain, piped = (base64.b64encode(v.encode()).decode() for v in (PW, newline + "\n"))
    (tmp_path / "secret.yaml").write_text(
        "apiVersion: v1\nkind: Secret\nmetadata: {name: db, namespace: shop}\ndata:\n"
        f"  password: {plain}\n  token: {piped}\n",
        encoding="utf-8",
    )
    code, printed = invoke("scan", str(tmp_path), "--no-render", "--format", fmt)
    assert code == EXIT_FINDINGS
    for shown in (plain, plain.rstrip("="), piped.rstrip("="), PW, newline):
        assert shown not in printed, shown[:4]
    assert f"password: {redact(PW)}" in printed


def test_git_history_outside_a_repository_is_a_usage_error(tmp_path: Path) -> None:
    code, printed = invoke("scan", str(tmp_path), "--git-history")
    assert code == EXIT_USAGE
    assert "not a git repository" in printed


def test_bad_rules_file_is_a_usage_error(tmp_path: Path) -> None:
    rules = tmp_path / "rules.toml"
    rules.write_text("[[rules]]\nid = 'x'\nregex = '(unclosed'\n", encoding="utf-8")
    code, printed = invoke("scan", str(tmp_path), "--secrets-rules", str(rules))
    assert code == EXIT_USAGE
    assert "rule 'x': regex does not compile" in printed
    assert "Traceback" not in printed


def test_binary_and_invalid_utf8_files_are_read_quietly(tmp_path: Path) -> None:
    (tmp_path / "logo.png").write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00" + GH.encode())
    (tmp_path / "legacy.conf").write_bytes(b"name=caf\xe9\nGH_TOKEN=" + GH.encode() + b"\n")
    _code, printed = invoke("scan", str(tmp_path), "--format", "json")
    data = json.loads(printed)
    assert data["errors"] == []
    assert [(f["rule_id"], f["file"], f["line"]) for f in data["findings"]] == [
        ("DS301", "legacy.conf", 2)
    ]
    assert_clean(printed)


def test_unreadable_inputs_do_not_print_secrets(tmp_path: Path) -> None:
    # A YAML syntax error next to a secret, and a template that is not YAML.
    (tmp_path / "broken.yaml").write_text(
        f"apiVersion: v1\nkind: Secret\nstringData:\n  token: {GH}\n  bad: [unclosed\n",
        encoding="utf-8",
    )
    for fmt in ("text", "json", "sarif", "junit"):
        code, printed = invoke("scan", str(tmp_path), "--format", fmt)
        assert code == 4  # an input error, reported with file and line, and the secret
        assert "broken.yaml" in printed
        assert_clean(printed)


def test_a_line_shared_by_several_rules_never_shows_a_secret(tmp_path: Path) -> None:
    # DS302 reads the workflow as text and finds the password; DS102 reads it as a workflow
    # and reports the same line, which its snippet shows: without the password.
    wf = tmp_path / ".github" / "workflows" / "triage.yml"
    wf.parent.mkdir(parents=True)
    wf.write_text(
        "on: issues\npermissions: {}\njobs:\n  triage:\n    runs-on: ubuntu-latest\n"
        f'    steps:\n      - run: PGPASSWORD={PW} psql -c "${{{{ github.event.issue.title }}}}"\n',
        encoding="utf-8",
    )
    _code, printed = invoke("scan", str(tmp_path), "--format", "json")
    data = json.loads(printed)
    assert sorted((f["rule_id"], f["line"]) for f in data["findings"]) == [
        ("DS102", 7),
        ("DS302", 7),
    ]
    _code, printed = invoke("scan", str(tmp_path))
    assert_clean(printed)
    assert printed.count(f"PGPASSWORD={redact(PW)} psql") == 2  # both snippets, redacted


# Written into suppression reasons: each printed wherever a reason is.
IN_REASONS = [fake_github_token(21), expand("Rz{an:10}-{an:5}", seed=23), fake_aws_key_id(25)]


def suppressed_tree(root: Path) -> None:
    inline, annotated, configured = IN_REASONS
    pod = scantools.PRIVILEGED_POD.replace(
        "privileged: true", f"privileged: true  # deploysafe: ignore[DS201] token {inline}"
    ).replace(
        "  namespace: shop\n",
        "  namespace: shop\n  annotations:\n"
        f'    deploysafe.io/ignore: "DS2*: old; DS212: password={annotated}; {annotated}"\n',
    )
    (root / "pod.yaml").write_text(pod, encoding="utf-8")
    (root / "deploysafe.yaml").write_text(
        f"exceptions:\n- {{rule: '*', reason: 'approved with key {configured}'}}\n",
        encoding="utf-8",
    )


@pytest.mark.parametrize("fmt", ["text", "json", "sarif", "junit", "gitlab-sast", "github-summary"])
def test_no_format_prints_a_secret_in_a_suppression_reason(tmp_path: Path, fmt: str) -> None:
    suppressed_tree(tmp_path)
    out = tmp_path / f"report.{fmt}"
    config = str(tmp_path / "deploysafe.yaml")
    _code, printed = invoke(
        "scan", str(tmp_path / "pod.yaml"), "--config", config, "--format", fmt,
        "--output", str(out), "--show-suppressed",
    )  # fmt: skip
    report = out.read_text(encoding="utf-8")
    for secret in IN_REASONS:
        assert secret not in printed + report, f"{secret[:4]}… printed in full"
        assert secret[4:-4] not in printed + report
    if fmt == "json":
        data = json.loads(report)
        reasons = {(f["rule_id"], f["suppressed"]["reason"]) for f in data["findings"]}
        inline, _, configured = IN_REASONS
        assert ("DS201", f"token {redact(inline)}") in reasons
        assert ("DS214", f"approved with key {redact(configured)}") in reasons
        assert [e["message"] for e in data["errors"]] == [
            "cannot read deploysafe.io/ignore entry <18 characters, not shown> (want `ID: reason`)"
        ]
