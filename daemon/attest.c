// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * attest.c - signed launch reports (docs/attestation.md).
 *
 * A report is a short text, one "key: value" line per field in a fixed
 * order, signed as it is, byte for byte, with the host's attestation key
 * (attest_key, else the TLS server key): ECDSA P-256 with SHA-256 (DER
 * signature) or Ed25519. The answer carries the text, the signature and
 * the certificate chain; cvmctl writes them as PEM blocks that `openssl`
 * alone verifies. The fields come from the VM's record and the counters
 * its VMM reported when it sealed the launch (init-done), so attest needs
 * no VMM round trip. The root of trust is cvmd's host: the kernel and the
 * key on its disk, no hardware; the report says so.
 *
 * The key and certificate are read at each request (a few hundred bytes),
 * so a renewed certificate is used without a restart.
 */
#include <errno.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

#include "attest.h"

#define ROOT_OF_TRUST                                           \
	"software: the host kernel and the host's attestation " \
	"key; no hardware attestation"
#define CERT_MAX (64 * 1024) /* the chain file, at most */

static void put_hex(FILE *f, const uint8_t *p, size_t len)
{
	size_t i;

	for (i = 0; i < len; i++)
		fprintf(f, "%02x", p[i]);
}

/* Printable ASCII only: a value must not start a line of its own. */
static bool printable(const char *s)
{
	for (; *s; s++)
		if (*s < 0x20 || *s > 0x7e)
			return false;
	return true;
}

static void make_printable(char *s)
{
	for (; *s; s++)
		if (*s < 0x20 || *s > 0x7e)
			*s = '?';
}

int cvmd_attest_payload(const struct cvmd_vm *vm, const uint8_t *nonce,
			size_t nonce_len, const char *host_dn,
			const char *algorithm, time_t now, char **ret_text,
			size_t *ret_len)
{
	char host[256] = "", stamp[32];
	char *text = NULL;
	size_t len = 0;
	struct tm tm;
	FILE *f;

	/*
	 * A name restored from a tampered registry could hold a newline and
	 * forge a field: refused, not escaped.
	 */
	if (!printable(vm->rec.name) || !printable(vm->rec.uuid))
		return -EINVAL;
	if (gethostname(host, sizeof(host) - 1))
		snprintf(host, sizeof(host), "unknown");
	make_printable(host);
	gmtime_r(&now, &tm);
	strftime(stamp, sizeof(stamp), "%Y-%m-%dT%H:%M:%SZ", &tm);
	f = open_memstream(&text, &len);
	if (!f)
		return -ENOMEM;
	/* Fixed order, no field repeated; values never hold a newline. */
	fprintf(f, "cvm-launch-report: 1\n");
	fprintf(f, "uuid: %s\n", vm->rec.uuid);
	fprintf(f, "name: %s\n", vm->rec.name);
	fprintf(f, "state: %s\n", cvmd_state_name(vm->rec.state));
	fputs("measurement: ", f);
	if (vm->counts.sealed)
		put_hex(f, vm->counts.measurement,
			sizeof(vm->counts.measurement));
	else
		fputs("none", f);
	fprintf(f, "\nmeasured_pages: %llu\n",
		(unsigned long long)vm->counts.measured);
	fputs("nonce: ", f);
	put_hex(f, nonce, nonce_len);
	fprintf(f, "\ntimestamp: %s\n", stamp);
	fprintf(f, "time_unix: %lld\n", (long long)now);
	fprintf(f, "host: %s\n", host);
	fprintf(f, "host_certificate_subject: %s\n", host_dn);
	fprintf(f, "cvm_version: %s\n", CVMD_VERSION);
	fprintf(f, "root_of_trust: %s\n", ROOT_OF_TRUST);
	fprintf(f, "signature_algorithm: %s\n", algorithm);
	if (fclose(f)) {
		free(text);
		return -ENOMEM;
	}
	*ret_text = text;
	*ret_len = len;
	return 0;
}

