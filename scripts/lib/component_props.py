#!/usr/bin/env python3
"""Every prop of every Leptos `#[component]` is documented (docs/decisions.md, "Lints").

Usage: component_props.py <dir>...   Exits 1, naming each undocumented prop, when a parameter of
a `#[component]` function has no `///` comment above it (attributes such as `#[prop(...)]` may
sit between the comment and the parameter). rustdoc's `missing_docs` does not see props: the
macro turns them into a builder.
"""
import glob
import re
import sys

COMPONENT = re.compile(r"#\[component\]\s*(?:///[^\n]*\n\s*|#\[[^\n]*\]\s*)*(?:pub(?:\([^)]*\))?\s+)?fn\s+(\w+)\s*(?:<[^>]*>)?\(")


def params_of(text, start):
    """The text between the parentheses that open at `start`."""
    depth, i = 1, start
    while depth:
        depth += {"(": 1, ")": -1}.get(text[i], 0)
        i += 1
    return text[start:i - 1]


def undocumented(path):
    text = open(path, encoding="utf-8").read()
    for match in COMPONENT.finditer(text):
        documented = False
        for line in params_of(text, match.end()).split("\n"):
            line = line.strip()
            if line.startswith("///"):
                documented = True
            elif not line or line.startswith("#["):
                continue
            else:
                # One parameter per line; several on a line count as undocumented.
                for param in re.findall(r"(?:^|,)\s*(?:mut\s+)?(\w+)\s*:(?!:)", line):
                    if not documented:
                        yield f"{path}: {match.group(1)}: `{param}` has no doc comment"
                    documented = False


def main(dirs):
    found = [p for d in dirs for f in sorted(glob.glob(f"{d}/**/*.rs", recursive=True))
             for p in undocumented(f)]
    for line in found:
        print(line)
    if not found:
        print("every component prop is documented")
    return 1 if found else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
