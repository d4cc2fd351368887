"""`deploysafe scan --git-history`: secrets in every commit reachable from HEAD.

A secret deleted from the tree is still leaked: it is in every clone. The history is read
as a stream, oldest commit first (`git log --reverse --raw`), keeping only the id of each
blob the first time it appears, with the commit and path that introduced it; blobs are
then read one at a time from one `git cat-file --batch` process and checked with the
secrets rules. Memory is bounded by the number of distinct blob ids, not their contents.
Each secret is reported once, for the first commit that introduced it (the finding names
the commit and the file's path in that commit), under the most severe reading of it any
version gave (a value first committed as a user name and later as a password is reported
as the password), and says whether HEAD still holds it, and where.
"""

from __future__ import annotations

import datetime as dt
import multiprocessing
import os
from collections import deque
from collections.abc import Iterator
from concurrent.futures import Future, ProcessPoolExecutor
from dataclasses import replace
from pathlib import Path

from deploysafe.config import Config
from deploysafe.engine import sources
from deploysafe.engine.report import Report
from deploysafe.engine.scan import check_documents
from deploysafe.engine.settings import Settings, settings_for
from deploysafe.errors import UsageError
from deploysafe.frozen import record
from deploysafe.globs import any_match
from deploysafe.host.git import Git, GitError
from deploysafe.model import Finding
from deploysafe.rules.base import Scope


class HistoryError(UsageError):
    """The path is not a git work tree, or git failed; the message says which. A usage
    error: `--git-history` was asked of a folder it cannot read history from."""


@record
class Introduced:
    blob: str
    commit: str
    path: str
    date: str


def introduced(root: Path, rev: str = "HEAD") -> Iterator[Introduced]:
    """Every blob reachable from `rev`, once, with the oldest commit that added it."""
    git = Git(root, config=("core.quotePath=false",))
    args = ("log", "--reverse", "--raw", "--no-renames", "--no-abbrev", "-z")
    try:
        proc = git.popen(*args, "--format=%x00commit %H %cs", rev)
    except GitError as exc:
        raise HistoryError(str(exc)) from None
    assert proc.stdout is not None
    seen: set[str] = set()
    commit, date = "", ""
    pending_meta: list[str] | None = None
    for field in _fields(proc.stdout):
        if field.startswith("commit "):
            _, commit, date = ([*field.split(" "), "", ""])[:3]
            pending_meta = None
            continue
        if pending_meta is None:
            if field.startswith(":"):
                pending_meta = field.split()
            continue
        path, meta = field, pending_meta
        pending_meta = None
        # :old_mode new_mode old_blob new_blob status
        if len(meta) < 5 or meta[4].startswith("D") or meta[1] == "160000":
            continue
        blob = meta[3]
        if blob in seen or set(blob) == {"0"}:
            continue
        seen.add(blob)
        yield Introduced(blob, commit, path, date)
    _, err = proc.communicate()
    proc.stdout.close()
    if proc.returncode != 0:
        message = err.decode("utf-8", "replace").strip().splitlines()
        reason = message[-1] if message else f"exit {proc.returncode}"
        raise HistoryError(f"git log failed in {root}: {reason}")


def _fields(stream: object) -> Iterator[str]:
    """NUL-separated fields of git's -z output, read in chunks (bounded memory)."""
    buf = b""
    read = stream.read  # type: ignore[attr-defined]
    while True:
        chunk = read(65536)
        if not chunk:
            break
        buf += chunk
        *parts, buf = buf.split(b"\0")
        for part in parts:
            text = part.decode("utf-8", "surrogateescape").strip("\n")
            if text:
                yield text
    if buf.strip():
        yield buf.decode("utf-8", "surrogateescape").strip("\n")


class _Blobs:
    """One `git cat-file --batch` process: blob id in, content out."""

    def __init__(self, root: Path) -> None:
        try:
            self.proc = Git(root).popen("cat-file", "--batch", stdin=True, stderr=False)
        except GitError as exc:
            raise HistoryError(str(exc)) from None

    def read(self, blob: str) -> bytes | None:
        assert self.proc.stdin is not None and self.proc.stdout is not None
        self.proc.stdin.write(blob.encode() + b"\n")
        self.proc.stdin.flush()
        header = self.proc.stdout.readline().split()
        if len(header) < 3 or header[1] != b"blob":
            return None
        size = int(header[2])
        data = self.proc.stdout.read(size)
        self.proc.stdout.read(1)  # the newline after the content
        return data

    def close(self) -> None:
        if self.proc.stdin is not None:
            self.proc.stdin.close()
        self.proc.wait(timeout=60)
        if self.proc.stdout is not None:
            self.proc.stdout.close()


# A batch of file versions for one worker: (path, text, blob, commit, date).
_Batch = list[tuple[str, str, str, str, str]]
_BATCH_BYTES = 512 * 1024


@record
class _Found:
    """A secrets finding in one file version, before the history's bookkeeping."""

    finding: Finding
    blob: str
    commit: str
    date: str

    @property
    def hashes(self) -> tuple[str, ...]:
        return (self.finding.secret_hash or "", *self.finding.other_hashes)


def _check_batch(
    config: Config, s: Settings, baseline: frozenset[str] | None, batch: _Batch
) -> list[_Found]:
    """Findings with secrets in a batch of file versions, in order, with their version."""
    out: list[_Found] = []
    for path, text, blob, commit, date in batch:
        docs = sources.load(text, path, s.targets).documents
        report = check_documents(docs, config, settings=s, baseline=baseline)
        out.extend(
            _Found(f, blob, commit, date) for f in report.findings if f.secret_hash is not None
        )
    return out


