"""GitLab CI pipelines as GitLab builds them, with every key's file, line and column.

`.gitlab-ci.yml` is merged with its local `include:`s (included files first, in order,
the including file on top; hashes deep-merged, everything else replaced), then `!reference`
tags are resolved, then `extends:` (templates first, the job's own keys win) and the
`default:` section. Remote, project, template and component includes cannot be read
offline and are left out. One document is built per file taking part, each carrying the
merged pipeline but only the positions of the keys written in that file, so a finding
points at the file and line where the offending key is.
"""

from __future__ import annotations

import copy
import os
import re
from collections.abc import Callable, Iterator, Mapping
from dataclasses import field
from pathlib import Path, PurePosixPath
from typing import Any, Generic, TypeVar

import yaml

from deploysafe.ci import commands, yamlci
from deploysafe.ci.yamlci import CiDocument, Scalar
from deploysafe.frozen import record
from deploysafe.inputs.documents import LoadResult
from deploysafe.model import Document, KeyPath, ScanError, Target, Violation
from deploysafe.secrets.names import CI_VARIABLE_REFERENCE
from deploysafe.yamlload import MAX_DEPTH, YamlProblem

KEYWORDS = frozenset(
    {
        "default",
        "include",
        "stages",
        "variables",
        "workflow",
        "image",
        "services",
        "cache",
        "before_script",
        "after_script",
        "types",
        "spec",
    }
)
DEFAULT_STAGES = (".pre", "build", "test", "deploy", ".post")
MAX_INCLUDES = 150
MAX_EXTENDS_DEPTH = 11
MAX_REFERENCE_DEPTH = 10  # GitLab's limit for `!reference` tags nested in what they copy
# Values (mappings, lists, scalars) all `!reference` tags of one pipeline may copy: a few
# lines doubled at each of ten levels would otherwise copy millions.
MAX_REFERENCE_VALUES = 200_000
# Values jobs of one pipeline may inherit through `extends:` and `default:` together (each
# job counts what it takes from its templates and from `default:`). A 600-job pipeline
# whose jobs each extend three templates of 60 values inherits about 110,000; 40 jobs
# extending one 22,000-value template would be 880,000 values for the rules to walk.
MAX_INHERITED_VALUES = 500_000

Origin = tuple[str, int, int]  # file, line, column


# ---------------------------------------------------------------- the model


@record
class Need:
    job: str
    optional: bool = False


@record
class Job:
    name: str
    data: Mapping[str, Any]

    @property
    def path(self) -> KeyPath:
        return (self.name,)

    @property
    def label(self) -> str:
        return f"job {self.name!r}"

    def get(self, key: str) -> Any:
        return self.data.get(key)

    @property
    def stage(self) -> str:
        s = self.data.get("stage")
        return str(s) if isinstance(s, str) else "test"

    @property
    def needs(self) -> tuple[Need, ...] | None:
        raw = self.data.get("needs")
        if raw is None:
            return None
        out = []
        for item in raw if isinstance(raw, list) else []:
            if isinstance(item, str):
                out.append(Need(item))
            elif isinstance(item, dict) and isinstance(item.get("job"), str):
                if "pipeline" in item or "project" in item:
                    continue
                out.append(Need(item["job"], item.get("optional") is True))
        return tuple(out)

    def script_lines(self, *keys: str) -> Iterator[tuple[KeyPath, str]]:
        """(path, line) of every script line, nested `!reference` lists flattened."""
        for key in keys or ("before_script", "script"):
            raw = self.data.get(key)
            if isinstance(raw, str):
                yield (self.name, key), raw
            elif isinstance(raw, list):
                yield from _flatten(raw, (self.name, key))

    @property
    def script(self) -> str:
        return "\n".join(line for _, line in self.script_lines())

    @property
    def environment(self) -> str | None:
        env = self.data.get("environment")
        if isinstance(env, str):
            return env
        if isinstance(env, dict):
            if env.get("action") in ("stop", "prepare", "access", "verify"):
                return None
            name = env.get("name")
            return str(name) if name is not None else None
        return None

    @property
    def is_pages(self) -> bool:
        """The GitLab Pages job: it publishes a documentation site, not the application."""
        return self.name == "pages" or self.data.get("pages") not in (None, False)

    @property
    def is_trigger(self) -> bool:
        return "trigger" in self.data

    @property
    def runs_tests(self) -> bool:
        if self.is_trigger:
            return False
        # By command or by the job's name; not by stage: linters and scanners share the
        # `test` stage with the tests.
        return commands.runs_tests(self.script) or commands.is_test_name(self.name)

    @property
    def deploys(self) -> bool:
        return commands.deploys(self.script)

    @property
    def is_deploy(self) -> bool:
        if self.is_trigger or self.is_pages:
            return False
        if self.environment is not None or self.deploys:
            return True
        stage = self.data.get("stage")
        return isinstance(stage, str) and commands.is_deploy_name(stage)

    @property
    def rules(self) -> list[tuple[int, Mapping[str, Any]]]:
        raw = self.data.get("rules")
        if not isinstance(raw, list):
            return []
        return [(i, r) for i, r in enumerate(raw) if isinstance(r, dict)]


