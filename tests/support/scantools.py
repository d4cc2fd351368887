"""Helpers for tests that scan a tree or run the command line in-process."""

from __future__ import annotations

from pathlib import Path

from click.testing import CliRunner, Result

from deploysafe.cli.main import main
from deploysafe.config import Config
from deploysafe.engine import RenderOptions, Report, coverage, scan
from deploysafe.engine.read import Job
from deploysafe.inputs.discover import discover


def scan_tree(root: Path, cfg: Config | None = None) -> Report:
    """A scan of `root` without Helm rendering, on one job."""
    return scan([root], cfg or Config(), root=root, render=RenderOptions(enabled=False), jobs=1)


def jobs_of(root: Path, config: Config) -> list[Job]:
    """What a scan of `root` would check, and how (no renders)."""
    inv = discover([root], root, config.exclude)
    return list(coverage.plan(inv, charts=False, kustomize=None).jobs)


def write_tree(root: Path, files: dict[str, str]) -> Path:
    """Files (path relative to `root`: text) written under `root`, folders made as needed."""
    for name, text in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    return root


def invoke(*args: str) -> Result:
    """`deploysafe ARGS...`; any exception but the exit fails the test."""
    result = CliRunner().invoke(main, list(args))
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exc_info
    return result


# A privileged Pod in `shop`: the smallest input with a critical finding.
PRIVILEGED_POD = """\
apiVersion: v1
kind: Pod
metadata:
  name: web
  namespace: shop
spec:
  containers:
  - name: app
    image: nginx:1.27
    securityContext:
      privileged: true
"""
