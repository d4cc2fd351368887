"""The ASGI application: /validate, /mutate (when the policy turns the mutating mode on),
/healthz, /readyz, /metrics (Starlette).

A typical review is CPU work of well under a millisecond, so it runs on the event loop
(handing it to a thread or process would cost more than the review). A body over
`limits.large_review_bytes` is judged in a judging process (`pool`), a bounded number at a
time, so large objects cannot stall the ordinary reviews. Every review writes one JSON log
line with who, what, the verdict and the rule ids and JSON pointers behind it: never the
object, never a finding's message (a message may quote a value), so no secret reaches the
log.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import time
from collections.abc import AsyncIterator, Callable, Coroutine
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass
from typing import Any

from starlette.applications import Starlette
from starlette.requests import ClientDisconnect, Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import Route

from deploysafe.cluster.webhook import review as rv
from deploysafe.cluster.webhook.metrics import CONTENT_TYPE, Metrics
from deploysafe.cluster.webhook.policy import WebhookPolicy
from deploysafe.cluster.webhook.pool import Pool
from deploysafe.config import Config

log = logging.getLogger("deploysafe.webhook")  # the name in the JSON log lines (docs/webhook.md)

DEFAULT_BODY_TIMEOUT = 10.0  # seconds to receive a whole request body


@dataclass
class State:
    reviewer: rv.Reviewer
    metrics: Metrics
    fail_open: bool
    body_timeout: float
    pool: Pool
    ready: bool = False
    worker: int = 0
    reviews: int = 0  # reviews between headers and answer
    large: int = 0  # of them, large ones


class Lane:
    """One review's claim on the capacity: counted while it runs, and once its body is
    known to be large, one of the `max_large_reviews` slots."""

    def __init__(self, state: State) -> None:
        self.state = state
        self.large = False

    def make_large(self) -> None:
        if self.large:
            return
        limit = self.state.reviewer.policy.limits.max_large_reviews
        if self.state.large >= limit:
            raise HttpError(503, f"{limit} large reviews are in progress; retry")
        self.state.large += 1
        self.large = True

    def release(self) -> None:
        if self.large:
            self.state.large -= 1
            self.large = False


# An HTTP answer, not an exit code: caught in this module and sent as the response status.
class HttpError(Exception):
    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


def create_app(
    config: Config,
    policy: WebhookPolicy,
    *,
    fail_open: bool = False,
    body_timeout: float = DEFAULT_BODY_TIMEOUT,
    metrics: Metrics | None = None,
    background: Callable[[], Coroutine[Any, Any, None]] | None = None,
    worker: int = 0,
    reviewer: rv.Reviewer | None = None,
) -> Starlette:
    """`background` runs for the app's lifetime (the certificate reloader); `reviewer`
    replaces the one built from `config` (tests of the failure path use it)."""
    state = State(
        reviewer or rv.Reviewer(config, policy),
        metrics or Metrics(),
        fail_open,
        body_timeout,
        Pool(config, policy, policy.limits.large_review_processes),
    )
    state.worker = worker

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        state.reviewer.findings(rv.WARMUP, "warm-up")
        state.pool.start()
        state.ready = True
        task = asyncio.create_task(background()) if background is not None else None
        log.info(
            "ready",
            extra={
                "fields": {
                    "defaults": policy.defaults.describe() or "all modes off",
                    "namespace": policy.namespace,
                    "fail_open": fail_open,
                    "mutate": policy.mutate.value,
                    "max_body_bytes": policy.max_body_bytes,
                    "worker": worker,
                }
            },
        )
        try:
            yield
        finally:
            state.ready = False
            state.pool.close()
            if task is not None:
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task

    async def validate(request: Request) -> Response:
        mode = request.path_params.get("mode")
        level = request.path_params.get("level")
        try:
            route = rv.route_for(policy, mode, level)
        except LookupError:
            return _reject(state, 404, "unknown path: use /validate or /validate/MODE/LEVEL")
        return await _validate(state, route, request)

    async def mutate(request: Request) -> Response:
        mode = request.path_params.get("mode")
        level = request.path_params.get("level")
        try:
            route = rv.route_for(policy, mode, level, mutate=True)
        except LookupError:
            why = "is off" if not policy.mutate.on else "has /mutate and /mutate/enforce/LEVEL"
            return _reject(state, 404, f"unknown path: the mutating mode {why}")
        return await _validate(state, route, request)

    async def healthz(request: Request) -> Response:
        return PlainTextResponse("ok\n")

    async def readyz(request: Request) -> Response:
        if state.ready:
            return PlainTextResponse("ok\n")
        return PlainTextResponse("not ready\n", status_code=503)

    async def metrics_endpoint(request: Request) -> Response:
        return Response(state.metrics.render(), media_type=CONTENT_TYPE)

    app = Starlette(
        routes=[
            Route("/validate", validate, methods=["POST"]),
            Route("/validate/{mode}/{level}", validate, methods=["POST"]),
            Route("/mutate", mutate, methods=["POST"]),
            Route("/mutate/{mode}/{level}", mutate, methods=["POST"]),
            Route("/healthz", healthz, methods=["GET"]),
            Route("/readyz", readyz, methods=["GET"]),
            Route("/metrics", metrics_endpoint, methods=["GET"]),
        ],
        lifespan=lifespan,
    )
    app.state.deploysafe = state
    return app


async def _read_body(request: Request, cap: int, timeout: float, lane: Lane) -> bytes:
    ctype = request.headers.get("content-type", "application/json")
    if ctype.split(";")[0].strip().lower() != "application/json":
        raise HttpError(415, "Content-Type must be application/json")
    length = request.headers.get("content-length")
    if length is not None:
        if not length.isdigit():
            raise HttpError(400, "Content-Length is not a number")
        if int(length) > cap:
            raise HttpError(413, f"request body is over the {cap}-byte limit")
        if int(length) > lane.state.reviewer.policy.limits.large_review_bytes:
            lane.make_large()  # before the body is read: large bodies are held in memory
    large = lane.state.reviewer.policy.limits.large_review_bytes
    chunks: list[bytes] = []
    size = 0
    try:
        async with asyncio.timeout(timeout):
            async for chunk in request.stream():
                size += len(chunk)
                if size > cap:
                    raise HttpError(413, f"request body is over the {cap}-byte limit")
                if size > large:
                    lane.make_large()
                chunks.append(chunk)
    except TimeoutError:
        raise HttpError(408, f"request body not received within {timeout:g} s") from None
    return b"".join(chunks)


def _reject(state: State, status: int, message: str) -> Response:
    state.metrics.rejected(status)
    log.warning("rejected", extra={"fields": {"status": status, "error": message}})
    # The body may be unread (too large, too slow): the connection cannot be reused.
    headers = {"Connection": "close"} if status in (408, 413, 415, 503) else None
    return PlainTextResponse(message + "\n", status_code=status, headers=headers)


async def _validate(state: State, route: rv.Route, request: Request) -> Response:
    limit = state.reviewer.policy.limits.max_reviews_in_flight
    if state.reviews >= limit:
        return _reject(state, 503, f"{limit} reviews are in progress; retry")
    state.reviews += 1
    lane = Lane(state)
    try:
        return await _judged(state, route, request, lane)
    finally:
        lane.release()
        state.reviews -= 1


async def _judged(state: State, route: rv.Route, request: Request, lane: Lane) -> Response:
    start = time.perf_counter()
    policy = state.reviewer.policy
    try:
        body = await _read_body(request, policy.max_body_bytes, state.body_timeout, lane)
        if lane.large:
            req, verdict, error = await _judge_apart(state, route, body)
        else:
            req = rv.parse(body)
            verdict, error = _judge_here(state, route, req)
    except HttpError as exc:
        return _reject(state, exc.status, exc.message)
    except rv.BadRequest as exc:
        return _reject(state, 400, str(exc))
    except ClientDisconnect:
        state.metrics.rejected(499)
        return PlainTextResponse("client went away\n", status_code=400)
    payload = json.dumps(rv.response(req.uid, verdict), separators=(",", ":")).encode()
    elapsed = time.perf_counter() - start
    _record(state, req, route, verdict, elapsed, error)
    return Response(payload, media_type="application/json")


def _judge_here(state: State, route: rv.Route, req: rv.Request) -> tuple[rv.Verdict, str | None]:
    try:
        return state.reviewer.review(req, route), None
    except Exception as exc:  # fail closed (or open, if the operator said so)
        return rv.internal_error(state.fail_open), rv.where(exc)


async def _judge_apart(
    state: State, route: rv.Route, body: bytes
) -> tuple[rv.Request, rv.Verdict, str | None]:
    try:
        out = await state.pool.judge(body, route)
    except BrokenProcessPool:  # the judging process died (killed, out of memory)
        req = rv.parse(body)  # only for the uid: the answer is an internal error
        return req, rv.internal_error(state.fail_open), "BrokenProcessPool in judging process"
    except TimeoutError:  # its judging process was killed and replaced
        seconds = state.reviewer.policy.limits.large_review_timeout
        req = rv.parse(body)
        why = f"it was not judged within {seconds:g} s"
        return req, rv.internal_error(state.fail_open, why), f"judging passed {seconds:g} s"
    if out.bad:
        raise rv.BadRequest(out.bad)
    if out.too_big:
        memory = state.reviewer.policy.limits.large_review_memory
        raise HttpError(413, f"request body needs more than {memory} bytes of memory to judge")
    assert out.request is not None
    if out.verdict is None:
        return out.request, rv.internal_error(state.fail_open), out.error
    return out.request, out.verdict, None


def _record(
    state: State,
    req: rv.Request,
    route: rv.Route,
    verdict: rv.Verdict,
    elapsed: float,
    error: str | None,
) -> None:
    m = state.metrics
    m.request(req.operation, verdict.outcome)
    m.observe(elapsed)
    for f in verdict.denied:
        m.denial(f.rule_id)
    for f in verdict.warned:
        m.warning(f.rule_id)
    fields: dict[str, Any] = {
        "uid": req.uid,
        "operation": req.operation,
        "kind": f"{req.group}/{req.version}/{req.kind}"
        if req.group
        else f"{req.version}/{req.kind}",
        "namespace": req.namespace,
        "name": req.name,
        "user": req.username,
        "dry_run": req.dry_run,
        "route": route.path,
        "allowed": verdict.allowed,
        "outcome": verdict.outcome,
        "denied": [_brief(f) for f in verdict.denied],
        "warned": [_brief(f) for f in verdict.warned],
        "audited": [_brief(f) for f in verdict.audited],
        "suppressed": [_brief(f) for f in verdict.suppressed],
        **({"fixed": [_brief(f) for f in verdict.fixed]} if verdict.fixed else {}),
        "duration_ms": round(elapsed * 1000, 3),
        "worker": state.worker,
    }
    if req.sub_resource:
        fields["subresource"] = req.sub_resource
    if verdict.reason:
        fields["reason"] = verdict.reason
    if verdict.tenants:
        fields["tenants"] = list(verdict.tenants)
    if error is not None:
        fields["error"] = error
        log.error("review", extra={"fields": fields})
    else:
        log.info("review", extra={"fields": fields})


def _brief(f: Any) -> str:
    return f"{f.rule_id} {f.pointer}"
