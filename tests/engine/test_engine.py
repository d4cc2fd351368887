"""The engine: positions, suppressions, namespace-driven PSS levels, baselines."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import pytest

from deploysafe.config import Config, Exception_
from deploysafe.engine import Report, scan
from deploysafe.model import Finding, Level, Suppression, Target

TODAY = dt.date(2026, 11, 27)

POD = """\
apiVersion: v1
kind: Pod
metadata:
  name: app
  namespace: {ns}
{annotations}spec:
  containers:
  - name: app
    image: registry.example/app:1.0
    securityContext:
      privileged: true{comment}
"""


def pod(ns: str = "shop", annotations: str = "", comment: str = "") -> str:
    return POD.format(ns=ns, annotations=annotations, comment=comment)


def run(tmp_path: Path, text: str, config: Config | None = None, name: str = "pod.yaml") -> Report:
    (tmp_path / name).write_text(text, encoding="utf-8")
    return scan([tmp_path], config or Config(), root=tmp_path, jobs=1, today=TODAY)


def ds201(report: Report) -> list[Finding]:
    return [f for f in report.findings if f.rule_id == "DS201"]


def test_position_of_offending_key(tmp_path: Path) -> None:
    (f,) = ds201(run(tmp_path, pod()))
    assert (f.file, f.line, f.column) == ("pod.yaml", 11, 7)
    assert f.pointer == "/spec/containers/0/securityContext/privileged"
    assert f.snippet == "privileged: true"
    assert f.resource is not None and f.resource.display() == "Pod shop/app"


def test_inline_suppression_with_reason(tmp_path: Path) -> None:
    r = run(tmp_path, pod(comment="  # deploysafe: ignore[DS201] GPU driver needs devices"))
    (f,) = ds201(r)
    assert f.suppressed is not None
    assert (f.suppressed.source, f.suppressed.reason) == ("inline", "GPU driver needs devices")
    assert f not in r.failing


def test_inline_suppression_on_line_above(tmp_path: Path) -> None:
    text = pod().replace(
        "      privileged: true",
        "      # deploysafe: ignore[DS201] host devices (until 2027-01-01)\n      privileged: true",
    )
    (f,) = ds201(run(tmp_path, text))
    assert f.suppressed is not None and f.suppressed.expires == "2027-01-01"


CROSS = """\
apiVersion: rbac.authorization.k8s.io/v1
kind: Role
metadata: {{name: deployer, namespace: shop}}
rules:
- apiGroups: [""]
  resources: ["pods"]
  verbs: ["create"]{comment}
---
apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
  namespace: shop
  annotations: {{deploysafe.io/ignore: "DS509: {reason}"}}
spec:
  template:
    metadata: {{labels: {{app: web}}}}
    spec:
      containers: [{{name: web, image: "web:1.0"}}]
