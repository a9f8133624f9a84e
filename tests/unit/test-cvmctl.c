// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * test-cvmctl.c - cvmctl's pure logic (no daemon): SIZE, GPA, timeout and
 * URI parsing, the Status -> exit status table entry by entry, base64 and
 * hex against known vectors, the JSON forms, and every verb's argument
 * checking down to the Request it would send.
 *
 * Expected values are written out here from DESIGN §7 and the brief, not
 * derived from client/.
 */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <cmocka.h>

#include <json-c/json.h>

#include "conn.h"
#include "cvm-frame.h"
#include "exitcode.h"
#include "output.h"
#include "parse.h"
#include "verbs.h"

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))
#define KIB 1024ULL
#define MIB (1024ULL * KIB)
#define GIB (1024ULL * MIB)
#define TIB (1024ULL * GIB)

/* Where a test connects if the code under test wrongly tries to. */
#define NOWHERE "unix:/nonexistent/cvmctl-unit-test.sock"

/* --- capturing stdout/stderr --------------------------------------------- */

struct capture {
	int fd;
	int saved;
	FILE *tmp;
	char text[8192];
};

static void capture_begin(struct capture *cap, int fd)
{
	fflush(fd == 1 ? stdout : stderr);
	cap->fd = fd;
	cap->tmp = tmpfile();
	assert_non_null(cap->tmp);
	cap->saved = dup(fd);
	assert_true(cap->saved >= 0);
	assert_true(dup2(fileno(cap->tmp), fd) >= 0);
}

static const char *capture_end(struct capture *cap)
{
	size_t n;

	fflush(cap->fd == 1 ? stdout : stderr);
	assert_true(dup2(cap->saved, cap->fd) >= 0);
	close(cap->saved);
	rewind(cap->tmp);
	n = fread(cap->text, 1, sizeof(cap->text) - 1, cap->tmp);
	cap->text[n] = '\0';
	fclose(cap->tmp);
	return cap->text;
}

/* Copy what was captured, cut to fit. */
static void copy_text(char *dst, size_t len, const char *src)
{
	size_t n = strlen(src);

	if (!len)
		return;
	if (n >= len)
		n = len - 1;
	memcpy(dst, src, n);
	dst[n] = '\0';
}

/* argv for the code under test: mutable copies, NULL-terminated. */
struct args {
	int argc;
	char *argv[16];
};

static void args_make(struct args *a, const char *const *words)
{
	a->argc = 0;
	a->argv[a->argc++] = strdup("cvmctl");
	for (; *words; words++) {
		assert_true(a->argc < (int)ARRAY_SIZE(a->argv) - 1);
		a->argv[a->argc++] = strdup(*words);
	}
	a->argv[a->argc] = NULL;
}

static void args_free(struct args *a)
{
	int i;

	for (i = 0; i < a->argc; i++)
		free(a->argv[i]);
	a->argc = 0;
}

#define WORDS(...) ((const char *const[]){ __VA_ARGS__, NULL })

/*
 * cvmctl_prepare() on words; the stderr it printed goes to err (or NULL).
 * The call borrows argv, so the last one is kept until the next call.
 */
static struct args prepared_args;

static int prepare(struct cvm_call *c, const char *const *words, char *err,
		   size_t err_len)
{
	struct capture cap;
	int r;

	args_free(&prepared_args);
	args_make(&prepared_args, words);
	capture_begin(&cap, 2);
	r = cvmctl_prepare(prepared_args.argc, prepared_args.argv, c);
	capture_end(&cap);
	if (err)
		copy_text(err, err_len, cap.text);
	return r;
}

/* cvmctl_main() on words: the exit status, with stdout and stderr. */
static int run_main(const char *const *words, char *out, char *err,
		    size_t len)
{
	struct capture cap_out, cap_err;
	struct args a;
	int r;

	args_make(&a, words);
	capture_begin(&cap_out, 1);
	capture_begin(&cap_err, 2);
	r = cvmctl_main(a.argc, a.argv);
	capture_end(&cap_err);
	capture_end(&cap_out);
	if (out)
		copy_text(out, len, cap_out.text);
	if (err)
		copy_text(err, len, cap_err.text);
	args_free(&a);
	return r;
}

/* --- SIZE ---------------------------------------------------------------- */

static void test_size_valid(void **state)
{
	static const struct {
		const char *s;
		uint64_t v;
	} cases[] = {
		{ "0", 0 },
		{ "1", 1 },
		{ "4096", 4096 },
		{ "1K", KIB },
		{ "1KiB", KIB },
		{ "3K", 3 * KIB },
		{ "2M", 2 * MIB },
		{ "2MiB", 2 * MIB },
		{ "1G", GIB },
		{ "5GiB", 5 * GIB },
		{ "1T", TIB },
		{ "2TiB", 2 * TIB },
		{ "007", 7 },
		{ "18446744073709551615", UINT64_MAX },
		{ "16777215T", 16777215ULL * TIB },
		{ "17179869183G", 17179869183ULL * GIB },
	};
	uint64_t v;
	size_t i;

	(void)state;
	for (i = 0; i < ARRAY_SIZE(cases); i++) {
		v = 12345;
		assert_int_equal(cvm_parse_size(cases[i].s, &v), 0);
		assert_true(v == cases[i].v);
	}
}

static void test_size_invalid(void **state)
{
	static const char *const garbage[] = {
		"",	"abc", "K",	"-1",	"-1K", "+1",	" 1",  "1 ",
		"1 K",	"1.5G", "1k",	"1KB", "1Ki", "1GiBs", "0x10", "1e3",
		"1MK",	"1g",	"G1",	"--",
	};
	static const char *const overflow[] = {
		"18446744073709551616",	   /* 2^64 */
		"99999999999999999999999", /* far over */
		"17179869184G",		   /* 2^64 bytes */
		"16777216T",		   /* 2^64 bytes */
		"18014398509481984K",	   /* 2^64 bytes */
		"18446744073709551615K",
	};
	uint64_t v = 777;
	size_t i;

	(void)state;
	assert_int_equal(cvm_parse_size(NULL, &v), -EINVAL);
	for (i = 0; i < ARRAY_SIZE(garbage); i++)
		assert_int_equal(cvm_parse_size(garbage[i], &v), -EINVAL);
	for (i = 0; i < ARRAY_SIZE(overflow); i++)
		assert_int_equal(cvm_parse_size(overflow[i], &v), -ERANGE);
	/* A failed parse leaves the output alone. */
	assert_true(v == 777);
}

/* --- GPA, NUMBER, timeout ------------------------------------------------ */

static void test_gpa_valid(void **state)
{
	static const struct {
		const char *s;
		uint64_t align;
		uint64_t v;
	} cases[] = {
		{ "0", 4096, 0 },
		{ "4096", 4096, 4096 },
		{ "0x1000", 4096, 0x1000 },
		{ "0X2000", 4096, 0x2000 },
		{ "0xABCDEF000", 4096, 0xabcdef000ULL },
		{ "0xabcdef000", 4096, 0xabcdef000ULL },
		{ "0xfffffffffffff000", 4096, 0xfffffffffffff000ULL },
		/* Unaligned GPAs are fine where no alignment is asked. */
		{ "1", 0, 1 },
		{ "0x1001", 0, 0x1001 },
		{ "4097", 0, 4097 },
		{ "0xffffffffffffffff", 0, UINT64_MAX },
		{ "18446744073709551615", 0, UINT64_MAX },
		{ "010", 0, 10 }, /* decimal, not octal */
	};
	uint64_t v;
	size_t i;

	(void)state;
	for (i = 0; i < ARRAY_SIZE(cases); i++) {
		v = 12345;
		assert_int_equal(cvm_parse_gpa(cases[i].s, cases[i].align, &v),
				 0);
		assert_true(v == cases[i].v);
	}
}

