// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * test-hook.c - the pure half of the libvirt hook (client/hook-xml.c), no
 * daemon: which libvirt calls it acts on, opt-in detection (launchSecurity,
 * the cvm metadata element in the right namespace and not in another),
 * libvirt's memory units, the metadata's options and their errors,
 * malformed, foreign and oversized documents, cvm VM names, and the
 * admission rules.
 *
 * Expected values are written out here from docs/libvirt.md and libvirt's
 * documented units, not derived from client/.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "hook-xml.h"

#define KIB 1024ULL
#define MIB (1024ULL * KIB)
#define GIB (1024ULL * MIB)
#define TIB (1024ULL * GIB)

#define NS "http://cvm.org/xmlns/libvirt/1.0"

/* A domain with MEMORY (the <memory> element, or nothing) and EXTRA. */
#define DOMAIN(memory, extra)                                                  \
	"<domain type='qemu'>\n  <name>web1</name>\n  " memory "\n" extra      \
	"  <os><type arch='x86_64'>hvm</type></os>\n</domain>\n"
#define MEM_256M "<memory unit='KiB'>262144</memory>"
#define CVM_META(attrs)                                                        \
	"  <metadata>\n    <cvm:cvm xmlns:cvm='" NS "' " attrs "/>\n"         \
	"  </metadata>\n"

static struct cvm_hook_doc *parse_ok(const char *xml)
{
	struct cvm_hook_doc *doc = NULL;
	char err[512] = "";
	int r;

	r = cvm_hook_doc_parse(xml, strlen(xml), &doc, err, sizeof(err));
	if (r)
		fail_msg("parse: %d: %s", r, err);
	assert_non_null(doc);
	return doc;
}

/* Parse, expect failure r, and return the message. */
static const char *parse_err(const char *xml, size_t len, int want)
{
	static char err[512];
	struct cvm_hook_doc *doc = NULL;
	int r;

	err[0] = '\0';
	r = cvm_hook_doc_parse(xml, len, &doc, err, sizeof(err));
	assert_int_equal(r, want);
	assert_null(doc);
	assert_true(err[0]);
	assert_null(strchr(err, '\n'));
	return err;
}

static const char *parse_str(const char *xml, int want)
{
	return parse_err(xml, strlen(xml), want);
}

static bool opted_in(const char *xml)
{
	struct cvm_hook_doc *doc = parse_ok(xml);
	bool r = cvm_hook_doc_opted_in(doc);

	cvm_hook_doc_free(doc);
	return r;
}

/* Config of an opted-in domain: 0 and *cfg, or the error in err. */
static int config_of(const char *xml, struct cvm_hook_config *cfg, char *err,
		     size_t len)
{
	struct cvm_hook_doc *doc = parse_ok(xml);
	int r;

	err[0] = '\0';
	r = cvm_hook_doc_config(doc, cfg, err, len);
	cvm_hook_doc_free(doc);
	if (r) {
		assert_int_equal(r, -EINVAL);
		assert_true(err[0]);
		assert_null(strchr(err, '\n'));
	}
	return r;
}

static void assert_contains(const char *s, const char *part)
{
	if (!strstr(s, part))
		fail_msg("'%s' does not contain '%s'", s, part);
}

#define ACTION(op, subop) cvm_hook_action_of(op, subop)
#define POOL(backend, total, free)                                             \
	cvm_hook_admit_pool(backend, total, free, err, sizeof(err))

/* --- calls ---------------------------------------------------------------- */

static void test_actions(void **state)
{
	(void)state;
	assert_int_equal(ACTION("prepare", "begin"), CVM_HOOK_PREPARE);
	assert_int_equal(ACTION("start", "begin"), CVM_HOOK_START);
	assert_int_equal(ACTION("started", "begin"), CVM_HOOK_STARTED);
	assert_int_equal(ACTION("stopped", "end"), CVM_HOOK_CLEANUP);
	assert_int_equal(ACTION("release", "end"), CVM_HOOK_CLEANUP);
	assert_int_equal(ACTION("migrate", "begin"), CVM_HOOK_FILTER);
	assert_int_equal(ACTION("restore", "begin"), CVM_HOOK_FILTER);
	assert_int_equal(ACTION("reconnect", "begin"), CVM_HOOK_RECONNECT);
	/* attach: a QEMU started outside libvirt; left alone. */
	assert_int_equal(ACTION("attach", "begin"), CVM_HOOK_IGNORE);
}

