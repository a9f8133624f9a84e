// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * test-tls.c - the remote API's pure logic (daemon/tls.c): the subject DN
 * in RFC 4514 order, the privilege patterns, and why a handshake was
 * refused, cell by cell; listen_tls and the tls_* keys (cvmd-config.c).
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <openssl/x509.h>

#include "tls.h"

/* A certificate whose subject has these (field, value) pairs, in order. */
static X509 *cert_with(const char *const *fields)
{
	X509 *x = X509_new();
	X509_NAME *n = X509_get_subject_name(x);

	for (; *fields; fields += 2)
		assert_int_equal(
		    X509_NAME_add_entry_by_txt(n, fields[0], MBSTRING_UTF8,
					       (const unsigned char *)fields[1],
					       -1, -1, 0),
		    1);
	return x;
}

static void test_subject_rfc4514(void **state)
{
	const char *const plain[] = { "O", "example", "CN", "ops1", NULL };
	const char *const comma[] = { "O", "a, b", "CN", "x+y", NULL };
	const char *const utf8[] = { "CN", "op\xc3\xa9", NULL };
	char dn[64];
	X509 *x;

	(void)state;
	/* Certificate order O, CN: RFC 4514 writes the last RDN first. */
	x = cert_with(plain);
	assert_int_equal(cvmd_tls_subject(x, dn, sizeof(dn)), 0);
	assert_string_equal(dn, "CN=ops1,O=example");
	assert_int_equal(cvmd_tls_subject(x, dn, 10), -ENAMETOOLONG);
	X509_free(x);
	/* Special characters escaped, so a DN cannot forge another. */
	x = cert_with(comma);
	assert_int_equal(cvmd_tls_subject(x, dn, sizeof(dn)), 0);
	assert_string_equal(dn, "CN=x\\+y,O=a\\, b");
	X509_free(x);
	/* UTF-8 kept as it is. */
	x = cert_with(utf8);
	assert_int_equal(cvmd_tls_subject(x, dn, sizeof(dn)), 0);
	assert_string_equal(dn, "CN=op\xc3\xa9");
	X509_free(x);
}

static void test_dn_patterns(void **state)
{
	(void)state;
	assert_true(cvmd_tls_dn_matches("CN=ops*", "CN=ops1,O=example"));
	/* "*" crosses commas: the whole DN is one string. */
	assert_true(cvmd_tls_dn_matches("*O=example", "CN=ops1,O=example"));
	/* The whole DN must match, not a prefix. */
	assert_false(cvmd_tls_dn_matches("CN=ops1", "CN=ops1,O=example"));
	/* "\," is a comma inside a pattern. */
	assert_true(
	    cvmd_tls_dn_matches("CN=ops*\\,O=example", "CN=ops1,O=example"));
	assert_false(
	    cvmd_tls_dn_matches("CN=ops*\\,O=example", "CN=ops1,O=other"));
	/* A list: any pattern; spaces around items ignored. */
	assert_true(cvmd_tls_dn_matches("CN=a, CN=b*", "CN=b,O=x"));
	assert_true(cvmd_tls_dn_matches(" CN=a ,CN=b ", "CN=b"));
	assert_false(cvmd_tls_dn_matches("CN=a, CN=c*", "CN=b,O=x"));
	/* Nothing set: nobody. */
	assert_false(cvmd_tls_dn_matches("", "CN=ops1"));
	assert_false(cvmd_tls_dn_matches(NULL, "CN=ops1"));
	assert_false(cvmd_tls_dn_matches(",,", "CN=ops1"));
}

static void test_listen(void **state)
{
	unsigned int port;
	char host[64];

	(void)state;
	assert_int_equal(
	    cvmd_config_parse_listen("0.0.0.0", host, sizeof(host), &port), 0);
	assert_string_equal(host, "0.0.0.0");
	assert_int_equal(port, 16520);
	assert_int_equal(cvmd_config_parse_listen("192.0.2.6:443", host,
						  sizeof(host), &port),
			 0);
	assert_string_equal(host, "192.0.2.6");
	assert_int_equal(port, 443);
	assert_int_equal(
	    cvmd_config_parse_listen("[::]:16521", host, sizeof(host), &port),
	    0);
	assert_string_equal(host, "::");
	assert_int_equal(port, 16521);
	assert_int_equal(
	    cvmd_config_parse_listen("[::1]", host, sizeof(host), &port), 0);
	assert_int_equal(port, 16520);
	assert_int_equal(
	    cvmd_config_parse_listen("::1", host, sizeof(host), &port),
	    -EINVAL);
	assert_int_equal(
	    cvmd_config_parse_listen("", host, sizeof(host), &port), -EINVAL);
	assert_int_equal(
	    cvmd_config_parse_listen(":443", host, sizeof(host), &port),
	    -EINVAL);
	assert_int_equal(
	    cvmd_config_parse_listen("h:0", host, sizeof(host), &port),
	    -EINVAL);
	assert_int_equal(
	    cvmd_config_parse_listen("h:65536", host, sizeof(host), &port),
	    -EINVAL);
	assert_int_equal(
	    cvmd_config_parse_listen("h:-1", host, sizeof(host), &port),
	    -EINVAL);
	assert_int_equal(
	    cvmd_config_parse_listen("h:", host, sizeof(host), &port), -EINVAL);
	assert_int_equal(
	    cvmd_config_parse_listen("[::1]x", host, sizeof(host), &port),
	    -EINVAL);
	assert_int_equal(
	    cvmd_config_parse_listen("a-very-long-host-name", host, 8, &port),
	    -ENAMETOOLONG);
}

