"""The `environments:` keys deploy reads, with errors that name key and line."""

from __future__ import annotations

from pathlib import Path

import pytest

from deploysafe.config import for_environment
from deploysafe.config.environments import GateTest, ReleaseTarget, Render, Signing
from deploysafe.errors import ConfigError
from deploysafe.gitops.environments import load_environment, load_environments
from deploysafe.model import Level, Severity
from tests.support.policy import load
from tests.support.secretgen import expand

TENANTS = "tenants:\n  shop: {namespaces: [shop, shop-staging]}\n"


def write(tmp_path: Path, text: str) -> Path:
    p = tmp_path / "deploysafe.yaml"
    p.write_text(TENANTS + text, encoding="utf-8")
    return p


def test_full_environment(tmp_path: Path) -> None:
    cfg = load(
        write(
            tmp_path,
            """\
environments:
  prod:
    tenant: shop
    render: {helm: {chart: chart/, values: [values-prod.yaml], set: [a=b], release: web}}
    tests:
      - {name: unit, run: make test, timeout: 10m}
      - {name: smoke, run: ./smoke.sh, timeout: 90, junit: out/junit.xml}
      - {name: lint, run: make lint}
    target: {repo: ../env.git, path: /clusters/prod/shop/}
    sign: {gpg_key: "0123 4567 89ab cdef 0123 4567 89ab cdef 0123 4567"}
    policy: baseline
    fail_on: medium
""",
        )
    )
    env = load_environment(cfg, "prod")
    base = tmp_path.resolve()
    assert env.render == Render(
        "helm",
        base / "chart",
        "chart/",
        "shop",  # the tenant's first namespace
        values=(base / "values-prod.yaml",),
        set_values=("a=b",),
        release="web",
    )
    assert env.tests == (
        GateTest("unit", "make test", 600.0),
        GateTest("smoke", "./smoke.sh", 90.0, "out/junit.xml"),
        GateTest("lint", "make lint", 600.0),
    )
    assert env.target == ReleaseTarget(str(base.parent / "env.git"), "main", "clusters/prod/shop")
    assert env.sign == Signing(gpg_key="0123456789ABCDEF0123456789ABCDEF01234567")
    assert (env.policy, env.fail_on, env.has_source) == (Level.BASELINE, Severity.MEDIUM, False)
    assert for_environment(cfg, env).policy is Level.BASELINE
    # The trigger check reads the same environment: deploy's keys, no `source`.
    assert cfg.environments["prod"].source is None


def test_remote_target_kept_as_written(tmp_path: Path) -> None:
    cfg = load(
        write(
            tmp_path,
            "environments:\n  prod:\n    tenant: shop\n"
            "    render: {manifests: k8s, namespace: shop}\n"
            "    target: {repo: 'git@github.com:acme/env.git', branch: release, path: prod}\n",
        )
    )
    target = load_environment(cfg, "prod").target
    assert target == ReleaseTarget("git@github.com:acme/env.git", "release", "prod")


