"""The documentation stays short where it must and true to the code: the README fits on a few
screens, no relative link in README.md or docs/*.md is dead, every results column is documented
in docs/results.md, and every command has its section in docs/cli.md."""

from __future__ import annotations

import re
from pathlib import Path

import click
import pytest

import benchsuite.cli
from benchsuite import results
from benchsuite.report import learning as learnreport

ROOT = Path(__file__).resolve().parent.parent
DOCS = ROOT / "docs"
README = ROOT / "README.md"
README_MAX_LINES = 250

PAGES = [README, *sorted(DOCS.glob("*.md"))]
LINK = re.compile(r"!?\[(?:[^\]\\]|\\.)*\]\(\s*<?([^)\s>]+)>?(?:\s+\"[^\"]*\")?\s*\)")
FENCE = re.compile(r"^(```|~~~).*?^\1[ \t]*$", re.M | re.S)


def _text(page: Path) -> str:
    """The page without its fenced code blocks (whose brackets are code, not links)."""
    return FENCE.sub("", page.read_text(encoding="utf-8"))


def _relative_links(page: Path) -> list[tuple[str, Path, str]]:
    """(link as written, target path, anchor) for every link that is not a URL."""
    out = []
    for href in LINK.findall(_text(page)):
        if re.match(r"^[a-z][a-z0-9+.-]*:", href, re.I):  # http:, https:, mailto:...
            continue
        path, _, anchor = href.partition("#")
        target = (page.parent / path).resolve() if path else page.resolve()
        out.append((href, target, anchor))
    return out


def _slug(heading: str) -> str:
    """GitHub's anchor for a heading: lower case, punctuation dropped, spaces to hyphens."""
    text = re.sub(r"[`*]|<[^>]+>", "", heading)
    text = re.sub(r"\[([^\]]*)\]\([^)]*\)", r"\1", text).strip().lower()
    return re.sub(r"[^\w\- ]", "", text).replace(" ", "-")


def _anchors(page: Path) -> set[str]:
    seen: dict[str, int] = {}
    anchors = set()
    for heading in re.findall(r"^#{1,6}\s+(.+?)\s*#*\s*$", _text(page), re.M):
        slug = _slug(heading)
        n = seen.get(slug, 0)
        seen[slug] = n + 1
        anchors.add(slug if n == 0 else f"{slug}-{n}")
    return anchors


def test_readme_quick_start_is_what_ci_runs():
    """.ci/run runs the README's set-up and test commands: the two must stay identical."""
    ci = (ROOT / ".ci" / "run").read_text(encoding="utf-8").splitlines()
    setup = ci[ci.index("# --- README: set up ---") + 1].strip()
    readme = README.read_text(encoding="utf-8")
    assert setup.startswith("python3 -m venv") and setup in readme
    assert "python -m pytest" in ci and "\npython -m pytest\n" in readme
    assert "\nbenchsuite run\n" in readme


def test_readme_is_short():
    lines = README.read_text(encoding="utf-8").splitlines()
    assert len(lines) <= README_MAX_LINES, (
        f"README.md has {len(lines)} lines (at most {README_MAX_LINES}): move detail to docs/")


@pytest.mark.parametrize("page", PAGES, ids=lambda p: str(p.relative_to(ROOT)))
def test_relative_links_point_to_files_that_exist(page):
    dead = []
    for href, target, anchor in _relative_links(page):
        if not target.exists():
            dead.append(f"{href} (no {target.relative_to(ROOT)})")
        elif anchor and target.suffix == ".md" and anchor not in _anchors(target):
            dead.append(f"{href} (no heading #{anchor} in {target.relative_to(ROOT)})")
    assert not dead, f"dead links in {page.relative_to(ROOT)}: {dead}"


def test_link_checker_sees_links_and_anchors():
    """The checks above would pass vacuously if the link pattern matched nothing."""
    readme_links = {href for href, _, _ in _relative_links(README)}
    assert {"docs/plugins.md", "docs/results.md", "docs/img/throughput.png"} <= readme_links
    assert "benchsuite-run" in _anchors(DOCS / "cli.md")
    assert _slug("Checking a backend: `benchsuite check-plugin`") == (
        "checking-a-backend-benchsuite-check-plugin")


def test_no_page_points_outside_the_repository():
    for page in PAGES:
        text = page.read_text(encoding="utf-8")
        assert "../shared" not in text and "DESIGN.md" not in text, (
            f"{page.relative_to(ROOT)} refers to a document outside the repository")
        for href, target, _ in _relative_links(page):
            assert target.is_relative_to(ROOT), f"{page.relative_to(ROOT)}: {href} leaves the repo"


def _documented(columns, page: Path) -> list[str]:
    text = page.read_text(encoding="utf-8")
    return [c for c in columns if f"`{c}`" not in text]


def test_every_results_column_is_documented():
    missing = _documented(results.COLUMNS, DOCS / "results.md")
    assert not missing, f"results.COLUMNS not in docs/results.md: {missing}"


def test_every_learning_column_is_documented():
    missing = _documented(learnreport.COLUMNS, DOCS / "results.md")
    assert not missing, f"learnreport.COLUMNS not in docs/results.md: {missing}"


def _cli_group() -> click.Group:
    """The ``benchsuite`` click group, wherever the cli module keeps it."""
    group = getattr(benchsuite.cli, "cli", None)
    if isinstance(group, click.Group):
        return group
    groups = [g for g in vars(benchsuite.cli).values() if isinstance(g, click.Group)]
    assert groups, "no click group in benchsuite.cli"
    return groups[0]


def test_every_command_has_a_heading_in_the_cli_reference():
    headings = set(re.findall(r"^#{2,3}\s+`benchsuite ([a-z-]+)`\s*$",
                              (DOCS / "cli.md").read_text(encoding="utf-8"), re.M))
    commands = set(_cli_group().commands)
    assert commands, "the click group lists no commands"
    missing = sorted(commands - headings)
    assert not missing, (
        f"commands without a '## `benchsuite NAME`' heading in docs/cli.md: {missing}")
