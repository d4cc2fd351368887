"""The scan: discover, render, parse once, run the rules, locate, suppress, sort.

Every front end (CLI, deploy pipeline, webhook) calls `scan()` or `check_documents()`.
Files are parsed and checked in worker processes (both cores); only small results come
back, so memory stays flat however large the tree is.
"""

from __future__ import annotations

import datetime as dt
import functools
import itertools
import os
import re
import stat
from collections.abc import Iterable, Iterator, Mapping, Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field, replace
from pathlib import Path as FsPath
from typing import Any

from deploysafe import yamlload
from deploysafe.config import Config, Tenant
from deploysafe.config.secrets import DEFAULT as DEFAULT_SECRETS
from deploysafe.config.secrets import SecretsPolicy
from deploysafe.engine import sources, suppress
from deploysafe.inputs.discover import KUSTOMIZATION_NAMES, YAML_SUFFIXES, Inventory, discover
from deploysafe.inputs.documents import LoadResult, load_kubernetes
from deploysafe.k8s.pods import pod_template
from deploysafe.model import (
    Document,
    Fact,
    Finding,
    Level,
    ScanError,
    Severity,
    Suppression,
    Target,
    Version,
    Violation,
    parse_version,
    pointer,
    redact,
    secret_hash,
)
from deploysafe.rules import BY_ID, REGISTRY
from deploysafe.rules.base import Context, Rule
from deploysafe.rules.environment.pss.verdict import active_rules

PSS_ENFORCE = "pod-security.kubernetes.io/enforce"
PSS_ENFORCE_VERSION = "pod-security.kubernetes.io/enforce-version"
# Kinds that only configure tools, never land in a cluster.
TOOL_KINDS = frozenset({"Kustomization", "Component"})
_SNIPPET_MAX = 160

# How a file is read: as it is; as an unrendered Helm template (Go templating is not YAML,
# so parse errors only count it as skipped); or as a render's input (its objects came from
# the render, but its text, Dockerfile and CI content is still checked).
PLAIN, TEMPLATE, RENDERED = "plain", "template", "rendered"
# A file to check: (path, display path, mode).
Job = tuple[str, str, str]


@dataclass(frozen=True, slots=True)
class NamespacePolicy:
    """The Pod Security level a namespace enforces; level None = privileged (no checks)."""

    level: Level | None
    version: Version


@dataclass(frozen=True, slots=True)
class Settings:
    """Everything a worker needs; small and picklable."""

    rule_ids: tuple[str, ...]
    severities: Mapping[str, Severity]
    policy: Level
    pss_version: Version
    namespaces: Mapping[str, NamespacePolicy]
    inline: bool
    annotations: bool
    max_file_size: int
    today: dt.date
    targets: frozenset[Target] = frozenset()  # document types some active rule reads
    secrets: SecretsPolicy = DEFAULT_SECRETS  # Context.secrets
    tenant: Tenant | None = None  # Context.tenant


@dataclass(slots=True)
class Partial:
    """What checking some documents produced."""

    findings: list[Finding] = field(default_factory=list)
    errors: list[ScanError] = field(default_factory=list)
    facts: dict[str, list[Fact]] = field(default_factory=dict)
    documents: int = 0
    skipped: int = 0
    files: int = 0

    def merge(self, other: Partial) -> None:
        self.findings.extend(other.findings)
        self.errors.extend(other.errors)
        for rid, facts in other.facts.items():
            self.facts.setdefault(rid, []).extend(facts)
        self.documents += other.documents
        self.skipped += other.skipped
        self.files += other.files


@dataclass(frozen=True, slots=True)
class RenderOptions:
    enabled: bool = True
    values: tuple[FsPath, ...] = ()
    set_values: tuple[str, ...] = ()
    namespace: str | None = None
    release_name: str = "release"


@dataclass(frozen=True, slots=True)
class Report:
    findings: tuple[Finding, ...]
    errors: tuple[ScanError, ...]
    notes: tuple[str, ...]
    fail_on: Severity
    files: int
    documents: int
    skipped: int

    @property
    def failing(self) -> tuple[Finding, ...]:
        return tuple(
            f for f in self.findings if f.suppressed is None and f.severity >= self.fail_on
        )


