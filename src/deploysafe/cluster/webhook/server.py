"""Serving: uvicorn, TLS that reloads when cert-manager rotates the files, JSON-line logs,
and the connection limits: deadlines for the TLS handshake and for request headers, a cap
per process and per client address, and idle connections closed to make room, so idle or
slow clients cannot take the capacity reviews need."""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import json
import logging
import os
import signal
import socket
import ssl
from collections.abc import Callable
from pathlib import Path
from typing import Any

import uvicorn
from starlette.applications import Starlette
from uvicorn.protocols.http.auto import AutoHTTPProtocol

from deploysafe.cluster.webhook.metrics import Metrics
from deploysafe.config.webhook import Limits

log = logging.getLogger("deploysafe.webhook")  # the name in the JSON log lines (docs/webhook.md)

HEADER_TIMEOUT = 5.0  # seconds from connect (or a request's first byte) to its headers
KEEP_ALIVE = 30  # seconds an idle connection stays open (the API server reuses them)


class JsonFormatter(logging.Formatter):
    """One JSON object per line: time, level, logger, message and the record's fields."""

    _second: tuple[int, str] = (-1, "")  # the last second formatted (one per review is hot)

    def _time(self, created: float) -> str:
        whole = int(created)
        if self._second[0] != whole:
            stamp = dt.datetime.fromtimestamp(whole, dt.UTC).strftime("%Y-%m-%dT%H:%M:%S")
            self._second = (whole, stamp)
        return f"{self._second[1]}.{int((created - whole) * 1000):03d}Z"

    def format(self, record: logging.LogRecord) -> str:
        out: dict[str, Any] = {
            "time": self._time(record.created),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
        }
        fields = getattr(record, "fields", None)
        if isinstance(fields, dict):
            out.update(fields)
        if record.exc_info and record.exc_info[0] is not None:
            out["exception"] = record.exc_info[0].__name__  # never the message or traceback
        try:
            return json.dumps(out)
        except TypeError:  # a value JSON does not know (a Path in a field): its text
            return json.dumps(out, default=str)


def log_config(level: str = "info") -> dict[str, Any]:
    """For uvicorn: its loggers and ours, all as JSON lines on stderr."""
    handler = {"class": "logging.StreamHandler", "formatter": "json", "stream": "ext://sys.stderr"}
    lv = level.upper()
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "formatters": {"json": {"()": f"{__name__}.JsonFormatter"}},
        "handlers": {"stderr": handler},
        "loggers": {
            "deploysafe": {"handlers": ["stderr"], "level": lv, "propagate": False},
            "uvicorn": {"handlers": ["stderr"], "level": lv, "propagate": False},
            "uvicorn.error": {"level": lv},
            "uvicorn.access": {"handlers": [], "level": "WARNING", "propagate": False},
        },
    }


class CertReloader:
    """Keeps one SSLContext and reloads its certificate and key when the files change.

    cert-manager (and any Secret volume) swaps the files through a symlink; `os.stat`
    follows it, so the inode changes. A pair that fails to load is logged and counted,
    and the previous certificate keeps serving. New connections get the new certificate.
    """

    def __init__(
        self, cert: Path, key: Path, *, interval: float = 10.0, metrics: Metrics | None = None
    ) -> None:
        self.cert, self.key, self.interval = cert, key, interval
        self.metrics = metrics or Metrics()
        self._stamp = self._stat()
        self.context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        self.context.minimum_version = ssl.TLSVersion.TLSv1_2
        self.context.load_cert_chain(cert, key)  # errors go to the caller: bad start-up input

    def _stat(self) -> tuple[int, ...]:
        a, b = os.stat(self.cert), os.stat(self.key)
        return (a.st_ino, a.st_mtime_ns, a.st_size, b.st_ino, b.st_mtime_ns, b.st_size)

    def check(self) -> bool:
        """Reload if the files changed; True when a new certificate was loaded."""
        try:
            stamp = self._stat()
        except OSError as exc:
            self._failed(f"cannot read the certificate files: {exc.strerror or exc}")
            return False
        if stamp == self._stamp:
            return False
        self._stamp = stamp  # a broken pair is retried when the files change again
        try:
            probe = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            probe.load_cert_chain(self.cert, self.key)  # the pair must load before we swap
            self.context.load_cert_chain(self.cert, self.key)
        except (OSError, ssl.SSLError) as exc:
            self._failed(f"certificate reload failed ({type(exc).__name__}: {exc.strerror or exc})")
            return False
        self.metrics.reload("ok")
        log.info("certificate reloaded", extra={"fields": {"cert": str(self.cert)}})
        return True

    def _failed(self, message: str) -> None:
        self.metrics.reload("error")
        log.error(message + "; still serving the previous certificate")

    async def run(self) -> None:
        # On the event loop thread: the context is never changed during a handshake.
        while True:
            await asyncio.sleep(self.interval)
            self.check()


