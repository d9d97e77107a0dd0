"""Fresh virtualenvs for the release tests, without reinstalling torch.

``fresh_venv(path)`` makes a virtualenv (no pip) whose site-packages holds one ``.pth`` file naming
the site-packages of the interpreter running this code (the project's .venv). Python puts that
directory on ``sys.path`` but does not process the ``.pth`` files inside it, so torch and the other
dependencies import while the editable ``msvp`` (installed there through a ``.pth`` finder) does
not: the new environment is one where msvp was never installed. Seconds, no network.

``snapshot_repo(path)`` commits the working tree (tracked and untracked, not ignored files) into a
new git repository on branch ``main``: a local stand-in for the public repository, holding what
is being tested rather than the last commit.
"""
from __future__ import annotations

import os
import shutil
import subprocess
import sys
import sysconfig
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
GIT_ENV = {"GIT_AUTHOR_NAME": "release test", "GIT_AUTHOR_EMAIL": "release-test@localhost",
           "GIT_COMMITTER_NAME": "release test", "GIT_COMMITTER_EMAIL": "release-test@localhost",
           "GIT_CONFIG_GLOBAL": os.devnull, "GIT_CONFIG_NOSYSTEM": "1"}


def fresh_venv(path: Path) -> Path:
    """Create the virtualenv at ``path``; return its python."""
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(path)], check=True)
    python = path / "bin" / "python"
    (site_packages(python) / "_project_venv.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    return python


def site_packages(python: Path) -> Path:
    return Path(subprocess.run([str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                               check=True, capture_output=True, text=True).stdout.strip())


def clean_env(**extra) -> dict:
    """os.environ without what would put the checkout on a child's sys.path."""
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "PYTHONHOME", "PYTHONSTARTUP")}
    env.update(extra)
    return env


def snapshot_repo(path: Path, branch: str = "main", root: Path = ROOT) -> Path:
    """A git repository at ``path`` whose one commit is the working tree of ``root``."""
    files = subprocess.run(["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"], cwd=root,
                           check=True, capture_output=True).stdout.decode().split("\0")
    path.mkdir(parents=True)
    for rel in filter(None, dict.fromkeys(files)):
        src = root / rel
        if src.is_file() and not src.is_symlink():      # a tracked file deleted in the tree is left out
            (path / rel).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(src, path / rel)
    env = {**os.environ, **GIT_ENV}
    for cmd in (["init", "-q", "-b", branch], ["add", "-A"], ["commit", "-q", "-m", "working tree snapshot"]):
        subprocess.run(["git", *cmd], cwd=path, check=True, env=env)
    return path