static void test_gpa_invalid(void **state)
{
	static const struct {
		const char *s;
		uint64_t align;
		int err;
	} cases[] = {
		{ "4097", 4096, -EDOM },
		{ "0x1001", 4096, -EDOM },
		{ "1", 4096, -EDOM },
		{ "0xfffffffffffff001", 4096, -EDOM },
		{ "0x10000000000000000", 0, -ERANGE },
		{ "0x10000000000000000", 4096, -ERANGE },
		{ "18446744073709551616", 0, -ERANGE },
		{ "", 0, -EINVAL },
		{ "0x", 0, -EINVAL },
		{ "x10", 0, -EINVAL },
		{ "-4096", 4096, -EINVAL },
		{ "+4096", 4096, -EINVAL },
		{ " 4096", 4096, -EINVAL },
		{ "4096 ", 4096, -EINVAL },
		{ "12abc", 0, -EINVAL },
		{ "0x1g", 0, -EINVAL },
		{ "4K", 0, -EINVAL },
		{ "0x-1", 0, -EINVAL },
	};
	uint64_t v = 777;
	size_t i;

	(void)state;
	for (i = 0; i < ARRAY_SIZE(cases); i++)
		assert_int_equal(cvm_parse_gpa(cases[i].s, cases[i].align, &v),
				 cases[i].err);
	assert_int_equal(cvm_parse_gpa(NULL, 0, &v), -EINVAL);
	assert_true(v == 777);
	/* NUMBER is a GPA without alignment. */
	assert_int_equal(cvm_parse_number("0x10", &v), 0);
	assert_true(v == 16);
	assert_int_equal(cvm_parse_number("1K", &v), -EINVAL);
}

static void test_timeout(void **state)
{
	int ms = 5;

	(void)state;
	assert_int_equal(cvm_parse_timeout("30", &ms), 0);
	assert_int_equal(ms, 30000);
	assert_int_equal(cvm_parse_timeout("1", &ms), 0);
	assert_int_equal(ms, 1000);
	/* 0: wait forever, which the framing spells -1. */
	assert_int_equal(cvm_parse_timeout("0", &ms), 0);
	assert_int_equal(ms, -1);
	assert_int_equal(cvm_parse_timeout("2147483", &ms), 0);
	assert_int_equal(ms, 2147483000);
	ms = 5;
	assert_int_equal(cvm_parse_timeout("2147484", &ms), -ERANGE);
	assert_int_equal(cvm_parse_timeout("99999999999999999999", &ms),
			 -ERANGE);
	assert_int_equal(cvm_parse_timeout("", &ms), -EINVAL);
	assert_int_equal(cvm_parse_timeout("-1", &ms), -EINVAL);
	assert_int_equal(cvm_parse_timeout("1.5", &ms), -EINVAL);
	assert_int_equal(cvm_parse_timeout("10s", &ms), -EINVAL);
	assert_int_equal(cvm_parse_timeout("0x10", &ms), -EINVAL);
	assert_int_equal(ms, 5);
}

static void test_pin(void **state)
{
	Cvm__PinMode pin = 99;

	(void)state;
	assert_int_equal(cvm_parse_pin("demand", &pin), 0);
	assert_int_equal(pin, CVM__PIN_MODE__DEMAND);
	assert_int_equal(cvm_parse_pin("upfront", &pin), 0);
	assert_int_equal(pin, CVM__PIN_MODE__UPFRONT);
	assert_int_equal(cvm_parse_pin("Upfront", &pin), -EINVAL);
	assert_int_equal(cvm_parse_pin("", &pin), -EINVAL);
	assert_int_equal(cvm_parse_pin("eager", &pin), -EINVAL);
	assert_int_equal(pin, CVM__PIN_MODE__UPFRONT);
}

/* --- URI ----------------------------------------------------------------- */

static void test_uri_pick(void **state)
{
	(void)state;
	assert_string_equal(cvm_uri_pick(NULL, NULL),
			    "unix:/run/cvmd/cvmd.sock");
	assert_string_equal(cvm_uri_pick(NULL, ""), "unix:/run/cvmd/cvmd.sock");
	assert_string_equal(cvm_uri_pick(NULL, "unix:/env.sock"),
			    "unix:/env.sock");
	assert_string_equal(cvm_uri_pick("unix:/arg.sock", "unix:/env.sock"),
			    "unix:/arg.sock");
	assert_string_equal(cvm_uri_pick("unix:/arg.sock", NULL),
			    "unix:/arg.sock");
}

static void test_uri_unix(void **state)
{
	struct cvm_uri u;
	char path[200];

	(void)state;
	assert_int_equal(cvm_parse_uri("unix:/run/cvmd/cvmd.sock", &u), 0);
	assert_int_equal(u.kind, CVM_URI_UNIX);
	assert_string_equal(u.path, "/run/cvmd/cvmd.sock");
	assert_int_equal(cvm_parse_uri("unix:rel.sock", &u), 0);
	assert_string_equal(u.path, "rel.sock");

	assert_int_equal(cvm_parse_uri("unix:", &u), -EINVAL);
	/* sun_path holds 107 characters and the NUL. */
	memset(path, 0, sizeof(path));
	memcpy(path, "unix:/", 6);
	memset(path + 6, 'a', 106);
	assert_int_equal(cvm_parse_uri(path, &u), 0);
	assert_int_equal(strlen(u.path), 107);
	path[6 + 106] = 'a';
	assert_int_equal(cvm_parse_uri(path, &u), -ENAMETOOLONG);
}

static void test_uri_tls(void **state)
{
	struct cvm_uri u;

	(void)state;
	assert_int_equal(cvm_parse_uri("tls://host.example:8443", &u), 0);
	assert_int_equal(u.kind, CVM_URI_TLS);
	assert_string_equal(u.host, "host.example");
	assert_int_equal(u.port, 8443);
	assert_int_equal(cvm_parse_uri("tls://[::1]:443", &u), 0);
	assert_int_equal(u.kind, CVM_URI_TLS);
	assert_string_equal(u.host, "::1");
	assert_int_equal(u.port, 443);
	assert_int_equal(cvm_parse_uri("tls://10.0.0.1:65535", &u), 0);
	assert_int_equal(u.port, 65535);

	/* No port: cvmd's, 16520. */
	assert_int_equal(cvm_parse_uri("tls://host", &u), 0);
	assert_string_equal(u.host, "host");
	assert_int_equal(u.port, 16520);
	assert_int_equal(cvm_parse_uri("tls://[::1]", &u), 0);
	assert_string_equal(u.host, "::1");
	assert_int_equal(u.port, 16520);

	assert_int_equal(cvm_parse_uri("tls://", &u), -EINVAL);
	assert_int_equal(cvm_parse_uri("tls://[::1]x", &u), -EINVAL);
	assert_int_equal(cvm_parse_uri("tls://host:", &u), -EINVAL);
	assert_int_equal(cvm_parse_uri("tls://:443", &u), -EINVAL);
	assert_int_equal(cvm_parse_uri("tls://host:0", &u), -EINVAL);
	assert_int_equal(cvm_parse_uri("tls://host:65536", &u), -EINVAL);
	assert_int_equal(cvm_parse_uri("tls://host:44x", &u), -EINVAL);
	assert_int_equal(cvm_parse_uri("tls://host:443/path", &u), -EINVAL);
	assert_int_equal(cvm_parse_uri("tls://::1:443", &u), -EINVAL);
	assert_int_equal(cvm_parse_uri("tls://[::1]443", &u), -EINVAL);
	assert_int_equal(cvm_parse_uri("tls:host:443", &u), -EINVAL);
}

