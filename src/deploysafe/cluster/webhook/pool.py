"""Large reviews, judged in separate processes so they cannot stall the event loop.

Why processes and not threads: parsing a body (`json.loads`) is one C call that holds the
GIL for its whole length (about 40 ms for 8 MiB), and the rules are Python code that
shares the GIL with the event loop; in a thread, an 8 MiB review still takes the loop's
CPU for half a second. A process has its own interpreter (and core). The body goes over a
pipe (a copy of a few milliseconds); the answer back is the request without its objects
and the verdict.

The processes are spawned, not forked: the serving process runs an event loop and
threads, which a fork would copy half-way. Each one compiles the policy once at start.

Each process is its own one-process executor, so that a review past its deadline
(`limits.large_review_timeout`) can be stopped: its process is killed and replaced, and
no other review was queued behind it in that process. Each process's address space is
bounded (`limits.large_review_memory`, RLIMIT_AS).
"""

from __future__ import annotations

import asyncio
import contextlib
import multiprocessing
import os
import resource
import threading
import time
from concurrent.futures import ProcessPoolExecutor
from dataclasses import replace

from deploysafe.cluster.webhook import review as rv
from deploysafe.cluster.webhook.policy import WebhookPolicy
from deploysafe.config import Config
from deploysafe.frozen import record
from deploysafe.k8s import pods


@record
class Outcome:
    """What a judging process answers: a request that is not an AdmissionReview (`bad`,
    HTTP 400), a body whose parsed form needs more than the process's memory bound
    (`too_big`, HTTP 413), or the request (without its objects) and its verdict, or an
    internal error (`error`: the exception's type and where, never its message)."""

    request: rv.Request | None = None
    verdict: rv.Verdict | None = None
    bad: str = ""
    error: str = ""
    too_big: bool = False


# The one reviewer of a judging process (set by `prepare`, which the pool runs first in
# each process); never set in the serving process.
_reviewer: list[rv.Reviewer] = []


def _start(config: Config, policy: WebhookPolicy, server: int) -> None:
    """Run first in each judging process: end with the server (pid `server`), bound its
    memory, then `prepare`."""
    _end_with(server)
    memory = policy.limits.large_review_memory
    with contextlib.suppress(OSError, ValueError):  # a hard limit already lower stays
        resource.setrlimit(resource.RLIMIT_AS, (memory, memory))
    prepare(config, policy)


def _end_with(server: int) -> None:
    """A judging process ends when the server that started it is gone, however it ended
    (SIGKILL included, even before this process got here): otherwise it would live on,
    holding its memory, as init's child."""

    def watch() -> None:
        while os.getppid() == server:
            time.sleep(_PARENT_POLL_S)
        os._exit(0)

    threading.Thread(target=watch, name="parent-watch", daemon=True).start()


_PARENT_POLL_S = 0.5


def prepare(config: Config, policy: WebhookPolicy) -> None:
    """Compile the policy once (in a judging process)."""
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
    except MemoryError:  # the serving process must not parse it either, even for its uid
        return Outcome(too_big=True)
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
        self._timeout = policy.limits.large_review_timeout
        self._free: asyncio.Queue[ProcessPoolExecutor] | None = None
        self._all: set[ProcessPoolExecutor] = set()

    def _spawn(self) -> ProcessPoolExecutor:
        executor = ProcessPoolExecutor(
            1,
            mp_context=multiprocessing.get_context("spawn"),
            initializer=_start,
            initargs=(*self._args, os.getpid()),
        )
        executor.submit(_ready)  # start the process now rather than on its first review
        self._all.add(executor)
        return executor

    def _replace(self, executor: ProcessPoolExecutor) -> ProcessPoolExecutor:
        """Kill `executor`'s process (whatever it is doing) and start another."""
        self._stop(executor)
        return self._spawn()

    def _stop(self, executor: ProcessPoolExecutor) -> None:
        self._all.discard(executor)
        # A running call cannot be cancelled; only its process can be ended.
        for process in list((executor._processes or {}).values()):
            with contextlib.suppress(Exception):
                process.kill()
        with contextlib.suppress(Exception):
            executor.shutdown(wait=False, cancel_futures=True)

    def start(self) -> None:
        self._free = asyncio.Queue()
        for _ in range(self._processes):
            self._free.put_nowait(self._spawn())

    async def judge(self, body: bytes, route: rv.Route) -> Outcome:
        """Raises BrokenProcessPool when the judging process died, TimeoutError when the
        review (waiting for a process included) passed its deadline; either way the
        process is replaced."""
        if self._free is None:
            self.start()
        free = self._free
        assert free is not None
        executor: ProcessPoolExecutor | None = None
        answered = False
        try:
            async with asyncio.timeout(self._timeout):
                executor = await free.get()
                loop = asyncio.get_running_loop()
                out = await loop.run_in_executor(executor, judge, body, route)
                answered = True
                return out
        finally:
            if executor is not None:
                if not answered and free is self._free:
                    executor = self._replace(executor)
                free.put_nowait(executor)

    def close(self) -> None:
        for executor in list(self._all):
            self._stop(executor)
        self._free = None
