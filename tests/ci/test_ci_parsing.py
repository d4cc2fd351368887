"""The pieces under the CI rules: YAML with positions, expressions, contexts, commands,
GitLab includes; and bad input that must give a clear error, never a traceback."""

from __future__ import annotations

import csv
import random
import re
from pathlib import Path

import pytest

from deploysafe import yamlload
from deploysafe.ci import commands, expressions, gitlab, yamlci
from deploysafe.ci.contexts import Trust, trust
from deploysafe.ci.yamlci import CiDocument
from deploysafe.config import Config
from deploysafe.engine import check_documents, scan, sources
from deploysafe.model import Document, Target
from deploysafe.yamlload import YamlProblem
from tests.support.ci_conformance import conformance_root

# ---------------------------------------------------------------- YAML


def test_yaml_core_schema() -> None:
    loaded = yamlci.load("on: push\nyes: no\nt: true\nn: 012\nf: 1.5\ns: '1'\nz: ~\n")
    assert isinstance(loaded, yamlci.Loaded)
    assert loaded.data == {
        "on": "push",
        "yes": "no",
        "t": True,
        "n": 12,
        "f": 1.5,
        "s": "1",
        "z": None,
    }


@pytest.mark.parametrize(
    ("keys", "duplicates"),
    [
        (("1", "true"), []),  # two keys to GitHub Actions and GitLab, as to Kubernetes
        (("1", "True"), []),
        (("true", "True"), []),  # CI keys are their text: two keys, not one boolean
        (("1", '"1"'), [3]),  # the same text, plain and quoted: one key
        (("on", "'on'"), [3]),
    ],
)
def test_duplicate_keys_are_keys_with_the_same_text(
    keys: tuple[str, str], duplicates: list[int]
) -> None:
    loaded = yamlci.load(f"a:\n  {keys[0]}: x\n  {keys[1]}: y\n")
    assert isinstance(loaded, yamlci.Loaded)
    assert [line for line, _ in loaded.warnings] == duplicates
    assert len(loaded.data["a"]) == 2 - len(duplicates)


def test_alias_paths_point_at_the_anchor() -> None:
    text = "a: &x\n  k: v\nb: *x\nc:\n  <<: *x\n  own: 1\n"
    loaded = yamlci.load(text)
    assert isinstance(loaded, yamlci.Loaded)
    assert loaded.positions[("b", "k")] == (2, 3)
    assert loaded.positions[("c", "k")] == (2, 3)
    assert loaded.positions[("c", "own")] == (6, 3)
    assert loaded.data["c"] == {"own": 1, "k": "v"}


def test_block_scalar_offsets() -> None:
    text = "run: |\n  echo one\n  echo two || true\nx: 'quoted'\n"
    loaded = yamlci.load(text)
    assert isinstance(loaded, yamlci.Loaded)
    doc = CiDocument(
        "f.yml", loaded.data, loaded.positions, text.splitlines(), text=text, scalars=loaded.scalars
    )
    value = loaded.data["run"]
    assert doc.at_offset(("run",), value, value.index("||")) == (3, 12)
    assert doc.value_at(("x",)) == (4, 5)


def test_alias_bomb_is_refused() -> None:
    lines = ["a: &a [x, x, x, x, x, x, x, x, x, x]"]
    lines += [
        f"{chr(97 + i)}: &{chr(97 + i)} [{', '.join(['*' + chr(96 + i)] * 10)}]"
        for i in range(1, 9)
    ]
    loaded = yamlci.load("\n".join(lines) + "\n")
    assert isinstance(loaded, YamlProblem)
    assert "alias" in str(loaded)


# ---------------------------------------------------------------- expressions


def test_find_skips_braces_in_strings() -> None:
    text = "a ${{ format('}}{0}', github.head_ref) }} b ${{ x }}"
    found = list(expressions.find(text))
    assert [f.body.strip() for f in found] == ["format('}}{0}', github.head_ref)", "x"]


