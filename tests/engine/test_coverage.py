"""Coverage: every path under the scanned folder is scanned, read by a render, or skipped
with a reason, and the scan, its JSON and text reports and `scan --list-files` say which.

One real tree serves every test: a git work tree with an ignored file and folder, an
excluded folder, a dependency folder, a nested repository, a binary, a file over the size
cap, symlinks (inside, outside, broken), a Helm chart and a kustomize folder with a manifest
its kustomization does not list."""

from __future__ import annotations

import json
import subprocess
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import pytest

from deploysafe.config import Config, load
from deploysafe.engine import RenderOptions, plan, scan
from deploysafe.formats import jsonfmt, text
from deploysafe.inputs.discover import Coverage, Outcome, Reason, discover
from deploysafe.rules import BY_ID
from tests.support.scantools import invoke, write_tree

POD = """\
apiVersion: v1
kind: Pod
metadata:
  name: web
  namespace: shop
spec:
  containers:
  - name: app
    image: nginx:1.27
"""
DEPLOYMENT = """\
apiVersion: apps/v1
kind: Deployment
metadata:
  name: {name}
  namespace: shop
spec:
  replicas: {replicas}
  selector:
    matchLabels: {{app: {name}}}
  template:
    metadata:
      labels: {{app: {name}}}
    spec:
      containers:
      - name: app
        image: nginx:1.27
"""
CAP = 1000  # max_file_size: a file over 10 times this is skipped

FILES = {
    ".gitignore": "build/\nlocal.env\n",
    "deploysafe.yaml": f"exclude: [vendor]\nmax_file_size: {CAP}\n",
    "app.yaml": POD,
    "local.env": "MODE=dev\n",
    "build/out.yaml": POD,
    "vendor/lib.yaml": POD,
    "node_modules/pkg/index.js": "module.exports = 1\n",
    "big.yaml": "data: " + "x" * (CAP * 10 + 1) + "\n",
    "chart/Chart.yaml": "apiVersion: v2\nname: web\nversion: 0.1.0\n",
    "chart/values.yaml": "replicas: 2\n",
    "chart/templates/deploy.yaml": DEPLOYMENT.format(
        name="{{ .Release.Name }}-web", replicas="{{ .Values.replicas }}"
    ).replace("{app: {{ .Release.Name }}-web}", "{app: web}"),
    "chart/examples/pod.yaml": POD,
    "k/kustomization.yaml": "resources:\n- deploy.yaml\n",
    "k/deploy.yaml": DEPLOYMENT.format(name="api", replicas=1),
    "k/unlisted.yaml": DEPLOYMENT.format(name="loadgen", replicas=1),
    "other/x.yaml": POD,
}


