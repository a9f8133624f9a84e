#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""Compares two KCOV PC lists of cvm.ko (hex offsets from the module's base,
one a line, as fuzz-kmod --kcov / --kcov-run write them): PCs the vm suite
reaches, the fuzzer, their union and each one's own. With --syms (lines of
/proc/kallsyms for [cvm]) and --base (the module's base from
/proc/modules), names the functions holding PCs only one side reaches.

    kcov-report.py VM_PCS FUZZ_PCS [--syms FILE --base ADDR] [--sites N]
"""
import argparse
import bisect


def pcs(path):
    with open(path) as f:
        return {int(line, 16) for line in f if line.strip()}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("vm")
    ap.add_argument("fuzz")
    ap.add_argument("--syms")
    ap.add_argument("--base")
    ap.add_argument("--sites")
    a = ap.parse_args()
    vm, fz = pcs(a.vm), pcs(a.fuzz)
    sites = f" (of {a.sites} instrumented sites)" if a.sites else ""
    print(f"kcov: cvm.ko PCs reached: vm suite {len(vm)}, fuzzer {len(fz)}, "
          f"union {len(vm | fz)}, fuzzer only {len(fz - vm)}, "
          f"vm suite only {len(vm - fz)}{sites}")
    if not (a.syms and a.base):
        return
    base = int(a.base, 16)
    syms = []
    with open(a.syms) as f:
        for line in f:
            p = line.split()
            if len(p) >= 3 and p[1] in "tT":
                syms.append((int(p[0], 16) - base, p[2]))
    syms.sort()
    addrs = [s[0] for s in syms]

    def by_function(pcset):
        count = {}
        for pc in pcset:
            i = bisect.bisect_right(addrs, pc) - 1
            name = syms[i][1] if i >= 0 else "?"
            count[name] = count.get(name, 0) + 1
        return sorted(count.items(), key=lambda kv: -kv[1])[:15]

    for what, s in (("only the vm suite", vm - fz), ("only the fuzzer", fz - vm)):
        print(f"# functions with PCs {what} reaches (PCs, function):")
        for name, n in by_function(s):
            print(f"#   {n:6d} {name}")


if __name__ == "__main__":
    main()