def _flatten(items: list[Any], path: KeyPath, depth: int = 0) -> Iterator[tuple[KeyPath, str]]:
    for i, item in enumerate(items):
        if isinstance(item, str):
            yield (*path, i), item
        elif isinstance(item, list) and depth < 10:
            yield from _flatten(item, (*path, i), depth + 1)


@record
class Pipeline:
    jobs: tuple[Job, ...]
    stages: tuple[str, ...]
    data: Mapping[str, Any]
    root: str  # the file the pipeline starts from
    origins: Mapping[KeyPath, str] = field(default_factory=dict)  # which file wrote each key
    by_name: Mapping[str, Job] = field(default_factory=dict)

    def owner(self, path: KeyPath) -> str:
        p = path
        while p:
            hit = self.origins.get(p)
            if hit is not None:
                return hit
            p = p[:-1]
        return self.root

    def stage_index(self, stage: str) -> int:
        try:
            return self.stages.index(stage)
        except ValueError:
            return len(self.stages)

    def ancestors(self, job: Job) -> list[Job] | None:
        """Jobs `job` waits for through `needs:` (None: it follows stage order)."""
        if job.needs is None:
            return None
        out: list[Job] = []
        seen = {job.name}
        todo = [n.job for n in job.needs]
        while todo:
            name = todo.pop()
            if name in seen:
                continue
            seen.add(name)
            dep = self.by_name.get(name)
            if dep is None:
                out.append(Job(name, {}))  # defined where we cannot see (remote include)
                continue
            out.append(dep)
            if dep.needs is not None:
                todo.extend(n.job for n in dep.needs)
            else:
                todo.extend(
                    j.name
                    for j in self.jobs
                    if self.stage_index(j.stage) < self.stage_index(dep.stage)
                )
        return out

    @property
    def workflow_rules(self) -> list[Mapping[str, Any]]:
        wf = self.data.get("workflow")
        rules = wf.get("rules") if isinstance(wf, dict) else None
        return [r for r in rules if isinstance(r, dict)] if isinstance(rules, list) else []


def pipeline(
    data: Mapping[str, Any], root: str = "", origins: Mapping[KeyPath, str] | None = None
) -> Pipeline:
    jobs = tuple(
        Job(str(name), value)
        for name, value in data.items()
        if isinstance(value, dict) and str(name) not in KEYWORDS and not str(name).startswith(".")
    )
    stages_raw = data.get("stages")
    stages = (
        tuple(str(s) for s in stages_raw if isinstance(s, str))
        if isinstance(stages_raw, list)
        else DEFAULT_STAGES
    )
    if stages != DEFAULT_STAGES:
        stages = (".pre", *[s for s in stages if s not in (".pre", ".post")], ".post")
    origins = {} if origins is None else origins
    return Pipeline(jobs, stages, data, root, origins, {j.name: j for j in jobs})


def pipeline_of(doc: CiDocument) -> Pipeline:
    if isinstance(doc.model, Pipeline):
        return doc.model
    return pipeline(doc.data, doc.file)


def mine(doc: CiDocument, violations: Iterator[Violation]) -> Iterator[Violation]:
    """The violations whose key was written in this document's file."""
    p = pipeline_of(doc)
    for v in violations:
        if p.owner(v.path) == doc.file:
            yield v


# ---------------------------------------------------------------- rule conditions