static void test_actions_unknown(void **state)
{
	(void)state;
	/* Future operations and sub-operations must not break domains. */
	assert_int_equal(ACTION("frobnicate", "begin"), CVM_HOOK_IGNORE);
	assert_int_equal(ACTION("prepare", "end"), CVM_HOOK_IGNORE);
	assert_int_equal(ACTION("stopped", "begin"), CVM_HOOK_IGNORE);
	assert_int_equal(ACTION("Prepare", "begin"), CVM_HOOK_IGNORE);
	assert_int_equal(ACTION("", ""), CVM_HOOK_IGNORE);
	assert_int_equal(ACTION(NULL, "begin"), CVM_HOOK_IGNORE);
	assert_int_equal(ACTION("prepare", NULL), CVM_HOOK_IGNORE);
}

/* --- names ---------------------------------------------------------------- */

static void test_names_valid(void **state)
{
	char max[65];

	(void)state;
	memset(max, 'a', 64);
	max[64] = '\0';
	assert_int_equal(cvm_hook_check_name("a"), 0);
	assert_int_equal(cvm_hook_check_name("web1"), 0);
	assert_int_equal(cvm_hook_check_name("Web_1.prod-2"), 0);
	assert_int_equal(cvm_hook_check_name("0abc"), 0);
	assert_int_equal(cvm_hook_check_name("_x"), 0);
	assert_int_equal(cvm_hook_check_name("a."), 0);
	assert_int_equal(cvm_hook_check_name(max), 0);
}

static void test_names_invalid(void **state)
{
	char long_name[66];

	(void)state;
	memset(long_name, 'a', 65);
	long_name[65] = '\0';
	assert_int_equal(cvm_hook_check_name(long_name), -ENAMETOOLONG);
	assert_int_equal(cvm_hook_check_name(""), -EINVAL);
	assert_int_equal(cvm_hook_check_name(NULL), -EINVAL);
	assert_int_equal(cvm_hook_check_name(".hidden"), -EINVAL);
	assert_int_equal(cvm_hook_check_name("-x"), -EINVAL);
	assert_int_equal(cvm_hook_check_name("web 1"), -EINVAL);
	assert_int_equal(cvm_hook_check_name("a/b"), -EINVAL);
	assert_int_equal(cvm_hook_check_name("a:b"), -EINVAL);
	assert_int_equal(cvm_hook_check_name("caf\xc3\xa9"), -EINVAL);
	assert_int_equal(cvm_hook_check_name("a\nb"), -EINVAL);
	assert_int_equal(cvm_hook_check_name("a'b"), -EINVAL);
}

/* --- sizes ---------------------------------------------------------------- */

static void test_scaled_units(void **state)
{
	static const struct {
		const char *unit;
		uint64_t scale;
	} cases[] = {
		{ NULL, KIB },	   { "", KIB },
		{ "b", 1 },	   { "bytes", 1 },	   { "B", 1 },
		{ "k", KIB },	   { "KiB", KIB },	   { "KB", 1000 },
		{ "M", MIB },	   { "MiB", MIB },	   { "MB", 1000000 },
		{ "g", GIB },	   { "GiB", GIB },	   { "GB", 1000000000 },
		{ "T", TIB },	   { "TiB", TIB },
		{ "TB", 1000000000000 },
		{ "P", 1024 * TIB }, { "PiB", 1024 * TIB },
		{ "PB", 1000000000000000 },
		{ "E", 1024 * 1024 * TIB }, { "EiB", 1024 * 1024 * TIB },
		{ "EB", 1000000000000000000 },
		/* libvirt compares units without regard to case. */
		{ "kib", KIB },	   { "mIb", MIB },	   { "gb", 1000000000 },
		{ "BYTES", 1 },
	};
	uint64_t v;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		v = 0;
		assert_int_equal(cvm_hook_parse_scaled("1", cases[i].unit, KIB,
						       &v), 0);
		assert_true(v == cases[i].scale);
	}
	assert_int_equal(cvm_hook_parse_scaled("262144", "KiB", 1, &v), 0);
	assert_true(v == 256 * MIB);
	assert_int_equal(cvm_hook_parse_scaled(" 64 ", "MiB", 1, &v), 0);
	assert_true(v == 64 * MIB);
	assert_int_equal(cvm_hook_parse_scaled("\n\t2\n", "G", 1, &v), 0);
	assert_true(v == 2 * GIB);
	assert_int_equal(cvm_hook_parse_scaled("0", "KiB", 1, &v), 0);
	assert_true(v == 0);
}

