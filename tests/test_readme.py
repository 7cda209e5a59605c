"""The README's set-up commands are the ones CI runs; keep them from drifting apart."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def readme_commands() -> list[str]:
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    quick = text.split("## Quick start", 1)[1].split("\n## ", 1)[0]
    return re.findall(r"```(?:sh|bash)\n(.+?)\n```", quick, flags=re.S)


def test_quick_start_has_the_two_commands():
    demo, tests = readme_commands()[:2]
    assert demo.endswith("traction demo") and "pip install" in demo
    assert "pytest" in tests and "pip install" in tests


def test_ci_runs_exactly_the_readme_test_command():
    tests = readme_commands()[1]
    ci = (ROOT / ".ci" / "run").read_text(encoding="utf-8").splitlines()
    assert tests in ci


def test_documented_config_example_is_a_valid_config(tmp_path):
    """docs/operating.md's configuration reference loads as it is written."""
    from traction.config import load_config

    text = (ROOT / "docs" / "operating.md").read_text(encoding="utf-8")
    section = text.split("## Configuration", 1)[1]
    toml = re.search(r"```toml\n(.+?)\n```", section, flags=re.S).group(1)
    path = tmp_path / "readme.toml"
    path.write_text(toml)
    config = load_config(path, environ={})
    assert config.sources.github.links == {"openai/gpt-oss": "openai/gpt-oss-120b"}
    assert config.scoring.metric_weights["github.stars"] == 0.5


def test_readme_is_the_front_door_and_its_links_resolve():
    """README stays short and every local link it or a doc makes points at a file (and a
    heading) that exists."""
    import re as _re

    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert len(readme.splitlines()) <= 160
    for page in [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]:
        text = page.read_text(encoding="utf-8")
        for target, anchor in _re.findall(r"\]\(([\w./-]*\.md)?(?:#([\w-]+))?\)", text):
            if not target and not anchor:
                continue
            linked = (page.parent / target) if target else page
            assert linked.exists(), (page.name, target)
            if anchor:
                headings = _re.findall(r"^#+ (.+)$", linked.read_text(encoding="utf-8"), _re.M)
                slugs = {_re.sub(r"[^a-z0-9 -]", "", h.lower()).replace(" ", "-") for h in headings}
                assert anchor in slugs, (page.name, target, anchor)
