"""A synthesized assembly reused while the app's inputs are unchanged, as a build cache would.

A synth takes seconds of CPU (Node.js, jsii, every construct of the app), and most test sessions
run an app that has not changed since the last one. What a synth reads, as far as a test session
can tell, makes the key:
- the app command;
- every file under the project folder, but for the folders that are outputs, caches or
  virtualenvs (cdk.out, .venv, node_modules, ...) and for the tests (a tests/ folder, test_*.py,
  *_test.py, conftest.py, pytest.ini), which a synth does not read: editing a test and running it
  again must not cost a synth;
- the installed releases of the CDK, of cdk-nag and of this package;
- the environment variables the CDK reads at synth (CDK_CONTEXT_JSON, CDK_DEFAULT_ACCOUNT, ...).

What the key cannot see (a library the app imports from outside the project, installed in
editable mode and changed since) needs `pytest --pausable-sfn-synth`, which synthesizes anyway.
"""

import hashlib
import os
import shutil
import uuid
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path

# Folders under a project that hold what a synth writes, caches and virtualenvs: none is an input.
SKIPPED_FOLDERS = frozenset(
    {".git", ".hg", ".venv", "venv", "env", "node_modules", "__pycache__", ".pytest_cache", ".mypy_cache",
     ".ruff_cache", ".tox", ".nox", "cdk.out", "dist", "build", ".idea", ".vscode", "tests", "test"}
)  # fmt: skip
PACKAGES = ("aws-cdk-lib", "constructs", "cdk-nag", "pausable-sfn")
# What the CDK reads from the environment when it synthesizes.
CDK_VARIABLES = ("CDK_CONTEXT_JSON", "CDK_DEFAULT_ACCOUNT", "CDK_DEFAULT_REGION", "CDK_DEBUG")
# Assemblies kept: the newest few (a branch switched back and forth finds its own again).
KEPT = 3


def inputs_key(app: str, project: Path) -> str:
    """A digest of what a synth of `app` in `project` reads."""
    digest = hashlib.sha256()
    for part in (app, *(f"{name}={_release(name)}" for name in PACKAGES)):
        digest.update(part.encode() + b"\0")
    for name in CDK_VARIABLES:
        digest.update(f"{name}={os.environ.get(name, '')}".encode() + b"\0")
    for file in _inputs(project):
        digest.update(str(file.relative_to(project)).encode() + b"\0")
        digest.update(hashlib.sha256(file.read_bytes()).digest())
    return digest.hexdigest()[:32]


def _inputs(project: Path) -> list[Path]:
    files = []
    for folder, subfolders, names in os.walk(project):
        subfolders[:] = sorted(d for d in subfolders if d not in SKIPPED_FOLDERS and not d.startswith("cdk.out"))
        files += [Path(folder) / name for name in sorted(names) if not _is_test_or_compiled(name)]
    return files


def _is_test_or_compiled(name: str) -> bool:
    return (
        name.endswith((".pyc", ".pyo", "_test.py"))
        or (name.startswith("test_") and name.endswith(".py"))
        or name in ("conftest.py", "pytest.ini")
    )


def _release(package: str) -> str:
    try:
        return version(package)
    except PackageNotFoundError:
        return "-"


class AssemblyCache:
    """Assemblies by the key of their inputs, in a folder of their own (pytest's cache)."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder

    def get(self, key: str) -> Path | None:
        assembly = self.folder / key / "cdk.out"
        return assembly if (assembly / "manifest.json").is_file() else None

    def put(self, key: str, assembly: Path) -> Path:
        """Keeps a copy of `assembly` under `key` and returns it. Workers of one run may put the
        same key at once: the copy is made aside and renamed into place, and the first one stays."""
        self.folder.mkdir(parents=True, exist_ok=True)
        aside = self.folder / f".{key}-{uuid.uuid4().hex}"
        shutil.copytree(assembly, aside / "cdk.out")
        try:
            aside.rename(self.folder / key)
        except OSError:  # another worker's copy is in place already
            shutil.rmtree(aside, ignore_errors=True)
        self._prune()
        return self.folder / key / "cdk.out"

    def _prune(self) -> None:
        kept = sorted(
            (entry for entry in self.folder.iterdir() if not entry.name.startswith(".")),
            key=lambda entry: entry.stat().st_mtime,
            reverse=True,
        )
        for stale in kept[KEPT:]:
            shutil.rmtree(stale, ignore_errors=True)
