"""Caches restored by workflows that publish what they build (zizmor cache-poisoning).

A job publishes when its workflow runs on a release, a tag push or a push to a branch
named for releases, or when it has a step of a known publishing action. In such a job,
every step of a known cache-aware action whose cache is on (by the action's default, by
an input, or by an input computed at run time) is reported. The actions, their switches
and defaults are zizmor's (`crates/zizmor/src/audit/cache_poisoning.rs`).
"""

from __future__ import annotations

import enum
from collections.abc import Iterator, Mapping
from typing import Any

from deploysafe.ci import expressions
from deploysafe.ci.github import Job, Step, Workflow, action_version, workflow_of
from deploysafe.ci.yamlci import CiDocument
from deploysafe.frozen import record
from deploysafe.lazy import on_first_use
from deploysafe.model import Document, Practice, Severity, Target, Violation
from deploysafe.rules.base import Context, Rule


class Use(enum.Enum):
    """Whether a step uses the cache, four-valued as zizmor decides it."""

    OFF = 0
    MAYBE = 1  # an input computed at run time decides
    ON = 2  # an input turns it on
    DEFAULT = 3  # the action's default turns it on


class Kind(enum.Enum):
    BOOL = "bool"  # `true`/`false`; any other literal counts as true
    TEXT = "text"  # any non-empty value
    EXACT = "exact"  # one of the listed values


@record
class Field:
    """An action input that turns its cache on or off."""

    name: str
    kind: Kind
    default: bool  # the cache is on when the input is absent
    opt_out: bool = False  # the input turns the cache off (`lookup-only: true`)
    values: tuple[str, ...] = ()


@record
class AnyOf:
    """The cache is on when any part turns it on."""

    parts: tuple[Control, ...]


@record
class AllOf:
    """The cache is on when every part does."""

    parts: tuple[Control, ...]


@record
class Before:
    """The action's version is below this major version (unknown versions count as below)."""

    major: int


Control = Field | AnyOf | AllOf | Before | None  # None: the action always restores a cache


def _f(name: str, kind: Kind, default: bool, *values: str, opt_out: bool = False) -> Field:
    return Field(name, kind, default, opt_out, values)


# Action (owner/repo[/path], lower-case) -> what turns its cache on.
CACHE_ACTIONS: Mapping[str, Control] = {
    "actions/cache": _f("lookup-only", Kind.BOOL, True, opt_out=True),
    "actions/cache/restore": _f("lookup-only", Kind.BOOL, True, opt_out=True),
    "actions/setup-java": _f("cache", Kind.TEXT, False),
    "actions/setup-go": _f("cache", Kind.BOOL, True),
    "actions/setup-node": AnyOf(
        (
            _f("cache", Kind.EXACT, False, "npm", "yarn", "pnpm"),
            _f("package-manager-cache", Kind.BOOL, True),
        )
    ),
    "actions/setup-python": _f("cache", Kind.TEXT, False),
    "actions/setup-dotnet": _f("cache", Kind.BOOL, False),
    # setup-uv 10 turned the default off, and `auto` with it.
    "astral-sh/setup-uv": AnyOf(
        (
            _f("enable-cache", Kind.EXACT, False, "true"),
            AllOf((Before(10), _f("enable-cache", Kind.BOOL, True))),
        )
    ),
    "swatinem/rust-cache": _f("lookup-only", Kind.BOOL, True, opt_out=True),
    "ruby/setup-ruby": _f("bundler-cache", Kind.BOOL, False),
    "pyo3/maturin-action": _f("sccache", Kind.BOOL, False),
    "mlugg/setup-zig": _f("use-cache", Kind.BOOL, True),
    "oven-sh/setup-bun": _f("no-cache", Kind.BOOL, True, opt_out=True),
    "determinatesystems/magic-nix-cache-action": _f("use-gha-cache", Kind.BOOL, True),
    "graalvm/setup-graalvm": _f("cache", Kind.TEXT, False),
    "gradle/actions/setup-gradle": _f("cache-disabled", Kind.BOOL, True, opt_out=True),
    # The binary is cached only when a version is asked for.
    "docker/setup-buildx-action": AllOf(
        (_f("cache-binary", Kind.BOOL, True), _f("version", Kind.TEXT, False))
    ),
    "actions-rust-lang/setup-rust-toolchain": _f("cache", Kind.BOOL, True),
    "mozilla-actions/sccache-action": None,
    "nix-community/cache-nix-action": None,
    "jdx/mise-action": _f("cache", Kind.BOOL, True),
    "ramsey/composer-install": _f(
        "ignore-cache", Kind.EXACT, True, "yes", "true", "1", opt_out=True
    ),
    "awalsh128/cache-apt-pkgs-action": None,
}

