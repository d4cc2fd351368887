"""Bad input: every broken file is reported with file and line, the rest is still scanned.

Each case puts one bad file next to `good.yaml` (a privileged pod) and checks three things:
the exact errors, that good.yaml's DS201 finding is still there, and that the CLI exits 3
without a traceback. Time limits are safety bounds against blow-ups, not benchmarks.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest

from deploysafe.cli.exits import (
    EXIT_CLEAN,
    EXIT_FINDINGS,
    EXIT_FINDINGS_AND_INPUT,
    EXIT_INPUT,
    EXIT_USAGE,
)
from deploysafe.engine import Report
from deploysafe.engine.read import read_bytes
from deploysafe.model import ScanError
from tests.support.policy import load as load_policy
from tests.support.scantools import invoke, scan_tree
from tests.support.secretgen import expand

GOOD = """\
apiVersion: v1
kind: Pod
metadata:
  name: good
  namespace: app
spec:
  containers:
  - name: web
    image: nginx:1.27
    securityContext:
      privileged: true
"""
GOOD_DS201 = ("good.yaml", 11, 7, "Pod app/good")

# Safety bound for the inputs built to blow up a parser: linear work finishes in
# milliseconds, an exponential or quadratic expansion would not finish at all.
LIMIT_S = 5.0


def ds201(report: Report) -> list[tuple[str, int, int, str]]:
    return [
        (f.file, f.line, f.column, f.resource.display() if f.resource else "")
        for f in report.findings
        if f.rule_id == "DS201"
    ]


def errors(report: Report) -> list[tuple[str, int | None, str]]:
    return [(e.file, e.line, e.message) for e in report.errors]


def cli_scan(root: Path, *args: str) -> tuple[int, str]:
    result = invoke("scan", str(root), "--no-render", "-j", "1", *args)
    assert "Traceback" not in result.output
    return result.exit_code, result.output


@pytest.fixture
def tree(tmp_path: Path) -> Path:
    root = tmp_path / "repo"
    root.mkdir()
    (root / "good.yaml").write_text(GOOD, encoding="utf-8")
    return root


# ------------------------------------------------------------------ one bad file each


def alias_bomb() -> bytes:
    """Billion laughs: nine levels of ten aliases each, 10**9 nodes if expanded.

    The error names the line of the anchor whose repetition crossed the cap.
    """
    lines = ["apiVersion: v1", "kind: ConfigMap", "metadata: {name: lol}", "data:"]
    lines.append('  a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol","lol"]')
    for prev, cur in zip("abcdefgh", "bcdefghi", strict=True):
        lines.append(f"  {cur}: &{cur} [" + ", ".join([f"*{prev}"] * 10) + "]")
    return ("\n".join(lines) + "\n").encode()


def wide_aliases() -> bytes:
    """One anchored list of 1,000 items, aliased 1,000 times: a quadratic expansion."""
    items = ", ".join(["x"] * 1000)
    refs = "".join(f"  r{i}: *big\n" for i in range(1000))
    return f"apiVersion: v1\nkind: ConfigMap\ndata:\n  big: &big [{items}]\n{refs}".encode()


@dataclass(frozen=True)
class Case:
    id: str
    name: str
    content: Callable[[], bytes]
    errors: list[tuple[int | None, str]]  # (line, message) in the bad file
    timed: bool = False


CASES = [
    Case(
        "malformed",
        "broken.yaml",
        lambda: (
            b"apiVersion: v1\nkind: Pod\nmetadata:\n  name: x\n"
            b"spec:\n  containers: [\n  - name: a\n"
        ),
        [(7, "invalid YAML: while parsing a flow node: did not find expected node content")],
    ),
    Case(
        "bad-indentation",
        "indent.yaml",
        lambda: b"apiVersion: v1\nkind: Pod\nmetadata:\n  name: x\n   labels: {}\n",
        [(5, "invalid YAML: mapping values are not allowed in this context")],
    ),
    Case(
        "alias-bomb",
        "lol.yaml",
        alias_bomb,
        [(6, "aliases expand to too many nodes (an alias bomb?)")],
        timed=True,
    ),
    Case(
        "wide-aliases",
        "wide.yaml",
        wide_aliases,
        [(4, "aliases expand to too many nodes (an alias bomb?)")],
        timed=True,
    ),
    Case(
        "deep-flow",
        "flow.yaml",
        lambda: b"x: " + b"[" * 10_000 + b"]" * 10_000 + b"\n",
        [(1, "invalid YAML: while increasing flow level: exceeded maximum nesting depth")],
        timed=True,
    ),
    Case(
        "deep-flow-mapping",
        "flowmap.yaml",
        lambda: b"{a: " * 10_000 + b"1" + b"}" * 10_000 + b"\n",
        [(1, "invalid YAML: while increasing flow level: exceeded maximum nesting depth")],
        timed=True,
    ),
    Case(
        "deep-block",
        "block.yaml",
        lambda: b"- " * 10_000 + b"x\n",
        [(1, "invalid YAML: while increasing block level: exceeded maximum nesting depth")],
        timed=True,
    ),
    Case(
        # Deeper than deploysafe's own cap (256) but within libyaml's: our cap answers.
        "deep-block-mapping",
        "blockmap.yaml",
        lambda: "".join(" " * i + "k:\n" for i in range(300)).encode(),
        [(258, "nesting deeper than 256 levels")],
        timed=True,
    ),
    Case(
        "binary",
        "image.yaml",
        lambda: b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(range(256)),
        [(None, "binary file (NUL bytes); skipped")],
    ),
    Case(
        "invalid-utf8",
        "latin1.yaml",
        lambda: b"apiVersion: v1\nkind: ConfigMap\ndata:\n  city: M\xfcnchen\n",
        [(4, "invalid UTF-8 at byte 46; read for secrets only")],
    ),
    Case(
        "duplicate-keys",
        "dup.yaml",
        lambda: GOOD.replace("  name: good\n", "  name: good\n  name: dup\n").encode(),
        [(5, "duplicate key 'name': the later value silently replaces the earlier one")],
    ),
    Case(
        "control-character",
        "ctrl.yaml",
        lambda: b"apiVersion: v1\nkind: ConfigMap\ndata:\n  x: a\x1bb\n",
        [(4, "invalid YAML: control characters are not allowed (character #x001b)")],
    ),
    # Past the first 8 KiB, where binary files are told by their NUL bytes.
    Case(
        "late-nul",
        "nul.yaml",
        lambda: b"apiVersion: v1\nkind: ConfigMap\ndata:\n" + b"  k: v\n" * 3000 + b"  x: \x00\n",
        [(3004, "invalid YAML: control characters are not allowed (character #x0000)")],
    ),
    # Kubernetes reads keys as JSON field names: `1` and `true` are two, `1` and `"1"` one.
    Case(
        "keys-as-kubernetes-reads-them",
        "keys.yaml",
        lambda: b"apiVersion: v1\nkind: ConfigMap\ndata:\n  1: a\n  true: b\n  '1': c\n",
        [(6, "duplicate key '1': the later value silently replaces the earlier one")],
    ),
    Case(
        "json-not-a-mapping",
        "list.json",
        lambda: b'\n[{"apiVersion": "v1", "kind": "Pod"}]\n',
        [(2, "document is not a mapping (a Kubernetes object)")],
    ),
    Case(
        "complex-key",
        "key.yaml",
        lambda: b"apiVersion: v1\nkind: ConfigMap\ndata:\n  ? [a, b]\n  : c\n",
        [(4, "a mapping key is not a scalar")],
    ),
    Case(
        "python-tag",
        "tag.yaml",
        lambda: b"apiVersion: v1\nkind: ConfigMap\ndata:\n  x: !!python/name:os.system\n",
        [
            (
                4,
                "bad value: could not determine a constructor for the tag "
                "'!!python/name:os.system'",
            )
        ],
    ),
    # PyYAML's int/float/bool/timestamp constructors raise Python errors, not YAMLError:
    # the whole file (its text rules too) was lost to an internal error.
    Case(
        "bad-typed-scalars",
        "typed.yaml",
        lambda: b"apiVersion: v1\nkind: ConfigMap\ndata:\n  x: !!int twelve\n",
        [(4, "bad value: not a valid '!!int' value")],
    ),
    Case(
        "bad-timestamp",
        "stamp.yaml",
        lambda: b"apiVersion: v1\nkind: ConfigMap\ndata:\n  x: !!timestamp 2024-13-45\n",
        [(4, "bad value: not a valid '!!timestamp' value")],
    ),
    # A value typed after a stray `!!` is a tag: the error does not print it.
    Case(
        "secret-as-tag",
        "tagged.yaml",
        lambda: b"apiVersion: v1\nkind: ConfigMap\ndata:\n  x: !!Zq9" + b"k4Lm2Vx8Rt5Wp x\n",
        [(4, "bad value: could not determine a constructor for the tag '!!Z…(18 chars)'")],
    ),
]


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_bad_file_is_reported_and_the_rest_scanned(tree: Path, case: Case) -> None:
    (tree / case.name).write_bytes(case.content())
    started = time.monotonic()
    report = scan_tree(tree)
    elapsed = time.monotonic() - started
    assert errors(report) == [(case.name, line, msg) for line, msg in case.errors]
    assert {e.kind for e in report.errors} == {"input"}
    if case.id == "duplicate-keys":  # still scanned, with the later value
        assert ds201(report) == [("dup.yaml", 12, 7, "Pod app/dup"), GOOD_DS201]
    else:
        assert ds201(report) == [GOOD_DS201]
    if case.timed:
        assert elapsed < LIMIT_S


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_bad_file_exits_3_without_a_traceback(tree: Path, case: Case) -> None:
    (tree / case.name).write_bytes(case.content())
    started = time.monotonic()
    code, out = cli_scan(tree)
    assert time.monotonic() - started < LIMIT_S
    # The good file's critical finding still fails the scan: 4, not 3 (input errors only).
    assert code == EXIT_FINDINGS_AND_INPUT
    assert "Inputs that could not be fully scanned" in out
    (line, msg) = case.errors[0]
    where = f"{case.name}:{line}" if line is not None else case.name
    assert f"  {where}: {msg}\n" in out
    assert "good.yaml\n" in out  # the good file's findings are still printed


# ------------------------------------------------------------------ files, not contents


def test_yaml_over_the_size_cap_is_read_for_secrets_only(tree: Path) -> None:
    """Its structure is not parsed (the cap guards the YAML parser), its text is read."""
    (tree / "deploysafe.yaml").write_text("max_file_size: 2000\n", encoding="utf-8")
    token = "gh" + "p_" + expand("{an:36}", 22)
    (tree / "big.yaml").write_text("# padding\n" * 300 + f"ci: {token}\n", encoding="utf-8")
    cfg = load_policy(tree / "deploysafe.yaml", "deploysafe.yaml")
    report = scan_tree(tree, cfg)
    message = "file is 3045 bytes, over the 2000-byte cap; read for secrets only"
    assert errors(report) == [("big.yaml", None, message)]
    assert [(f.line, f.rule_id) for f in report.findings if f.file == "big.yaml"] == [
        (301, "DS301")
    ]
    assert ds201(report) == [GOOD_DS201]
    code, out = cli_scan(tree)  # the CLI finds deploysafe.yaml at the scan root
    assert code == EXIT_FINDINGS_AND_INPUT
    assert f"  big.yaml: {message}\n" in out and token not in out


def test_yaml_over_ten_times_the_cap_is_skipped(tree: Path) -> None:
    (tree / "deploysafe.yaml").write_text("max_file_size: 200\n", encoding="utf-8")
    (tree / "big.yaml").write_text("# padding\n" * 300, encoding="utf-8")
    cfg = load_policy(tree / "deploysafe.yaml", "deploysafe.yaml")
    assert errors(scan_tree(tree, cfg)) == [
        ("big.yaml", None, "file is 3000 bytes, over the 2000-byte cap; skipped")
    ]


def test_symlink_leaving_the_tree_is_reported_not_followed(tmp_path: Path, tree: Path) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "secret.yaml").write_text(GOOD.replace("name: good", "name: outside"))
    (tree / "escape.yaml").symlink_to(outside / "secret.yaml")
    (tree / "escape-dir").symlink_to(outside, target_is_directory=True)
    report = scan_tree(tree)
    target = outside.resolve()
    assert errors(report) == [
        ("escape-dir", None, f"symlink points outside the scanned tree ({target}); skipped"),
        (
            "escape.yaml",
            None,
            f"symlink points outside the scanned tree ({target / 'secret.yaml'}); skipped",
        ),
    ]
    assert ds201(report) == [GOOD_DS201]  # nothing from outside/
    code, _ = cli_scan(tree)
    assert code == EXIT_FINDINGS_AND_INPUT


def test_symlink_inside_the_tree_is_fine(tree: Path) -> None:
    (tree / "sub").mkdir()
    (tree / "sub" / "pod.yaml").write_text(GOOD.replace("name: good", "name: inner"))
    (tree / "alias.yaml").symlink_to(tree / "sub" / "pod.yaml")
    (tree / "alias-dir").symlink_to(tree / "sub", target_is_directory=True)
    report = scan_tree(tree)
    assert errors(report) == []
    # The target is scanned once, and findings name the real file, not the link.
    assert ds201(report) == [GOOD_DS201, ("sub/pod.yaml", 11, 7, "Pod app/inner")]
    code, _ = cli_scan(tree)
    assert code == EXIT_FINDINGS


def test_files_with_tags_of_other_tools_are_read_as_kubernetes_reads_them(tree: Path) -> None:
    """CloudFormation's `!Ref`, mkdocs' `!ENV`, a tag on a manifest's value: valid YAML that
    Kubernetes decodes (the value as written), so no input error, and the object is checked."""
    (tree / "cfn.yaml").write_text("Resources:\n  B:\n    Name: !Sub '${AWS::StackName}'\n")
    (tree / "mkdocs.yml").write_text("site_url: !ENV SITE_URL\n")
    (tree / "tagged.yaml").write_text(GOOD.replace("name: good", "name: !x tagged"))
    report = scan_tree(tree)
    assert errors(report) == []
    assert ds201(report) == [GOOD_DS201, ("tagged.yaml", 11, 7, "Pod app/tagged")]


def test_broken_symlink_is_reported(tree: Path) -> None:
    (tree / "dangling.yaml").symlink_to(tree / "gone.yaml")
    report = scan_tree(tree)
    assert errors(report) == [("dangling.yaml", None, "broken symlink")]
    assert ds201(report) == [GOOD_DS201]


@pytest.mark.skipif(os.geteuid() == 0, reason="root can read a chmod 000 file")
def test_unreadable_file_is_reported(tree: Path) -> None:
    locked = tree / "locked.yaml"
    locked.write_text(GOOD)
    locked.chmod(0)
    try:
        report = scan_tree(tree)
        assert errors(report) == [("locked.yaml", None, "cannot read: Permission denied")]
        assert ds201(report) == [GOOD_DS201]
        code, _ = cli_scan(tree)
        assert code == EXIT_FINDINGS_AND_INPUT
    finally:
        locked.chmod(0o600)


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="needs named pipes")
def test_named_pipe_is_reported_not_read(tree: Path) -> None:
    # Reading a FIFO nobody writes to would block the scan forever.
    os.mkfifo(tree / "pipe.yaml")
    started = time.monotonic()
    report = scan_tree(tree)
    assert time.monotonic() - started < LIMIT_S
    assert errors(report) == [("pipe.yaml", None, "not a regular file (a pipe or device); skipped")]
    assert ds201(report) == [GOOD_DS201]
    code, _ = cli_scan(tree / "pipe.yaml")  # named on the command line too
    assert code == EXIT_INPUT


def test_missing_path_on_the_command_line(tree: Path) -> None:
    # A typo must not pass as a clean scan of nothing: a usage error that names the path.
    code, out = cli_scan(tree, str(tree / "nope.yaml"))
    assert code == EXIT_USAGE
    assert f"Path '{(tree / 'nope.yaml').as_posix()}' does not exist." in out


# ------------------------------------------------------------------ inputs that are fine


def test_bom_and_crlf_files_scan_with_the_right_lines(tree: Path) -> None:
    (tree / "bom.yaml").write_bytes(b"\xef\xbb\xbf" + GOOD.replace("good", "bom").encode())
    (tree / "crlf.yaml").write_bytes(GOOD.replace("good", "crlf").replace("\n", "\r\n").encode())
    (tree / "both.yaml").write_bytes(
        b"\xef\xbb\xbf" + GOOD.replace("good", "both").replace("\n", "\r\n").encode()
    )
    report = scan_tree(tree)
    assert errors(report) == []
    assert ds201(report) == [
        ("bom.yaml", 11, 7, "Pod app/bom"),
        ("both.yaml", 11, 7, "Pod app/both"),
        ("crlf.yaml", 11, 7, "Pod app/crlf"),
        GOOD_DS201,
    ]
    snippets = {f.file: f.snippet for f in report.findings if f.rule_id == "DS201"}
    assert snippets == {
        "bom.yaml": "privileged: true",
        "both.yaml": "privileged: true",
        "crlf.yaml": "privileged: true",
        "good.yaml": "privileged: true",
    }


def test_not_kubernetes_yaml_is_ignored_silently(tree: Path) -> None:
    (tree / "list.yaml").write_text("- a\n- b\n")
    (tree / "scalar.yaml").write_text("just text\n")
    (tree / "values.yaml").write_text("replicaCount: 2\nimage: {tag: latest}\n")
    (tree / "empty.yaml").write_text("")
    (tree / "comments.yaml").write_text("# nothing here yet\n# still nothing\n")
    (tree / "empty.json").write_text("")
    (tree / "docs.yaml").write_text("---\n---\n# only separators\n---\n")
    # JSON that is no Kubernetes object: data arrays, JSONC configs with comments.
    (tree / "data.json").write_text('[1, 2, "three"]\n')
    (tree / "tsconfig.json").write_text('{\n  // comments are not JSON\n  "strict": true\n}\n')
    report = scan_tree(tree)
    assert errors(report) == []
    assert ds201(report) == [GOOD_DS201]
    assert (report.files, report.documents) == (10, 1)
    code, _ = cli_scan(tree)
    assert code == EXIT_FINDINGS


def test_kind_list_is_expanded(tree: Path) -> None:
    (tree / "list.yaml").write_text(
        """\