ENV = "environments:\n  prod:\n    tenant: shop\n"
RENDER = "    render: {manifests: k8s}\n"
TARGET = "    target: {repo: x, path: p}\n"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (ENV + TARGET, "deploysafe.yaml:4: environments.prod: missing `render`"),
        (
            "environments:\n  prod:\n    tenant: web\n" + RENDER + TARGET,
            "deploysafe.yaml:5: environments.prod.tenant: unknown tenant 'web' (shop)",
        ),
        (
            ENV + "    render: {manifests: k8s, kustomize: k}\n" + TARGET,
            "deploysafe.yaml:6: environments.prod.render: give exactly one of helm, kustomize",
        ),
        (
            ENV + "    render: {manifests: k8s, namespace: billing}\n" + TARGET,
            "deploysafe.yaml:6: environments.prod.render: the environment's namespace 'billing' "
            "is not one of tenant 'shop''s namespaces (shop, shop-staging)",
        ),
        (
            ENV + "    render: {helm: {values: [v.yaml]}}\n" + TARGET,
            "deploysafe.yaml:6: environments.prod.render.helm: missing `chart`",
        ),
        (
            ENV + RENDER + TARGET + "    tests: [{name: unit, run: x, timeout: soon}]\n",
            "deploysafe.yaml:8: environments.prod.tests.0.timeout: 'soon' is not a duration",
        ),
        (
            ENV + RENDER + TARGET + "    tests: [{name: unit}]\n",
            "deploysafe.yaml:8: environments.prod.tests.0: a test stage needs `run`",
        ),
        (
            ENV
            + RENDER
            + TARGET
            + "    tests:\n    - {name: a, run: x}\n    - {name: a, run: y}\n",
            "deploysafe.yaml:10: environments.prod.tests.1.name: two test stages are named 'a'",
        ),
        (
            ENV + RENDER + TARGET + "    tests: [{name: a, run: x, ignore_failures: true}]\n",
            "deploysafe.yaml:8: environments.prod.tests.0.ignore_failures: unknown key",
        ),
        (
            ENV + RENDER + "    target: {repo: x, path: .deploysafe/x}\n",
            "deploysafe.yaml:7: environments.prod.target.path: .deploysafe/ is reserved",
        ),
        (
            ENV + RENDER + TARGET + "    sign: {gpg_key: abc, ssh_key: k}\n",
            "deploysafe.yaml:8: environments.prod.sign: give exactly one of gpg_key",
        ),
        (
            ENV + RENDER + TARGET + "    sign: {gpg_key: nothex}\n",
            "deploysafe.yaml:8: environments.prod.sign.gpg_key: expected a key fingerprint",
        ),
        (
            ENV + RENDER + TARGET + "    policy: strict\n",
            "deploysafe.yaml:8: environments.prod.policy: 'strict' is not a valid Level",
        ),
        (
            ENV + RENDER + TARGET + "    deploy_on_friday: true\n",
            "deploysafe.yaml:8: environments.prod.deploy_on_friday: unknown key",
        ),
    ],
)
def test_errors_name_key_and_line(tmp_path: Path, text: str, message: str) -> None:
    with pytest.raises(ConfigError) as info:
        load_environment(load(write(tmp_path, text)), "prod")
    assert str(info.value).replace(f"{tmp_path}/", "").startswith(message), str(info.value)


def test_overlapping_targets(tmp_path: Path) -> None:
    text = (
        "environments:\n"
        "  a: {tenant: shop, render: {manifests: k}, target: {repo: r, path: clusters/prod}}\n"
        "  b: {tenant: shop, render: {manifests: k}, target: {repo: r, path: clusters/prod/shop}}\n"
    )
    with pytest.raises(ConfigError) as info:
        load_environments(load(write(tmp_path, text)))
    assert str(info.value).replace(f"{tmp_path}/", "") == (
        "deploysafe.yaml:5: environments.b.target.path: overlaps environment 'a''s target path "
        "'clusters/prod' in the same repository and branch: each release replaces its whole folder"
    )


@pytest.mark.parametrize(
    "userinfo",
    [
        "deploy:" + "Qx7" + "-vLp2Mz9",  # user:password
        "x-access-token:" + expand("{an:36}", 1),
        "gh" + "p_" + expand("{an:36}", 2),  # a token as the user
    ],
)
def test_credential_in_target_url_refused_never_echoed(tmp_path: Path, userinfo: str) -> None:
    text = (
        ENV
        + RENDER
        + f"    target: {{repo: 'https://{userinfo}@git.shop.internal/env.git', path: p}}\n"
    )
    with pytest.raises(ConfigError) as info:
        load_environment(load(write(tmp_path, text)), "prod")
    message = str(info.value)
    assert "environments.prod.target.repo: the URL holds a credential" in message
    assert userinfo.split(":")[-1] not in message


def test_user_name_alone_in_target_url_is_fine(tmp_path: Path) -> None:
    text = (
        ENV + RENDER + "    target: {repo: 'https://deploy@git.shop.internal/env.git', path: p}\n"
    )
    target = load_environment(load(write(tmp_path, text)), "prod").target
    assert target.repo == "https://deploy@git.shop.internal/env.git"
