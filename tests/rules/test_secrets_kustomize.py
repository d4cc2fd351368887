"""DS314: kustomization files read as written; generator literals that commit secrets.

Fake secrets are built at run time (tests/secretgen.py): no file holds one."""

from __future__ import annotations

import base64
import json
import textwrap
from pathlib import Path

import pytest

from deploysafe.cli.exits import EXIT_FINDINGS
from deploysafe.config import Config
from deploysafe.engine import RenderOptions, check_documents, scan, sources
from deploysafe.inputs.render import kustomize_available
from deploysafe.model import Target, redact
from deploysafe.rules.secrets.generator_literal import literal
from tests.support.policy import load as load_policy
from tests.support.scantools import invoke, scan_tree
from tests.support.secretgen import expand, fake_github_token

PW = expand("{an:7}-{an:9}", seed=21)  # generic passwords, made up here
PW2 = expand("{an:5}-{an:8}", seed=22)
GH = fake_github_token(seed=23)
URL_PW = expand("{an:6}{dig:3}{an:3}", seed=24)

KUSTOMIZATION = f"""\
apiVersion: kustomize.config.k8s.io/v1beta1
kind: Kustomization
namespace: shop
resources:
- deployment.yaml
secretGenerator:
- name: db
  literals:
  - password={PW}
  - api-key="{PW2}"
  - from-env=${{DB_PASSWORD}}
  - kustomize-var=$(DB_PASSWORD)
  - sops=ENC[AES256_GCM,data:aGVsbG8=,iv:aXY=,tag:dGFn,type:str]
  - hint=<the db password>
  - empty=
  - no-equals-sign
  - 42
- name: tls
  files:
  - tls.crt
  - tls.key
  envs:
  - secrets.env
configMapGenerator:
- name: app
  literals:
  - LOG_LEVEL=debug
  - DB_PASSWORD={PW2}
  - SECRET_NAME=db
  - GITHUB_TOKEN=${{GITHUB_TOKEN}}
  - CI_TOKEN={GH}
  - DATABASE_URL=postgres://shop:{URL_PW}@db.shop.internal:5432/orders
"""
# (line, message) of each DS314 finding in KUSTOMIZATION.
EXPECTED = [
    (9, "secretGenerator 'db' commits the value of 'password' in plain text"),
    (10, "secretGenerator 'db' commits the value of 'api-key' in plain text"),
    (28, "configMapGenerator 'app' puts a credential ('DB_PASSWORD') into a ConfigMap"),
    (31, "configMapGenerator 'app' puts a credential ('CI_TOKEN') into a ConfigMap"),
    (32, "configMapGenerator 'app' puts a credential ('DATABASE_URL') into a ConfigMap"),
]
SECRETS = [PW, PW2, GH, URL_PW]


def ds314(report: object) -> list[tuple[str, int, str]]:
    findings = getattr(report, "findings", ())
    return sorted((f.file, f.line, f.message) for f in findings if f.rule_id == "DS314")


def write(root: Path, rel: str, text: str) -> Path:
    path = root / rel
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


@pytest.mark.parametrize(
    ("name", "is_kustomization"),
    [
        ("kustomization.yaml", True),
        ("overlays/prod/kustomization.yml", True),
        ("base/Kustomization", True),
        ("kustomization.json", False),
        ("my-kustomization.yaml", False),
        ("flux/kustomization-shop.yaml", False),
    ],
)
def test_kustomization_files_are_typed_by_name(name: str, is_kustomization: bool) -> None:
    assert (Target.KUSTOMIZATION in sources.targets_for(name)) is is_kustomization


def test_kustomize_literal_parsing() -> None:
    assert literal("password=a=b") == ("password", "a=b")  # split at the first `=`
    assert literal("password='x y'") == ("password", "x y")  # one pair of quotes removed
    assert literal('password="x') == ("password", '"x')  # unmatched: kept
    assert literal("password=") == ("password", "")
    assert literal("=value") is None and literal("password") is None  # kustomize rejects