def rules_for(config: Config) -> tuple[str, ...]:
    return tuple(
        r.id for r in REGISTRY if config.rules.get(r.id) is None or config.rules[r.id].enabled
    )


def settings_for(
    config: Config,
    namespaces: Mapping[str, NamespacePolicy],
    *,
    inline: bool | None = None,
    annotations: bool | None = None,
    today: dt.date | None = None,
) -> Settings:
    rule_ids = rules_for(config)
    return Settings(
        rule_ids=rule_ids,
        severities={rid: s.severity for rid, s in config.rules.items() if s.severity is not None},
        policy=config.policy,
        pss_version=config.pss_version,
        namespaces=namespaces,
        inline=config.inline_suppressions if inline is None else inline,
        annotations=config.annotation_suppressions if annotations is None else annotations,
        max_file_size=config.max_file_size,
        today=today or dt.date.today(),
        targets=targets_of(rule_ids),
        secrets=config.secrets,
        tenant=config.selected_tenant,
    )


def targets_of(rule_ids: Iterable[str]) -> frozenset[Target]:
    out = {BY_ID[r].target for r in rule_ids}
    if Target.KUBERNETES_SET in out:
        out.add(Target.KUBERNETES)
    return frozenset(out)


# ---------------------------------------------------------------- namespaces


_NS_KIND = re.compile(rb"kind:[ \t]*[\"']?Namespace[\"']?[ \t]*(?:#[^\r\n]*)?\r?(?:\n|$)")


def _has_namespace(raw: bytes) -> bool:
    """Does a top-level `kind: Namespace` occur? Only line-start `kind:` is looked at, on
    bytes, so the files without one (nearly all) are never decoded."""
    if raw.startswith(b"kind:") and _NS_KIND.match(raw):
        return True
    i = raw.find(b"\nkind:")
    while i != -1:
        if _NS_KIND.match(raw, i + 1):
            return True
        i = raw.find(b"\nkind:", i + 6)
    return False


def namespace_policy(labels: Mapping[str, Any]) -> NamespacePolicy | None:
    enforce = labels.get(PSS_ENFORCE)
    if enforce is None:
        return None
    # As pod-security-admission's PolicyToEvaluate: a level it cannot parse is restricted
    # (only an exact "privileged" turns the checks off).
    level = {"privileged": None, "baseline": Level.BASELINE}.get(str(enforce), Level.RESTRICTED)
    try:
        version = parse_version(str(labels.get(PSS_ENFORCE_VERSION, "latest")))
    except ValueError:
        version = parse_version("latest")
    return NamespacePolicy(level, version)


def namespaces_in(docs: Iterable[Document]) -> dict[str, NamespacePolicy]:
    out = {}
    for d in docs:
        if d.kind == "Namespace" and d.name:
            labels = d.metadata.get("labels")
            policy = namespace_policy(labels if isinstance(labels, dict) else {})
            if policy is not None:
                out[d.name] = policy
    return out


def _namespace_prepass(files: Sequence[Job], max_size: int) -> dict[str, NamespacePolicy]:
    """Namespaces (and their PSS labels) before the main pass: a cheap text filter first."""
    out: dict[str, NamespacePolicy] = {}
    for name, display, _ in files:
        path = FsPath(name)
        try:
            st = path.stat()
            if not stat.S_ISREG(st.st_mode) or st.st_size > max_size:
                continue
            if not name.endswith(YAML_SUFFIXES):
                continue
            raw = path.read_bytes()
        except OSError:
            continue
        json_ns = name.endswith(".json") and b'"Namespace"' in raw
        if not json_ns and not _has_namespace(raw):
            continue
        text = raw.decode("utf-8-sig", errors="replace")
        out.update(namespaces_in(load_kubernetes(text, display).documents))
    return out


# ---------------------------------------------------------------- checking


def context_for(doc: Document, s: Settings) -> tuple[Context, bool]:
    """The doc's context and whether PSS applies (a privileged namespace turns it off)."""
    ns = doc.namespace
    policy = s.namespaces.get(ns) if ns else None
    if policy is not None:
        if policy.level is None:
            return Context(s.policy, policy.version, ns, s.secrets, s.tenant), False
        return Context(policy.level, policy.version, ns, s.secrets, s.tenant), True
    return Context(s.policy, s.pss_version, ns, s.secrets, s.tenant), True


