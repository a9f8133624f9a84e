// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * attest.c - cvmctl attest and verify-report (docs/attestation.md).
 *
 * The report file is PEM blocks, in this order: "CVM LAUNCH REPORT" (the
 * payload, the exact bytes cvmd signed), "CVM REPORT SIGNATURE" (ECDSA
 * P-256/SHA-256 DER, or Ed25519, over the payload), then the host's
 * certificate and its chain ("CERTIFICATE"). openssl alone verifies it;
 * verify-report does the same checks offline: the chain to --ca, the
 * signature with the first certificate's key, the nonce and measurement.
 */
#include <errno.h>
#include <json-c/json.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509_vfy.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "attest.h"
#include "exitcode.h"
#include "output.h"

#define PEM_PAYLOAD "CVM LAUNCH REPORT"
#define PEM_SIGNATURE "CVM REPORT SIGNATURE"
#define REPORT_MAX (256 * 1024) /* a report file, at most */
#define CHAIN_MAX 16 /* certificates in one report, at most */

static int hexval(char ch)
{
	if (ch >= '0' && ch <= '9')
		return ch - '0';
	if (ch >= 'a' && ch <= 'f')
		return ch - 'a' + 10;
	if (ch >= 'A' && ch <= 'F')
		return ch - 'A' + 10;
	return -1;
}

int cvmctl_parse_hex(const char *s, uint8_t *buf, size_t size, size_t *ret_len)
{
	size_t len = strlen(s), i;
	int hi, lo;

	if (len % 2)
		return -EINVAL;
	if (len / 2 > size)
		return -E2BIG;
	for (i = 0; i < len / 2; i++) {
		hi = hexval(s[2 * i]);
		lo = hexval(s[2 * i + 1]);
		if (hi < 0 || lo < 0)
			return -EINVAL;
		buf[i] = hi << 4 | lo;
	}
	*ret_len = len / 2;
	return 0;
}

static int usage(const char *verb, const char *fmt, const char *arg)
{
	fprintf(stderr, "cvmctl: %s: ", verb);
	fprintf(stderr, fmt, arg);
	fputc('\n', stderr);
	return -EINVAL;
}

/* --- attest --- */

int cvmctl_attest_build(struct cvm_call *c, char **args)
{
	size_t len = 0;
	int r;

	(void)args;
	if (c->output && !*c->output)
		return usage("attest", "--output: empty file name%s", "");
	if (c->nonce) {
		r = cvmctl_parse_hex(c->nonce, c->nonce_buf,
				     sizeof(c->nonce_buf), &len);
		if (r)
			return usage("attest",
				     r == -E2BIG
					 ? "--nonce: '%s' is "
					   "more than 64 bytes"
					 : "--nonce: '%s' is "
					   "not hex (an even number of digits)",
				     c->nonce);
	}
	cvm__attest_request__init(&c->op.attest);
	c->op.attest.name = (char *)c->name;
	c->op.attest.nonce.data = c->nonce_buf;
	c->op.attest.nonce.len = len;
	c->req.op_case = CVM__REQUEST__OP_ATTEST;
	c->req.attest = &c->op.attest;
	return 0;
}

static int write_report(FILE *f, const Cvm__LaunchReport *rep)
{
	BIO *bio = BIO_new_fp(f, BIO_NOCLOSE);
	int ok;

	if (!bio)
		return -ENOMEM;
	ok = PEM_write_bio(bio, PEM_PAYLOAD, "", rep->payload.data,
			   rep->payload.len) > 0 &&
	     PEM_write_bio(bio, PEM_SIGNATURE, "", rep->signature.data,
			   rep->signature.len) > 0 &&
	     BIO_puts(bio, rep->certificates) >= 0;
	BIO_free(bio);
	return ok ? 0 : -EIO;
}

