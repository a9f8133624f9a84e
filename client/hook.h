/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * hook.h - `cvmctl hook qemu DOMAIN OP SUBOP EXTRA`, libvirt's qemu hook
 * (installed as /etc/libvirt/hooks/qemu.d/cvm, domain XML on stdin). The
 * command table (verbs.c) parses the command line as for any command;
 * cvmctl_hook_build() keeps the arguments, and cvmctl_hook_run() does the
 * work: several requests on one connection within one deadline, or none at
 * all for a domain that did not opt in. docs/libvirt.md says what each call
 * does; hook-xml.h holds the pure parts.
 */
#ifndef CVMCTL_HOOK_H
#define CVMCTL_HOOK_H

#include "verbs.h"

/* The whole hook's bound on cvmd unless --timeout says otherwise. */
#define CVMCTL_HOOK_TIMEOUT_MS 5000

/*
 * The table's build function: check and keep the positional arguments
 * (they point into argv); fill no Request. 0, or -EINVAL after printing a
 * usage error.
 */
int cvmctl_hook_build(struct cvm_call *c, char **args);

/*
 * Run the hook prepared by cvmctl_prepare() (c->uri, c->uri_str), waiting
 * at most timeout_ms (< 0: forever) for cvmd in all. Return the exit
 * status: 0, or 1 with one "cvm: ..." line on stderr. Never writes stdout.
 */
int cvmctl_hook_run(const struct cvm_call *c, int timeout_ms);

#endif /* CVMCTL_HOOK_H */
