"""The gate's stages: small objects with one `run()` each, returning a StageResult that the
release record keeps. A pipeline is a list of them (see pipeline.py): deploy runs verify,
render, scan, tenant and tests; promote and rollback swap render for a released set.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
import xml.etree.ElementTree as ET
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from dataclasses import field, replace
from pathlib import Path
from typing import Any, Protocol

from deploysafe.config import Config
from deploysafe.config.environments import Environment, GateTest
from deploysafe.engine import TOOL_KINDS, RenderOptions, Report, Scope, check_documents, scan
from deploysafe.frozen import record
from deploysafe.gitops import manifests
from deploysafe.host.ci import deployed_ref
from deploysafe.host.git import Git
from deploysafe.host.urls import public_url
from deploysafe.inputs.documents import load_kubernetes
from deploysafe.k8s.tenancy import select
from deploysafe.model import Document, Finding
from deploysafe.rules.gitops import TENANCY_RULES

Progress = Callable[[str], None]
OUTPUT_TAIL = 40  # lines of a failed test's output shown


@record(frozen=False)
class StageResult:
    name: str
    ok: bool
    seconds: float
    summary: str  # one line
    details: list[str] = field(default_factory=list)  # shown when the stage fails
    data: dict[str, Any] = field(default_factory=dict)  # goes into the release record

    def to_json(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "status": "passed" if self.ok else "failed",
            "seconds": round(self.seconds, 3),
            "summary": self.summary,
        }


@record(frozen=False)
class Run:
    """What the stages of one release share."""

    cfg: Config  # with the environment's overrides
    env: Environment
    root: Path  # the source checkout
    scratch: Path  # a private temp folder
    progress: Progress
    source: dict[str, Any] = field(default_factory=dict)
    documents: list[Document] = field(default_factory=list)
    files: dict[str, bytes] = field(default_factory=dict)  # the release folder
    rendered: dict[str, Any] = field(default_factory=dict)  # record: how and what
    trust: dict[str, Any] | None = None  # record: the anchors the next release checks against


class Stage(Protocol):
    name: str

    def run(self, run: Run) -> StageResult: ...


def _result(
    name: str, start: float, ok: bool, summary: str, details: Sequence[str] = (), **data: Any
) -> StageResult:
    return StageResult(name, ok, time.monotonic() - start, summary, list(details), dict(data))


# ---------------------------------------------------------------- source checkout


def source_info(root: Path, environ: Mapping[str, str]) -> dict[str, Any]:
    """Where the release comes from: origin, commit and the deployed ref (the same answer
    `deploysafe verify` checks)."""
    git = Git(root)
    return {
        "repo": public_url(url) if (url := git.out("remote", "get-url", "origin")) else None,
        "commit": git.out("rev-parse", "--verify", "HEAD^{commit}"),
        "ref": deployed_ref(git, environ).ref,
    }


def uncommitted(root: Path) -> list[str] | None:
    """Changes in the checkout that are not in HEAD (None: not a git checkout)."""
    status = Git(root).out("status", "--porcelain", "--untracked-files=all")
    if status is None:
        return None
    return [line for line in status.splitlines() if line.strip()]


# ---------------------------------------------------------------- render


def _manifest_documents(
    folder: Path, root: Path, namespace: str
) -> tuple[list[Document], list[str]]:
    docs: list[Document] = []
    problems: list[str] = []
    files = sorted(
        p for p in folder.rglob("*") if p.is_file() and p.suffix in (".yaml", ".yml", ".json")
    )
    for path in files:
        display = path.relative_to(root).as_posix() if path.is_relative_to(root) else str(path)
        try:
            text = path.read_text(encoding="utf-8-sig")
        except (OSError, UnicodeDecodeError) as exc:
            problems.append(f"{display}: cannot read: {exc}")
            continue
        loaded = load_kubernetes(text, display, default_namespace=namespace)
        problems += [f"{e.file}:{e.line or 1}: {e.message}" for e in loaded.errors]
        if loaded.skipped:
            problems.append(f"{display}: has CustomResourceDefinition/APIService objects")
        docs += [d for d in loaded.documents if d.kind not in TOOL_KINDS]
    return docs, problems


def _helm_release_name(chart: Path) -> str:
    import yaml

    try:
        meta = yaml.safe_load((chart / "Chart.yaml").read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, yaml.YAMLError):
        meta = None
    name = meta.get("name") if isinstance(meta, dict) else None
    return str(name) if isinstance(name, str) and name else chart.name


class RenderStage:
    """Renders the environment's chart, overlay or manifests from a clean checkout."""

    name = "render"

    def run(self, run: Run) -> StageResult:
        from deploysafe.inputs import render as r
        from deploysafe.inputs.renderplan import plan_kustomize

        start = time.monotonic()
        spec = run.env.render
        dirty = uncommitted(run.root)
        if dirty is None:
            return _result(self.name, start, False, f"{run.root} is not a git checkout")
        if dirty:
            return _result(
                self.name,
                start,
                False,
                f"the checkout has {len(dirty)} change(s) that are not in the verified commit",
                ["a release is exactly one commit; commit or remove these first:", *dirty[:20]],
            )
        if not spec.path.exists():
            return _result(self.name, start, False, f"{spec.kind} {spec.display}: no such path")
        errors: list[str] = []
        skipped = 0
        if spec.kind == "helm":
            engine = r.helm_available()
            if engine is None:
                return _result(
                    self.name,
                    start,
                    False,
                    "cannot render the chart: no helm binary and no helm-python-sdk "
                    "(pip install 'deploysafe[helm]')",
                )
            res = r.render_helm(
                spec.path,
                run.root,
                values=spec.values,
                set_values=spec.set_values,
                namespace=spec.namespace,
                release_name=spec.release or _helm_release_name(spec.path),
            )
            docs, skipped = res.documents, res.skipped
            errors = [f"{e.file}: {e.message}" for e in res.errors]
            how = f"helm {spec.display} ({engine.split(' ')[0]})"
        elif spec.kind == "kustomize":
            if r.kustomize_available() is None:
                return _result(
                    self.name, start, False, "cannot build the overlay: no kustomize or kubectl"
                )
            how = f"kustomize {spec.display}"
            # Offline and inside the checkout: no remote base, no base from outside it.
            plan = plan_kustomize([spec.path], run.root)
            if plan.errors:
                problems = [f"{e.file}:{e.line or 1}: {e.message}" for e in plan.errors]
                return _result(self.name, start, False, f"{how}: the render failed", problems)
            built = r.render_kustomize(spec.path, run.root)
            assert built is not None
            docs = [replace(d, default_namespace=spec.namespace) for d in built.documents]
            skipped = built.skipped
            errors = [f"{e.file}: {e.message}" for e in built.errors]
        else:
            docs, errors = _manifest_documents(spec.path, run.root, spec.namespace)
            how = f"manifests {spec.display}"
        if skipped:
            errors.append(
                f"{skipped} CustomResourceDefinition/APIService object(s) rendered: deploysafe "
                "does not release them (the platform installs CRDs)"
            )
        if errors:
            return _result(self.name, start, False, f"{how}: the render failed", errors)
        if not docs:
            return _result(self.name, start, False, f"{how}: rendered no objects")
        return self.finish(run, start, docs, how)

    def finish(self, run: Run, start: float, docs: list[Document], how: str) -> StageResult:
        try:
            objects = [manifests.with_namespace(d, run.env.tenant) for d in docs]
            files = manifests.release_files(objects)
        except manifests.ReleaseSetError as exc:
            return _result(self.name, start, False, f"{how}: {exc}")
        run.documents = docs
        run.files = files
        run.rendered = {
            "engine": how,
            "namespace": run.env.namespace,
            "digest": manifests.digest(files),
            "resources": len(objects),
        }
        kinds = Counter(d.kind for d in docs)
        shown = ", ".join(f"{n} {k}" for k, n in sorted(kinds.items()))
        return _result(self.name, start, True, f"{how}: {len(docs)} object(s) ({shown})")