"""


def test_cross_resource_findings_honour_inline_and_annotation_suppressions(
    tmp_path: Path,
) -> None:
    text = CROSS.format(
        comment="  # deploysafe: ignore[DS233] the release job creates its pods",
        reason="the mesh isolates it (until 2027-01-31)",
    )
    got = {
        f.rule_id: f.suppressed
        for f in run(tmp_path, text).findings
        if f.rule_id in ("DS233", "DS509")
    }
    assert got == {
        "DS233": Suppression("inline", "the release job creates its pods"),
        "DS509": Suppression("annotation", "the mesh isolates it", "2027-01-31"),
    }


def test_cross_resource_suppression_that_expired_is_said(tmp_path: Path) -> None:
    text = CROSS.format(comment="", reason="the mesh isolates it (until 2026-01-31)")
    (f,) = (f for f in run(tmp_path, text).findings if f.rule_id == "DS509")
    assert f.suppressed is None
    assert f.message.endswith("(its annotation suppression expired on 2026-01-31)")


def test_inline_suppression_needs_reason(tmp_path: Path) -> None:
    r = run(tmp_path, pod(comment="  # deploysafe: ignore[DS201]"))
    (f,) = ds201(r)
    assert f.suppressed is None
    assert [(e.line, e.message) for e in r.errors] == [
        (11, "inline suppression: a suppression needs a reason")
    ]


def test_expired_suppression_does_not_suppress(tmp_path: Path) -> None:
    r = run(tmp_path, pod(comment="  # deploysafe: ignore[DS201] temp (until 2026-01-01)"))
    (f,) = ds201(r)
    assert f.suppressed is None
    assert f.message.endswith("(its inline suppression expired on 2026-01-01)")


def test_annotation_suppression(tmp_path: Path) -> None:
    ann = '  annotations:\n    deploysafe.io/ignore: "DS201: needs host devices"\n'
    (f,) = ds201(run(tmp_path, pod(annotations=ann)))
    assert f.suppressed is not None and f.suppressed.source == "annotation"


def test_operators_can_switch_inline_and_annotations_off(tmp_path: Path) -> None:
    ann = '  annotations:\n    deploysafe.io/ignore: "DS201: needs host devices"\n'
    text = pod(annotations=ann, comment="  # deploysafe: ignore[DS201] reason")
    cfg = replace(Config(), inline_suppressions=False, annotation_suppressions=False)
    (f,) = ds201(run(tmp_path, text, cfg))
    assert f.suppressed is None


def test_config_exception(tmp_path: Path) -> None:
    exc = Exception_(rule="DS201", reason="vetted", resource="Pod/shop/*")
    (f,) = ds201(run(tmp_path, pod(), replace(Config(), exceptions=(exc,))))
    assert f.suppressed is not None and f.suppressed.source == "config"
    other = Exception_(rule="DS201", reason="vetted", resource="Pod/other/*")
    (g,) = ds201(run(tmp_path, pod(), replace(Config(), exceptions=(other,))))
    assert g.suppressed is None


def test_disabled_rule_and_severity_override(tmp_path: Path) -> None:
    from deploysafe.config import RuleSetting
    from deploysafe.model import Severity

    cfg = replace(Config(), rules={"DS201": RuleSetting(enabled=False)})
    assert ds201(run(tmp_path, pod(), cfg)) == []
    cfg = replace(Config(), rules={"DS201": RuleSetting(severity=Severity.LOW)})
    (f,) = ds201(run(tmp_path, pod(), cfg))
    assert f.severity is Severity.LOW


NAMESPACE = """\
apiVersion: v1
kind: Namespace
metadata:
  name: {name}
  labels:
    pod-security.kubernetes.io/enforce: {level}
    pod-security.kubernetes.io/enforce-version: {version}
---
"""

RESTRICTED_ONLY = """\
apiVersion: v1
kind: Pod
metadata: {{name: app, namespace: {ns}}}
spec:
  containers:
  - name: app
    image: registry.example/app:1.0