class Gate:
    """The connections of one serving process, oldest-idle first, and their count per
    client address. Runs on the event loop thread only."""

    def __init__(self, limits: Limits, metrics: Metrics) -> None:
        self.limits, self.metrics = limits, metrics
        self.order: dict[Any, None] = {}  # connections, longest idle first
        self.per_client: dict[str, int] = {}

    def admit(self, conn: Any, client: str) -> bool:
        """Make room for `conn` (closing idle connections) or refuse it."""
        full = self.per_client.get(client, 0) >= self.limits.max_connections_per_client
        if full and not self._evict(client):
            self.metrics.refused("per_client")
            return False
        if len(self.order) >= self.limits.max_connections and not self._evict(None):
            self.metrics.refused("max_connections")
            return False
        self.order[conn] = None
        self.per_client[client] = self.per_client.get(client, 0) + 1
        self.metrics.connections(1)
        return True

    def _evict(self, client: str | None) -> bool:
        for conn in self.order:
            if (client is None or conn.peer == client) and not conn.in_flight():
                self.metrics.closed("evicted")
                conn.drop()  # leaves the gate now, so the count is right at once
                return True
        return False

    def idle(self, conn: Any) -> None:
        """`conn` answered a request: it is now the most recently idle."""
        if conn in self.order:
            del self.order[conn]
            self.order[conn] = None

    def leave(self, conn: Any, client: str) -> None:
        """Called when `conn` is dropped and again when it is lost: counted once."""
        if conn in self.order:
            del self.order[conn]
            self.metrics.connections(-1)
            left = self.per_client.get(client, 1) - 1
            if left:
                self.per_client[client] = left
            else:
                self.per_client.pop(client, None)


def guarded_protocol(header_timeout: float, gate: Gate) -> type[asyncio.Protocol]:
    """uvicorn's HTTP protocol with the connection limits (see `Gate`) and a deadline: a
    request's headers must be complete within `header_timeout` of its first byte (or of the
    connection, for the first request), else the connection is dropped. (uvicorn's own
    keep-alive timer restarts on every byte, so a client trickling headers one byte at a
    time would otherwise hold the connection forever.) Idle keep-alive connections stay
    until uvicorn's keep-alive timeout, or until a new connection needs their room. At
    shutdown, idle connections are dropped at once instead of waiting for each client's TLS
    goodbye, so a stop takes as long as the requests in flight."""

    base: Any = AutoHTTPProtocol

    class Guarded(base):  # type: ignore[misc]
        _timer: asyncio.TimerHandle | None = None
        _waiting: float | None = None  # since when headers are awaited (None: idle or busy)
        peer = ""  # the client address (uvicorn's own `client` holds it with the port)

        def __init__(self, *args: Any, **kwargs: Any) -> None:
            super().__init__(*args, **kwargs)
            gate.metrics.stage("accepted")  # made at TCP accept, before the handshake

        def in_flight(self) -> bool:
            cycle = self.cycle
            return cycle is not None and not cycle.response_complete

        def drop(self) -> None:
            gate.leave(self, self.peer)
            # abort, not close: a TLS close waits (up to 30 s) for a goodbye
            self.transport.abort()

        def _check(self) -> None:
            # One timer per connection, every `header_timeout`: cheaper than re-arming a
            # timer on every request.
            self._timer = None
            now = self.loop.time()
            waiting = self._waiting
            if waiting is not None and not self.in_flight():
                if now - waiting >= header_timeout:
                    gate.metrics.closed("header_timeout")
                    self.drop()
                    return
            else:
                self._waiting = None
            self._timer = self.loop.call_later(header_timeout, self._check)

        def connection_made(self, transport: asyncio.Transport) -> None:
            super().connection_made(transport)
            gate.metrics.stage("handshake_done")
            peer = transport.get_extra_info("peername")
            self.peer = str(peer[0]) if isinstance(peer, tuple) and peer else "unknown"
            if not gate.admit(self, self.peer):
                transport.abort()
                return
            self._waiting = self.loop.time()  # the first request's headers are due
            self._timer = self.loop.call_later(header_timeout, self._check)

        def data_received(self, data: bytes) -> None:
            if self._waiting is None and not self.in_flight():
                self._waiting = self.loop.time()  # a new request starts
            super().data_received(data)

        def on_response_complete(self) -> None:
            super().on_response_complete()
            self._waiting = None  # idle: uvicorn's keep-alive timeout applies
            gate.idle(self)

        def connection_lost(self, exc: Exception | None) -> None:
            if self._timer is not None:
                self._timer.cancel()
                self._timer = None
            gate.leave(self, self.peer)
            super().connection_lost(exc)

        def shutdown(self) -> None:
            if not self.in_flight():
                self.transport.abort()  # idle: nothing to finish, no goodbye to wait for
            else:
                super().shutdown()  # answer the request in flight, then close

    return Guarded