static void test_scaled_errors(void **state)
{
	uint64_t v = 42;

	(void)state;
	assert_int_equal(cvm_hook_parse_scaled("", NULL, KIB, &v), -EINVAL);
	assert_int_equal(cvm_hook_parse_scaled("  ", NULL, KIB, &v), -EINVAL);
	assert_int_equal(cvm_hook_parse_scaled("-1", NULL, KIB, &v), -EINVAL);
	assert_int_equal(cvm_hook_parse_scaled("+1", NULL, KIB, &v), -EINVAL);
	assert_int_equal(cvm_hook_parse_scaled("1.5", "GiB", KIB, &v), -EINVAL);
	assert_int_equal(cvm_hook_parse_scaled("0x10", NULL, KIB, &v), -EINVAL);
	assert_int_equal(cvm_hook_parse_scaled("12 34", NULL, KIB, &v),
			 -EINVAL);
	assert_int_equal(cvm_hook_parse_scaled("64M", NULL, KIB, &v), -EINVAL);
	assert_int_equal(cvm_hook_parse_scaled("1", "KiBi", KIB, &v), -EINVAL);
	assert_int_equal(cvm_hook_parse_scaled("1", "pages", KIB, &v), -EINVAL);
	assert_int_equal(cvm_hook_parse_scaled("1", " KiB", KIB, &v), -EINVAL);
	assert_int_equal(cvm_hook_parse_scaled(NULL, NULL, KIB, &v), -EINVAL);
	/* 2^64 and beyond, in digits and through the unit. */
	assert_int_equal(cvm_hook_parse_scaled("18446744073709551616", "b", 1,
					       &v), -ERANGE);
	assert_int_equal(cvm_hook_parse_scaled("99999999999999999999999", NULL,
					       KIB, &v), -ERANGE);
	assert_int_equal(cvm_hook_parse_scaled("18014398509481984", "KiB", 1,
					       &v), -ERANGE);
	assert_int_equal(cvm_hook_parse_scaled("16", "EiB", 1, &v), -ERANGE);
	assert_true(v == 42); /* untouched on error */
	assert_int_equal(cvm_hook_parse_scaled("18446744073709551615", "b", 1,
					       &v), 0);
	assert_true(v == UINT64_MAX);
	assert_int_equal(cvm_hook_parse_scaled("15", "EiB", 1, &v), 0);
	assert_true(v == 15ULL << 60);
}

static void test_size_attribute(void **state)
{
	static const struct {
		const char *s;
		uint64_t want;
	} cases[] = {
		{ "64M", 64 * MIB },	 { "64 MiB", 64 * MIB },
		{ "64mib", 64 * MIB },	 { "1G", GIB },
		{ "65536", 65536 },	 { "4k", 4 * KIB },
		{ "10KB", 10000 },	 { " 8M ", 8 * MIB },
		{ "2T", 2 * TIB },	 { "512b", 512 },
		{ "7bytes", 7 },
	};
	static const char *const bad[] = { "",	  "M",	  "64Q", "-1",
					   "1.5M", "6 4M", "M64", "0x40",
					   "64 M B" };
	uint64_t v;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		v = 0;
		assert_int_equal(cvm_hook_parse_size(cases[i].s, &v), 0);
		assert_true(v == cases[i].want);
	}
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		assert_int_equal(cvm_hook_parse_size(bad[i], &v), -EINVAL);
	assert_int_equal(cvm_hook_parse_size(NULL, &v), -EINVAL);
	assert_int_equal(cvm_hook_parse_size("16E", &v), -ERANGE);
	assert_int_equal(cvm_hook_parse_size("99999999999999999999", &v),
			 -ERANGE);
}

static void test_format_size(void **state)
{
	char b[64];

	(void)state;
	cvm_hook_format_size(256 * MIB, b, sizeof(b));
	assert_string_equal(b, "256 MiB");
	cvm_hook_format_size(4 * KIB, b, sizeof(b));
	assert_string_equal(b, "4 KiB");
	cvm_hook_format_size(GIB + MIB, b, sizeof(b));
	assert_string_equal(b, "1025 MiB");
	cvm_hook_format_size(1000, b, sizeof(b));
	assert_string_equal(b, "1000 bytes");
	cvm_hook_format_size(64 * TIB, b, sizeof(b));
	assert_string_equal(b, "64 TiB");
	cvm_hook_format_size(0, b, sizeof(b));
	assert_string_equal(b, "0 bytes");
}

