#!/usr/bin/env python3
"""Rendered scans (Helm charts, kustomize roots), this tree against another, alternating.

    .venv/bin/python bench/render_bench.py --old-src /path/to/old/src REPO... [--pairs 3]

Per pass it scans every REPO with rendering on (`deploysafe scan --format json`, one process
per repository, `-j` = CPU count) and sums wall and CPU time (the process and every engine
process it waited for: `os.wait4`). Passes alternate: old, new without a cache (`--no-cache`,
or no cache at all for an old tree), new with a cold cache, new with the warm cache. The
findings of every run are compared with the first old run's (a chart with `randAlphaNum`
gives new names on every render: such repositories are reported as differing, not failed).
`--old-src` is a `src/` folder of another commit (`git archive <commit> src | tar -x`).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent


def scan(
    repo: Path, src: Path | None, out: Path, extra: list[str], cache: str
) -> tuple[float, float]:
    env = {**os.environ, "DEPLOYSAFE_CACHE_DIR": cache}
    if src is not None:
        env["PYTHONPATH"] = str(src)
    argv = [sys.executable, "-c", "from deploysafe.cli.main import main; main()", "scan"]
    argv += [str(repo), "--format", "json", "-o", str(out), "--fail-on", "never"]
    argv += ["--ignore-input-errors", *extra]
    start = time.perf_counter()
    proc = subprocess.Popen(argv, env=env)
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - start
    if os.waitstatus_to_exitcode(status) != 0:
        raise SystemExit(f"scan of {repo} failed: exit {os.waitstatus_to_exitcode(status)}")
    return wall, usage.ru_utime + usage.ru_stime


def findings(path: Path) -> str:
    return json.dumps(json.loads(path.read_text())["findings"], sort_keys=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("repos", nargs="+", type=Path)
    parser.add_argument("--old-src", type=Path, required=True)
    parser.add_argument("--pairs", type=int, default=3)
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="render-bench-"))
    cache = work / "cache"
    kinds = {
        "old": (args.old_src, [], ""),
        "new, no cache": (None, ["--no-cache"], ""),
        "new, cold cache": (None, [], str(cache)),
        "new, warm cache": (None, [], str(cache)),
    }
    times: dict[str, list[tuple[float, float]]] = {k: [] for k in kinds}
    reference: dict[Path, str] = {}
    differ: set[str] = set()
    for pair in range(args.pairs + 1):  # the first is a warm-up
        for kind, (src, extra, where) in kinds.items():
            if kind == "new, cold cache":
                shutil.rmtree(cache, ignore_errors=True)
            wall = cpu = 0.0
            for repo in args.repos:
                out = work / f"{repo.name}.json"
                w, c = scan(repo, src, out, extra, where)
                wall, cpu = wall + w, cpu + c
                got = findings(out)
                if reference.setdefault(repo, got) != got:
                    differ.add(f"{repo.name} ({kind})")
            if pair:
                times[kind].append((wall, cpu))
            print(f"pass {pair} {kind}: {wall:.2f} s wall, {cpu:.2f} s CPU", file=sys.stderr)
    print("| scan | wall s (median) | CPU s (median) |\n|---|---:|---:|")
    for kind, runs in times.items():
        wall = statistics.median(w for w, _ in runs)
        cpu = statistics.median(c for _, c in runs)
        print(f"| {kind} | {wall:.2f} | {cpu:.2f} |")
    print(f"\nfindings differing from the first old run: {sorted(differ) or 'none'}")
    shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
