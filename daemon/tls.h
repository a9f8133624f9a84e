/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * tls.h - the remote API: the socket protocol over mutual TLS (DESIGN §9).
 *
 * tls.c holds the credentials (CA, certificate, key, CRL; reloaded on
 * SIGHUP) and the subject-DN privilege patterns; tls-listen.c the
 * listener and each connection, TLS driven through memory BIOs on the
 * libuv loop so a handshake never blocks it.
 */
#ifndef CVMD_TLS_H
#define CVMD_TLS_H

#include <stdbool.h>
#include <openssl/ssl.h>

#include "cvmd.h"

/* Why a TLS client was refused; each has a counter in cvmctl status. */
enum cvmd_tls_refusal {
	CVMD_TLS_NO_CERT,	/* no client certificate */
	CVMD_TLS_UNKNOWN_CA,	/* not signed by tls_ca */
	CVMD_TLS_EXPIRED,	/* outside its validity dates */
	CVMD_TLS_REVOKED,	/* on the CRL (at handshake or SIGHUP) */
	CVMD_TLS_DENIED,	/* its DN does not allow the operation */
	CVMD_TLS_FAILED,	/* any other handshake failure */
	CVMD_TLS_NR_REFUSALS
};

struct cvmd_tls {
	struct cvmd *d;
	SSL_CTX *ctx;			/* new handshakes; old ones keep theirs */
	X509_STORE *store;		/* ctx's, for re-checks on reload */
	bool crl_loaded;
	uv_tcp_t server;
	uv_timer_t sweep;		/* drops handshakes that take too long */
	bool listening;
	bool activated;			/* the socket came from cvmd-tls.socket */
	struct list_head conns;
	unsigned int nr_conns;
	uint64_t refused[CVMD_TLS_NR_REFUSALS];
	uint64_t handshakes;		/* completed */
};

/* tls.c */
int cvmd_tls_context(const struct cvmd_config *cfg, SSL_CTX **ret_ctx,
		     bool *ret_crl, char *why, size_t why_size);
int cvmd_tls_subject(X509 *cert, char *buf, size_t size);
bool cvmd_tls_dn_matches(const char *patterns, const char *dn);
enum cvmd_tls_refusal cvmd_tls_classify(long verify_result, bool no_cert);
const char *cvmd_tls_refusal_name(enum cvmd_tls_refusal r);

/* tls-listen.c */
int cvmd_tls_start(struct cvmd *d);
int cvmd_tls_reload(struct cvmd *d);
void cvmd_tls_stop(struct cvmd *d);
void cvmd_tls_free(struct cvmd *d);
int cvmd_listen_fd_unix(void);
void cvmd_tls_fill_status(struct cvmd *d, Cvm__DaemonStatus *st);

#endif /* CVMD_TLS_H */