/* --- opt-in --------------------------------------------------------------- */

static void test_optin_none(void **state)
{
	struct cvm_hook_doc *doc;

	(void)state;
	doc = parse_ok(DOMAIN(MEM_256M, ""));
	assert_false(cvm_hook_doc_opted_in(doc));
	assert_false(cvm_hook_doc_has_launch_security(doc));
	assert_false(cvm_hook_doc_has_metadata(doc));
	cvm_hook_doc_free(doc);
	/* Other people's metadata is not an opt-in. */
	assert_false(opted_in(DOMAIN(MEM_256M,
		"  <metadata>\n    <app:x xmlns:app='http://example.com/app'"
		" a='1'/>\n  </metadata>\n")));
	/* An empty <metadata>. */
	assert_false(opted_in(DOMAIN(MEM_256M, "  <metadata/>\n")));
}

static void test_optin_launch_security(void **state)
{
	struct cvm_hook_doc *doc;

	(void)state;
	doc = parse_ok(DOMAIN(MEM_256M,
		"  <launchSecurity type='sev'>\n    <policy>0x0003</policy>\n"
		"  </launchSecurity>\n"));
	assert_true(cvm_hook_doc_opted_in(doc));
	assert_true(cvm_hook_doc_has_launch_security(doc));
	assert_false(cvm_hook_doc_has_metadata(doc));
	cvm_hook_doc_free(doc);
	assert_true(opted_in(DOMAIN(MEM_256M, "  <launchSecurity/>\n")));
	/* Only /domain/launchSecurity counts, not one somewhere else. */
	assert_false(opted_in(DOMAIN(MEM_256M,
		"  <devices><launchSecurity/></devices>\n")));
	assert_false(opted_in(DOMAIN(MEM_256M,
		"  <description>&lt;launchSecurity/&gt;</description>\n")));
}

static void test_optin_metadata(void **state)
{
	struct cvm_hook_doc *doc;

	(void)state;
	doc = parse_ok(DOMAIN(MEM_256M, CVM_META("")));
	assert_true(cvm_hook_doc_opted_in(doc));
	assert_true(cvm_hook_doc_has_metadata(doc));
	assert_false(cvm_hook_doc_has_launch_security(doc));
	cvm_hook_doc_free(doc);
	/* The prefix is the document's choice; the namespace URI decides. */
	assert_true(opted_in(DOMAIN(MEM_256M,
		"  <metadata><c:cvm xmlns:c='" NS "' pin='upfront'/>"
		"</metadata>\n")));
	/* A default namespace works too. */
	assert_true(opted_in(DOMAIN(MEM_256M,
		"  <metadata><cvm xmlns='" NS "'/></metadata>\n")));
	/* Beside other applications' metadata. */
	assert_true(opted_in(DOMAIN(MEM_256M,
		"  <metadata>\n    <app:x xmlns:app='http://example.com/app'/>\n"
		"    <cvm:cvm xmlns:cvm='" NS "' memlock-limit='8M'/>\n"
		"  </metadata>\n")));
	/* Both ways at once. */
	assert_true(opted_in(DOMAIN(MEM_256M,
		CVM_META("pin='demand'") "  <launchSecurity type='sev'/>\n")));
}

static void test_optin_wrong_namespace(void **state)
{
	(void)state;
	/* A cvm-looking element in another namespace is someone else's. */
	assert_false(opted_in(DOMAIN(MEM_256M,
		"  <metadata><cvm:cvm xmlns:cvm='http://cvm.org/xmlns/libvirt/2.0'"
		" pin='upfront'/></metadata>\n")));
	assert_false(opted_in(DOMAIN(MEM_256M,
		"  <metadata><cvm:cvm xmlns:cvm='http://example.com/cvm'"
		" memlock-limit='64M'/></metadata>\n")));
	assert_false(opted_in(DOMAIN(MEM_256M,
		"  <metadata><cvm:cvm xmlns:cvm='http://cvm.org/xmlns/libvirt/1.0/'"
		"/></metadata>\n")));
	/* ... and so is one without a namespace. */
	assert_false(opted_in(DOMAIN(MEM_256M,
		"  <metadata><cvm memlock-limit='64M'/></metadata>\n")));
	/* The namespace elsewhere than under /domain/metadata. */
	assert_false(opted_in(DOMAIN(MEM_256M,
		"  <devices><cvm:cvm xmlns:cvm='" NS "'/></devices>\n")));
	/* Declared but not used. */
	assert_false(opted_in(DOMAIN(MEM_256M,
		"  <metadata xmlns:cvm='" NS "'><x/></metadata>\n")));
}