/* --pki-dir, else ~/.pki/cvm when it has a CA, else libvirt's layout. */
static void test_pki_paths(void **state)
{
	char home[] = "/tmp/test-cvmctl-pki.XXXXXX", path[256];
	struct cvm_pki p;

	(void)state;
	cvm_pki_paths("/d", "/nonexistent", &p);
	assert_string_equal(p.ca, "/d/cacert.pem");
	assert_string_equal(p.cert, "/d/clientcert.pem");
	assert_string_equal(p.key, "/d/clientkey.pem");
	cvm_pki_paths(NULL, "/nonexistent", &p);
	assert_string_equal(p.ca, "/etc/pki/CA/cacert.pem");
	assert_string_equal(p.cert, "/etc/pki/cvm/clientcert.pem");
	assert_string_equal(p.key, "/etc/pki/cvm/private/clientkey.pem");
	assert_non_null(mkdtemp(home));
	snprintf(path, sizeof(path), "%s/.pki", home);
	assert_int_equal(mkdir(path, 0700), 0);
	snprintf(path, sizeof(path), "%s/.pki/cvm", home);
	assert_int_equal(mkdir(path, 0700), 0);
	/* A ~/.pki/cvm without a CA does not count. */
	cvm_pki_paths(NULL, home, &p);
	assert_string_equal(p.ca, "/etc/pki/CA/cacert.pem");
	snprintf(path, sizeof(path), "%s/.pki/cvm/cacert.pem", home);
	fclose(fopen(path, "w"));
	cvm_pki_paths(NULL, home, &p);
	assert_string_equal(p.ca, path);
	snprintf(path, sizeof(path), "%s/.pki/cvm/clientkey.pem", home);
	assert_string_equal(p.key, path);
	unlink(p.ca);
	snprintf(path, sizeof(path), "%s/.pki/cvm", home);
	rmdir(path);
	snprintf(path, sizeof(path), "%s/.pki", home);
	rmdir(path);
	rmdir(home);
}

/* Several -c: list, status and events only; at most CVM_MAX_HOSTS. */
static void test_multi_host(void **state)
{
	char err[4096];
	struct cvm_call c;

	(void)state;
	assert_int_equal(prepare(&c,
				 WORDS("-c", "tls://a", "-c", "tls://b:9",
				       "--pki-dir", "/p", "list"),
				 err, sizeof(err)),
			 0);
	assert_int_equal(c.nr_hosts, 2);
	assert_string_equal(c.uris[0].host, "a");
	assert_int_equal(c.uris[0].port, 16520);
	assert_string_equal(c.uris[1].host, "b");
	assert_string_equal(c.pki_dir, "/p");
	cvmctl_call_done(&c);
	assert_int_equal(prepare(&c,
				 WORDS("-c", "tls://a", "-c", "tls://b",
				       "create", "x", "--memory", "4M"),
				 err, sizeof(err)),
			 -EINVAL);
	assert_non_null(strstr(err, "only list, status and events"));
	cvmctl_call_done(&c);
	assert_int_equal(
	    prepare(&c, WORDS("-c", "tls://a", "-c", "ftp://b", "status"), err,
		    sizeof(err)),
	    -EINVAL);
	assert_non_null(strstr(err, "ftp://b"));
	cvmctl_call_done(&c);
}

static void test_uri_bad_scheme(void **state)
{
	struct cvm_uri u;

	(void)state;
	assert_int_equal(cvm_parse_uri("http://host:80", &u), -EPROTONOSUPPORT);
	assert_int_equal(cvm_parse_uri("tcp:host:80", &u), -EPROTONOSUPPORT);
	assert_int_equal(cvm_parse_uri("UNIX:/x", &u), -EPROTONOSUPPORT);
	/* No scheme at all. */
	assert_int_equal(cvm_parse_uri("/run/cvmd/cvmd.sock", &u), -EINVAL);
	assert_int_equal(cvm_parse_uri("", &u), -EINVAL);
	assert_int_equal(cvm_parse_uri(NULL, &u), -EINVAL);
}

/* The URI a command line ends up with: -c, then $CVM_CONNECT, then the
 * default. */
static void test_uri_resolution(void **state)
{
	struct cvm_call c;
	char err[1024];

	(void)state;
	unsetenv(CVM_URI_ENV);
	assert_int_equal(prepare(&c, WORDS("status"), NULL, 0), 0);
	assert_int_equal(c.uri.kind, CVM_URI_UNIX);
	assert_string_equal(c.uri.path, "/run/cvmd/cvmd.sock");
	cvmctl_call_done(&c);

	setenv(CVM_URI_ENV, "unix:/from/env.sock", 1);
	assert_int_equal(prepare(&c, WORDS("status"), NULL, 0), 0);
	assert_string_equal(c.uri.path, "/from/env.sock");
	cvmctl_call_done(&c);

	assert_int_equal(prepare(&c, WORDS("-c", "unix:/from/arg.sock", "status"),
				 NULL, 0),
			 0);
	assert_string_equal(c.uri.path, "/from/arg.sock");
	cvmctl_call_done(&c);

	assert_int_equal(prepare(&c, WORDS("--connect=tls://fleet:9443", "list"),
				 NULL, 0),
			 0);
	assert_int_equal(c.uri.kind, CVM_URI_TLS);
	assert_string_equal(c.uri.host, "fleet");
	cvmctl_call_done(&c);

	/* A bad scheme, from -c or from the environment: usage error. */
	assert_int_equal(prepare(&c, WORDS("-c", "http://x:1", "status"), err,
				 sizeof(err)),
			 -EINVAL);
	assert_non_null(strstr(err, "--connect"));
	cvmctl_call_done(&c);
	setenv(CVM_URI_ENV, "ftp://x", 1);
	assert_int_equal(prepare(&c, WORDS("status"), err, sizeof(err)),
			 -EINVAL);
	assert_non_null(strstr(err, "CVM_CONNECT"));
	cvmctl_call_done(&c);
	setenv(CVM_URI_ENV, NOWHERE, 1);
}

/* tls:// that cannot connect (no CA, no cvmd): exit 3; other schemes: 2. */
static void test_uri_exit_status(void **state)
{
	char out[4096], err[4096];

	(void)state;
	assert_int_equal(run_main(WORDS("-c", "tls://127.0.0.1:9", "status"),
				  out, err, sizeof(err)),
			 3);
	assert_non_null(
	    strstr(err, "cannot connect to cvmd at tls://127.0.0.1:9"));
	assert_int_equal(run_main(WORDS("-c", "http://x:1", "status"), out, err,
				  sizeof(err)),
			 2);
	/* Unreachable socket: exit 3, and the message names the socket. */
	assert_int_equal(run_main(WORDS("-c", "unix:/nonexistent", "status"),
				  out, err, sizeof(err)),
			 3);
	assert_non_null(strstr(err, "unix:/nonexistent"));
	assert_non_null(strstr(err, "No such file or directory"));
	assert_string_equal(out, "");
	/* With --json the error is also a JSON document on stdout. */
	assert_int_equal(run_main(WORDS("--json", "-c", "unix:/nonexistent",
					"show", "web1"),
				  out, err, sizeof(err)),
			 3);
	assert_non_null(strstr(err, "show 'web1'"));
	{
		struct json_object *o = json_tokener_parse(out), *e, *v;

		assert_non_null(o);
		assert_true(json_object_object_get_ex(o, "error", &e));
		assert_true(json_object_object_get_ex(e, "errno", &v));
		assert_int_equal(json_object_get_int(v), ENOENT);
		json_object_put(o);
	}
}

/* --- Status -> exit status ----------------------------------------------- */

