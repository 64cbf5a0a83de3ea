"""The documentation is a manual that stands on its own.

- README.md stays short (at most ``README_MAX_LINES`` lines); details live in docs/.
- Nothing in the repository cites the design document that is not part of it: the algorithm is
  written down in docs/algorithm.md.
- README and docs/ carry no work-log session numbers.
- Every relative link in README.md and docs/*.md points at a file or folder that exists.
"""

from __future__ import annotations

import re
import subprocess
from pathlib import Path
from typing import Iterator, List, Tuple

import pytest

ROOT = Path(__file__).resolve().parents[1]
README_MAX_LINES = 300
# built from parts so that this file does not match its own check
EXTERNAL_SPEC = "DWPOSE" + "_SPEC"
SKIPPED_DIRS = {".git", ".venv", "work_dirs", "__pycache__", "node_modules"}
SESSION = re.compile(r"session [0-9]", re.IGNORECASE)
# [text](target) and ![alt](target); the target ends at whitespace or ')'
LINK = re.compile(r"!?\[[^\]]*\]\(([^)\s]+)(?:\s+\"[^\"]*\")?\)")


def repo_files() -> List[Path]:
    """Files of the checkout: git's tracked and untracked-but-not-ignored files, or a walk without git."""
    try:
        out = subprocess.run(["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
                             cwd=ROOT, capture_output=True, check=True).stdout
        files = [ROOT / name for name in out.decode().split("\0") if name]
    except (OSError, subprocess.CalledProcessError):
        files = [p for p in ROOT.rglob("*") if p.is_file()]
    return [p for p in files if p.is_file()
            and not SKIPPED_DIRS.intersection(p.relative_to(ROOT).parts)
            and not any(part.endswith(".egg-info") for part in p.relative_to(ROOT).parts)]


def doc_files() -> List[Path]:
    """README.md and every Markdown file under docs/."""
    return [ROOT / "README.md", *sorted((ROOT / "docs").rglob("*.md"))]


def relative_links(markdown: str) -> Iterator[str]:
    """Link targets of ``markdown`` that point into the repository (no URL, no bare anchor)."""
    text = re.sub(r"```.*?```", "", markdown, flags=re.DOTALL)  # code blocks hold no links
    for target in LINK.findall(text):
        if re.match(r"^[a-z][a-z0-9+.-]*:", target, re.IGNORECASE) or target.startswith("#"):
            continue
        yield target


def broken_links(doc: Path) -> List[Tuple[str, str]]:
    """``(link, reason)`` for every relative link of ``doc`` whose file does not exist."""
    bad = []
    for target in relative_links(doc.read_text(encoding="utf-8")):
        path = target.split("#", 1)[0]
        resolved = (doc.parent / path).resolve()
        if not resolved.exists():
            bad.append((target, f"{resolved} does not exist"))
    return bad


def test_readme_is_short() -> None:
    lines = (ROOT / "README.md").read_text(encoding="utf-8").count("\n")
    assert lines <= README_MAX_LINES, f"README.md has {lines} lines; move details to docs/"


def test_nothing_cites_the_external_design_document() -> None:
    citing = []
    for path in repo_files():
        try:
            text = path.read_text(encoding="utf-8")
        except (UnicodeDecodeError, OSError):
            continue  # binary files
        if EXTERNAL_SPEC in text:
            citing.append(str(path.relative_to(ROOT)))
    assert not citing, f"files citing a document outside the repository (use docs/algorithm.md): {citing}"


def test_docs_have_no_session_numbers() -> None:
    hits = [f"{doc.relative_to(ROOT)}:{i}: {line.strip()}"
            for doc in doc_files()
            for i, line in enumerate(doc.read_text(encoding="utf-8").splitlines(), 1)
            if SESSION.search(line)]
    assert not hits, "work-log session numbers in the manual:\n" + "\n".join(hits)


@pytest.mark.parametrize("doc", doc_files(), ids=lambda p: str(p.relative_to(ROOT)))
def test_relative_links_resolve(doc: Path) -> None:
    assert not broken_links(doc), f"broken links in {doc.relative_to(ROOT)}: {broken_links(doc)}"


def test_the_link_check_can_fail(tmp_path: Path) -> None:
    doc = tmp_path / "x.md"
    (tmp_path / "there.md").write_text("x")
    doc.write_text("[a](there.md#part) [b](missing.md) ![c](img/none.png) [d](https://x.org/y.md) "
                   "[e](#anchor)\n```\n[f](in_code.md)\n```\n")
    assert [link for link, _ in broken_links(doc)] == ["missing.md", "img/none.png"]