/* --- malformed, foreign, huge --------------------------------------------- */

static void test_malformed(void **state)
{
	static const char *const docs[] = {
		"<domain><name>web1</name>",			  /* unclosed */
		"<domain><memory>1</memry></domain>",		  /* mismatch */
		"<domain a='1' a='2'/>", /* attribute twice */
		/* an unbound prefix */
		"<domain><metadata><cvm:cvm/></metadata></domain>",
		"not xml at all",
		"<domain>&undefined;</domain>",
		"<domain/><domain/>",
		"\xff\xfe<domain/>",
	};
	const char *err;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(docs) / sizeof(docs[0]); i++) {
		err = parse_err(docs[i], strlen(docs[i]), -EBADMSG);
		assert_contains(err, "not well-formed");
	}
	err = parse_str("<domain>\n<name>x</name>\n</dom>", -EBADMSG);
	assert_contains(err, "line 3");
	/* Empty input (libvirt always sends XML; nothing is malformed). */
	parse_err("", 0, -EBADMSG);
	parse_err(NULL, 0, -EBADMSG);
}

static void test_not_a_domain(void **state)
{
	const char *err;

	(void)state;
	err = parse_str("<network><name>n</name></network>", -EINVAL);
	assert_contains(err, "<domain>");
	parse_str("<d:domain xmlns:d='urn:x'/>", -EINVAL);
	/* A DOCTYPE (entity tricks included) is refused outright. */
	err = parse_str("<!DOCTYPE domain [<!ENTITY a 'aaaa'>]>"
			"<domain><name>&a;</name></domain>", -EINVAL);
	assert_contains(err, "DOCTYPE");
	err = parse_str("<!DOCTYPE domain SYSTEM 'http://example.com/x.dtd'>"
			"<domain/>", -EINVAL);
	assert_contains(err, "DOCTYPE");
}

static void test_huge(void **state)
{
	size_t len = CVM_HOOK_XML_MAX + 1;
	const char *err;
	char *buf;

	(void)state;
	buf = malloc(len);
	assert_non_null(buf);
	memset(buf, ' ', len);
	memcpy(buf, "<domain>", 8);
	memcpy(buf + len - 9, "</domain>", 9);
	err = parse_err(buf, len, -EFBIG);
	assert_contains(err, "16 MiB");
	free(buf);
}

/* Just under the cap: parsed, and the opt-in still found at its end. */
static void test_large_but_allowed(void **state)
{
	static const char head[] = "<domain type='qemu'><name>big</name>"
				   MEM_256M "<metadata>";
	static const char tail[] = "<cvm:cvm xmlns:cvm='" NS "'/>"
				   "</metadata></domain>";
	size_t cap = CVM_HOOK_XML_MAX, len = 0, plen;
	struct cvm_hook_doc *doc = NULL;
	char *buf, err[512], pad[4096];

	(void)state;
	/* Other metadata, 4 KiB a piece: <p:x xmlns:p='urn:pad'>aaa...</p:x> */
	strcpy(pad, "<p:x xmlns:p='urn:pad'>");
	plen = strlen(pad);
	memset(pad + plen, 'a', sizeof(pad) - plen - 7);
	memcpy(pad + sizeof(pad) - 7, "</p:x>\n", 7);
	plen = sizeof(pad);
	buf = malloc(cap);
	assert_non_null(buf);
	memcpy(buf, head, sizeof(head) - 1);
	len = sizeof(head) - 1;
	while (len + plen + sizeof(tail) - 1 <= cap) {
		memcpy(buf + len, pad, plen);
		len += plen;
	}
	/* Fill up to the byte with blanks. */
	memset(buf + len, ' ', cap - (sizeof(tail) - 1) - len);
	len = cap - (sizeof(tail) - 1);
	memcpy(buf + len, tail, sizeof(tail) - 1);
	len += sizeof(tail) - 1;
	assert_true(len == CVM_HOOK_XML_MAX);
	assert_int_equal(cvm_hook_doc_parse(buf, len, &doc, err, sizeof(err)),
			 0);
	assert_true(cvm_hook_doc_opted_in(doc));
	cvm_hook_doc_free(doc);
	free(buf);
}

/* --- memory --------------------------------------------------------------- */

