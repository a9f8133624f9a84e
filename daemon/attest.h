/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * attest.h - signed launch reports (DESIGN §9, docs/attestation.md).
 */
#ifndef CVMD_ATTEST_H
#define CVMD_ATTEST_H

#include <time.h>

#include "cvmd.h"

/* The longest nonce a verifier may send, in bytes. */
#define CVMD_ATTEST_NONCE_MAX 64

/* The API's attest request: a read, answered at once with a LaunchReport. */
void cvmd_attest_request(struct cvmd *d, struct cvmd_client *c,
			 const Cvm__Request *req);

/*
 * The report's text for @vm (docs/attestation.md), signed by nobody yet:
 * malloc'd into *ret_text. @host_dn names the signer. Return 0 or -ENOMEM.
 */
int cvmd_attest_payload(const struct cvmd_vm *vm, const uint8_t *nonce,
			size_t nonce_len, const char *host_dn,
			const char *algorithm, time_t now, char **ret_text,
			size_t *ret_len);

#endif /* CVMD_ATTEST_H */