apiVersion: v1
kind: List
items:
- apiVersion: v1
  kind: ConfigMap
  metadata: {name: settings, namespace: app}
- apiVersion: v1
  kind: Pod
  metadata:
    name: listed
    namespace: app
  spec:
    containers:
    - name: web
      image: nginx:1.27
      securityContext:
        privileged: true
- not an object
"""
    )
    report = scan_tree(tree)
    assert errors(report) == []
    assert ds201(report) == [GOOD_DS201, ("list.yaml", 17, 9, "Pod app/listed")]
    (listed,) = (f for f in report.findings if f.rule_id == "DS201" and f.file == "list.yaml")
    assert listed.pointer == "/spec/containers/0/securityContext/privileged"
    assert report.documents == 3  # the ConfigMap, the listed Pod and good.yaml


def test_unknown_kinds_are_checked_without_errors(tree: Path) -> None:
    (tree / "widget.yaml").write_text(
        """\
apiVersion: example.com/v1alpha1
kind: Widget
metadata:
  name: w
  namespace: app
spec:
  size: 3
  template: not-a-pod-template
  containers: 7
---
apiVersion: example.com/v1
kind: Gadget
spec: [1, 2, 3]
---
apiVersion: v1
kind: Pod
metadata: just-a-string
spec:
  containers: {web: nginx}