static uint64_t memory_of(const char *memory_xml)
{
	char xml[1024], err[512];
	struct cvm_hook_config cfg;

	snprintf(xml, sizeof(xml), "<domain><name>m</name>%s"
		 "<launchSecurity/></domain>", memory_xml);
	if (config_of(xml, &cfg, err, sizeof(err)))
		fail_msg("config: %s", err);
	return cfg.memory_bytes;
}

static const char *memory_err(const char *memory_xml)
{
	static char err[512];
	char xml[1024];
	struct cvm_hook_config cfg;

	snprintf(xml, sizeof(xml), "<domain><name>m</name>%s"
		 "<launchSecurity/></domain>", memory_xml);
	assert_int_equal(config_of(xml, &cfg, err, sizeof(err)), -EINVAL);
	return err;
}

static void test_memory_units(void **state)
{
	(void)state;
	/* libvirt's default unit is KiB. */
	assert_true(memory_of("<memory>262144</memory>") == 256 * MIB);
	assert_true(memory_of(MEM_256M) == 256 * MIB);
	assert_true(memory_of("<memory unit='k'>1024</memory>") == MIB);
	assert_true(memory_of("<memory unit='MiB'>64</memory>") == 64 * MIB);
	assert_true(memory_of("<memory unit='M'>64</memory>") == 64 * MIB);
	assert_true(memory_of("<memory unit='G'>2</memory>") == 2 * GIB);
	assert_true(memory_of("<memory unit='GiB'>1</memory>") == GIB);
	assert_true(memory_of("<memory unit='TiB'>1</memory>") == TIB);
	assert_true(memory_of("<memory unit='bytes'>1048576</memory>") == MIB);
	assert_true(memory_of("<memory unit='b'>8192</memory>") == 8192);
	/* Powers of 1000, rounded up to whole 4 KiB pages. */
	assert_true(memory_of("<memory unit='MB'>64</memory>") == 64000000ULL);
	assert_true(memory_of("<memory unit='KB'>1</memory>") == 4096);
	assert_true(memory_of("<memory unit='b'>1</memory>") == 4096);
	assert_true(memory_of("<memory unit='b'>4097</memory>") == 8192);
	assert_true(memory_of("<memory unit='KiB'> 4096 </memory>") == 4 * MIB);
	/* <memory> wins over <currentMemory>; either alone is enough. */
	assert_true(memory_of("<currentMemory unit='MiB'>32</currentMemory>"
			      "<memory unit='MiB'>64</memory>") == 64 * MIB);
	assert_true(memory_of("<currentMemory unit='MiB'>32</currentMemory>") ==
		    32 * MIB);
	/* 64 TiB is cvmd's largest. */
	assert_true(memory_of("<memory unit='TiB'>64</memory>") == 64 * TIB);
}

static void test_memory_errors(void **state)
{
	(void)state;
	assert_contains(memory_err(""), "no <memory>");
	assert_contains(memory_err("<maxMemory slots='4'>1</maxMemory>"),
			"no <memory>");
	assert_contains(memory_err("<memory>lots</memory>"), "not a number");
	assert_contains(memory_err("<memory></memory>"), "not a number");
	assert_contains(memory_err("<memory>-1</memory>"), "not a number");
	assert_contains(memory_err("<memory unit='pages'>16</memory>"),
			"unknown unit");
	assert_contains(memory_err("<memory>0</memory>"), "is 0");
	assert_contains(memory_err("<memory unit='TiB'>65</memory>"),
			"more than the 64 TiB");
	assert_contains(memory_err("<memory unit='EiB'>15</memory>"),
			"more than");
	assert_contains(memory_err("<memory unit='EiB'>16</memory>"),
			"too large");
}

/* --- options -------------------------------------------------------------- */

static void test_options_default(void **state)
{
	struct cvm_hook_config cfg;
	char err[512];

	(void)state;
	/* launchSecurity alone: demand pinning, cvmd's default memlock. */
	assert_int_equal(config_of(DOMAIN(MEM_256M, "  <launchSecurity/>\n"),
				   &cfg, err, sizeof(err)), 0);
	assert_true(cfg.memory_bytes == 256 * MIB);
	assert_true(cfg.memlock_limit_bytes == 0);
	assert_int_equal(cfg.pin, CVM_HOOK_PIN_DEMAND);
	/* An element without options: the same. */
	assert_int_equal(config_of(DOMAIN(MEM_256M, CVM_META("")), &cfg, err,
				   sizeof(err)), 0);
	assert_true(cfg.memlock_limit_bytes == 0);
	assert_int_equal(cfg.pin, CVM_HOOK_PIN_DEMAND);
}