static void test_config_keys(void **state)
{
	struct cvmd_config cfg;

	(void)state;
	assert_int_equal(cvmd_config_defaults(&cfg), 0);
	/* Off by default; libvirt's PKI layout. */
	assert_null(cfg.listen_tls);
	assert_string_equal(cfg.tls_ca, "/etc/pki/CA/cacert.pem");
	assert_string_equal(cfg.tls_cert, "/etc/pki/cvm/servercert.pem");
	assert_string_equal(cfg.tls_key, "/etc/pki/cvm/private/serverkey.pem");
	assert_string_equal(cfg.tls_crl, "");
	assert_string_equal(cfg.tls_allow_manage, "");
	assert_int_equal(cvmd_config_set(&cfg, "listen_tls", "192.0.2.6"), 0);
	assert_string_equal(cfg.listen_tls, "192.0.2.6");
	/* A bad value is refused and leaves the setting as it was. */
	assert_int_equal(cvmd_config_set(&cfg, "listen_tls", "h:0"), -EINVAL);
	assert_int_equal(cvmd_config_set(&cfg, "listen_tls", "::1"), -EINVAL);
	assert_string_equal(cfg.listen_tls, "192.0.2.6");
	assert_int_equal(cvmd_config_set(&cfg, "listen_tls", ""), 0);
	assert_int_equal(
	    cvmd_config_set(&cfg, "tls_allow_memory", "CN=a\\,O=b"), 0);
	assert_string_equal(cfg.tls_allow_memory, "CN=a\\,O=b");
	cvmd_config_free(&cfg);
}

static void test_classify(void **state)
{
	(void)state;
	assert_int_equal(cvmd_tls_classify(X509_V_OK, true), CVMD_TLS_NO_CERT);
	assert_int_equal(cvmd_tls_classify(X509_V_OK, false), CVMD_TLS_FAILED);
	assert_int_equal(cvmd_tls_classify(X509_V_ERR_CERT_HAS_EXPIRED, false),
			 CVMD_TLS_EXPIRED);
	assert_int_equal(
	    cvmd_tls_classify(X509_V_ERR_CERT_NOT_YET_VALID, false),
	    CVMD_TLS_EXPIRED);
	assert_int_equal(cvmd_tls_classify(X509_V_ERR_CERT_REVOKED, false),
			 CVMD_TLS_REVOKED);
	assert_int_equal(
	    cvmd_tls_classify(X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT_LOCALLY,
			      false),
	    CVMD_TLS_UNKNOWN_CA);
	assert_int_equal(
	    cvmd_tls_classify(X509_V_ERR_DEPTH_ZERO_SELF_SIGNED_CERT, false),
	    CVMD_TLS_UNKNOWN_CA);
	assert_int_equal(
	    cvmd_tls_classify(X509_V_ERR_SELF_SIGNED_CERT_IN_CHAIN, false),
	    CVMD_TLS_UNKNOWN_CA);
	assert_int_equal(
	    cvmd_tls_classify(X509_V_ERR_CERT_SIGNATURE_FAILURE, false),
	    CVMD_TLS_UNKNOWN_CA);
	assert_int_equal(cvmd_tls_classify(X509_V_ERR_INVALID_PURPOSE, false),
			 CVMD_TLS_FAILED);
	assert_string_equal(cvmd_tls_refusal_name(CVMD_TLS_REVOKED),
			    "certificate revoked");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_subject_rfc4514),
		cmocka_unit_test(test_dn_patterns),
		cmocka_unit_test(test_listen),
		cmocka_unit_test(test_config_keys),
		cmocka_unit_test(test_classify),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
