import functools
import os
import shutil
import sys
import tempfile
from pathlib import Path

import pytest
from kubernetes_validate import utils as _kubernetes_validate

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))

# kubernetes-validate reads and parses its (large) schema files on every call; the schema
# tests validate hundreds of objects against the same few.
_kubernetes_validate.schema_contents = functools.cache(_kubernetes_validate.schema_contents)


def pytest_configure(config: pytest.Config) -> None:
    """One directory per session for the program runs its processes share (harness.py);
    pytest-xdist workers inherit it from the controller."""
    import harness

    if os.environ.get("PYTEST_XDIST_WORKER"):
        return
    directory = tempfile.mkdtemp(prefix="aidbox-secrets-runs-")
    os.environ[harness.CACHE_ENV] = directory
    config.stash[_RUN_CACHE] = directory


def pytest_unconfigure(config: pytest.Config) -> None:
    directory = config.stash.get(_RUN_CACHE, None)
    if directory:
        os.environ.pop("AIDBOX_SECRETS_RUN_CACHE", None)
        shutil.rmtree(directory, ignore_errors=True)


_RUN_CACHE = pytest.StashKey[str]()