"""


def pss_ids(report: Report) -> set[str]:
    return {f.rule_id for f in report.findings if f.pss is not None}


def test_namespace_labels_decide_the_level(tmp_path: Path) -> None:
    """A pod that is fine at baseline is judged at baseline in a baseline namespace."""
    restricted = pss_ids(run(tmp_path, RESTRICTED_ONLY.format(ns="shop")))
    assert "DS215" in restricted  # allowPrivilegeEscalation unset: restricted only
    ns = NAMESPACE.format(name="shop", level="baseline", version="latest")
    (tmp_path / "ns.yaml").write_text(ns, encoding="utf-8")
    assert pss_ids(run(tmp_path, RESTRICTED_ONLY.format(ns="shop"))) == set()


def test_privileged_namespace_turns_pss_off(tmp_path: Path) -> None:
    ns = NAMESPACE.format(name="ops", level="privileged", version="latest")
    r = run(tmp_path, ns + pod(ns="ops"))
    assert pss_ids(r) == set()


def test_namespace_version_is_used(tmp_path: Path) -> None:
    """runAsUser: 0 is allowed before v1.23 at restricted."""
    text = NAMESPACE.format(
        name="old", level="restricted", version="v1.22"
    ) + RESTRICTED_ONLY.format(ns="old").replace(
        "spec:\n", "spec:\n  securityContext: {runAsUser: 0}\n"
    )
    assert "DS218" not in pss_ids(run(tmp_path, text))
    assert "DS218" in pss_ids(run(tmp_path, text.replace("v1.22", "v1.23")))


def test_policy_level_from_config(tmp_path: Path) -> None:
    cfg = replace(Config(), policy=Level.BASELINE)
    assert pss_ids(run(tmp_path, RESTRICTED_ONLY.format(ns="shop"), cfg)) == set()


def test_baseline_fingerprint_ignores_lines(tmp_path: Path) -> None:
    (f,) = ds201(run(tmp_path, pod()))
    (g,) = ds201(run(tmp_path, "\n\n# moved\n" + pod()))
    assert f.line != g.line
    assert f.fingerprint == g.fingerprint
    r = scan(
        [tmp_path],
        Config(),
        root=tmp_path,
        jobs=1,
        today=TODAY,
        baseline=frozenset({f.fingerprint}),
    )
    (h,) = ds201(r)
    assert h.suppressed is not None and h.suppressed.source == "baseline"


def test_parallel_scan_equals_serial(tmp_path: Path) -> None:
    """Both cores give the same report as one."""
    for i in range(60):
        (tmp_path / f"p{i}.yaml").write_text(pod(ns=f"ns{i}") * 1 + "---\n" + "#" * 40000)
    serial = scan([tmp_path], Config(), root=tmp_path, jobs=1, today=TODAY)
    parallel = scan([tmp_path], Config(), root=tmp_path, jobs=2, today=TODAY)
    assert serial.findings == parallel.findings
    assert len(ds201(parallel)) == 60


def test_git_ignored_and_excluded_files_are_skipped(tmp_path: Path) -> None:
    import subprocess

    subprocess.run(["git", "init", "-q", str(tmp_path)], check=True)
    (tmp_path / ".gitignore").write_text("ignored.yaml\n")
    for name in ("kept.yaml", "ignored.yaml"):
        (tmp_path / name).write_text(pod())
    (tmp_path / "vendor").mkdir()
    (tmp_path / "vendor" / "third.yaml").write_text(pod())
    cfg = replace(Config(), exclude=("vendor",))
    r = scan([tmp_path], cfg, root=tmp_path, jobs=1, today=TODAY)
    assert {f.file for f in ds201(r)} == {"kept.yaml"}


def test_unrendered_helm_templates_are_skipped_and_counted(tmp_path: Path) -> None:
    from deploysafe.engine import RenderOptions

    chart = tmp_path / "chart"
    (chart / "templates").mkdir(parents=True)
    (chart / "Chart.yaml").write_text("apiVersion: v2\nname: c\nversion: 0.1.0\n")
    (chart / "templates" / "pod.yaml").write_text("{{- if .Values.on }}\n" + pod() + "{{- end }}\n")
    r = scan(
        [tmp_path],
        Config(),
        root=tmp_path,
        jobs=1,
        today=TODAY,
        render=RenderOptions(enabled=False),
    )
    assert r.errors == ()
    assert r.skipped == 1


def test_an_ignored_folder_named_explicitly_is_scanned(tmp_path: Path) -> None:
    import subprocess

    subprocess.run(["git", "init", "-q", str(tmp_path)], check=True)
    (tmp_path / ".gitignore").write_text("generated/\n")
    (tmp_path / "generated").mkdir()
    (tmp_path / "generated" / "pod.yaml").write_text(pod())
    r = scan([tmp_path / "generated"], Config(), root=tmp_path / "generated", jobs=1)
    assert {f.file for f in ds201(r)} == {"pod.yaml"}
    whole = scan([tmp_path], Config(), root=tmp_path, jobs=1)
    assert ds201(whole) == []


def test_large_non_yaml_files_are_read_for_secrets_up_to_a_larger_cap(tmp_path: Path) -> None:
    cfg = replace(Config(), max_file_size=1000)
    (tmp_path / "bundle.min.js").write_text("var a=1;" * 500)  # 4,000 bytes: under 10x
    (tmp_path / "huge.log").write_text("x" * 20_000)  # over 10x the cap: reported
    (tmp_path / "image.png").write_bytes(b"\x89PNG\0" + b"\0" * 20_000)  # binary: silent
    (tmp_path / "big.yaml").write_text("a: 1\n" * 400)  # YAML over the cap: text only
    r = scan([tmp_path], cfg, root=tmp_path, jobs=1, today=TODAY)
    assert [(e.file, e.message) for e in r.errors] == [
        ("big.yaml", "file is 2000 bytes, over the 1000-byte cap; read for secrets only"),
        ("huge.log", "file is 20000 bytes, over the 10000-byte cap; skipped"),
    ]


def test_odd_value_types_do_not_crash_rules(tmp_path: Path) -> None:
    """Lists where strings belong (the API server would reject them; a scan must not crash)."""
    text = pod().replace(
        "      privileged: true",
        "      privileged: true\n      seccompProfile: {type: [a]}\n"
        "      capabilities: {add: [{x: 1}]}\n      seLinuxOptions: {type: [b]}",
    )
    r = run(tmp_path, text)
    assert r.errors == ()
    assert {"DS201", "DS207", "DS216", "DS217"} <= {f.rule_id for f in r.findings}


def test_a_failing_rule_is_an_error_not_a_crash(tmp_path: Path) -> None:
    from deploysafe.engine.check import Partial, check_document
    from deploysafe.engine.settings import settings_for
    from deploysafe.rules import BY_ID
    from tests.support.ruletools import docs

    def broken(doc, ctx):  # type: ignore[no-untyped-def]
        raise KeyError("boom")
        yield

    rule = replace(BY_ID["DS201"], check=broken)
    out = Partial()
    check_document(docs(pod())[0], settings_for(Config(), {}), [rule], out)
    assert [(e.line, e.kind) for e in out.errors] == [(1, "internal")]
    assert out.errors[0].message == (
        "rule DS201 failed on this document (KeyError); the document is not fully checked"
    )


def test_a_rule_is_given_only_the_objects_it_reads() -> None:
    from deploysafe.engine.check import Partial, check_document
    from deploysafe.engine.settings import settings_for
    from deploysafe.model import Document, Violation
    from deploysafe.rules import BY_ID
    from deploysafe.rules.base import Context
    from tests.support.ruletools import docs

    def everything(doc: Document, ctx: Context) -> Iterator[Violation]:
        yield Violation(("kind",), f"{doc.kind} checked")

    config_map = "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: c\n"
    service = "apiVersion: v1\nkind: Service\nmetadata:\n  name: s\n"
    objects = docs("---\n".join((config_map, pod(), service)))
    s = settings_for(Config(), {})
    for narrowed, seen in (
        ({"pod_only": True}, ["Pod"]),
        ({"kinds": frozenset({"Service", "Pod"})}, ["Pod", "Service"]),
        ({"pod_only": True, "kinds": frozenset({"Service"})}, []),
        ({}, ["ConfigMap", "Pod", "Service"]),
    ):
        rule = replace(BY_ID["DS502"], check=everything, pod_only=False, kinds=None)
        out = Partial()
        for doc in objects:
            check_document(doc, s, [replace(rule, **narrowed)], out)
        assert [f.message for f in out.findings] == [f"{k} checked" for k in seen], narrowed


def test_a_rule_that_recurses_too_deep_is_an_error_for_the_document(tmp_path: Path) -> None:
    """Kind "internal" still: the webhook denies an object a rule could not judge."""
    from deploysafe.engine.check import Partial, check_document
    from deploysafe.engine.settings import settings_for
    from deploysafe.model import Document, Violation
    from deploysafe.rules import BY_ID
    from deploysafe.rules.base import Context
    from tests.support.ruletools import docs

    def deep(doc: Document, ctx: Context) -> Iterator[Violation]:
        yield from deep(doc, ctx)

    rule = replace(BY_ID["DS201"], check=deep)
    out = Partial()
    check_document(docs(pod())[0], settings_for(Config(), {}), [rule, BY_ID["DS502"]], out)
    assert [(e.line, e.kind, e.message) for e in out.errors] == [
        (
            1,
            "internal",
            "rule DS201 could not judge this document, nested too deeply or too large "
            "(RecursionError); the document is not fully checked",
        )
    ]
    assert {f.rule_id for f in out.findings} == {"DS502"}


def test_a_reading_that_fails_costs_only_itself(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A Dockerfile reading that fails (here a stand-in that recurses without end) is an
    error for the file; its text is still read for secrets."""
    from deploysafe.engine import sources
    from deploysafe.inputs.documents import LoadResult
    from tests.support.scantools import scan_tree
    from tests.support.secretgen import fake_github_token

    def endless(text: str, display: str, path: Path | None) -> LoadResult:
        return endless(text, display, path)

    monkeypatch.setitem(sources.BUILDERS, Target.DOCKERFILE, endless)
    (tmp_path / "Dockerfile").write_text(
        f"FROM alpine:3.20\nENV TOKEN={fake_github_token()}\n", encoding="utf-8"
    )
    report = scan_tree(tmp_path)
    assert [(e.file, e.line, e.kind, e.message) for e in report.errors] == [
        (
            "Dockerfile",
            None,
            "input",
            "nested too deeply or too large to read as a dockerfile file (RecursionError); "
            "its other checks still ran",
        )
    ]
    assert [(f.rule_id, f.line) for f in report.findings] == [("DS301", 2)]