"""
    )
    report = scan_tree(tree)
    assert errors(report) == []
    assert ds201(report) == [GOOD_DS201]
    assert report.documents == 4


def test_errors_keep_their_order_and_kinds(tree: Path) -> None:
    (tree / "b.yaml").write_bytes(b"a: [\n")
    (tree / "a.yaml").write_bytes(b"\x00\x01")
    report = scan_tree(tree)
    assert report.errors == (
        ScanError("a.yaml", None, "binary file (NUL bytes); skipped"),
        ScanError(
            "b.yaml",
            2,
            "invalid YAML: while parsing a flow node: did not find expected node content",
        ),
    )


def test_a_clean_tree_exits_0(tmp_path: Path) -> None:
    (tmp_path / "empty.yaml").write_text("")
    code, _ = cli_scan(tmp_path)
    assert code == EXIT_CLEAN


def test_invalid_utf8_yaml_is_still_read_for_secrets(tree: Path) -> None:
    """A stray byte makes the YAML untrustworthy, not its committed token harmless."""
    token = "gh" + "p_" + expand("{an:36}", 21)
    body = f"apiVersion: v1\nkind: ConfigMap\ndata:\n  city: M\xfcnchen\n  ci: {token}\n"
    (tree / "latin1.yaml").write_bytes(body.encode("latin-1"))
    report = scan_tree(tree)
    assert errors(report) == [("latin1.yaml", 4, "invalid UTF-8 at byte 46; read for secrets only")]
    hits = [(f.file, f.line, f.rule_id) for f in report.findings if f.file == "latin1.yaml"]
    assert hits == [("latin1.yaml", 5, "DS301")]  # no Kubernetes rule read it
    code, out = cli_scan(tree)
    assert code == EXIT_FINDINGS_AND_INPUT and token not in out and "DS301" in out


def test_a_file_read_whole_when_it_grew_after_its_size_was_taken(tmp_path: Path) -> None:
    """The size a stat gave is where reading starts, not where it stops."""
    f = tmp_path / "grew.yaml"
    f.write_bytes(b"a: 1\n" * 300_000)
    assert read_bytes(f, 10) == f.read_bytes()
    assert read_bytes(str(f), f.stat().st_size) == f.read_bytes()
    assert read_bytes(tmp_path / "grew.yaml", 0) == f.read_bytes()
