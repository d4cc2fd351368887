"""`make demo`: the admission webhook for real, on 127.0.0.1.

Makes a throwaway certificate, starts `deploysafe serve`, sends it an AdmissionReview (a
privileged Deployment: denied) and the same Deployment fixed (allowed), shows the log line
and the metrics, stops the server; then writes the install manifests and scans them, and
audits a cluster dump. Everything happens in a temp folder.
"""

from __future__ import annotations

import copy
import http.client
import json
import os
import signal
import socket
import ssl
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
DEPLOYSAFE = os.environ.get("DEPLOYSAFE") or str(Path(sys.executable).parent / "deploysafe")


def post(port: int, ctx: ssl.SSLContext, body: bytes) -> dict[str, object]:
    conn = http.client.HTTPSConnection("localhost", port, context=ctx, timeout=10)
    conn.request("POST", "/validate", body, {"Content-Type": "application/json"})
    out = json.loads(conn.getresponse().read())
    conn.close()
    return out


def main() -> int:
    with tempfile.TemporaryDirectory(prefix="deploysafe-webhook-demo-") as tmp:
        folder = Path(tmp)
        cert, key = folder / "tls.crt", folder / "tls.key"
        subprocess.run(
            ["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt",
             "ec_paramgen_curve:prime256v1", "-nodes", "-keyout", str(key), "-out", str(cert),
             "-days", "1", "-subj", "/CN=localhost", "-addext", "subjectAltName=DNS:localhost"],
            check=True, capture_output=True,
        )  # fmt: skip
        (folder / "deploysafe.yaml").write_text("fail_on: high\nwebhook:\n  warn: low\n")
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            port = s.getsockname()[1]
        log = folder / "serve.log"
        with log.open("wb") as out:
            server = subprocess.Popen(
                [DEPLOYSAFE, "serve", "--host", "127.0.0.1", "--port", str(port),
                 "--cert", str(cert), "--key", str(key)],
                stdout=out, stderr=out, cwd=folder,
            )  # fmt: skip
        ctx = ssl.create_default_context(cafile=str(cert))
        try:
            for _ in range(200):
                try:
                    conn = http.client.HTTPSConnection("localhost", port, context=ctx, timeout=1)
                    conn.request("GET", "/readyz")
                    if conn.getresponse().status == 200:
                        break
                except OSError:
                    time.sleep(0.05)
            review = json.loads((HERE / "review.json").read_text())
            print(f"$ deploysafe serve --cert tls.crt --key tls.key --port {port}")
            print("POST /validate  (examples/webhook/review.json: a privileged Deployment)")
            print(json.dumps(post(port, ctx, json.dumps(review).encode()), indent=2))
            fixed = copy.deepcopy(review)
            container = fixed["request"]["object"]["spec"]["template"]["spec"]["containers"][0]
            container["securityContext"]["privileged"] = False
            container["resources"]["requests"] = {"cpu": "100m"}
            fixed["request"]["uid"] = "705ab4f5-6393-11e8-b7cc-42010a800003"
            print("POST /validate  (the same Deployment, fixed)")
            print(json.dumps(post(port, ctx, json.dumps(fixed).encode()), indent=2))
            conn = http.client.HTTPSConnection("localhost", port, context=ctx, timeout=10)
            conn.request("GET", "/metrics")
            metrics = conn.getresponse().read().decode()
            print("GET /metrics (excerpt)")
            for line in metrics.splitlines():
                if line.startswith(
                    ("deploysafe_admission_requests", "deploysafe_admission_denials")
                ):
                    print("  " + line)
        finally:
            os.kill(server.pid, signal.SIGTERM)
            server.wait(15)
        print("the server's log, one JSON line per review:")
        for line in log.read_text().splitlines():
            if '"message": "review"' in line:
                print("  " + line)
        manifests = folder / "webhook.yaml"
        print("\n$ deploysafe webhook manifests -o webhook.yaml")
        print("$ deploysafe scan webhook.yaml --fail-on info   (expect a clean scan)")
        subprocess.run(
            [DEPLOYSAFE, "webhook", "manifests", "-o", str(manifests)], check=True, cwd=folder
        )
        scan = subprocess.run([DEPLOYSAFE, "scan", str(manifests), "--fail-on", "info"], cwd=folder)
        print("\n$ deploysafe audit examples/webhook/cluster.yaml   (expect findings, exit 1)")
        audit = subprocess.run([DEPLOYSAFE, "audit", str(HERE / "cluster.yaml")], cwd=folder)
        return 0 if scan.returncode == 0 and audit.returncode == 1 else 1


if __name__ == "__main__":
    sys.exit(main())
