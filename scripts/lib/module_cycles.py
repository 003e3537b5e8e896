#!/usr/bin/env python3
"""No import cycles between a crate's modules (docs/decisions.md, "No import cycles").

Usage: module_cycles.py <crate src dir>...   Exits 1, naming each cycle and its edges, if a
module imports (by `use`, or a `crate::`/`super::` path in code) a module that imports it back,
directly or through others. A module's own submodules importing their parent (`super::X`) is
the ordinary shape of a Rust module tree and is not counted; test modules and comments are left
out. An equivalent of `cargo modules dependencies --acyclic` that needs no extra tool.
"""
import os
import re
import sys


def modules(src):
    """Module path (`ssr::outbox::send`) -> file, for every .rs file under `src`."""
    found = {}
    for root, _, files in os.walk(src):
        for name in files:
            if name.endswith(".rs"):
                path = os.path.join(root, name)
                parts = os.path.relpath(path, src)[:-3].split(os.sep)
                if parts[-1] in ("mod", "lib", "main"):
                    parts = parts[:-1]
                found["::".join(parts)] = path
    return found


def code_of(path):
    """The file without its test module and comments."""
    text = open(path, encoding="utf-8").read()
    cuts = [i for i in (text.find("#[cfg(test)]\nmod tests"),
                        text.find("#[cfg(test)]\npub(crate) mod tests")) if i >= 0]
    if cuts:
        text = text[:min(cuts)]
    return re.sub(r"//[^\n]*", "", text)


def expand(tree):
    """`a::{b, c::{d, self}}` -> [`a::b`, `a::c::d`, `a::c`]."""
    match = re.match(r"^(.*?)::\{(.*)\}$", tree)
    if not match:
        return [re.split(r"\bas\b", tree)[0]]
    prefix, inner = match.groups()
    items, depth, current = [], 0, ""
    for ch in inner:
        depth += ch == "{"
        depth -= ch == "}"
        if ch == "," and depth == 0:
            items.append(current)
            current = ""
        else:
            current += ch
    if current:
        items.append(current)
    paths = []
    for item in items:
        paths += [prefix] if item == "self" else [prefix + "::" + p for p in expand(item)]
    return paths


def resolve(mods, current, path):
    """The module of `mods` that `path`, written in module `current`, names; None if external."""
    segments = path.split("::")
    if segments[0] == "crate":
        base, segments = [], segments[1:]
    elif segments[0] == "super":
        base = current.split("::") if current else []
        while segments and segments[0] == "super":
            base, segments = base[:-1], segments[1:]
    elif segments[0] == "self":
        base, segments = (current.split("::") if current else []), segments[1:]
    else:
        return None
    full = base + segments
    for i in range(len(full), -1, -1):
        candidate = "::".join(full[:i])
        if candidate in mods:
            return candidate
    return None


def edges(mods):
    graph = {m: set() for m in mods}
    for module, path in mods.items():
        code = code_of(path)
        paths = []
        for use in re.finditer(r"\buse\s+([^;]+);", code):
            paths += expand(re.sub(r"\s+", "", use.group(1)))
        paths += re.findall(r"\b((?:crate|super)(?:::\w+)+)", code)
        for p in paths:
            target = resolve(mods, module, p)
            if target is not None and target != module and not module.startswith(target + "::"):
                graph[module].add(target)
    return graph


def cycles(graph):
    """Strongly connected components of more than one module (Tarjan)."""
    index, low, stack, on_stack, found = {}, {}, [], set(), []
    counter = [0]

    def visit(v):
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on_stack.add(v)
        for w in graph[v]:
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    sys.setrecursionlimit(10_000)
    for v in graph:
        if v not in index:
            visit(v)
    return found


def main(dirs):
    failed = False
    for src in dirs:
        mods = modules(src)
        graph = edges(mods)
        found = cycles(graph)
        for component in found:
            failed = True
            print(f"{src}: import cycle between {', '.join(component)}")
            for m in component:
                print(f"    {m} -> {', '.join(sorted(t for t in graph[m] if t in component))}")
        if not found:
            print(f"{src}: {len(mods)} modules, no import cycle")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