@functools.lru_cache(maxsize=64)
def _active_ids(rule_ids: tuple[str, ...], level: Level, version: Version) -> frozenset[str]:
    rules = tuple(BY_ID[r] for r in rule_ids)
    return frozenset(r.id for r in active_rules(rules, level, version))


def _snippet(lines: Sequence[str], line: int) -> str:
    if 1 <= line <= len(lines):
        text = lines[line - 1].strip()
        return text if len(text) <= _SNIPPET_MAX else text[: _SNIPPET_MAX - 1] + "…"
    return ""


def _waivers(doc: Document, s: Settings) -> tuple[list[suppress.Waiver], list[str]]:
    if not s.annotations:
        return [], []
    annotations = doc.metadata.get("annotations")
    waivers, problems = suppress.annotation_waivers(
        annotations if isinstance(annotations, dict) else {}
    )
    pod = pod_template(doc)
    if pod is not None and pod.path:
        more, more_problems = suppress.annotation_waivers(pod.annotations)
        waivers += more
        problems += more_problems
    return waivers, problems


# Raw secrets by (file, line) where findings found them: what other findings' snippets of
# those lines must not show (see `hide_shared`), each with whether the line holds it as is
# (False: written in another form, such as a YAML escape or a folded scalar, which can only
# be hidden by showing no snippet). Kept only while a file is checked.
Shared = dict[tuple[str, int], dict[str, bool]]

# Windows of this many characters of a secret that a snippet must not hold: a secret the
# line writes in another form than its value (a YAML or shell escape in the middle, a folded
# scalar, JSON's `\/`) cannot be replaced, but most of it still shows. `redact` keeps 4.
_WINDOW = 8


def _shows(text: str, secret: str) -> bool:
    """Whether `text` holds a recognisable part of `secret`: a line of it (6 characters or
    more), or any run of `_WINDOW` characters of one."""
    for part in secret.splitlines():
        p = part.strip()
        if len(p) < _WINDOW:
            if len(p) >= 6 and p in text:
                return True
            continue
        if any(p[i : i + _WINDOW] in text for i in range(len(p) - _WINDOW + 1)):
            return True
    return False


def _literal_in(line: str, secret: str) -> bool:
    """The line writes the secret (or, for a multi-line one, a line of it) as it is."""
    return secret in line or any(
        len(p.strip()) >= 6 and p.strip() in line for p in secret.splitlines()
    )


def check_document(
    doc: Document,
    s: Settings,
    rules: Sequence[Rule],
    out: Partial,
    shared: Shared | None = None,
) -> None:
    kube = doc.type is Target.KUBERNETES
    if kube and doc.kind in TOOL_KINDS:
        return
    out.documents += kube
    ctx, pss_on = context_for(doc, s)
    active = _active_ids(s.rule_ids, ctx.pss_level, ctx.pss_version)
    waivers: list[suppress.Waiver] = []
    if kube:
        waivers, problems = _waivers(doc, s)
        for problem in problems:
            line = doc.locate(("metadata", "annotations"))[0]
            out.errors.append(ScanError(doc.file, line, problem))
    for rule in rules:
        if rule.target is not doc.type and not (kube and rule.target is Target.KUBERNETES_SET):
            continue
        if rule.pss is not None and (not pss_on or rule.id not in active):
            continue
        if rule.target is Target.KUBERNETES_SET:
            if kube and rule.collect is not None:
                _collect(rule, doc, ctx, out)
            continue
        if rule.check is None:
            continue
        try:
            for v in rule.check(doc, ctx):
                finding = _finding(rule, v, doc, s)
                if v.secret and shared is not None:
                    for n in range(finding.line, finding.line + v.secret.count("\n") + 1):
                        raw = doc.lines[n - 1] if 1 <= n <= len(doc.lines) else ""
                        on_line = shared.setdefault((doc.file, n), {})
                        on_line[v.secret] = on_line.get(v.secret, False) or _literal_in(
                            raw, v.secret
                        )
                out.findings.append(_suppressed(finding, doc.lines, waivers, s, out))
        except Exception as exc:  # a rule bug costs one check and says so; the gate fails
            out.errors.append(
                ScanError(
                    doc.file,
                    doc.locate(())[0],
                    # The type only: an exception's text may quote input, secrets included.
                    f"rule {rule.id} failed on this document ({type(exc).__name__}); "
                    "the document is not fully checked",
                    kind="internal",
                )
            )


