// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * hook-scan.c - the libvirt hook's fast decision (hook-entry.c): libvirt
 * calls the hook for every domain, and loading libxml2 (with ICU) costs
 * more than the whole call should. This scanner, libc only, answers one
 * question: is the domain XML surely one the full hook would parse and
 * find not opted in? Then the hook is done.
 *
 * "Surely" is a strict subset of XML, one libvirt's own output stays in:
 * printable ASCII, a <domain> root in no namespace first in the
 * document, no "<!" (comments, CDATA, DOCTYPE) or "<?", only the five
 * predefined entity references (so no address can be spelled with
 * character references), nesting checked, no duplicate attribute.
 * Namespaces as other applications' metadata uses them (libosinfo's on
 * most domains): an element may have a prefix, bound by an xmlns:PREFIX
 * declaration (non-empty) in scope; attributes have none but those
 * declarations and xmlns. And nowhere the text "launchSecurity" or the
 * cvm namespace's address, so no element is in the cvm namespace. A
 * document outside the subset is not judged: the full hook parses it (a
 * malformed one must still be refused at prepare), so a false "no" costs
 * time, never behaviour.
 */
#include <string.h>

#include "hook-scan.h"

#define SCAN_MAX_LEN (16U << 20) /* CVM_HOOK_XML_MAX */
#define SCAN_MAX_DEPTH 128	 /* libxml2 stops at 256 */
#define SCAN_MAX_NAME 1000	 /* libxml2: 50000 */
#define SCAN_MAX_RUN (1U << 20)	 /* text or value; libxml2: 10 MB */
#define SCAN_MAX_ATTRS 64
#define SCAN_MAX_DECLS 256	 /* namespace declarations in scope */

struct name {
	const char *s;
	size_t len;
};

/* A namespace prefix declared on an element at depth @depth. */
struct decl {
	struct name prefix;
	unsigned int depth;
};

struct scan {
	const char *p, *end;
	struct decl decls[SCAN_MAX_DECLS];
	unsigned int nr_decls;
};

