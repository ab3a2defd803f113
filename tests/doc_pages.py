"""What the repository's Markdown says about itself: its headings and their GitHub anchors, its
relative links, and the pointers (a page and a quoted section) that code, comments and messages
use to name a place in it. Pure: text in, values out."""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cache
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
README = ROOT / "README.md"
DOCS = ROOT / "docs"
# The pages the README links to, and what links them to each other.
PAGES = (README, *sorted(DOCS.glob("*.md")), ROOT / "policy" / "README.md")

_FENCE = re.compile(r"^(```|~~~).*?^\1[^\n]*$", re.M | re.S)
_CODE_SPAN = re.compile(r"(`+)(?:(?!\1).)+?\1", re.S)
_HEADING = re.compile(r"^(#{1,6})[ \t]+(.+?)[ \t]*#*[ \t]*$", re.M)
# [text](target) with no image "!" before it; the text may span lines.
_LINK = re.compile(r"(?<!!)\[([^\[\]]*)\]\(([^()\s]+)\)")
# A page and a quoted section after it: README, "Try it on kind" / docs/operations.md, 'Rotate'.
_POINTER = re.compile(r"(?<![\w/.-])(README(?:\.md)?|docs/[\w.-]+\.md),? (\"|')([^\"'\n]+?)\2")


def prose(text: str) -> str:
    """The text without fenced blocks and code spans (where `[x](y)` is not a link)."""
    return _CODE_SPAN.sub("", _FENCE.sub("", text))


def anchor(heading: str) -> str:
    """GitHub's anchor for a heading's text: inline markup and punctuation dropped (hyphens,
    underscores and spaces kept), lower case, each space a hyphen."""
    text = re.sub(r"\[([^\]]*)\]\([^)]*\)", r"\1", heading)  # a link: its text
    text = text.replace("`", "").replace("*", "")
    return re.sub(r"[^\w\- ]", "", text.lower()).replace(" ", "-")


def headings(text: str) -> list[str]:
    return [m.group(2) for m in _HEADING.finditer(_FENCE.sub("", text))]


@cache
def anchors(path: Path) -> frozenset[str]:
    """Every anchor of a page, repeated headings numbered as GitHub numbers them."""
    seen: dict[str, int] = {}
    out = set()
    for heading in headings(path.read_text()):
        slug = anchor(heading)
        n = seen.get(slug, 0)
        seen[slug] = n + 1
        out.add(slug if n == 0 else f"{slug}-{n}")
    return frozenset(out)


@dataclass(frozen=True)
class Link:
    page: Path
    text: str
    target: str


def links(page: Path) -> list[Link]:
    """The page's links that stay in the repository (no scheme), in-page anchors included."""
    found = []
    for m in _LINK.finditer(prose(page.read_text())):
        target = m.group(2)
        if re.match(r"^[a-z][a-z0-9+.-]*:", target):  # https:, mailto:
            continue
        found.append(Link(page, " ".join(m.group(1).split()), target))
    return found


def broken(link: Link) -> str | None:
    """Why a link leads nowhere, or None."""
    path, _, fragment = link.target.partition("#")
    target = (link.page.parent / path).resolve() if path else link.page
    if not target.exists():
        return f"{target.relative_to(ROOT) if target.is_relative_to(ROOT) else target}: no file"
    if fragment and target.suffix == ".md" and fragment not in anchors(target):
        return f"{target.relative_to(ROOT)} has no heading with the anchor #{fragment}"
    return None


@dataclass(frozen=True)
class Pointer:
    page: str
    section: str


def pointers(text: str) -> list[Pointer]:
    return [Pointer(m.group(1), m.group(3)) for m in _POINTER.finditer(text)]


def unresolved(pointer: Pointer) -> str | None:
    """Why a pointer names no section, or None. A section is named by its heading, or by the
    heading's start before a colon or a parenthesis ("Try it on kind" for "Try it on kind (no
    Azure, no cost)")."""
    name = "README.md" if pointer.page.startswith("README") else pointer.page
    page = ROOT / name
    if not page.exists():
        return f"{name}: no such page"
    for heading in headings(page.read_text()):
        plain = heading.replace("`", "")
        if pointer.section in (heading, plain) or plain.startswith(
            (f"{pointer.section}:", f"{pointer.section} (")
        ):
            return None
    return f'{name} has no section "{pointer.section}"'