static const struct {
	Cvm__Status status;
	int exit;
	const char *word;
} status_cells[] = {
	{ CVM__STATUS__OK, 0, "done" },
	{ CVM__STATUS__INVALID_ARGUMENT, 1, "refused" },
	{ CVM__STATUS__NOT_FOUND, 1, "refused" },
	{ CVM__STATUS__EXISTS, 1, "refused" },
	{ CVM__STATUS__WRONG_STATE, 1, "refused" },
	{ CVM__STATUS__NOT_STARTED, 1, "refused" },
	{ CVM__STATUS__NO_MEMORY, 1, "refused" },
	{ CVM__STATUS__BUSY, 1, "refused" },
	{ CVM__STATUS__INTEGRITY, 1, "refused" },
	{ CVM__STATUS__OUT_OF_RANGE, 1, "refused" },
	{ CVM__STATUS__ACCESS_DENIED, 3, "access denied" },
	{ CVM__STATUS__UNAVAILABLE, 1, "failed" },
	{ CVM__STATUS__LIMIT, 1, "refused" },
	{ CVM__STATUS__INTERNAL, 1, "failed" },
};

static void test_status_exit_cell(void **state)
{
	size_t i = (size_t)*state;

	assert_int_equal(cvm_exit_from_status(status_cells[i].status),
			 status_cells[i].exit);
	assert_string_equal(
		cvm_outcome_name(cvm_outcome_from_status(status_cells[i].status)),
		status_cells[i].word);
}

/* Every Status the protocol defines has a cell above (and in the table). */
static void test_status_exit_complete(void **state)
{
	const ProtobufCEnumDescriptor *d = &cvm__status__descriptor;
	size_t i, j;

	(void)state;
	assert_int_equal(d->n_values, ARRAY_SIZE(status_cells));
	for (i = 0; i < d->n_values; i++) {
		for (j = 0; j < ARRAY_SIZE(status_cells); j++)
			if ((int)status_cells[j].status == d->values[i].value)
				break;
		assert_true(j < ARRAY_SIZE(status_cells));
	}
	/* A Status newer than this build: failed, exit 1. */
	assert_int_equal(cvm_exit_from_status((Cvm__Status)99), 1);
	assert_string_equal(cvm_outcome_name(cvm_outcome_from_status(
				    (Cvm__Status)99)),
			    "failed");
	assert_int_equal(cvm_exit_from_status((Cvm__Status)-1), 1);
}

/* --- base64, hex, sizes -------------------------------------------------- */

static void test_base64(void **state)
{
	/* RFC 4648 §10, plus the two last characters of the alphabet. */
	static const struct {
		const char *in;
		size_t len;
		const char *out;
	} cases[] = {
		{ "", 0, "" },
		{ "f", 1, "Zg==" },
		{ "fo", 2, "Zm8=" },
		{ "foo", 3, "Zm9v" },
		{ "foob", 4, "Zm9vYg==" },
		{ "fooba", 5, "Zm9vYmE=" },
		{ "foobar", 6, "Zm9vYmFy" },
		{ "\xfb\xff", 2, "+/8=" },
		{ "\x00\x00\x00", 3, "AAAA" },
		{ "\xff\xfe\x00\x01", 4, "//4AAQ==" },
		{ "hello\n", 6, "aGVsbG8K" },
	};
	size_t i;
	char *s;

	(void)state;
	for (i = 0; i < ARRAY_SIZE(cases); i++) {
		s = cvm_base64_encode(cases[i].in, cases[i].len);
		assert_non_null(s);
		assert_string_equal(s, cases[i].out);
		free(s);
	}
}

static void test_hex_and_size(void **state)
{
	static const uint8_t bytes[] = { 0x00, 0x0f, 0xab, 0xff };
	char buf[32], *s;

	(void)state;
	s = cvm_hex_encode(bytes, sizeof(bytes));
	assert_string_equal(s, "000fabff");
	free(s);
	cvm_format_size(GIB, buf, sizeof(buf));
	assert_string_equal(buf, "1 GiB");
	cvm_format_size(512 * MIB, buf, sizeof(buf));
	assert_string_equal(buf, "512 MiB");
	cvm_format_size(12 * KIB, buf, sizeof(buf));
	assert_string_equal(buf, "12 KiB");
	cvm_format_size(1536 * MIB, buf, sizeof(buf));
	assert_string_equal(buf, "1536 MiB");
	cvm_format_size(12345, buf, sizeof(buf));
	assert_string_equal(buf, "12345 B");
	cvm_format_size(0, buf, sizeof(buf));
	assert_string_equal(buf, "0 B");
}

/* status's secure pool: the module's one pool, or the simulator's per VM. */
static void test_format_pool(void **state)
{
	Cvm__DaemonStatus st = CVM__DAEMON_STATUS__INIT;
	struct capture cap;
	char buf[160];

	(void)state;
	st.backend = "kmod";
	st.pool_total_pages = 16384;
	st.pool_free_pages = 16000;
	cvm_format_pool(&st, buf, sizeof(buf));
	assert_string_equal(buf, "16000 of 16384 pages free (64 MiB)");

	/* sim: N VMs x P pages, the sum and what is free of it. */
	st.backend = "sim";
	st.pool_pages_per_vm = 16384;
	st.pool_vms = 2;
	st.pool_total_pages = 32768;
	st.pool_free_pages = 30000;
	cvm_format_pool(&st, buf, sizeof(buf));
	assert_string_equal(buf, "per VM on the simulator: 2 VMs x 16384 pages "
				 "(64 MiB) = 32768 pages, 30000 free");
	st.pool_vms = 1;
	st.pool_total_pages = 16384;
	st.pool_free_pages = 16384;
	cvm_format_pool(&st, buf, sizeof(buf));
	assert_string_equal(buf, "per VM on the simulator: 1 VM x 16384 pages "
				 "(64 MiB) = 16384 pages, 16384 free");
	/* No VMs yet: still says where the pools come from, not "0 of 0". */
	st.pool_vms = 0;
	st.pool_total_pages = 0;
	st.pool_free_pages = 0;
	cvm_format_pool(&st, buf, sizeof(buf));
	assert_string_equal(buf, "per VM on the simulator: 0 VMs x 16384 pages "
				 "(64 MiB) = 0 pages, 0 free");
	/* A cvmd that does not report the per-VM size: the old form. */
	st.pool_pages_per_vm = 0;
	st.pool_total_pages = 8;
	st.pool_free_pages = 3;
	cvm_format_pool(&st, buf, sizeof(buf));
	assert_string_equal(buf, "3 of 8 pages free (32 KiB)");
	/* Truncated, never overrun. */
	st.pool_pages_per_vm = 16384;
	cvm_format_pool(&st, buf, 10);
	assert_string_equal(buf, "per VM on");

	/* The line status prints. */
	st.version = "0.1.0";
	st.api_version = 2;
	st.vms = 3;
	st.pool_vms = 2;
	st.pool_total_pages = 32768;
	st.pool_free_pages = 32767;
	capture_begin(&cap, 1);
	cvm_print_status(stdout, &st);
	capture_end(&cap);
	assert_non_null(strstr(cap.text, "\nsecure pool:      per VM on the "
					 "simulator: 2 VMs x 16384 pages (64 "
					 "MiB) = 32768 pages, 32767 free\n"));
}

/* --- JSON forms ---------------------------------------------------------- */

/* Render o as cvmctl prints it, parse it back: the document scripts see. */
static struct json_object *round_trip(struct json_object *o)
{
	struct capture cap;
	struct json_object *back;

	assert_non_null(o);
	capture_begin(&cap, 1);
	assert_int_equal(cvm_json_print(stdout, o, false), 0);
	capture_end(&cap);
	back = json_tokener_parse(cap.text);
	assert_non_null(back);
	return back;
}