@pytest.fixture(scope="module")
def tree(tmp_path_factory: pytest.TempPathFactory) -> Path:
    base = tmp_path_factory.mktemp("coverage")
    root = write_tree(base / "repo", FILES)
    (base / "outside.yaml").write_text(POD)
    (root / "logo.png").write_bytes(b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR")
    (root / "link-out.yaml").symlink_to(base / "outside.yaml")
    (root / "alias.yaml").symlink_to("app.yaml")
    (root / "dangling.yaml").symlink_to("missing.yaml")
    subprocess.run(["git", "init", "-q", str(root)], check=True)
    subprocess.run(["git", "init", "-q", str(root / "other")], check=True)
    return root


@pytest.fixture(scope="module")
def config(tree: Path) -> Config:
    return load(tree / "deploysafe.yaml", rule_ids=frozenset(BY_ID))


def records(cov: Sequence[Coverage]) -> list[tuple[str, str, str | None, tuple[str, ...]]]:
    return [(c.path, c.outcome.value, c.reason and c.reason.value, c.renders) for c in cov]


SKIPPED = [
    ("alias.yaml", "skipped", "symlink", ()),
    ("big.yaml", "skipped", "too-large", ()),
    ("build/", "skipped", "ignored-by-git", ()),
    ("dangling.yaml", "skipped", "broken-symlink", ()),
    ("link-out.yaml", "skipped", "symlink-outside", ()),
    ("local.env", "skipped", "ignored-by-git", ()),
    ("logo.png", "skipped", "binary", ()),
    ("node_modules/", "skipped", "tool-folder", ()),
    ("other/", "skipped", "nested-repository", ()),
    ("vendor/", "skipped", "excluded", ()),
]
NO_RENDER = sorted(
    [
        *SKIPPED,
        (".gitignore", "scanned", None, ()),
        ("app.yaml", "scanned", None, ()),
        ("chart/Chart.yaml", "scanned", None, ()),
        ("chart/examples/pod.yaml", "scanned", None, ()),
        ("chart/templates/deploy.yaml", "skipped", "template", ()),
        ("chart/values.yaml", "scanned", None, ()),
        ("deploysafe.yaml", "scanned", None, ()),
        ("k/deploy.yaml", "scanned", None, ()),
        ("k/kustomization.yaml", "scanned", None, ()),
        ("k/unlisted.yaml", "scanned", None, ()),
    ]
)
RENDERED = sorted(
    [
        *SKIPPED,
        (".gitignore", "scanned", None, ()),
        ("app.yaml", "scanned", None, ()),
        ("chart/Chart.yaml", "rendered", None, ("helm chart",)),
        ("chart/examples/pod.yaml", "scanned", "chart-extra", ()),
        ("chart/templates/deploy.yaml", "rendered", None, ("helm chart",)),
        ("chart/values.yaml", "rendered", None, ("helm chart",)),
        ("deploysafe.yaml", "scanned", None, ()),
        ("k/deploy.yaml", "rendered", None, ("kustomize k",)),
        ("k/kustomization.yaml", "rendered", None, ("kustomize k",)),
        ("k/unlisted.yaml", "scanned", "unlisted", ()),
    ]
)
SUMMARY_LINE = (
    "skipped 7 file(s) and 4 folder(s): 2 ignored by git, 1 excluded by `exclude`, "
    "1 a dependency or cache folder, 1 a nested git repository (scan it on its own), "
    "1 a Helm template that needs rendering, 1 binary, 1 too large, "
    "1 a symlink out of the tree, 1 a broken symlink, "
    "1 a symlink to a file scanned under its own name"
)


def test_every_path_has_one_record_without_rendering(tree: Path, config: Config) -> None:
    report = scan([tree], config, root=tree, render=RenderOptions(enabled=False), jobs=1)
    assert records(report.coverage) == NO_RENDER
    # The plan reads no more than it must and says the same.
    assert plan([tree], config, root=tree, render=RenderOptions(enabled=False)) == report.coverage


def test_every_path_has_one_record_with_renders(tree: Path, config: Config) -> None:
    report = scan([tree], config, root=tree, jobs=1)
    assert records(report.coverage) == RENDERED
    assert plan([tree], config, root=tree) == report.coverage
    assert (
        "1 YAML file(s) in a kustomize folder that no kustomization lists: scanned as plain "
        "manifests (k/unlisted.yaml)" in report.notes
    )
    assert (
        "1 YAML file(s) in a Helm chart that are not templates or values: scanned as plain "
        "manifests (chart/examples/pod.yaml)" in report.notes
    )
    # The unlisted manifest is checked as itself: its Deployment has findings there.
    assert {
        f.resource.name for f in report.findings if f.file == "k/unlisted.yaml" and f.resource
    } == {"loadgen"}
    assert {f.file for f in report.findings if f.resource and f.resource.name == "api"} == {
        "k/deploy.yaml"
    }


def test_json_lists_skipped_files_and_counts(tree: Path, config: Config) -> None:
    report = scan([tree], config, root=tree, render=RenderOptions(enabled=False), jobs=1)
    doc = json.loads(jsonfmt.render(report))
    assert doc["version"] == 1
    assert doc["skipped_files"] == [
        {"file": path, "reason": reason, "detail": Reason(reason).text}
        for path, outcome, reason, _ in NO_RENDER
        if outcome == "skipped" and reason is not None
    ]
    assert doc["summary"]["coverage"] == {
        "scanned": 9,
        "rendered": 0,
        "skipped": 11,
        "skipped_by_reason": {
            "ignored-by-git": 2,
            "excluded": 1,
            "tool-folder": 1,
            "nested-repository": 1,
            "template": 1,
            "binary": 1,
            "too-large": 1,
            "symlink-outside": 1,
            "broken-symlink": 1,
            "symlink": 1,
        },
    }


def test_text_summary_counts_skipped_paths_per_reason(tree: Path, config: Config) -> None:
    report = scan([tree], config, root=tree, render=RenderOptions(enabled=False), jobs=1)
    out = text.render(report, width=400)
    # Under the totals, at the top of the summary.
    assert out.splitlines()[2] == f"  {SUMMARY_LINE}"


def test_list_files_text(tree: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tree)
    result = invoke("scan", "--list-files", "--no-render", ".")
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert lines[:4] == [
        "scanned   .gitignore",
        "skipped   alias.yaml  (a symlink to a file scanned under its own name)",
        "scanned   app.yaml",
        "skipped   big.yaml  (too large)",
    ]
    assert "skipped   chart/templates/deploy.yaml  (a Helm template that needs rendering)" in lines
    assert "skipped   build/  (ignored by git)" in lines
    assert lines[-2:] == ["20 path(s): 9 scanned, 0 read by a render, 11 skipped", SUMMARY_LINE]


def test_list_files_json_with_renders(tree: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tree)
    result = invoke("scan", "--list-files", "--format", "json", ".")
    assert result.exit_code == 0, result.output
    doc: dict[str, Any] = json.loads(result.output)
    assert list(doc) == ["version", "tool", "files", "summary"]
    by_path = {f["file"]: f for f in doc["files"]}
    assert [(f["file"], f["outcome"], f["reason"], tuple(f["renders"])) for f in doc["files"]] == (
        RENDERED
    )
    assert by_path["k/unlisted.yaml"] == {
        "file": "k/unlisted.yaml",
        "outcome": "scanned",
        "reason": "unlisted",
        "detail": "not listed by any kustomization: scanned as a plain manifest",
        "renders": [],
    }
    assert doc["summary"]["rendered"] == 5


def test_list_files_refuses_report_formats_and_history(tree: Path) -> None:
    result = invoke("scan", "--list-files", "--format", "sarif", str(tree))
    assert result.exit_code == 2
    assert "--list-files prints text or json, not sarif" in result.output
    result = invoke("scan", "--list-files", "--git-history", str(tree))
    assert result.exit_code == 2
    assert "--list-files lists the files of a tree, not of --git-history" in result.output


def test_files_no_rule_reads_are_not_read(tmp_path: Path) -> None:
    write_tree(tmp_path, {"a.yaml": POD, "README.md": "# hi\n"})
    inv = discover([tmp_path], tmp_path, every_file=False)
    assert inv.files == [str((tmp_path / "a.yaml").resolve())]
    assert inv.skipped == [Coverage("README.md", Outcome.SKIPPED, Reason.NOT_READ)]


def test_a_kustomization_beside_a_chart_keeps_its_inputs(tmp_path: Path) -> None:
    """A folder that is both a chart and a kustomization (one inflating the other): what
    the kustomization names is its input, not a plain manifest of the chart."""
    write_tree(
        tmp_path,
        {
            "mixed/Chart.yaml": "apiVersion: v2\nname: mixed\nversion: 0.1.0\n",
            "mixed/templates/cm.yaml": "apiVersion: v1\nkind: ConfigMap\n",
            "mixed/kustomization.yaml": "patches:\n- path: overlays/patch.yaml\n",
            "mixed/overlays/patch.yaml": "apiVersion: apps/v1\nkind: Deployment\n",
            "mixed/extra.yaml": POD,
        },
    )
    assert records(plan([tmp_path], Config(), root=tmp_path)) == [
        ("mixed/Chart.yaml", "rendered", None, ("helm mixed",)),
        ("mixed/extra.yaml", "scanned", "chart-extra", ()),
        ("mixed/kustomization.yaml", "rendered", None, ("kustomize mixed",)),
        ("mixed/overlays/patch.yaml", "rendered", None, ("kustomize mixed",)),
        ("mixed/templates/cm.yaml", "rendered", None, ("helm mixed",)),
    ]


PRIVILEGED = """\
apiVersion: v1
kind: Pod
metadata:
  name: evil
spec:
  containers:
  - name: c
    image: busybox:1.36
    securityContext:
      privileged: true
"""
SERVICE = """\
apiVersion: v1
kind: Service
metadata:
  name: web
  namespace: shop
spec:
  selector: {app: web}
  ports: [{port: 80}]
"""


def test_files_of_kustomizations_that_are_not_built_are_checked_as_plain_manifests(
    tmp_path: Path,
) -> None:
    """A Component no overlay uses is not built: the manifests its `resources:` list are
    checked as themselves, its patches are not; a base's files belong to the roots that
    build it (not to the base, which is no root)."""
    write_tree(
        tmp_path,
        {
            "base/kustomization.yaml": "resources:\n- service.yaml\n",
            "base/service.yaml": SERVICE,
            "overlays/prod/kustomization.yaml": "resources:\n- ../../base\n",
            "overlays/staging/kustomization.yaml": "resources:\n- ../../base\n",
            "comp/unused/kustomization.yaml": "apiVersion: kustomize.config.k8s.io/v1alpha1\n"
            "kind: Component\nresources:\n- pod.yaml\npatches:\n- path: patch.yaml\n",
            "comp/unused/pod.yaml": PRIVILEGED,
            "comp/unused/patch.yaml": PRIVILEGED,
        },
    )
    report = scan([tmp_path], Config(), root=tmp_path, jobs=1)
    assert records(report.coverage) == [
        ("base/kustomization.yaml", "rendered", None, BOTH),
        ("base/service.yaml", "rendered", None, BOTH),
        ("comp/unused/kustomization.yaml", "skipped", "not-rendered", ()),
        ("comp/unused/patch.yaml", "skipped", "not-rendered", ()),
        ("comp/unused/pod.yaml", "scanned", "unbuilt", ()),
        ("overlays/prod/kustomization.yaml", "rendered", None, ("kustomize overlays/prod",)),
        (
            "overlays/staging/kustomization.yaml",
            "rendered",
            None,
            ("kustomize overlays/staging",),
        ),
    ]
    assert plan([tmp_path], Config(), root=tmp_path) == report.coverage
    privileged = [(f.file, f.line, f.renders) for f in report.findings if f.rule_id == "DS201"]
    assert privileged == [("comp/unused/pod.yaml", 10, ())]
    assert (
        "kustomization comp/unused is not built (see the input errors): the 1 file(s) it lists"
        " were scanned as plain manifests, without its patches (comp/unused/pod.yaml)"
    ) in report.notes
    # Files read, each once: the skipped ones are not counted.
    assert report.files == 5


BOTH = ("kustomize overlays/prod", "kustomize overlays/staging")


def test_kustomizations_kustomize_cannot_read_are_errors_at_their_lines_once(
    tmp_path: Path,
) -> None:
    write_tree(
        tmp_path,
        {
            "k1/kustomization.yaml": "resources: [\n",
            "k2/kustomization.yaml": "",
            "k3/kustomization.yaml": "resources:\n- loop\n",
            "c1/Chart.yaml": "apiVersion: v2\nname: [\n",
            "c1/templates/p.yaml": "apiVersion: v1\nkind: ConfigMap\n",
        },
    )
    (tmp_path / "k3" / "loop").symlink_to("..")
    report = scan([tmp_path], Config(), root=tmp_path, jobs=1)
    kustomize_errors = [(e.file, e.line, e.message) for e in report.errors if e.file[0] == "k"]
    assert kustomize_errors == [
        (
            "k1/kustomization.yaml",
            2,
            "invalid YAML: while parsing a flow node: did not find expected node content;"
            " the kustomization is not built: fix the syntax",
        ),
        (
            "k2/kustomization.yaml",
            1,
            "the kustomization is empty, so it is not built: list its `resources:`, or delete"
            " the file",
        ),
        (
            "k3/kustomization.yaml",
            2,
            "`resources` entry 'loop' references a folder that contains this kustomization:"
            " kustomize cannot build it, so it is not built; remove the entry",
        ),
    ]
    # Helm's own message, at the line where the YAML breaks.
    assert [(e.file, e.line) for e in report.errors if e.file[0] == "c"] == [("c1/Chart.yaml", 3)]
    assert records(report.coverage) == [
        ("c1/Chart.yaml", "skipped", "not-rendered", ()),
        ("c1/templates/p.yaml", "skipped", "not-rendered", ()),
        ("k1/kustomization.yaml", "skipped", "not-rendered", ()),
        ("k2/kustomization.yaml", "skipped", "not-rendered", ()),
        ("k3/kustomization.yaml", "skipped", "not-rendered", ()),
    ]
    assert not [n for n in report.notes if "no kustomization lists" in n]
    assert report.files == 0


def test_a_scan_whose_every_file_is_skipped_has_nothing_to_check(tmp_path: Path) -> None:
    (tmp_path / "logo.png").write_bytes(b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR")
    result = invoke("scan", str(tmp_path / "logo.png"))
    assert result.exit_code == 5
    assert result.stderr == (
        f"error: nothing to check in {tmp_path / 'logo.png'}: no file deploysafe reads is"
        " there (or every one is excluded or skipped); check the path, or pass --allow-empty"
        " if that is expected\n"
    )
    assert invoke("scan", "--allow-empty", str(tmp_path / "logo.png")).exit_code == 0


def test_only_files_holding_objects_are_called_plain_manifests(tmp_path: Path) -> None:
    """A kustomize folder or a chart also holds tool configuration, lock files, the policy
    and extra values files: they are scanned, but only a file with Kubernetes objects is
    named as a manifest the renders leave out."""
    write_tree(
        tmp_path,
        {
            "kustomization.yaml": "resources:\n- deploy.yaml\n",
            "deploy.yaml": DEPLOYMENT.format(name="api", replicas=1),
            "loadgen.yaml": DEPLOYMENT.format(name="loadgen", replicas=1),
            "list.json": '{\n  "apiVersion": "v1",\n  "kind": "List",\n  "items": []\n}\n',
            ".gitpod.yml": "tasks:\n- init: make\n",
            "jsonnetfile.json": '{"version": 1, "dependencies": []}\n',
            "deploysafe.yaml": "fail_on: high\n",
            "chart/Chart.yaml": "apiVersion: v2\nname: web\nversion: 0.1.0\n",
            "chart/values.yaml": "replicas: 2\n",
            "chart/ci/test-values.yaml": "replicas: 3\n",
            "chart/examples/pod.yaml": POD,
        },
    )
    reasons = {c.path: c.reason for c in plan([tmp_path], Config(), root=tmp_path)}
    assert {p: r.value for p, r in reasons.items() if r is not None} == {
        "chart/examples/pod.yaml": "chart-extra",
        "list.json": "unlisted",
        "loadgen.yaml": "unlisted",
    }
    assert reasons[".gitpod.yml"] is None
    assert reasons["chart/ci/test-values.yaml"] is None


def test_a_file_shown_as_its_place_holds_one_string(tmp_path: Path) -> None:
    """Scanned from the repository's top level, a file's place is its shown path: a job
    holds that string once (a large tree has one per file)."""
    from deploysafe.engine import coverage

    subprocess.run(["git", "init", "-q", str(tmp_path)], check=True)
    (tmp_path / "app").mkdir()
    (tmp_path / "app" / "pod.yaml").write_text(POD)
    inv = discover([tmp_path], tmp_path, ())
    (job,) = coverage.plan(inv, charts=False, kustomize=None).jobs
    assert job[1] == job[3] == "app/pod.yaml"
    assert job[1] is job[3]


def test_the_plan_lets_the_render_roots_go(tmp_path: Path) -> None:
    """Each chart and kustomization folder is a `Path`, and nothing reads them after the
    plan: a large tree's are megabytes the scan would hold to its end."""
    from deploysafe.engine import coverage

    (tmp_path / "chart" / "templates").mkdir(parents=True)
    (tmp_path / "chart" / "Chart.yaml").write_text("apiVersion: v2\nname: c\nversion: 1.0.0\n")
    (tmp_path / "chart" / "templates" / "pod.yaml").write_text(POD)
    (tmp_path / "base").mkdir()
    (tmp_path / "base" / "kustomization.yaml").write_text("resources: [pod.yaml]\n")
    (tmp_path / "base" / "pod.yaml").write_text(POD)
    inv = discover([tmp_path], tmp_path, ())
    assert inv.charts and inv.kustomizations
    jobs = coverage.plan(inv, charts=False, kustomize=None).jobs
    assert [job[2] for job in jobs if job[1] == "chart/templates/pod.yaml"] == ["template"]
    assert inv.charts == inv.kustomizations == []


def test_jobs_are_held_as_their_shown_paths_and_read_back_whole() -> None:
    """A job is held as its shown path (its coverage record's string) and built again when
    it is read: the path and the place follow from the scan root and the top level. A job
    for which they do not is kept as it was."""
    from deploysafe.engine.coverage import Jobs

    outside = "../../elsewhere/base/cm.yaml"
    whole = [
        ("/repo/deploy/app/pod.yaml", "app/pod.yaml", "plain", "deploy/app/pod.yaml"),
        ("/repo/deploy/t/x.yaml", "t/x.yaml", "template", "deploy/t/x.yaml"),
        ("/elsewhere/base/cm.yaml", outside, "rendered", outside),
        ("/repo/deploy/odd.yaml", "odd.yaml", "plain", "not/its/place.yaml"),
    ]
    jobs = Jobs("/repo/deploy/", "/repo/")
    for job in whole:
        jobs.append(job)
    assert len(jobs) == 4
    assert list(jobs) == whole
    assert jobs[1:3] == whole[1:3]
    assert jobs[2][1] is jobs[2][3]  # shown as its place: one string
    assert sorted(jobs._odd) == [2, 3]


def test_records_are_held_compactly_and_read_back_as_every_file_s_record() -> None:
    """The plan keeps the records of files not simply scanned; the scan's records are
    every path in order, each read back as the record it stands for."""
    import pickle

    from deploysafe.engine.check import Skipped
    from deploysafe.engine.coverage import Jobs, Plan, outcome

    jobs = Jobs("/r/", "/r/")
    for name in ("b.yaml", "a/t.yaml", "c.txt", "chart/values.yaml", "clash.yaml"):
        jobs.append((f"/r/{name}", name, "plain", name))
    rendered = Coverage("chart/values.yaml", Outcome.RENDERED, renders=("helm chart",))
    p = Plan(jobs, {"chart/values.yaml": rendered})
    assert p.has("b.yaml") and p.has("chart/values.yaml") and not p.has("gone.yaml")
    discovered = [
        Coverage("vendor/", Outcome.SKIPPED, Reason.TOOL_FOLDER),
        Coverage("clash.yaml", Outcome.SKIPPED, Reason.BINARY),
    ]
    skipped = Skipped({"a/t.yaml": Reason.TEMPLATE, "chart/values.yaml": Reason.TEMPLATE})
    got = outcome(p, discovered, skipped)
    want = (
        Coverage("a/t.yaml", Outcome.SKIPPED, Reason.TEMPLATE),
        Coverage("b.yaml", Outcome.SCANNED),
        Coverage("c.txt", Outcome.SCANNED),
        rendered,  # a rendered file stays rendered
        Coverage("clash.yaml", Outcome.SCANNED),  # the plan's record wins
        Coverage("vendor/", Outcome.SKIPPED, Reason.TOOL_FOLDER),
    )
    assert len(got) == 6
    assert tuple(got) == want
    assert got == want
    assert got[1] == want[1] and got[-1] == want[-1]
    assert got[2:4] == want[2:4]
    assert pickle.loads(pickle.dumps(got)) == want
    assert got.has("vendor/") and got.has("c.txt") and not got.has("d.yaml")


def test_the_check_s_records_replace_those_put_together_before_it() -> None:
    """Discovery's and the plan's records are put together while the workers check; then
    each file the check could not use gets its record (a rendered file's stays), one the
    plan does not know sorted in with the others."""
    from deploysafe.engine.check import Skipped
    from deploysafe.engine.coverage import Jobs, Plan, checked, planned, where

    jobs = Jobs("/r/", "/r/")
    for name in ("a.yaml", "b.yaml", "chart/t.yaml", "k/x.yaml"):
        jobs.append((f"/r/{name}", name, "plain", name))
    rendered = Coverage("chart/t.yaml", Outcome.RENDERED, renders=("helm chart",))
    read = Coverage("k/x.yaml", Outcome.SCANNED, renders=("kustomize k",))
    tool = Coverage("z/", Outcome.SKIPPED, Reason.TOOL_FOLDER)
    before = planned(Plan(jobs, {"chart/t.yaml": rendered, "k/x.yaml": read}), [tool])
    plain = (Coverage("a.yaml", Outcome.SCANNED), Coverage("b.yaml", Outcome.SCANNED))
    assert tuple(checked(before, Skipped())) == (*plain, rendered, read, tool)
    skipped = Skipped(
        {"b.yaml": Reason.TEMPLATE, "chart/t.yaml": Reason.TEMPLATE, "k/x.yaml": Reason.BINARY}
    )
    got = checked(before, skipped)
    assert tuple(got) == (
        plain[0],
        Coverage("b.yaml", Outcome.SKIPPED, Reason.TEMPLATE),
        rendered,
        Coverage("k/x.yaml", Outcome.SKIPPED, Reason.BINARY),
        tool,
    )
    assert list(where(got, lambda o, r: o is Outcome.SKIPPED)) == [got[1], got[3], tool]
    assert tuple(checked(before, Skipped())) == (*plain, rendered, read, tool)  # as it was
    unknown = checked(before, Skipped({"new.yaml": Reason.BINARY, "b.yaml": Reason.TEMPLATE}))
    assert tuple(unknown) == (
        plain[0],
        Coverage("b.yaml", Outcome.SKIPPED, Reason.TEMPLATE),
        rendered,
        read,
        Coverage("new.yaml", Outcome.SKIPPED, Reason.BINARY),
        tool,
    )
    assert unknown.has("new.yaml") and not got.has("new.yaml")
    # Among many paths, the few the check could not use are found one at a time.
    for n in range(200):
        jobs.append((f"/r/m/{n:03}.yaml", f"m/{n:03}.yaml", "plain", f"m/{n:03}.yaml"))
    many = planned(Plan(jobs, {}), [])
    few = checked(many, Skipped({"m/007.yaml": Reason.BINARY, "a.yaml": Reason.TEMPLATE}))
    assert [c.path for c in where(few, lambda o, r: o is Outcome.SKIPPED)] == [
        "a.yaml",
        "m/007.yaml",
    ]
    assert len(few) == 204 and few.has("m/199.yaml") and few[-1].outcome is Outcome.SCANNED
    assert checked(many, Skipped({"m/0071.yaml": Reason.BINARY})).has("m/0071.yaml")


def test_records_are_counted_and_chosen_by_kind_as_their_records_are() -> None:
    """A scan's records are counted and chosen from their kinds, without a record made:
    the same answers as the records themselves give."""
    from collections import Counter

    from deploysafe.engine.check import Skipped
    from deploysafe.engine.coverage import (
        Jobs,
        Plan,
        counted,
        outcome,
        skipped_by_reason,
        skipped_records,
        was_read,
        where,
    )

    jobs = Jobs("/r/", "/r/")
    for name in ("b.yaml", "a/t.yaml", "c.txt", "chart/values.yaml", "k/x.yaml"):
        jobs.append((f"/r/{name}", name, "plain", name))
    rendered = Coverage("chart/values.yaml", Outcome.RENDERED, renders=("helm chart",))
    unlisted = Coverage("k/x.yaml", Outcome.SCANNED, Reason.UNLISTED)
    p = Plan(jobs, {"chart/values.yaml": rendered, "k/x.yaml": unlisted})
    discovered = [
        Coverage("vendor/", Outcome.SKIPPED, Reason.TOOL_FOLDER),
        Coverage("img.png", Outcome.SKIPPED, Reason.BINARY),
        Coverage("z.bin", Outcome.SKIPPED, Reason.BINARY),
    ]
    got = outcome(p, discovered, Skipped({"a/t.yaml": Reason.TEMPLATE}))
    every = tuple(got)
    assert counted(got) == counted(every) == Counter((c.outcome, c.reason) for c in every)
    assert (
        skipped_by_reason(got)
        == skipped_by_reason(every)
        == {
            Reason.BINARY: 2,
            Reason.TEMPLATE: 1,
            Reason.TOOL_FOLDER: 1,
        }
    )
    assert (
        list(skipped_records(got))
        == list(skipped_records(every))
        == [c for c in every if c.outcome is Outcome.SKIPPED]
    )
    keeps: list[Callable[[Outcome, Reason | None], bool]] = [
        lambda o, r: o is Outcome.RENDERED,
        lambda o, r: r is None,
        lambda o, r: o is Outcome.SCANNED and r is not None,
    ]
    for keep in [*keeps, lambda o, r: r is not None, was_read]:
        assert list(where(got, keep)) == list(where(every, keep))
        assert list(where(got, keep)) == [c for c in every if keep(c.outcome, c.reason)]
        files = [c for c in every if keep(c.outcome, c.reason) and not c.path.endswith("/")]
        assert got.files(keep) == len(files)
    assert got.files(was_read) == 4  # the folder and the files skipped are not counted


def test_a_file_s_parts_below_a_chart_are_read_from_its_text() -> None:
    """The plan reads a real path's parts below a chart from its text: the answer
    `Path.relative_to` gives."""
    from deploysafe.engine.coverage import _parts

    chart = Path("/r/charts/web")
    for path in (
        "/r/charts/web/templates/a.yaml",
        "/r/charts/web/charts/db/templates/x.yaml",
        "/r/charts/web/values.yaml",
        "/r/charts/web//templates/a.yaml",
        "/r/charts/web/./templates/a.yaml",
    ):
        assert tuple(_parts(path, chart)) == Path(path).relative_to(chart).parts, path