@pytest.mark.parametrize(
    ("body", "flows"),
    [
        ("github.event.issue.title", ["github.event.issue.title"]),
        ("github.event['issue']['title']", ["github.event.issue.title"]),
        ("github.event.commits[0].message", ["github.event.commits.*.message"]),
        ("contains(github.event.issue.title, 'x')", []),
        ("github.event.issue.title == 'x'", []),
        ("!github.head_ref", []),
        ("a && b || c", ["b", "c"]),
        ("format('{0}-{1}', a, b)", ["a", "b"]),
        ("toJSON(github.event)", ["github.event"]),
        ("fromJSON(steps.x.outputs.y).z", ["steps.x.outputs.y.z"]),
        ("(a || b).number", ["a.number", "b.number"]),
    ],
)
def test_flows(body: str, flows: list[str]) -> None:
    tree = expressions.parse(body)
    assert [".".join(f.path) for f in expressions.flows(tree)] == flows


def test_bad_expression_is_an_error() -> None:
    with pytest.raises(expressions.ExpressionError):
        expressions.parse("a ==")
    with pytest.raises(expressions.ExpressionError):
        expressions.parse("a $ b")


# ---------------------------------------------------------------- contexts


@pytest.mark.parametrize(
    ("context", "expected"),
    [
        ("github.event.issue.title", Trust.UNTRUSTED),
        ("github.head_ref", Trust.UNTRUSTED),
        ("github.ref", Trust.WRITER),  # only people who can push choose a ref name
        ("github.ref_name", Trust.WRITER),
        ("github.event.ref", Trust.WRITER),
        ("github.event.pull_request.head.ref", Trust.UNTRUSTED),  # a fork's branch
        ("github.event.pull_request.user.login", Trust.SAFE),  # [A-Za-z0-9-] only
        ("github.actor", Trust.SAFE),
        ("github.event.pull_request.user.name", Trust.UNTRUSTED),
        ("github.event.pull_request.head.sha", Trust.SAFE),
        ("github.event.issue.number", Trust.SAFE),
        ("github.sha", Trust.SAFE),
        ("github.event.discussion.body", Trust.UNTRUSTED),
        ("github.event.client_payload.anything", Trust.UNTRUSTED),
        ("env.x", Trust.OTHER),
    ],
)
def test_trust(context: str, expected: Trust) -> None:
    assert trust(tuple(context.split("."))) is expected


def test_untrusted_list_covers_every_peer_context() -> None:
    """Every context any peer tool flags (untrusted-contexts.json) is untrusted here."""
    root = conformance_root()
    if root is None:
        pytest.skip("conformance data not found")
    import json

    data = json.loads((root / "ci" / "untrusted-contexts.json").read_text(encoding="utf-8"))
    for row in data["contexts"]:
        ctx = row["context"]
        if ctx.startswith("toJSON("):
            path, whole = tuple(ctx[7:-1].split(".")), True
        else:
            path, whole = tuple(ctx.split(".")), False
        assert trust(path, whole) is Trust.UNTRUSTED, ctx


def test_zizmor_fixed_contexts_are_safe() -> None:
    """zizmor's 'fixed' contexts (ids, SHAs, flags): none is called untrusted here, except
    the few free-text-named fields listed below."""
    root = conformance_root()
    if root is None:
        pytest.skip("conformance data not found")
    path = root / "ci" / "zizmor" / "crates" / "zizmor" / "data" / "context-capabilities.csv"
    with path.open(encoding="utf-8") as fh:
        rows = [r for r in csv.reader(fh) if len(r) == 2]
    fixed = [r[0] for r in rows if r[1] == "fixed"]
    flagged = [c for c in fixed if trust(tuple(c.lower().split("."))) is Trust.UNTRUSTED]
    assert flagged == []


# ---------------------------------------------------------------- commands