static void test_options(void **state)
{
	struct cvm_hook_config cfg;
	char err[512];

	(void)state;
	assert_int_equal(config_of(DOMAIN(MEM_256M,
		CVM_META("memlock-limit='64M' pin='upfront'")), &cfg, err,
		sizeof(err)), 0);
	assert_true(cfg.memlock_limit_bytes == 64 * MIB);
	assert_int_equal(cfg.pin, CVM_HOOK_PIN_UPFRONT);
	assert_int_equal(config_of(DOMAIN(MEM_256M,
		CVM_META("pin='demand' memlock-limit='1 GiB'")), &cfg, err,
		sizeof(err)), 0);
	assert_true(cfg.memlock_limit_bytes == GIB);
	assert_int_equal(cfg.pin, CVM_HOOK_PIN_DEMAND);
	assert_int_equal(config_of(DOMAIN(MEM_256M,
		CVM_META("memlock-limit='8388608'")), &cfg, err, sizeof(err)), 0);
	assert_true(cfg.memlock_limit_bytes == 8 * MIB);
	/* Attributes of another namespace are someone else's business. */
	assert_int_equal(config_of(DOMAIN(MEM_256M,
		CVM_META("xmlns:o='urn:o' o:colour='blue' pin='upfront'")), &cfg,
		err, sizeof(err)), 0);
	assert_int_equal(cfg.pin, CVM_HOOK_PIN_UPFRONT);
	/* Options also apply next to launchSecurity. */
	assert_int_equal(config_of(DOMAIN(MEM_256M,
		CVM_META("memlock-limit='16M'") "  <launchSecurity/>\n"), &cfg,
		err, sizeof(err)), 0);
	assert_true(cfg.memlock_limit_bytes == 16 * MIB);
}

static void test_options_errors(void **state)
{
	static const struct {
		const char *xml, *says;
	} cases[] = {
		{ DOMAIN(MEM_256M, CVM_META("pin='sometimes'")), "pin 'sometimes'" },
		{ DOMAIN(MEM_256M, CVM_META("pin='Demand'")), "neither" },
		{ DOMAIN(MEM_256M, CVM_META("pin=''")), "pin ''" },
		{ DOMAIN(MEM_256M, CVM_META("memlock-limit='lots'")),
		  "memlock-limit 'lots' is not a size" },
		{ DOMAIN(MEM_256M, CVM_META("memlock-limit=''")), "not a size" },
		{ DOMAIN(MEM_256M, CVM_META("memlock-limit='-1M'")), "not a size" },
		{ DOMAIN(MEM_256M, CVM_META("memlock-limit='0'")),
		  "more than 0" },
		{ DOMAIN(MEM_256M, CVM_META("memlock-limit='16E'")), "too large" },
		{ DOMAIN(MEM_256M, CVM_META("memlock_limit='64M'")),
		  "unknown attribute 'memlock_limit'" },
		{ DOMAIN(MEM_256M, CVM_META("pinning='upfront'")),
		  "unknown attribute" },
		{ DOMAIN(MEM_256M, "  <metadata><cvm:options xmlns:cvm='" NS
				   "' pin='upfront'/></metadata>\n"),
		  "unknown element <options>" },
		{ DOMAIN(MEM_256M, "  <metadata><cvm:cvm xmlns:cvm='" NS
				   "'><pin>upfront</pin></cvm:cvm></metadata>\n"),
		  "unexpected element <pin>" },
		/* Options are only read when the memory is fine. */
		{ DOMAIN("", CVM_META("pin='upfront'")), "no <memory>" },
	};
	struct cvm_hook_config cfg;
	char err[512];
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		assert_int_equal(config_of(cases[i].xml, &cfg, err, sizeof(err)),
				 -EINVAL);
		assert_contains(err, cases[i].says);
	}
}

/* A bad option still opts in: the hook must refuse, not ignore, it. */
static void test_options_errors_still_opt_in(void **state)
{
	(void)state;
	assert_true(opted_in(DOMAIN(MEM_256M, CVM_META("pin='sometimes'"))));
	assert_true(opted_in(DOMAIN("", CVM_META(""))));
}

/* Control characters in a bad value never reach the one-line message. */
static void test_options_error_one_line(void **state)
{
	struct cvm_hook_config cfg;
	char err[512];

	(void)state;
	assert_int_equal(config_of(DOMAIN(MEM_256M,
		CVM_META("pin='up&#10;front&#13;'")), &cfg, err, sizeof(err)),
		-EINVAL);
	assert_null(strchr(err, '\r'));
	assert_contains(err, "up?front?");
}

