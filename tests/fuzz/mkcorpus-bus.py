#!/usr/bin/env python3
# SPDX-License-Identifier: LGPL-2.1-or-later
# mkcorpus-bus.py DIR - write fuzz-bus-args's seed corpus (the input format
# is in tests/fuzz/fuzz-bus-args.c): every method of org.cvm.Manager1 and
# org.cvm.VM1 with its right arguments, property reads, introspection, and
# wrong signatures, paths and names.
import os
import struct
import sys

MANAGER, VM, PROPS, INTRO, OBJMGR, NOIFACE = range(6)
P_MANAGER, P_WEB1, P_NAME, P_PREFIX, P_ROOT = range(5)
MEMBERS = ['ListVMs', 'GetVM', 'CreateVM', 'DestroyVM', 'InitStart', 'InitDone',
           'InitAbort', 'Terminate', 'PageIn', 'PageOut', 'Share', 'Unshare',
           'DmaShare', 'DmaUnshare', 'GuestWrite', 'GuestRead', 'HostRead',
           'Snapshot', 'Get', 'GetAll', 'Set', 'Introspect', 'GetManagedObjects',
           'Ping']
SIGS = ['', 's', 'stts', 'tb', 't', 'tt', 'tay', 'tu', 'ss', 'ssv']


def s(text):
    b = text.encode() if isinstance(text, str) else text
    return bytes([len(b)]) + b


def t(v):
    return bytes([8]) + struct.pack('>Q', v & ((1 << 64) - 1))


def u(v):
    return bytes([4]) + struct.pack('>I', v & 0xffffffff)


def b(v):
    return bytes([1 if v else 0])


ay = s


def call(iface, path, member, sig, args=b'', name=None):
    out = bytes([iface << 3 | path])
    if path == P_NAME:
        out += s(name)
    out += bytes([MEMBERS.index(member)]) if isinstance(member, str) else member
    if isinstance(sig, str):
        out += bytes([SIGS.index(sig)])
    else:
        out += sig
    return out + args


# The VMM's answer to a request that reached it (kinds as in the target).
def ans_vm(state=0, normal=256, secure=0, mlen=0):
    return bytes([0, state]) + t(normal) + t(secure) + bytes([mlen])


def ans_data(data):
    return bytes([1]) + s(data)


def ans_snap(runs):
    out = bytes([2, len(runs)])
    for gfn, n, state, paged_out, dma in runs:
        out += t(gfn) + t(n) + t(state) + b(paged_out) + u(dma)
    return out


def ans_err(status, errno, msg):
    return bytes([3, status, errno]) + s(msg)


ANS_NONE = bytes([4])


def own_sig(sig):
    # 0xc0 + len: the input's own signature from "sotuybxgvaa".
    alpha = 'sotuybxgvaa'
    return bytes([0xc0 | len(sig)]) + bytes(alpha.index(c) for c in sig)


