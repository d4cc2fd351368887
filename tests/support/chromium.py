"""Headless Chromium for tests: the command line, and a small DevTools Protocol client over
`--remote-debugging-pipe` (JSON messages ended by a NUL byte, read from fd 4 and written
to fd 3 of the browser)."""

from __future__ import annotations

import fcntl
import json
import os
import select
import shutil
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

# Debian's package names the binary `chromium`; others `chromium-browser`.
BINARY = shutil.which("chromium") or shutil.which("chromium-browser")
MISSING = "Chromium is not installed (Debian: apt-get install chromium; .ci/run installs it)"

# No first-run work, no background fetches of its own: every request is the page's.
QUIET = (
    "--headless",
    "--no-sandbox",  # tests run as root in CI containers
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--no-default-browser-check",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-dev-shm-usage",
    "--window-size=1280,2000",
)


def command(profile: Path, *args: str) -> list[str]:
    assert BINARY is not None, MISSING
    return [BINARY, *QUIET, f"--user-data-dir={profile}", *args]


def run(profile: Path, *args: str, timeout: float = 60) -> subprocess.CompletedProcess[str]:
    """One headless run (`--dump-dom`, `--screenshot`); its stdout is what it printed."""
    return subprocess.run(
        command(profile, *args),
        capture_output=True,
        text=True,
        timeout=timeout,
        check=True,
        stdin=subprocess.DEVNULL,
    )


class Session:
    """A DevTools session on one page: commands, and every event seen so far."""

    def __init__(self, proc: subprocess.Popen[bytes], write: int, read: int) -> None:
        self.proc, self.write, self.read = proc, write, read
        self.buffer = b""
        self.next_id = 0
        self.events: list[dict[str, Any]] = []
        self.session: str | None = None

    def _message(self, deadline: float) -> dict[str, Any]:
        while b"\0" not in self.buffer:
            left = deadline - time.monotonic()
            if left <= 0 or not select.select([self.read], [], [], left)[0]:
                raise TimeoutError("Chromium did not answer in time")
            chunk = os.read(self.read, 1 << 20)
            if not chunk:
                raise EOFError("Chromium closed its DevTools pipe")
            self.buffer += chunk
        raw, self.buffer = self.buffer.split(b"\0", 1)
        message: dict[str, Any] = json.loads(raw)
        return message

    def send(self, method: str, params: dict[str, Any] | None = None, *, page: bool = True) -> Any:
        """Run a command (on the page's session unless `page` is False); its result."""
        self.next_id += 1
        msg: dict[str, Any] = {"id": self.next_id, "method": method, "params": params or {}}
        if page and self.session is not None:
            msg["sessionId"] = self.session
        os.write(self.write, json.dumps(msg).encode() + b"\0")
        deadline = time.monotonic() + 30
        while True:
            reply = self._message(deadline)
            if reply.get("id") == self.next_id:
                if "error" in reply:
                    raise RuntimeError(f"{method}: {reply['error']}")
                return reply.get("result", {})
            if "method" in reply:
                self.events.append(reply)

    def wait(self, method: str, timeout: float = 30) -> dict[str, Any]:
        """The first event `method` (seen already or to come)."""
        deadline = time.monotonic() + timeout
        while True:
            hit = next((e for e in self.events if e["method"] == method), None)
            if hit is not None:
                return hit
            reply = self._message(deadline)
            if "method" in reply:
                self.events.append(reply)

    def evaluate(self, expression: str) -> Any:
        result = self.send("Runtime.evaluate", {"expression": expression, "returnByValue": True})
        if "exceptionDetails" in result:
            raise RuntimeError(f"{expression}: {result['exceptionDetails']}")
        return result["result"].get("value")

    def open(self, url: str) -> None:
        """Load `url` in the page and wait for its load event."""
        self.events.clear()
        self.send("Page.navigate", {"url": url})
        self.wait("Page.loadEventFired")

    def requested(self) -> list[str]:
        """Every URL the page asked for since it was opened."""
        return [
            e["params"]["request"]["url"]
            for e in self.events
            if e["method"] == "Network.requestWillBeSent"
        ]


def _high(fds: tuple[int, int]) -> tuple[int, int]:
    out = []
    for fd in fds:
        out.append(fcntl.fcntl(fd, fcntl.F_DUPFD_CLOEXEC, 10))
        os.close(fd)
    return out[0], out[1]


@contextmanager
def devtools(profile: Path) -> Iterator[Session]:
    """A headless Chromium with one blank page, its network, console and errors watched."""
    to_browser, from_us = _high(os.pipe())
    to_us, from_browser = _high(os.pipe())
    # The browser reads fd 3 and writes fd 4; bash puts the pipe ends there (from fds
    # above 9, so that moving one into 3 or 4 cannot overwrite the other; dash takes 0-9).
    argv = ["bash", "-c", f'exec "$@" 3<&{to_browser} 4>&{from_browser}', "bash"]
    proc = subprocess.Popen(
        [*argv, *command(profile, "--remote-debugging-pipe", "about:blank")],
        pass_fds=(to_browser, from_browser),
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    os.close(to_browser)
    os.close(from_browser)
    s = Session(proc, from_us, to_us)
    try:
        target = s.send("Target.createTarget", {"url": "about:blank"}, page=False)["targetId"]
        attached = s.send("Target.attachToTarget", {"targetId": target, "flatten": True})
        s.session = attached["sessionId"]
        for domain in ("Network", "Page", "Runtime", "Log"):
            s.send(f"{domain}.enable")
        yield s
    finally:
        try:
            s.send("Browser.close", page=False)
            proc.wait(timeout=10)
        except (OSError, TimeoutError, EOFError, RuntimeError, subprocess.TimeoutExpired):
            proc.kill()
            proc.wait()
        os.close(from_us)
        os.close(to_us)