@pytest.mark.parametrize(
    ("script", "tests", "deploys"),
    [
        ("pytest -q", True, False),
        ("python -m pytest tests/", True, False),
        ("npm ci && npm test", True, False),
        ("go test ./...", True, False),
        ("echo pytest", False, False),
        ("# pytest\nmake", False, False),
        ("kubectl apply -f k8s/", False, True),
        ("kubectl get pods", False, False),
        ("helm upgrade --install shop chart/", False, True),
        ("helm template chart/", False, False),
        ("terraform plan", False, False),
        ("terraform apply -auto-approve", False, True),
        ("deploysafe deploy prod", False, True),
        ("argocd app sync shop", False, True),
        ("helm -n prod --kube-context eu upgrade shop chart/", False, True),
        ("helm plugin install https://github.com/helm-unittest/helm-unittest", False, False),
        ("helm repo add bitnami https://charts.bitnami.com/bitnami", False, False),
        ("kind create cluster\nkubectl apply -f k8s/", False, False),
        ("kind create cluster\nterraform apply -auto-approve", False, True),
        ("conftest test deploy/ --policy policy/", True, False),
        ("opa test policy/", True, False),
        ("kubeconform -strict -summary k8s/", True, False),
        ("kustomize build overlays/prod | kubeval --strict", True, False),
        ("helm unittest charts/shop", True, False),
    ],
)
def test_commands(script: str, tests: bool, deploys: bool) -> None:
    assert commands.runs_tests(script) is tests
    assert commands.deploys(script) is deploys


@pytest.mark.parametrize(
    ("script", "swallowed"),
    [
        ("pytest || true", ["|| true"]),
        ("pytest || echo failed", ["|| echo failed"]),
        ("npm test; exit 0", ["exit 0"]),
        ("set +e\npytest", ["set +e"]),
        ("set +e\npytest\nset -e", ["set +e"]),
        ("set +e\nset -e\npytest", []),
        ("set +e\npytest\nexit $?", []),
        ("pytest && echo ok", []),
        ("ruff check . || true", []),
        ("pytest \\\n  --maxfail=1 || true", ["|| true"]),
        ("pytest tests/ ||\n  echo 'tests failed'", ["|| echo 'tests failed'"]),
        ("go test ./... &&\n  echo done || true", ["|| true"]),
        ("(\n  cd app\n  npm test\n) || true", ["|| true"]),
        ("{\n  pytest -x\n} || :", ["|| :"]),
        ("(\n  cd app\n  npm run lint\n) || true", []),
        ("conftest test k8s/ || true", ["|| true"]),
        ("kubeconform k8s/ || echo invalid", ["|| echo invalid"]),
    ],
)
def test_swallowed(script: str, swallowed: list[str]) -> None:
    assert [s.text for s in commands.swallowed_tests(script)] == swallowed


# ---------------------------------------------------------------- GitLab includes


def _gitlab(tmp_path: Path, files: dict[str, str]) -> tuple[list[CiDocument], list[str]]:
    for name, text in files.items():
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text(text, encoding="utf-8")
    root = tmp_path / ".gitlab-ci.yml"
    result = gitlab.build(root.read_text(encoding="utf-8"), ".gitlab-ci.yml", root)
    docs = [d for d in result.documents if isinstance(d, CiDocument)]
    return docs, [f"{e.file}:{e.line}: {e.message}" for e in result.errors]


def test_missing_include_names_the_line(tmp_path: Path) -> None:
    _, errors = _gitlab(tmp_path, {".gitlab-ci.yml": "include:\n  - local: ci/nope.yml\n"})
    assert errors == [".gitlab-ci.yml:2: include 'ci/nope.yml': no such file"]


def test_include_outside_the_repository(tmp_path: Path) -> None:
    (tmp_path / "outside.yml").write_text("x: {script: [a]}\n", encoding="utf-8")
    _, errors = _gitlab(tmp_path / "repo", {".gitlab-ci.yml": "include: ../outside.yml\n"})
    assert errors == [".gitlab-ci.yml:1: include '../outside.yml' points outside the repository"]


def test_include_loop_and_extends_loop(tmp_path: Path) -> None:
    docs, errors = _gitlab(
        tmp_path,
        {
            ".gitlab-ci.yml": "include: a.yml\njob:\n  extends: .b\n  script: [x]\n",
            "a.yml": "include: a.yml\n.b:\n  extends: job\n",
        },
    )
    assert "a.yml:1: include 'a.yml' includes itself" in errors
    assert any("extends of" in e and "a loop" in e for e in errors)
    assert docs