/* The chain file's text, whole (PEM), and its first certificate. */
static int read_chain(const char *path, char **ret_pem, X509 **ret_leaf)
{
	char *pem = NULL;
	size_t len = 0, n;
	BIO *bio;
	FILE *f;

	f = fopen(path, "re");
	if (!f)
		return -errno;
	pem = malloc(CERT_MAX + 1);
	if (!pem) {
		fclose(f);
		return -ENOMEM;
	}
	while ((n = fread(pem + len, 1, CERT_MAX + 1 - len, f)) > 0)
		len += n;
	fclose(f);
	if (len > CERT_MAX) {
		free(pem);
		return -EFBIG;
	}
	pem[len] = '\0';
	bio = BIO_new_mem_buf(pem, len);
	*ret_leaf = bio ? PEM_read_bio_X509(bio, NULL, NULL, NULL) : NULL;
	BIO_free(bio);
	if (!*ret_leaf) {
		free(pem);
		return -EBADMSG;
	}
	*ret_pem = pem;
	return 0;
}

static EVP_PKEY *read_key(const char *path, int *ret_err)
{
	EVP_PKEY *key;
	FILE *f = fopen(path, "re");

	if (!f) {
		*ret_err = -errno;
		return NULL;
	}
	key = PEM_read_PrivateKey(f, NULL, NULL, NULL);
	fclose(f);
	if (!key)
		*ret_err = -EBADMSG;
	return key;
}

/* ECDSA over P-256 with SHA-256, or Ed25519; NULL for any other key. */
static const char *algorithm_of(EVP_PKEY *key, const EVP_MD **ret_md)
{
	char group[64];

	*ret_md = NULL;
	if (EVP_PKEY_is_a(key, "ED25519"))
		return "ed25519";
	if (EVP_PKEY_is_a(key, "EC") &&
	    EVP_PKEY_get_group_name(key, group, sizeof(group), NULL) &&
	    (!strcmp(group, "prime256v1") || !strcmp(group, "P-256"))) {
		*ret_md = EVP_sha256();
		return "ecdsa-p256-sha256";
	}
	return NULL;
}

static int sign(EVP_PKEY *key, const EVP_MD *md, const char *text, size_t len,
		uint8_t **ret_sig, size_t *ret_sig_len)
{
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();
	uint8_t *sig = NULL;
	size_t sig_len = 0;
	int ret = -EIO;

	if (!ctx)
		return -ENOMEM;
	if (EVP_DigestSignInit(ctx, NULL, md, NULL, key) != 1 ||
	    EVP_DigestSign(ctx, NULL, &sig_len, (const uint8_t *)text, len) !=
		1)
		goto out;
	sig = malloc(sig_len);
	if (!sig) {
		ret = -ENOMEM;
		goto out;
	}
	if (EVP_DigestSign(ctx, sig, &sig_len, (const uint8_t *)text, len) !=
	    1) {
		free(sig);
		goto out;
	}
	*ret_sig = sig;
	*ret_sig_len = sig_len;
	ret = 0;
out:
	EVP_MD_CTX_free(ctx);
	return ret;
}

/* The certificate's subject in RFC 4514 form (CN=host1,O=example). */
static void subject_of(X509 *cert, char *buf, size_t size)
{
	BIO *bio = BIO_new(BIO_s_mem());
	int n = 0;

	buf[0] = '\0';
	if (!bio)
		return;
	if (X509_NAME_print_ex(bio, X509_get_subject_name(cert), 0,
			       XN_FLAG_RFC2253) >= 0)
		n = BIO_read(bio, buf, size - 1);
	buf[n > 0 ? n : 0] = '\0';
	BIO_free(bio);
}

