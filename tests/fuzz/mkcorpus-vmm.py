#!/usr/bin/env python3
# SPDX-License-Identifier: LGPL-2.1-or-later
# mkcorpus-vmm.py DIR - write fuzz-vmm-answer's seed corpus (the input
# format is in tests/fuzz/fuzz-vmm-answer.c): 3 header bytes, then what the
# VMM sends back, framed as on the wire (4-byte big-endian length, then a
# cvm.Response). Protobuf is encoded by hand: no generated Python needed.
import os
import struct
import sys

SHOW, LIFE, PAGE, GWRITE, READ, SNAP, DESTROY, ROUND2 = (1 << i for i in range(8))
ALL = SHOW | LIFE | PAGE | GWRITE | READ | SNAP | DESTROY


def varint(v):
    v &= (1 << 64) - 1
    out = b''
    while True:
        b = v & 0x7f
        v >>= 7
        if v:
            out += bytes([b | 0x80])
        else:
            return out + bytes([b])


def f_int(num, v):
    return varint(num << 3) + varint(v)


def f_bytes(num, b):
    if isinstance(b, str):
        b = b.encode()
    return varint(num << 3 | 2) + varint(len(b)) + b


def pages(normal=256, shared=0, secure=0, out=0):
    return (f_int(1, normal) + f_int(2, shared) + f_int(3, secure) +
            f_int(4, out))


def vminfo(state=0, measurement=b'', **kw):
    b = (f_bytes(1, 'fz') + f_bytes(2, '00000000-0000-4000-8000-000000000001') +
         f_int(3, state) + f_int(4, 1 << 20) + f_bytes(5, pages(**kw)) +
         f_int(6, 3) + f_int(10, 16) + f_int(11, 1) + f_int(13, 5))
    if measurement:
        b += f_bytes(12, measurement)
    return b


def resp(id=0, status=0, error=0, message='', vm=None, data=None, snap=None):
    b = f_int(1, id)
    if status:
        b += f_int(2, status)
    if message:
        b += f_bytes(3, message)
    if error:
        b += f_int(4, error)
    if vm is not None:
        b += f_bytes(12, vm)
    if data is not None:
        b += f_bytes(13, data)
    if snap is not None:
        b += f_bytes(14, snap)
    return b


def frame(msg):
    return struct.pack('>I', len(msg)) + msg


def gfn(g, state, n):
    return f_bytes(1, f_int(1, g) + f_int(2, state) + f_int(4, 1) + f_int(7, n))


def seed(state, mask, ops, answers):
    return bytes([state, mask, ops]) + b''.join(answers)


OK_VM = frame(resp(vm=vminfo()))
SEEDS = {
    'refresh-only': seed(0, 0, 0, [OK_VM]),
    'hangup': seed(0, 0, 0, []),
    'all-ok': seed(0, ALL, 0, [
        OK_VM, OK_VM, frame(resp(vm=vminfo(state=1))), OK_VM, OK_VM,
        frame(resp(data=b'\0' * 64)),
        frame(resp(snap=gfn(0, 0, 200) + gfn(200, 2, 56))),
        frame(resp())]),
    'two-rounds': seed(2, ALL & ~DESTROY | ROUND2, 0x21, [OK_VM] * 7 + [
        frame(resp(vm=vminfo(state=3))), OK_VM, OK_VM]),
    'errors': seed(1, SHOW | LIFE | PAGE | READ, 0x06, [
        frame(resp(status=4, error=-77, message='wrong state')),
        frame(resp(status=4, error=-77, message='wrong state')),
        frame(resp(status=9, message='no errno')),
        frame(resp(status=11, error=-1000000)),
        frame(resp(status=99, error=2147483647))]),
    'sealed': seed(2, SHOW | LIFE, 1, [
        frame(resp(vm=vminfo(state=2, measurement=b'\xab' * 32))),
        frame(resp(vm=vminfo(state=2, measurement=b'\xab' * 31))),
        frame(resp(vm=vminfo(state=2, measurement=b'\xab' * 33)))]),
    'odd-states': seed(0, LIFE | ROUND2, 0, [
        frame(resp(vm=vminfo(state=7))),
        frame(resp(vm=vminfo(state=-1))),
        frame(resp(vm=vminfo(state=3))),
        frame(resp(vm=vminfo(state=1 << 31)))]),
    'answer-too-many': seed(0, 0, 0, [OK_VM, OK_VM]),
    'wrong-result-kind': seed(0, SHOW | READ | SNAP, 0, [
        frame(resp(data=b'x')), frame(resp(snap=b'')), frame(resp(vm=vminfo())),
        frame(resp(data=b'y'))]),
    'oversized-frame': seed(0, SHOW, 0, [OK_VM, b'\xff\xff\xff\xff' + b'x' * 8]),
    'undecodable': seed(0, SHOW, 0, [OK_VM, frame(b'\xff\xff\xff')]),
    'empty-frame': seed(0, SHOW, 0, [frame(b''), frame(b'')]),
    'truncated': seed(0, SHOW | LIFE, 0, [OK_VM, OK_VM[:9]]),
    'destroy-then-more': seed(0, DESTROY, 0, [OK_VM, frame(resp()), OK_VM]),
    'destroy-refused': seed(1, SHOW | DESTROY, 0, [
        OK_VM, OK_VM, frame(resp(status=7, error=-16))]),
    'huge-counts': seed(2, SHOW, 0, [frame(resp(vm=vminfo(
        normal=(1 << 64) - 1, shared=(1 << 63), secure=1 << 62, out=7)))] * 2),
    # A snapshot in several frames (Snapshot.more), then the next call.
    'snapshot-frames': seed(1, SNAP | DESTROY, 0, [OK_VM,
        frame(resp(snap=gfn(0, 0, 100) + f_int(2, 1))),
        frame(resp(snap=gfn(100, 1, 1) + f_int(2, 1))),
        frame(resp(snap=gfn(101, 0, 155))), frame(resp())]),
    # The VMM goes away in the middle of a snapshot's frames.
    'snapshot-cut': seed(1, SNAP | SHOW, 0, [OK_VM, OK_VM,
        frame(resp(snap=gfn(0, 0, 100) + f_int(2, 1)))]),
    # more on an answer that is not a snapshot's, and an error with more.
    'snapshot-more-elsewhere': seed(1, READ | SNAP, 0, [OK_VM,
        frame(resp(snap=gfn(0, 0, 1) + f_int(2, 1))),
        frame(resp(status=4, error=-77, snap=gfn(0, 0, 1) + f_int(2, 1)))]),
    # Fields the schema does not know, keys in non-minimal varints (field
    # 0): relayed as they came, they would reach the client undecodable.
    'unknown-fields': seed(1, SNAP | READ, 0, [OK_VM,
        frame(resp(data=b'z') + b'\x80\x00\x00'),
        frame(resp(snap=gfn(0, 0, 1) + b'\x82\x00\x02\x00\x2f'))]),
}

out = sys.argv[1]
os.makedirs(out, exist_ok=True)
for name, data in SEEDS.items():
    with open(os.path.join(out, name), 'wb') as f:
        f.write(data)