@record(frozen=False)
class _Secret:
    """One reported secret: the first version that introduced it, and the finding of the
    version that read it most severely."""

    first: _Found
    shown: _Found


class _Ledger:
    """The history's secrets: each once, under its strongest reading; which blobs hold
    which secrets (to tell whether HEAD still does)."""

    def __init__(self) -> None:
        self.secrets: list[_Secret] = []
        self.by_hash: dict[tuple[str, str], _Secret] = {}  # (rule, secret hash)
        self.held: dict[str, set[str]] = {}  # blob -> secret hashes found in it

    def add(self, found: list[_Found]) -> None:
        for f in found:
            self.held.setdefault(f.blob, set()).update(f.hashes)
            keys = [(f.finding.rule_id, h) for h in f.hashes]
            if any(k not in self.by_hash for k in keys):
                # New secret material (a finding on several secrets counts if any is new).
                entry = _Secret(f, f)
                self.secrets.append(entry)
                for k in keys:
                    self.by_hash.setdefault(k, entry)
                continue
            entry = self.by_hash[keys[0]]
            if f.finding.severity > entry.shown.finding.severity:
                entry.shown = f  # e.g. the key that makes the value a password

    def findings(self, head: list[tuple[str, str]]) -> list[Finding]:
        out = []
        for entry in self.secrets:
            f, first = entry.shown, entry.first
            where = [
                path
                for blob, path in head
                if (f.finding.secret_hash or "") in self.held.get(blob, ())
            ]
            note = f"introduced in commit {first.commit[:12]}, {first.date}"
            if f is not first:
                note += f"; reported as found in commit {f.commit[:12]}"
            if where:
                shown = ", ".join(where[:3]) + (
                    f" and {len(where) - 3} more" if len(where) > 3 else ""
                )
                note += f"; still in HEAD at {shown}"
            else:
                note += "; no longer in HEAD, but in every clone of the history"
            out.append(replace(f.finding, message=f"{f.finding.message} ({note})"))
        return out


def _head_blobs(root: Path) -> list[tuple[str, str]]:
    """(blob, path) of every file in HEAD."""
    git = Git(root, config=("core.quotePath=false",))
    listing = git.out("ls-tree", "-r", "-z", "--full-tree", "HEAD")
    out = []
    for entry in (listing or "").split("\0"):
        meta, _, path = entry.partition("\t")
        parts = meta.split()
        if len(parts) == 3 and parts[1] == "blob":
            out.append((parts[2], path))
    return out


def _batches(root: Path, config: Config, s: Settings, counter: list[int]) -> Iterator[_Batch]:
    policy = s.secrets
    blobs = _Blobs(root)
    batch: _Batch = []
    size = 0
    try:
        for item in introduced(root):
            if policy.excluded(item.path) or any_match(item.path, config.exclude):
                continue
            raw = blobs.read(item.blob)
            if raw is None or b"\0" in raw[:8192] or len(raw) > config.max_file_size:
                continue
            counter[0] += 1
            text = raw.decode("utf-8", "replace")
            batch.append((item.path, text, item.blob, item.commit, item.date))
            size += len(raw)
            if size >= _BATCH_BYTES:
                yield batch
                batch, size = [], 0
    finally:
        blobs.close()
    if batch:
        yield batch


def scan_history(
    root: Path,
    config: Config,
    *,
    baseline: frozenset[str] | None = None,
    inline: bool | None = None,
    today: dt.date | None = None,
    jobs: int | None = None,
) -> Report:
    """Secrets findings for every commit reachable from HEAD in the repository at `root`.

    File versions are read in commit order in this process and checked in batches by
    worker processes (a bounded number in flight, so memory stays flat); results come back
    in order, so each secret is kept at the first commit that introduced it.
    """
    if Git(root).out("rev-parse", "--verify", "--quiet", "HEAD") is None:
        raise HistoryError(f"{root} is not a git repository with commits (no HEAD)")
    s = settings_for(config, {}, inline=inline, today=today, scopes=frozenset({Scope.HISTORY}))
    ledger = _Ledger()
    counter = [0]
    keep = ledger.add

    workers = jobs if jobs is not None else (os.cpu_count() or 1)
    batches = _batches(root, config, s, counter)
    if workers <= 1:
        for batch in batches:
            keep(_check_batch(config, s, baseline, batch))
    else:
        ctx = multiprocessing.get_context("fork" if os.name == "posix" else "spawn")
        with ProcessPoolExecutor(max_workers=workers, mp_context=ctx) as pool:
            # Start the workers before git's pipes exist: a forked worker holding the
            # write end of `cat-file --batch`'s stdin would keep it from ever ending.
            for f in [pool.submit(int) for _ in range(workers)]:
                f.result()
            pending: deque[Future[list[_Found]]] = deque()
            for batch in batches:
                pending.append(pool.submit(_check_batch, config, s, baseline, batch))
                if len(pending) >= 2 * workers:
                    keep(pending.popleft().result())
            while pending:
                keep(pending.popleft().result())
    count = Git(root).out("rev-list", "--count", "HEAD") or ""
    notes = [f"git history: {count} commit(s), {counter[0]} distinct file version(s)"]
    found = ledger.findings(_head_blobs(root))
    return Report.of(found, (), notes=notes, fail_on=config.fail_on, files=counter[0])
