"""The files `deploysafe init` writes: a starting `deploysafe.yaml` from a repository's
survey, with a comment on each section, and the CI wiring for GitHub or GitLab.

Every value that comes from the repository (paths, namespaces, release names) is written as
a YAML scalar that reads back as the same string.
"""

from __future__ import annotations

import json
import re

from deploysafe.inputs.survey import Chart, CiSystem, Overlay, Survey
from deploysafe.printable import printable

# The Action reference until the user pins one: the scan of the workflow (DS106) keeps
# saying so until it is a commit SHA.
ACTION_PLACEHOLDER = "OWNER/deploysafe@COMMIT_SHA"
# actions/checkout v4.2.2, pinned to its commit as DS106/DS107 ask.
CHECKOUT = "actions/checkout@11bd71901bbe5b1630ceea73d27597364c9af683  # v4.2.2"
GITLAB_TEMPLATE = (
    "https://raw.githubusercontent.com/deploysafe/deploysafe/COMMIT_SHA"
    "/ci/gitlab/deploysafe.gitlab-ci.yml"
)
# Not `deploysafe.yml`: that name in the folder a scan starts from is read as the policy file.
GITHUB_WORKFLOW = ".github/workflows/deploysafe-scan.yml"

_PLAIN = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_./-]*")
_YAML_WORDS = frozenset({"true", "false", "yes", "no", "on", "off", "null", "y", "n", "~"})
_NUMBER = re.compile(r"[0-9._+-]+(e[0-9+-]+)?|0x[0-9a-f]+|0o[0-7]+", re.I)


def scalar(text: str) -> str:
    """`text` as a YAML scalar: as it is when YAML reads it back as that string, else as a
    JSON string (which YAML reads as the same string)."""
    if _PLAIN.fullmatch(text) and text.lower() not in _YAML_WORDS and not _NUMBER.fullmatch(text):
        return text
    return json.dumps(text)


def policy(found: Survey) -> str:
    """A starting deploysafe.yaml for what `found` describes."""
    out = [
        "# deploysafe.yaml: the policy `deploysafe scan`, `verify`, `deploy` and the admission",
        "# webhook read. Written by `deploysafe init`; every key is described in the README and",
        "# docs/ (render.md for `render:`). Check it with `deploysafe scan`.",
        *(f"# {line}" for line in _inventory(found)),
        "",
        "# The Pod Security Standard every workload must meet: restricted, baseline or privileged.",
        "policy: restricted",
        "",
        "# The lowest severity that fails a scan (exit 1): critical, high, medium, low or info.",
        "fail_on: high",
        "",
    ]
    out += _exclude(found)
    out += _render(found)
    out += [
        "# Accepted risks: a rule switched off for some files, with the reason a reviewer reads.",
        "# exceptions:",
        "#   - rule: DS501",
        "#     file: deploy/legacy/*.yaml",
        "#     reason: moved into its own namespace by the platform team",
        "",
    ]
    return "\n".join(out)


def _inventory(found: Survey) -> tuple[str, str]:
    ci = {CiSystem.GITHUB: "GitHub Actions", CiSystem.GITLAB: "GitLab CI"}
    return (
        f"Found here: {len(found.charts)} Helm chart(s), {len(found.overlays)} kustomize"
        f" root(s), plain manifests in {len(found.manifest_folders)} folder(s);",
        "CI: " + (", ".join(ci[c] for c in found.ci) if found.ci else "none found") + ".",
    )


def _exclude(found: Survey) -> list[str]:
    out = ["# Paths (globs from this file's folder) deploysafe does not read."]
    if not found.test_folders:
        return [*out, "exclude: []", ""]
    out += [
        "# These folders hold Kubernetes YAML, charts or kustomizations and are named like",
        "# test data or demos; exclude them if nothing in them is deployed.",
        "exclude:",
    ]
    out += [f"#  - {scalar(f)}" for f in found.test_folders]
    return [*out, ""]