/* --- admission ------------------------------------------------------------ */

static void test_admit_memlock(void **state)
{
	struct cvm_hook_config cfg = { .memory_bytes = 256 * MIB };
	char err[512];

	(void)state;
	/* No limit given: cvmd's default, covered. */
	cfg.pin = CVM_HOOK_PIN_DEMAND;
	assert_int_equal(cvm_hook_admit_memlock(&cfg, err, sizeof(err)), 0);
	cfg.pin = CVM_HOOK_PIN_UPFRONT;
	assert_int_equal(cvm_hook_admit_memlock(&cfg, err, sizeof(err)), 0);

	/* Demand pinning needs one page. */
	cfg.pin = CVM_HOOK_PIN_DEMAND;
	cfg.memlock_limit_bytes = 4096;
	assert_int_equal(cvm_hook_admit_memlock(&cfg, err, sizeof(err)), 0);
	cfg.memlock_limit_bytes = 8 * MIB;
	assert_int_equal(cvm_hook_admit_memlock(&cfg, err, sizeof(err)), 0);
	cfg.memlock_limit_bytes = 4095;
	assert_int_equal(cvm_hook_admit_memlock(&cfg, err, sizeof(err)),
			 -ENOMEM);
	assert_contains(err, "one page");

	/* Upfront pinning needs all of the memory. */
	cfg.pin = CVM_HOOK_PIN_UPFRONT;
	cfg.memlock_limit_bytes = 64 * MIB;
	assert_int_equal(cvm_hook_admit_memlock(&cfg, err, sizeof(err)),
			 -ENOMEM);
	assert_string_equal(err, "upfront pinning locks all 256 MiB of guest "
				 "memory, more than memlock-limit 64 MiB");
	cfg.memlock_limit_bytes = 256 * MIB - 4096;
	assert_int_equal(cvm_hook_admit_memlock(&cfg, err, sizeof(err)),
			 -ENOMEM);
	cfg.memlock_limit_bytes = 256 * MIB;
	assert_int_equal(cvm_hook_admit_memlock(&cfg, err, sizeof(err)), 0);
	cfg.memlock_limit_bytes = GIB;
	assert_int_equal(cvm_hook_admit_memlock(&cfg, err, sizeof(err)), 0);
}

static void test_admit_pool(void **state)
{
	char err[512];

	(void)state;
	/* Not reported (0 total): nothing to check. */
	assert_int_equal(POOL("kmod", 0, 0), 0);
	/* sim: every VM brings its own pool. */
	assert_int_equal(POOL("sim", 4096, 0), 0);
	/* A shared pool needs a free page. */
	assert_int_equal(POOL("kmod", 16384, 1),
			 0);
	assert_int_equal(POOL("kmod", 16384, 0),
			 -ENOMEM);
	assert_string_equal(err, "the secure pool is full (0 of 16384 pages "
				 "free)");
	assert_int_equal(POOL(NULL, 16, 0),
			 -ENOMEM);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_actions),
		cmocka_unit_test(test_actions_unknown),
		cmocka_unit_test(test_names_valid),
		cmocka_unit_test(test_names_invalid),
		cmocka_unit_test(test_scaled_units),
		cmocka_unit_test(test_scaled_errors),
		cmocka_unit_test(test_size_attribute),
		cmocka_unit_test(test_format_size),
		cmocka_unit_test(test_optin_none),
		cmocka_unit_test(test_optin_launch_security),
		cmocka_unit_test(test_optin_metadata),
		cmocka_unit_test(test_optin_wrong_namespace),
		cmocka_unit_test(test_malformed),
		cmocka_unit_test(test_not_a_domain),
		cmocka_unit_test(test_huge),
		cmocka_unit_test(test_large_but_allowed),
		cmocka_unit_test(test_memory_units),
		cmocka_unit_test(test_memory_errors),
		cmocka_unit_test(test_options_default),
		cmocka_unit_test(test_options),
		cmocka_unit_test(test_options_errors),
		cmocka_unit_test(test_options_errors_still_opt_in),
		cmocka_unit_test(test_options_error_one_line),
		cmocka_unit_test(test_admit_memlock),
		cmocka_unit_test(test_admit_pool),
	};

	return cmocka_run_group_tests_name("hook", tests, NULL, NULL);
}