SEEDS = {
    'list': call(MANAGER, P_MANAGER, 'ListVMs', ''),
    'get': call(MANAGER, P_MANAGER, 'GetVM', 's', s('web1')) + ans_vm() +
           call(MANAGER, P_MANAGER, 'GetVM', 's', s('nope')),
    'create': call(MANAGER, P_MANAGER, 'CreateVM', 'stts',
                   s('web2') + t(1 << 20) + t(0) + s('demand')) +
              call(MANAGER, P_MANAGER, 'CreateVM', 'stts',
                   s('web1') + t(1 << 20) + t(0) + s('upfront')),
    'create-bad': call(MANAGER, P_MANAGER, 'CreateVM', 'stts',
                       s('.x') + t(4095) + t(1 << 63) + s('lazy')) +
                  call(MANAGER, P_MANAGER, 'CreateVM', 'stts',
                       s('a/b\xff') + t(1 << 47) + t(1) + s('demand')),
    'destroy': call(MANAGER, P_MANAGER, 'DestroyVM', 's', s('web1')) + ANS_NONE +
               call(MANAGER, P_MANAGER, 'GetVM', 's', s('web1')) +
               call(MANAGER, P_MANAGER, 'CreateVM', 'stts',
                    s('web1') + t(1 << 20) + t(0) + s('demand')),
    'destroy-refused': call(MANAGER, P_MANAGER, 'DestroyVM', 's', s('web1')) +
                       ans_err(7, 16, 'busy') +
                       call(VM, P_WEB1, 'InitStart', ''),
    'lifecycle': call(VM, P_WEB1, 'InitStart', '') + ans_vm(1) +
                 call(VM, P_WEB1, 'InitDone', '') + ans_vm(2, 0, 256, 32) +
                 call(VM, P_WEB1, 'InitAbort', '') + ans_err(4, 77, 'wrong state') +
                 call(VM, P_WEB1, 'Terminate', '') + ans_vm(0),
    'lifecycle-odd': call(VM, P_WEB1, 'InitStart', '') + ans_vm(5) +
                     call(VM, P_WEB1, 'InitDone', '') + ans_vm(3, 1 << 63, 7, 31) +
                     call(VM, P_WEB1, 'Terminate', '') + ans_data(b'x') +
                     call(VM, P_WEB1, 'InitAbort', '') + ans_err(12, 0, ''),
    'pages': call(VM, P_WEB1, 'PageIn', 'tb', t(0x1000) + b(1)) + ans_vm(1) +
             call(VM, P_WEB1, 'PageOut', 't', t(0x1000)) + ans_err(9, 34, 'range') +
             b''.join(call(VM, P_WEB1, m, 'tt', t(0x2000) + t(4)) + ans_vm(1)
                      for m in ['Share', 'Unshare', 'DmaShare', 'DmaUnshare']),
    'rw': call(VM, P_WEB1, 'GuestWrite', 'tay', t(0) + ay(b'hello')) + ANS_NONE +
          call(VM, P_WEB1, 'GuestRead', 'tu', t(0) + u(5)) + ans_data(b'hello') +
          call(VM, P_WEB1, 'HostRead', 'tu', t(1 << 63) + u(0xffffffff)) +
          call(VM, P_WEB1, 'HostRead', 'tu', t(0) + u(4)) + ans_data(b'') +
          call(VM, P_WEB1, 'Snapshot', '') +
          ans_snap([(0, 200, 0, 0, 0), (200, 0, 2, 1, 1), (1 << 63, 1 << 63, 300, 1, 0xffffffff)]),
    'wrong-answers': call(VM, P_WEB1, 'GuestRead', 'tu', t(0) + u(5)) + ans_vm(0) +
                     call(VM, P_WEB1, 'Snapshot', '') + ans_data(b'no') +
                     call(VM, P_WEB1, 'HostRead', 'tu', t(0) + u(1)) + ans_snap([]) +
                     call(MANAGER, P_MANAGER, 'GetVM', 's', s('web1')) + ans_snap([]) +
                     call(VM, P_WEB1, 'Snapshot', '') + ans_err(0, 5, 'ok but errno'),
    'props': call(PROPS, P_MANAGER, 'GetAll', 's', s('org.cvm.Manager1')) +
             call(PROPS, P_WEB1, 'GetAll', 's', s('org.cvm.VM1')) +
             call(PROPS, P_WEB1, 'Get', 'ss', s('org.cvm.VM1') + s('State')) +
             call(PROPS, P_MANAGER, 'Get', 'ss', s('org.cvm.Manager1') + s('PoolFreePages')) +
             call(PROPS, P_WEB1, 'Set', 'ssv', s('org.cvm.VM1') + s('State') + bytes([4]) + s('secure')),
    'introspect': call(INTRO, P_MANAGER, 'Introspect', '') +
                  call(INTRO, P_PREFIX, 'Introspect', '') +
                  call(INTRO, P_ROOT, 'Introspect', '') +
                  call(INTRO, P_WEB1, 'Introspect', '') +
                  call(OBJMGR, P_MANAGER, 'GetManagedObjects', ''),
    'wrong-sigs': call(MANAGER, P_MANAGER, 'CreateVM', 's', s('web3')) +
                  call(VM, P_WEB1, 'PageIn', own_sig('ts'), t(1) + s('yes')) +
                  call(VM, P_WEB1, 'GuestWrite', own_sig('tas'), t(1) + bytes([2]) + s('a') + s('b')) +
                  call(MANAGER, P_MANAGER, 'GetVM', own_sig('v'), bytes([4]) + s('web1')),
    'other-names': call(VM, P_NAME, 'InitStart', '', name='web1') + ans_vm(1) +
                   call(VM, P_NAME, 'Snapshot', '', name='') +
                   call(VM, P_NAME, 'Snapshot', '', name='caf\xe9/../x') +
                   call(VM, P_MANAGER, 'InitStart', '') +
                   call(MANAGER, P_WEB1, 'ListVMs', ''),
    'unknown-member': call(NOIFACE, P_WEB1, bytes([0xf5]) + s('Frobnicate'), '') +
                      call(NOIFACE, P_WEB1, 'Snapshot', '') +
                      call(NOIFACE, P_MANAGER, 'GetVM', 's', s('web1')),
    'no-reply-expected': bytes([0x80 | VM << 3 | P_WEB1, MEMBERS.index('GuestRead'),
                                SIGS.index('tu')]) + t(0) + u(3) + ans_data(b'abc') +
                         call(MANAGER, P_MANAGER, 'ListVMs', ''),
}

out = sys.argv[1]
os.makedirs(out, exist_ok=True)
for name, data in SEEDS.items():
    with open(os.path.join(out, name), 'wb') as f:
        f.write(data)
