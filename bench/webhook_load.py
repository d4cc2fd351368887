"""Load test for `deploysafe serve`: throughput and p50/p99 latency at fixed concurrency.

Starts `deploysafe serve` over HTTPS on 127.0.0.1 (a throwaway CA and certificate made
here), checks one answer by hand, then drives POST /validate with a typical Deployment
AdmissionReview (as the API server sends it: defaulted fields, managedFields) from 50
concurrent keep-alive connections for a fixed time, and stops everything itself.

The load comes from `wrk` (Debian package `wrk`; C, cheap on CPU) when it is on PATH,
else from a Python client in separate processes (threads with keep-alive connections;
it costs more CPU, which the server then lacks: its figures are pessimistic).

    .venv/bin/python bench/webhook_load.py                      # 2 workers, 50 conns, 10 s
    .venv/bin/python bench/webhook_load.py --workers 1 --duration 20 --json out.json

Only loopback is ever a target. Bounded: --duration seconds (max 120) of load.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import re
import shutil
import signal
import socket
import ssl
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from multiprocessing import get_context
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
DEPLOYSAFE = Path(sys.executable).parent / "deploysafe"


def typical_deployment() -> dict[str, Any]:
    """A hardened Deployment as the API server hands it to a validating webhook."""
    t = "2026-11-20T10:00:00Z"
    container = {
        "name": "web",
        "image": "registry.example.com/shop/web:1.4.2",
        "ports": [{"name": "http", "containerPort": 8080, "protocol": "TCP"}],
        "env": [
            {"name": "LOG_LEVEL", "value": "info"},
            {"name": "DB_HOST", "value": "db.shop.svc"},
            {
                "name": "DB_PASSWORD",
                "valueFrom": {"secretKeyRef": {"name": "db", "key": "password"}},
            },
        ],
        "resources": {
            "requests": {"cpu": "100m", "memory": "128Mi"},
            "limits": {"memory": "256Mi"},
        },
        "readinessProbe": {
            "httpGet": {"path": "/ready", "port": "http", "scheme": "HTTP"},
            "timeoutSeconds": 1,
            "periodSeconds": 5,
            "successThreshold": 1,
            "failureThreshold": 3,
        },
        "securityContext": {
            "allowPrivilegeEscalation": False,
            "readOnlyRootFilesystem": True,
            "capabilities": {"drop": ["ALL"]},
        },
        "volumeMounts": [{"name": "tmp", "mountPath": "/tmp"}],
        "terminationMessagePath": "/dev/termination-log",
        "terminationMessagePolicy": "File",
        "imagePullPolicy": "IfNotPresent",
    }
    obj = {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {
            "name": "web",
            "namespace": "shop",
            "uid": "b3e9d7c1-4f2a-4b8e-8d6c-0a1b2c3d4e5f",
            "generation": 1,
            "creationTimestamp": t,
            "labels": {"app.kubernetes.io/name": "web", "app.kubernetes.io/part-of": "shop"},
            "managedFields": [
                {
                    "manager": "argocd-controller",
                    "operation": "Apply",
                    "apiVersion": "apps/v1",
                    "time": t,
                    "fieldsType": "FieldsV1",
                    "fieldsV1": {
                        "f:metadata": {"f:labels": {"f:app.kubernetes.io/name": {}}},
                        "f:spec": {
                            "f:replicas": {},
                            "f:selector": {},
                            "f:template": {"f:spec": {"f:containers": {'k:{"name":"web"}': {}}}},
                        },
                    },
                }
            ],
        },
        "spec": {
            "replicas": 3,
            "selector": {"matchLabels": {"app.kubernetes.io/name": "web"}},
            "template": {
                "metadata": {"labels": {"app.kubernetes.io/name": "web"}},
                "spec": {
                    "serviceAccountName": "web",
                    "serviceAccount": "web",
                    "automountServiceAccountToken": False,
                    "securityContext": {
                        "runAsNonRoot": True,
                        "runAsUser": 10001,
                        "seccompProfile": {"type": "RuntimeDefault"},
                    },
                    "containers": [container],
                    "volumes": [{"name": "tmp", "emptyDir": {}}],
                    "restartPolicy": "Always",
                    "terminationGracePeriodSeconds": 30,
                    "dnsPolicy": "ClusterFirst",
                    "schedulerName": "default-scheduler",
                },
            },
            "strategy": {
                "type": "RollingUpdate",
                "rollingUpdate": {"maxUnavailable": "25%", "maxSurge": "25%"},
            },
            "revisionHistoryLimit": 10,
            "progressDeadlineSeconds": 600,
        },
        "status": {},
    }
    return {
        "apiVersion": "admission.k8s.io/v1",
        "kind": "AdmissionReview",
        "request": {
            "uid": str(uuid.uuid4()),
            "kind": {"group": "apps", "version": "v1", "kind": "Deployment"},
            "resource": {"group": "apps", "version": "v1", "resource": "deployments"},
            "requestKind": {"group": "apps", "version": "v1", "kind": "Deployment"},
            "requestResource": {"group": "apps", "version": "v1", "resource": "deployments"},
            "name": "web",
            "namespace": "shop",
            "operation": "CREATE",
            "userInfo": {
                "username": "system:serviceaccount:argocd:argocd-application-controller",
                "groups": ["system:serviceaccounts", "system:authenticated"],
            },
            "object": obj,
            "oldObject": None,
            "dryRun": False,
            "options": {"apiVersion": "meta.k8s.io/v1", "kind": "CreateOptions"},
        },
    }


def make_cert(folder: Path) -> tuple[Path, Path]:
    cert, key = folder / "tls.crt", folder / "tls.key"
    subprocess.run(
        [
            "openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1",
            "-nodes", "-keyout", str(key), "-out", str(cert), "-days", "1",
            "-subj", "/CN=localhost", "-addext", "subjectAltName=DNS:localhost,IP:127.0.0.1",
        ],
        check=True,
        capture_output=True,
    )  # fmt: skip
    return cert, key


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def start_server(
    workers: int, cert: Path, key: Path, folder: Path, config: str = "webhook:\n  warn: low\n"
) -> tuple[subprocess.Popen[bytes], int]:
    port = free_port()
    (folder / "deploysafe.yaml").write_text(config, encoding="utf-8")
    log = (folder / "serve.log").open("wb")
    proc = subprocess.Popen(
        [
            str(DEPLOYSAFE), "serve", "--host", "127.0.0.1", "--port", str(port),
            "--cert", str(cert), "--key", str(key), "--workers", str(workers),
            "--config", str(folder / "deploysafe.yaml"), "--log-level", "info",
        ],
        stdout=log,
        stderr=log,
        cwd=folder,
    )  # fmt: skip
    ctx = client_context(cert)
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        try:
            status, _ = post(port, ctx, "/readyz", None)
            if status == 200:
                return proc, port
        except OSError:
            time.sleep(0.05)
    stop(proc)
    raise SystemExit("deploysafe serve did not start: see " + str(folder / "serve.log"))


def stop(proc: subprocess.Popen[bytes]) -> None:
    if proc.poll() is None:
        os.kill(proc.pid, signal.SIGTERM)
        try:
            proc.wait(15)
        except subprocess.TimeoutExpired:
            os.kill(proc.pid, signal.SIGKILL)
            proc.wait(5)


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of `pid` and its children (the workers), from /proc."""
    tick = os.sysconf("SC_CLK_TCK")
    total = 0.0
    pids = [pid]
    try:
        children = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
    except OSError:
        children = []
    pids += [int(c) for c in children]
    for p in pids:
        try:
            fields = Path(f"/proc/{p}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += (int(fields[11]) + int(fields[12])) / tick  # utime, stime
    return total


def client_context(cert: Path) -> ssl.SSLContext:
    return ssl.create_default_context(cafile=str(cert))


def post(port: int, ctx: ssl.SSLContext, path: str, body: bytes | None) -> tuple[int, bytes]:
    import http.client

    conn = http.client.HTTPSConnection("localhost", port, context=ctx, timeout=10)
    try:
        if body is None:
            conn.request("GET", path)
        else:
            conn.request("POST", path, body, {"Content-Type": "application/json"})
        resp = conn.getresponse()
        return resp.status, resp.read()
    finally:
        conn.close()


# ------------------------------------------------------------------ wrk


def run_wrk(port: int, body: Path, connections: int, duration: int, threads: int) -> dict[str, Any]:
    script = body.with_suffix(".lua")
    script.write_text(
        'wrk.method = "POST"\n'
        'wrk.headers["Content-Type"] = "application/json"\n'
        f'local f = io.open("{body}", "rb")\nwrk.body = f:read("*all")\nf:close()\n'
        "done = function(summary, latency, requests)\n"
        '  io.write(string.format("RESULT %d %d %d %d %d %d %d\\n", summary.requests, '
        "summary.duration, summary.errors.connect + summary.errors.read + summary.errors.write "
        "+ summary.errors.timeout, summary.errors.status, latency:percentile(50), "
        "latency:percentile(99), latency.max))\n"
        "end\n",
        encoding="utf-8",
    )
    out = subprocess.run(
        [
            "wrk", f"-t{threads}", f"-c{connections}", f"-d{duration}s", "--timeout", "5s",
            "-s", str(script), f"https://localhost:{port}/validate",
        ],
        capture_output=True,
        text=True,
        timeout=duration + 60,
    )  # fmt: skip
    m = re.search(r"^RESULT (\d+) (\d+) (\d+) (\d+) (\d+) (\d+) (\d+)$", out.stdout, re.M)
    if not m:
        raise SystemExit("wrk failed:\n" + out.stdout + out.stderr)
    requests, micros, errors, non2xx, p50, p99, pmax = map(int, m.groups())
    return {
        "tool": f"wrk ({threads} thread, {connections} connections)",
        "requests": requests,
        "seconds": micros / 1e6,
        "throughput_rps": requests / (micros / 1e6),
        "p50_ms": p50 / 1000,
        "p99_ms": p99 / 1000,
        "max_ms": pmax / 1000,
        "errors": errors + non2xx,
    }


# ------------------------------------------------------------------ Python client


def _client(args: tuple[int, str, bytes, int, float, Any]) -> None:
    import http.client

    port, cafile, body, n, until, queue = args
    ctx = ssl.create_default_context(cafile=cafile)
    lat: list[float] = []
    errors = 0
    lock = threading.Lock()

    def loop() -> None:
        nonlocal errors
        conn = http.client.HTTPSConnection("localhost", port, context=ctx, timeout=10)
        mine: list[float] = []
        bad = 0
        while time.monotonic() < until:
            t0 = time.perf_counter()
            try:
                conn.request("POST", "/validate", body, {"Content-Type": "application/json"})
                resp = conn.getresponse()
                resp.read()
                if resp.status != 200:
                    bad += 1
            except OSError:
                bad += 1
                conn.close()
                conn = http.client.HTTPSConnection("localhost", port, context=ctx, timeout=10)
            mine.append(time.perf_counter() - t0)
        conn.close()
        with lock:
            lat.extend(mine)
            errors += bad

    threads = [threading.Thread(target=loop) for _ in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    queue.put((lat, errors))


def run_python(
    port: int, cert: Path, body: bytes, connections: int, duration: int
) -> dict[str, Any]:
    ctx = get_context("spawn")
    queue = ctx.Queue()
    procs_n = 2
    per = [connections // procs_n + (1 if i < connections % procs_n else 0) for i in range(procs_n)]
    start = time.monotonic()
    until = start + duration
    procs = [
        ctx.Process(target=_client, args=((port, str(cert), body, n, until, queue),)) for n in per
    ]
    for p in procs:
        p.start()
    lat: list[float] = []
    errors = 0
    for _ in procs:
        got, bad = queue.get(timeout=duration + 60)
        lat += got
        errors += bad
    for p in procs:
        p.join(10)
    elapsed = time.monotonic() - start
    q = statistics.quantiles(lat, n=100)
    return {
        "tool": f"Python client ({procs_n} processes, {connections} threads/connections)",
        "requests": len(lat),
        "seconds": elapsed,
        "throughput_rps": len(lat) / elapsed,
        "p50_ms": q[49] * 1000,
        "p99_ms": q[98] * 1000,
        "max_ms": max(lat) * 1000,
        "errors": errors,
    }


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--workers", type=int, default=2, help="deploysafe serve --workers")
    ap.add_argument("--connections", type=int, default=50)
    ap.add_argument("--duration", type=int, default=10, help="seconds of load (max 120)")
    ap.add_argument("--warmup", type=int, default=2, help="seconds of load before measuring")
    ap.add_argument("--client", choices=["auto", "wrk", "python"], default="auto")
    ap.add_argument("--json", type=Path, help="write the figures here too")
    args = ap.parse_args()
    duration = max(1, min(args.duration, 120))
    client = args.client
    if client == "auto":
        client = "wrk" if shutil.which("wrk") else "python"
    review = typical_deployment()
    uid = review["request"]["uid"]
    raw = json.dumps(review, separators=(",", ":")).encode()
    with tempfile.TemporaryDirectory(prefix="deploysafe-bench-") as tmp:
        folder = Path(tmp)
        cert, key = make_cert(folder)
        proc, port = start_server(args.workers, cert, key, folder)
        try:
            status, answer = post(port, client_context(cert), "/validate", raw)
            response = json.loads(answer)["response"]
            if status != 200 or (response["uid"], response["allowed"]) != (uid, True):
                raise SystemExit(f"unexpected answer {status}: {answer[:300]!r}")
            body = folder / "review.json"
            body.write_bytes(raw)
            if client == "wrk":
                if args.warmup:
                    run_wrk(port, body, args.connections, args.warmup, 1)
                cpu = cpu_seconds(proc.pid)
                result = run_wrk(port, body, args.connections, duration, 1)
            else:
                if args.warmup:
                    run_python(port, cert, raw, args.connections, args.warmup)
                cpu = cpu_seconds(proc.pid)
                result = run_python(port, cert, raw, args.connections, duration)
            cpu = cpu_seconds(proc.pid) - cpu
            metrics = post(port, client_context(cert), "/metrics", None)[1].decode()
        finally:
            stop(proc)
    served = re.search(
        r'^deploysafe_admission_requests_total\{operation="CREATE",outcome="allowed"\} (\d+)$',
        metrics,
        re.M,
    )
    result.update(
        {
            "date": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
            "machine": f"{platform.machine()}, {os.cpu_count()} cores, Python "
            f"{platform.python_version()}",
            "load_average_after": os.getloadavg()[0],
            "workers": args.workers,
            "connections": args.connections,
            "body_bytes": len(raw),
            "server_counted_allowed": int(served.group(1)) if served else None,
            "server_cpu_us_per_request": round(cpu / result["requests"] * 1e6, 1)
            if result["requests"]
            else None,
        }
    )
    print(
        f"{result['tool']}, deploysafe serve --workers {args.workers}, {len(raw)}-byte "
        f"Deployment review, {result['seconds']:.1f} s:\n"
        f"  throughput {result['throughput_rps']:.0f} req/s   p50 {result['p50_ms']:.2f} ms   "
        f"p99 {result['p99_ms']:.2f} ms   max {result['max_ms']:.1f} ms   errors "
        f"{result['errors']}\n  server CPU {result['server_cpu_us_per_request']} us per request   "
        f"(load average after: {result['load_average_after']:.2f})"
    )
    if args.json:
        args.json.write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
    return 0 if result["errors"] == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
