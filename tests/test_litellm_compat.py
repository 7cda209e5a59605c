"""The adapter on LiteLLM's newer API: the whole adapter suite again, on litellm 1.109.1.

1.107+ declare a certifi newer than this package index serves, so 1.109.1 is installed
without its dependencies into a directory of its own (its code runs on the 1.106.2
environment's packages) and put first on the path of a subprocess. There the Router
exposes `select` and `register_plugin`, which the adapter feature-detects.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
NEWER = "1.109.1"


@pytest.fixture(scope="module")
def newer_litellm(tmp_path_factory) -> Path:
    target = tmp_path_factory.mktemp("litellm-newer")
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "install",
            "--quiet",
            "--no-deps",
            "--target",
            str(target),
            f"litellm=={NEWER}",
        ],
        capture_output=True,
        text=True,
        timeout=600,
    )
    if done.returncode != 0:
        pytest.skip(f"cannot install litellm {NEWER} from the package index: {done.stderr[-500:]}")
    return target


def test_adapter_suite_passes_on_the_newer_litellm_api(newer_litellm):
    env = {**os.environ, "PYTHONPATH": str(newer_litellm), "LITELLM_LOCAL_MODEL_COST_MAP": "True"}
    probe = subprocess.run(
        [
            sys.executable,
            "-c",
            "import litellm, sys; from litellm import Router;"
            "print(litellm.__file__); sys.exit(0 if hasattr(Router, 'register_plugin') else 3)",
        ],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
    )
    assert probe.returncode == 0 and str(newer_litellm) in probe.stdout, probe.stderr[-2000:]
    run = subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            "-q",
            "-p",
            "no:cacheprovider",
            "tests/test_adapter_router.py",
            "tests/test_adapter_policies.py",
        ],
        capture_output=True,
        text=True,
        env=env,
        cwd=ROOT,
        timeout=900,
    )
    assert run.returncode == 0, run.stdout[-4000:]
    assert " passed" in run.stdout.splitlines()[-1]