static struct json_object *member(struct json_object *o, const char *key,
				  enum json_type type)
{
	struct json_object *v = NULL;

	if (!json_object_object_get_ex(o, key, &v))
		fail_msg("member '%s' missing", key);
	if (!json_object_is_type(v, type))
		fail_msg("member '%s' is %s, not %s", key,
			 json_type_to_name(json_object_get_type(v)),
			 json_type_to_name(type));
	return v;
}

static uint64_t member_u64(struct json_object *o, const char *key)
{
	return json_object_get_uint64(member(o, key, json_type_int));
}

static const char *member_str(struct json_object *o, const char *key)
{
	return json_object_get_string(member(o, key, json_type_string));
}

static void fill_vm(Cvm__VmInfo *vm, Cvm__PageCounts *pc, uint8_t *meas)
{
	size_t i;

	cvm__vm_info__init(vm);
	cvm__page_counts__init(pc);
	vm->name = "web1";
	vm->uuid = "0b6e1f9c-5d0a-4c61-9b39-3d0cbb0f2a11";
	vm->state = CVM__VM_STATE__SECURE;
	vm->memory_bytes = 64 * MIB; /* 16384 pages */
	pc->normal = 10000;
	pc->shared = 384;
	pc->secure = 6000;
	pc->secure_paged_out = 100;
	vm->pages = pc;
	vm->pinned_pages = 6500;
	vm->memlock_limit_bytes = 128 * MIB;
	vm->dma_shared_pages = 3;
	vm->pin = CVM__PIN_MODE__UPFRONT;
	vm->pool_pages = 5900;
	vm->evictions = 7;
	for (i = 0; i < 32; i++)
		meas[i] = 0xa0 + i;
	vm->measurement.data = meas;
	vm->measurement.len = 32;
	vm->measured_pages = 6000;
	vm->vmm_pid = 4242;
}

static void test_json_vm(void **state)
{
	Cvm__VmInfo vm;
	Cvm__PageCounts pc;
	uint8_t meas[32];
	struct json_object *o, *pages;
	char hex[65];
	size_t i;

	(void)state;
	fill_vm(&vm, &pc, meas);
	o = round_trip(cvm_json_vm(&vm));

	assert_string_equal(member_str(o, "name"), "web1");
	assert_string_equal(member_str(o, "uuid"),
			    "0b6e1f9c-5d0a-4c61-9b39-3d0cbb0f2a11");
	assert_string_equal(member_str(o, "state"), "secure");
	assert_true(member_u64(o, "memory_bytes") == 64 * MIB);
	pages = member(o, "pages", json_type_object);
	assert_true(member_u64(pages, "normal") == 10000);
	assert_true(member_u64(pages, "shared") == 384);
	assert_true(member_u64(pages, "secure") == 6000);
	assert_true(member_u64(pages, "secure_paged_out") == 100);
	/* DESIGN §7: the three states add up to the VM's page count. */
	assert_true(member_u64(pages, "normal") + member_u64(pages, "shared") +
			    member_u64(pages, "secure") ==
		    member_u64(o, "memory_bytes") / 4096);
	assert_true(member_u64(o, "pinned_pages") == 6500);
	assert_true(member_u64(o, "memlock_limit_bytes") == 128 * MIB);
	assert_true(member_u64(o, "dma_shared_pages") == 3);
	assert_string_equal(member_str(o, "pin"), "upfront");
	assert_true(member_u64(o, "pool_pages") == 5900);
	assert_true(member_u64(o, "evictions") == 7);
	for (i = 0; i < 32; i++)
		sprintf(hex + 2 * i, "%02x", 0xa0 + (unsigned int)i);
	assert_string_equal(member_str(o, "measurement"), hex);
	assert_true(member_u64(o, "measured_pages") == 6000);
	assert_int_equal(json_object_get_int(member(o, "vmm_pid", json_type_int)),
			 4242);
	member(o, "failure", json_type_null);
	json_object_put(o);

	/* Not sealed, no VMM, failed: nulls and the reason. */
	vm.measurement.len = 0;
	vm.vmm_pid = 0;
	vm.state = CVM__VM_STATE__FAILED;
	vm.failure = "cvm-vmm killed by signal 9";
	o = round_trip(cvm_json_vm(&vm));
	member(o, "measurement", json_type_null);
	member(o, "vmm_pid", json_type_null);
	assert_string_equal(member_str(o, "state"), "failed");
	assert_string_equal(member_str(o, "failure"),
			    "cvm-vmm killed by signal 9");
	json_object_put(o);
}

static void test_json_vm_states(void **state)
{
	static const struct {
		Cvm__VmState state;
		const char *name;
	} states[] = {
		{ CVM__VM_STATE__NORMAL, "normal" },
		{ CVM__VM_STATE__TRANSIENT, "transient" },
		{ CVM__VM_STATE__SECURE, "secure" },
		{ CVM__VM_STATE__FAILED, "failed" },
	};
	Cvm__VmInfo vm;
	Cvm__PageCounts pc;
	uint8_t meas[32];
	struct json_object *o;
	size_t i;

	(void)state;
	fill_vm(&vm, &pc, meas);
	for (i = 0; i < ARRAY_SIZE(states); i++) {
		vm.state = states[i].state;
		o = round_trip(cvm_json_vm(&vm));
		assert_string_equal(member_str(o, "state"), states[i].name);
		json_object_put(o);
	}
	/* Without a PageCounts message, the counts are zeros, not absent. */
	vm.pages = NULL;
	o = round_trip(cvm_json_vm(&vm));
	assert_true(member_u64(member(o, "pages", json_type_object),
			       "secure") == 0);
	json_object_put(o);
}

static void test_json_list_status_data(void **state)
{
	Cvm__VmInfo vm1, vm2, *vms[2] = { &vm1, &vm2 };
	Cvm__PageCounts pc1, pc2;
	Cvm__VmList list = CVM__VM_LIST__INIT;
	Cvm__DaemonStatus st = CVM__DAEMON_STATUS__INIT;
	uint8_t m1[32], m2[32];
	struct json_object *o;

	(void)state;
	fill_vm(&vm1, &pc1, m1);
	fill_vm(&vm2, &pc2, m2);
	vm2.name = "db2";
	list.n_vms = 2;
	list.vms = vms;
	o = round_trip(cvm_json_list(&list));
	assert_true(json_object_is_type(o, json_type_array));
	assert_int_equal(json_object_array_length(o), 2);
	assert_string_equal(member_str(json_object_array_get_idx(o, 1), "name"),
			    "db2");
	json_object_put(o);
	/* An empty list is [], not null. */
	o = round_trip(cvm_json_list(NULL));
	assert_true(json_object_is_type(o, json_type_array));
	assert_int_equal(json_object_array_length(o), 0);
	json_object_put(o);

	st.version = "0.1.0";
	st.backend = "sim";
	st.vms = 2;
	st.pool_total_pages = 16384;
	st.pool_free_pages = 1000;
	st.api_version = 2;
	o = round_trip(cvm_json_status(&st));
	assert_string_equal(member_str(o, "version"), "0.1.0");
	assert_string_equal(member_str(o, "backend"), "sim");
	assert_true(member_u64(o, "vms") == 2);
	assert_true(member_u64(o, "pool_total_pages") == 16384);
	assert_true(member_u64(o, "pool_free_pages") == 1000);
	assert_true(member_u64(o, "api_version") == 2);
	assert_true(member_u64(o, "pool_pages_per_vm") == 0);
	assert_true(member_u64(o, "pool_vms") == 0);
	json_object_put(o);
	/* sim: the per-VM pool and how many VMs hold one. */
	st.pool_pages_per_vm = 8192;
	st.pool_vms = 2;
	o = round_trip(cvm_json_status(&st));
	assert_true(member_u64(o, "pool_pages_per_vm") == 8192);
	assert_true(member_u64(o, "pool_vms") == 2);
	assert_true(member_u64(o, "pool_total_pages") == 16384);
	json_object_put(o);

	o = round_trip(cvm_json_data(0x1003, "hello", 5));
	assert_true(member_u64(o, "gpa") == 0x1003);
	assert_true(member_u64(o, "length") == 5);
	assert_string_equal(member_str(o, "data"), "aGVsbG8=");
	json_object_put(o);
}