def test_generator_literals(tmp_path: Path) -> None:
    write(tmp_path, "k8s/kustomization.yaml", KUSTOMIZATION)
    report = scan_tree(tmp_path)
    got = ds314(report)
    assert [(f, line) for f, line, _ in got] == [
        ("k8s/kustomization.yaml", line) for line, _ in EXPECTED
    ]
    for (_, _, message), (_, start) in zip(got, EXPECTED, strict=True):
        assert message.startswith(start), message
    for finding in report.findings:
        for secret in SECRETS:
            assert secret not in finding.message and secret not in finding.snippet
    # Column: the literal itself, where the `- ` item starts its value.
    first = next(f for f in report.findings if f.rule_id == "DS314")
    assert (first.line, first.column, first.pointer) == (9, 5, "/secretGenerator/0/literals/0")


def test_kustomization_without_kind_or_suffix(tmp_path: Path) -> None:
    write(
        tmp_path, "base/Kustomization", f"secretGenerator:\n- name: db\n  literals: [token={PW}]\n"
    )
    write(
        tmp_path,
        "components/db/kustomization.yaml",
        "apiVersion: kustomize.config.k8s.io/v1alpha1\nkind: Component\n"
        f"secretGenerator:\n- name: db\n  literals:\n  - |\n    password={PW2}\n",
    )
    assert [(f, line) for f, line, _ in ds314(scan_tree(tmp_path))] == [
        ("base/Kustomization", 3),
        ("components/db/kustomization.yaml", 6),
    ]


def test_clean_kustomization(tmp_path: Path) -> None:
    write(
        tmp_path,
        "kustomization.yaml",
        "resources: [external-secret.yaml]\n"
        "secretGenerator:\n- name: db\n  envs: [db.sops.env]\n"
        "- name: token\n  literals: ['token=${API_TOKEN}', 'user=<user>']\n"
        "configMapGenerator:\n- name: app\n  literals: [LOG_LEVEL=debug, DB_HOST=db.shop.svc]\n",
    )
    write(tmp_path, "db.sops.env", "DB_PASSWORD=ENC[AES256_GCM,data:aGVsbG8=,type:str]\n")
    report = scan_tree(tmp_path)
    assert ds314(report) == [] and report.errors == ()


def test_policy_exclusions_and_references_apply(tmp_path: Path) -> None:
    write(tmp_path, "vendor/kustomization.yaml", f"secretGenerator:\n- literals: [a={PW}]\n")
    write(
        tmp_path,
        "app/kustomization.yaml",
        "secretGenerator:\n- name: db\n  literals: ['password=conjur:shop/db']\n",
    )
    write(
        tmp_path,
        "deploysafe.yaml",
        "secrets:\n  exclude: ['vendor/*']\n  references: ['conjur:']\n",
    )
    cfg = load_policy(tmp_path / "deploysafe.yaml")
    assert ds314(scan_tree(tmp_path, cfg)) == []


def test_unnamed_generator_is_labelled_by_position(tmp_path: Path) -> None:
    write(tmp_path, "kustomization.yaml", f"secretGenerator:\n- literals: [a={PW}]\n")
    assert ds314(scan_tree(tmp_path)) == [
        (
            "kustomization.yaml",
            2,
            "secretGenerator entry 1 commits the value of 'a' in plain text; the generated "
            f"Secret only base64-encodes it: {PW[:3]}…({len(PW)} chars)",
        )
    ]


def test_broken_kustomization_is_one_input_error(tmp_path: Path) -> None:
    write(tmp_path, "a/kustomization.yaml", "secretGenerator: [\n")
    write(tmp_path, "b/Kustomization", "secretGenerator: [\n")
    report = scan_tree(tmp_path)
    assert [(e.file, e.line) for e in report.errors] == [
        ("a/kustomization.yaml", 2),
        ("b/Kustomization", 2),
    ]


