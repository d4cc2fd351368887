"""Render engines run in child processes with a wall clock, a memory limit and an output cap.

A chart or kustomization is repository content, and a template can loop for ever or allocate
until the machine gives out (`range until 100000000`). Helm's SDK is Go code loaded into the
process that loads it, so it never runs in ours: a worker process renders one chart at a
time and is reused by the next chart, and replaced when a render kills it or runs out of
time. The helm and kustomize binaries run under the same limits.
"""

from __future__ import annotations

import contextlib
import json
import os
import resource
import select
import signal
import struct
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import IO, Any

from deploysafe.frozen import record

MIB = 1024 * 1024


@record
class Limits:
    """What one render (one chart, one kustomize build) may use."""

    seconds: float = 60.0  # wall clock
    memory: int = 1024 * MIB  # data segment (heap) of the engine's process
    output: int = 64 * MIB  # rendered text


LIMITS = Limits()


class RenderFailed(Exception):
    """The engine refused the input or hit a limit; the message is for the user."""


def _size(n: int) -> str:
    if n % MIB == 0:
        return f"{n // MIB} MiB"
    return f"{n // 1024} KiB" if n % 1024 == 0 else f"{n} bytes"


def too_slow(limits: Limits) -> str:
    return (
        f"the render did not finish within {limits.seconds:g} s, so it was stopped"
        " (a template or build that loops too long?)"
    )


def too_big(limits: Limits) -> str:
    return (
        f"the rendered output is larger than {_size(limits.output)}, so it was not read"
        " (a template that repeats too much?)"
    )


def too_hungry(limits: Limits) -> str:
    return (
        f"the render needed more than {_size(limits.memory)} of memory, so it was"
        " stopped (a template that builds too much?)"
    )


def _limit(limits: Limits) -> Callable[[], None]:
    """What the child does before it runs the engine binary (between fork and exec): its
    heap is capped, and so is its stdout, a file (past the cap, the engine's write fails).
    The address space would be exact, but a binary's start-up size is not known here."""
    memory, size = limits.memory, limits.output

    def apply() -> None:
        resource.setrlimit(resource.RLIMIT_DATA, (memory, memory))
        resource.setrlimit(resource.RLIMIT_FSIZE, (size, size))

    return apply


@record
class Ran:
    ok: bool
    out: str
    err: str  # the engine's, or which limit it hit
    limited: bool = False  # stopped by a limit: running it again would hit it again


def run(argv: Sequence[str], env: Mapping[str, str], limits: Limits = LIMITS) -> Ran:
    """Run an engine binary under `limits`."""
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        try:
            proc = subprocess.run(
                argv,
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=err,
                timeout=limits.seconds,
                check=False,
                env=dict(env),
                # Only setrlimit runs between fork and exec: safe beside threads.
                preexec_fn=_limit(limits),
            )
        except subprocess.TimeoutExpired:
            return Ran(False, "", f"{argv[0]}: {too_slow(limits)}", limited=True)
        except OSError as exc:
            return Ran(False, "", f"cannot run {argv[0]}: {exc.strerror or exc}")
        stderr = _tail(err, 64 * 1024)
        if out.tell() >= limits.output or proc.returncode == -signal.SIGXFSZ:
            return Ran(False, "", f"{argv[0]}: {too_big(limits)}", limited=True)
        if proc.returncode != 0 and _out_of_memory(stderr):
            return Ran(False, "", f"{argv[0]}: {too_hungry(limits)}", limited=True)
        out.seek(0)
        text = out.read().decode("utf-8", errors="replace")
        return Ran(proc.returncode == 0, text, stderr)


def _tail(handle: IO[bytes], size: int) -> str:
    handle.seek(0, os.SEEK_END)
    handle.seek(max(0, handle.tell() - size))
    return handle.read().decode("utf-8", errors="replace")


def _out_of_memory(stderr: str) -> bool:
    # Go: `fatal error: runtime: out of memory`; Python: MemoryError.
    return "out of memory" in stderr or "MemoryError" in stderr


# --- the Helm SDK worker ------------------------------------------------------------------

_HEADER = struct.Struct(">Q")


@record
class HelmRequest:
    chart: Path
    values: tuple[Path, ...]
    set_values: tuple[str, ...]
    namespace: str
    release_name: str