int cvmctl_attest_print(struct cvm_call *c, const Cvm__Response *resp)
{
	const Cvm__LaunchReport *rep =
	    resp->result_case == CVM__RESPONSE__RESULT_REPORT ? resp->report
							      : NULL;
	bool to_file = c->output && strcmp(c->output, "-");
	FILE *f = stdout;
	int err = 0;

	if (!rep || !rep->payload.len || !rep->signature.len ||
	    !rep->certificates || !*rep->certificates) {
		fprintf(stderr,
			"cvmctl: attest '%s' failed: cvmd sent no "
			"report\n",
			c->name);
		return CVM_EXIT_FAILED;
	}
	if (to_file) {
		f = fopen(c->output, "we");
		if (!f)
			err = -errno;
	}
	if (!err)
		err = write_report(f, rep);
	if (f && to_file && fclose(f) && !err)
		err = -errno;
	if (err) {
		fprintf(stderr,
			"cvmctl: attest '%s' failed: cannot write "
			"'%s': %s\n",
			c->name, c->output ? c->output : "-", strerror(-err));
		return CVM_EXIT_FAILED;
	}
	if (!to_file)
		return CVM_EXIT_OK;
	if (c->json) {
		struct json_object *o = json_object_new_object();

		if (o) {
			json_object_object_add(o, "name",
					       json_object_new_string(c->name));
			json_object_object_add(
			    o, "file", json_object_new_string(c->output));
		}
		cvm_json_print(stdout, o, false);
	} else {
		printf("%s: launch report written to %s\n", c->name, c->output);
	}
	return CVM_EXIT_OK;
}

/* --- verify-report --- */

int cvmctl_verify_build(struct cvm_call *c, char **args)
{
	uint8_t buf[64];
	size_t len;

	(void)args;
	if (!c->ca || !*c->ca)
		return usage("verify-report",
			     "--ca CAFILE is required (the "
			     "CA the host's certificate must chain to)%s",
			     "");
	if (c->nonce && cvmctl_parse_hex(c->nonce, buf, sizeof(buf), &len))
		return usage("verify-report",
			     "--nonce: '%s' is not hex of at "
			     "most 64 bytes",
			     c->nonce);
	if (c->measurement &&
	    (cvmctl_parse_hex(c->measurement, buf, sizeof(buf), &len) ||
	     len != 32))
		return usage("verify-report",
			     "--measurement: '%s' is not a "
			     "SHA-256 in hex (64 digits)",
			     c->measurement);
	return 0;
}

struct report {
	uint8_t *payload; /* NUL-terminated for parsing */
	long payload_len;
	uint8_t *sig;
	long sig_len;
	STACK_OF(X509) * certs; /* the host's first */
};

static void report_free(struct report *r)
{
	OPENSSL_free(r->payload);
	OPENSSL_free(r->sig);
	sk_X509_pop_free(r->certs, X509_free);
}

/* The PEM blocks of the file, in any order; NULL on success, else why. */
static const char *read_report(const char *path, struct report *r)
{
	char *name = NULL, *header = NULL;
	unsigned char *data = NULL;
	const unsigned char *p;
	long len;
	BIO *bio;
	X509 *x;

	memset(r, 0, sizeof(*r));
	r->certs = sk_X509_new_null();
	bio = BIO_new_file(path, "r");
	if (!bio || !r->certs) {
		BIO_free(bio);
		return "cannot read the file";
	}
	while (PEM_read_bio(bio, &name, &header, &data, &len) == 1) {
		if (!strcmp(name, PEM_PAYLOAD) && !r->payload &&
		    len < REPORT_MAX) {
			r->payload = OPENSSL_zalloc(len + 1);
			if (r->payload)
				memcpy(r->payload, data, len);
			r->payload_len = len;
		} else if (!strcmp(name, PEM_SIGNATURE) && !r->sig) {
			r->sig = data;
			r->sig_len = len;
			data = NULL;
		} else if (!strcmp(name, "CERTIFICATE") &&
			   sk_X509_num(r->certs) < CHAIN_MAX) {
			p = data;
			x = d2i_X509(NULL, &p, len);
			if (x && !sk_X509_push(r->certs, x))
				X509_free(x);
		}
		OPENSSL_free(name);
		OPENSSL_free(header);
		OPENSSL_free(data);
		name = header = NULL;
		data = NULL;
	}
	ERR_clear_error();
	BIO_free(bio);
	if (!r->payload)
		return "malformed report: no " PEM_PAYLOAD " block";
	if (!r->sig)
		return "malformed report: no " PEM_SIGNATURE " block";
	if (!sk_X509_num(r->certs))
		return "malformed report: no host certificate";
	return NULL;
}

