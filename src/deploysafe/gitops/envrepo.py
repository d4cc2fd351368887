"""Git plumbing on the environment repository: fetch, read trees, commit, push.

Works in a private bare repository in a temp folder: nothing is checked out, the user's
working trees are never touched, and commits are built with a private index
(`read-tree` / `update-index` / `write-tree` / `commit-tree`), so a release replaces its
folder exactly. A push is a plain fast-forward: if the branch moved meanwhile, git refuses
it and the caller decides whether to re-apply on the new head.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path

from deploysafe.config.environments import ReleaseTarget, Signing
from deploysafe.errors import InputError
from deploysafe.frozen import record
from deploysafe.host.git import Git, GitError, Result
from deploysafe.host.urls import public_url

IDENTITY = ("deploysafe", "deploysafe@localhost")
TIMEOUT = 120  # seconds per git command (a network fetch or push)
_ZERO = "0" * 40


class EnvRepoError(InputError):
    """The environment repository cannot be read or written; the message says why."""


@record
class CommitInfo:
    sha: str
    time: int  # committer time, Unix seconds
    subject: str
    signed: bool  # carries a signature (gpgsig header); verified by `deploysafe verify`


class EnvRepo:
    def __init__(self, target: ReleaseTarget, workdir: Path) -> None:
        self.target = target
        self.git_dir = workdir / "env.git"
        self.head: str | None = None  # the branch's commit when last fetched

    @property
    def where(self) -> str:
        return f"{public_url(self.target.repo)} (branch {self.target.branch})"

    # ------------------------------------------------------------ running git

    def git(
        self,
        *args: str,
        input: bytes | None = None,
        index: Path | None = None,
        config: tuple[str, ...] = (),
        check: bool = True,
    ) -> Result:
        env = {
            "GIT_DIR": str(self.git_dir),
            "GIT_AUTHOR_NAME": IDENTITY[0],
            "GIT_AUTHOR_EMAIL": IDENTITY[1],
            "GIT_COMMITTER_NAME": IDENTITY[0],
            "GIT_COMMITTER_EMAIL": IDENTITY[1],
        }
        if index is not None:
            env["GIT_INDEX_FILE"] = str(index)
        git = Git(env=env, config=("core.hooksPath=/dev/null", *config), timeout=TIMEOUT)
        try:
            proc = git.run(*args, input=input, check=False)
        except GitError as exc:  # did not start or did not finish
            raise EnvRepoError(f"{self.where}: {exc}") from None
        if check and not proc.ok:
            raise EnvRepoError(f"{self.where}: git {args[0]} failed: {proc.problem()}")
        return proc

    # ------------------------------------------------------------ reading

    def open(self) -> str | None:
        """Create the private repository and fetch the branch; its head (None: no branch)."""
        self.git_dir.parent.mkdir(parents=True, exist_ok=True)
        self.git("init", "--bare", "--quiet", str(self.git_dir))
        self.git("remote", "add", "origin", self.target.repo)
        return self.fetch()

    def remote_head(self) -> str | None:
        ref = f"refs/heads/{self.target.branch}"
        proc = self.git("ls-remote", "origin", ref, check=False)
        if proc.returncode != 0:
            raise EnvRepoError(
                f"cannot read the environment repository {self.where}: {proc.problem()}"
            )
        for line in proc.stdout.decode(errors="replace").splitlines():
            sha, _, name = line.partition("\t")
            if name == ref:
                return sha
        return None

    def fetch(self) -> str | None:
        head = self.remote_head()
        if head is not None:
            branch = self.target.branch
            self.git(
                "fetch",
                "--quiet",
                "--no-tags",
                "origin",
                f"+refs/heads/{branch}:refs/remotes/origin/{branch}",
            )
            proc = self.git(
                "rev-parse",
                "--verify",
                "--quiet",
                f"refs/remotes/origin/{branch}^{{commit}}",
                check=False,
            )
            if proc.returncode != 0:
                raise EnvRepoError(f"{self.where}: the branch does not point at a commit")
            head = proc.stdout.decode().strip()
        self.head = head
        return head

    def tree_files(self, commit: str, folder: str) -> dict[str, str]:
        """Blob ids of every file under `folder` at `commit`, by path inside the folder."""
        proc = self.git("ls-tree", "-r", "-z", "--full-tree", commit, "--", folder)
        out = {}
        prefix = folder.rstrip("/") + "/"
        for entry in proc.stdout.split(b"\0"):
            if not entry:
                continue
            meta, _, path = entry.decode(errors="surrogateescape").partition("\t")
            mode, kind, sha = meta.split()
            if kind != "blob":
                raise EnvRepoError(f"{self.where}: {path} at {commit[:12]} is a {kind}, not a file")
            if mode == "120000":
                raise EnvRepoError(f"{self.where}: {path} at {commit[:12]} is a symbolic link")
            if path.startswith(prefix):
                out[path[len(prefix) :]] = sha
        return out

    def blobs(self, shas: Sequence[str]) -> list[bytes]:
        """Many objects in one `git cat-file --batch`."""
        if not shas:
            return []
        proc = self.git("cat-file", "--batch", input="".join(s + "\n" for s in shas).encode())
        data = proc.stdout
        out = []
        pos = 0
        for sha in shas:
            end = data.index(b"\n", pos)
            header = data[pos:end].decode(errors="replace").split()
            if len(header) != 3:
                raise EnvRepoError(
                    f"{self.where}: object {sha[:12]} is missing ({' '.join(header)})"
                )
            size = int(header[2])
            out.append(data[end + 1 : end + 1 + size])
            pos = end + 1 + size + 1
        return out

    def files_at(self, commit: str, folder: str) -> dict[str, bytes]:
        tree = self.tree_files(commit, folder)
        paths = sorted(tree)
        return dict(zip(paths, self.blobs([tree[p] for p in paths]), strict=True))

    def read(self, commit: str, path: str) -> bytes | None:
        proc = self.git("cat-file", "blob", f"{commit}:{path}", check=False)
        if proc.returncode != 0:
            exists = self.git("cat-file", "-e", f"{commit}:{path}", check=False)
            if exists.returncode == 0:
                raise EnvRepoError(
                    f"{self.where}: cannot read {path} at {commit[:12]}: {proc.problem()}"
                )
            return None
        return proc.stdout

    def log(self, path: str, head: str | None = None) -> list[CommitInfo]:
        """Commits that changed `path`, newest first (first-parent history of the branch)."""
        start = head or self.head
        if start is None:
            return []
        proc = self.git("log", "--first-parent", "--format=%H", start, "--", path)
        shas = proc.stdout.decode().split()
        return [self.commit_info(s, raw) for s, raw in zip(shas, self.blobs(shas), strict=True)]

    def commit_info(self, sha: str, raw: bytes) -> CommitInfo:
        head, _, message = raw.partition(b"\n\n")
        headers = head.decode(errors="replace").splitlines()
        time = 0
        for line in headers:
            if line.startswith("committer "):
                parts = line.rsplit(" ", 2)
                time = int(parts[1]) if len(parts) == 3 and parts[1].isdigit() else 0
        signed = any(line.startswith(("gpgsig ", "gpgsig-sha256 ")) for line in headers)
        subject = message.decode(errors="replace").split("\n", 1)[0]
        return CommitInfo(sha, time, subject, signed)

    # ------------------------------------------------------------ writing

    def commit(
        self,
        parent: str | None,
        folder: str,
        files: Mapping[str, bytes],
        extra: Mapping[str, bytes],
        message: str,
        sign: Signing | None,
        scratch: Path,
    ) -> str:
        """A commit on `parent` whose `folder` holds exactly `files`, plus `extra` files
        (repository paths); everything else is the parent's."""
        index = scratch / "index"
        index.unlink(missing_ok=True)
        if parent is not None:
            self.git("read-tree", parent, index=index)
            old = self.git("ls-files", "-z", "--", folder, index=index).stdout.split(b"\0")
            removals = b"".join(b"0 " + _ZERO.encode() + b"\t" + p + b"\0" for p in old if p)
            if removals:
                self.git("update-index", "-z", "--index-info", input=removals, index=index)
        wanted = {f"{folder}/{p}": data for p, data in files.items()}
        wanted.update(extra)
        paths = sorted(wanted)
        shas = self._hash_objects([wanted[p] for p in paths], scratch)
        entries = b"".join(
            f"100644 {sha}\t{path}".encode() + b"\0" for path, sha in zip(paths, shas, strict=True)
        )
        self.git("update-index", "-z", "--add", "--index-info", input=entries, index=index)
        tree = self.git("write-tree", index=index).stdout.decode().strip()
        args = ["commit-tree", tree]
        if parent is not None:
            args += ["-p", parent]
        config: tuple[str, ...] = ()
        if sign is None:
            args.append("--no-gpg-sign")
        elif sign.gpg_key:
            config = ("gpg.format=openpgp",)
            args.append(f"-S{sign.gpg_key}")
        else:
            config = ("gpg.format=ssh", f"user.signingkey={sign.ssh_key}")
            args.append("-S")
        proc = self.git(*args, input=message.encode(), config=config, check=False)
        if proc.returncode != 0:
            what = f"sign the release commit with {sign.describe()}" if sign else "commit"
            raise EnvRepoError(f"cannot {what}: {proc.problem()}")
        return proc.stdout.decode().strip()

    def _hash_objects(self, contents: Sequence[bytes], scratch: Path) -> list[str]:
        folder = scratch / "objects"
        folder.mkdir(exist_ok=True)
        names = []
        for i, data in enumerate(contents):
            p = folder / str(i)
            p.write_bytes(data)
            names.append(str(p))
        proc = self.git("hash-object", "-w", "--stdin-paths", input="\n".join(names).encode())
        shas = proc.stdout.decode().split()
        for name in names:
            Path(name).unlink()
        return shas

    def push(self, commit: str, expected: str | None) -> bool:
        """Fast-forward the branch to `commit`; False if it moved away from `expected`."""
        ref = f"refs/heads/{self.target.branch}"
        proc = self.git("push", "--quiet", "--porcelain", "origin", f"{commit}:{ref}", check=False)
        if proc.returncode == 0:
            return True
        now = self.remote_head()
        if now != expected:
            return False  # someone else's release landed first
        raise EnvRepoError(f"cannot push to {self.where}: {proc.problem()}")