void cvmd_attest_request(struct cvmd *d, struct cvmd_client *c,
			 const Cvm__Request *req)
{
	/* Unless attest_key names another, the TLS server's key signs. */
	const char *key_path =
	    d->cfg.attest_key ? d->cfg.attest_key : d->cfg.tls_key;
	const char *cert_path =
	    d->cfg.attest_cert ? d->cfg.attest_cert : d->cfg.tls_cert;
	const Cvm__AttestRequest *rq = req->attest;
	char *payload = NULL, *chain = NULL, dn[512];
	uint8_t *sig = NULL;
	size_t payload_len, sig_len;
	Cvm__LaunchReport report;
	Cvm__Response resp;
	EVP_PKEY *key = NULL;
	const char *algorithm;
	X509 *leaf = NULL;
	const EVP_MD *md;
	struct cvmd_vm *vm;
	int ret = 0;

	if (rq->nonce.len > CVMD_ATTEST_NONCE_MAX) {
		cvmd_client_error(c, req->id, -EINVAL,
				  "attest: nonce over %d "
				  "bytes",
				  CVMD_ATTEST_NONCE_MAX);
		return;
	}
	vm = cvmd_vm_find(d, rq->name);
	if (!vm || vm->destroying) {
		cvmd_client_error(c, req->id, -ENOENT, "no VM named '%s'",
				  rq->name);
		return;
	}
	key = read_key(key_path, &ret);
	if (!key) {
		cvmd_client_error(c, req->id, ret,
				  "attest '%s': cannot read "
				  "the attestation key %s: %s",
				  rq->name, key_path,
				  ret == -EBADMSG ? "not a PEM "
						    "private key"
						  : strerror(-ret));
		goto out;
	}
	algorithm = algorithm_of(key, &md);
	if (!algorithm) {
		ret = -EINVAL;
		cvmd_client_error(c, req->id, ret,
				  "attest '%s': the "
				  "attestation key %s is neither ECDSA P-256 "
				  "nor Ed25519",
				  rq->name, key_path);
		goto out;
	}
	ret = read_chain(cert_path, &chain, &leaf);
	if (!ret && X509_check_private_key(leaf, key) != 1)
		ret = -EKEYREJECTED;
	if (ret) {
		cvmd_client_error(c, req->id, ret,
				  "attest '%s': the "
				  "certificate %s: %s",
				  rq->name, cert_path,
				  ret == -EKEYREJECTED ? "not the attestation "
							 "key's"
				  : ret == -EBADMSG    ? "no PEM "
							 "certificate in it"
						       : strerror(-ret));
		goto out;
	}
	subject_of(leaf, dn, sizeof(dn));
	/* One line in the report, whatever the subject holds. */
	make_printable(dn);
	ret =
	    cvmd_attest_payload(vm, rq->nonce.data, rq->nonce.len, dn,
				algorithm, time(NULL), &payload, &payload_len);
	if (ret == -EINVAL) {
		cvmd_client_error(
		    c, req->id, ret,
		    "attest: the VM's name or "
		    "uuid is not printable ASCII (a damaged record)");
		goto out;
	}
	if (!ret)
		ret = sign(key, md, payload, payload_len, &sig, &sig_len);
	if (ret) {
		cvmd_client_error(c, req->id, ret,
				  "attest '%s': cannot sign "
				  "the report: %s",
				  rq->name, strerror(-ret));
		goto out;
	}
	cvm__launch_report__init(&report);
	report.payload.data = (uint8_t *)payload;
	report.payload.len = payload_len;
	report.signature.data = sig;
	report.signature.len = sig_len;
	report.certificates = chain;
	cvm__response__init(&resp);
	resp.id = req->id;
	resp.result_case = CVM__RESPONSE__RESULT_REPORT;
	resp.report = &report;
	cvmd_client_send(c, &resp);
	cvmd_log(LOG_INFO, "vm %s: launch report signed (uid %u)", vm->rec.name,
		 (unsigned int)c->uid);
out:
	EVP_PKEY_free(key);
	X509_free(leaf);
	free(payload);
	free(chain);
	free(sig);
}