class HelmWorker:
    """A child process that renders charts with the Helm SDK, one at a time; started on the
    first render, replaced after one that kills it or overruns, ended by `close`."""

    __slots__ = ("_env", "_err", "_limits", "_proc")

    def __init__(self, env: Mapping[str, str], limits: Limits = LIMITS) -> None:
        self._env = dict(env)
        self._limits = limits
        self._proc: subprocess.Popen[bytes] | None = None
        self._err: IO[bytes] | None = None

    def __enter__(self) -> HelmWorker:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        proc, self._proc = self._proc, None
        if proc is not None:
            with contextlib.suppress(OSError):
                assert proc.stdin is not None
                proc.stdin.close()  # the worker's signal to end
            try:
                proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
            assert proc.stdout is not None
            proc.stdout.close()
        if self._err is not None:
            self._err.close()
            self._err = None

    def _start(self) -> subprocess.Popen[bytes]:
        if self._proc is None or self._proc.poll() is not None:
            self.close()
            self._err = tempfile.TemporaryFile()  # noqa: SIM115 - lives as long as the worker
            self._proc = subprocess.Popen(
                [sys.executable, "-m", "deploysafe.inputs.sandbox"],
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=self._err,
                env=self._env,
            )
        return self._proc

    def render(self, request: HelmRequest) -> list[tuple[str, str]]:
        """(template, text) per rendered template; raises RenderFailed."""
        proc = self._start()
        assert proc.stdin is not None and proc.stdout is not None
        body = json.dumps(
            {
                "chart": str(request.chart),
                "values": [str(v) for v in request.values],
                "set": list(request.set_values),
                "namespace": request.namespace,
                "release": request.release_name,
                "output": self._limits.output,
                "memory": self._limits.memory,
            }
        ).encode()
        try:
            proc.stdin.write(_HEADER.pack(len(body)) + body)
            proc.stdin.flush()
        except OSError:
            raise RenderFailed(self._died(proc)) from None
        deadline = time.monotonic() + self._limits.seconds
        # The worker checks the output's size; the slack is JSON's quoting.
        reply = _receive(proc.stdout, deadline, 2 * self._limits.output + MIB)
        if reply is _LATE or reply is _BIG:
            self._kill()
            raise RenderFailed(too_slow(self._limits) if reply is _LATE else too_big(self._limits))
        if reply is _GONE:
            raise RenderFailed(self._died(proc))
        answer: dict[str, Any] = json.loads(reply)
        if "error" in answer:
            raise RenderFailed(str(answer["error"]))
        return [(str(name), str(text)) for name, text in answer["manifests"]]

    def _kill(self) -> None:
        if self._proc is not None:
            self._proc.kill()
            self._proc.wait()
        self.close()

    def _died(self, proc: subprocess.Popen[bytes]) -> str:
        code = proc.wait()
        stderr = _tail(self._err, 64 * 1024) if self._err is not None else ""
        self.close()
        if _out_of_memory(stderr):
            return too_hungry(self._limits)
        lines = [ln.strip() for ln in stderr.splitlines() if ln.strip()]
        # Go names its fatal error first; Python its exception last.
        said = next((ln for ln in lines if ln.startswith(("fatal error", "panic"))), None)
        why = said or (lines[-1] if lines else "")
        return f"the Helm engine stopped (exit status {code}) during the render: {why}".strip()


# Why no message came: the worker ended, overran the clock, or announced too much.
_GONE, _LATE, _BIG = b"gone", b"late", b"big"


def _receive(stream: IO[bytes], deadline: float, cap: int) -> bytes:
    """One message from the worker, or _GONE, _LATE or _BIG."""
    fd = stream.fileno()
    data = bytearray()
    need = _HEADER.size
    header_read = False
    while len(data) < need:
        left = deadline - time.monotonic()
        if left <= 0 or not select.select([fd], [], [], left)[0]:
            return _LATE
        chunk = os.read(fd, min(need - len(data), 1 << 20))
        if not chunk:
            return _GONE
        data += chunk
        if not header_read and len(data) >= _HEADER.size:
            header_read = True
            (size,) = _HEADER.unpack_from(data)
            if size > cap:
                return _BIG
            need = _HEADER.size + size
    return bytes(data[_HEADER.size :])


def _serve() -> None:
    """The worker: render requests from stdin until it closes."""
    # The protocol owns stdout; anything the engine prints goes to stderr.
    reply = os.fdopen(os.dup(1), "wb")
    os.dup2(2, 1)
    requests = sys.stdin.buffer
    from deploysafe.inputs import helmsdk

    helmsdk.start()
    memory: int | None = None

    while True:
        header = requests.read(_HEADER.size)
        if len(header) < _HEADER.size:
            return
        (size,) = _HEADER.unpack(header)
        ask = json.loads(requests.read(size))
        limits = Limits(memory=ask["memory"], output=ask["output"])
        if memory is None:
            # The address space the engine may grow by: what it holds now, loaded and
            # started, plus the limit. (A heap limit alone lets Go map past it.)
            memory = _address_space() + limits.memory
            resource.setrlimit(resource.RLIMIT_AS, (memory, memory))
        try:
            manifests = helmsdk.render(
                Path(ask["chart"]),
                [Path(v) for v in ask["values"]],
                ask["set"],
                ask["namespace"],
                ask["release"],
            )
            total = sum(len(t) for _, t in manifests)
            answer: dict[str, Any] = {"manifests": manifests}
            if total > limits.output:
                answer = {"error": too_big(limits)}
        except helmsdk.Refused as exc:
            answer = {"error": str(exc)}
        except MemoryError:
            answer = {"error": too_hungry(limits)}
        body = json.dumps(answer).encode()
        reply.write(_HEADER.pack(len(body)) + body)
        reply.flush()


def _address_space() -> int:
    """This process's virtual memory size, in bytes."""
    with open("/proc/self/statm", encoding="ascii") as statm:
        return int(statm.read().split()[0]) * resource.getpagesize()


@contextlib.contextmanager
def helm_worker(env: Mapping[str, str], limits: Limits = LIMITS) -> Iterator[HelmWorker]:
    worker = HelmWorker(env, limits)
    try:
        yield worker
    finally:
        worker.close()


if __name__ == "__main__":
    _serve()