def check_all(docs: Iterable[Document], s: Settings, rules: Sequence[Rule], out: Partial) -> None:
    """Check documents that come from one input (a file, a render, a request), then hide
    from each finding's snippet the secrets other findings on its line are about."""
    start, shared = len(out.findings), Shared()
    for doc in docs:
        check_document(doc, s, rules, out, shared)
    hide_shared(out.findings, start, shared)


def hide_shared(findings: list[Finding], start: int, shared: Shared) -> None:
    """Several rules read one line (a file is text, a workflow, a Kubernetes object ...):
    a finding must not show, in its snippet, a secret that another finding on that line is
    about. Applies to findings[start:], in place."""
    if not shared:
        return
    for k in range(start, len(findings)):
        f = findings[k]
        found = shared.get((f.file, f.line))
        if not found or not f.snippet:
            continue
        snippet = f.snippet
        for secret in sorted(found, key=len, reverse=True):
            snippet = snippet.replace(secret, redact(secret))
        parts = [p.strip() for x in found for p in x.splitlines() if len(p.strip()) >= 6]
        if any(p in snippet for p in parts) or any(
            _shows(snippet, x) for x, literal in found.items() if not literal
        ):
            snippet = ""
        if snippet != f.snippet:
            findings[k] = replace(f, snippet=snippet)


def _collect(rule: Rule, doc: Document, ctx: Context, out: Partial) -> None:
    assert rule.collect is not None and doc.resource is not None
    for path, data in rule.collect(doc, ctx):
        line, col = doc.locate(path)
        fact = Fact(
            doc.file, line, col, pointer(path), doc.resource, data, _snippet(doc.lines, line)
        )
        out.facts.setdefault(rule.id, []).append(fact)


def _finding(rule: Rule, v: Violation, doc: Document, s: Settings) -> Finding:
    if v.line is not None:
        line, col = v.line, v.column or 1
    else:
        line, col = doc.locate(v.path)
    snippet, message, hashed, shown = _snippet(doc.lines, line), v.message, None, None
    if v.secret:
        # Nothing printed may hold the secret: not the line, not the message.
        shown = redact(v.secret)
        hashed = secret_hash(v.secret)
        # Written in another form than its value (an escape, a folded scalar): no snippet.
        if not _literal_in(snippet, v.secret) and _shows(snippet, v.secret):
            snippet = ""
        snippet = snippet.replace(v.secret, shown)
        message = message.replace(v.secret, shown)
        if shown not in message:  # every format shows which secret, in its safe form
            message = f"{message}: {shown}"
        parts = [p.strip() for p in v.secret.splitlines() if len(p.strip()) >= 6]
        if len(snippet) >= _SNIPPET_MAX - 1 or any(p in snippet for p in parts):
            snippet = ""  # cut around the secret, or a line of a multi-line one: show none
    return Finding(
        rule_id=rule.id,
        title=rule.title,
        practice=rule.practice,
        severity=s.severities.get(rule.id, rule.severity),
        file=doc.file,
        line=line,
        column=col,
        pointer=pointer(v.path),
        resource=doc.resource,
        message=message,
        fix=rule.fix,
        snippet=snippet,
        pss=rule.pss,
        secret_hash=hashed,
        redacted=shown,
    )


def _suppressed(
    finding: Finding,
    lines: Sequence[str],
    waivers: Sequence[suppress.Waiver],
    s: Settings,
    out: Partial,
) -> Finding:
    if s.inline:
        waiver, problem = suppress.inline_for(lines, finding.line)
        if problem:
            out.errors.append(
                ScanError(finding.file, finding.line, f"inline suppression: {problem}")
            )
        if waiver is not None and waiver.covers(finding.rule_id):
            return suppress.apply(finding, waiver, s.today)
    for w in waivers:
        if w.covers(finding.rule_id):
            return suppress.apply(finding, w, s.today)
    return finding


# Files that are not YAML/JSON are read only for secrets: a minified bundle or a large log is
# still worth that, up to this many times the configured cap.
_TEXT_CAP_FACTOR = 10
_CHUNK_FILES = 48