def test_a_crd_is_skipped_by_its_kind_unread() -> None:
    from deploysafe.yamlload import top_level_kind

    crd = "apiVersion: apiextensions.k8s.io/v1\nkind: CustomResourceDefinition\nspec:\n  x: 1\n"
    assert top_level_kind(crd) == "CustomResourceDefinition"
    assert top_level_kind(crd.replace("\n", "\r\n")) == "CustomResourceDefinition"


def test_only_documents_that_name_an_unread_kind_are_skipped() -> None:
    from deploysafe.inputs.documents import load_kubernetes

    crd = "apiVersion: apiextensions.k8s.io/v1\nkind: CustomResourceDefinition\n"
    api = "apiVersion: apiregistration.k8s.io/v1\nkind: APIService\n"
    # Names an unread kind in a value, not as its kind: read.
    cm = "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: CustomResourceDefinition\n"
    r = load_kubernetes("---\n".join((crd, cm, api)), "a.yaml")
    assert (r.skipped, [d.kind for d in r.documents]) == (2, ["ConfigMap"])
    assert r.documents[0].locate(("metadata", "name")) == (7, 3)


def test_mapping_keys_are_kubernetes_fields() -> None:
    from deploysafe.yamlload import Parsed, parse_all

    (doc,) = parse_all("a: 0\n1: x\ntrue: y\nfalse: n\n0: z\n'1': w\n1.0: v\n")
    assert isinstance(doc, Parsed)
    # A key Python would merge with an earlier, different field is held as its field name.
    assert list(doc.data.items()) == [("a", 0), (1, "v"), ("true", "y"), (False, "n"), ("0", "z")]
    assert [line for line, _ in doc.warnings] == [6, 7]
    assert doc.positions[(1,)] == (7, 1)
    assert doc.positions[("true",)] == (3, 1)


