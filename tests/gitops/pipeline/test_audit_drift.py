"""`deploysafe audit --env ENV`: drift between a real release (made by `deploysafe deploy`
into a bare environment repository) and a cluster dump."""

from __future__ import annotations

import copy
import hashlib
import json
from pathlib import Path
from typing import Any

import pytest
import yaml
from click.testing import CliRunner, Result

from deploysafe.cli.exits import EXIT_CLEAN, EXIT_FINDINGS, EXIT_INPUT, EXIT_USAGE
from deploysafe.cli.main import main
from tests.gitops.pipeline.conftest import App

PROD = "clusters/prod/shop/"


def released(app: App) -> list[dict[str, Any]]:
    out = []
    for path in app.env_files("main", PROD):
        if path.endswith("kustomization.yaml"):
            continue
        data = yaml.safe_load(app.env_show(path))
        assert isinstance(data, dict)
        out.append(data)
    return out


def as_live(data: dict[str, Any], n: int) -> dict[str, Any]:
    """The object as `kubectl get -o yaml` shows it: server fields, defaults, status."""
    live = copy.deepcopy(data)
    meta = live["metadata"]
    meta.update(
        {
            "uid": f"00000000-0000-4000-8000-{n:012d}",
            "resourceVersion": str(1000 + n),
            "creationTimestamp": "2026-11-20T10:00:00Z",
            "generation": 1,
        }
    )
    meta.setdefault("annotations", {})["kubectl.kubernetes.io/last-applied-configuration"] = (
        json.dumps(data)
    )
    if live["kind"] == "Deployment":
        spec = live["spec"]
        spec["revisionHistoryLimit"] = 10
        spec["progressDeadlineSeconds"] = 600
        for c in spec["template"]["spec"]["containers"]:
            c.setdefault("imagePullPolicy", "IfNotPresent")
            c["terminationMessagePath"] = "/dev/termination-log"
        live["status"] = {"replicas": spec.get("replicas", 1), "readyReplicas": 1}
    return live


def audit(app: App, dump: str, *args: str, monkeypatch: pytest.MonkeyPatch) -> Result:
    monkeypatch.chdir(app.root)
    result = CliRunner().invoke(main, ["audit", "-", *args], input=dump)
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exc_info
    return result


def dump_of(objects: list[dict[str, Any]]) -> str:
    return yaml.safe_dump({"apiVersion": "v1", "kind": "List", "items": objects}, sort_keys=False)


@pytest.fixture
def deployed(app: App) -> App:
    result = app.cli("deploy", "--trust-on-first-use", "prod")
    assert result.exit_code == EXIT_CLEAN, result.output
    return app


def test_no_drift_when_the_cluster_runs_the_release(
    deployed: App, monkeypatch: pytest.MonkeyPatch
) -> None:
    live = [as_live(d, i) for i, d in enumerate(released(deployed))]
    result = audit(
        deployed, dump_of(live), "--env", "prod", "--format", "json", monkeypatch=monkeypatch
    )
    report = json.loads(result.stdout)
    assert report["drift"]["objects"] == []
    assert report["drift"]["release"] == "prod-1"
    assert report["drift"]["commit"] == deployed.env_head()
    assert result.exit_code == EXIT_CLEAN, result.output


def test_changed_missing_and_extra_objects(deployed: App, monkeypatch: pytest.MonkeyPatch) -> None:
    objects = released(deployed)
    kinds = sorted(d["kind"] for d in objects)
    assert kinds == ["ConfigMap", "Deployment", "NetworkPolicy", "Service", "ServiceAccount"]
    live = [as_live(d, i) for i, d in enumerate(objects) if d["kind"] != "ConfigMap"]
    dep = next(d for d in live if d["kind"] == "Deployment")
    dep["spec"]["replicas"] = 7  # scaled by hand
    image = dep["spec"]["template"]["spec"]["containers"][0]["image"]
    dep["spec"]["template"]["spec"]["containers"][0]["image"] = "registry.example.com/hotfix:1"
    extra = copy.deepcopy(dep)
    extra["metadata"] = {"name": "debug", "namespace": "shop", "uid": "e"}
    owned = copy.deepcopy(dep)
    owned["kind"], owned["metadata"] = (
        "ReplicaSet",
        {
            "name": "shop-web-1",
            "namespace": "shop",
            "ownerReferences": [
                {"kind": "Deployment", "name": "shop-web", "controller": True, "uid": "x"}
            ],
        },
    )
    elsewhere = copy.deepcopy(extra)
    elsewhere["metadata"] = {"name": "other", "namespace": "payments"}
    other_cm = {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {"name": "x", "namespace": "payments"},
    }
    dump = dump_of([*live, extra, owned, elsewhere, other_cm])
    result = audit(deployed, dump, "--env", "prod", "--format", "json", monkeypatch=monkeypatch)
    assert result.exit_code == EXIT_FINDINGS
    drift = json.loads(result.stdout)["drift"]
    summary = [(o["action"], o["kind"], o["namespace"], o["name"]) for o in drift["objects"]]
    cm = next(d for d in objects if d["kind"] == "ConfigMap")["metadata"]["name"]
    assert summary == [
        ("missing", "ConfigMap", "shop", cm),
        ("changed", "Deployment", "shop", "shop-web"),
        ("extra", "Deployment", "shop", "debug"),
    ]
    changed = drift["objects"][1]["fields"]
    assert changed == [
        {"path": "/spec/replicas", "release": "3", "cluster": "7"},
        {
            "path": "/spec/template/spec/containers/0/image",
            "release": json.dumps(image),
            "cluster": '"registry.example.com/hotfix:1"',
        },
    ]
    text = audit(deployed, dump, "--env", "prod", monkeypatch=monkeypatch)
    assert text.exit_code == EXIT_FINDINGS
    tail = text.stdout[text.stdout.index("Drift against environment prod") :]
    assert tail.splitlines() == [
        f"Drift against environment prod (release prod-1, environment commit "
        f"{deployed.env_head()[:12]})",  # type: ignore[index]
        f"  - ConfigMap shop/{cm} (in the release, not in the cluster)",
        "  ~ Deployment shop/shop-web",
        "      /spec/replicas: release 3, cluster 7",
        f"      /spec/template/spec/containers/0/image: release {json.dumps(image)}, cluster "
        '"registry.example.com/hotfix:1"',
        "  + Deployment shop/debug (in the cluster, not in the release)",
        "  3 object(s) drifted",
    ]