static void test_json_error_event_snapshot(void **state)
{
	Cvm__Event ev = CVM__EVENT__INIT;
	Cvm__Snapshot snap = CVM__SNAPSHOT__INIT;
	Cvm__GfnInfo g = CVM__GFN_INFO__INIT, g1 = CVM__GFN_INFO__INIT;
	Cvm__GfnInfo *gs[2] = { &g, &g1 };
	struct json_object *o, *e;

	(void)state;
	o = round_trip(cvm_json_error("WRONG_STATE", "VM 'web1' is normal",
				      -EBADFD));
	e = member(o, "error", json_type_object);
	assert_string_equal(member_str(e, "status"), "WRONG_STATE");
	assert_string_equal(member_str(e, "message"), "VM 'web1' is normal");
	assert_int_equal(json_object_get_int(member(e, "errno", json_type_int)),
			 EBADFD);
	json_object_put(o);

	ev.vm = "web1";
	ev.kind = "state";
	ev.from = CVM__VM_STATE__TRANSIENT;
	ev.to = CVM__VM_STATE__SECURE;
	ev.operation = "init-done";
	ev.message = "sealed";
	ev.time_usec = 1700000000123456ULL;
	o = round_trip(cvm_json_event(&ev));
	assert_string_equal(member_str(o, "vm"), "web1");
	assert_string_equal(member_str(o, "kind"), "state");
	assert_string_equal(member_str(o, "from"), "transient");
	assert_string_equal(member_str(o, "to"), "secure");
	assert_string_equal(member_str(o, "operation"), "init-done");
	assert_string_equal(member_str(o, "message"), "sealed");
	assert_true(member_u64(o, "time_usec") == 1700000000123456ULL);
	json_object_put(o);

	g.gfn = 0x42;
	g.state = 2;
	g.paged_out = 1;
	g.pinned = 1;
	g.dma_refs = 0;
	g.nr_pages = 16;
	/* a peer without runs: one GFN per entry, nr_pages 0 */
	g1.gfn = 0x52;
	snap.n_gfns = 2;
	snap.gfns = gs;
	assert_true(cvm_snapshot_pages(&snap) == 17);
	o = round_trip(cvm_json_snapshot(&snap));
	assert_int_equal(json_object_array_length(o), 2);
	e = json_object_array_get_idx(o, 1);
	assert_true(member_u64(e, "gfn") == 0x52);
	assert_true(member_u64(e, "nr_pages") == 1);
	e = json_object_array_get_idx(o, 0);
	assert_true(member_u64(e, "gfn") == 0x42);
	assert_true(member_u64(e, "nr_pages") == 16);
	assert_string_equal(member_str(e, "state"), "secure");
	assert_true(json_object_get_boolean(
		member(e, "paged_out", json_type_boolean)));
	assert_false(json_object_get_boolean(
		member(e, "resident", json_type_boolean)));
	assert_true(json_object_get_boolean(
		member(e, "pinned", json_type_boolean)));
	assert_true(member_u64(e, "dma_refs") == 0);
	json_object_put(o);
}

/* --- verbs: the Request each command line builds ------------------------- */

static void test_verb_requests_simple(void **state)
{
	struct cvm_call c;

	(void)state;
	assert_int_equal(prepare(&c, WORDS("status"), NULL, 0), 0);
	assert_true(c.req.id == 1);
	assert_int_equal(c.req.op_case, CVM__REQUEST__OP_STATUS);
	assert_string_equal(cvmctl_verb_name(&c), "status");
	cvmctl_call_done(&c);

	assert_int_equal(prepare(&c, WORDS("list"), NULL, 0), 0);
	assert_int_equal(c.req.op_case, CVM__REQUEST__OP_LIST);
	cvmctl_call_done(&c);

	assert_int_equal(prepare(&c, WORDS("show", "web1"), NULL, 0), 0);
	assert_int_equal(c.req.op_case, CVM__REQUEST__OP_SHOW);
	assert_string_equal(c.req.show->name, "web1");
	cvmctl_call_done(&c);

	assert_int_equal(prepare(&c, WORDS("destroy", "web1"), NULL, 0), 0);
	assert_int_equal(c.req.op_case, CVM__REQUEST__OP_DESTROY);
	assert_string_equal(c.req.destroy->name, "web1");
	cvmctl_call_done(&c);

	/* Global options after the command are fine too. */
	assert_int_equal(prepare(&c, WORDS("show", "web1", "--json",
					   "--timeout", "0"),
				 NULL, 0),
			 0);
	assert_string_equal(c.req.show->name, "web1");
	cvmctl_call_done(&c);
}

static void test_verb_create(void **state)
{
	struct cvm_call c;

	(void)state;
	assert_int_equal(prepare(&c, WORDS("create", "web1", "--memory", "1G"),
				 NULL, 0),
			 0);
	assert_int_equal(c.req.op_case, CVM__REQUEST__OP_CREATE);
	assert_string_equal(c.req.create->name, "web1");
	assert_true(c.req.create->memory_bytes == GIB);
	assert_true(c.req.create->memlock_limit_bytes == 0);
	assert_int_equal(c.req.create->pin, CVM__PIN_MODE__DEMAND);
	cvmctl_call_done(&c);

	assert_int_equal(prepare(&c, WORDS("create", "--pin", "upfront", "db",
					   "--memory=256MiB",
					   "--memlock-limit", "300M"),
				 NULL, 0),
			 0);
	assert_string_equal(c.req.create->name, "db");
	assert_true(c.req.create->memory_bytes == 256 * MIB);
	assert_true(c.req.create->memlock_limit_bytes == 300 * MIB);
	assert_int_equal(c.req.create->pin, CVM__PIN_MODE__UPFRONT);
	cvmctl_call_done(&c);
}

static void test_verb_lifecycle(void **state)
{
	static const struct {
		const char *verb;
		Cvm__LifecycleOp op;
	} cases[] = {
		{ "init-start", CVM__LIFECYCLE_OP__INIT_START },
		{ "init-done", CVM__LIFECYCLE_OP__INIT_DONE },
		{ "init-abort", CVM__LIFECYCLE_OP__INIT_ABORT },
		{ "terminate", CVM__LIFECYCLE_OP__TERMINATE },
	};
	struct cvm_call c;
	size_t i;

	(void)state;
	for (i = 0; i < ARRAY_SIZE(cases); i++) {
		assert_int_equal(prepare(&c, WORDS(cases[i].verb, "vm7"), NULL,
					 0),
				 0);
		assert_int_equal(c.req.op_case, CVM__REQUEST__OP_LIFECYCLE);
		assert_string_equal(c.req.lifecycle->name, "vm7");
		assert_int_equal(c.req.lifecycle->op, cases[i].op);
		cvmctl_call_done(&c);
	}
}