class LoadStage:
    """A set released before (a rollback's target, a promotion's source) instead of a render."""

    name = "render"

    def __init__(self, files: Mapping[str, bytes], label: str) -> None:
        self.files = dict(files)
        self.label = label

    def run(self, run: Run) -> StageResult:
        start = time.monotonic()
        try:
            docs = manifests.documents_in(self.files)
        except manifests.ReleaseSetError as exc:
            return _result(self.name, start, False, f"{self.label}: {exc}")
        run.documents = docs
        run.files = self.files
        run.rendered = {
            "engine": self.label,
            "namespace": run.env.namespace,
            "digest": manifests.digest(self.files),
            "resources": len(docs),
        }
        return _result(self.name, start, True, f"{self.label}: {len(docs)} object(s), unchanged")


# ---------------------------------------------------------------- scan


_MANIFESTS = frozenset({Scope.MANIFESTS})
_REPOSITORY = frozenset({Scope.REPOSITORY})


def _finding_line(f: Finding) -> str:
    res = f" [{f.resource.display()}]" if f.resource else ""
    return f"{f.file}:{f.line} {f.severity.label} {f.rule_id} {f.message}{res}"


def scan_summary(reports: Sequence[Report], cfg: Config) -> dict[str, Any]:
    findings = [f for rep in reports for f in rep.findings]
    failing = [f for rep in reports for f in rep.failing]
    return {
        "policy": cfg.policy.value,
        "fail_on": cfg.fail_on.label,
        "findings": len(findings),
        "failing": len(failing),
        "suppressed": sum(1 for f in findings if f.suppressed is not None),
        "errors": sum(len(rep.errors) for rep in reports),
        "by_rule": dict(
            sorted(Counter(f.rule_id for f in findings if f.suppressed is None).items())
        ),
    }


