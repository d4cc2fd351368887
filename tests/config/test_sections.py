"""Every section of deploysafe.yaml is read at load: typed values when it is right, and
every problem of the file at once, each with file, line and key, when it is not."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from deploysafe.cli.exits import EXIT_USAGE
from deploysafe.config import Config
from deploysafe.config.environments import Deploy, Environment, ReleaseTarget, Render, Signing
from deploysafe.config.render import KustomizeSettings, Where
from deploysafe.config.source import SignedBy, SourcePolicy
from deploysafe.config.tenants import ClusterKind, Tenant
from deploysafe.config.webhook import Modes, Mutation
from deploysafe.errors import ConfigError
from deploysafe.gitops.environments import load_environment
from deploysafe.model import Level, Severity
from tests.support.policy import load
from tests.support.scantools import invoke

KNOWN_TOP = (
    "known keys: environments, exceptions, exclude, fail_on, max_file_size, policy, "
    "pss_version, render, rules, secrets, suppressions, tenants, webhook"
)
WEBHOOK_KEYS = (
    "known keys: audit, enforce, exempt, existing_violations, limits, max_body_bytes, "
    "mutate, namespace, tenants, warn"
)
FPR = "0123456789ABCDEF0123456789ABCDEF01234567"


def refused(tmp_path: Path, text: str) -> str:
    path = tmp_path / "deploysafe.yaml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(ConfigError) as info:
        load(path, "deploysafe.yaml")
    return str(info.value)


def loaded(tmp_path: Path, text: str) -> Config:
    path = tmp_path / "deploysafe.yaml"
    path.write_text(text, encoding="utf-8")
    return load(path, "deploysafe.yaml")


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (
            "render:\n  charts:\n    app: {value: [x.yaml]}\n",
            "deploysafe.yaml:3: render.charts.app.value: unknown key (known keys: namespace,"
            " release, set, values); did you mean `values`?",
        ),
        (
            "render:\n  kustomize:\n    prod: {namespace: 3}\n",
            "deploysafe.yaml:3: render.kustomize.prod.namespace: expected a non-empty string,"
            " got int",
        ),
        (
            "render: {helm: {}}\n",
            "deploysafe.yaml:1: render.helm: unknown key (known keys: charts, kustomize)",
        ),
        (
            "render:\n  charts:\n    app:\n      values: x.yaml\n",
            "deploysafe.yaml:4: render.charts.app.values: expected a list of strings, got a string",
        ),
        (
            "webhook: {enforce: bogus}\n",
            "deploysafe.yaml:1: webhook.enforce: unknown level 'bogus' (expected one of "
            "critical, high, medium, low, info, off)",
        ),
        (
            "webhook: {mutate: always}\n",
            "deploysafe.yaml:1: webhook.mutate: expected one of off, safe, unsafe",
        ),
        (
            "webhook:\n  nonsense: 1\n",
            f"deploysafe.yaml:2: webhook.nonsense: unknown key ({WEBHOOK_KEYS})",
        ),
        (
            "environments: 5\n",
            "deploysafe.yaml:1: environments: expected a mapping, got int",
        ),
        (
            "tenants: {Bad_Name: 3}\n",
            "deploysafe.yaml:1: tenants.Bad_Name: a tenant name is a DNS label (lower-case "
            "letters, digits, -)",
        ),
        (
            "tenants:\n  shop: 3\n",
            "deploysafe.yaml:2: tenants.shop: expected a mapping, got int",
        ),
        (
            "ci:\n  provider: github\n",
            f"deploysafe.yaml:1: ci: unknown key ({KNOWN_TOP})",
        ),
        (
            "secrets:\n  managers: vault\n",
            "deploysafe.yaml:2: secrets.managers: expected a list of strings, got a string",
        ),
        (
            "suppressions:\n  inline: maybe\n",
            "deploysafe.yaml:2: suppressions.inline: expected true or false, got a string",
        ),
        (
            "max_file_size: -1\n",
            "deploysafe.yaml:1: max_file_size: expected a positive number of bytes",
        ),
        (
            "environments:\n  prod:\n    tests: []\n",
            "deploysafe.yaml:2: environments.prod: missing `tenant`",
        ),
        (
            "environments:\n  prod:\n    fail_on: sometimes\n",
            "deploysafe.yaml:3: environments.prod.fail_on: unknown severity 'sometimes' "
            "(expected one of info, low, medium, high, critical)",
        ),
    ],
)
def test_each_invalid_section_is_refused_at_load(tmp_path: Path, text: str, message: str) -> None:
    assert refused(tmp_path, text) == message


def test_every_problem_of_the_file_is_reported_at_once(tmp_path: Path) -> None:
    text = (
        "policy: strict\n"  # 1
        "fail_onn: high\n"  # 2
        "rules:\n"  # 3
        "  ds201: {enabled: false}\n"  # 4
        "  DS201: {enabled: nope}\n"  # 5
        "tenants:\n"  # 6
        "  Bad_Name: {namespaces: [x]}\n"  # 7
        "  shop: {namespaces: ['*']}\n"  # 8
        "environments:\n"  # 9
        "  prod:\n"  # 10
        "    tenant: shop\n"  # 11
        "    render: {manifests: k8s}\n"  # 12
        "    target: {repo: r, path: p}\n"  # 13
        "webhook: {enforce: bogus, nonsense: 1}\n"  # 14
        "ci: {}\n"  # 15
    )
    assert refused(tmp_path, text).splitlines() == [
        "deploysafe.yaml:1: policy: 'strict' is not a valid Level",
        f"deploysafe.yaml:2: fail_onn: unknown key ({KNOWN_TOP}); did you mean `fail_on`?",
        "deploysafe.yaml:4: rules.ds201: unknown rule id (see `deploysafe rules`); did you "
        "mean `DS201`?",
        "deploysafe.yaml:5: rules.DS201.enabled: expected true or false, got a string",
        "deploysafe.yaml:7: tenants.Bad_Name: a tenant name is a DNS label (lower-case "
        "letters, digits, -)",
        "deploysafe.yaml:8: tenants.shop.namespaces.0: '*' is not a namespace name or a glob "
        "over names (a bare `*` would let the tenant into every namespace, kube-system "
        "included)",
        "deploysafe.yaml:14: webhook.enforce: unknown level 'bogus' (expected one of "
        "critical, high, medium, low, info, off)",
        f"deploysafe.yaml:14: webhook.nonsense: unknown key ({WEBHOOK_KEYS})",
        f"deploysafe.yaml:15: ci: unknown key ({KNOWN_TOP})",
    ]  # environments.prod names tenant shop, whose own problem is reported once (line 8)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (
            "tenants:\n  shop:\n    namespace: [shop]\n",
            "deploysafe.yaml:2: tenants.shop: a tenant needs `namespaces` (names or globs it may "
            "deploy to)\n"
            "deploysafe.yaml:3: tenants.shop.namespace: unknown key (known keys: "
            "cluster_kinds, limits, namespaces, pod_security, quota); did you mean "
            "`namespaces`?",
        ),
        (
            "webhook:\n  enforse: high\n",
            f"deploysafe.yaml:2: webhook.enforse: unknown key ({WEBHOOK_KEYS}); did you mean "
            "`enforce`?",
        ),
        (
            "exceptions:\n  - {rule: DS-201, reason: vetted}\n",
            "deploysafe.yaml:2: exceptions.0.rule: unknown rule id 'DS-201' (see `deploysafe "
            "rules`); did you mean `DS201`?",
        ),
    ],
)
def test_did_you_mean(tmp_path: Path, text: str, message: str) -> None:
    assert refused(tmp_path, text) == message


def test_every_section_read_into_types(tmp_path: Path) -> None:
    (tmp_path / "signers.asc").write_text("")
    (tmp_path / "allowed_signers").write_text("")
    cfg = loaded(
        tmp_path,
        f"""\
