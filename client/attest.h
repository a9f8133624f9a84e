/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * attest.h - cvmctl attest and verify-report (docs/attestation.md): write
 * a launch report cvmd signed, and check one offline.
 */
#ifndef CVMCTL_ATTEST_H
#define CVMCTL_ATTEST_H

#include <stddef.h>
#include <stdint.h>

#include "verbs.h"

/* The longest nonce, in bytes (cvmd refuses more). */
#define CVMCTL_NONCE_MAX 64

/* attest NAME [--nonce HEX] [-o FILE]: the request, and the answer. */
int cvmctl_attest_build(struct cvm_call *c, char **args);
int cvmctl_attest_print(struct cvm_call *c, const Cvm__Response *resp);

/* verify-report FILE --ca CAFILE [...]: parsed, then run without cvmd. */
int cvmctl_verify_build(struct cvm_call *c, char **args);
int cvmctl_verify_run(struct cvm_call *c);

/* Hex (either case, even length) into bytes: 0, -EINVAL, -E2BIG. */
int cvmctl_parse_hex(const char *s, uint8_t *buf, size_t size, size_t *ret_len);

#endif /* CVMCTL_ATTEST_H */