def test_included_keys_keep_their_file(tmp_path: Path) -> None:
    docs, errors = _gitlab(
        tmp_path,
        {
            ".gitlab-ci.yml": "include: [ci/t.yml]\njob:\n  extends: .t\n  stage: test\n",
            "ci/t.yml": "\n.t:\n  script:\n    - make\n",
        },
    )
    assert errors == []
    by_file = {d.file: d for d in docs}
    assert set(by_file) == {".gitlab-ci.yml", "ci/t.yml"}
    assert by_file["ci/t.yml"].positions[("job", "script", 0)] == (4, 7)
    assert ("job", "script", 0) not in by_file[".gitlab-ci.yml"].positions
    assert by_file[".gitlab-ci.yml"].positions[("job", "stage")] == (4, 3)


# ---------------------------------------------------------------- bad input


@pytest.mark.parametrize(
    "text",
    [
        "on: [push\n",
        "- a\n- b\n",
        "on: 5\njobs: [1, 2]\n",
        "on: push\njobs:\n  a: 5\n  b:\n    steps: nope\n"
        "  c:\n    steps: [1, {uses: 7}, {run: [x]}]\n",
        "on: push\njobs:\n  a:\n    runs-on: {group: 1}\n    strategy: {matrix: 3}\n",
        "on: push\njobs:\n  a:\n    steps:\n      - run: echo ${{ github.event.issue.title\n",
        "on: push\njobs:\n  a:\n    if: ${{ a == }}\n    needs: 5\n    steps: []\n",
        "on: {pull_request_target: 1}\njobs:\n  a:\n    steps:\n      - uses: actions/checkout\n"
        "        with: {ref: [1]}\n",
    ],
)
def test_odd_workflows_never_crash(text: str) -> None:
    for name, target in (
        (".github/workflows/x.yml", Target.GITHUB_WORKFLOW),
        ("action.yml", Target.GITHUB_ACTION),
        (".gitlab-ci.yml", Target.GITLAB_CI),
    ):
        result = sources.load(text, name, {target})
        report = check_documents(result.documents, Config())
        assert all("internal error" not in e.message for e in report.errors)


def test_invalid_workflow_is_a_clear_input_error(tmp_path: Path) -> None:
    wf = tmp_path / ".github" / "workflows" / "x.yml"
    wf.parent.mkdir(parents=True)
    wf.write_text("on: push\njobs:\n  a: [\n", encoding="utf-8")
    report = scan([tmp_path], Config(), root=tmp_path, jobs=1)
    assert [(e.file, e.line) for e in report.errors] == [(".github/workflows/x.yml", 4)]
    assert report.errors[0].message.startswith("invalid YAML")


def test_every_zizmor_fixture_loads_without_internal_errors() -> None:
    root = conformance_root()
    if root is None:
        pytest.skip("conformance data not found")
    data = root / "ci" / "zizmor" / "crates" / "zizmor" / "tests" / "integration" / "test-data"
    count = 0
    for path in sorted(data.rglob("*.y*ml")):
        text = path.read_text(encoding="utf-8", errors="replace")
        for name in (".github/workflows/x.yml", "action.yml", ".gitlab-ci.yml"):
            result = sources.load(
                text, name, {Target.GITHUB_WORKFLOW, Target.GITHUB_ACTION, Target.GITLAB_CI}
            )
            check_documents(result.documents, Config())
            count += 1
    assert count > 300


def test_gitlab_spec_header_is_skipped(tmp_path: Path) -> None:
    docs, errors = _gitlab(
        tmp_path,
        {
            ".gitlab-ci.yml": "spec:\n  inputs:\n    stage: {default: test}\n---\n"
            "unit:\n  script: [pytest]\n  allow_failure: true\n",
        },
    )
    assert errors == []
    assert docs[0].positions[("unit", "allow_failure")] == (7, 3)
    report = check_documents(docs, Config())
    assert [(f.rule_id, f.line) for f in report.findings] == [("DS604", 7)]