class ScanStage:
    """The rendered set with every Kubernetes rule; the checkout with the others (secrets,
    CI files, Dockerfiles). Any finding at or above `fail_on`, or an unreadable input, stops."""

    name = "scan"

    def __init__(self, *, repo: bool = True) -> None:
        self.repo = repo

    def run(self, run: Run) -> StageResult:
        start = time.monotonic()
        reports = [check_documents(run.documents, run.cfg, scopes=_MANIFESTS)]
        if self.repo:
            # The objects were checked as rendered; the checkout adds its other files.
            reports.append(
                scan(
                    [run.root],
                    run.cfg,
                    root=run.root,
                    render=RenderOptions(enabled=False),
                    scopes=_REPOSITORY,
                )
            )
        summary = scan_summary(reports, run.cfg)
        failing = [f for rep in reports for f in rep.failing]
        errors = [e for rep in reports for e in rep.errors]
        details = [_finding_line(f) for f in failing]
        details += [f"{e.file}:{e.line or 1}: {e.message}" for e in errors]
        text = (
            f"{summary['findings']} finding(s), {summary['failing']} at or above "
            f"{summary['fail_on']}, {summary['suppressed']} suppressed "
            f"(policy {summary['policy']})"
        )
        if errors:
            text += f", {len(errors)} input(s) unreadable"
        return _result(self.name, start, not failing and not errors, text, details, scan=summary)


# ---------------------------------------------------------------- tenant


class TenantStage:
    """Every namespaced object in one of the tenant's namespaces, cluster-scoped kinds only
    from `cluster_kinds`, no quota or limit range of its own (DS401-DS403)."""

    name = "tenant"

    def run(self, run: Run) -> StageResult:
        start = time.monotonic()
        tenant = run.env.tenant
        report = check_documents(
            run.documents,
            select(run.cfg, tenant),
            scopes=_MANIFESTS,
            only={r.id for r in TENANCY_RULES},
        )
        escapes = [f"{f.file}:{f.line} {f.message}" for f in report.failing]
        # A rule that could not judge an object leaves the boundary unchecked.
        errors = [f"{e.file}:{e.line or 1}: {e.message}" for e in report.errors]
        namespaces = sorted({d.namespace for d in run.documents if d.namespace})
        data = {
            "tenant": tenant.name,
            "namespaces": namespaces,
            "escapes": len(escapes),
        }
        if escapes or errors:
            return _result(
                self.name,
                start,
                False,
                f"{len(escapes)} object(s) leave tenant {tenant.name!r}",
                escapes + errors,
                tenant_check=data,
            )
        where = ", ".join(namespaces) or "no namespace"
        return _result(
            self.name,
            start,
            True,
            f"tenant {tenant.name!r}: every object in {where}",
            tenant_check=data,
        )


