"""One root for the errors traction raises on purpose, and the command line's mapping of
it to a message and an exit code."""

from __future__ import annotations

import ast
import importlib
from pathlib import Path

from schemas.errors import EXIT_CONFIG, EXIT_LOCKED, TractionError

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ["schemas", "store", "ingest", "scoring", "router_adapter", "traction"]


def our_exception_classes() -> list[type]:
    """Every class defined in our packages that derives from BaseException."""
    found = []
    for package in PACKAGES:
        for path in sorted((ROOT / package).rglob("*.py")):
            tree = ast.parse(path.read_text(encoding="utf-8"))
            names = [node.name for node in tree.body if isinstance(node, ast.ClassDef)]
            if not names:
                continue
            module = ".".join(path.relative_to(ROOT).with_suffix("").parts)
            if module.endswith("__init__"):
                module = module.rsplit(".", 1)[0]
            loaded = importlib.import_module(module)
            for name in names:
                cls = getattr(loaded, name)
                if isinstance(cls, type) and issubclass(cls, BaseException):
                    found.append(cls)
    return found


def test_every_error_of_ours_derives_from_traction_error():
    classes = our_exception_classes()
    assert len(classes) >= 10
    assert [c.__qualname__ for c in classes if not issubclass(c, TractionError)] == []


def test_the_command_line_maps_an_error_to_its_exit_code(tmp_path, capsys):
    from store import DatabaseBusy
    from traction.cli import main
    from traction.config import ConfigError
    from traction.lock import DataDirLocked

    assert (ConfigError.exit_code, DataDirLocked.exit_code, DatabaseBusy.exit_code) == (
        EXIT_CONFIG,
        EXIT_LOCKED,
        EXIT_LOCKED,
    )
    bad = tmp_path / "bad.toml"
    bad.write_text("[scoring]\nformula = 'magic'\n")
    assert main(["--config", str(bad), "status"]) == EXIT_CONFIG
    err = capsys.readouterr().err
    assert err.startswith("traction: ") and "scoring.formula" in err and "Traceback" not in err