@pytest.mark.skipif(kustomize_available() is None, reason="neither kustomize nor kubectl")
def test_read_as_written_when_the_folder_is_rendered(tmp_path: Path) -> None:
    write(
        tmp_path,
        "k8s/kustomization.yaml",
        f"namespace: shop\nsecretGenerator:\n- name: db\n  literals:\n  - password={PW}\n",
    )
    report = scan([tmp_path], Config(), root=tmp_path, render=RenderOptions(), jobs=1)
    assert any("built 1 kustomization" in n for n in report.notes)
    assert [(f, line) for f, line, _ in ds314(report)] == [("k8s/kustomization.yaml", 5)]
    # The build's Secret is DS310's, at the generator; both carry only the redacted form.
    assert [(f.rule_id, f.line) for f in report.findings if f.rule_id == "DS310"] == [("DS310", 2)]


@pytest.mark.parametrize("fmt", ["text", "json", "sarif"])
def test_no_output_prints_a_generator_secret(tmp_path: Path, fmt: str) -> None:
    write(tmp_path, "k8s/kustomization.yaml", KUSTOMIZATION)
    out = tmp_path / f"report.{fmt}"
    result = invoke("scan", str(tmp_path), "--no-render", "--format", fmt, "--output", str(out))
    assert result.exit_code == EXIT_FINDINGS
    text = result.output + out.read_text(encoding="utf-8")
    for secret in SECRETS:
        assert secret not in text, f"{secret[:3]}… printed in full"
    assert f"({len(PW)} chars)" in text
    if fmt == "json":
        rows = json.loads(out.read_text(encoding="utf-8"))["findings"]
        assert sorted(r["line"] for r in rows if r["rule_id"] == "DS314") == [
            line for line, _ in EXPECTED
        ]


ENC = expand("ENC[AES256_GCM,data:{b64:24},iv:{b64:16},tag:{b64:24},type:str]", seed=25)
SOPS_YAML = f"password: {ENC}\nsops:\n    mac: {ENC}\n    version: 3.9.0\n"
CREDS = json.dumps({"password": PW})


def b64(text: str) -> str:
    """As kustomize writes Secret data: base64 wrapped at 70 characters."""
    raw = base64.b64encode(text.encode()).decode()
    return "|\n" + textwrap.indent("\n".join(textwrap.wrap(raw, 70)), "    ")


def test_sops_encrypted_generator_files_are_not_plain_secrets() -> None:
    # What `kustomize build` makes of `envs: [db.sops.env]` and `files: [db.sops.yaml]`
    # (Flux decrypts them at apply time), and of a plain file, in its wrapped base64.
    manifest = (
        "apiVersion: v1\nkind: Secret\nmetadata: {name: db, namespace: shop}\ndata:\n"
        f"  DB_PASSWORD: {b64(ENC)}\n  sops_version: {b64('3.9.0')}\n"
        f"  sops_mac: {b64(ENC)}\n  db.sops.yaml: {b64(SOPS_YAML)}\n---\n"
        "apiVersion: v1\nkind: Secret\nmetadata: {name: plain, namespace: shop}\ndata:\n"
        f"  creds.json: {b64(CREDS)}\n"
    )
    loaded = sources.load(manifest, "k8s/generated.yaml", {Target.KUBERNETES})
    assert not loaded.errors
    report = check_documents(loaded.documents, Config())
    assert [(f.rule_id, f.line, f.message) for f in report.findings] == [
        (
            "DS310",
            24,
            "Secret plain commits secret material (base64 is an encoding, not encryption): "
            f"'creds.json' sets password to a literal credential: {redact(PW)}",
        )
    ]


@pytest.mark.skipif(kustomize_available() is None, reason="neither kustomize nor kubectl")
def test_rendered_sops_generator_is_clean(tmp_path: Path) -> None:
    write(
        tmp_path,
        "k8s/kustomization.yaml",
        "namespace: shop\nsecretGenerator:\n- name: db\n  envs: [db.sops.env]\n"
        "  files: [db.sops.yaml]\n",
    )
    write(tmp_path, "k8s/db.sops.env", f"DB_PASSWORD={ENC}\nsops_version=3.9.0\nsops_mac={ENC}\n")
    write(tmp_path, "k8s/db.sops.yaml", SOPS_YAML)
    report = scan([tmp_path], Config(), root=tmp_path, render=RenderOptions(), jobs=1)
    assert any("built 1 kustomization" in n for n in report.notes)
    assert report.findings == () and report.errors == ()
