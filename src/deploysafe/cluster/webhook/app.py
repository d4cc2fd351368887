"""The ASGI application: /validate, /healthz, /readyz, /metrics (Starlette).

Reviews are CPU work of well under a millisecond for a typical object, so they run on the
event loop; reading the body is the only await. Every review writes one JSON log line
with who, what, the verdict and the rule ids and JSON pointers behind it: never the
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
from dataclasses import dataclass
from typing import Any

from starlette.applications import Starlette
from starlette.requests import ClientDisconnect, Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import Route

from deploysafe.cluster.webhook import review as rv
from deploysafe.cluster.webhook.metrics import CONTENT_TYPE, Metrics
from deploysafe.cluster.webhook.policy import WebhookPolicy
from deploysafe.config import Config

log = logging.getLogger("deploysafe.webhook")  # the name in the JSON log lines (docs/webhook.md)

DEFAULT_BODY_TIMEOUT = 10.0  # seconds to receive a whole request body

# A Pod every policy has something to say about: reviewed once at start-up, so the first
# real request finds everything compiled, and readiness means the pipeline works.
_WARMUP = {
    "apiVersion": "v1",
    "kind": "Pod",
    "metadata": {"name": "warm-up", "namespace": "warm-up"},
    "spec": {"containers": [{"name": "c", "image": "example/c", "securityContext": {}}]},
}


@dataclass
class State:
    reviewer: rv.Reviewer
    metrics: Metrics
    fail_open: bool
    body_timeout: float
    ready: bool = False
    worker: int = 0


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
        reviewer or rv.Reviewer(config, policy), metrics or Metrics(), fail_open, body_timeout
    )
    state.worker = worker

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        state.reviewer.findings(_WARMUP, "warm-up")
        state.ready = True
        task = asyncio.create_task(background()) if background is not None else None
        log.info(
            "ready",
            extra={
                "fields": {
                    "defaults": policy.defaults.describe() or "all modes off",
                    "namespace": policy.namespace,
                    "fail_open": fail_open,
                    "max_body_bytes": policy.max_body_bytes,
                    "worker": worker,
                }
            },
        )
        try:
            yield
        finally:
            state.ready = False
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
            Route("/healthz", healthz, methods=["GET"]),
            Route("/readyz", readyz, methods=["GET"]),
            Route("/metrics", metrics_endpoint, methods=["GET"]),
        ],
        lifespan=lifespan,
    )
    app.state.deploysafe = state
    return app


async def _read_body(request: Request, cap: int, timeout: float) -> bytes:
    ctype = request.headers.get("content-type", "application/json")
    if ctype.split(";")[0].strip().lower() != "application/json":
        raise HttpError(415, "Content-Type must be application/json")
    length = request.headers.get("content-length")
    if length is not None:
        if not length.isdigit():
            raise HttpError(400, "Content-Length is not a number")
        if int(length) > cap:
            raise HttpError(413, f"request body is over the {cap}-byte limit")
    chunks: list[bytes] = []
    size = 0
    try:
        async with asyncio.timeout(timeout):
            async for chunk in request.stream():
                size += len(chunk)
                if size > cap:
                    raise HttpError(413, f"request body is over the {cap}-byte limit")
                chunks.append(chunk)
    except TimeoutError:
        raise HttpError(408, f"request body not received within {timeout:g} s") from None
    return b"".join(chunks)


def _reject(state: State, status: int, message: str) -> Response:
    state.metrics.rejected(status)
    log.warning("rejected", extra={"fields": {"status": status, "error": message}})
    # The body may be unread (too large, too slow): the connection cannot be reused.
    headers = {"Connection": "close"} if status in (408, 413, 415) else None
    return PlainTextResponse(message + "\n", status_code=status, headers=headers)


async def _validate(state: State, route: rv.Route, request: Request) -> Response:
    start = time.perf_counter()
    try:
        body = await _read_body(request, state.reviewer.policy.max_body_bytes, state.body_timeout)
        req = rv.parse(body)
    except HttpError as exc:
        return _reject(state, exc.status, exc.message)
    except rv.BadRequest as exc:
        return _reject(state, 400, str(exc))
    except ClientDisconnect:
        state.metrics.rejected(499)
        return PlainTextResponse("client went away\n", status_code=400)
    error = None
    try:
        verdict = state.reviewer.review(req, route)
    except Exception as exc:  # fail closed (or open, if the operator said so)
        verdict = rv.internal_error(state.fail_open)
        error = _where(exc)
    payload = json.dumps(rv.response(req.uid, verdict), separators=(",", ":")).encode()
    elapsed = time.perf_counter() - start
    _record(state, req, route, verdict, elapsed, error)
    return Response(payload, media_type="application/json")


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


def _where(exc: BaseException) -> str:
    """The exception's type and innermost frame: never its message, which may quote input."""
    tb = exc.__traceback__
    while tb is not None and tb.tb_next is not None:
        tb = tb.tb_next
    if tb is None:
        return type(exc).__name__
    code = tb.tb_frame.f_code
    return f"{type(exc).__name__} in {code.co_name} ({code.co_filename}:{tb.tb_lineno})"


def _brief(f: Any) -> str:
    return f"{f.rule_id} {f.pointer}"
