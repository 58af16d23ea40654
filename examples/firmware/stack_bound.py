#!/usr/bin/python3
# SPDX-License-Identifier: MIT
"""Worst-case stack depth of a bare-metal image, from the compiler's own
call graph.

Inputs:
  - the .ci files GCC writes with -fcallgraph-info=su: one node per
    function with its frame size from -fstack-usage ("N bytes (static)"),
    one edge per call site, "__indirect_call" for calls through pointers;
  - the linked ELF, disassembled with arm-none-eabi-objdump, for the
    functions that no .ci file describes (memcpy from the C library, the
    soft-float and 64-bit division helpers of libgcc): their frames are
    read off the prologue (push, vpush, sub sp, stores with pre-decrement
    write-back to sp) and their calls off bl / b.w to other symbols.

The bound of a function is its own frame plus the largest bound among its
callees. That is only a bound when the graph has no cycle, so the script
first looks for cycles (recursion, direct or mutual) and fails if there is
one, or if a frame is "dynamic" (alloca, VLA), or if an indirect call has
no declared target (--indirect names the functions a call through a
pointer may reach: here the firmware's symboliser and stream writer;
--indirect CALLER=TARGET limits one caller's to its own targets, so that
nanopb's pb_write, which the writer calls, is not taken to call the
writer back).

Usage:
  stack_bound.py --elf fw.elf --objdump arm-none-eabi-objdump \
      --indirect fw_symbolize --root p2m_convert --root ... FILE.ci...
Prints a report; --json FILE writes {"roots": {name: {"bound", "path"}},
"max", "functions", "cycles": []}. Exit status 1 when no bound exists.
"""

import argparse
import json
import re
import subprocess
import sys

NODE_RE = re.compile(r'^node: \{ title: "([^"]*)" label: "([^"]*)"')
EDGE_RE = re.compile(r'^edge: \{ sourcename: "([^"]*)" targetname: "([^"]*)"')
SIZE_RE = re.compile(r'\\n(\d+) bytes \(([^)]*)\)')


def short(title):
    """'dir/file.c:func' -> 'func' (static functions of one program have
    unique names here; a clash is reported)."""
    return title.rsplit(":", 1)[-1] if ":" in title else title


def read_ci(paths):
    frames, kinds, edges = {}, {}, {}
    for path in paths:
        with open(path) as f:
            for line in f:
                m = NODE_RE.match(line)
                if m:
                    name = short(m.group(1))
                    s = SIZE_RE.search(m.group(2))
                    if s:
                        if name in frames and frames[name] != int(s.group(1)):
                            raise SystemExit("stack_bound: two functions named %s" % name)
                        frames[name] = int(s.group(1))
                        kinds[name] = s.group(2)
                    edges.setdefault(name, set())
                    continue
                m = EDGE_RE.match(line)
                if m:
                    edges.setdefault(short(m.group(1)), set()).add(short(m.group(2)))
    return frames, kinds, edges


FUNC_RE = re.compile(r'^([0-9a-f]+) <([^>]+)>:$')


def regcount(reglist):
    n = 0
    for part in reglist.split(","):
        part = part.strip()
        m = re.match(r'^([a-z]+)(\d+)-[a-z]+(\d+)$', part)
        if m:
            n += int(m.group(3)) - int(m.group(2)) + 1
        elif part:
            n += 1
    return n


