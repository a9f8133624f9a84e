// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * tls.c - the remote API's credentials and identities: the server context
 * (TLS 1.2 at the least, 1.3 preferred; client certificates required and
 * verified against tls_ca and, when set, tls_crl), the client's subject DN
 * in RFC 4514 form, the privilege patterns over it, and why a handshake
 * was refused. No I/O besides reading the PEM files: tls-listen.c drives
 * the connections.
 */
#include <errno.h>
#include <fnmatch.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509v3.h>

#include "tls.h"

static void openssl_why(char *why, size_t size, const char *what,
			const char *path)
{
	unsigned long e = ERR_peek_last_error();

	snprintf(why, size, "%s %s: %s", what, path,
		 e ? ERR_reason_error_string(e) : "unreadable");
	ERR_clear_error();
}

/*
 * cvmd_tls_context() - a server context from the configured files
 * @ret_crl: set when a CRL was loaded (revocation is then checked)
 * @why: what went wrong, for the caller's log line
 *
 * Return: 0, or -EINVAL (@why says which file and why), -ENOMEM.
 */
int cvmd_tls_context(const struct cvmd_config *cfg, SSL_CTX **ret_ctx,
		     bool *ret_crl, char *why, size_t why_size)
{
	X509_STORE *store;
	SSL_CTX *ctx;

	*ret_crl = false;
	ctx = SSL_CTX_new(TLS_server_method());
	if (!ctx) {
		snprintf(why, why_size, "out of memory");
		return -ENOMEM;
	}
	SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
	/* No renegotiation, no compression, no tickets to keep. */
	SSL_CTX_set_options(ctx, SSL_OP_NO_RENEGOTIATION |
				     SSL_OP_NO_COMPRESSION | SSL_OP_NO_TICKET |
				     SSL_OP_CIPHER_SERVER_PREFERENCE);
	SSL_CTX_set_num_tickets(ctx, 0);
	SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_OFF);
	SSL_CTX_set_verify(
	    ctx, SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT, NULL);
	SSL_CTX_set_verify_depth(ctx, 8);
	if (SSL_CTX_use_certificate_chain_file(ctx, cfg->tls_cert) != 1) {
		openssl_why(why, why_size, "certificate", cfg->tls_cert);
		goto err_free;
	}
	if (SSL_CTX_use_PrivateKey_file(ctx, cfg->tls_key, SSL_FILETYPE_PEM) !=
	    1) {
		openssl_why(why, why_size, "key", cfg->tls_key);
		goto err_free;
	}
	if (SSL_CTX_check_private_key(ctx) != 1) {
		openssl_why(why, why_size, "key does not match", cfg->tls_cert);
		goto err_free;
	}
	if (SSL_CTX_load_verify_locations(ctx, cfg->tls_ca, NULL) != 1) {
		openssl_why(why, why_size, "CA", cfg->tls_ca);
		goto err_free;
	}
	/* The CA's names, so a client with several certificates picks ours. */
	SSL_CTX_set_client_CA_list(ctx, SSL_load_client_CA_file(cfg->tls_ca));
	if (cfg->tls_crl && *cfg->tls_crl) {
		store = SSL_CTX_get_cert_store(ctx);
		/* X509_STORE_load_file takes the CRLs a PEM file holds. */
		if (X509_STORE_load_file(store, cfg->tls_crl) != 1) {
			openssl_why(why, why_size, "CRL", cfg->tls_crl);
			goto err_free;
		}
		X509_STORE_set_flags(store, X509_V_FLAG_CRL_CHECK);
		*ret_crl = true;
	}
	*ret_ctx = ctx;
	return 0;
err_free:
	SSL_CTX_free(ctx);
	return -EINVAL;
}

/*
 * The subject DN as RFC 4514 writes it: most specific first, comma
 * separated, RFC 2253 escaping (XN_FLAG_RFC2253 includes the reversal),
 * UTF-8 kept as is. Return 0, -ENAMETOOLONG or -ENOMEM.
 */
int cvmd_tls_subject(X509 *cert, char *buf, size_t size)
{
	unsigned long flags = XN_FLAG_RFC2253 & ~ASN1_STRFLGS_ESC_MSB;
	BIO *b = BIO_new(BIO_s_mem());
	char *data;
	long len;
	int ret = 0;

	if (!b)
		return -ENOMEM;
	if (X509_NAME_print_ex(b, X509_get_subject_name(cert), 0, flags) < 0) {
		ret = -ENOMEM;
		goto out;
	}
	len = BIO_get_mem_data(b, &data);
	if (len < 0 || (size_t)len >= size) {
		ret = -ENAMETOOLONG;
		goto out;
	}
	memcpy(buf, data, len);
	buf[len] = '\0';
out:
	BIO_free(b);
	return ret;
}

/*
 * Does @dn match one of @patterns, comma-separated fnmatch() globs over the
 * whole DN? A comma inside a pattern is written "\," (a DN has commas);
 * "*" matches commas too (no FNM_PATHNAME). NULL or "" matches nothing.
 */
bool cvmd_tls_dn_matches(const char *patterns, const char *dn)
{
	char pat[1024];
	const char *p = patterns;
	size_t n;

	if (!p)
		return false;
	while (*p) {
		while (*p == ' ')
			p++;
		for (n = 0; *p && *p != ','; p++) {
			if (*p == '\\' && p[1] == ',')
				p++;
			if (n + 1 >= sizeof(pat))
				return false;
			pat[n++] = *p;
		}
		while (n && pat[n - 1] == ' ')
			n--;
		pat[n] = '\0';
		if (n && !fnmatch(pat, dn, 0))
			return true;
		if (*p == ',')
			p++;
	}
	return false;
}

/*
 * Why a handshake failed, from the verification result and, when that
 * is X509_V_OK, whether OpenSSL said the peer sent no certificate.
 */
enum cvmd_tls_refusal cvmd_tls_classify(long verify_result, bool no_cert)
{
	switch (verify_result) {
	case X509_V_OK:
		return no_cert ? CVMD_TLS_NO_CERT : CVMD_TLS_FAILED;
	case X509_V_ERR_CERT_HAS_EXPIRED:
	case X509_V_ERR_CERT_NOT_YET_VALID:
		return CVMD_TLS_EXPIRED;
	case X509_V_ERR_CERT_REVOKED:
		return CVMD_TLS_REVOKED;
	case X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT:
	case X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT_LOCALLY:
	case X509_V_ERR_UNABLE_TO_VERIFY_LEAF_SIGNATURE:
	case X509_V_ERR_DEPTH_ZERO_SELF_SIGNED_CERT:
	case X509_V_ERR_SELF_SIGNED_CERT_IN_CHAIN:
	case X509_V_ERR_CERT_SIGNATURE_FAILURE:
	case X509_V_ERR_CERT_UNTRUSTED:
		return CVMD_TLS_UNKNOWN_CA;
	}
	return CVMD_TLS_FAILED;
}

const char *cvmd_tls_refusal_name(enum cvmd_tls_refusal r)
{
	switch (r) {
	case CVMD_TLS_NO_CERT:
		return "no client certificate";
	case CVMD_TLS_UNKNOWN_CA:
		return "certificate not signed by tls_ca";
	case CVMD_TLS_EXPIRED:
		return "certificate expired or not yet valid";
	case CVMD_TLS_REVOKED:
		return "certificate revoked";
	case CVMD_TLS_DENIED:
		return "DN not allowed";
	case CVMD_TLS_FAILED:
		return "handshake failed";
	case CVMD_TLS_NR_REFUSALS:
		break;
	}
	return "?";
}