# ---------------------------------------------------------------- tests


@record
class GateTestRun:
    name: str
    status: str  # passed, failed, timeout, skipped, not-run
    seconds: float
    exit_code: int | None
    reason: str
    output: str = ""
    junit: dict[str, int] | None = None

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "name": self.name,
            "status": self.status,
            "seconds": round(self.seconds, 3),
            "exit_code": self.exit_code,
        }
        if self.junit is not None:
            out["junit"] = self.junit
        if self.status != "passed":
            out["reason"] = self.reason
        return out


SKIP_EXIT = 77  # the automake/meson convention for "skipped"


# Runs one test command and ties its life to the deploy's. The command gets a process group
# of its own (so a timeout kills everything it started); this watchdog holds the read end of
# a pipe whose write end only the deploy holds. A byte on it (the deploy is done with the
# test, or timed it out) or end-of-file (the deploy died, even by SIGKILL to its group) kills
# the command's group; on end-of-file it also removes the deploy's temp folder, which nothing
# else would. Plain stdlib and `-I -S` keep its start-up short.
_WATCHDOG = r"""
import os, select, shutil, signal, subprocess, sys
fd, scratch, command = int(sys.argv[1]), sys.argv[2], sys.argv[3]
child = subprocess.Popen(["/bin/sh", "-c", command], process_group=0)
def stop():
    try:
        os.killpg(child.pid, signal.SIGKILL)
    except OSError:
        pass
def orphaned(*_):
    stop()
    if scratch:
        shutil.rmtree(scratch, ignore_errors=True)
    os._exit(137)
for sig in (signal.SIGTERM, signal.SIGHUP, signal.SIGINT):
    signal.signal(sig, orphaned)
while True:
    ready, _, _ = select.select([fd], [], [], 0.05)
    if ready:
        if not os.read(fd, 1):
            orphaned()
        stop()
        os._exit(137)
    code = child.poll()
    if code is not None:
        stop()
        if code < 0:
            signal.signal(-code, signal.SIG_DFL)
            os.kill(os.getpid(), -code)
        os._exit(code)
"""
STOP_WAIT = 10  # seconds the watchdog gets to kill a test's process group


def run_test(
    test: GateTest, cwd: Path, env: Mapping[str, str], scratch: Path | None = None
) -> GateTestRun:
    """One test stage: a shell command with a timeout, its whole process group killed when
    it runs over, when it ends, and when the deploy ends in any way (`scratch`, the deploy's
    temp folder, is removed when the deploy dies without cleaning up); stdout and stderr
    captured together."""
    start = time.monotonic()
    read_end, write_end = os.pipe()
    try:
        proc = subprocess.Popen(
            [
                sys.executable,
                "-I",
                "-S",
                "-c",
                _WATCHDOG,
                str(read_end),
                str(scratch or ""),
                test.run,
            ],
            cwd=cwd,
            env=dict(env),
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            start_new_session=True,
            pass_fds=(read_end,),
        )
    except OSError as exc:
        os.close(write_end)
        return GateTestRun(test.name, "failed", 0.0, None, f"cannot start: {exc.strerror or exc}")
    finally:
        os.close(read_end)
    try:
        out, _ = proc.communicate(timeout=test.timeout)
    except subprocess.TimeoutExpired:
        _stop(proc, write_end)
        out, _ = proc.communicate()
        text = out.decode(errors="replace")
        return GateTestRun(
            test.name,
            "timeout",
            time.monotonic() - start,
            None,
            f"did not finish within {_duration(test.timeout)} (killed)",
            text,
        )
    finally:
        _stop(proc, write_end)  # nothing the test started may outlive it
        os.close(write_end)
    seconds = time.monotonic() - start
    text = out.decode(errors="replace")
    code = proc.returncode
    if code == SKIP_EXIT:
        return GateTestRun(test.name, "skipped", seconds, code, "reported skipped (exit 77)", text)
    if code != 0:
        return GateTestRun(test.name, "failed", seconds, code, f"exited with status {code}", text)
    if test.junit is not None:
        counts, problem = _junit(cwd / test.junit)
        if problem is not None:
            return GateTestRun(test.name, "failed", seconds, code, problem, text, counts)
        return GateTestRun(test.name, "passed", seconds, code, "", text, counts)
    return GateTestRun(test.name, "passed", seconds, code, "", text)


