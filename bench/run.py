#!/usr/bin/env python3
"""Benchmark deploysafe against the YAML parse floor and Checkov, in one run, as ratios.

    .venv/bin/python bench/run.py                  # 3,948-doc corpus: floor, deploysafe, Checkov
    .venv/bin/python bench/run.py --skip-checkov   # floor + deploysafe only
    .venv/bin/python bench/run.py --sizes 1000,10000,50000   # scaling: floor + deploysafe
    .venv/bin/python bench/run.py --dir path/to/manifests    # any directory, not a generated one
    .venv/bin/python bench/run.py --real [realbench options] # the real-shaped corpus (README)

Per corpus it measures, one after the other on a warm page cache:

* the parse floor: one Python process reading every YAML file and running PyYAML
  ``compose_all`` (node tree with line marks, what a position-aware scanner needs) and
  ``load_all`` with libyaml's ``CSafeLoader`` over every document, single-threaded;
* ``deploysafe scan --no-render --format json --output /dev/null <dir>``;
* ``checkov -d <dir> --framework kubernetes --skip-download --quiet -o json`` from
  ``bench/.venv-checkov`` (created on first use: ``pip install checkov==3.3.30``), offline.

Wall time is measured around the process; peak RSS is that of the largest single process of
the tree (GNU ``/usr/bin/time -v``, i.e. wait4's ru_maxrss, like the reference figures), plus
the peak of the summed RSS of the whole process tree, sampled every 50 ms from /proc.
Exit codes 0 and 1 (= findings) count as success for both scanners.
Results go to bench/results/<timestamp>.json.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
CHECKOV_VERSION = "3.3.30"
CHECKOV_VENV = HERE / ".venv-checkov"
DEPLOYSAFE = ROOT / ".venv" / "bin" / "deploysafe"
GNU_TIME = "/usr/bin/time"
YAML_SUFFIXES = (".yaml", ".yml")
PAGE = os.sysconf("SC_PAGE_SIZE")


# ---------------------------------------------------------------------------------------------
# The parse floor (runs in its own process: `run.py --_floor DIR MODES`)
# ---------------------------------------------------------------------------------------------


def yaml_files(d: Path) -> list[Path]:
    out = []
    for root, dirs, files in os.walk(d):
        dirs[:] = sorted(x for x in dirs if not x.startswith("."))
        out.extend(Path(root, f) for f in sorted(files) if f.endswith(YAML_SUFFIXES))
    return out


def floor(d: Path, modes: list[str]) -> dict:
    import yaml

    loader = yaml.CSafeLoader
    res: dict = {"libyaml": yaml.__with_libyaml__, "pyyaml": yaml.__version__}
    t0 = time.perf_counter()
    files = yaml_files(d)
    texts = []
    for p in files:
        with open(p, encoding="utf-8") as fh:
            texts.append(fh.read())
    res["read_s"] = time.perf_counter() - t0
    res["files"] = len(files)
    res["bytes"] = sum(len(t.encode()) for t in texts)
    errors = 0
    for mode in modes:
        fn = yaml.compose_all if mode == "compose" else yaml.load_all
        t = time.perf_counter()
        docs = 0
        for text in texts:
            try:
                for node in fn(text, Loader=loader):
                    if node is not None:
                        docs += 1
            except yaml.YAMLError:
                errors += 1
        res[f"{mode}_s"] = time.perf_counter() - t
        res["docs"] = docs
    res["yaml_errors"] = errors
    return res


# ---------------------------------------------------------------------------------------------
# Measuring a process tree
# ---------------------------------------------------------------------------------------------


def _tree_rss(root: int) -> int:
    """Summed RSS (bytes) of ``root`` and all its descendants, from /proc."""
    children: dict[int, list[int]] = {}
    rss: dict[int, int] = {}
    for name in os.listdir("/proc"):
        if not name.isdigit():
            continue
        try:
            with open(f"/proc/{name}/stat", "rb") as fh:
                stat = fh.read()
            with open(f"/proc/{name}/statm", "rb") as fh:
                statm = fh.read().split()
        except OSError:
            continue
        ppid = int(stat[stat.rindex(b")") + 2 :].split()[1])
        pid = int(name)
        children.setdefault(ppid, []).append(pid)
        rss[pid] = int(statm[1]) * PAGE
    total, todo = 0, [root]
    while todo:
        p = todo.pop()
        total += rss.get(p, 0)
        todo.extend(children.get(p, ()))
    return total


def measure(
    cmd: list[str], *, env: dict | None = None, stdout=subprocess.DEVNULL, label: str = ""
) -> dict:
    """Run ``cmd``; wall time, peak RSS of the largest process, sampled peak tree RSS."""
    use_time = os.access(GNU_TIME, os.X_OK)
    fd, tname = tempfile.mkstemp(prefix="bench-time-", suffix=".txt")
    os.close(fd)
    full = [GNU_TIME, "-v", "-o", tname, *cmd] if use_time else cmd
    errf = tempfile.TemporaryFile()  # noqa: SIM115 - closed below
    t0 = time.perf_counter()
    proc = subprocess.Popen(full, env=env, stdout=stdout, stderr=errf)
    peak_tree = 0
    stop = threading.Event()

    def sample() -> None:
        nonlocal peak_tree
        while not stop.is_set():
            peak_tree = max(peak_tree, _tree_rss(proc.pid))
            stop.wait(0.05)

    th = threading.Thread(target=sample, daemon=True)
    th.start()
    _, status, ru = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - t0
    stop.set()
    th.join()
    proc.returncode = os.waitstatus_to_exitcode(status)
    errf.seek(0)
    stderr = errf.read().decode(errors="replace")
    res = {
        "cmd": cmd,
        "wall_s": wall,
        "exit": proc.returncode,
        "peak_rss_mb": ru.ru_maxrss / 1024,
        "peak_tree_rss_mb": peak_tree / 2**20,
        "user_s": ru.ru_utime,
        "sys_s": ru.ru_stime,
    }
    if use_time:
        info = Path(tname).read_text(errors="replace")
        for line in info.splitlines():
            key, _, val = line.strip().rpartition(": ")
            if key == "Maximum resident set size (kbytes)":
                res["peak_rss_mb"] = int(val) / 1024
            elif key == "User time (seconds)":
                res["user_s"] = float(val)
            elif key == "System time (seconds)":
                res["sys_s"] = float(val)
            elif key == "Exit status":
                res["exit"] = int(val)
    os.unlink(tname)
    errf.close()
    res["stderr_tail"] = stderr[-2000:]
    if label:
        print(
            f"  {label}: {wall:.2f} s, exit {res['exit']}, peak RSS {res['peak_rss_mb']:.0f} MB "
            f"(tree {res['peak_tree_rss_mb']:.0f} MB), CPU {res['user_s'] + res['sys_s']:.1f} s",
            file=sys.stderr,
            flush=True,
        )
    return res


# ---------------------------------------------------------------------------------------------
# The three contenders
# ---------------------------------------------------------------------------------------------


def run_floor(d: Path, modes: list[str]) -> dict:
    with tempfile.NamedTemporaryFile("w+", suffix=".json") as out:
        m = measure(
            [sys.executable, __file__, "--_floor", str(d), ",".join(modes)],
            stdout=out,
            label="parse floor",
        )
        out.seek(0)
        m["floor"] = json.loads(out.read())
    f = m["floor"]
    m["floor_s"] = f["read_s"] + f.get("compose_s", f.get("load_s", 0.0))
    return m


def deploysafe_available() -> bool:
    if not DEPLOYSAFE.exists():
        return False
    p = subprocess.run([str(DEPLOYSAFE), "scan", "--help"], capture_output=True, text=True)
    return p.returncode == 0 and "--no-render" in p.stdout


def run_deploysafe(d: Path) -> dict:
    m = measure(
        [
            str(DEPLOYSAFE),
            "scan",
            "--no-render",
            "--format",
            "json",
            "--output",
            "/dev/null",
            str(d),
        ],
        label="deploysafe",
    )
    m["ok"] = m["exit"] in (0, 1)
    m["git"] = git_head()  # others may commit while a long run goes on
    return m


def git_head() -> str:
    return subprocess.run(
        ["git", "-C", str(ROOT), "rev-parse", "--short", "HEAD"], capture_output=True, text=True
    ).stdout.strip()


def deploysafe_summary(d: Path) -> dict:
    """An untimed extra run writing the JSON report, to check what the timed runs scanned."""
    with tempfile.NamedTemporaryFile(suffix=".json") as out:
        p = subprocess.run(
            [
                str(DEPLOYSAFE),
                "scan",
                "--no-render",
                "--format",
                "json",
                "--output",
                out.name,
                str(d),
            ],
            capture_output=True,
            text=True,
        )
        try:
            rep = json.loads(Path(out.name).read_text())
        except ValueError:
            return {"error": f"exit {p.returncode}: {p.stderr[-500:]}"}
    summ = {k: v for k, v in rep.get("summary", {}).items() if isinstance(v, int)}
    summ["by_severity"] = rep.get("summary", {}).get("by_severity")
    return summ


def ensure_checkov() -> Path:
    exe = CHECKOV_VENV / "bin" / "checkov"
    if exe.exists():
        return exe
    print(f"creating {CHECKOV_VENV} (checkov=={CHECKOV_VERSION}) ...", file=sys.stderr)
    subprocess.run([sys.executable, "-m", "venv", str(CHECKOV_VENV)], check=True)
    subprocess.run(
        [str(CHECKOV_VENV / "bin" / "pip"), "install", "-q", f"checkov=={CHECKOV_VERSION}"],
        check=True,
    )
    return exe


def checkov_env() -> dict:
    env = dict(os.environ)
    env.update(
        BC_SKIP_MAPPING="TRUE", CKV_SKIP_PACKAGE_UPDATE_CHECK="True", PYTHONWARNINGS="ignore"
    )
    return env


def run_checkov(d: Path) -> dict:
    exe = ensure_checkov()
    env = checkov_env()
    version = subprocess.run(
        [str(exe), "--version"], env=env, capture_output=True, text=True
    ).stdout.strip()
    with tempfile.NamedTemporaryFile("w+b", suffix=".json") as out:
        m = measure(
            [
                str(exe),
                "-d",
                str(d),
                "--framework",
                "kubernetes",
                "--skip-download",
                "--quiet",
                "-o",
                "json",
            ],
            env=env,
            stdout=out,
            label=f"checkov {version}",
        )
        out.seek(0)
        try:
            data = json.load(out)
            reports = data if isinstance(data, list) else [data]
            summ: dict = {}
            for r in reports:
                for k, v in (r.get("summary") or {}).items():
                    if isinstance(v, int):
                        summ[k] = summ.get(k, 0) + v
            m["summary"] = summ
        except (ValueError, AttributeError) as e:
            m["summary"] = {"error": f"unparsable output: {e}"}
    m["version"] = version
    m["ok"] = m["exit"] in (0, 1)
    return m


# ---------------------------------------------------------------------------------------------
# Corpus, machine, reporting
# ---------------------------------------------------------------------------------------------


def corpus(docs: int, seed: int | None) -> Path:
    sys.path.insert(0, str(HERE))
    import gen_corpus

    argv = ["--docs", str(docs)] + (["--seed", str(seed)] if seed is not None else [])
    gen_corpus.main(argv)
    return HERE / "corpus" / str(docs)


def corpus_info(d: Path) -> dict:
    stats = d.with_name(d.name + ".stats.json")
    if stats.exists():
        s = json.loads(stats.read_text())
        return {
            k: s[k]
            for k in ("docs", "crd_docs", "files", "bytes", "crd_byte_share", "seed")
            if k in s
        }
    files = yaml_files(d)
    return {"files": len(files), "bytes": sum(p.stat().st_size for p in files)}


def warm(d: Path) -> None:
    for p in yaml_files(d):
        with open(p, "rb") as fh:
            while fh.read(1 << 20):
                pass


def machine() -> dict:
    cpu = ""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
        mem = int(Path("/proc/meminfo").read_text().split()[1]) / 2**20
    except OSError:
        mem = 0
    git = subprocess.run(
        ["git", "-C", str(ROOT), "rev-parse", "--short", "HEAD"], capture_output=True, text=True
    ).stdout.strip()
    return {
        "nproc": os.cpu_count(),
        "affinity": len(os.sched_getaffinity(0)),
        "cpu": cpu,
        "mem_gib": round(mem, 1),
        "python": platform.python_version(),
        "platform": platform.platform(),
        "git": git,
    }


def med(runs: list[dict], key: str) -> float:
    return statistics.median(r[key] for r in runs)


def summarize(runs: list[dict]) -> dict:
    return {
        "wall_s": med(runs, "wall_s"),
        "peak_rss_mb": max(r["peak_rss_mb"] for r in runs),
        "peak_tree_rss_mb": max(r["peak_tree_rss_mb"] for r in runs),
        "cpu_s": statistics.median(r["user_s"] + r["sys_s"] for r in runs),
        "walls": [round(r["wall_s"], 3) for r in runs],
    }


def table(rows: list[list[str]], head: list[str]) -> str:
    w = [max(len(str(x)) for x in col) for col in zip(head, *rows, strict=True)]

    def line(r: list[str]) -> str:
        cells = (
            str(x).ljust(n) if i == 0 else str(x).rjust(n)
            for i, (x, n) in enumerate(zip(r, w, strict=True))
        )
        return "| " + " | ".join(cells) + " |"

    sep = "|" + "|".join("-" * (n + 1) + (":" if i else "-") for i, n in enumerate(w)) + "|"
    return "\n".join([line(head), sep, *(line(r) for r in rows)])


def compare(d: Path, a: argparse.Namespace, have_ds: bool) -> dict:
    info = corpus_info(d)
    print(f"corpus {d}: {info}", file=sys.stderr)
    warm(d)
    res: dict = {"corpus": str(d), "corpus_info": info}
    modes = a.floor.split(",")
    floors = [run_floor(d, modes) for _ in range(a.repeat)]
    res["floor"] = {
        "runs": floors,
        **summarize(floors),
        "read_s": med([f["floor"] for f in floors], "read_s"),
        **{f"{m}_s": med([f["floor"] for f in floors], f"{m}_s") for m in modes},
        "docs": floors[0]["floor"]["docs"],
        "bytes": floors[0]["floor"]["bytes"],
    }
    res["floor"]["floor_s"] = med(floors, "floor_s")
    if have_ds:
        ds = [run_deploysafe(d) for _ in range(a.repeat)]
        res["deploysafe"] = {"runs": ds, **summarize(ds), "ok": all(r["ok"] for r in ds)}
        if not res["deploysafe"]["ok"]:
            print("deploysafe failed:\n" + ds[-1]["stderr_tail"], file=sys.stderr)
        elif not a.no_validate:
            summ = res["deploysafe"]["summary"] = deploysafe_summary(d)
            if not summ.get("documents"):
                res["deploysafe"]["ok"] = False
                print(f"deploysafe scanned no documents: {summ}", file=sys.stderr)
    if not a.skip_checkov:
        ck = [run_checkov(d) for _ in range(a.checkov_repeat)]
        res["checkov"] = {
            "runs": ck,
            **summarize(ck),
            "ok": all(r["ok"] for r in ck),
            "version": ck[0]["version"],
            "summary": ck[0].get("summary"),
        }
        if not res["checkov"]["ok"]:
            print("checkov failed:\n" + ck[-1]["stderr_tail"], file=sys.stderr)
    return res


def print_compare(res: dict) -> None:
    info = res["corpus_info"]
    fl = res["floor"]
    ds = res.get("deploysafe")
    mb = fl["bytes"] / 1e6
    print(
        f"\n## {res['corpus']}: {fl['docs']:,} YAML documents, {info.get('files', '?'):,} files, "
        f"{mb:.1f} MB\n"
    )
    head = [
        "tool",
        "wall s",
        "CPU s",
        "peak RSS MB",
        "tree RSS MB",
        "wall vs deploysafe",
        "RSS vs deploysafe",
    ]
    rows = []
    f = fl
    floor_parts = " + ".join(
        f"{k[:-2]} {f[k]:.2f}" for k in ("read_s", "compose_s", "load_s") if k in f
    )
    rows.append(
        [
            f"parse floor ({floor_parts})",
            f"{f['floor_s']:.2f}",
            f"{f['cpu_s']:.1f}",
            f"{f['peak_rss_mb']:.0f}",
            f"{f['peak_tree_rss_mb']:.0f}",
            f"{f['floor_s'] / ds['wall_s']:.2f}x" if ds else "-",
            "-",
        ]
    )
    if ds:
        rows.append(
            [
                "deploysafe scan --no-render",
                f"{ds['wall_s']:.2f}",
                f"{ds['cpu_s']:.1f}",
                f"{ds['peak_rss_mb']:.0f}",
                f"{ds['peak_tree_rss_mb']:.0f}",
                "1.00x",
                "1.00x",
            ]
        )
    ck = res.get("checkov")
    if ck:
        rows.append(
            [
                f"checkov {ck['version']} (kubernetes)",
                f"{ck['wall_s']:.2f}",
                f"{ck['cpu_s']:.1f}",
                f"{ck['peak_rss_mb']:.0f}",
                f"{ck['peak_tree_rss_mb']:.0f}",
                f"{ck['wall_s'] / ds['wall_s']:.1f}x" if ds else "-",
                f"{ck['peak_rss_mb'] / ds['peak_rss_mb']:.1f}x" if ds else "-",
            ]
        )
    print(table(rows, head))
    print()
    if ds:
        line = (
            f"deploysafe: {mb / ds['wall_s']:.1f} MB/s; {ds['wall_s'] / f['floor_s']:.2f}x the "
            f"parse floor (read + compose_all)"
        )
        if "load_s" in f:
            line += f"; {ds['wall_s'] / (f['read_s'] + f['load_s']):.2f}x read + load_all"
        print(line)
        if ck:
            print(
                f"deploysafe is {ck['wall_s'] / ds['wall_s']:.1f}x faster than Checkov and uses "
                f"{ck['peak_rss_mb'] / ds['peak_rss_mb']:.1f}x less peak memory (largest process)"
            )
    elif "deploysafe" not in res:
        print("deploysafe: not available (deploysafe scan --help failed) - figures pending")
    if ds and ds.get("summary"):
        print(f"deploysafe summary: {ds['summary']}")
    if ck:
        print(f"checkov summary: {ck.get('summary')}")


def print_scaling(results: list[dict]) -> None:
    head = [
        "docs",
        "MB",
        "floor s",
        "deploysafe s",
        "ms / 1k docs",
        "MB/s",
        "vs floor",
        "peak RSS MB",
        "tree RSS MB",
    ]
    rows = []
    for r in results:
        fl, ds = r["floor"], r.get("deploysafe")
        mb = fl["bytes"] / 1e6
        rows.append(
            [
                f"{fl['docs']:,}",
                f"{mb:.0f}",
                f"{fl['floor_s']:.2f}",
                f"{ds['wall_s']:.2f}" if ds else "-",
                f"{ds['wall_s'] / fl['docs'] * 1e6:.0f}" if ds else "-",
                f"{mb / ds['wall_s']:.1f}" if ds else "-",
                f"{ds['wall_s'] / fl['floor_s']:.2f}x" if ds else "-",
                f"{ds['peak_rss_mb']:.0f}" if ds else "-",
                f"{ds['peak_tree_rss_mb']:.0f}" if ds else "-",
            ]
        )
    print("\n## scaling (deploysafe vs parse floor = read + compose_all)\n")
    print(table(rows, head))


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["--_floor"]:
        print(json.dumps(floor(Path(argv[1]), argv[2].split(","))))
        return 0
    if argv[:1] == ["--real"]:  # the real-shaped corpus, peers and scaling: realbench.py
        sys.path.insert(0, str(HERE))
        import realbench

        return realbench.main(argv[1:])
    ap = argparse.ArgumentParser(description="deploysafe vs parse floor vs Checkov")
    ap.add_argument("--dir", type=Path, help="scan this directory instead of a generated corpus")
    ap.add_argument(
        "--docs",
        type=int,
        default=3948,
        help="generated corpus size for the comparison (default 3948, like the reference)",
    )
    ap.add_argument(
        "--sizes", help="scaling run: comma-separated corpus sizes, e.g. 1000,10000,50000"
    )
    ap.add_argument("--seed", type=int)
    ap.add_argument("--skip-checkov", action="store_true")
    ap.add_argument("--with-checkov", action="store_true", help="also run Checkov in a --sizes run")
    ap.add_argument("--repeat", type=int, default=1, help="runs of floor and deploysafe (median)")
    ap.add_argument("--checkov-repeat", type=int, default=1)
    ap.add_argument(
        "--floor",
        default="compose,load",
        help="floor phases after reading: compose, load (default both)",
    )
    ap.add_argument(
        "--no-validate",
        action="store_true",
        help="skip the untimed deploysafe run that checks what was scanned",
    )
    ap.add_argument(
        "--require-deploysafe",
        action="store_true",
        help="fail instead of skipping when deploysafe scan is unavailable",
    )
    a = ap.parse_args(argv)

    have_ds = deploysafe_available()
    if not have_ds:
        msg = f"{DEPLOYSAFE} scan --help failed: deploysafe figures skipped"
        if a.require_deploysafe:
            print(msg, file=sys.stderr)
            return 2
        print("warning: " + msg, file=sys.stderr)
    started = dt.datetime.now(dt.UTC)
    out: dict = {"date": started.isoformat(timespec="seconds"), "machine": machine(), "argv": argv}
    if a.sizes:
        a.skip_checkov = not a.with_checkov
        dirs = [corpus(int(s), a.seed) for s in a.sizes.split(",")]
        out["scaling"] = [compare(d, a, have_ds) for d in dirs]
        for r in out["scaling"]:
            print_compare(r)
        print_scaling(out["scaling"])
    else:
        d = a.dir if a.dir else corpus(a.docs, a.seed)
        out["compare"] = compare(d.resolve(), a, have_ds)
        print_compare(out["compare"])
    m = out["machine"]
    print(
        f"\nmachine: {m['nproc']} CPUs ({m['cpu']}), {m['mem_gib']} GiB, Python {m['python']}, "
        f"git {m['git']}, {out['date']}"
    )
    rdir = HERE / "results"
    rdir.mkdir(exist_ok=True)
    path = rdir / (started.strftime("%Y%m%dT%H%M%SZ") + ".json")
    path.write_text(json.dumps(out, indent=2) + "\n")
    print(f"results: {path}")
    failed = [
        k
        for r in ([out["compare"]] if "compare" in out else out["scaling"])
        for k in ("deploysafe", "checkov")
        if k in r and not r[k]["ok"]
    ]
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main())
