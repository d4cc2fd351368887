"""Stage 1: the trigger check (`deploysafe verify`) on the source checkout.

The environment's `source` policy decides: origin allowlist, allowed ref, signatures
(checked by real `git verify-commit` against a private keyring) and the CI context. When the
environment was released before from an ancestor of HEAD, every commit since that release
must be signed, not only HEAD (Argo CD's `strict` mode).

The policy checked against is the environment's trust anchors (deploysafe.gitops.anchors):
a policy file on the CD host, else the anchors recorded with the current release, never the
checkout's own policy unless `--trust-on-first-use` allows it for a first release.
"""

from __future__ import annotations

import os
import time
from typing import Any

from deploysafe.gitops.anchors import TrustError, choose
from deploysafe.gitops.record import Record
from deploysafe.gitops.stages import Run, StageResult, source_info
from deploysafe.host.git import Git


class VerifyStage:
    name = "verify"

    def __init__(
        self,
        expected_commit: str | None = None,
        since: str | None = None,
        *,
        previous: Record | None = None,
        trust_on_first_use: bool = False,
    ) -> None:
        self.expected_commit = expected_commit  # promote: the commit the source env runs
        self.since = since  # the source commit of the environment's current release
        self.previous = previous  # the environment's current release (its recorded anchors)
        self.trust_on_first_use = trust_on_first_use

    def run(self, run: Run) -> StageResult:
        start = time.monotonic()

        def fail(summary: str, *details: str, **data: Any) -> StageResult:
            return StageResult(
                self.name, False, time.monotonic() - start, summary, list(details), dict(data)
            )

        run.source = source_info(run.root, os.environ)
        commit = run.source.get("commit")
        if commit is None:
            return fail(f"{run.root} is not a git checkout with a commit")
        if self.expected_commit is not None and commit != self.expected_commit:
            return fail(
                f"the checkout is at {commit[:12]}, but the release being promoted was built "
                f"from {self.expected_commit[:12]}",
                f"check out {self.expected_commit} first: its trigger check and tests run here",
            )
        policy = run.env.source
        if policy is None:
            return fail(
                f"environments.{run.env.name}.source is not configured: a deploy verifies "
                "where the code comes from (repos, refs, signed_by) and refuses without it"
            )
        try:
            anchors = choose(
                policy,
                config_path=run.cfg.path,
                checkout=run.root,
                previous=self.previous,
                scratch=run.scratch,
                trust_on_first_use=self.trust_on_first_use,
            )
        except TrustError as exc:
            return fail(f"trust: {exc}")
        run.trust = {**anchors.as_dict(), "anchors": dict(anchors.recorded)}
        try:
            from deploysafe.gitops.verify import verify
        except ImportError:
            return fail(
                "the trigger check (deploysafe verify) is not available in this installation; "
                "refusing to release unverified code"
            )
        since = self.since
        if since is not None and (
            since == commit
            or Git(run.root).out("merge-base", "--is-ancestor", since, commit) is None
        ):
            since = None  # not a strict descendant here: check HEAD alone
        result = verify(run.root, anchors.policy, environment=run.env.name, signed_range=since)
        run.source["ref"] = result.ref  # of several tags at HEAD, the one the policy allows
        checks = [c.as_dict() for c in result.checks]
        signature = next((c for c in result.checks if c.name == "signature"), None)
        run.source["signature"] = (
            None
            if signature is None
            else {
                "status": "not checked"
                if signature.skipped
                else "good"
                if signature.ok
                else "refused",
                "detail": signature.reason,
                "since": since,
            }
        )
        run.source["verify"] = checks
        details = [f"trust: {anchors.label}"]
        if anchors.note:
            run.progress(f"  note: {anchors.note}")
            details.append(f"note: {anchors.note}")
        details += [
            f"{c.name}: {'skipped' if c.skipped else 'ok' if c.ok else 'FAILED'}: {c.reason}"
            for c in result.checks
        ]
        if not result.ok:
            failed = "; ".join(f"{c.name}: {c.reason}" for c in result.failed)
            return fail(failed, *details)
        skipped = [c.name for c in result.checks if c.skipped]
        text = f"{commit[:12]}: " + "; ".join(
            c.reason for c in result.checks if not c.skipped and c.name != "ci"
        )
        if skipped:
            text += f" (not configured: {', '.join(skipped)})"
        return StageResult(self.name, True, time.monotonic() - start, text, details)