def _stop(proc: subprocess.Popen[bytes], write_end: int) -> None:
    """Have the watchdog kill the test's process group, and wait until it has."""
    if proc.poll() is None:
        with contextlib.suppress(OSError):
            os.write(write_end, b"k")
        with contextlib.suppress(subprocess.TimeoutExpired):
            proc.wait(STOP_WAIT)
    _kill_group(proc)


def _kill_group(proc: subprocess.Popen[bytes]) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(proc.pid, signal.SIGKILL)


def _junit(path: Path) -> tuple[dict[str, int] | None, str | None]:
    """Counts from a JUnit XML report; a problem when tests failed or none ran."""
    try:
        root = ET.parse(path).getroot()
    except OSError:
        return None, f"wrote no JUnit report at {path.name}"
    except ET.ParseError as exc:
        return None, f"JUnit report {path.name} is not valid XML ({exc})"
    suites = [root] if root.tag == "testsuite" else root.iter("testsuite")
    counts = Counter[str]()
    for suite in suites:
        for case in suite.iter("testcase"):
            counts["tests"] += 1
            for outcome in ("failure", "error", "skipped"):
                if case.find(outcome) is not None:
                    counts[{"failure": "failures", "error": "errors"}.get(outcome, outcome)] += 1
    result = {k: counts[k] for k in ("tests", "failures", "errors", "skipped")}
    if result["tests"] == 0:
        return result, "ran zero tests (JUnit report is empty)"
    if result["failures"] or result["errors"]:
        return result, (
            f"{result['failures']} failure(s) and {result['errors']} error(s) in the JUnit "
            "report, although the command exited 0"
        )
    if result["skipped"] == result["tests"]:
        return result, "every test was skipped"
    return result, None


def _duration(seconds: float) -> str:
    if seconds >= 60 and seconds % 60 == 0:
        return f"{int(seconds // 60)}m"
    return f"{seconds:g}s"


class RunTestsStage:
    """The environment's test stages in order; a failure, a timeout or a skip stops it."""

    name = "tests"

    def run(self, run: Run) -> StageResult:
        start = time.monotonic()
        tests = run.env.tests
        if not tests:
            return _result(self.name, start, True, "no test stages configured", tests=[])
        rendered = run.scratch / "rendered"
        for path, data in run.files.items():
            target = rendered / path
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(data)
        env = dict(os.environ)
        env.update(
            DEPLOYSAFE_ENVIRONMENT=run.env.name,
            DEPLOYSAFE_NAMESPACE=run.env.namespace,
            DEPLOYSAFE_RENDERED=str(rendered),
            DEPLOYSAFE_COMMIT=str(run.source.get("commit") or ""),
        )
        outcomes: list[GateTestRun] = []
        for test in tests:
            outcome = run_test(test, run.root, env, run.scratch)
            outcomes.append(outcome)
            run.progress(
                f"      test {test.name}: {outcome.status} in {outcome.seconds:.2f}s"
                + (f" ({outcome.reason})" if outcome.status != "passed" else "")
            )
            if outcome.status != "passed":
                break
        not_run = [t.name for t in tests[len(outcomes) :]]
        records = [o.to_json() for o in outcomes]
        records += [
            {"name": n, "status": "not-run", "seconds": 0, "exit_code": None} for n in not_run
        ]
        last = outcomes[-1]
        if last.status == "passed":
            total = sum(o.seconds for o in outcomes)
            return _result(
                self.name, start, True, f"{len(outcomes)} passed in {total:.2f}s", tests=records
            )
        details = [f"{last.name}: {last.reason}"]
        tail = last.output.rstrip().splitlines()[-OUTPUT_TAIL:]
        if tail:
            details.append(f"last {len(tail)} line(s) of its output:")
            details += ["  | " + line for line in tail]
        if not_run:
            details.append("not run: " + ", ".join(not_run))
        return _result(
            self.name,
            start,
            False,
            f"{last.name} {last.status}: {last.reason}",
            details,
            tests=records,
        )
