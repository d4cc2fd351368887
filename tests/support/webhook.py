"""Test support for the admission webhook: a throwaway CA and server certificates, a real
`deploysafe serve` process on 127.0.0.1, and an HTTPS client that verifies it as the API
server would (the CA as caBundle, the host name checked)."""

from __future__ import annotations

import contextlib
import datetime as dt
import http.client
import ipaddress
import json
import os
import signal
import socket
import ssl
import subprocess
import sys
import time
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from tests.support import paths

REPO = paths.REPO
SHAPES = REPO / "tests" / "data" / "admission"
DEPLOYSAFE = Path(sys.executable).parent / "deploysafe"


def shape(name: str) -> dict[str, Any]:
    """A recorded AdmissionReview (tests/data/admission/NAME.json), a fresh copy."""
    data = json.loads((SHAPES / f"{name}.json").read_text(encoding="utf-8"))
    assert isinstance(data, dict)
    return data


# ------------------------------------------------------------------ certificates


@dataclass(frozen=True)
class Pki:
    ca: Path
    cert: Path
    key: Path


def _name(cn: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, cn)])


def make_pki(folder: Path, *, tag: str = "a") -> Pki:
    """A CA and a server certificate for localhost / 127.0.0.1 signed by it."""
    folder.mkdir(parents=True, exist_ok=True)
    now = dt.datetime.now(dt.UTC)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca = (
        x509.CertificateBuilder()
        .subject_name(_name(f"deploysafe test CA {tag}"))
        .issuer_name(_name(f"deploysafe test CA {tag}"))
        .public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=1))
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=True,
                crl_sign=True,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .sign(ca_key, hashes.SHA256())
    )
    key = ec.generate_private_key(ec.SECP256R1())
    cert = (
        x509.CertificateBuilder()
        .subject_name(_name(f"deploysafe-webhook {tag}"))
        .issuer_name(ca.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName(
                [x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]
            ),
            critical=False,
        )
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .sign(ca_key, hashes.SHA256())
    )
    pki = Pki(folder / f"ca-{tag}.pem", folder / f"tls-{tag}.crt", folder / f"tls-{tag}.key")
    pki.ca.write_bytes(ca.public_bytes(serialization.Encoding.PEM))
    pki.cert.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    pki.key.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return pki


def serial_of(pem: bytes) -> int:
    return x509.load_pem_x509_certificate(pem).serial_number


# ------------------------------------------------------------------ the server


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class Server:
    port: int
    ca: Path | None
    log: Path
    proc: subprocess.Popen[bytes] | None
    conns: list[http.client.HTTPConnection] = field(default_factory=list)

    def context(self, ca: Path | None = None) -> ssl.SSLContext:
        ctx = ssl.create_default_context(cafile=str(ca or self.ca))
        return ctx

    def connect(
        self, *, timeout: float = 10.0, ca: Path | None = None
    ) -> http.client.HTTPConnection:
        conn: http.client.HTTPConnection
        if self.ca is None:
            conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=timeout)
        else:
            conn = http.client.HTTPSConnection(
                "127.0.0.1", self.port, timeout=timeout, context=self.context(ca)
            )
        self.conns.append(conn)
        return conn

    def request(
        self,
        method: str,
        path: str,
        body: bytes | None = None,
        headers: Mapping[str, str] | None = None,
        conn: http.client.HTTPConnection | None = None,
    ) -> tuple[int, bytes, dict[str, str]]:
        c = conn or self.connect()
        c.request(method, path, body=body, headers=dict(headers or {}))
        resp = c.getresponse()
        data = resp.read()
        return resp.status, data, {k.lower(): v for k, v in resp.getheaders()}

    def review(
        self, review: Mapping[str, Any], path: str = "/validate"
    ) -> tuple[int, dict[str, Any]]:
        status, data, _ = self.request(
            "POST",
            path,
            json.dumps(review).encode(),
            {"Content-Type": "application/json"},
        )
        out = json.loads(data) if status == 200 else {"error": data.decode()}
        assert isinstance(out, dict)
        return status, out

    def metrics(self) -> dict[str, float]:
        status, data, _ = self.request("GET", "/metrics")
        assert status == 200
        out = {}
        for line in data.decode().splitlines():
            if line and not line.startswith("#"):
                name, _, value = line.rpartition(" ")
                out[name] = float(value)
        return out

    def log_lines(self) -> list[dict[str, Any]]:
        out = []
        for line in self.log.read_text(encoding="utf-8").splitlines():
            rec = json.loads(line)  # every line must be JSON
            assert isinstance(rec, dict)
            out.append(rec)
        return out

    def reviews_logged(self, uid: str) -> list[dict[str, Any]]:
        return [r for r in self.log_lines() if r.get("message") == "review" and r.get("uid") == uid]

    def stop(self) -> int:
        for c in self.conns:
            c.close()
        if self.proc is None:
            return 0
        if self.proc.poll() is None:
            os.kill(self.proc.pid, signal.SIGTERM)
        try:
            return self.proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            os.kill(self.proc.pid, signal.SIGKILL)
            return self.proc.wait(timeout=5)