# Actions that publish what the job built (packages, releases, images, deployments).
PUBLISH_ACTIONS = frozenset(
    {
        "pypa/gh-action-pypi-publish",
        "rubygems/release-gem",
        "jreleaser/release-action",
        "goreleaser/goreleaser-action",
        "softprops/action-gh-release",
        "release-drafter/release-drafter",
        "googleapis/release-please-action",
        "redhat-actions/push-to-registry",
        "aws-actions/amazon-ecs-deploy-task-definition",
        "aws-actions/aws-cloudformation-github-deploy",
        "azure/aci-deploy",
        "azure/container-apps-deploy-action",
        "azure/functions-action",
        "azure/sql-action",
        "cloudflare/wrangler-action",
        "google-github-actions/deploy-appengine",
        "google-github-actions/deploy-cloudrun",
        "google-github-actions/deploy-cloud-functions",
    }
)
# Publishes unless told not to; zizmor's reading (its `outputs:` may push as well).
_PUSHES = _f("push", Kind.BOOL, True)


# Commands that publish a package, an image or a release.
_publish_command = on_first_use(
    r"\b(?:cargo\s+publish|(?:npm|yarn|pnpm)\s+publish|twine\s+upload|(?:uv|poetry)\s+publish"
    r"|gem\s+push|gh\s+release\s+(?:create|upload)|goreleaser\b|nuget\s+push|mvn\b[^\n]*\bdeploy"
    r"|gradlew?\b[^\n]*\bpublish|docker\s+(?:image\s+)?push|helm\s+push)"
)


def _text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return "" if value is None else str(value)


def _field(f: Field, with_: Mapping[str, Any]) -> Use:
    if f.name not in with_:
        return Use.DEFAULT if f.default else Use.OFF
    value = _text(with_[f.name]).strip()
    if f.kind is Kind.BOOL:
        if value in ("true", "false"):
            on = value == "true"
        elif expressions.is_expression(value):
            return Use.MAYBE
        else:
            on = True  # an action reads anything but `false` as true
    elif f.kind is Kind.TEXT:
        on = value != ""
    elif "${{" in value:
        return Use.MAYBE
    else:
        on = value in f.values
    return Use.ON if on != f.opt_out else Use.OFF


# Either side on makes it on; of the two "on"s, an input's is the stronger reason.
_ANY = {Use.OFF: 0, Use.MAYBE: 1, Use.DEFAULT: 2, Use.ON: 3}
_ALL = {Use.OFF: 0, Use.MAYBE: 1, Use.ON: 2, Use.DEFAULT: 3}


def usage(control: Control, with_: Mapping[str, Any], version: tuple[int, ...] | None) -> Use:
    if control is None:
        return Use.ON
    if isinstance(control, Field):
        return _field(control, with_)
    if isinstance(control, Before):
        return Use.ON if version is None or version[0] < control.major else Use.OFF
    uses = [usage(part, with_, version) for part in control.parts]
    if isinstance(control, AnyOf):
        return max(uses, key=_ANY.__getitem__)
    return min(uses, key=_ALL.__getitem__)


_BRANCH = "a push to a release branch"