_DISJUNCTS = re.compile(r"\|\|")
_PROTECTED_ATOM = re.compile(
    r"\$\{?CI_COMMIT_(?:BRANCH|REF_NAME)\}?\s*(?:==|=~)\s*(?:\$\{?CI_DEFAULT_BRANCH\}?|[\"'/])|"
    r"\$\{?CI_DEFAULT_BRANCH\}?\s*==\s*\$\{?CI_COMMIT_(?:BRANCH|REF_NAME)\}?|"
    r"\$\{?CI_COMMIT_TAG\}?(?!\s*==\s*null)(?!\s*!=\s*\S)|"
    r"\$\{?CI_COMMIT_REF_PROTECTED\}?\s*==\s*[\"']?true"
)
_MR = re.compile(
    r"\$\{?CI_PIPELINE_SOURCE\}?\s*==\s*[\"']merge_request_event[\"']|"
    r"\$\{?CI_MERGE_REQUEST_(?:IID|ID)\}?(?!\s*==\s*null)|"
    r"\$\{?CI_OPEN_MERGE_REQUESTS\}?"
)
_SAME_PROJECT = re.compile(
    r"\$\{?CI_MERGE_REQUEST_SOURCE_PROJECT_(?:ID|PATH)\}?\s*==\s*\$\{?CI_PROJECT_(?:ID|PATH)\}?|"
    r"\$\{?CI_PROJECT_(?:ID|PATH)\}?\s*==\s*\$\{?CI_MERGE_REQUEST_SOURCE_PROJECT_(?:ID|PATH)\}?"
)
_SCHEDULE = re.compile(r"\$\{?CI_PIPELINE_SOURCE\}?\s*==\s*[\"']schedule[\"']")
_NOT_PROTECTED_REFS = frozenset(
    {
        "branches",
        "merge_requests",
        "pushes",
        "api",
        "web",
        "triggers",
        "pipelines",
        "external",
        "external_pull_requests",
        "chat",
        "schedules",
    }
)


def _strip_parens(text: str) -> str:
    t = text.strip()
    while t.startswith("(") and t.endswith(")"):
        depth = 0
        for i, ch in enumerate(t):
            depth += ch == "("
            depth -= ch == ")"
            if depth == 0 and i < len(t) - 1:
                return t
        t = t[1:-1].strip()
    return t


def _disjuncts(cond: str) -> list[str]:
    out: list[str] = []
    cur: list[str] = []
    depth = 0
    i = 0
    t = _strip_parens(cond)
    while i < len(t):
        ch = t[i]
        if ch == "(":
            depth += 1
        elif ch == ")":
            depth -= 1
        if depth == 0 and t.startswith("||", i):
            out.append("".join(cur))
            cur = []
            i += 2
            continue
        cur.append(ch)
        i += 1
    out.append("".join(cur))
    return [_strip_parens(d) for d in out]


def protects(cond: str) -> bool:
    """An `if:` that only holds on the default branch, a tag, a named branch or a
    protected ref."""
    return all(_PROTECTED_ATOM.search(d) for d in _disjuncts(cond))


def _active(rules: list[tuple[int, Mapping[str, Any]]]) -> list[tuple[int, Mapping[str, Any]]]:
    return [(i, r) for i, r in rules if r.get("when") != "never"]


def restricted(job: Job, pipe: Pipeline) -> bool:
    """The job only runs for protected refs (its rules/only, or the workflow's rules)."""
    if "rules" in job.data:
        return all(
            isinstance(r.get("if"), str) and protects(r["if"]) for _, r in _active(job.rules)
        )
    only = job.data.get("only")
    if only is not None:
        refs = only.get("refs") if isinstance(only, dict) else only
        variables = only.get("variables") if isinstance(only, dict) else None
        if isinstance(variables, list) and any(
            isinstance(v, str) and protects(v) for v in variables
        ):
            return True
        if isinstance(refs, str):
            refs = [refs]
        if isinstance(refs, list) and refs:
            return all(isinstance(r, str) and r not in _NOT_PROTECTED_REFS for r in refs)
        return False
    wf = [r for r in pipe.workflow_rules if r.get("when") != "never"]
    return bool(wf) and all(isinstance(r.get("if"), str) and protects(r["if"]) for r in wf)


def merge_request_rules(job: Job) -> list[tuple[KeyPath, str]]:
    """(path, condition) of each way the job runs in merge request pipelines without
    checking the merge request comes from this project."""
    out: list[tuple[KeyPath, str]] = []
    for i, r in _active(job.rules):
        cond = r.get("if")
        if (
            isinstance(cond, str)
            and _MR.search(cond)
            and not all(_SAME_PROJECT.search(d) for d in _disjuncts(cond) if _MR.search(d))
        ):
            out.append(((job.name, "rules", i, "if"), cond))
    only = job.data.get("only")
    refs = only.get("refs") if isinstance(only, dict) else only
    if isinstance(refs, list) and "merge_requests" in refs:
        out.append(((job.name, "only"), "only: merge_requests"))
    return out


