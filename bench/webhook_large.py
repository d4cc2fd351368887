"""Ordinary reviews while large ones run: p50/p99 of a typical Deployment review while
N clients keep sending 7.5 MiB reviews.

Starts `deploysafe serve` over HTTPS on 127.0.0.1 (as bench/webhook_load.py does), then,
for --duration seconds, at the same time:

- N large clients (threads of one separate process), each sending one large review after
  another: the typical Deployment with 80,000 `env` entries (about 7.5 MiB, half a second
  of CPU to judge), counting 200 answers and refusals (HTTP 503 past
  `webhook.limits.max_large_reviews`);
- the small-review load of webhook_load.py's Python client (2 processes, --connections
  keep-alive connections), measuring latency.

`--inline` judges every review on the event loop, as the webhook did before large reviews
went to a judging process (`large_review_bytes` above the body limit): the baseline.

    .venv/bin/python bench/webhook_large.py                  # 16 large clients, 15 s
    .venv/bin/python bench/webhook_large.py --inline         # the same, judged inline

Only loopback is ever a target. Bounded: --duration seconds (max 120) of load.
"""

from __future__ import annotations

import argparse
import copy
import datetime as dt
import http.client
import json
import os
import platform
import ssl
import sys
import tempfile
import threading
import time
from multiprocessing import get_context
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

import webhook_load as wl  # the folder is not a package

MAX_BODY = 8 * 1024 * 1024


def large_review() -> bytes:
    review = copy.deepcopy(wl.typical_deployment())
    container = review["request"]["object"]["spec"]["template"]["spec"]["containers"][0]
    container["env"] = [{"name": f"VAR_{i}", "value": "x" * 60} for i in range(80000)]
    body = json.dumps(review, separators=(",", ":")).encode()
    assert len(body) < MAX_BODY
    return body


def _large_clients(args: tuple[int, str, int, float, Any]) -> None:
    port, cafile, n, until, queue = args
    body = large_review()
    ctx = ssl.create_default_context(cafile=cafile)
    counts: dict[str, int] = {}
    lock = threading.Lock()

    def loop() -> None:
        while time.monotonic() < until:
            conn = http.client.HTTPSConnection("localhost", port, context=ctx, timeout=30)
            try:
                conn.request("POST", "/validate", body, {"Content-Type": "application/json"})
                resp = conn.getresponse()
                resp.read()
                key = str(resp.status)
            except OSError as exc:
                key = type(exc).__name__
            finally:
                conn.close()
            with lock:
                counts[key] = counts.get(key, 0) + 1
            if key == "503":
                time.sleep(0.05)  # as a client that retries would

    threads = [threading.Thread(target=loop) for _ in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    queue.put(counts)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--large", type=int, default=16, help="concurrent large-review clients")
    ap.add_argument("--connections", type=int, default=8, help="small-review connections")
    ap.add_argument("--duration", type=int, default=15, help="seconds of load (max 120)")
    ap.add_argument("--workers", type=int, default=1, help="deploysafe serve --workers")
    ap.add_argument("--inline", action="store_true", help="judge large reviews on the loop")
    ap.add_argument("--json", type=Path, help="write the figures here too")
    args = ap.parse_args()
    duration = max(1, min(args.duration, 120))
    config = "webhook:\n  warn: low\n"
    if args.inline:
        config += f"  limits:\n    large_review_bytes: {MAX_BODY + 1}\n"
    small = json.dumps(wl.typical_deployment(), separators=(",", ":")).encode()
    with tempfile.TemporaryDirectory(prefix="deploysafe-bench-") as tmp:
        folder = Path(tmp)
        cert, key = wl.make_cert(folder)
        proc, port = wl.start_server(args.workers, cert, key, folder, config)
        try:
            ctx = get_context("spawn")
            queue = ctx.Queue()
            warmup = 2.0
            until = time.monotonic() + warmup + duration
            large = ctx.Process(
                target=_large_clients, args=((port, str(cert), args.large, until, queue),)
            )
            large.start()
            time.sleep(warmup)  # the large reviews are in flight before measuring
            cpu = wl.cpu_seconds(proc.pid)
            result = wl.run_python(port, cert, small, args.connections, duration)
            cpu = wl.cpu_seconds(proc.pid) - cpu
            counts = queue.get(timeout=120)
            large.join(30)
            metrics = wl.post(port, wl.client_context(cert), "/metrics", None)[1].decode()
        finally:
            wl.stop(proc)
    rejected = [
        line for line in metrics.splitlines() if line.startswith("deploysafe_http_rejected_total{")
    ]
    result.update(
        {
            "date": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
            "machine": f"{platform.machine()}, {os.cpu_count()} cores, Python "
            f"{platform.python_version()}",
            "load_average_after": os.getloadavg()[0],
            "mode": "inline" if args.inline else "judging process",
            "workers": args.workers,
            "large_clients": args.large,
            "large_answers": counts,
            "server_rejected": rejected,
            "server_cpu_seconds": round(cpu, 1),
        }
    )
    print(
        f"{result['mode']}: {args.large} large clients, {args.connections} small connections, "
        f"{result['seconds']:.1f} s\n"
        f"  small reviews: {result['requests']} answered, p50 {result['p50_ms']:.1f} ms   "
        f"p99 {result['p99_ms']:.1f} ms   max {result['max_ms']:.1f} ms   errors "
        f"{result['errors']}\n"
        f"  large reviews: {counts}   (load average after: {result['load_average_after']:.2f})"
    )
    if args.json:
        args.json.write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
    return 0 if result["errors"] == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
