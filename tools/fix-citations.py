#!/usr/bin/env python3
"""Rewrites citations of the old, out-of-repository design notes into their in-repository form.

    python3 tools/fix-citations.py            rewrite in place, list what changed
    python3 tools/fix-citations.py --check    change nothing; exit 1 if something would change or is left over

The design notes segsam's comments cite live in docs/design/ (sam.md, segsam.md, stack.md, data.md; see
docs/design/README.md). Older comments cite them by bare name ("sam.md §5.2") or through a folder outside the
repository ("../shared/spec/stack.md §2.6", "shared/spec/sam.md"). This script turns every such mention into the one
form the repository uses, the path from the repository root:

    sam.md §5.2                      -> docs/design/sam.md §5.2
    {@code shared/spec/sam.md} §4    -> {@code docs/design/sam.md} §4
    ../shared/spec/*.md              -> docs/design/*.md

A path that really is relative to its file — a quoted string in code with exactly enough "../" to climb from the
file to the folder above the repository, e.g. "../../../shared/spec/sam.md" in tools/reference/pth_fixtures.py —
becomes the file-relative path of the same page ("../../docs/design/sam.md"), so the code keeps working.

Idempotent: rewritten mentions no longer match (a name preceded by "/" is left alone), so running it again changes
nothing. Safe: only git-tracked text files are read; files under docs/design/ (whose bare names are correct
relative links), this script and CitationsTest are skipped; nothing else is touched. Mentions of the outside folder that it cannot
map (anything under shared/ other than shared/spec/) are listed and make the exit status 1. Section numbers are
kept as they are: docs/design/ keeps the numbering of the notes these citations were written against, and
CitationsTest (core-tensor, in ./mvnw test) checks that every cited section exists.

When it rewrites a file under kernels/src/main/cuda/, the committed fatbin's stamp (which records the SHA-256 of
every CUDA source) must be refreshed with kernels/build-fatbin.sh --update; comments do not change the fatbin itself.
"""
import os
import re
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
PAGES = ("sam", "segsam", "stack", "data")
SKIP_PREFIXES = ("docs/design/",)
# this script and the test that checks citations describe the old forms on purpose
SKIP_FILES = {"tools/fix-citations.py", "core-tensor/src/test/java/dev/segsam/docs/CitationsTest.java"}
BINARY_EXT = {".safetensors", ".pth", ".fatbin", ".png", ".jpg", ".jpeg", ".tif", ".tiff", ".dcm", ".nii", ".gz",
              ".bin", ".jar", ".zip", ".xz", ".class"}

# the outside folder, written relative ("../shared/spec/", "../../../shared/spec/"), bare ("shared/spec/") or
# absolute ("/work/shared/spec/"); group 1: an opening quote right before it, group 2: the "../" run
OUTSIDE = re.compile(r"""(?<![\w.-])(["']?)((?:\.\./)*)(?:/work/)?shared/spec/""")
# a bare page name, not part of a longer name or path ("segsam.md" is not "sam.md"; "docs/design/sam.md" is skipped)
BARE = re.compile(r"(?<![\w/.-])(" + "|".join(PAGES) + r")\.md\b")
# anything else under the outside folder
LEFTOVER = re.compile(r"(?<![\w.-])(?:\.\./)*(?:/work/)?shared/(?!spec/)[\w./-]*")


def tracked_files():
    try:
        out = subprocess.run(["git", "ls-files", "-z"], cwd=ROOT, check=True, capture_output=True).stdout
        return [p for p in out.decode("utf-8").split("\0") if p]
    except (OSError, subprocess.CalledProcessError):
        files = []
        for d, dirs, names in os.walk(ROOT):
            dirs[:] = [x for x in dirs if x not in (".git", "target", "runs", "out", "__pycache__")]
            files += [os.path.relpath(os.path.join(d, n), ROOT) for n in names]
        return files


def rewrite(rel, text):
    depth = rel.count("/")  # folders between the repository root and the file

    def outside(m):
        quote, ups = m.group(1), m.group(2)
        if quote and ups.count("../") == depth + 1:
            return quote + "../" * depth + "docs/design/"
        return quote + "docs/design/"

    text = OUTSIDE.sub(outside, text)
    return BARE.sub(lambda m: "docs/design/" + m.group(1) + ".md", text)


def main(argv):
    check = "--check" in argv
    changed, leftovers = [], []
    for rel in tracked_files():
        rel = rel.replace(os.sep, "/")
        if rel in SKIP_FILES or rel.startswith(SKIP_PREFIXES) or os.path.splitext(rel)[1].lower() in BINARY_EXT:
            continue
        path = os.path.join(ROOT, rel)
        if not os.path.isfile(path):
            continue
        with open(path, "rb") as f:
            raw = f.read()
        if b"\0" in raw[:8192]:
            continue
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError:
            continue
        new = rewrite(rel, text)
        if new != text:
            n = sum(1 for a, b in zip(text.splitlines(), new.splitlines()) if a != b)
            changed.append(f"{rel}: {n} line(s)")
            if not check:
                with open(path, "w", encoding="utf-8", newline="") as f:
                    f.write(new)
        for i, line in enumerate(new.splitlines(), 1):
            for m in LEFTOVER.finditer(line):
                leftovers.append(f"{rel}:{i}: {m.group(0)}  (outside the repository; no in-repository page to map it to)")
    verb = "would change" if check else "changed"
    print(f"fix-citations: {verb} {len(changed)} file(s)")
    for c in changed:
        print("  " + c)
    for l in leftovers:
        print("fix-citations: left over: " + l, file=sys.stderr)
    if not check and any(c.startswith("kernels/src/main/cuda/") for c in changed):
        # KernelSourceTest and the nvcc check compare the fatbin's stamp with the SHA-256 of every CUDA source
        print("fix-citations: CUDA sources changed (comments only): refresh the fatbin stamp with"
              " kernels/build-fatbin.sh --update (the fatbin bytes stay the same) and commit it")
    return 1 if leftovers or (check and changed) else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