def wait_ready(server: Server, deadline: float = 20.0) -> None:
    end = time.monotonic() + deadline
    while time.monotonic() < end:
        if server.proc is not None and server.proc.poll() is not None:
            raise RuntimeError(
                f"deploysafe serve exited with {server.proc.returncode}: "
                + server.log.read_text(encoding="utf-8")
            )
        try:
            status, _, _ = server.request("GET", "/readyz", conn=server.connect(timeout=1))
            if status == 200:
                return
        except OSError:
            pass
        time.sleep(0.05)
    raise RuntimeError("deploysafe serve did not become ready: " + server.log.read_text())


@contextlib.contextmanager
def serving(
    folder: Path,
    *,
    pki: Pki | None,
    config: Path | None = None,
    args: Sequence[str] = (),
) -> Iterator[Server]:
    """`deploysafe serve` as its own process, stopped (by its pid) at the end."""
    port = free_port()
    cmd = [str(DEPLOYSAFE), "serve", "--host", "127.0.0.1", "--port", str(port)]
    if pki is not None:
        cmd += ["--cert", str(pki.cert), "--key", str(pki.key)]
    else:
        cmd += ["--insecure-http"]
    if config is not None:
        cmd += ["--config", str(config)]
    cmd += list(args)
    log = folder / f"serve-{port}.log"
    env = {k: v for k, v in os.environ.items() if k != "POD_NAMESPACE"}
    with log.open("wb") as err:
        proc = subprocess.Popen(cmd, stdout=err, stderr=err, cwd=folder, env=env)
    server = Server(port, pki.ca if pki else None, log, proc)
    try:
        wait_ready(server)
        yield server
    finally:
        server.stop()


@contextlib.contextmanager
def in_thread(app: Any, pki: Pki, folder: Path) -> Iterator[Server]:
    """An application object served by uvicorn over HTTPS in a thread of this process
    (for an app this test built itself, e.g. with a reviewer that fails)."""
    import threading

    import uvicorn

    from deploysafe.cluster.webhook.server import CertReloader, listen, make_config

    port = free_port()
    config = make_config(
        app,
        host="127.0.0.1",
        port=port,
        reloader=CertReloader(pki.cert, pki.key),
        configure_logging=False,
    )
    userver = uvicorn.Server(config)
    thread = threading.Thread(
        target=userver.run, kwargs={"sockets": [listen("127.0.0.1", port)]}, daemon=True
    )
    thread.start()
    server = Server(port, pki.ca, folder / "unused.log", None)
    try:
        deadline = time.monotonic() + 10
        while not userver.started and time.monotonic() < deadline:
            time.sleep(0.02)
        yield server
    finally:
        for c in server.conns:
            c.close()
        userver.should_exit = True
        thread.join(10)
