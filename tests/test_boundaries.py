"""The import boundaries: `schemas` imports nothing of ours; the store (`store`) imports
only `schemas`, and the stages above it (`ingest`, `scoring`) never import the application
(`traction`), so data flows one way: ingest -> store -> scoring -> snapshot. The adapter
(`router_adapter`) imports `schemas` and, lazily, litellm, never duckdb, polars, httpx,
apscheduler or the worker's packages, so it stays light inside LiteLLM; the worker
(`ingest`, `scoring`, `schemas`, `store`, `traction`) never imports litellm or the adapter,
so it never pays litellm's 4-second import."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
ADAPTER_FORBIDDEN = {
    "duckdb",
    "polars",
    "httpx",
    "apscheduler",
    "ingest",
    "scoring",
    "store",
    "traction",
}
OURS = {"schemas", "store", "ingest", "scoring", "router_adapter", "traction"}
WORKER_FORBIDDEN = {"litellm", "router_adapter"}


def imported_roots(package: str) -> dict[str, set[str]]:
    """Top-level modules each file of `package` imports, anywhere in the file (lazy ones too)."""
    found: dict[str, set[str]] = {}
    for path in sorted((ROOT / package).rglob("*.py")):
        roots: set[str] = set()
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                roots.update(alias.name.split(".")[0] for alias in node.names)
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                roots.add(node.module.split(".")[0])
        found[str(path.relative_to(ROOT))] = roots
    return found


def test_adapter_source_never_imports_worker_dependencies():
    offenders = {
        f: sorted(roots & ADAPTER_FORBIDDEN)
        for f, roots in imported_roots("router_adapter").items()
    }
    assert {f: r for f, r in offenders.items() if r} == {}


@pytest.mark.parametrize("package", ["ingest", "scoring", "schemas", "store", "traction"])
def test_worker_source_never_imports_litellm(package):
    offenders = {f: sorted(r & WORKER_FORBIDDEN) for f, r in imported_roots(package).items()}
    # The demo is the one place that drives a real Router, and it imports lazily.
    allowed = {"traction/demo/run.py"}
    assert {f: r for f, r in offenders.items() if r and f not in allowed} == {}


def test_schemas_import_nothing_of_ours():
    offenders = {f: sorted(r & (OURS - {"schemas"})) for f, r in imported_roots("schemas").items()}
    assert {f: r for f, r in offenders.items() if r} == {}


def test_the_store_imports_nothing_of_ours_but_schemas():
    offenders = {
        f: sorted(r & (OURS - {"schemas", "store"})) for f, r in imported_roots("store").items()
    }
    assert {f: r for f, r in offenders.items() if r} == {}


@pytest.mark.parametrize("package", ["ingest", "scoring"])
def test_the_stages_never_import_the_application(package):
    offenders = {f: sorted(r & {"traction"}) for f, r in imported_roots(package).items()}
    assert {f: r for f, r in offenders.items() if r} == {}


def test_the_store_owns_its_migrations():
    assert sorted(p.name for p in (ROOT / "store" / "migrations").glob("*.sql"))
    assert not (ROOT / "traction" / "migrations").exists()


def loaded_after(code: str) -> set[str]:
    out = subprocess.run(
        [sys.executable, "-c", code + "\nimport sys; print(' '.join(sys.modules))"],
        capture_output=True,
        text=True,
        check=True,
        cwd=ROOT,
    ).stdout
    return {name.split(".")[0] for name in out.split()}


def test_importing_the_adapter_loads_no_worker_dependency():
    assert loaded_after("import router_adapter") & ADAPTER_FORBIDDEN == set()


def test_running_the_worker_modules_never_loads_litellm():
    code = (
        "import traction.cli, traction.pipeline, traction.daemon, ingest.runner, scoring.snapshot,"
        " store"
    )
    assert "litellm" not in loaded_after(code)


def test_importing_the_store_loads_nothing_of_ours_but_schemas():
    assert loaded_after("import store") & OURS == {"schemas", "store"}


def test_running_the_stages_never_loads_the_application():
    assert "traction" not in loaded_after("import ingest.runner, scoring.snapshot")