def read_elf(objdump, nm, elf):
    """Frames, callees and fall-through successors of every function of the
    image, read from its code. A branch counts as a call when its target
    lies in another function (found by address: objdump's <name> beside a
    target may be any symbol that happens to have that value)."""
    out = subprocess.run([objdump, "-d", "--no-show-raw-insn", elf], check=True,
                         capture_output=True, text=True).stdout
    funcs, code = [], {}
    cur = None
    insn_re = re.compile(r'^\s*([0-9a-f]+):\s+(\S+)\s*(.*)$')
    for line in out.splitlines():
        m = FUNC_RE.match(line)
        if m:
            cur = m.group(2)
            funcs.append((int(m.group(1), 16), cur))
            code[cur] = []
            continue
        m = insn_re.match(line) if cur else None
        if m:
            code[cur].append((m.group(2), m.group(3)))
    funcs.sort()
    starts = [a for a, _ in funcs]

    def owner(addr):
        lo, hi = 0, len(starts)
        while lo < hi:
            mid = (lo + hi) // 2
            if starts[mid] <= addr:
                lo = mid + 1
            else:
                hi = mid
        return funcs[lo - 1][1] if lo else None

    frames, calls, falls = {}, {}, {}
    branch = re.compile(r'^(?:b|bl|blx|cbz|cbnz|b(?:eq|ne|cs|cc|hs|lo|mi|pl|vs|vc|hi|ls|ge|lt|gt|le))$')
    target_re = re.compile(r'\b([0-9a-f]+) <[^>]*>$')
    for idx, (addr, f) in enumerate(funcs):
        frame, callees, last = 0, set(), ("", "")
        for op, args in code[f]:
            if op.startswith("."):  # literal pool data
                continue
            if op != "nop":  # padding after the last real instruction
                last = (op, args)
            base = op.split(".")[0]
            if base in ("push", "stmdb") and "{" in args and (base == "push" or args.startswith("sp!")):
                frame += 4 * regcount(args[args.index("{") + 1:args.index("}")])
            elif base == "vpush":
                regs = args[args.index("{") + 1:args.index("}")]
                frame += (8 if "d" in regs else 4) * regcount(regs)
            elif base in ("sub", "subw") and re.match(r'^sp,\s*(sp,\s*)?#\d+', args):
                frame += int(re.search(r'#(\d+)', args).group(1))
            elif base.startswith("str") and re.search(r'\[sp,\s*#-(\d+)\]!', args):
                frame += int(re.search(r'\[sp,\s*#-(\d+)\]!', args).group(1))
            elif branch.match(base):
                t = target_re.search(args)
                if t:
                    g = owner(int(t.group(1), 16))
                    if g is not None and g != f:
                        callees.add(g)
                elif base == "blx":
                    callees.add("__indirect_call")
        frames[f], calls[f] = frame, callees
        b = last[0].split(".")[0]
        ends = (b in ("bx", "b") or (b in ("pop", "ldmia", "ldm") and "pc" in last[1])
                or (b.startswith("ldr") and last[1].startswith("pc")))
        if not ends and idx + 1 < len(funcs):
            falls[f] = funcs[idx + 1][1]
    # Other names of the same address (nm lists __aeabi_dadd and __adddf3;
    # the disassembly labels only one) reach the labelled code.
    by_addr = {a: f for a, f in funcs}
    syms = subprocess.run([nm, elf], check=True, capture_output=True, text=True).stdout
    for line in syms.splitlines():
        parts = line.split()
        if len(parts) == 3 and parts[1] in "TtWw":
            a, name = int(parts[0], 16) & ~1, parts[2]
            if name not in frames and a in by_addr:
                frames[name] = 0
                calls[name] = {by_addr[a]}
    return frames, calls, falls


def find_cycles(edges, nodes):
    """Strongly connected components with a cycle (Tarjan, iterative)."""
    index, low, onstack, stack, out = {}, {}, set(), [], []
    counter = [0]
    for root in sorted(nodes):
        if root in index:
            continue
        work = [(root, iter(sorted(edges.get(root, ()))))]
        index[root] = low[root] = counter[0]
        counter[0] += 1
        stack.append(root)
        onstack.add(root)
        while work:
            v, it = work[-1]
            advanced = False
            for w in it:
                if w not in index:
                    index[w] = low[w] = counter[0]
                    counter[0] += 1
                    stack.append(w)
                    onstack.add(w)
                    work.append((w, iter(sorted(edges.get(w, ())))))
                    advanced = True
                    break
                if w in onstack:
                    low[v] = min(low[v], index[w])
            if advanced:
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[v])
            if low[v] == index[v]:
                comp = []
                while True:
                    w = stack.pop()
                    onstack.discard(w)
                    comp.append(w)
                    if w == v:
                        break
                if len(comp) > 1 or v in edges.get(v, ()):
                    out.append(sorted(comp))
    return out