def test_secret_values_are_compared_never_shown(
    deployed: App, monkeypatch: pytest.MonkeyPatch
) -> None:
    import base64
    import secrets

    live = [as_live(d, i) for i, d in enumerate(released(deployed))]
    value = "s3-" + secrets.token_urlsafe(16)
    # A Secret in the cluster that the release does not have, and a changed ConfigMap.
    live.append(
        {
            "apiVersion": "v1",
            "kind": "ConfigMap",
            "metadata": {"name": "leftover", "namespace": "shop"},
            "data": {"token": value},
        }
    )
    result = audit(
        deployed, dump_of(live), "--env", "prod", "--format", "json", monkeypatch=monkeypatch
    )
    assert value not in result.stdout
    assert base64.b64encode(value.encode()).decode() not in result.stdout
    drift = json.loads(result.stdout)["drift"]
    assert [(o["action"], o["name"]) for o in drift["objects"]] == [("extra", "leftover")]


def test_kinds_missing_from_the_dump_are_not_called_missing(
    deployed: App, monkeypatch: pytest.MonkeyPatch
) -> None:
    live = [as_live(d, i) for i, d in enumerate(released(deployed)) if d["kind"] == "Deployment"]
    result = audit(
        deployed, dump_of(live), "--env", "prod", "--format", "json", monkeypatch=monkeypatch
    )
    drift = json.loads(result.stdout)["drift"]
    assert drift["objects"] == []
    assert drift["notes"] == [
        "the dump has no ConfigMap, NetworkPolicy, Service, ServiceAccount objects at all: "
        "those were not compared (add them to the kubectl get)"
    ]


def test_bad_environment_and_format(
    deployed: App, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    result = audit(deployed, dump_of([]), "--env", "staging", monkeypatch=monkeypatch)
    assert result.exit_code == EXIT_USAGE
    assert "unknown environment 'staging' (prod)" in result.output
    result = audit(
        deployed, dump_of([]), "--env", "prod", "--format", "sarif", monkeypatch=monkeypatch
    )
    assert result.exit_code == EXIT_USAGE
    assert "drift (--env) is reported in text or json format" in result.output
    # The environment repository gone: an input error, not a crash.
    import shutil

    shutil.rmtree(deployed.env_repo)
    result = audit(deployed, dump_of([]), "--env", "prod", monkeypatch=monkeypatch)
    assert result.exit_code == EXIT_INPUT
    assert "cannot read environment prod:" in result.output
    # Shown as deploy and history show an unreadable environment repository.
    assert result.stderr.startswith(
        f"error: cannot read environment prod: cannot read the environment repository "
        f"{deployed.env_repo}"
    )


def test_drift_masks_what_the_secrets_rules_flag(
    deployed: App, monkeypatch: pytest.MonkeyPatch
) -> None:
    from tests.support.secretgen import fake_github_token

    token = fake_github_token(41)
    live = [as_live(d, i) for i, d in enumerate(released(deployed))]
    cm = next(d for d in live if d["kind"] == "ConfigMap")
    cm["data"]["MESSAGE"] = f"pushed with {token}"  # edited in the cluster by hand
    for fmt in ("text", "json"):
        result = audit(
            deployed, dump_of(live), "--env", "prod", "--format", fmt, monkeypatch=monkeypatch
        )
        assert result.exit_code == EXIT_FINDINGS, result.output
        assert token not in result.stdout
        assert token[4:-4] not in result.stdout
    drift = json.loads(result.stdout)["drift"]
    [changed] = drift["objects"]
    masked = "<masked> sha256:" + hashlib.sha256(token.encode()).hexdigest()[:12]
    assert changed["fields"] == [
        {
            "path": "/data/MESSAGE",
            "release": '"hello from prod"',
            "cluster": json.dumps(f"pushed with {masked}"),
        }
    ]