def test_gitlab_nested_references(tmp_path: Path) -> None:
    docs, errors = _gitlab(
        tmp_path,
        {
            ".gitlab-ci.yml": (
                ".names:\n  list: ['.x', y]\n"
                ".base:\n  script:\n    - pytest || true\n"
                ".mid:\n  script:\n    - !reference [.base, script]\n"
                "unit:\n  script:\n    - !reference [.mid, script]\n"
                "other:\n  script: !reference [.names, list]\n"
            )
        },
    )
    assert errors == []
    pipe = gitlab.pipeline_of(docs[0])
    assert [line for _, line in pipe.by_name["unit"].script_lines()] == ["pytest || true"]
    assert pipe.by_name["other"].data["script"] == [".x", "y"]  # a value, not a reference
    report = check_documents(docs, Config())
    assert [(f.rule_id, f.line) for f in report.findings] == [("DS604", 5)]


# ---------------------------------------------------------------- one parse a file

_SHARED_CASES = [
    "on: push\njobs:\n  a:\n    runs-on: ubuntu-latest\n    steps:\n"
    "      - run: echo ${{ github.ref }}\n",
    "---\non: [push]\njobs: {a: {steps: [{uses: ./act}]}}\n",
    "x: &x {runs-on: a, if: yes}\njobs:\n  a:\n    <<: *x\n    steps: [{run: 'b'}]\non: 1\non: 2\n",
    "apiVersion: v1\nkind: List\nitems: [{apiVersion: v1, kind: Pod, metadata: {name: p}}]\n",
    "jobs: !tagged {a: 1}\nwhen: 2024-01-01\nn: 0o17\n",
    "on: push\njobs:\n  a: [\n",
    "on: push\n---\njobs: {}\n",
    "on: push\njobs: {}\n...\n---\nbroken: [\n",
    "",
    "# only a comment\n",
    "- a\n- b\n",
]


class _Counting(yamlload._FastLoader):
    made = 0

    def __init__(self, text: str) -> None:
        _Counting.made += 1
        super().__init__(text)


@pytest.mark.parametrize("name", [".github/workflows/x.yml", "action.yml"])
def test_a_github_file_is_composed_once_for_its_readings(
    name: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(yamlload, "_FastLoader", _Counting)
    monkeypatch.setattr(yamlci, "_Loader", _Counting)
    text = _SHARED_CASES[0] if name != "action.yml" else "runs: {using: composite, steps: []}\n"
    _Counting.made = 0
    result = sources.load(text, name, frozenset(Target))
    assert {d.type for d in result.documents} >= {Target.TEXT}
    assert len(result.documents) == 2
    assert _Counting.made == 1


@pytest.mark.parametrize("text", _SHARED_CASES)
@pytest.mark.parametrize(
    ("name", "target"),
    [(".github/workflows/x.yml", Target.GITHUB_WORKFLOW), ("action.yml", Target.GITHUB_ACTION)],
)
def test_a_shared_parse_reads_as_parses_of_its_own(text: str, name: str, target: Target) -> None:
    shared = sources.load(text, name, {Target.KUBERNETES, target})
    alone = [sources.BUILDERS[t](text, name, None) for t in (Target.KUBERNETES, target)]
    errors = []
    for e in (e for r in alone for e in r.errors):
        if e not in errors:
            errors.append(e)
    assert shared.errors == errors
    docs = [d for r in alone for d in r.documents]
    assert [_reading(d) for d in shared.documents] == [_reading(d) for d in docs]


def _reading(doc: Document) -> object:
    if isinstance(doc, CiDocument):
        return doc.type, doc.data, doc.positions, dict(doc.scalars), doc.starts, doc.model
    return doc.type, doc.data, doc.positions


def test_line_starts_are_where_each_break_ends() -> None:
    """A text without CR is cut at its "\\n"s; any text where each break's match ends."""
    rng = random.Random(20)
    texts = ["", "\n", "a", "a\nb\n", "a\r\nb\rc\n\n"]
    texts += ["".join(rng.choices("ab\n\r", k=rng.randrange(16))) for _ in range(5000)]
    for text in texts:
        ends = (0, *(m.end() for m in re.finditer(r"\r\n|\n|\r", text)))
        assert yamlci.line_starts(text) == ends, repr(text)