def _render(found: Survey) -> list[str]:
    out = [
        "# How charts and kustomizations are rendered before they are checked: the values files,",
        "# namespace and release name they are deployed with. Paths are from this file's folder.",
    ]
    if not found.charts and not found.overlays:
        return [*out, "# No Helm chart or kustomization was found: nothing to set.", ""]
    out.append("render:")
    if found.charts:
        out.append("  charts:")
        for chart in found.charts:
            out += _chart(chart)
    if found.overlays:
        out.append("  kustomize:")
        for overlay in found.overlays:
            out += _overlay(overlay)
    return [*out, ""]


def _chart(chart: Chart) -> list[str]:
    out = [f"    {scalar(chart.folder)}:  # chart {scalar(chart.name)}"]
    if chart.source:
        out.append(f"      # as {printable(chart.source)} installs it")
    elif chart.guessed:
        out.append("      # values chosen by file name: no helm command names this chart")
    else:
        out.append("      # no helm command names this chart: its values.yaml alone is rendered")
    if chart.values:
        out.append("      values:")
        out += [f"        - {scalar(v)}" for v in chart.values]
    else:
        out.append("      values: []")
    out += [f"        # - {scalar(v)}" for v in chart.other_values]
    if chart.other_commands:
        others = ", ".join(printable(c) for c in chart.other_commands)
        out.append(f"      # also installed by {others}")
    if chart.namespace:
        out.append(f"      namespace: {scalar(chart.namespace)}")
    else:
        out.append("      # namespace: where it is installed (else decided at install time: DS511)")
    if chart.release:
        out.append(f"      release: {scalar(chart.release)}")
    return out


def _overlay(overlay: Overlay) -> list[str]:
    if overlay.namespace:
        return [
            f"    {scalar(overlay.folder)}:  # as {printable(overlay.source or '')} applies it",
            f"      namespace: {scalar(overlay.namespace)}",
        ]
    why = (
        f"its kustomization sets namespace {scalar(overlay.own_namespace)}"
        if overlay.own_namespace
        else "no namespace of its own: write {namespace: NS} as `kubectl apply -n NS` does"
    )
    return [f"    {scalar(overlay.folder)}: {{}}  # {why}"]


def github_workflow(action: str, fail_on: str = "high") -> str:
    """A workflow that runs the deploysafe Action on pull requests and pushes to main, with
    least privileges, uploading SARIF to code scanning."""
    return "\n".join(
        [
            "# deploysafe on every pull request and on main: findings go to code scanning (the",
            "# Security tab and the pull request), and the job fails at or above fail-on.",
            f"# Pin the Action to a release's full commit SHA in place of {ACTION_PLACEHOLDER}:",
            "# `deploysafe scan .github` reports the line (DS106) until it is.",
            "name: deploysafe",
            "",
            "on:",
            "  pull_request:",
            "  push:",
            "    branches: [main]",
            "",
            "permissions: {}",
            "",
            "jobs:",
            "  deploysafe:",
            "    runs-on: ubuntu-24.04",
            "    permissions:",
            "      contents: read",
            "      security-events: write  # the SARIF upload to code scanning",
            "    steps:",
            f"      - uses: {CHECKOUT}",
            "        with:",
            "          persist-credentials: false",
            "          fetch-depth: 0  # a pull request is scanned against its base commit",
            f"      - uses: {action}",
            "        with:",
            "          paths: .",
            f"          fail-on: {scalar(fail_on)}",
            "",
        ]
    )


def gitlab_pipeline() -> str:
    """A .gitlab-ci.yml that includes the deploysafe template (for a repository without one)."""
    return "\n".join(
        [
            "# deploysafe in merge requests: the job writes GitLab's SAST report, so findings",
            "# appear in the merge request's security widget. Pin the include to a release's",
            "# commit in place of COMMIT_SHA. Settings (DEPLOYSAFE_PATHS, DEPLOYSAFE_FAIL_ON,",
            "# DEPLOYSAFE_ARGS) are variables; docs/ci.md describes them.",
            "include:",
            f"  - remote: {GITLAB_TEMPLATE}",
            "",
            "stages:",
            "  - test",
            "",
        ]
    )


def gitlab_include() -> str:
    """The lines to add to an existing .gitlab-ci.yml's `include:`."""
    return f"include:\n  - remote: {GITLAB_TEMPLATE}\n"