def schedule_only(job: Job) -> bool:
    if "rules" in job.data:
        active = _active(job.rules)
        return bool(active) and all(
            isinstance(r.get("if"), str) and all(_SCHEDULE.search(d) for d in _disjuncts(r["if"]))
            for _, r in active
        )
    only = job.data.get("only")
    refs = only.get("refs") if isinstance(only, dict) else only
    return isinstance(refs, list) and refs == ["schedules"]


_PREDEFINED = frozenset({"CI_JOB_TOKEN", "CI_REGISTRY_PASSWORD", "CI_JOB_JWT", "CI_JOB_JWT_V2"})


# `$[[ inputs.name ]]`, optionally through functions (`| expand_vars | truncate(0,8)`).
INPUT_REFERENCE = re.compile(r"\$\[\[\s*inputs\.([A-Za-z0-9_-]+)\s*(?:\|[^\]]*)?\]\]")


def spec_inputs(text: str) -> Mapping[str, Any] | None:
    """The `spec: inputs:` of a CI file's header document (None when it has no header):
    input name -> its declaration (`type`, `default`, `options`, `regex` ...)."""
    if not re.search(r"^spec:", text, re.MULTILINE):
        return None
    try:
        first = next(yaml.safe_load_all(text), None)
    except yaml.YAMLError:
        return None
    if not isinstance(first, dict) or list(first) != ["spec"]:
        return None
    spec = first["spec"]
    inputs = spec.get("inputs") if isinstance(spec, dict) else None
    return inputs if isinstance(inputs, dict) else {}


def free_text_input(inputs: Mapping[str, Any], name: str) -> bool:
    """A declared input that takes any string: not a boolean, number or array, and not
    limited by `options:` or `regex:`."""
    decl = inputs.get(name)
    if not isinstance(decl, dict):
        return name in inputs  # `name:` with no settings: a string
    return decl.get("type", "string") == "string" and "options" not in decl and "regex" not in decl


def secrets_used(job: Job) -> list[str]:
    """Secret-looking CI/CD variables the job reads (GitLab hands it any it can see)."""
    variables = job.data.get("variables")
    values = variables.values() if isinstance(variables, dict) else ()
    text = "\n".join([job.script, *(str(v) for v in values)])
    names = {m.group(1) for m in CI_VARIABLE_REFERENCE.finditer(text)} - _PREDEFINED
    if "secrets" in job.data or "id_tokens" in job.data:
        names.add("secrets:" if "secrets" in job.data else "id_tokens:")
    return sorted(names)


# ---------------------------------------------------------------- loading


@record(frozen=False)
class _File:
    display: str
    text: str
    loaded: yamlci.Loaded


@record(frozen=False)
class _Build:
    root_dir: Path | None  # where `include: local:` paths start
    root_display: str
    shown_from: Path | None  # the folder displays are relative to; None: absolute paths
    files: dict[str, _File] = field(default_factory=dict)
    errors: list[ScanError] = field(default_factory=list)
    count: int = 0
    inherited: int = 0  # values taken through `extends:` and `default:`


def build(
    text: str,
    display: str,
    path: Path | None,
    *,
    top: Path | None = None,
    shown_from: Path | None = None,
) -> LoadResult:
    """The `sources.BUILDERS` entry for `.gitlab-ci.yml`: `include: local:` paths start at
    `top`, the repository's top level (its own folder when not given); included files are
    named from `shown_from` (by default the folder `display` is relative to)."""
    loaded = yamlci.load(text, header="spec")
    if loaded is None:
        return LoadResult([], [], 0)
    if isinstance(loaded, YamlProblem):
        return LoadResult([], [ScanError(display, loaded.line, str(loaded))], 0)
    errors = [ScanError(display, ln, msg) for ln, msg in loaded.warnings]
    if not isinstance(loaded.data, dict):
        return LoadResult([], [*errors, ScanError(display, 1, "not a mapping")], 0)
    folder = path.parent if path is not None else None
    b = _Build(top or folder, display, shown_from or _scan_root(path, display), errors=errors)
    root = _File(display, text, loaded)
    b.files[display] = root
    layers = _layers(b, root, set())
    data, origin, scal = _merge(layers)
    _references(b, layers, data, origin, scal)
    links: Links = {}
    _extends(b, data, origin, links)
    _defaults(b, data, origin, links)
    pipe = pipeline(data, display, _View(data, origin, links, lambda o: o[0]))
    docs: list[Document] = [
        CiDocument(
            f.display,
            data,
            _View(data, origin, links, _at(f.display), {(): f.loaded.positions[()]}),
            f.text.splitlines(),
            type=Target.GITLAB_CI,
            text=f.text,
            scalars=_View(data, scal, links, _scalar_of(f.display)),
            starts=yamlci.line_starts(f.text),
            model=pipe,
        )
        for f in b.files.values()
    ]
    return LoadResult(docs, b.errors, 0)