policy: baseline
fail_on: medium
rules:
  DS201: {{severity: low}}
exceptions:
  - {{rule: DS214, reason: legacy image}}
suppressions: {{annotations: false}}
secrets:
  managers: [sops]
  exclude: [docs/*]
tenants:
  shop:
    namespaces: [shop, "shop-*"]
    cluster_kinds: [cert-manager.io/ClusterIssuer]
environments:
  staging:
    source: {{refs: [refs/heads/main], signed_by: {{ssh_allowed_signers: allowed_signers}}}}
  prod:
    source:
      repos: [github.com/acme/shop]
      signed_by: {{gpg: ["{FPR}"], gpg_keys: signers.asc}}
    tenant: shop
    render: {{manifests: k8s}}
    target: {{repo: git@example.com:acme/env.git, path: prod}}
    sign: {{gpg_key: "0x89abcdef01234567"}}
webhook:
  warn: off
  mutate: safe
  exempt: {{namespaces: [kube-system, "ci-*"]}}
  tenants: {{shop: {{users: [alice]}}}}
""",
    )
    base = tmp_path.resolve()
    assert (cfg.policy, cfg.fail_on) == (Level.BASELINE, Severity.MEDIUM)
    assert cfg.rules["DS201"].severity is Severity.LOW
    assert [e.rule for e in cfg.exceptions] == ["DS214"]
    assert (cfg.inline_suppressions, cfg.annotation_suppressions) == (True, False)
    assert cfg.secrets.managers == frozenset({"sops"}) and cfg.secrets.exclude == ("docs/*",)
    shop = Tenant("shop", ("shop", "shop-*"), (ClusterKind("ClusterIssuer", "cert-manager.io"),))
    assert cfg.tenants == {"shop": shop}
    assert cfg.environments["staging"] == Environment(
        "staging",
        16,
        SourcePolicy(
            refs=("refs/heads/main",),
            signed_by=SignedBy(ssh_allowed_signers=base / "allowed_signers"),
        ),
    )
    assert cfg.environments["prod"] == Environment(
        "prod",
        18,
        SourcePolicy(
            repos=("github.com/acme/shop",),
            signed_by=SignedBy(gpg=(FPR,), gpg_keys=base / "signers.asc"),
        ),
        Deploy(
            tenant=shop,
            render=Render("manifests", base / "k8s", "k8s", "shop"),
            target=ReleaseTarget("git@example.com:acme/env.git", "main", "prod"),
            sign=Signing(gpg_key="89ABCDEF01234567"),
        ),
    )
    # `enforce` defaults to the file's fail_on.
    assert cfg.webhook.defaults == Modes(Severity.MEDIUM, None, None)
    assert cfg.webhook.exempt_namespaces == ("kube-system", "ci-*")
    assert cfg.webhook.tenant_users == {"shop": ("alice",)}
    assert cfg.webhook.mutate is Mutation.SAFE


def test_verify_and_deploy_read_one_environment(tmp_path: Path) -> None:
    cfg = loaded(
        tmp_path,
        "tenants: {shop: {namespaces: [shop]}}\n"
        "environments:\n"
        "  prod:\n"
        "    source: {refs: [refs/heads/main]}\n"
        "    tenant: shop\n"
        "    render: {manifests: k8s}\n"
        "    target: {repo: r, path: p}\n"
        "  qa:\n"
        "    source: {refs: [refs/heads/qa]}\n",
    )
    assert load_environment(cfg, "prod") is cfg.environments["prod"]
    assert cfg.environments["prod"].source == SourcePolicy(refs=("refs/heads/main",))
    with pytest.raises(ConfigError) as info:
        load_environment(cfg, "qa")
    assert str(info.value) == (
        "deploysafe.yaml:8: environments.qa: missing `tenant`, `render` and `target` "
        "(without them it can be verified, not deployed)"
    )


# Which signatures are trusted needs a full fingerprint; which key signs may be a long key ID.
DEPLOY = (
    "tenants: {shop: {namespaces: [shop]}}\n"
    "environments:\n  prod:\n    tenant: shop\n    render: {manifests: k8s}\n"
    "    target: {repo: r, path: p}\n"
)


@pytest.mark.parametrize(
    ("written", "stored"),
    [
        (FPR.lower(), FPR),
        ("0x" + FPR[:16].lower(), FPR[:16]),  # a long key ID
        ("0123 4567 89AB CDEF", FPR[:16]),
        ("AB" * 32, "AB" * 32),  # a v5 fingerprint
    ],
)
def test_signing_key_is_a_fingerprint_or_long_key_id(
    tmp_path: Path, written: str, stored: str
) -> None:
    cfg = loaded(tmp_path, DEPLOY + f"    sign: {{gpg_key: '{written}'}}\n")
    assert cfg.environments["prod"].sign == Signing(gpg_key=stored)


def test_short_key_id_refused_for_signing(tmp_path: Path) -> None:
    assert refused(tmp_path, DEPLOY + "    sign: {gpg_key: 89ABCDEF}\n") == (
        "deploysafe.yaml:7: environments.prod.sign.gpg_key: expected a key fingerprint "
        "(40 hex digits) or long key ID (16 hex digits)"
    )


@pytest.mark.parametrize("key_id", [FPR[:16], FPR[-8:]])
def test_trusted_signers_need_full_fingerprints(tmp_path: Path, key_id: str) -> None:
    (tmp_path / "k.asc").write_text("")
    text = (
        "environments:\n  prod:\n    source:\n      signed_by:\n"
        f"        gpg: ['{key_id}']\n        gpg_keys: k.asc\n"
    )
    assert refused(tmp_path, text) == (
        f"deploysafe.yaml:5: environments.prod.source.signed_by.gpg.0: '{key_id}' is not a "
        "primary-key fingerprint (40 hex digits; key IDs can collide and are not accepted)"
    )


def test_policy_imports_no_higher_layer() -> None:
    code = (
        "import sys, deploysafe.config\n"
        "print('\\n'.join(sorted(m for m in sys.modules if m.startswith('deploysafe'))))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout
    higher = ("rules", "engine", "gitops", "cluster", "k8s", "inputs", "ci", "formats", "cli")
    loaded_layers = {m.split(".")[1] for m in out.split() if m.count(".") >= 1}
    lowest = {
        *("model", "errors", "globs", "printable", "jsondata", "pathnames"),
        *("lazy", "frozen", "hashing"),
    }
    assert loaded_layers <= {"config", "yamlload", "secrets", "host", *lowest}
    assert not loaded_layers & set(higher)


@pytest.mark.parametrize("command", [["scan"], ["verify", "--env", "prod"]])
def test_every_command_refuses_a_bad_section(tmp_path: Path, command: list[str]) -> None:
    cfg = tmp_path / "deploysafe.yaml"
    cfg.write_text(
        "environments:\n  prod: {source: {refs: [refs/heads/main]}}\n"
        "webhook: {enforce: bogus, nonsense: 1}\n"
    )
    result = invoke(*command, str(tmp_path), "--config", str(cfg))
    assert result.exit_code == EXIT_USAGE
    assert result.stdout == ""
    assert result.stderr.splitlines()[-2:] == [
        f"Error: {cfg}:3: webhook.enforce: unknown level 'bogus' (expected one of critical, "
        "high, medium, low, info, off)",
        f"{cfg}:3: webhook.nonsense: unknown key ({WEBHOOK_KEYS})",
    ]


def test_render_settings_are_typed_paths_from_the_policy_folder(tmp_path: Path) -> None:
    cfg = loaded(
        tmp_path,
        "render:\n"
        "  charts:\n"
        "    charts/shop:\n"
        "      values: [charts/shop/values-prod.yaml]\n"
        "      set: [image.tag=1.2.3]\n"
        "      namespace: shop\n"
        "      release: web\n"
        "  kustomize:\n"
        "    overlays/prod: {namespace: shop-prod}\n",
    )
    chart = (tmp_path / "charts" / "shop").resolve()
    settings = cfg.render.charts[chart]
    assert [(v.path, v.where) for v in settings.values] == [
        (
            (tmp_path / "charts/shop/values-prod.yaml").resolve(),
            Where("deploysafe.yaml", 4, "render.charts.charts/shop.values.0"),
        )
    ]
    assert (settings.set_values, settings.namespace, settings.release) == (
        ("image.tag=1.2.3",),
        "shop",
        "web",
    )
    assert cfg.render.kustomize == {
        (tmp_path / "overlays" / "prod").resolve(): KustomizeSettings(namespace="shop-prod")
    }


OUTSIDE = (
    "points outside the repository (the policy file's folder, or the checkout for a policy"
    " kept outside it), after symlinks are followed: every render input must be in the commit"
    " that is checked and released; move it into the repository"
)


def test_render_inputs_outside_the_policy_folder_are_refused(tmp_path: Path) -> None:
    repo = tmp_path / "repo"
    repo.mkdir()
    (tmp_path / "values.yaml").write_text("image: {repository: mallory/shop}\n")
    (repo / "values-prod.yaml").symlink_to(tmp_path / "values.yaml")
    message = refused(
        repo,
        "render:\n"  # 1
        "  charts:\n"  # 2
        "    ../chart: {}\n"  # 3
        "    chart:\n"  # 4
        f"      values: [values-prod.yaml, {tmp_path / 'values.yaml'}]\n"  # 5
        "  kustomize:\n"  # 6
        "    /etc: {}\n"  # 7
        "environments:\n"  # 8
        "  prod:\n"  # 9
        "    tenant: shop\n"  # 10
        "    render: {helm: {chart: ../chart, values: [values-prod.yaml]}, namespace: shop}\n"
        "    target: {repo: x, path: p}\n"  # 12
        "tenants: {shop: {namespaces: [shop]}}\n",
    )
    # The first problem of an item abandons it: values.1 is not read.
    assert message.splitlines() == [
        f"deploysafe.yaml:3: render.charts.../chart: {OUTSIDE}",
        f"deploysafe.yaml:5: render.charts.chart.values.0: {OUTSIDE}",
        f"deploysafe.yaml:7: render.kustomize./etc: {OUTSIDE}",
        f"deploysafe.yaml:11: environments.prod.render.helm.chart: {OUTSIDE}",
    ]


def test_a_policy_kept_outside_the_checkout_reads_render_inputs_from_it(tmp_path: Path) -> None:
    from deploysafe.cli.common import load_config

    checkout, host = tmp_path / "checkout", tmp_path / "host"
    (checkout / "chart").mkdir(parents=True)
    host.mkdir()
    subprocess.run(["git", "init", "-q", str(checkout)], check=True)
    policy = host / "deploysafe.yaml"
    body = (
        "environments:\n"
        "  prod:\n"
        "    tenant: shop\n"
        "    render: {helm: {chart: CHART}, namespace: shop}\n"
        "    target: {repo: x, path: p}\n"
        "tenants: {shop: {namespaces: [shop]}}\n"
    )
    policy.write_text(body.replace("CHART", "chart"))
    env = load_config(policy, checkout).environments["prod"]
    assert env.render.path == (checkout / "chart").resolve()
    policy.write_text(body.replace("CHART", "../host"))
    with pytest.raises(ConfigError) as info:
        load_config(policy, checkout)
    assert str(info.value) == (f"{policy}:4: environments.prod.render.helm.chart: {OUTSIDE}")
