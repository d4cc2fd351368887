"""`deploysafe deploy`: the stages, the release commit and record, and every way it stops
with nothing committed or pushed."""

from __future__ import annotations

import http.server
import json
import shutil
import subprocess
import sys
import threading
from pathlib import Path
from typing import Any, ClassVar

import pytest

from deploysafe.cli.exits import EXIT_CLEAN, EXIT_FINDINGS, EXIT_INPUT, EXIT_USAGE
from deploysafe.gitops.manifests import digest
from tests.gitops.pipeline.conftest import App, Keys, make_app, run
from tests.support.secretgen import fake_github_token

PROD = "clusters/prod/shop/"
HELM_FILES = [
    "kustomization.yaml",
    "shop/configmap-shop-web.yaml",
    "shop/deployment-shop-web.yaml",
    "shop/networkpolicy-shop-web.yaml",
    "shop/service-shop-web.yaml",
    "shop/serviceaccount-shop-web.yaml",
]


def stage_lines(output: str) -> list[tuple[str, str]]:
    """(stage, status) for each progress line, in order."""
    out = []
    for line in output.splitlines():
        parts = line.split()
        if line.startswith("  ") and len(parts) > 2 and parts[1] in ("ok", "FAILED"):
            out.append((parts[0], parts[1]))
    return out


def env_blobs(app: App, ref: str = "main") -> dict[str, bytes]:
    out = {}
    for path in app.env_files(ref, PROD):
        proc = subprocess.run(
            ["git", "--git-dir", str(app.env_repo), "show", f"{ref}:{path}"],
            capture_output=True,
            check=True,
        )
        out[path.removeprefix(PROD)] = proc.stdout
    return out