def _scan_root(path: Path | None, display: str) -> Path | None:
    """The folder `display` is relative to, so included files are shown the same way; None
    when the file is shown by an absolute path (its includes are, too)."""
    shown = PurePosixPath(display)
    if path is None or shown.is_absolute() or ".." in shown.parts:
        return None
    if len(shown.parts) > len(path.parts):
        return None
    return path.parents[len(shown.parts) - 1]


def _include_entries(data: Mapping[str, Any]) -> Iterator[tuple[KeyPath, str]]:
    raw = data.get("include")
    items = raw if isinstance(raw, list) else [raw] if raw is not None else []
    base: KeyPath = ("include",) if not isinstance(raw, list) else ()
    for i, item in enumerate(items):
        p: KeyPath = base if base else ("include", i)
        if isinstance(item, str):
            if not re.match(r"^[a-z]+://", item):
                yield p, item
        elif isinstance(item, dict) and isinstance(item.get("local"), str):
            yield (*p, "local"), item["local"]


def _layers(b: _Build, f: _File, stack: set[str]) -> list[_File]:
    """Files in merge order: each include's layers, then the file itself."""
    out: list[_File] = []
    stack = stack | {f.display}
    for p, rel in _include_entries(f.loaded.data):
        line = f.loaded.positions.get(p, f.loaded.positions.get(("include",), (1, 1)))[0]
        for inc in _resolve(b, f, rel, line):
            if inc.display in stack:
                b.errors.append(ScanError(f.display, line, f"include {rel!r} includes itself"))
                continue
            out.extend(_layers(b, inc, stack))
    out.append(f)
    return out


def _resolve(b: _Build, f: _File, rel: str, line: int) -> list[_File]:
    if b.root_dir is None:
        return []  # in-memory input: nothing to include from
    clean = rel.strip().lstrip("/")
    if not clean:
        b.errors.append(ScanError(f.display, line, "include: empty local path"))
        return []
    root = b.root_dir.resolve()
    if any(ch in clean for ch in "*?["):
        matches = sorted(p for p in root.glob(clean) if p.is_file())
    else:
        matches = [root / clean]
    out = []
    for target in matches:
        try:
            resolved = target.resolve()
        except OSError:
            resolved = target
        if not resolved.is_relative_to(root):
            b.errors.append(
                ScanError(f.display, line, f"include {rel!r} points outside the repository")
            )
            continue
        if not resolved.is_file():
            b.errors.append(ScanError(f.display, line, f"include {rel!r}: no such file"))
            continue
        display = (
            Path(os.path.relpath(resolved, b.shown_from)).as_posix()
            if b.shown_from is not None
            else resolved.as_posix()
        )
        if display in b.files:
            out.append(b.files[display])
            continue
        b.count += 1
        if b.count > MAX_INCLUDES:
            b.errors.append(ScanError(f.display, line, f"more than {MAX_INCLUDES} includes"))
            return out
        try:
            text = resolved.read_text(encoding="utf-8-sig")
        except (OSError, UnicodeDecodeError) as exc:
            b.errors.append(ScanError(display, None, f"cannot read included file: {exc}"))
            continue
        loaded = yamlci.load(text, header="spec")
        if loaded is None:
            continue
        if isinstance(loaded, YamlProblem):
            b.errors.append(ScanError(display, loaded.line, str(loaded)))
            continue
        b.errors.extend(ScanError(display, ln, msg) for ln, msg in loaded.warnings)
        if not isinstance(loaded.data, dict):
            b.errors.append(ScanError(display, 1, "included file is not a mapping"))
            continue
        inc = _File(display, text, loaded)
        b.files[display] = inc
        out.append(inc)
    return out


def deep_merge(base: Any, over: Any) -> Any:
    """GitLab's merge: mappings key by key (the later wins), anything else replaced."""
    if isinstance(base, dict) and isinstance(over, dict):
        out = dict(base)
        for k, v in over.items():
            out[k] = deep_merge(base[k], v) if k in base else copy.deepcopy(v)
        return out
    return copy.deepcopy(over)


Origins = dict[KeyPath, Origin]
Scalars = dict[KeyPath, tuple[str, Scalar]]
# Inherited keys by reference: the keys under a job (`(job,)`, from `extends:`) or a job's
# key (`(job, key)`, from `default:`) that the job does not write itself are where the
# first listed source (`(template,)`, `("default", key)`) that has them has them. A lookup
# follows the links instead of every inherited value's position being copied per job.
Links = dict[KeyPath, tuple[KeyPath, ...]]
_V = TypeVar("_V")
_T = TypeVar("_T")
_MAX_HOPS = 2 * MAX_EXTENDS_DEPTH + 4  # extends loops are refused; this bounds a lookup