/* The host's certificate chains to the CA file, now: NULL, else why. */
static const char *check_chain(const char *ca, struct report *r, char *why,
			       size_t size)
{
	X509_STORE *store = X509_STORE_new();
	X509_STORE_CTX *ctx = X509_STORE_CTX_new();
	const char *ret = NULL;

	if (!store || !ctx || X509_STORE_load_file(store, ca) != 1) {
		snprintf(why, size, "cannot load the CA file '%s'", ca);
		ret = why;
		goto out;
	}
	if (X509_STORE_CTX_init(ctx, store, sk_X509_value(r->certs, 0),
				r->certs) != 1 ||
	    X509_verify_cert(ctx) != 1) {
		int e = X509_STORE_CTX_get_error(ctx);

		snprintf(why, size,
			 "%s: the host certificate does not chain "
			 "to %s (%s)",
			 e == X509_V_ERR_CERT_HAS_EXPIRED ||
				 e == X509_V_ERR_CERT_NOT_YET_VALID
			     ? "certificate not valid now"
			     : "unknown CA",
			 ca, X509_verify_cert_error_string(e));
		ret = why;
	}
out:
	X509_STORE_CTX_free(ctx);
	X509_STORE_free(store);
	ERR_clear_error();
	return ret;
}

static bool signature_ok(struct report *r)
{
	EVP_PKEY *key = X509_get0_pubkey(sk_X509_value(r->certs, 0));
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();
	const EVP_MD *md = NULL;
	bool ok = false;

	/* The key's type decides: Ed25519 signs the bytes, ECDSA a SHA-256. */
	if (key && !EVP_PKEY_is_a(key, "ED25519"))
		md = EVP_sha256();
	if (key && ctx && EVP_DigestVerifyInit(ctx, NULL, md, NULL, key) == 1 &&
	    EVP_DigestVerify(ctx, r->sig, r->sig_len, r->payload,
			     r->payload_len) == 1)
		ok = true;
	EVP_MD_CTX_free(ctx);
	ERR_clear_error();
	return ok;
}

/* The value of "KEY: " on its own line of the payload, or NULL. */
static const char *field(const struct report *r, const char *key, char *buf,
			 size_t size)
{
	const char *p = (const char *)r->payload, *end;
	size_t klen = strlen(key);

	while (p && *p) {
		end = strchr(p, '\n');
		if (!end)
			end = p + strlen(p);
		if (!strncmp(p, key, klen) && p[klen] == ':' &&
		    p[klen + 1] == ' ') {
			p += klen + 2;
			snprintf(buf, size, "%.*s", (int)(end - p), p);
			return buf;
		}
		p = *end ? end + 1 : NULL;
	}
	return NULL;
}

/*
 * Every line is "key: value" and no key comes twice: a value cannot pass
 * for another field (cvmd signs printable values only). NULL, else why.
 */
static const char *check_lines(const struct report *r, char *why, size_t size)
{
	const char *p = (const char *)r->payload, *q, *end, *colon;
	size_t klen;

	for (; *p; p = end + 1) {
		end = strchr(p, '\n');
		colon = strstr(p, ": ");
		if (!end || !colon || colon > end || colon == p)
			return "malformed report: a line is not 'key: value'";
		klen = colon - p;
		for (q = end + 1; *q; q = strchr(q, '\n') + 1) {
			if (!strncmp(q, p, klen) && q[klen] == ':') {
				snprintf(why, size,
					 "malformed report: field "
					 "'%.*s' repeated",
					 (int)klen, p);
				return why;
			}
			if (!strchr(q, '\n'))
				break;
		}
	}
	return NULL;
}

