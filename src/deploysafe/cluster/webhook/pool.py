"""Large reviews, judged in separate processes so they cannot stall the event loop.

Why processes and not threads: parsing a body (`json.loads`) is one C call that holds the
GIL for its whole length (about 40 ms for 8 MiB), and the rules are Python code that
shares the GIL with the event loop; in a thread, an 8 MiB review still takes the loop's
CPU for half a second. A process has its own interpreter (and core). The body goes over a
pipe (a copy of a few milliseconds); the answer back is the request without its objects
and the verdict.

The processes are spawned, not forked: the serving process runs an event loop and
threads, which a fork would copy half-way. Each one compiles the policy once at start.
"""

from __future__ import annotations

import asyncio
import contextlib
import multiprocessing
import os
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass, replace

from deploysafe.cluster.webhook import review as rv
from deploysafe.cluster.webhook.policy import WebhookPolicy
from deploysafe.config import Config
from deploysafe.k8s import pods


@dataclass(frozen=True, slots=True)
class Outcome:
    """What a judging process answers: a request that is not an AdmissionReview (`bad`,
    HTTP 400), or the request (without its objects) and its verdict, or an internal error
    (`error`: the exception's type and where, never its message)."""

    request: rv.Request | None = None
    verdict: rv.Verdict | None = None
    bad: str = ""
    error: str = ""


# The one reviewer of a judging process (set by `prepare`, which the pool runs first in
# each process); never set in the serving process.
_reviewer: list[rv.Reviewer] = []


def prepare(config: Config, policy: WebhookPolicy) -> None:
    """Run first in each judging process: compile the policy once."""
    # When the cores are short, the serving process (ordinary reviews) goes first.
    with contextlib.suppress(OSError):
        os.nice(10)
    reviewer = rv.Reviewer(config, policy)
    reviewer.findings(rv.WARMUP, "warm-up")
    _reviewer.append(reviewer)


def _ready() -> bool:
    return bool(_reviewer)


def judge(body: bytes, route: rv.Route) -> Outcome:
    """Parse and review one body (in a judging process)."""
    try:
        req = rv.parse(body)
    except rv.BadRequest as exc:
        return Outcome(bad=str(exc))
    slim = replace(req, obj=None, old=None)  # the serving process logs; it needs no object
    try:
        return Outcome(slim, _reviewer[0].review(req, route))
    except Exception as exc:
        return Outcome(slim, error=rv.where(exc))
    finally:
        pods.forget()  # the pod caches would keep the last large objects alive


class Pool:
    """`processes` judging processes, started (in the background) by `start`."""

    def __init__(self, config: Config, policy: WebhookPolicy, processes: int) -> None:
        self._args = (config, policy)
        self._processes = processes
        self._executor: ProcessPoolExecutor | None = None

    def start(self) -> None:
        self._executor = ProcessPoolExecutor(
            self._processes,
            mp_context=multiprocessing.get_context("spawn"),
            initializer=prepare,
            initargs=self._args,
        )
        # Start the processes now rather than on the first large review.
        for _ in range(self._processes):
            self._executor.submit(_ready)

    async def judge(self, body: bytes, route: rv.Route) -> Outcome:
        """Raises BrokenProcessPool when a judging process died (the pool is replaced)."""
        if self._executor is None:
            self.start()
        executor = self._executor
        assert executor is not None
        try:
            return await asyncio.get_running_loop().run_in_executor(executor, judge, body, route)
        except BrokenProcessPool:
            if self._executor is executor:  # the first to see it replaces it
                self.close()
                self.start()
            raise

    def close(self) -> None:
        if self._executor is not None:
            with contextlib.suppress(Exception):
                self._executor.shutdown(wait=False, cancel_futures=True)
            self._executor = None