def _follow(
    data: Mapping[str, Any], direct: Mapping[KeyPath, _V], links: Links, p: KeyPath, hops: int
) -> _V | None:
    hit = direct.get(p)
    if hit is not None or hops > _MAX_HOPS:
        return hit
    for k in (2, 1):
        sources = links.get(p[:k]) if len(p) >= k else None
        for src in sources or ():
            q = (*src, *p[k:])
            if _get(data, q) is not None:
                hit = _follow(data, direct, links, q, hops + 1)
                if hit is not None:
                    return hit
    return None


class _View(Mapping[KeyPath, _T], Generic[_V, _T]):
    """What `pick` makes of each path's entry in `direct` (inherited ones through
    `links`), for the paths where it gives something; `extra` is added as is."""

    __slots__ = ("_data", "_direct", "_extra", "_links", "_pick")

    def __init__(
        self,
        data: Mapping[str, Any],
        direct: Mapping[KeyPath, _V],
        links: Links,
        pick: Callable[[_V], _T | None],
        extra: Mapping[KeyPath, _T] | None = None,
    ) -> None:
        self._data = data
        self._direct = direct
        self._links = links
        self._pick = pick
        self._extra = extra or {}

    def __getitem__(self, p: KeyPath) -> _T:
        if p in self._extra:
            return self._extra[p]
        hit = _follow(self._data, self._direct, self._links, p, 0)
        out = None if hit is None else self._pick(hit)
        if out is None:
            raise KeyError(p)
        return out

    def __iter__(self) -> Iterator[KeyPath]:
        yield from self._extra
        for p in _paths(self._data, ()):
            if p not in self._extra and p in self:
                yield p

    def __len__(self) -> int:
        return sum(1 for _ in self)


def _at(display: str) -> Callable[[Origin], tuple[int, int] | None]:
    return lambda o: (o[1], o[2]) if o[0] == display else None


def _scalar_of(display: str) -> Callable[[tuple[str, Scalar]], Scalar | None]:
    return lambda s: s[1] if s[0] == display else None


def _overlay(base: Any, over: Any) -> Any:
    """`deep_merge` without copies: the result shares what it takes whole (the pipeline
    is read, never written, once built)."""
    if isinstance(base, dict) and isinstance(over, dict):
        out = dict(base)
        for k, v in over.items():
            out[k] = _overlay(base[k], v) if k in base else v
        return out
    return over


def _paths(value: Any, prefix: KeyPath) -> Iterator[KeyPath]:
    """Every path in `value` (prefixed), parents before children, walked without recursion."""
    todo = [(prefix, value)]
    while todo:
        p, v = todo.pop()
        yield p
        if isinstance(v, dict):
            todo.extend(((*p, k), x) for k, x in reversed(v.items()))
        elif isinstance(v, list):
            todo.extend(((*p, i), x) for i, x in reversed(list(enumerate(v))))


def _merge(layers: list[_File]) -> tuple[dict[str, Any], Origins, Scalars]:
    data: dict[str, Any] = {}
    for layer in layers:
        own = {k: v for k, v in layer.loaded.data.items() if k != "include"}
        data = deep_merge(data, own)
    origin: Origins = {}
    scal: Scalars = {}
    for p in _paths(data, ()):
        if not p:
            continue
        for layer in reversed(layers):  # the last layer that writes a path provides it
            pos = layer.loaded.positions.get(p)
            if pos is not None:
                origin[p] = (layer.display, *pos)
                s = layer.loaded.scalars.get(p)
                if s is not None:
                    scal[p] = (layer.display, s)
                break
    return data, origin, scal


def _get(data: Any, path: KeyPath) -> Any:
    for key in path:
        if isinstance(data, list):
            if not (isinstance(key, int) and 0 <= key < len(data)):
                return None
            data = data[key]
        elif isinstance(data, dict) and key in data:
            data = data[key]
        else:
            return None
    return data


def _set(data: Any, path: KeyPath, value: Any) -> None:
    parent = _get(data, path[:-1])
    if isinstance(parent, dict) or (isinstance(parent, list) and isinstance(path[-1], int)):
        parent[path[-1]] = value  # type: ignore[index]


