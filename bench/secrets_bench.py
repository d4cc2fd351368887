"""Secrets throughput: deploysafe beside detect-secrets, on the same bytes, in one run.

    .venv/bin/python bench/secrets_bench.py [--mb 12] [--commits 3000]

1. A seeded mixed corpus (source code, YAML manifests, JSON and .env configs, Dockerfiles,
   Markdown) with planted fake secrets (built here at run time), scanned by
   `deploysafe scan` with only the secrets rules on, by the full `deploysafe scan`, and by
   `detect-secrets scan --all-files`.
2. A git repository with thousands of commits (made with `git fast-import`), scanned by
   `deploysafe scan --git-history`; detect-secrets has no history mode, so it scans the
   same distinct file versions written out as files (the bytes deploysafe reads).

detect-secrets runs from bench/.venv-detect-secrets (created here with pip if missing).
gitleaks is not run: no registry this machine reaches ships its binary (no Debian
package; the PyPI/npm packages named gitleaks are wrappers that download it).
Prints a Markdown table; bench/SECRETS.md records a run.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
WORK = HERE / "corpus" / "secrets"
DS_VENV = HERE / ".venv-detect-secrets"
DEPLOYSAFE = [str(Path(sys.executable).with_name("deploysafe"))]

sys.path.insert(0, str(REPO / "tests"))
from secretgen import expand, fake_aws_key_id, fake_github_token  # noqa: E402

WORDS = [
    "order",
    "customer",
    "invoice",
    "payment",
    "cart",
    "item",
    "price",
    "stock",
    "user",
    "session",
    "cache",
    "queue",
    "worker",
    "retry",
    "timeout",
    "region",
    "zone",
    "replica",
    "shard",
    "index",
    "tenant",
    "account",
    "report",
    "metric",
]


def _ident(rng: random.Random) -> str:
    return "_".join(rng.choice(WORDS) for _ in range(rng.randint(1, 3)))


def python_file(rng: random.Random) -> str:
    out = ["import os", "import logging", ""]
    for _ in range(rng.randint(20, 60)):
        name = _ident(rng)
        out += [
            f"def {name}(request, {_ident(rng)}=None):",
            f'    """Handle {name.replace("_", " ")} for the shop."""',
            f"    value = request.get('{_ident(rng)}', {rng.randint(0, 999)})",
            f"    token = os.environ.get('{name.upper()}_TOKEN')",
            f"    logging.info('processing %s', {_ident(rng)})",
            f"    return {{'{_ident(rng)}': value, 'key': '{_ident(rng)}'}}",
            "",
        ]
    return "\n".join(out) + "\n"


def js_file(rng: random.Random) -> str:
    out = []
    for _ in range(rng.randint(20, 60)):
        n = _ident(rng)
        out += [
            f"export async function {n}(apiKey, opts = {{}}) {{",
            f"  const res = await fetch(`${{base}}/{n}`, {{ headers: {{ Authorization: a }} }});",
            f"  const secretName = '{n}-secret'; // the Secret object, not a value",
            "  return res.json();",
            "}",
        ]
    return "\n".join(out) + "\n"


def manifest(rng: random.Random) -> str:
    name = _ident(rng).replace("_", "-")
    return f"""\
apiVersion: apps/v1
kind: Deployment
metadata:
  name: {name}
  namespace: shop
spec:
  replicas: {rng.randint(1, 5)}
  selector: {{matchLabels: {{app: {name}}}}}
  template:
    metadata: {{labels: {{app: {name}}}}}
    spec:
      containers:
      - name: {name}
        image: registry.shop.internal/{name}:1.{rng.randint(0, 40)}.0
        env:
        - {{name: LOG_LEVEL, value: info}}
        - name: DB_PASSWORD
          valueFrom: {{secretKeyRef: {{name: {name}-db, key: password}}}}
        resources:
          limits: {{memory: 256Mi}}
---
apiVersion: v1
kind: Service
metadata: {{name: {name}, namespace: shop}}
spec:
  selector: {{app: {name}}}
  ports: [{{port: 80, targetPort: 8080}}]