def test_happy_path(app: App) -> None:
    head = app.git("rev-parse", "HEAD")
    result = app.cli("deploy", "--trust-on-first-use", "prod")
    assert result.exit_code == EXIT_CLEAN, result.output
    assert stage_lines(result.output) == [
        ("verify", "ok"),
        ("render", "ok"),
        ("scan", "ok"),
        ("tenant", "ok"),
        ("tests", "ok"),
        ("release", "ok"),
    ]
    env_commit = app.env_head()
    assert env_commit is not None
    last = result.output.rstrip().splitlines()[-1]
    assert last == (
        f"released prod-1 to {app.env_repo} main:clusters/prod/shop "
        f"(commit {env_commit[:12]}, source {head[:12]})"
    )
    assert "  + Deployment shop/shop-web (added)" in result.output
    # The environment repository: the release folder and the record, nothing else.
    assert app.env_files() == [
        ".deploysafe/releases/prod.json",
        *(PROD + f for f in HELM_FILES),
    ]
    files = env_blobs(app)
    deployment = files["shop/deployment-shop-web.yaml"].decode()
    assert "  namespace: shop\n" in deployment  # the render's namespace, written out
    assert "  replicas: 3\n" in deployment  # values-prod.yaml
    rec = app.record()
    assert {k: rec[k] for k in ("schema", "release", "number", "environment", "tenant")} == {
        "schema": 1,
        "release": "prod-1",
        "number": 1,
        "environment": "prod",
        "tenant": "shop",
    }
    assert rec["action"] == "deploy"
    assert rec["actor"] == "tester"
    assert rec["ci"] == {"system": "local", "run": None}
    assert rec["source"]["commit"] == head
    assert rec["source"]["repo"] == str(app.origin)
    assert rec["source"]["ref"] == "refs/heads/main"
    assert rec["source"]["signature"]["status"] == "good"
    assert app.keys.fpr in rec["source"]["signature"]["detail"]
    assert rec["rendered"]["digest"] == digest(files)
    assert rec["rendered"]["resources"] == 5
    assert rec["rendered"]["files"] == HELM_FILES
    assert rec["scan"] == {
        "policy": "restricted",
        "fail_on": "high",
        "findings": 0,
        "failing": 0,
        "suppressed": 0,
        "errors": 0,
        "by_rule": {},
    }
    assert rec["tenant_check"] == {"tenant": "shop", "namespaces": ["shop"], "escapes": 0}
    assert [(t["name"], t["status"], t["exit_code"]) for t in rec["tests"]] == [
        ("unit", "passed", 0),
        ("smoke", "passed", 0),
    ]
    assert all(isinstance(t["seconds"], float) for t in rec["tests"])
    assert [s["name"] for s in rec["stages"]] == ["verify", "render", "scan", "tenant", "tests"]
    assert rec["target"]["signed_with"] == f"gpg {app.keys.release_fpr}"
    # The release commit is signed by the release key: git itself verifies it.
    out = subprocess.run(
        ["git", "--git-dir", str(app.env_repo), "verify-commit", "--raw", "main"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert out.returncode == 0, out.stderr
    assert f"VALIDSIG {app.keys.release_fpr}" in out.stderr
    subject = app.env_git("log", "-1", "--format=%s%n%(trailers:only)", "main")
    assert subject.splitlines() == [
        f"deploysafe: release prod-1 (deploy) of {head[:12]}",
        "Deploysafe-Release: prod-1",
        "Deploysafe-Environment: prod",
    ]


def test_json_output_is_the_record(app: App) -> None:
    result = app.cli("deploy", "--trust-on-first-use", "prod", "--format", "json")
    assert result.exit_code == EXIT_CLEAN
    doc = json.loads(result.stdout)
    assert doc.pop("env_commit") == app.env_head()
    assert isinstance(doc.pop("release_seconds"), float)
    assert doc == app.record()


def test_second_release_replaces_the_folder(app: App) -> None:
    assert app.cli("deploy", "--trust-on-first-use", "prod").exit_code == EXIT_CLEAN
    first = app.env_head()
    app.write("chart/templates/service.yaml", "")  # the Service goes away
    app.write("values-prod.yaml", "replicas: 5\nmessage: hello from prod\n")
    head = app.commit("five replicas, no service")
    result = app.cli("deploy", "--trust-on-first-use", "prod")
    assert result.exit_code == EXIT_CLEAN, result.output
    assert "changes against the environment (1 changed, 0 added, 1 removed):" in result.output
    assert "  ~ Deployment shop/shop-web (changed)" in result.output
    assert "  - Service shop/shop-web (removed)" in result.output
    assert app.env_files(prefix=PROD) == [
        PROD + f for f in HELM_FILES if f != "shop/service-shop-web.yaml"
    ]
    rec = app.record()
    assert (rec["release"], rec["source"]["commit"]) == ("prod-2", head)
    # Every commit since the previous release had to be signed (strict mode).
    assert rec["source"]["signature"]["since"] == app.git("rev-parse", "HEAD~1")
    assert app.env_git("rev-parse", "main~1") == first


def test_kustomize_overlay_gets_the_environment_namespace(tmp_path: Path, keys: Keys) -> None:
    app = make_app(tmp_path, keys, "kustomize-app")
    app.configure(
        {
            "prod": app.environment(
                render={"kustomize": "overlays/prod", "namespace": "shop"}, tests=None
            )
        }
    )
    app.commit("config")
    result = app.cli("deploy", "--trust-on-first-use", "prod")
    assert result.exit_code == EXIT_CLEAN, result.output
    assert "  tests   ok" in result.output and "no test stages configured" in result.output
    assert app.env_files(prefix=PROD) == [
        PROD + "kustomization.yaml",
        PROD + "shop/deployment-api.yaml",
        PROD + "shop/networkpolicy-api.yaml",
        PROD + "shop/service-api.yaml",
        PROD + "shop/serviceaccount-api.yaml",
    ]
    deployment = app.env_show(PROD + "shop/deployment-api.yaml")
    assert "  namespace: shop\n" in deployment
    assert "  replicas: 4\n" in deployment  # the overlay's patch
    assert "config.kubernetes.io/origin" not in deployment
    assert app.record()["rendered"]["engine"] == "kustomize overlays/prod"


def test_plain_manifests(app: App) -> None:
    app.write(
        "k8s/config.yaml",
        "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: settings}\ndata: {mode: prod}\n",
    )
    app.configure({"prod": app.environment(render={"manifests": "k8s"}, tests=None)})
    app.commit("manifests")
    result = app.cli("deploy", "--trust-on-first-use", "prod")
    assert result.exit_code == EXIT_CLEAN, result.output
    assert app.env_files(prefix=PROD) == [
        PROD + "kustomization.yaml",
        PROD + "shop/configmap-settings.yaml",
    ]


def test_plan_writes_nothing(app: App) -> None:
    assert app.cli("deploy", "--trust-on-first-use", "prod").exit_code == EXIT_CLEAN
    before = app.env_head()
    app.write("values-prod.yaml", "replicas: 2\nmessage: hello from prod\n")
    app.commit("two replicas")
    result = app.cli("deploy", "--trust-on-first-use", "prod", "--plan")
    assert result.exit_code == EXIT_CLEAN, result.output
    assert stage_lines(result.output) == [
        ("verify", "ok"),
        ("render", "ok"),
        ("scan", "ok"),
        ("tenant", "ok"),
        ("tests", "ok"),
    ]
    assert "  ~ Deployment shop/shop-web (changed)" in result.output
    assert "      -  replicas: 3" in result.output
    assert "      +  replicas: 2" in result.output
    assert result.output.rstrip().splitlines()[-1] == (
        "plan for prod: every stage passed; 1 changed, 0 added, 0 removed; nothing was written"
    )
    assert app.env_head() == before


# ---------------------------------------------------------------- each stage failing


def refused(app: App, stage: str, *expected: str, before: str | None = None) -> str:
    result = app.cli("deploy", "--trust-on-first-use", "prod")
    assert result.exit_code == EXIT_FINDINGS, result.output
    lines = stage_lines(result.output)
    assert lines[-1] == (stage, "FAILED")
    assert all(status == "ok" for _, status in lines[:-1])
    for text in expected:
        assert text in result.output, result.output
    last = result.output.rstrip().splitlines()[-1]
    assert last.startswith(f"refused: stage {stage} failed: ")
    assert last.endswith("; nothing was committed or pushed")
    assert app.env_head() == before  # nothing committed, nothing pushed
    return result.output


def test_unsigned_commit_stops_at_verify(app: App) -> None:
    head = app.commit("unsigned", sign=False)
    refused(app, "verify", f"signature: HEAD {head[:12]} is unsigned")


def test_no_source_policy_stops_at_verify(app: App) -> None:
    app.configure({"prod": app.environment(source=None)})
    app.commit("no source")
    refused(
        app,
        "verify",
        "environments.prod.source is not configured: a deploy verifies where the code comes from",
    )


def test_render_error_stops(app: App) -> None:
    app.write("chart/templates/broken.yaml", "kind: {{ .Values.nope.deeper }}\n")
    app.commit("broken template")
    refused(
        app,
        "render",
        "the render failed",
        "      chart/templates/broken.yaml: shop/templates/broken.yaml:1:16",
        "nil pointer evaluating interface {}.deeper",
    )


def test_dirty_checkout_stops_at_render(app: App) -> None:
    app.write("values-prod.yaml", "replicas: 9\n")  # not committed
    refused(
        app,
        "render",
        "the checkout has 1 change(s) that are not in the verified commit",
        " M values-prod.yaml",
    )


def test_scan_finding_stops(app: App) -> None:
    app.write("values-prod.yaml", "replicas: 3\nprivileged: true\n")
    app.commit("privileged")
    out = refused(app, "scan", "1 finding(s), 1 at or above high")
    assert (
        "chart/templates/deployment.yaml:31 critical DS201 container 'web' runs privileged "
        "[Deployment shop/shop-web]"
    ) in out


def test_secret_in_the_repository_stops_at_scan(app: App) -> None:
    app.write("notes.txt", f"deploy token: {fake_github_token()}\n")
    app.commit("oops")
    out = refused(app, "scan")
    assert "notes.txt:1 critical DS301" in out


def test_namespace_escape_stops_at_tenant(app: App) -> None:
    app.write(
        "chart/templates/escape.yaml",
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: x\n  namespace: kube-system\n"
        "data: {a: b}\n",
    )
    app.commit("escape")
    refused(
        app,
        "tenant",
        "1 object(s) leave tenant 'shop'",
        "chart/templates/escape.yaml:5 ConfigMap 'x' is in namespace 'kube-system', outside "
        "tenant 'shop''s namespaces (shop, shop-staging)",
    )


def test_cluster_kind_escape_stops_at_tenant(app: App) -> None:
    app.write(
        "chart/templates/role.yaml",
        "apiVersion: rbac.authorization.k8s.io/v1\nkind: ClusterRole\nmetadata:\n  name: peek\n"
        "rules:\n- {apiGroups: [''], resources: [configmaps], verbs: [get]}\n",
    )
    app.commit("cluster role")
    refused(
        app,
        "tenant",
        "chart/templates/role.yaml:2 ClusterRole 'peek' is cluster-scoped and tenant 'shop' "
        "may not create ClusterRole (cluster_kinds: none)",
    )


ESCAPE = (
    "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: x\n{annotations}"
    "  namespace: kube-system{comment}\ndata: {{a: b}}\n"
)


def tenant_stage(app: App, escape: str, **top: Any) -> tuple[int, list[tuple[str, str]], str]:
    """Deploy with one object outside the tenant; (exit code, stages, the tenant line)."""
    app.write("chart/templates/escape.yaml", escape)
    if top:
        app.configure({"prod": app.environment()}, **top)
    app.commit("escape")
    result = app.cli("deploy", "--trust-on-first-use", "prod")
    (tenant,) = [ln.strip() for ln in result.output.splitlines() if ln.startswith("  tenant ")]
    return result.exit_code, stage_lines(result.output), tenant


def test_tenant_stage_takes_severity_overrides(app: App) -> None:
    # Below fail_on (high): reported by a scan, no longer a reason to refuse the release.
    code, stages, tenant = tenant_stage(
        app, ESCAPE.format(annotations="", comment=""), rules={"DS401": {"severity": "low"}}
    )
    assert code == EXIT_CLEAN
    assert ("tenant", "ok") in stages
    assert tenant.endswith("tenant 'shop': every object in kube-system, shop")


def test_tenant_stage_skips_a_disabled_rule(app: App) -> None:
    code, stages, _ = tenant_stage(
        app, ESCAPE.format(annotations="", comment=""), rules={"DS401": {"enabled": False}}
    )
    assert code == EXIT_CLEAN
    assert ("tenant", "ok") in stages
    assert app.record()["tenant_check"] == {
        "tenant": "shop",
        "namespaces": ["kube-system", "shop"],
        "escapes": 0,
    }


@pytest.mark.parametrize(
    ("annotations", "comment", "top"),
    [
        ("", "  # deploysafe: ignore[DS401] the platform team reviewed it", {}),
        (
            '  annotations:\n    deploysafe.io/ignore: "DS401: the platform team reviewed it"\n',
            "",
            {},
        ),
        ("", "", {"exceptions": [{"rule": "DS401", "reason": "the platform team reviewed it"}]}),
    ],
    ids=["inline", "annotation", "config"],
)
def test_tenant_stage_honours_suppressions(
    app: App, annotations: str, comment: str, top: dict[str, Any]
) -> None:
    code, stages, tenant = tenant_stage(
        app, ESCAPE.format(annotations=annotations, comment=comment), **top
    )
    assert code == EXIT_CLEAN
    assert stages[:5] == [
        ("verify", "ok"),
        ("render", "ok"),
        ("scan", "ok"),
        ("tenant", "ok"),
        ("tests", "ok"),
    ]
    assert tenant.endswith("tenant 'shop': every object in kube-system, shop")


def test_tenant_stage_without_suppression_refuses(app: App) -> None:
    app.write("chart/templates/escape.yaml", ESCAPE.format(annotations="", comment=""))
    app.commit("escape")
    refused(
        app,
        "tenant",
        "1 object(s) leave tenant 'shop'",
        "chart/templates/escape.yaml:5 ConfigMap 'x' is in namespace 'kube-system', outside "
        "tenant 'shop''s namespaces (shop, shop-staging)",
    )


def test_failing_test_stops_and_shows_its_output(app: App) -> None:
    env = app.environment(
        tests=[
            {"name": "unit", "run": "echo checking; echo 'expected 2, got 3' >&2; exit 3"},
            {"name": "smoke", "run": "sh tests/smoke.sh"},
        ]
    )
    app.configure({"prod": env})
    app.commit("failing test")
    refused(
        app,
        "tests",
        "      test unit: failed in ",
        "unit failed: exited with status 3",
        "        | checking",
        "        | expected 2, got 3",
        "not run: smoke",
    )


def test_timeout_kills_the_test(app: App, tmp_path: Path) -> None:
    marker = tmp_path / "still-running"
    env = app.environment(
        tests=[{"name": "slow", "run": f"sleep 0.6 && sleep 5 && touch {marker}", "timeout": 1}]
    )
    app.configure({"prod": env})
    app.commit("slow test")
    refused(app, "tests", "slow timeout: did not finish within 1s (killed)")
    import time

    time.sleep(0.2)
    assert not marker.exists()  # the whole process group was killed


def test_skipped_test_stops(app: App) -> None:
    app.configure({"prod": app.environment(tests=[{"name": "e2e", "run": "exit 77"}])})
    app.commit("skipped")
    refused(app, "tests", "e2e skipped: reported skipped (exit 77)")


@pytest.mark.parametrize(
    ("report", "message"),
    [
        ('<testsuite tests="0"></testsuite>', "ran zero tests (JUnit report is empty)"),
        (
            '<testsuites><testsuite><testcase name="a"/><testcase name="b"><failure/>'
            "</testcase></testsuite></testsuites>",
            "1 failure(s) and 0 error(s) in the JUnit report, although the command exited 0",
        ),
    ],
)
def test_junit_report_decides(app: App, tmp_path: Path, report: str, message: str) -> None:
    junit = tmp_path / "report.xml"
    junit.write_text(report)
    env = app.environment(
        tests=[{"name": "unit", "run": "true || false", "junit": str(junit)}],
    )
    app.configure({"prod": env})
    app.commit("junit")
    refused(app, "tests", f"unit failed: {message}")


def test_junit_passing_is_recorded(app: App, tmp_path: Path) -> None:
    junit = tmp_path / "report.xml"
    junit.write_text(
        '<testsuite><testcase name="a"/><testcase name="b"><skipped/></testcase></testsuite>'
    )
    app.configure(
        {"prod": app.environment(tests=[{"name": "unit", "run": "true", "junit": str(junit)}])}
    )
    app.commit("junit")
    assert app.cli("deploy", "--trust-on-first-use", "prod").exit_code == EXIT_CLEAN
    (test,) = app.record()["tests"]
    assert test["junit"] == {"tests": 2, "failures": 0, "errors": 0, "skipped": 1}


def test_signing_failure_stops_at_release(app: App) -> None:
    app.configure(
        {"prod": app.environment(sign={"gpg_key": "0123456789ABCDEF0123456789ABCDEF01234567"})}
    )
    app.commit("unknown signing key")
    out = refused_release(app)
    assert "cannot sign the release commit with gpg 0123456789ABCDEF0123456789ABCDEF01234567" in out


def refused_release(app: App) -> str:
    result = app.cli("deploy", "--trust-on-first-use", "prod")
    assert result.exit_code == EXIT_INPUT, result.output
    assert stage_lines(result.output)[-2:] == [("tests", "ok"), ("release", "FAILED")]
    assert app.env_head() is None
    return result.output


def test_ssh_signed_release(app: App, keys: Keys) -> None:
    app.configure({"prod": app.environment(sign={"ssh_key": str(keys.ssh_key)})})
    app.commit("ssh signing")
    assert app.cli("deploy", "--trust-on-first-use", "prod").exit_code == EXIT_CLEAN
    allowed = app.root.parent / "allowed_signers"
    allowed.write_text(f"release@example.com {keys.ssh_pub}")
    out = subprocess.run(
        [
            "git",
            "--git-dir",
            str(app.env_repo),
            "-c",
            f"gpg.ssh.allowedSignersFile={allowed}",
            "verify-commit",
            "main",
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    assert out.returncode == 0, out.stderr
    assert 'Good "git" signature for release@example.com with ED25519 key' in out.stderr


def test_unreadable_environment_repository(app: App, tmp_path: Path) -> None:
    target = app.environment()["target"] | {"repo": str(tmp_path / "nowhere.git")}
    app.configure({"prod": app.environment(target=target)})
    app.commit("bad target")
    result = app.cli("deploy", "--trust-on-first-use", "prod")
    assert result.exit_code == EXIT_INPUT
    assert result.output.startswith(
        f"error: cannot read the environment repository {tmp_path}/nowhere.git (branch main): "
    )


def test_config_error_names_the_line(app: App) -> None:
    app.write(
        "deploysafe.yaml",
        "tenants:\n  shop: {namespaces: [shop]}\nenvironments:\n  prod:\n    tenant: shop\n"
        "    render: {helm: {chart: chart}}\n    target: {repo: x, path: ../up}\n",
    )
    result = app.cli("deploy", "--trust-on-first-use", "prod")
    assert result.exit_code == EXIT_USAGE
    assert (
        "deploysafe.yaml:7: environments.prod.target.path: expected a folder inside the repository"
        in result.output
    )


def test_deploy_from_a_real_process(app: App) -> None:
    """The installed command, as CI runs it."""
    exe = Path(sys.executable).parent / "deploysafe"
    out = run(exe, "deploy", "prod", "--trust-on-first-use", "--format", "json", cwd=app.root)
    assert json.loads(out)["release"] == "prod-1"


@pytest.mark.parametrize("setting", ["values", "chart"])
def test_render_inputs_outside_the_checkout_are_refused(
    app: App, tmp_path: Path, setting: str
) -> None:
    outside = tmp_path / "outside"
    shutil.copytree(app.root / "chart", outside / "chart")
    (outside / "values.yaml").write_text("image: {repository: mallory/shop}\n")
    helm: dict[str, Any] = {"chart": "chart", "values": ["values-prod.yaml"], "namespace": "shop"}
    if setting == "values":
        helm["values"] = [str(outside / "values.yaml")]
    else:
        helm["chart"] = "../outside/chart"
    app.configure({"prod": app.environment(render={"helm": helm})})
    app.commit("render from outside")
    result = app.cli("deploy", "prod")
    assert result.exit_code == EXIT_USAGE, result.output
    key = "values.0" if setting == "values" else "chart"
    needle = str(outside / "values.yaml") if setting == "values" else "../outside/chart"
    policy = (app.root / "deploysafe.yaml").read_text().splitlines()
    line = next(n for n, text in enumerate(policy, 1) if needle in text)
    assert (
        f"deploysafe.yaml:{line}: environments.prod.render.helm.{key}: points outside the"
        " repository (the policy file's folder, or the checkout for a policy kept outside it),"
        " after symlinks are followed: every render input must be in the commit that is"
        " checked and released; move it into the repository"
    ) in result.output
    assert app.env_head() is None


def test_a_values_file_symlinked_out_of_the_checkout_is_refused(app: App, tmp_path: Path) -> None:
    (tmp_path / "values.yaml").write_text("image: {repository: mallory/shop}\n")
    (app.root / "values-prod.yaml").unlink()
    (app.root / "values-prod.yaml").symlink_to(tmp_path / "values.yaml")
    app.commit("symlinked values")
    result = app.cli("deploy", "prod")
    assert result.exit_code == EXIT_USAGE, result.output
    assert "environments.prod.render.helm.values.0: points outside the repository" in (
        result.output
    )
    assert app.env_head() is None


class _Counting(http.server.BaseHTTPRequestHandler):
    asked: ClassVar[list[str]] = []

    def do_GET(self) -> None:
        self.asked.append(self.path)
        self.send_response(404)
        self.end_headers()

    def log_message(self, format: str, *args: object) -> None:
        pass


def test_an_overlay_with_a_remote_or_outside_base_is_refused_offline(
    tmp_path: Path, keys: Keys
) -> None:
    app = make_app(tmp_path, keys, "kustomize-app")
    (tmp_path / "outside").mkdir()
    (tmp_path / "outside" / "kustomization.yaml").write_text("resources: []\n")
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Counting)
    url = f"http://127.0.0.1:{server.server_address[1]}/cm.yaml"
    threading.Thread(target=server.serve_forever, daemon=True).start()
    overlay = app.root / "overlays" / "prod" / "kustomization.yaml"
    overlay.write_text(
        overlay.read_text().replace("resources:\n", f"resources:\n- {url}\n- ../../../outside\n")
    )
    app.configure(
        {"prod": app.environment(render={"kustomize": "overlays/prod", "namespace": "shop"})}
    )
    app.commit("remote and outside bases")
    try:
        out = refused(
            app,
            "render",
            "kustomize overlays/prod: the render failed",
            f"overlays/prod/kustomization.yaml:4: remote resource '{url}' is not fetched"
            " (deploysafe renders offline)",
            "overlays/prod/kustomization.yaml:5: `resources` entry '../../../outside' points"
            " outside the repository",
        )
    finally:
        server.shutdown()
        server.server_close()
    assert _Counting.asked == [], out