/* Valid: print what the report says; exit 0. */
static int print_valid(struct cvm_call *c, const struct report *r)
{
	static const char *const keys[] = {
		"name",	       "uuid",		 "state",
		"measurement", "measured_pages", "nonce",
		"timestamp",   "host",		 "host_certificate_subject",
		"cvm_version", "root_of_trust",	 "signature_algorithm"
	};
	struct json_object *o = NULL;
	char buf[1024];
	size_t i;

	if (c->json) {
		o = json_object_new_object();
		if (o)
			json_object_object_add(o, "valid",
					       json_object_new_boolean(1));
	} else {
		printf("%s: valid launch report\n", c->name);
	}
	for (i = 0; i < sizeof(keys) / sizeof(keys[0]); i++) {
		if (!field(r, keys[i], buf, sizeof(buf)))
			continue;
		if (o)
			json_object_object_add(o, keys[i],
					       json_object_new_string(buf));
		else if (!c->json)
			printf("  %-25s %s\n", keys[i], buf);
	}
	if (c->json)
		cvm_json_print(stdout, o, false);
	return CVM_EXIT_OK;
}

static int invalid(struct cvm_call *c, const char *why)
{
	fprintf(stderr, "cvmctl: verify-report '%s': invalid: %s\n", c->name,
		why);
	if (c->json) {
		struct json_object *o = json_object_new_object();

		if (o) {
			json_object_object_add(o, "valid",
					       json_object_new_boolean(0));
			json_object_object_add(o, "reason",
					       json_object_new_string(why));
		}
		cvm_json_print(stdout, o, false);
	}
	return CVM_EXIT_FAILED;
}

/* Hex equal, whatever the case of either. */
static bool hex_equal(const char *a, const char *b)
{
	return strlen(a) == strlen(b) && !strcasecmp(a, b);
}

int cvmctl_verify_run(struct cvm_call *c)
{
	char why[768], got[256];
	struct report r;
	const char *err;
	int ret;

	err = read_report(c->name, &r);
	if (err) {
		ret = invalid(c, err);
		goto out;
	}
	err = check_chain(c->ca, &r, why, sizeof(why));
	if (err) {
		ret = invalid(c, err);
		goto out;
	}
	if (!signature_ok(&r)) {
		ret = invalid(c, "bad signature: the report's bytes are not "
				 "what the host's key signed");
		goto out;
	}
	if (strlen((const char *)r.payload) != (size_t)r.payload_len) {
		ret = invalid(c, "malformed report: a NUL byte in the payload");
		goto out;
	}
	err = check_lines(&r, why, sizeof(why));
	if (err) {
		ret = invalid(c, err);
		goto out;
	}
	if (!field(&r, "cvm-launch-report", got, sizeof(got)) ||
	    strcmp(got, "1")) {
		ret = invalid(c, "signed, but not a version 1 launch report");
		goto out;
	}
	if (c->nonce && (!field(&r, "nonce", got, sizeof(got)) ||
			 !hex_equal(got, c->nonce))) {
		snprintf(why, sizeof(why),
			 "nonce mismatch: the report has "
			 "'%s', expected '%s' (a replayed or another "
			 "verifier's report)",
			 got, c->nonce);
		ret = invalid(c, why);
		goto out;
	}
	if (c->measurement && (!field(&r, "measurement", got, sizeof(got)) ||
			       !hex_equal(got, c->measurement))) {
		snprintf(why, sizeof(why),
			 "measurement mismatch: the VM was "
			 "launched with '%s', expected '%s'",
			 got, c->measurement);
		ret = invalid(c, why);
		goto out;
	}
	ret = print_valid(c, &r);
out:
	report_free(&r);
	return ret;
}