static void test_verb_pages(void **state)
{
	static const struct {
		const char *verb;
		const char *extra;
		Cvm__PageOp op;
		uint64_t pages;
	} cases[] = {
		{ "page-in", NULL, CVM__PAGE_OP__PAGE_IN, 1 },
		{ "page-in", "--shared", CVM__PAGE_OP__PAGE_IN_SHARED, 1 },
		{ "page-out", NULL, CVM__PAGE_OP__PAGE_OUT, 1 },
		{ "share", NULL, CVM__PAGE_OP__SHARE, 1 },
		{ "share", "--pages=4", CVM__PAGE_OP__SHARE, 4 },
		{ "unshare", "--pages=0x10", CVM__PAGE_OP__UNSHARE, 16 },
		{ "dma-share", "--pages=3", CVM__PAGE_OP__DMA_SHARE, 3 },
		{ "dma-unshare", "--pages=2", CVM__PAGE_OP__DMA_UNSHARE, 2 },
	};
	struct cvm_call c;
	size_t i;

	(void)state;
	for (i = 0; i < ARRAY_SIZE(cases); i++) {
		const char *words[] = { cases[i].verb, "web1", "0x3000",
					cases[i].extra, NULL };

		assert_int_equal(prepare(&c, words, NULL, 0), 0);
		assert_int_equal(c.req.op_case, CVM__REQUEST__OP_PAGE);
		assert_string_equal(c.req.page->name, "web1");
		assert_int_equal(c.req.page->op, cases[i].op);
		assert_true(c.req.page->gpa == 0x3000);
		assert_true(c.req.page->pages == cases[i].pages);
		cvmctl_call_done(&c);
	}
	/* Decimal GPA, options before the arguments. */
	assert_int_equal(prepare(&c, WORDS("share", "--pages", "2", "web1",
					   "8192"),
				 NULL, 0),
			 0);
	assert_true(c.req.page->gpa == 8192);
	assert_true(c.req.page->pages == 2);
	cvmctl_call_done(&c);
}

static void test_verb_io(void **state)
{
	char path[] = "/tmp/test-cvmctl-XXXXXX";
	static const uint8_t content[] = { 'a', 0, 'b', 0xff };
	struct cvm_call c;
	int fd;

	(void)state;
	assert_int_equal(prepare(&c, WORDS("guest-write", "web1", "0x1001",
					   "--data", "hello"),
				 NULL, 0),
			 0);
	assert_int_equal(c.req.op_case, CVM__REQUEST__OP_GUEST_WRITE);
	assert_true(c.req.guest_write->gpa == 0x1001);
	assert_int_equal(c.req.guest_write->data.len, 5);
	assert_memory_equal(c.req.guest_write->data.data, "hello", 5);
	cvmctl_call_done(&c);

	fd = mkstemp(path);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, content, sizeof(content)), sizeof(content));
	close(fd);
	assert_int_equal(prepare(&c, WORDS("guest-write", "web1", "7", "--file",
					   path),
				 NULL, 0),
			 0);
	assert_true(c.req.guest_write->gpa == 7);
	assert_int_equal(c.req.guest_write->data.len, sizeof(content));
	assert_memory_equal(c.req.guest_write->data.data, content,
			    sizeof(content));
	cvmctl_call_done(&c);
	unlink(path);

	assert_int_equal(prepare(&c, WORDS("guest-read", "web1", "3",
					   "--length", "16"),
				 NULL, 0),
			 0);
	assert_int_equal(c.req.op_case, CVM__REQUEST__OP_READ);
	assert_true(c.req.read->gpa == 3);
	assert_int_equal(c.req.read->length, 16);
	assert_false(c.req.read->host);
	cvmctl_call_done(&c);

	/* 1 MiB is the largest read. */
	assert_int_equal(prepare(&c, WORDS("host-read", "web1", "0x2000",
					   "--length", "1M"),
				 NULL, 0),
			 0);
	assert_true(c.req.read->host);
	assert_int_equal(c.req.read->length, 1048576);
	cvmctl_call_done(&c);

	assert_int_equal(prepare(&c, WORDS("snapshot", "web1", "-o",
					   "/tmp/x.snap"),
				 NULL, 0),
			 0);
	assert_int_equal(c.req.op_case, CVM__REQUEST__OP_SNAPSHOT);
	assert_string_equal(c.req.snapshot->name, "web1");
	cvmctl_call_done(&c);

	assert_int_equal(prepare(&c, WORDS("events"), NULL, 0), 0);
	assert_int_equal(c.req.op_case, CVM__REQUEST__OP_WATCH);
	assert_string_equal(c.req.watch->name, "");
	cvmctl_call_done(&c);
	assert_int_equal(prepare(&c, WORDS("events", "web1"), NULL, 0), 0);
	assert_string_equal(c.req.watch->name, "web1");
	cvmctl_call_done(&c);
}

/* --- verbs: usage errors ------------------------------------------------- */

static const struct {
	const char *words[10];
	const char *says; /* the message names this */
} usage_cases[] = {
	{ { NULL }, "no command" },
	{ { "bogus" }, "unknown command 'bogus'" },
	{ { "--bogus", "status" }, "--bogus" },
	{ { "status", "--bogus" }, "--bogus" },
	{ { "status", "-q" }, "-q" },
	{ { "status", "extra" }, "unexpected argument 'extra'" },
	{ { "status", "--shared" }, "--shared" },
	{ { "--pages", "2", "share", "web1", "0" }, "--pages" },
	{ { "--timeout", "soon", "status" }, "--timeout" },
	{ { "--timeout" }, "--timeout" },
	{ { "show" }, "missing NAME" },
	{ { "show", "a", "b" }, "unexpected argument 'b'" },
	{ { "show", "" }, "empty VM name" },
	{ { "destroy" }, "missing NAME" },
	{ { "init-start" }, "missing NAME" },
	{ { "init-done", "a", "b" }, "unexpected argument" },
	{ { "create", "web1" }, "--memory" },
	{ { "create", "web1", "--memory" }, "--memory" },
	{ { "create", "web1", "--memory", "0" }, "--memory" },
	{ { "create", "web1", "--memory", "4097" }, "--memory" },
	{ { "create", "web1", "--memory", "1.5G" }, "--memory" },
	{ { "create", "web1", "--memory", "-1G" }, "--memory" },
	{ { "create", "web1", "--memory", "99999999999T" }, "too large" },
	{ { "create", "web1", "--memory", "1G", "--memlock-limit", "0" },
	  "--memlock-limit" },
	{ { "create", "web1", "--memory", "1G", "--memlock-limit", "x" },
	  "--memlock-limit" },
	{ { "create", "web1", "--memory", "1G", "--pin", "eager" }, "--pin" },
	{ { "create", "web1", "--memory", "1G", "--pages", "2" }, "--pages" },
	{ { "page-in", "web1" }, "missing GPA" },
	{ { "page-in", "web1", "0x1001" }, "page aligned" },
	{ { "page-in", "web1", "0xZZ" }, "GPA" },
	{ { "page-in", "web1", "0x10000000000000000" }, "too large" },
	{ { "page-in", "web1", "0", "--pages", "2" }, "--pages" },
	{ { "page-out", "web1", "0", "--shared" }, "--shared" },
	{ { "page-out", "web1", "4095" }, "page aligned" },
	{ { "share", "web1", "0", "--pages", "0" }, "--pages" },
	{ { "share", "web1", "0", "--pages", "lots" }, "--pages" },
	{ { "unshare", "web1", "0x1800" }, "page aligned" },
	{ { "dma-share", "web1", "0xfffffffffffff000", "--pages", "2" },
	  "GPA" },
	{ { "dma-unshare", "web1", "0", "1" }, "unexpected argument '1'" },
	{ { "guest-write", "web1", "0" }, "--data" },
	{ { "guest-write", "web1", "0", "--data", "x", "--file", "/dev/null" },
	  "--file" },
	{ { "guest-write", "web1", "0", "--data", "" }, "--data" },
	{ { "guest-write", "web1", "0", "--file", "/nonexistent/f" },
	  "/nonexistent/f" },
	{ { "guest-write", "web1", "0", "--file", "/dev/null" }, "--file" },
	{ { "guest-write", "web1", "x1", "--data", "a" }, "GPA" },
	{ { "guest-write", "web1", "0xffffffffffffffff", "--data", "ab" },
	  "GPA" },
	{ { "guest-read", "web1", "0" }, "--length" },
	{ { "guest-read", "web1", "0", "--length", "0" }, "--length" },
	{ { "guest-read", "web1", "0", "--length", "1048577" }, "1 MiB" },
	{ { "guest-read", "web1", "0", "--length", "2M" }, "1 MiB" },
	{ { "guest-read", "web1", "0xffffffffffffffff", "--length", "2" },
	  "GPA" },
	{ { "host-read", "web1", "0" }, "--length" },
	{ { "host-read", "web1", "0", "--length", "abc" }, "--length" },
	{ { "host-read", "web1", "0", "--length", "4", "--data", "x" },
	  "--data" },
	{ { "snapshot" }, "missing NAME" },
	{ { "snapshot", "web1", "-o" }, "-o" },
	{ { "snapshot", "web1", "--length", "4" }, "--length" },
	{ { "events", "a", "b" }, "unexpected argument 'b'" },
	{ { "-c", "http://x", "status" }, "unknown scheme" },
	{ { "-c", "unix:", "status" }, "--connect" },
};