def test_a_later_kind_key_is_never_skipped_by_the_first(tmp_path: Path) -> None:
    # The parser keeps the last of duplicate keys: this is a Pod, not a CRD.
    crd = "kind: CustomResourceDefinition\n"
    for later in ("kind", '"kind"', "'kind'", "? kind\n", "!!str kind"):
        text = pod().replace("kind: Pod\n", crd + later + ("" if "?" in later else ": Pod\n"))
        if "?" in later:
            text = text.replace("? kind\n", "? kind\n: Pod\n")
        r = run(tmp_path, text)
        assert (r.skipped, len(ds201(r))) == (0, 1), later
    flow = '{"apiVersion": "v1",\nkind: CustomResourceDefinition, "kind": "Pod"}\n'
    assert run(tmp_path, flow).skipped == 0


def test_an_exclude_without_the_dot_keeps_a_dot_folder(tmp_path: Path) -> None:
    for folder in ("config", ".config"):
        (tmp_path / folder).mkdir()
        (tmp_path / folder / "pod.yaml").write_text(pod())
    r = scan([tmp_path], replace(Config(), exclude=("config",)), root=tmp_path, jobs=1)
    assert {f.file for f in ds201(r)} == {".config/pod.yaml"}


def test_an_unknown_enforce_level_is_restricted_as_psa_decides() -> None:
    from deploysafe.engine.namespaces import namespace_policy

    label = "pod-security.kubernetes.io/enforce"
    levels = {v: namespace_policy({label: v}) for v in ("privileged", "Privileged", "restrict")}
    assert levels["privileged"] is not None and levels["privileged"].level is None
    restricted = [levels[v] for v in ("Privileged", "restrict")]
    assert [p.level if p is not None else None for p in restricted] == [Level.RESTRICTED] * 2