def loop_factory(handshake_timeout: float) -> Callable[[], asyncio.AbstractEventLoop]:
    """The event loop uvicorn would pick, with a deadline for the TLS handshake (asyncio's
    own is 60 s, during which a connection that never says hello holds a socket)."""
    try:
        import uvloop

        base: Any = uvloop.Loop
    except ImportError:  # pragma: no cover - uvloop is a dependency
        base = asyncio.SelectorEventLoop

    class Loop(base):  # type: ignore[misc]
        async def create_server(self, *args: Any, **kwargs: Any) -> asyncio.Server:
            if kwargs.get("ssl") is not None:
                kwargs.setdefault("ssl_handshake_timeout", handshake_timeout)
            return await super().create_server(*args, **kwargs)  # type: ignore[no-any-return]

    return Loop


def make_config(
    app: Starlette,
    *,
    host: str,
    port: int,
    reloader: CertReloader | None,
    log_level: str = "info",
    header_timeout: float = HEADER_TIMEOUT,
    limits: Limits | None = None,
    metrics: Metrics | None = None,
    configure_logging: bool = True,
) -> uvicorn.Config:
    """`configure_logging=False` leaves logging as it is (an embedding process's own)."""
    context = reloader.context if reloader is not None else None
    limits = limits or Limits()
    gate = Gate(limits, metrics or Metrics())
    loop: Any = loop_factory(limits.handshake_timeout)
    return uvicorn.Config(
        app,
        host=host,
        port=port,
        http=guarded_protocol(header_timeout, gate),
        loop=loop,
        lifespan="on",
        log_config=log_config(log_level) if configure_logging else None,
        access_log=False,
        server_header=False,
        proxy_headers=False,
        timeout_keep_alive=KEEP_ALIVE,
        limit_concurrency=None,  # connections and reviews are limited apart (Gate, app)
        h11_max_incomplete_event_size=64 * 1024,
        ssl_context_factory=(lambda _cfg, _default: context) if context is not None else None,
    )


def listen(host: str, port: int, *, shared: bool = False) -> socket.socket:
    """A listening socket; `shared` lets the other workers bind the same port
    (SO_REUSEPORT: the kernel spreads connections over them)."""
    sock = socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    if shared:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
    sock.bind((host, port))
    sock.listen(2048)
    return sock


def run(build: Callable[[int], uvicorn.Config], *, host: str, port: int, workers: int) -> bool:
    """Serve with `workers` processes; `build(i)` makes worker i's config (in the worker).

    One worker serves in this process. More fork from here, each with its own event loop,
    application and certificate reloader, on one port; this process forwards SIGTERM and
    SIGINT to them, and if one dies the others are stopped and this returns False (the
    command then exits non-zero, so the container restarts whole rather than serving at half
    strength). True: every worker stopped on request.
    """
    if workers == 1:
        config = build(0)
        sock = listen(host, port)
        uvicorn.Server(config).run(sockets=[sock])
        return True
    # Bound, never listening: holds the port (and resolves port 0) for the workers.
    holder = socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET, socket.SOCK_STREAM)
    holder.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    holder.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
    holder.bind((host, port))
    port = holder.getsockname()[1]
    pids: dict[int, int] = {}
    for i in range(workers):
        pid = os.fork()
        if pid == 0:  # pragma: no cover - runs in the worker process
            code = 1
            try:
                holder.close()
                uvicorn.Server(build(i)).run(sockets=[listen(host, port, shared=True)])
                code = 0
            except BaseException:
                log.exception("worker failed", extra={"fields": {"worker": i}})
            finally:
                os._exit(code)
        pids[pid] = i
    stopping = False

    def stop(signum: int, frame: object) -> None:
        nonlocal stopping
        stopping = True
        for child in pids:
            with contextlib.suppress(ProcessLookupError):
                os.kill(child, signal.SIGTERM)

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    clean = True
    while pids:
        try:
            pid, status = os.wait()
        except ChildProcessError:
            break
        worker = pids.pop(pid, None)
        if worker is not None and not stopping:
            log.error(
                "worker exited; stopping the others",
                extra={"fields": {"worker": worker, "status": os.waitstatus_to_exitcode(status)}},
            )
            clean = False
            stop(signal.SIGTERM, None)
    holder.close()
    return clean