def main(argv):
    ap = argparse.ArgumentParser()
    ap.add_argument("--elf", required=True)
    ap.add_argument("--objdump", default="arm-none-eabi-objdump")
    ap.add_argument("--nm", default="arm-none-eabi-nm")
    ap.add_argument("--indirect", action="append", default=[],
                    help="a function that calls through pointers may reach; "
                    "CALLER=TARGET: one that CALLER's calls through pointers reach "
                    "(those calls then reach no other)")
    ap.add_argument("--root", action="append", default=[])
    ap.add_argument("--json")
    ap.add_argument("ci", nargs="+")
    a = ap.parse_args(argv)

    frames, kinds, edges = read_ci(a.ci)
    elf_frames, elf_calls, elf_falls = read_elf(a.objdump, a.nm, a.elf)
    problems = []
    # The compiler's graph misses calls it emits late (a struct copy turned
    # into memcpy): add every call the code of a function makes, and keep
    # the larger of the two frame sizes.
    for f in list(frames):
        if f in elf_frames:
            if elf_frames[f] > frames[f]:
                problems_note = "%s: frame %d in the code, %d in -fstack-usage" % (
                    f, elf_frames[f], frames[f])
                print("  note: " + problems_note)
                frames[f] = elf_frames[f]
            edges.setdefault(f, set()).update(elf_calls[f])
    # Functions known only from the image (C library, libgcc).
    pending = [t for s in list(edges) for t in edges[s] if t not in frames]
    while pending:
        f = pending.pop()
        if f in frames or f == "__indirect_call":
            continue
        if f not in elf_frames:
            problems.append("no frame size for %s (not in any .ci file nor the image)" % f)
            frames[f] = 0
            continue
        frames[f] = elf_frames[f]
        kinds[f] = "from the image"
        edges[f] = set(elf_calls[f])
        if f in elf_falls:  # hand-written code running on into the next label
            edges[f].add(elf_falls[f])
        pending.extend(edges[f])
    # Calls through pointers reach the declared targets: CALLER=TARGET
    # declarations for that caller, plain TARGET ones for every other.
    anywhere, by_caller = [], {}
    for x in a.indirect:
        if "=" in x:
            caller, target = x.split("=", 1)
            by_caller.setdefault(caller, []).append(target)
        else:
            anywhere.append(x)
    for s in edges:
        if "__indirect_call" in edges[s]:
            edges[s].discard("__indirect_call")
            targets = by_caller.get(s, anywhere)
            if not targets:
                problems.append("%s calls through a pointer and no --indirect target is declared" % s)
            edges[s].update(targets)
    for k, v in kinds.items():
        if "dynamic" in v:
            problems.append("%s has a dynamic frame (%s)" % (k, v))
    nodes = set(frames) | set(edges)
    cycles = find_cycles(edges, nodes)
    for c in cycles:
        problems.append("recursion: " + " -> ".join(c))

    bound, best = {}, {}

    def depth(f):
        # Iterative post-order: the graph is acyclic once cycles are ruled out.
        todo = [(f, False)]
        while todo:
            g, done = todo.pop()
            if g in bound:
                continue
            if done:
                callees = edges.get(g, ())
                b, nxt = 0, None
                for c in sorted(callees):
                    if bound[c] > b:
                        b, nxt = bound[c], c
                bound[g] = frames.get(g, 0) + b
                best[g] = nxt
                continue
            todo.append((g, True))
            for c in edges.get(g, ()):
                if c not in bound:
                    todo.append((c, False))
        return bound[f]

    report = {"roots": {}, "cycles": cycles, "problems": problems, "max": None,
              "functions": len(nodes)}
    if not cycles:
        for r in a.root:
            if r not in nodes:
                problems.append("root %s is not in the call graph" % r)
                continue
            depth(r)
            path, g = [], r
            while g is not None:
                path.append("%s(%d)" % (g, frames.get(g, 0)))
                g = best[g]
            report["roots"][r] = {"bound": bound[r], "path": path}
        if report["roots"]:
            report["max"] = max(v["bound"] for v in report["roots"].values())

    print("call graph: %d functions, %d cycles" % (len(nodes), len(cycles)))
    for r, v in sorted(report["roots"].items(), key=lambda kv: -kv[1]["bound"]):
        print("  %-34s %5d bytes  %s" % (r, v["bound"], " > ".join(v["path"])))
    for p in problems:
        print("  PROBLEM: " + p)
    if a.json:
        with open(a.json, "w") as f:
            json.dump(report, f, indent=1)
    return 1 if problems or report["max"] is None else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