def test_a_namespace_with_a_comment_on_its_kind_line_still_sets_the_level(tmp_path: Path) -> None:
    ns = (
        "apiVersion: v1\nkind: Namespace  # the shop\nmetadata:\n  name: shop\n  labels:\n"
        "    pod-security.kubernetes.io/enforce: privileged\n---\n"
    )
    assert [f for f in run(tmp_path, ns + pod()).findings if f.pss is not None] == []


def test_namespace_labels_from_json_files(tmp_path: Path) -> None:
    import json as _json

    ns = {
        "apiVersion": "v1",
        "kind": "Namespace",
        "metadata": {
            "name": "shop",
            "labels": {"pod-security.kubernetes.io/enforce": "baseline"},
        },
    }
    (tmp_path / "ns.json").write_text(_json.dumps(ns, indent=2))
    assert pss_ids(run(tmp_path, RESTRICTED_ONLY.format(ns="shop"))) == set()


def test_rule_crash_messages_never_quote_input(tmp_path: Path) -> None:
    """An exception's text may hold a value from the file; errors carry its type only."""
    from deploysafe.engine.check import Partial, check_document
    from deploysafe.engine.settings import settings_for
    from deploysafe.rules import BY_ID
    from tests.support.ruletools import docs

    secretish = "pa" + "ss" + "w0rd-" + "x" * 12

    def broken(doc, ctx):  # type: ignore[no-untyped-def]
        raise ValueError(secretish)
        yield

    out = Partial()
    check_document(
        docs(pod())[0], settings_for(Config(), {}), [replace(BY_ID["DS201"], check=broken)], out
    )
    assert secretish not in out.errors[0].message


def test_every_type_a_path_can_hold_has_a_builder() -> None:
    """`sources.load` reads each type `targets_for` gives without asking whether it has a
    builder."""
    from deploysafe.engine import sources

    places = [
        "notes.md",
        "Dockerfile",
        "deploy/app.Dockerfile",
        "kustomization.yaml",
        "Kustomization",
        "k8s/app.yaml",
        "data.json",
        ".github/workflows/ci.yml",
        "action.yml",
        ".gitlab-ci.yml",
    ]
    found = {t for place in places for t in sources.targets_for(place)}
    assert found == set(Target) - {Target.KUBERNETES_SET}
    assert found <= set(sources.BUILDERS)