def _graft(
    origin: Origins, scal: Scalars, dst: KeyPath, old: Any, src: KeyPath, value: Any
) -> None:
    """Positions of `value` (copied from `src`) now describe `dst`, where `old` was."""
    for p in _paths(old, ()):
        if p:
            origin.pop((*dst, *p), None)
            scal.pop((*dst, *p), None)
    for p in _paths(value, ()):
        if not p:
            continue
        o = origin.get((*src, *p))
        if o is not None:
            origin[(*dst, *p)] = o
        s = scal.get((*src, *p))
        if s is not None:
            scal[(*dst, *p)] = s


def _references(
    b: _Build, layers: list[_File], data: dict[str, Any], origin: Origins, scal: Scalars
) -> None:
    """Resolve `!reference [job, key, ...]`, each after the references inside what it
    copies; a reference that is part of a loop, nested deeper than GitLab's ten levels, or
    would take the copies past MAX_REFERENCE_VALUES, is an error and stays as written."""
    refs: dict[KeyPath, tuple[str, ...]] = {}
    for layer in layers:
        for p, tag in layer.loaded.tags.items():
            if tag != "!reference" or origin.get(p, ("",))[0] != layer.display:
                continue  # overridden by a later file
            ref = _get(data, p)
            if isinstance(ref, list) and ref and all(isinstance(x, str) for x in ref):
                refs[p] = tuple(ref)
    if not refs:
        return
    deps = _dependencies(refs)
    height, looped = _heights(refs, deps)

    def fail(p: KeyPath, why: str) -> None:
        file, line, _ = origin.get(p, (b.root_display, 1, 1))
        b.errors.append(ScanError(file, line, f"!reference [{', '.join(refs[p])}]: {why}"))

    for p in refs:
        if p in looped:
            fail(p, "a loop of references; left unresolved")
        elif height[p] == MAX_REFERENCE_DEPTH + 1:
            fail(
                p,
                f"references nested deeper than {MAX_REFERENCE_DEPTH} levels (GitLab's limit); "
                "left unresolved",
            )
    unresolved = looped | {p for p in refs if height[p] > MAX_REFERENCE_DEPTH}
    copied = 0
    for p in sorted((p for p in refs if p not in unresolved), key=lambda p: height[p]):
        src = refs[p]
        value = _get(data, src)
        if value is None or any(q in unresolved for q in deps[p]):
            # Points nowhere, or copies a reference left as written (reported there).
            unresolved.add(p)
            continue
        values, depth = _measure(value)
        copied += values
        if copied > MAX_REFERENCE_VALUES:
            fail(
                p,
                f"references expand to more than {MAX_REFERENCE_VALUES} values; "
                "this and the references after it are left unresolved",
            )
            return
        if len(p) + depth > MAX_DEPTH:
            fail(p, f"nested deeper than {MAX_DEPTH} levels once resolved; left unresolved")
            unresolved.add(p)
            continue
        old = _get(data, p)
        _set(data, p, copy.deepcopy(value))
        _graft(origin, scal, p, old, src, value)


_HERE = None  # the trie's mark for "a reference is here": no key of a path is None


def _dependencies(refs: Mapping[KeyPath, tuple[str, ...]]) -> dict[KeyPath, list[KeyPath]]:
    """For each reference, the references to resolve before it: those inside what it
    copies, and those on the way to it (`[.a, script, 0]` when `.a.script` is one). A
    trie of the references' paths keeps this linear; each source is looked up once."""
    trie: dict[Any, Any] = {}
    for p in refs:
        at = trie
        for key in p:
            at = at.setdefault(key, {})
        at[_HERE] = p
    by_source: dict[tuple[str, ...], list[KeyPath]] = {}
    out: dict[KeyPath, list[KeyPath]] = {}
    for p, src in refs.items():
        found = by_source.get(src)
        if found is None:
            found = []
            node: dict[Any, Any] | None = trie
            for key in src:
                assert node is not None
                if _HERE in node:
                    found.append(node[_HERE])
                node = node.get(key)
                if node is None:
                    break
            else:
                todo = [node] if node is not None else []
                while todo:
                    n = todo.pop()
                    for key, sub in n.items():
                        if key == _HERE:
                            found.append(sub)
                        else:
                            todo.append(sub)
            by_source[src] = found
        out[p] = found
    return out