"""


def json_config(rng: random.Random) -> str:
    data = {
        _ident(rng): {
            "enabled": rng.random() < 0.5,
            "timeout_ms": rng.randint(100, 9000),
            "endpoint": f"https://{_ident(rng).replace('_', '-')}.shop.internal/v1",
            "api_key_name": _ident(rng),
        }
        for _ in range(rng.randint(10, 40))
    }
    return json.dumps(data, indent=2) + "\n"


def dockerfile(rng: random.Random) -> str:
    return (
        "FROM python:3.12-slim AS build\nWORKDIR /src\nCOPY requirements.txt .\n"
        "RUN --mount=type=secret,id=pip,env=PIP_INDEX_URL pip wheel -r requirements.txt\n"
        "FROM python:3.12-slim\nCOPY --from=build /src /app\nUSER 10001\n"
        f'CMD ["python", "-m", "{_ident(rng)}"]\n'
    )


def markdown(rng: random.Random) -> str:
    para = " ".join(rng.choice(WORDS) for _ in range(80))
    return f"# {_ident(rng)}\n\n{para}\n\n```yaml\npassword: ${{DB_PASSWORD}}\n```\n"


KINDS = (
    ("py", python_file),
    ("js", js_file),
    ("yaml", manifest),
    ("json", json_config),
    ("md", markdown),
)


def planted(rng: random.Random, i: int, ext: str = "yaml") -> tuple[str, str]:
    """A line holding a fake secret, and the secret (written as the file type writes it)."""
    choice = i % 4
    if choice == 0:
        s = fake_github_token(seed=i)
        return f"GH_TOKEN={s}", s
    if choice == 1:
        s = fake_aws_key_id(seed=i)
        return f"aws_access_key_id = {s}", s
    if choice == 2:
        s = expand("{an:18}", seed=i)
        return f"postgres://shop:{s}@db.shop.internal:5432/orders", s
    s = expand("{an:8}-{an:8}", seed=i)
    if ext in ("yaml", "json"):
        return f"  password: {s}", s
    return f'password = "{s}"', s


def make_corpus(root: Path, mb: float, seed: int = 42) -> tuple[int, int, list[str]]:
    rng = random.Random(seed)
    if root.exists():
        shutil.rmtree(root)
    root.mkdir(parents=True)
    total, files, secrets = 0, 0, []
    target = int(mb * 1024 * 1024)
    n = 0
    while total < target:
        ext, gen = KINDS[n % len(KINDS)]
        folder = root / f"svc{n % 40:02d}"
        folder.mkdir(exist_ok=True)
        text = gen(rng)
        if n % 25 == 0:
            line, secret = planted(rng, n, ext)
            text = f"{line}\n{text}" if ext not in ("json",) else text
            if ext == "json":
                name = folder / f".env.{n}"
                name.write_text(line + "\n", encoding="utf-8")
                total += len(line) + 1
                files += 1
            secrets.append(secret)
        if n % 50 == 0:
            (folder / "Dockerfile").write_text(dockerfile(rng), encoding="utf-8")
        path = folder / f"f{n}.{ext}"
        path.write_text(text, encoding="utf-8")
        total += len(text.encode())
        files += 1
        n += 1
    return total, files, secrets


def secrets_config(path: Path) -> Path:
    """A policy that turns every rule off but the secrets ones (practice 3 and DS510)."""
    from deploysafe.model import Practice
    from deploysafe.rules import REGISTRY

    off = [r.id for r in REGISTRY if r.practice is not Practice.SECRETS and r.id != "DS510"]
    lines = ["fail_on: critical", "rules:"] + [f"  {rid}: {{enabled: false}}" for rid in off]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def timed(cmd: list[str], cwd: Path | None = None) -> tuple[float, str]:
    t = time.perf_counter()
    proc = subprocess.run(cmd, capture_output=True, text=True, cwd=cwd, check=False)
    elapsed = time.perf_counter() - t
    if proc.returncode not in (0, 1, 3):
        raise SystemExit(f"{' '.join(cmd[:3])} failed ({proc.returncode}): {proc.stderr[-500:]}")
    return elapsed, proc.stdout


def detect_secrets() -> Path:
    exe = DS_VENV / "bin" / "detect-secrets"
    if not exe.exists():
        subprocess.run([sys.executable, "-m", "venv", str(DS_VENV)], check=True)
        subprocess.run(
            [str(DS_VENV / "bin" / "pip"), "install", "-q", "detect-secrets==1.5.0"], check=True
        )
    return exe


def found_by_deploysafe(report: str, secrets: list[str]) -> int:
    """Planted secrets reported (findings show only the redacted form: prefix and length)."""
    from deploysafe.model import redact

    messages = " ".join(f["message"] for f in json.loads(report)["findings"])
    return sum(1 for s in secrets if redact(s) in messages)


def found_by_detect_secrets(report: str, secrets: list[str]) -> int:
    import hashlib

    data = json.loads(report)
    hashes = {r["hashed_secret"] for rows in data["results"].values() for r in rows}
    return sum(1 for s in secrets if hashlib.sha1(s.encode()).hexdigest() in hashes)


def history_repo(root: Path, commits: int, seed: int = 7) -> tuple[int, Path]:
    """A repository of `commits` commits made with git fast-import; returns its bytes."""
    rng = random.Random(seed)
    if root.exists():
        shutil.rmtree(root)
    root.mkdir(parents=True)
    subprocess.run(["git", "init", "-q", "-b", "main", str(root)], check=True)
    files: dict[str, str] = {}
    blobs = root.parent / "history-blobs"
    if blobs.exists():
        shutil.rmtree(blobs)
    blobs.mkdir()
    stream = []
    size = 0
    when = 1_700_000_000
    for c in range(commits):
        changes = []
        for _ in range(rng.randint(1, 3)):
            ext, gen = KINDS[rng.randrange(len(KINDS))]
            path = f"svc{rng.randrange(30):02d}/f{rng.randrange(200)}.{ext}"
            text = gen(rng)
            if c % 40 == 0:
                line, _secret = planted(rng, c, ext)
                text = f"{line}\n{text}"
            files[path] = text
            changes.append((path, text))
            (blobs / f"{c}-{len(changes)}.{ext}").write_text(text, encoding="utf-8")
            size += len(text.encode())
        if c % 97 == 96 and files:  # deletions: secrets stay in history
            gone = rng.choice(sorted(files))
            files.pop(gone)
            changes.append((gone, None))
        msg = f"change {c}"
        stream.append(
            f"commit refs/heads/main\ncommitter Dev <dev@shop.internal> {when + c * 60} +0000\n"
            f"data {len(msg)}\n{msg}\n"
        )
        for path, text in changes:
            if text is None:
                stream.append(f"D {path}\n")
            else:
                raw = text.encode()
                stream.append(f"M 100644 inline {path}\ndata {len(raw)}\n{text}\n")
    data = "".join(stream).encode()
    subprocess.run(["git", "-C", str(root), "fast-import", "--quiet"], input=data, check=True)
    subprocess.run(["git", "-C", str(root), "checkout", "-q", "main"], check=True)
    return size, blobs


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--mb", type=float, default=12.0)
    ap.add_argument("--commits", type=int, default=3000)
    args = ap.parse_args()
    ds = detect_secrets()
    cfg = secrets_config(WORK.parent / "secrets-only.yaml")
    corpus = WORK / "tree"
    size, files, secrets = make_corpus(corpus, args.mb)
    mb = size / 1024 / 1024
    rows = []

    t_ds_sec, out = timed(
        [*DEPLOYSAFE, "scan", str(corpus), "--config", str(cfg), "--format", "json", "--no-render"]
    )
    found_sec = found_by_deploysafe(out, secrets)
    t_ds_all, _ = timed([*DEPLOYSAFE, "scan", str(corpus), "--format", "json", "--no-render"])
    t_det, out = timed([str(ds), "scan", "--all-files", "."], cwd=corpus)
    found_det = found_by_detect_secrets(out, secrets)
    rows.append(
        (
            "tree",
            f"{files} files, {mb:.1f} MB",
            "deploysafe (secrets rules)",
            t_ds_sec,
            mb / t_ds_sec,
            f"{found_sec}/{len(secrets)}",
        )
    )
    rows.append(("tree", "", "deploysafe (all rules)", t_ds_all, mb / t_ds_all, ""))
    rows.append(
        ("tree", "", "detect-secrets 1.5.0", t_det, mb / t_det, f"{found_det}/{len(secrets)}")
    )

    repo = WORK / "history"
    hsize, blobs = history_repo(repo, args.commits)
    hmb = hsize / 1024 / 1024
    t_hist, out = timed(
        [*DEPLOYSAFE, "scan", str(repo), "--git-history", "--config", str(cfg), "--format", "json"]
    )
    hist_findings = len(json.loads(out)["findings"])
    t_hdet, _ = timed([str(ds), "scan", "--all-files", "."], cwd=blobs)
    rows.append(
        (
            "history",
            f"{args.commits} commits, {hmb:.1f} MB of file versions",
            "deploysafe --git-history",
            t_hist,
            hmb / t_hist,
            f"{hist_findings} findings",
        )
    )
    rows.append(("history", "", "detect-secrets on the same versions", t_hdet, hmb / t_hdet, ""))

    print("| input | size | tool | wall (s) | MB/s | planted secrets found |")
    print("|---|---|---|---:|---:|---|")
    for kind, what, tool, t, rate, found in rows:
        print(f"| {kind} | {what} | {tool} | {t:.1f} | {rate:.2f} | {found} |")
    print()
    print(f"tree: deploysafe secrets pass is {t_det / t_ds_sec:.1f}x detect-secrets")
    print(f"history: deploysafe is {t_hdet / t_hist:.1f}x detect-secrets on the same versions")
    print(f"cpus: {os.cpu_count()}")


if __name__ == "__main__":
    main()