/* prepare() refuses it and names what is wrong, in one line; main exits 2
 * without trying to reach cvmd. */
static void test_usage_error(void **state)
{
	size_t i = (size_t)*state;
	char err[4096], out[4096];
	struct cvm_call c;
	char *nl;

	assert_int_equal(prepare(&c, usage_cases[i].words, err, sizeof(err)),
			 -EINVAL);
	cvmctl_call_done(&c);
	if (!strstr(err, usage_cases[i].says))
		fail_msg("message '%s' does not mention '%s'", err,
			 usage_cases[i].says);
	assert_true(!strncmp(err, "cvmctl: ", 8));
	nl = strchr(err, '\n');
	assert_non_null(nl);
	assert_string_equal(nl + 1, "");

	assert_int_equal(run_main(usage_cases[i].words, out, err, sizeof(err)),
			 2);
	assert_string_equal(out, "");
}

/* With --json, a usage error is also a JSON error document on stdout. */
static void test_usage_error_json(void **state)
{
	char out[4096], err[4096];
	struct json_object *o, *e;

	(void)state;
	assert_int_equal(run_main(WORDS("--json", "share", "web1", "0x1001"), out,
				  err, sizeof(err)),
			 2);
	o = json_tokener_parse(out);
	assert_non_null(o);
	e = member(o, "error", json_type_object);
	assert_string_equal(member_str(e, "status"), "USAGE");
	assert_non_null(strstr(member_str(e, "message"), "page aligned"));
	assert_int_equal(json_object_get_int(member(e, "errno", json_type_int)),
			 EINVAL);
	json_object_put(o);
}

static void test_help(void **state)
{
	char out[8192], err[4096];
	struct cvm_call c;

	(void)state;
	assert_int_equal(run_main(WORDS("--help"), out, err, sizeof(out)), 0);
	assert_non_null(strstr(out, "Usage: cvmctl"));
	assert_non_null(strstr(out, "guest-write NAME GPA"));
	assert_string_equal(err, "");
	assert_int_equal(run_main(WORDS("-h"), out, err, sizeof(out)), 0);
	assert_non_null(strstr(out, "Usage: cvmctl"));

	/* COMMAND --help: that command's usage, even with arguments missing. */
	assert_int_equal(run_main(WORDS("share", "--help"), out, err,
				  sizeof(out)),
			 0);
	assert_non_null(strstr(out, "share NAME GPA [--pages N]"));
	assert_non_null(strstr(out, "--pages N"));
	assert_int_equal(prepare(&c, WORDS("guest-write", "-h"), NULL, 0), 0);
	assert_true(c.help);
	cvmctl_call_done(&c);
}

/* Fixed tests, then one test per Status cell and per usage case, each
 * named after what it checks. */
/* clang-format off */
static const struct CMUnitTest fixed_tests[] = {
	cmocka_unit_test(test_size_valid),
	cmocka_unit_test(test_size_invalid),
	cmocka_unit_test(test_gpa_valid),
	cmocka_unit_test(test_gpa_invalid),
	cmocka_unit_test(test_timeout),
	cmocka_unit_test(test_pin),
	cmocka_unit_test(test_uri_pick),
	cmocka_unit_test(test_uri_unix),
	cmocka_unit_test(test_uri_tls),
	cmocka_unit_test(test_pki_paths),
	cmocka_unit_test(test_multi_host),
	cmocka_unit_test(test_uri_bad_scheme),
	cmocka_unit_test(test_uri_resolution),
	cmocka_unit_test(test_uri_exit_status),
	cmocka_unit_test(test_status_exit_complete),
	cmocka_unit_test(test_base64),
	cmocka_unit_test(test_hex_and_size),
	cmocka_unit_test(test_format_pool),
	cmocka_unit_test(test_json_vm),
	cmocka_unit_test(test_json_vm_states),
	cmocka_unit_test(test_json_list_status_data),
	cmocka_unit_test(test_json_error_event_snapshot),
	cmocka_unit_test(test_verb_requests_simple),
	cmocka_unit_test(test_verb_create),
	cmocka_unit_test(test_verb_lifecycle),
	cmocka_unit_test(test_verb_pages),
	cmocka_unit_test(test_verb_io),
	cmocka_unit_test(test_usage_error_json),
	cmocka_unit_test(test_help),
};
/* clang-format on */

int main(void)
{
	size_t n_fixed = ARRAY_SIZE(fixed_tests);
	size_t n_status = ARRAY_SIZE(status_cells);
	size_t n_usage = ARRAY_SIZE(usage_cases);
	size_t n = n_fixed + n_status + n_usage, i, j;
	struct CMUnitTest *tests;
	char **names;
	int r;

	/* Should the code under test wrongly try to reach cvmd, it fails
	 * fast instead of finding a real one. */
	setenv(CVM_URI_ENV, NOWHERE, 1);

	tests = calloc(n, sizeof(*tests));
	names = calloc(n, sizeof(*names));
	if (!tests || !names)
		return 1;
	memcpy(tests, fixed_tests, sizeof(fixed_tests));
	for (i = 0; i < n_status; i++) {
		struct CMUnitTest *t = &tests[n_fixed + i];

		if (asprintf(&names[n_fixed + i], "status_exit: %s",
			     cvm_status_name(status_cells[i].status)) < 0)
			return 1;
		t->name = names[n_fixed + i];
		t->test_func = test_status_exit_cell;
		t->initial_state = (void *)i;
	}
	for (i = 0; i < n_usage; i++) {
		struct CMUnitTest *t = &tests[n_fixed + n_status + i];
		char line[256] = "usage_error: cvmctl";

		for (j = 0; usage_cases[i].words[j]; j++)
			snprintf(line + strlen(line), sizeof(line) - strlen(line),
				 " '%s'", usage_cases[i].words[j]);
		names[n_fixed + n_status + i] = strdup(line);
		if (!names[n_fixed + n_status + i])
			return 1;
		t->name = names[n_fixed + n_status + i];
		t->test_func = test_usage_error;
		t->initial_state = (void *)i;
	}
	r = _cmocka_run_group_tests("cvmctl", tests, n, NULL, NULL);
	args_free(&prepared_args);
	for (i = 0; i < n; i++)
		free(names[i]);
	free(names);
	free(tests);
	return r;
}
