#!/usr/bin/env python3
"""The include graph's rules (docs/architecture.md, "Areas"), checked over include/ and src/:

1. No cycle between areas: an area is a folder of include/hld/ and src/ (eval/tasks and
   eval/scoring count as areas of their own); if area A includes a header of area B, then B must
   not reach A through any chain of includes.
2. The torch-free core includes nothing from the torch side: no file of a core area reaches, through
   any chain of project includes, a header of a torch area or a LibTorch header. The two area lists
   are CMakeLists.txt's HLD_CORE_AREAS and HLD_TORCH_AREAS, and the sources CMake moves from the
   core to the torch library (HLD_IO_TORCH_SOURCES) are torch-side files.

Prints each violation with the chain of files behind it and exits 1; prints a one-line summary and
exits 0 when the graph follows the rules. Usage: scripts/check_layers.py [REPO_ROOT]
"""
import os
import re
import sys
from collections import defaultdict

ROOT = os.path.abspath(sys.argv[1] if len(sys.argv) > 1 else os.path.join(os.path.dirname(__file__), ".."))
INCLUDE = re.compile(r'^\s*#\s*include\s*[<"]([^">]+)[">]')


def cmake_list(name):
    text = open(os.path.join(ROOT, "CMakeLists.txt")).read()
    m = re.search(r"set\(%s ([^)]*)\)" % name, text)
    if not m:
        sys.exit("check_layers: %s not found in CMakeLists.txt" % name)
    return m.group(1).split()


CORE = cmake_list("HLD_CORE_AREAS")
TORCH = cmake_list("HLD_TORCH_AREAS")
TORCH_FILES = {os.path.relpath(p.replace("${CMAKE_SOURCE_DIR}", ROOT), ROOT)
               for p in cmake_list("HLD_IO_TORCH_SOURCES")}
# ... and their headers (src/io/safetensors.cpp: include/hld/io/safetensors.h).
TORCH_FILES |= {"include/hld/" + f[len("src/"):-len(".cpp")] + ".h" for f in TORCH_FILES}


def area_of(rel):
    """The area of a project file: include/hld/<area>/... or src/<area>/... (None: main.cpp etc.)."""
    parts = rel.split("/")
    parts = parts[2:] if parts[0] == "include" else parts[1:]
    if len(parts) < 2:
        return None
    if parts[0] == "eval" and len(parts) > 2 and "eval/" + parts[1] in CORE + TORCH:
        return "eval/" + parts[1]
    return parts[0]


def project_files():
    out = []
    for top in ("include/hld", "src"):
        for d, _, files in os.walk(os.path.join(ROOT, top)):
            out += [os.path.relpath(os.path.join(d, f), ROOT) for f in files if f.endswith((".h", ".cpp"))]
    return sorted(out)


def includes(rel):
    """(project header path, None) or (None, system header) for each #include of `rel`."""
    for line in open(os.path.join(ROOT, rel), errors="replace"):
        m = INCLUDE.match(line)
        if not m:
            continue
        name = m.group(1)
        if name.startswith("hld/") and os.path.exists(os.path.join(ROOT, "include", name)):
            yield "include/" + name, None
        else:
            yield None, name


def main():
    files = project_files()
    edges = {f: [h for h, _ in includes(f) if h] for f in files}
    torch_header = {f: any(s and (s.startswith("torch/") or s.startswith("ATen/") or s.startswith("c10/"))
                           for _, s in includes(f)) for f in files}
    problems = []

    # 1. Area cycles: area graph from direct includes, with one example file per edge.
    area_edges = defaultdict(dict)
    for f in files:
        a = area_of(f)
        for h in edges[f]:
            b = area_of(h)
            if a and b and a != b:
                area_edges[a].setdefault(b, (f, h))

    def reach(start):
        seen, stack = {start: None}, [start]
        while stack:
            x = stack.pop()
            for y in area_edges.get(x, {}):
                if y not in seen:
                    seen[y] = x
                    stack.append(y)
        return seen

    reported = set()
    for a in sorted(area_edges):
        for b in sorted(area_edges[a]):
            back = reach(b)
            if a in back and frozenset((a, b)) not in reported:
                reported.add(frozenset((a, b)))
                path, x = [], a  # b -> ... -> a, from the parents reach() recorded
                while x is not None:
                    path.append(x)
                    x = back[x]
                problems.append("cycle: %s -> %s, and back: %s\n    %s includes %s" %
                                (a, b, " -> ".join(reversed(path)), *area_edges[a][b]))

    # 2. The core reaches nothing of the torch side.
    for f in files:
        a = area_of(f)
        if a not in CORE or f in TORCH_FILES:
            continue
        seen, stack = {f: None}, [f]
        bad = None
        while stack and not bad:
            x = stack.pop()
            for h in edges[x]:
                if h in seen:
                    continue
                seen[h] = x
                if area_of(h) in TORCH or torch_header[h] or h in TORCH_FILES:
                    bad = h
                    break
                stack.append(h)
            if not bad and torch_header[x] and x != f:
                bad = x
        if not bad and torch_header[f]:
            bad = f
        if bad:
            chain, x = [], bad
            while x is not None:
                chain.append(x)
                x = seen.get(x)
            problems.append("torch-free core reaches the torch side: " + " -> ".join(reversed(chain)))

    if problems:
        print("check_layers: %d problem(s) in the include graph (docs/architecture.md, \"Areas\"):" % len(problems))
        for p in problems:
            print("  " + p)
        return 1
    print("check_layers: %d files, %d areas, no cycle between areas, the core (%s) reaches nothing of LibTorch"
          % (len(files), len(area_edges), " ".join(CORE)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
