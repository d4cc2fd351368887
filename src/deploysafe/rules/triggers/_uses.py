"""Every `uses:` of a workflow (steps and reusable-workflow jobs) or an action, located."""

from __future__ import annotations

from collections.abc import Iterator

from deploysafe.ci.github import Uses, action_of, parse_uses, workflow_of
from deploysafe.ci.yamlci import CiDocument
from deploysafe.model import KeyPath, Violation


def workflow_uses(doc: CiDocument) -> Iterator[tuple[KeyPath, Uses, str]]:
    wf = workflow_of(doc)
    for job in wf.jobs:
        u = job.uses
        if u is not None:
            yield (*job.path, "uses"), u, f"{job.label} calls"
        for step in job.steps:
            su = step.uses
            if su is not None:
                yield (*step.path, "uses"), su, f"{job.label} {step.label} uses"


def action_uses(doc: CiDocument) -> Iterator[tuple[KeyPath, Uses, str]]:
    act = action_of(doc)
    for step in act.steps:
        su = step.uses
        if su is not None:
            yield (*step.path, "uses"), su, f"{step.label} uses"
    runs = doc.data.get("runs")
    if isinstance(runs, dict) and isinstance(runs.get("image"), str):
        image = runs["image"]
        if image.startswith("docker://"):
            yield ("runs", "image"), parse_uses(image), "the Docker action runs"


def at(doc: CiDocument, path: KeyPath, message: str) -> Violation:
    """A finding at the value's start (where the reference is), not at its key."""
    return Violation(path, message, offset=0)