def _read(path: FsPath, display: str, max_size: int) -> tuple[str | None, ScanError | None]:
    """The file's text, and what went wrong: both when only its text can be used (for
    secrets: a YAML/JSON file over the cap, or not valid UTF-8, is still a committed file)."""
    # Only YAML/JSON must be valid text; any other file is read for secrets only, so a
    # binary one (an image, a wheel) is skipped silently and bad UTF-8 is replaced.
    structured = display.endswith(YAML_SUFFIXES)
    cap = max_size * _TEXT_CAP_FACTOR
    try:
        st = path.stat()
        if not stat.S_ISREG(st.st_mode):
            # Reading a FIFO or a device could block forever.
            return None, ScanError(display, None, "not a regular file (a pipe or device); skipped")
        size = st.st_size
        if size > cap:
            if not structured and _binary_head(path):
                return None, None
            return None, ScanError(
                display, None, f"file is {size} bytes, over the {cap}-byte cap; skipped"
            )
        raw = path.read_bytes()
    except OSError as exc:
        return None, ScanError(display, None, f"cannot read: {exc.strerror or exc}")
    if b"\0" in raw[:8192]:
        if not structured:
            return None, None
        return None, ScanError(display, None, "binary file (NUL bytes); skipped")
    problem: tuple[int | None, str] | None = None
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        text = raw.decode("utf-8-sig", errors="replace")
        line = raw[: exc.start].count(b"\n") + 1
        problem = (line, f"invalid UTF-8 at byte {exc.start}")
    if structured and problem is None and len(raw) > max_size:
        problem = (None, f"file is {len(raw)} bytes, over the {max_size}-byte cap")
    if not structured or problem is None:
        return text, None
    # Its structure is not read, but a secret in it is committed all the same.
    return text, ScanError(display, problem[0], f"{problem[1]}; read for secrets only")


def _binary_head(path: FsPath) -> bool:
    with path.open("rb") as fh:
        return b"\0" in fh.read(8192)


def check_file(
    path: FsPath,
    display: str,
    s: Settings,
    rules: Sequence[Rule],
    out: Partial,
    *,
    mode: str = PLAIN,
) -> None:
    out.files += 1
    text, error = _read(path, display, s.max_file_size)
    if error is not None:
        out.errors.append(error)
    if text is None:  # a binary file that no rule reads, or one that could not be read
        return
    wanted = s.targets - {Target.KUBERNETES} if mode == RENDERED else s.targets
    if error is not None:
        wanted = wanted & {Target.TEXT}
    result = sources.load(text, display, wanted, path)
    if mode == TEMPLATE and result.errors:
        # A Helm template scanned without rendering: Go templating is not YAML. Count it.
        out.skipped += 1
        result = LoadResult(result.documents, [], result.skipped)
    _check_loaded(result, s, rules, out)


def _check_loaded(result: LoadResult, s: Settings, rules: Sequence[Rule], out: Partial) -> None:
    out.errors.extend(result.errors)
    out.skipped += result.skipped
    check_all(result.documents, s, rules, out)


def _rules(s: Settings) -> tuple[Rule, ...]:
    return tuple(BY_ID[rid] for rid in s.rule_ids)


def _chunk_worker(s: Settings, files: Sequence[Job]) -> Partial:
    out = Partial()
    rules = _rules(s)
    for path, display, mode in files:
        try:
            check_file(FsPath(path), display, s, rules, out, mode=mode)
        except Exception as exc:  # a bug must cost one file, not the scan
            out.errors.append(
                ScanError(display, None, f"internal error ({type(exc).__name__}); not checked")
            )
    return out


def _sized(files: Sequence[Job]) -> list[tuple[int, Job]]:
    sized = []
    for job in files:
        try:
            sized.append((os.stat(job[0]).st_size, job))
        except OSError:
            sized.append((0, job))
    return sized