def _release_triggers(wf: Workflow) -> list[str]:
    out = []
    push = wf.triggers.get("push")
    if isinstance(push, dict):
        if "tags" in push or "tags-ignore" in push:
            out.append("a tag push")
        branches = push.get("branches")
        if isinstance(branches, list) and any("release" in str(b).lower() for b in branches):
            out.append(_BRANCH)
    if "release" in wf.events:
        out.append("a release")
    return out


def _publisher(job: Job, commands: bool = False) -> Step | None:
    """The job's first step of a known publishing action (or, with `commands`, a `run:`
    that publishes)."""
    for step in job.steps:
        if commands and step.run is not None and _publish_command().search(step.run):
            return step
        u = step.uses
        if u is None or u.kind != "repository":
            continue
        if u.name in PUBLISH_ACTIONS:
            return step
        if u.name == "docker/build-push-action" and _field(_PUSHES, step.with_) is not Use.OFF:
            return step
    return None


def _on_tag(node: expressions.Node) -> bool | None:
    """The value of a cache switch on a tag push or release, where the expression says:
    a literal, `startsWith(github.ref, 'refs/tags/')`, `github.event_name == 'push' &&
    github.ref_type == 'tag'`, or a negation of one; None otherwise."""
    if isinstance(node, expressions.Literal) and isinstance(node.value, bool):
        return node.value
    if isinstance(node, expressions.Unary) and node.op == "!":
        inner = _on_tag(node.operand)
        return None if inner is None else not inner
    if isinstance(node, expressions.Call) and node.name == "startswith" and len(node.args) == 2:
        ref, prefix = node.args
        if (
            isinstance(ref, expressions.Context)
            and ref.path == ("github", "ref")
            and isinstance(prefix, expressions.Literal)
            and str(prefix.value).lower() == "refs/tags/"
        ):
            return True
        return None
    if isinstance(node, expressions.Binary) and node.op == "&&":
        sides = {_equals(node.left), _equals(node.right)}
        if sides == {(("github", "event_name"), "push"), (("github", "ref_type"), "tag")}:
            return True
    return None


def _equals(node: expressions.Node) -> tuple[tuple[str, ...], str] | None:
    if not isinstance(node, expressions.Binary) or node.op != "==":
        return None
    a, b = node.left, node.right
    if isinstance(b, expressions.Context):
        a, b = b, a
    if isinstance(a, expressions.Context) and isinstance(b, expressions.Literal):
        return tuple(a.path), str(b.value)
    return None


def _tag_only(control: Control, with_: Mapping[str, Any]) -> Use | None:
    """A switch computed from the ref, judged for a workflow that runs only on tags and
    releases: ON or OFF where the expression decides it, None where it cannot be read."""
    if not isinstance(control, Field) or control.kind is not Kind.BOOL:
        return None
    value = _text(with_.get(control.name)).strip()
    if not expressions.is_expression(value):
        return None
    try:
        node = expressions.parse(next(expressions.find(value)).body)
    except expressions.ExpressionError:
        return None
    on = _on_tag(node)
    if on is None:
        return None
    return Use.ON if on != control.opt_out else Use.OFF


def _reason(use: Use, name: str) -> str:
    if use is Use.DEFAULT:
        return f"`{name}` restores its cache by default"
    if use is Use.MAYBE:
        return f"`{name}` restores its cache when an input computed at run time says so"
    return f"`{name}` restores a cache"