static bool is_space(char c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

static bool name_start(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_';
}

static bool name_char(char c)
{
	return name_start(c) || (c >= '0' && c <= '9') || c == '-' || c == '.';
}

static void skip_space(struct scan *s)
{
	while (s->p < s->end && is_space(*s->p))
		s->p++;
}

/* NAME or PREFIX:NAME; *colon is the ':' or NULL. */
static bool read_name(struct scan *s, struct name *n, const char **colon)
{
	*colon = NULL;
	n->s = s->p;
	if (s->p >= s->end || !name_start(*s->p))
		return false;
	while (s->p < s->end && name_char(*s->p))
		s->p++;
	if (s->p < s->end && *s->p == ':') {
		*colon = s->p++;
		if (s->p >= s->end || !name_start(*s->p))
			return false;
		while (s->p < s->end && name_char(*s->p))
			s->p++;
	}
	n->len = s->p - n->s;
	return n->len <= SCAN_MAX_NAME;
}

static bool is_word(const char *s, size_t len, const char *word)
{
	return len == strlen(word) && !memcmp(s, word, len);
}

static bool same(const struct name *a, const struct name *b)
{
	return a->len == b->len && !memcmp(a->s, b->s, a->len);
}

/* At '&': one of the five predefined references, skipped. */
static bool read_ref(struct scan *s)
{
	static const char *const refs[] = { "&amp;", "&lt;", "&gt;", "&quot;",
					    "&apos;" };
	size_t i, n;

	for (i = 0; i < sizeof(refs) / sizeof(refs[0]); i++) {
		n = strlen(refs[i]);
		if ((size_t)(s->end - s->p) >= n && !memcmp(s->p, refs[i], n)) {
			s->p += n;
			return true;
		}
	}
	return false;
}

/* Character data up to the next '<' (or the end). */
static bool read_text(struct scan *s)
{
	const char *start = s->p;

	while (s->p < s->end && *s->p != '<') {
		if (*s->p == '&') {
			if (!read_ref(s))
				return false;
			continue;
		}
		/* "]]>" is not allowed in character data */
		if (*s->p == '>' && s->p - start >= 2 && s->p[-1] == ']' &&
		    s->p[-2] == ']')
			return false;
		s->p++;
	}
	return (size_t)(s->p - start) <= SCAN_MAX_RUN;
}

static bool in(char c, const char *set)
{
	return c && strchr(set, c);
}

#define ALNUM "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"

/*
 * A namespace name libxml2 surely takes for a URI (it refuses a
 * declaration of one it can't parse): SCHEME://HOST[/PATH], in a few
 * characters only.
 */
static bool plain_uri(const char *v, size_t len)
{
	const char *end = v + len;

	if (v == end || !in(*v, "abcdefghijklmnopqrstuvwxyz"))
		return false;
	while (v < end && in(*v, ALNUM "+.-"))
		v++;
	if (end - v < 4 || memcmp(v, "://", 3))
		return false;
	v += 3;
	if (!in(*v, ALNUM))
		return false;
	while (v < end && in(*v, ALNUM ".-"))
		v++;
	if (v < end && *v != '/')
		return false;
	while (v < end && in(*v, ALNUM "._~/-"))
		v++;
	return v == end;
}

/*
 * A quoted attribute value; *empty when it is "", *uri when it is a
 * plain_uri().
 */
static bool read_value(struct scan *s, bool *empty, bool *uri)
{
	const char *start;
	char q;

	if (s->p >= s->end || (*s->p != '"' && *s->p != '\''))
		return false;
	q = *s->p++;
	start = s->p;
	while (s->p < s->end && *s->p != q) {
		if (*s->p == '<')
			return false;
		if (*s->p == '&') {
			if (!read_ref(s))
				return false;
			continue;
		}
		s->p++;
	}
	if (s->p >= s->end || (size_t)(s->p - start) > SCAN_MAX_RUN)
		return false;
	*empty = s->p == start;
	*uri = plain_uri(start, s->p - start);
	s->p++;
	return true;
}

/* Is @prefix declared in scope (this element's declarations included)? */
static bool bound(const struct scan *s, const char *prefix, size_t len)
{
	unsigned int i;

	for (i = 0; i < s->nr_decls; i++)
		if (s->decls[i].prefix.len == len &&
		    !memcmp(s->decls[i].prefix.s, prefix, len))
			return true;
	return false;
}

/*
 * After "<NAME" at @depth: the attributes and the end of the tag; the
 * namespace declarations among them are added to s->decls. *empty tells
 * "/>" from ">".
 */
static bool read_attrs(struct scan *s, unsigned int depth, bool *empty)
{
	struct name seen[SCAN_MAX_ATTRS], n;
	unsigned int nr = 0, i;
	const char *before, *colon;
	bool none, uri;

	for (;;) {
		before = s->p;
		skip_space(s);
		if (s->p >= s->end)
			return false;
		if (*s->p == '>') {
			s->p++;
			*empty = false;
			return true;
		}
		if (*s->p == '/') {
			if (s->end - s->p < 2 || s->p[1] != '>')
				return false;
			s->p += 2;
			*empty = true;
			return true;
		}
		/* attributes are separated by white space */
		if (s->p == before || nr == SCAN_MAX_ATTRS ||
		    !read_name(s, &n, &colon))
			return false;
		for (i = 0; i < nr; i++)
			if (same(&seen[i], &n))
				return false;
		seen[nr++] = n;
		skip_space(s);
		if (s->p >= s->end || *s->p != '=')
			return false;
		s->p++;
		skip_space(s);
		if (!read_value(s, &none, &uri))
			return false;
		if (!colon) {
			/* A default namespace: not on the root, a <domain>. */
			if (is_word(n.s, n.len, "xmlns") && (!depth || !uri))
				return false;
			continue;
		}
		/* Only xmlns:PREFIX="URI", PREFIX not xml or xmlns. */
		if (!is_word(n.s, colon - n.s, "xmlns") || none || !uri ||
		    is_word(colon + 1, n.s + n.len - colon - 1, "xml") ||
		    is_word(colon + 1, n.s + n.len - colon - 1, "xmlns") ||
		    s->nr_decls == SCAN_MAX_DECLS)
			return false;
		s->decls[s->nr_decls].prefix.s = colon + 1;
		s->decls[s->nr_decls].prefix.len = n.s + n.len - colon - 1;
		s->decls[s->nr_decls].depth = depth;
		s->nr_decls++;
	}
}

/* The document as a whole: see the top of this file. */
static bool scan_doc(struct scan *s)
{
	static const struct name domain = { "domain", 6 };
	struct name stack[SCAN_MAX_DEPTH], n;
	unsigned int depth = 0;
	const char *colon;
	bool empty;

	/* The root first: no declaration, no white space before it. */
	if (s->p >= s->end || *s->p != '<')
		return false;
	for (;;) {
		if (depth && !read_text(s))
			return false;
		if (s->p >= s->end || s->end - s->p < 2)
			return false;
		s->p++; /* '<' */
		if (*s->p == '/') {
			s->p++;
			if (!depth || !read_name(s, &n, &colon) ||
			    !same(&n, &stack[depth - 1]))
				return false;
			skip_space(s);
			if (s->p >= s->end || *s->p != '>')
				return false;
			s->p++;
			depth--;
		} else {
			if (!read_name(s, &n, &colon) || depth == SCAN_MAX_DEPTH)
				return false;
			if (!depth && !same(&n, &domain))
				return false;
			if (!read_attrs(s, depth, &empty))
				return false;
			/* The element's prefix, bound here or above. */
			if (colon && !bound(s, n.s, colon - n.s))
				return false;
			if (!empty)
				stack[depth++] = n;
		}
		/* The declarations of elements now closed go out of scope. */
		while (s->nr_decls && s->decls[s->nr_decls - 1].depth >= depth)
			s->nr_decls--;
		if (!depth)
			break;
	}
	/* Only white space after the root. */
	skip_space(s);
	return s->p == s->end;
}

bool cvm_hook_scan_plain(const char *buf, size_t len)
{
	struct scan s = { .p = buf, .end = buf + len };
	size_t i;

	if (!buf || !len || len > SCAN_MAX_LEN)
		return false;
	for (i = 0; i < len; i++) {
		unsigned char c = buf[i];

		if ((c < 0x20 && c != '\t' && c != '\n' && c != '\r') ||
		    c > 0x7e)
			return false;
	}
	/* Whatever the markup around them: opted in, or can't tell. */
	if (memmem(buf, len, "launchSecurity", 14) ||
	    memmem(buf, len, "cvm.org/xmlns", 13))
		return false;
	return scan_doc(&s);
}
