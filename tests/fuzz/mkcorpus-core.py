#!/usr/bin/env python3
# SPDX-License-Identifier: LGPL-2.1-or-later
# mkcorpus-core.py DIR - write fuzz-core's seed corpus (the input format is
# in tests/fuzz/fuzz-core.c): lifecycles, huge and out-of-range ranges,
# rollbacks, DMA, tampering, upfront pinning over a limit.
import os
import struct
import sys

START, DONE, ABORT, TERM = 0, 1, 2, 3
IN, IN_SHARED, OUT, SHARE, UNSHARE, DMA_SHARE, DMA_UNSHARE = range(7)


def header(pages, pool=15, limit=0, upfront=False):
    return bytes([pool, limit, 1 if upfront else 0, pages - 1])


def life(op):
    return bytes([7, op])


def page(action, gfn, npages=1):
    return bytes([1, action, npages % 5, gfn])


def raw(action, gpa, npages):
    return bytes([1, action, 0x80]) + struct.pack('<QQ', gpa, npages)


def write(gfn, off=0, length=255):
    return bytes([3, gfn, off, length])


def read(gfn, npages=1):
    return bytes([4, npages % 5, gfn])


def tamper(gfn, off=7):
    return bytes([5, gfn, off])


def pool_fail_after(n):
    return bytes([6, n])


U64 = (1 << 64) - 1
seeds = {
    'lifecycle': header(16) + life(START) + write(0) + write(1) +
    page(IN, 0) + page(OUT, 0) + read(0) + page(SHARE, 1) +
    page(UNSHARE, 1) + write(2) + life(DONE) + write(5) + read(5) +
    page(OUT, 5) + page(IN, 5) + life(TERM) + read(0, 4),
    'huge-ranges': header(8) + life(START) +
    raw(SHARE, 0, (1 << 32) + 1) + raw(UNSHARE, 0, 1 << 40) +
    raw(DMA_SHARE, 0, U64) + raw(DMA_UNSHARE, 4096, U64) +
    raw(UNSHARE, U64 & ~0xfff, 2) + raw(SHARE, 7 * 4096, 2) +
    raw(DMA_SHARE, 8 * 4096, 1) + raw(IN, 0, 1 << 33) +
    raw(OUT, 1 << 63, 1) + raw(UNSHARE, 4095, 1) + raw(7, 0, 1) +
    bytes([4, 0x80]) + struct.pack('<QQ', U64 - 10, 100) +
    bytes([4, 0x80]) + struct.pack('<QQ', 8 * 4096 - 1, 1),
    'rollback': header(8, pool=1) + life(START) + write(0) + write(1) +
    write(2) + write(3) + pool_fail_after(2) + page(UNSHARE, 0, 4) +
    pool_fail_after(0x80) + page(UNSHARE, 0, 4) + page(SHARE, 0, 4) +
    pool_fail_after(1) + life(DONE) + pool_fail_after(0x80) + life(DONE) +
    life(ABORT) + life(TERM),
    'dma': header(8) + page(DMA_SHARE, 0, 3) + page(DMA_SHARE, 1, 1) +
    life(START) + page(UNSHARE, 0, 2) + page(IN, 2) + life(DONE) +
    page(DMA_UNSHARE, 0, 3) + page(DMA_UNSHARE, 1, 1) +
    page(DMA_UNSHARE, 1, 1) + life(DONE) + page(SHARE, 3) +
    page(DMA_SHARE, 3) + life(TERM) + page(DMA_UNSHARE, 3),
    'tamper': header(4, pool=2) + life(START) + write(0) + write(1) +
    page(IN, 0) + page(IN, 1) + write(0) + write(1) + page(OUT, 0) +
    tamper(0) + page(IN, 0) + read(0) + write(2) + page(IN, 2) +
    write(3) + page(IN, 3) + read(1) + life(DONE) + read(0, 4),
    'upfront-limit': header(32, limit=8, upfront=True) + life(START),
    'demand-limit': header(32, limit=4) + life(START) + write(0) +
    write(1) + write(2) + write(3) + write(4) + page(DMA_SHARE, 5, 4) +
    page(UNSHARE, 8, 4) + read(9, 4) + life(DONE) + write(20) +
    life(TERM),
}

out = sys.argv[1]
os.makedirs(out, exist_ok=True)
for name, data in seeds.items():
    with open(os.path.join(out, name), 'wb') as f:
        f.write(data)
