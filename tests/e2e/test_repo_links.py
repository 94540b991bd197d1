"""The repository stands on its own: no file in it points at a file outside
it, and every relative link of its Markdown leads to a file (and heading) in
it. A person who clones the repository has the manual whole.

Checked over the files git knows (tracked, or new and not ignored):
- no mention of the contract file the project was first written against, by
  name or as a section reference (the word itself, its file name, or a bare
  section sign and number that is not an RFC's), and no path into the
  machine it was written on;
- every relative link `[text](path)` / `[text](path#anchor)` / `[text](#anchor)`
  of every *.md resolves to a file in the repository and, for a Markdown
  target with an anchor, to one of its headings (GitHub's anchor rules)."""

import re
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

# Spelled in pieces so that this file does not match itself.
WORD = "SP" + "EC"
FORBIDDEN = [
    (re.compile(r"\b" + WORD + r"\b"), f"the contract ({WORD} …): name the doc in docs/ instead"),
    (re.compile(re.escape("../" + "shared")), "a path to the folder beside the repository"),
    (re.compile(re.escape("/wo" + "rk/")), "a path on the machine it was written on"),
    # a bare section of that contract; an RFC's sections ("RFC 9110 §10.2.3") are fine
    (re.compile(r"(?<!RFC \d{3} )(?<!RFC \d{4} )\u00a7\d"),
     "a section of the contract: name the doc in docs/ instead"),
]

pytestmark = pytest.mark.store_independent("reads the repository's files; no hookd runs")


def repo_files():
    """Paths (relative) of every file git knows here: tracked, or new and not
    ignored."""
    out = subprocess.run(["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
                         cwd=ROOT, capture_output=True, check=True)
    return sorted({p for p in out.stdout.decode().split("\0") if p and (ROOT / p).is_file()})


def text_of(rel):
    try:
        return (ROOT / rel).read_text(encoding="utf-8")
    except (UnicodeDecodeError, IsADirectoryError):
        return None  # binary files hold no references


def test_no_file_points_outside_the_repository():
    bad = []
    for rel in repo_files():
        text = text_of(rel)
        if text is None:
            continue
        for n, line in enumerate(text.splitlines(), 1):
            for rx, why in FORBIDDEN:
                if rx.search(line):
                    bad.append(f"{rel}:{n}: {why}: {line.strip()[:120]}")
    assert not bad, f"{len(bad)} lines point outside the repository:\n" + "\n".join(bad)


def slug(heading):
    """GitHub's anchor for a heading: lower case, punctuation dropped, spaces
    to hyphens (inline code and links reduced to their text)."""
    h = re.sub(r"\[([^\]]*)\]\([^)]*\)", r"\1", heading.strip())
    h = h.lower()
    h = re.sub(r"[^\w\- ]", "", h)
    return h.replace(" ", "-")


def anchors(md_text):
    seen, out = {}, set()
    for line in strip_fences(md_text).splitlines():
        m = re.match(r"#{1,6}\s+(.*?)\s*#*\s*$", line)
        if not m:
            continue
        s = slug(m.group(1))
        n = seen.get(s, 0)
        seen[s] = n + 1
        out.add(s if n == 0 else f"{s}-{n}")
    return out


def strip_fences(md_text):
    return re.sub(r"^(```|~~~).*?^\1[^\n]*$", "", md_text, flags=re.S | re.M)


def strip_code(md_text):
    """The Markdown without fenced blocks and inline code, where a link is
    not a link."""
    return re.sub(r"`[^`\n]*`", "", strip_fences(md_text))


LINK = re.compile(r"\[[^\]]*\]\(\s*<?([^)\s>]+)>?(?:\s+\"[^\"]*\")?\s*\)")
REF = re.compile(r"^\s*\[[^\]]+\]:\s*<?(\S+?)>?(?:\s|$)", re.M)


def test_every_relative_markdown_link_resolves():
    files = repo_files()
    known = set(files)
    dirs = {str(Path(f).parent) for f in files} | {
        str(p) for f in files for p in Path(f).parents}
    bad, checked = [], 0
    for rel in files:
        if not rel.endswith(".md"):
            continue
        body = strip_code(text_of(rel) or "")
        for target in LINK.findall(body) + REF.findall(body):
            if re.match(r"^[a-z][a-z0-9+.-]*:", target, re.I):  # http:, https:, mailto:
                continue
            checked += 1
            path, _, anchor = target.partition("#")
            dest = (ROOT / rel).parent / path if path else ROOT / rel
            try:
                dest_rel = str(dest.resolve().relative_to(ROOT.resolve()))
            except ValueError:
                bad.append(f"{rel}: {target}: outside the repository")
                continue
            if dest_rel not in known and dest_rel not in dirs:
                bad.append(f"{rel}: {target}: no such file in the repository")
                continue
            if anchor and dest_rel.endswith(".md") and anchor not in anchors(text_of(dest_rel)):
                bad.append(f"{rel}: {target}: {dest_rel} has no heading #{anchor}")
    assert checked > 0, "no relative link found: the link pattern is broken"
    assert not bad, f"{len(bad)} links do not resolve:\n" + "\n".join(bad)