def _chunks(sized: Sequence[tuple[int, Job]], n: int) -> Iterator[list[Job]]:
    """Chunks of roughly equal bytes, many more than workers, so both stay busy."""
    total = sum(size for size, _ in sized) or 1
    # Bytes are a poor measure of work (CRD bytes are skipped, small manifests are parsed
    # and checked), so chunks are also capped by file count.
    target = max(total // (n * 32), 64 * 1024)
    chunk: list[Job] = []
    acc = 0
    for size, job in sized:
        chunk.append(job)
        acc += size
        if acc >= target or len(chunk) >= _CHUNK_FILES:
            yield chunk
            chunk, acc = [], 0
    if chunk:
        yield chunk


def check_files(files: Sequence[Job], s: Settings, jobs: int | None) -> Partial:
    out = Partial()
    workers = jobs if jobs is not None else (os.cpu_count() or 1)
    sized = _sized(files) if workers > 1 else []  # one stat per file, for both decisions
    # Processes pay off only for real trees; small scans stay in-process.
    if workers <= 1 or sum(size for size, _ in sized) < 2 * 1024 * 1024:
        out.merge(_chunk_worker(s, files))
        return out
    import multiprocessing

    ctx = multiprocessing.get_context("fork" if os.name == "posix" else "spawn")
    with ProcessPoolExecutor(max_workers=workers, mp_context=ctx) as pool:
        for part in pool.map(_chunk_worker, itertools.repeat(s), _chunks(sized, workers)):
            out.merge(part)
    return out


def decide_sets(facts: Mapping[str, list[Fact]], s: Settings) -> list[Finding]:
    findings = []
    for rid, rule_facts in facts.items():
        rule = BY_ID[rid]
        if rule.decide is None:
            continue
        for fact, message in rule.decide(rule_facts):
            findings.append(
                Finding(
                    rule_id=rule.id,
                    title=rule.title,
                    practice=rule.practice,
                    severity=s.severities.get(rule.id, rule.severity),
                    file=fact.file,
                    line=fact.line,
                    column=fact.column,
                    pointer=fact.pointer,
                    resource=fact.resource,
                    message=message,
                    fix=rule.fix,
                    snippet=fact.snippet,
                )
            )
    return findings


# ---------------------------------------------------------------- the scan


def _finish(
    partial: Partial,
    s: Settings,
    config: Config,
    baseline: frozenset[str] | None,
    notes: Sequence[str],
) -> Report:
    findings = partial.findings + decide_sets(partial.facts, s)
    final = []
    for f in findings:
        f = suppress.by_config(f, config.exceptions, s.today)
        if f.suppressed is None and baseline is not None and f.fingerprint in baseline:
            f = replace(f, suppressed=Suppression("baseline", "in the baseline"))
        final.append(f)
    final.sort(key=lambda f: (f.file, f.line, f.column, f.rule_id, f.message))
    errors = sorted(set(partial.errors), key=lambda e: (e.file, e.line or 0, e.message))
    return Report(
        findings=tuple(final),
        errors=tuple(errors),
        notes=tuple(notes),
        fail_on=config.fail_on,
        files=partial.files,
        documents=partial.documents,
        skipped=partial.skipped,
    )


def check_documents(
    docs: Iterable[Document],
    config: Config,
    *,
    baseline: frozenset[str] | None = None,
    today: dt.date | None = None,
) -> Report:
    """Check documents already in memory (rendered output, an admission request)."""
    docs = list(docs)
    s = settings_for(config, namespaces_in(docs), today=today)
    out = Partial()
    check_all(docs, s, _rules(s), out)
    return _finish(out, s, config, baseline, ())


def scan(
    paths: Sequence[FsPath],
    config: Config,
    *,
    root: FsPath | None = None,
    render: RenderOptions | None = None,
    baseline: frozenset[str] | None = None,
    inline: bool | None = None,
    jobs: int | None = None,
    today: dt.date | None = None,
) -> Report:
    render = render or RenderOptions()
    root = root or FsPath.cwd()
    targets = targets_of(rules_for(config))
    every = bool(targets - {Target.KUBERNETES, Target.KUBERNETES_SET})
    inv = discover(paths, root, config.exclude, every_file=every)
    notes: list[str] = []
    if not yamlload.LIBYAML:
        notes.append("libyaml is missing: YAML is parsed by PyYAML's pure-Python loader (slower)")
    rendered: list[Document] = []
    render_errors: list[ScanError] = []
    plain = inv.files
    owned: set[FsPath] = set()
    # Each file's real path once (not once per chart): only charts and kustomizations ask.
    real = {p: p.resolve() for p in plain} if inv.charts or inv.kustomizations else {}
    if render.enabled:
        owned, rendered, render_errors, render_notes = _render_all(inv, plain, real, render)
        notes += render_notes
    templates = [c.resolve() / "templates" for c in inv.charts]
    files: list[Job] = [
        (
            str(p),
            inv.display(p),
            RENDERED
            if p in owned
            else TEMPLATE
            if any(real[p].is_relative_to(t) for t in templates)
            else PLAIN,
        )
        for p in plain
    ]
    namespaces = _namespace_prepass(files, config.max_file_size)
    namespaces.update(namespaces_in(rendered))
    s = settings_for(config, namespaces, inline=inline, today=today)
    partial = check_files(files, s, jobs)
    partial.errors.extend(inv.errors)
    partial.errors.extend(render_errors)
    rules = _rules(s)
    partial.files += len({d.file for d in rendered})
    check_all(rendered, s, rules, partial)
    return _finish(partial, s, config, baseline, notes)


def _render_all(
    inv: Inventory, plain: list[FsPath], real: Mapping[FsPath, FsPath], opts: RenderOptions
) -> tuple[set[FsPath], list[Document], list[ScanError], list[str]]:
    """Render charts and kustomizations; returns the files the renders own, among others."""
    if not inv.charts and not inv.kustomizations:
        return set(), [], [], []
    from deploysafe.inputs import render as r

    docs: list[Document] = []
    errors: list[ScanError] = []
    notes: list[str] = []
    owned: set[FsPath] = set()
    if inv.charts:
        engine = r.helm_available()
        if engine is None:
            notes.append(
                "Helm not found (no `helm` binary, no helm-python-sdk): charts were scanned as "
                "plain files; templates that are not YAML were skipped"
            )
        else:
            for chart in inv.charts:
                res = r.render_helm(
                    chart,
                    inv.root,
                    values=opts.values,
                    set_values=opts.set_values,
                    namespace=opts.namespace,
                    release_name=opts.release_name,
                )
                docs.extend(res.documents)
                errors.extend(res.errors)
                owned.update(real[p] for p in plain if real[p].is_relative_to(chart))
            notes.append(f"rendered {len(inv.charts)} Helm chart(s) with {engine}")
    roots, patches = _kustomize_roots(inv.kustomizations)
    if roots:
        tool = r.kustomize_available()
        if tool is None:
            notes.append(
                "kustomize not found (no `kustomize`, no `kubectl kustomize`): kustomize folders "
                "were scanned as plain files, without their overlays applied"
            )
        else:
            origins: set[str] = set()
            for folder in roots:
                built = r.render_kustomize(folder, inv.root)
                if built is None:
                    continue
                docs.extend(built.documents)
                errors.extend(built.errors)
                origins.update(d.file for d in built.documents)
            # Resources come back through origins; patches and other files that sit in a
            # kustomization folder are inputs to the build, not objects of their own.
            folders = {f.resolve() for f in inv.kustomizations}
            owned.update(
                real[p]
                for p in plain
                if inv.display(p) in origins or real[p].parent in folders or real[p] in patches
            )
            notes.append(f"built {len(roots)} kustomization(s) with {' '.join(tool)}")
    return {p for p in plain if real[p] in owned}, docs, errors, notes


def _kustomize_roots(folders: Sequence[FsPath]) -> tuple[list[FsPath], set[FsPath]]:
    """Kustomizations no other scanned kustomization builds on (overlays, not bases),
    and the patch files every kustomization names."""
    import yaml

    resolved = {f.resolve() for f in folders}
    referenced: set[FsPath] = set()
    patches: set[FsPath] = set()
    for f in folders:
        for name in KUSTOMIZATION_NAMES:
            k = f / name
            if not k.is_file():
                continue
            try:
                data = yaml.safe_load(k.read_text(encoding="utf-8"))
            except (OSError, UnicodeDecodeError, yaml.YAMLError):
                continue
            if not isinstance(data, dict):
                continue
            for key in ("resources", "bases", "components"):
                for entry in data.get(key) or []:
                    if isinstance(entry, str):
                        target = (f / entry).resolve()
                        if target in resolved:
                            referenced.add(target)
            for key in ("patches", "patchesStrategicMerge", "patchesJson6902"):
                for entry in data.get(key) or []:
                    rel = entry.get("path") if isinstance(entry, dict) else entry
                    if isinstance(rel, str) and "\n" not in rel:
                        patches.add((f / rel).resolve())
    return [f for f in folders if f.resolve() not in referenced], patches