def _heights(
    refs: Mapping[KeyPath, tuple[str, ...]], deps: Mapping[KeyPath, list[KeyPath]]
) -> tuple[dict[KeyPath, int], set[KeyPath]]:
    """How deeply each reference nests (1: it copies no reference), and the references
    that are part of a loop. Iterative: a chain of references may be thousands long."""
    height: dict[KeyPath, int] = {}
    looped: set[KeyPath] = set()
    for start in refs:
        if start in height:
            continue
        stack = [(start, iter(deps[start]))]
        on_stack = {start: 0}
        height[start] = 0  # being visited
        while stack:
            p, pending = stack[-1]
            q = next(pending, None)
            if q is None:
                stack.pop()
                del on_stack[p]
                height[p] = 1 + max((height[d] for d in deps[p]), default=0)
                continue
            if q in on_stack:  # a loop: every reference from q up to p is in it
                looped.update(r for r, _ in stack[on_stack[q] :])
            elif q not in height:
                on_stack[q] = len(stack)
                height[q] = 0
                stack.append((q, iter(deps[q])))
    return height, looped


def _measure(value: Any) -> tuple[int, int]:
    """How many values `value` holds (itself included) and how deeply they nest."""
    count, deepest = 0, 0
    todo = [(value, 1)]
    while todo:
        v, depth = todo.pop()
        count += 1
        deepest = max(deepest, depth)
        if isinstance(v, dict):
            todo.extend((x, depth + 1) for x in v.values())
        elif isinstance(v, list):
            todo.extend((x, depth + 1) for x in v)
    return count, deepest


def _inherit(b: _Build, name: str, values: int, origin: Origins, what: str) -> bool:
    """Count `values` more inherited values; past MAX_INHERITED_VALUES, report it at the
    job's line and refuse."""
    if b.inherited + values <= MAX_INHERITED_VALUES:
        b.inherited += values
        return True
    file, line, _ = origin.get((name,), (b.root_display, 1, 1))
    b.errors.append(
        ScanError(
            file,
            line,
            f"{what} of {name!r}: jobs would inherit more than {MAX_INHERITED_VALUES} values "
            "through extends: and default:; left as written",
        )
    )
    return False


def _extends(b: _Build, data: dict[str, Any], origin: Origins, links: Links) -> None:
    resolved: dict[str, Any] = {}
    sizes: dict[str, int] = {}  # values a resolved job holds, at most

    def resolve(name: str, chain: tuple[str, ...]) -> Any:
        if name in resolved:
            return resolved[name]
        own = data.get(name)
        if not isinstance(own, dict):
            return None
        sizes[name] = _measure(own)[0]
        parents = own.get("extends")
        parents = [parents] if isinstance(parents, str) else parents
        if not isinstance(parents, list) or not parents:
            resolved[name] = own
            return own
        if len(chain) > MAX_EXTENDS_DEPTH or name in chain:
            line = origin.get((name, "extends"), (b.root_display, 1, 1))
            b.errors.append(
                ScanError(line[0], line[1], f"extends of {name!r}: a loop or deeper than 11")
            )
            resolved[name] = own
            return own
        merged: Any = {}
        providers: list[str] = []
        for parent in parents:
            if not isinstance(parent, str):
                continue
            pdata = resolve(parent, (*chain, name))
            if isinstance(pdata, dict):
                merged = _overlay(merged, pdata)
                providers.append(parent)
        taken = sum(sizes.get(p, 0) for p in providers)
        if name in resolved or not _inherit(b, name, taken, origin, "extends"):
            resolved.setdefault(name, own)  # inside a loop, or past the limit
            return resolved[name]
        merged = _overlay(merged, own)
        # Positions: the job's own keys, else the last template that has the path.
        links[(name,)] = tuple((p,) for p in reversed(providers))
        sizes[name] += taken
        data[name] = merged
        resolved[name] = merged
        return merged

    for name in list(data):
        if isinstance(data[name], dict) and name not in KEYWORDS:
            resolve(str(name), ())


_INHERITED = (
    "image",
    "services",
    "before_script",
    "after_script",
    "tags",
    "cache",
    "artifacts",
    "retry",
    "timeout",
    "interruptible",
    "id_tokens",
    "hooks",
)


def _defaults(b: _Build, data: dict[str, Any], origin: Origins, links: Links) -> None:
    default = data.get("default")
    if not isinstance(default, dict):
        return
    sizes = {key: _measure(default[key])[0] for key in _INHERITED if key in default}
    for name, job in data.items():
        if not isinstance(job, dict) or name in KEYWORDS or str(name).startswith("."):
            continue
        inherit = job.get("inherit")
        if isinstance(inherit, dict) and inherit.get("default") is False:
            continue
        keys = [key for key in sizes if key not in job]
        if not _inherit(b, str(name), sum(sizes[k] for k in keys), origin, "default:"):
            continue
        for key in keys:
            job[key] = default[key]
            links[(name, key)] = (("default", key),)
