"""Suite-wide set-up."""

from __future__ import annotations

import os

# Tests create and drive their own git repositories (bare remotes, history scans). Run from
# a git hook or `git rebase --exec`, these variables would point every one of those git
# calls at the enclosing repository instead: `git init --bare` once re-initialised it.
for _var in (
    "GIT_DIR",
    "GIT_WORK_TREE",
    "GIT_INDEX_FILE",
    "GIT_COMMON_DIR",
    "GIT_OBJECT_DIRECTORY",
    "GIT_ALTERNATE_OBJECT_DIRECTORIES",
    "GIT_PREFIX",
):
    os.environ.pop(_var, None)
