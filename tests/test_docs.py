"""The README is the front door and links to docs/: every link between the pages leads to a
file and a heading that exist, the README links every page of docs/ and stays short, and every
pointer from code, comments, messages and stack files to a page's section names one that is
there."""

from __future__ import annotations

import pytest
from doc_pages import (
    DOCS,
    PAGES,
    README,
    ROOT,
    Link,
    Pointer,
    anchor,
    broken,
    links,
    pointers,
    unresolved,
)

README_MAX_LINES = 500
# Where pointers live: the program, its scripts, tests, stack files, workflows and the pages.
POINTER_SUFFIXES = {".py", ".sh", ".md", ".yaml", ".yml", ".toml", ".json"}
SKIP_DIRS = {".git", "venv", ".venv", "__pycache__", ".pytest_cache", ".ruff_cache", "charts"}
# These two hold made-up pointers on purpose (the checker's own tests).
SKIP_FILES = {"tests/test_docs.py", "tests/doc_pages.py"}


def _sources() -> list:
    found = []
    for path in sorted(ROOT.rglob("*")):
        parts = set(path.relative_to(ROOT).parts)
        if parts & SKIP_DIRS or not path.is_file() or str(path.relative_to(ROOT)) in SKIP_FILES:
            continue
        if path.suffix in POINTER_SUFFIXES or path == ROOT / ".ci" / "run":
            found.append(path)
    return found


def test_the_anchor_rule_is_githubs() -> None:
    assert anchor("Production checklist (AKS baseline)") == "production-checklist-aks-baseline"
    assert anchor("Security model: who reads what") == "security-model-who-reads-what"
    assert anchor("Day two: refresh, destroy and a second machine") == (
        "day-two-refresh-destroy-and-a-second-machine"
    )
    assert anchor("Order on the first `pulumi up`") == "order-on-the-first-pulumi-up"
    assert anchor("4. Create the `prod` environment") == "4-create-the-prod-environment"


def test_every_link_between_the_pages_leads_somewhere() -> None:
    every = [link for page in PAGES for link in links(page)]
    assert len(every) > 40  # the parser finds the links it is meant to check
    problems = [
        f"{link.page.relative_to(ROOT)}: [{link.text}]({link.target}): {why}"
        for link in every
        if (why := broken(link))
    ]
    assert not problems, "\n".join(problems)


def test_a_broken_link_is_named() -> None:
    """The checker itself: a missing file, a missing heading, a missing in-page anchor."""
    assert broken(Link(README, "x", "docs/nothing.md")) == "docs/nothing.md: no file"
    assert broken(Link(README, "x", "docs/operations.md#rotation")) == (
        "docs/operations.md has no heading with the anchor #rotation"
    )
    assert broken(Link(README, "x", "#deploy")) is None
    assert broken(Link(README, "x", "#deployment")) is not None


def test_the_readme_links_every_page_of_docs() -> None:
    linked = {
        (README.parent / link.target.partition("#")[0]).resolve()
        for link in links(README)
        if link.target.partition("#")[0]
    }
    pages = sorted(DOCS.glob("*.md"))
    assert pages, "docs/ holds the reference"
    missing = [str(page.relative_to(ROOT)) for page in pages if page.resolve() not in linked]
    assert not missing, f"README.md does not link {missing}: add them to its Documentation index"


def test_every_page_of_docs_links_back_to_the_readme() -> None:
    for page in sorted(DOCS.glob("*.md")):
        targets = {link.target.partition("#")[0] for link in links(page)}
        assert "../README.md" in targets, page.name


def test_the_readme_stays_a_front_door() -> None:
    lines = README.read_text().count("\n")
    assert lines < README_MAX_LINES, (
        f"README.md has {lines} lines: move reference text into docs/ and link it"
    )


def test_every_pointer_to_a_section_names_one() -> None:
    """`docs/operations.md, "Rotate"` in a message or comment, `README, "Test"` in a script:
    the page exists and has that section."""
    found: list[tuple[str, Pointer]] = []
    for path in _sources():
        for pointer in pointers(path.read_text(errors="replace")):
            found.append((str(path.relative_to(ROOT)), pointer))
    assert len(found) > 20  # the code does point into the pages
    problems = [f"{where}: {why}" for where, pointer in found if (why := unresolved(pointer))]
    assert not problems, "\n".join(problems)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ('(README, "Try it on kind")', None),
        ("(docs/operations.md, 'Delete locks')", None),
        ("(docs/operations.md, 'Rotation')", 'docs/operations.md has no section "Rotation"'),
        ("(docs/nowhere.md, 'Rotate')", "docs/nowhere.md: no such page"),
    ],
)
def test_a_pointer_is_resolved_against_the_headings(text: str, expected: str | None) -> None:
    (pointer,) = pointers(text)
    assert unresolved(pointer) == expected
