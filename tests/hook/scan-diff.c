// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * scan-diff.c - the hook entry's scanner (client/hook-scan.c) against the
 * full hook's parser (client/hook-xml.c, libxml2): whenever the scanner
 * says "surely not opted in", libxml2 must parse the document and find it
 * not opted in. Checked on each document named, on every one-byte
 * mutation of it from a set of bytes that matter to XML, and on every
 * truncation; and the scanner must say "plain" for the documents named
 * with --plain (libvirt's own output: else the fast path never runs).
 *
 *   scan-diff [--plain FILE]... [FILE]...
 *
 * TAP lines: one per document.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hook-scan.h"
#include "hook-xml.h"

/* Bytes a mutation puts in, or in front of, one position. */
static const char mutations[] = "<>&/=\"' :!?;#x\n\x01\xc3";

/* 0 when the scanner's answer is safe for buf, else 1 (and says why). */
static int check(const char *name, const char *buf, size_t len,
		 const char *what, size_t pos)
{
	struct cvm_hook_doc *doc = NULL;
	char err[256];
	int bad = 0;

	if (!cvm_hook_scan_plain(buf, len))
		return 0;
	if (cvm_hook_doc_parse(buf, len, &doc, err, sizeof(err))) {
		printf("# %s: %s at %zu: scanner says plain, libxml2: %s\n",
		       name, what, pos, err);
		bad = 1;
	} else if (cvm_hook_doc_opted_in(doc)) {
		printf("# %s: %s at %zu: scanner says plain, but it opted in\n",
		       name, what, pos);
		bad = 1;
	}
	cvm_hook_doc_free(doc);
	return bad;
}

static char *slurp(const char *path, size_t *ret_len)
{
	FILE *f = fopen(path, "rb");
	char *buf;
	long n;

	if (!f)
		return NULL;
	fseek(f, 0, SEEK_END);
	n = ftell(f);
	rewind(f);
	buf = malloc(n + 2);
	if (buf && fread(buf, 1, n, f) != (size_t)n) {
		free(buf);
		buf = NULL;
	}
	fclose(f);
	*ret_len = n;
	return buf;
}

static int one(const char *path, bool want_plain)
{
	const char *name = strrchr(path, '/') ? strrchr(path, '/') + 1 : path;
	size_t len, i, k, bad = 0;
	char *buf, *m;

	buf = slurp(path, &len);
	m = malloc(len + 2);
	if (!buf || !m) {
		printf("not ok - scan-diff %s: can't read it\n", name);
		free(m);
		free(buf);
		return 1;
	}
	if (want_plain && !cvm_hook_scan_plain(buf, len)) {
		printf("not ok - scan-diff %s: the scanner does not take libvirt's own XML as plain\n",
		       name);
		free(m);
		free(buf);
		return 1;
	}
	bad += check(name, buf, len, "as is", 0);
	for (i = 0; i < len; i++) {
		bad += check(name, buf, i, "cut", i);
		for (k = 0; k < sizeof(mutations) - 1; k++) {
			memcpy(m, buf, len);
			m[i] = mutations[k];
			bad += check(name, m, len, "replaced", i);
			memcpy(m, buf, i);
			m[i] = mutations[k];
			memcpy(m + i + 1, buf + i, len - i);
			bad += check(name, m, len + 1, "inserted", i);
		}
		memcpy(m, buf, i);
		memcpy(m + i, buf + i + 1, len - i - 1);
		bad += check(name, m, len - 1, "deleted", i);
	}
	printf("%s - scan-diff %s: %zu mutations the scanner passed that libxml2 refuses%s\n",
	       bad ? "not ok" : "ok", name, bad, want_plain ? " (plain)" : "");
	free(m);
	free(buf);
	return bad != 0;
}

int main(int argc, char **argv)
{
	int i, fail = 0;

	for (i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--plain") && i + 1 < argc)
			fail |= one(argv[++i], true);
		else
			fail |= one(argv[i], false);
	}
	return fail;
}