def check(doc: Document, ctx: Context) -> Iterator[Violation]:
    if not isinstance(doc, CiDocument):
        return
    wf = workflow_of(doc)
    triggers = _release_triggers(wf)
    for job in wf.jobs:
        cache_steps = [
            (s, s.uses.name)
            for s in job.steps
            if s.uses is not None and s.uses.kind == "repository" and s.uses.name in CACHE_ACTIONS
        ]
        if not cache_steps:
            continue
        mine = triggers
        if triggers == [_BRANCH]:
            # Release branches run tests as often as they build releases: the job must
            # publish something for the branch to count.
            mine = triggers if _publisher(job, commands=True) else []
        publisher = None if mine else _publisher(job)
        if not mine and publisher is None:
            continue
        if mine:
            why = f"the workflow runs on {' and '.join(mine)}, which publishes what it builds"
        else:
            assert publisher is not None and publisher.uses is not None
            why = f"{publisher.label} publishes what it builds (`{publisher.uses.name}`)"
        for step, name in cache_steps:
            control = CACHE_ACTIONS[name]
            raw_with = step.data.get("with")
            if isinstance(raw_with, str) and expressions.is_expression(raw_with):
                use = Use.MAYBE  # every input is computed at run time
            else:
                use = usage(control, step.with_, action_version(doc, step))
            if use is Use.MAYBE and mine and _BRANCH not in mine:
                use = _tag_only(control, step.with_) or use
            if use is Use.OFF:
                continue
            yield Violation(
                (*step.path, "uses"),
                f"{job.label} {step.label}: {_reason(use, name)}, and {why}: a cache written "
                "by a less trusted run (any workflow on the default branch, one an injection "
                "took over) goes into the release build",
                offset=0,
            )


RULE = Rule(
    id="DS123",
    title="Workflows that publish must not restore caches",
    practice=Practice.TRIGGERS,
    severity=Severity.HIGH,
    target=Target.GITHUB_WORKFLOW,
    why=(
        "GitHub Actions caches are shared: a release or tag build reads the caches that "
        "workflows on the default branch wrote, including ones that pull requests, comments "
        "or an injected step could steer. A poisoned cache (a dependency folder, a compiler "
        "cache, a downloaded toolchain) then ends up in the artifacts the release publishes, "
        "signed and trusted, without any change to the repository. Setup actions "
        "(setup-node, setup-go, setup-uv before v10, rust-cache ...) restore a cache by "
        "default."
    ),
    fix="Turn the cache off in publishing workflows (`cache: false`, `lookup-only: true`, "
    "`package-manager-cache: false`, `enable-cache: false`, or an expression that is false "
    "on tags, such as `${{ !startsWith(github.ref, 'refs/tags/') }}`), and build releases "
    "from a clean state.",
    bad="""\
on:
  push:
    tags: ["v*"]
permissions: {}
jobs:
  release:
    runs-on: ubuntu-latest
    steps:
      - uses: actions/setup-go@4dc6199c7b1a012772edbd06daecab0f50c9053c # v6.1.0
        with:
          go-version: stable
      - run: make release
""",
    good="""\
on:
  push:
    tags: ["v*"]
permissions: {}
jobs:
  release:
    runs-on: ubuntu-latest
    steps:
      - uses: actions/setup-go@4dc6199c7b1a012772edbd06daecab0f50c9053c # v6.1.0
        with:
          go-version: stable
          cache: false
      - run: make release
""",
    not_reported=(
        "Caches in workflows that run on pull requests or ordinary branch pushes and publish "
        "nothing: a poisoned cache there changes only a test run. A push to a branch named "
        "for releases (`release/*`) counts only for a job that publishes (a known publishing "
        "action, or `cargo publish`, `npm publish`, `twine upload`, `gh release create`, "
        "`docker push` ...): such branches run tests as often as they build releases; zizmor "
        "counts the branch alone. Caching actions deploysafe "
        "does not know (the list is zizmor's), and `run:` steps that restore caches by "
        "other means. A switch computed from the ref is read where it is one of the common "
        "forms (`startsWith(github.ref, 'refs/tags/')`, `github.event_name == 'push' && "
        "github.ref_type == 'tag'`, a literal, or their negation) and the workflow runs only "
        "on tags and releases; any other computed switch is reported as one that may turn "
        "the cache on. `docker/build-push-action` counts as publishing unless `push: false`, "
        "as zizmor reads it. Composite actions: the trigger of the calling workflow is "
        "unknown."
    ),
    references=("zizmor cache-poisoning",),
    check=check,
)
