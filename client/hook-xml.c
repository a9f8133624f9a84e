// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * hook-xml.c - the pure half of the libvirt hook (see hook-xml.h): the
 * call table, the domain XML through libxml2 and XPath, names, sizes and
 * the admission rules. Nothing here prints or talks to cvmd.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <libxml/parser.h>
#include <libxml/tree.h>
#include <libxml/xpath.h>
#include <libxml/xpathInternals.h>

#include "hook-xml.h"

struct cvm_hook_doc {
	xmlDocPtr doc;
	bool launch_security;
	xmlNodePtr metadata; /* the first element of CVM_HOOK_NS, or NULL */
};

static int __attribute__((format(printf, 4, 5)))
fail(int ret, char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	if (err && errlen) {
		va_start(ap, fmt);
		vsnprintf(err, errlen, fmt, ap);
		va_end(ap);
	}
	return ret;
}

/* --- calls ---------------------------------------------------------------- */

static const struct {
	const char *op, *subop;
	enum cvm_hook_action action;
} calls[] = {
	{ "prepare", "begin", CVM_HOOK_PREPARE },
	{ "start", "begin", CVM_HOOK_START },
	{ "started", "begin", CVM_HOOK_STARTED },
	{ "stopped", "end", CVM_HOOK_CLEANUP },
	{ "release", "end", CVM_HOOK_CLEANUP },
	{ "migrate", "begin", CVM_HOOK_FILTER },
	{ "restore", "begin", CVM_HOOK_FILTER },
	{ "reconnect", "begin", CVM_HOOK_RECONNECT },
	/* A QEMU started outside libvirt never passed admission: leave it. */
	{ "attach", "begin", CVM_HOOK_IGNORE },
};

enum cvm_hook_action cvm_hook_action_of(const char *op, const char *subop)
{
	size_t i;

	if (!op || !subop)
		return CVM_HOOK_IGNORE;
	for (i = 0; i < sizeof(calls) / sizeof(calls[0]); i++)
		if (!strcmp(calls[i].op, op) && !strcmp(calls[i].subop, subop))
			return calls[i].action;
	/* Calls a later libvirt adds must not break any domain. */
	return CVM_HOOK_IGNORE;
}

/* --- names and sizes ------------------------------------------------------ */

int cvm_hook_check_name(const char *name)
{
	size_t len;

	if (!name || !*name)
		return -EINVAL;
	len = strlen(name);
	if (len > CVM_HOOK_NAME_MAX)
		return -ENAMETOOLONG;
	if (name[0] == '.' || name[0] == '-')
		return -EINVAL;
	if (strspn(name, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
			 "0123456789_.-") != len)
		return -EINVAL;
	return 0;
}

static bool is_blank(char c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

static const struct {
	const char *unit;
	unsigned int base; /* 1024 or 1000 */
	unsigned int power;
} units[] = {
	{ "b", 1, 0 },	     { "bytes", 1, 0 },	 { "k", 1024, 1 },
	{ "kib", 1024, 1 },  { "kb", 1000, 1 },	 { "m", 1024, 2 },
	{ "mib", 1024, 2 },  { "mb", 1000, 2 },	 { "g", 1024, 3 },
	{ "gib", 1024, 3 },  { "gb", 1000, 3 },	 { "t", 1024, 4 },
	{ "tib", 1024, 4 },  { "tb", 1000, 4 },	 { "p", 1024, 5 },
	{ "pib", 1024, 5 },  { "pb", 1000, 5 },	 { "e", 1024, 6 },
	{ "eib", 1024, 6 },  { "eb", 1000, 6 },
};

/* Multiply, or -ERANGE. */
static int mul(uint64_t a, uint64_t b, uint64_t *ret)
{
	if (b && a > UINT64_MAX / b)
		return -ERANGE;
	*ret = a * b;
	return 0;
}

/* The scale of a unit ("" or NULL: default_scale), or -EINVAL. */
static int unit_scale(const char *unit, size_t len, uint64_t default_scale,
		      uint64_t *ret)
{
	uint64_t scale;
	size_t i;
	unsigned int p;

	if (!unit || !len) {
		*ret = default_scale;
		return 0;
	}
	for (i = 0; i < sizeof(units) / sizeof(units[0]); i++) {
		if (strlen(units[i].unit) != len ||
		    strncasecmp(units[i].unit, unit, len))
			continue;
		scale = 1;
		for (p = 0; p < units[i].power; p++)
			scale *= units[i].base; /* at most 1024^6: fits */
		*ret = scale;
		return 0;
	}
	return -EINVAL;
}

/* Decimal digits [s, end) into *ret: -EINVAL when none or not digits. */
static int parse_digits(const char *s, const char *end, uint64_t *ret)
{
	uint64_t v = 0;

	if (s == end)
		return -EINVAL;
	for (; s < end; s++) {
		if (*s < '0' || *s > '9')
			return -EINVAL;
		if (v > (UINT64_MAX - (uint64_t)(*s - '0')) / 10)
			return -ERANGE;
		v = v * 10 + (uint64_t)(*s - '0');
	}
	*ret = v;
	return 0;
}

int cvm_hook_parse_scaled(const char *number, const char *unit,
			  uint64_t default_scale, uint64_t *ret)
{
	const char *s, *end;
	uint64_t v, scale;
	size_t ulen = 0;
	int r;

	if (!number)
		return -EINVAL;
	s = number;
	end = number + strlen(number);
	while (s < end && is_blank(*s))
		s++;
	while (end > s && is_blank(end[-1]))
		end--;
	r = parse_digits(s, end, &v);
	if (r)
		return r;
	if (unit)
		ulen = strlen(unit);
	r = unit_scale(unit, ulen, default_scale, &scale);
	if (r)
		return r;
	r = mul(v, scale, &v);
	if (r)
		return r;
	*ret = v;
	return 0;
}

int cvm_hook_parse_size(const char *s, uint64_t *ret)
{
	const char *digits, *unit, *end;
	uint64_t v, scale;
	int r;

	if (!s)
		return -EINVAL;
	end = s + strlen(s);
	while (s < end && is_blank(*s))
		s++;
	while (end > s && is_blank(end[-1]))
		end--;
	digits = s;
	while (s < end && *s >= '0' && *s <= '9')
		s++;
	r = parse_digits(digits, s, &v);
	if (r)
		return r;
	unit = s;
	while (unit < end && is_blank(*unit))
		unit++;
	r = unit_scale(unit, end - unit, 1, &scale);
	if (r)
		return r;
	r = mul(v, scale, &v);
	if (r)
		return r;
	*ret = v;
	return 0;
}

void cvm_hook_format_size(uint64_t bytes, char *buf, size_t len)
{
	static const char *const names[] = { "KiB", "MiB", "GiB", "TiB",
					     "PiB", "EiB" };
	int i;

	for (i = 5; i >= 0; i--) {
		unsigned int shift = 10 * (i + 1);

		if (bytes && !(bytes & ((1ULL << shift) - 1))) {
			snprintf(buf, len, "%" PRIu64 " %s", bytes >> shift,
				 names[i]);
			return;
		}
	}
	snprintf(buf, len, "%" PRIu64 " bytes", bytes);
}

/* --- the document --------------------------------------------------------- */

/* The first node an XPath expression selects, or NULL. */
static xmlNodePtr first_node(xmlXPathContextPtr ctx, const char *expr)
{
	xmlXPathObjectPtr obj;
	xmlNodePtr node = NULL;

	obj = xmlXPathEvalExpression((const xmlChar *)expr, ctx);
	if (!obj)
		return NULL;
	if (obj->type == XPATH_NODESET && obj->nodesetval &&
	    obj->nodesetval->nodeNr > 0)
		node = obj->nodesetval->nodeTab[0];
	xmlXPathFreeObject(obj);
	return node;
}

/* libxml2's reason, on one line, without its trailing newline. */
static void parse_error(xmlParserCtxtPtr ctxt, char *err, size_t errlen)
{
	const xmlError *e = xmlCtxtGetLastError(ctxt);
	char msg[256];
	size_t i;

	snprintf(msg, sizeof(msg), "%s",
		 e && e->message ? e->message : "unknown error");
	for (i = 0; msg[i]; i++)
		if ((unsigned char)msg[i] < 0x20)
			msg[i] = ' ';
	while (i && msg[i - 1] == ' ')
		msg[--i] = '\0';
	if (e && e->line > 0)
		fail(0, err, errlen, "the domain XML is not well-formed: "
		     "line %d: %s", e->line, msg);
	else
		fail(0, err, errlen, "the domain XML is not well-formed: %s",
		     msg);
}

/* Swallow libxml2's generic error output: the hook prints one line. */
static void quiet(void *ctx, const char *msg, ...)
{
	(void)ctx;
	(void)msg;
}

int cvm_hook_doc_parse(const char *buf, size_t len, struct cvm_hook_doc **ret,
		       char *err, size_t errlen)
{
	struct cvm_hook_doc *d;
	xmlParserCtxtPtr ctxt;
	xmlXPathContextPtr ctx;
	xmlNodePtr root;
	int r;

	if (len > CVM_HOOK_XML_MAX)
		return fail(-EFBIG, err, errlen, "the domain XML is larger "
			    "than %u MiB", CVM_HOOK_XML_MAX >> 20);
	xmlSetGenericErrorFunc(NULL, quiet);
	d = calloc(1, sizeof(*d));
	ctxt = xmlNewParserCtxt();
	if (!d || !ctxt) {
		r = fail(-ENOMEM, err, errlen, "out of memory");
		goto err;
	}
	/*
	 * No network, no external DTD, no entity substitution, no XInclude:
	 * the document is data, read as is.
	 */
	d->doc = xmlCtxtReadMemory(ctxt, buf ? buf : "", (int)len,
				   "domain.xml", NULL,
				   XML_PARSE_NONET | XML_PARSE_NOERROR |
					   XML_PARSE_NOWARNING);
	/* An unbound prefix is a namespace error, reported but not fatal. */
	if (!d->doc || !ctxt->nsWellFormed) {
		parse_error(ctxt, err, errlen);
		r = -EBADMSG;
		goto err;
	}
	if (d->doc->intSubset || d->doc->extSubset) {
		r = fail(-EINVAL, err, errlen, "the domain XML has a DOCTYPE "
			 "(libvirt never sends one)");
		goto err;
	}
	root = xmlDocGetRootElement(d->doc);
	if (!root || root->ns || xmlStrcmp(root->name, BAD_CAST "domain")) {
		r = fail(-EINVAL, err, errlen, "the XML is not a libvirt "
			 "domain (its root element is not <domain>)");
		goto err;
	}

	ctx = xmlXPathNewContext(d->doc);
	if (!ctx ||
	    xmlXPathRegisterNs(ctx, BAD_CAST "cvm", BAD_CAST CVM_HOOK_NS)) {
		xmlXPathFreeContext(ctx);
		r = fail(-ENOMEM, err, errlen, "out of memory");
		goto err;
	}
	d->launch_security = first_node(ctx, "/domain/launchSecurity");
	d->metadata = first_node(ctx, "/domain/metadata/cvm:*");
	xmlXPathFreeContext(ctx);
	xmlFreeParserCtxt(ctxt);
	*ret = d;
	return 0;
err:
	if (ctxt)
		xmlFreeParserCtxt(ctxt);
	cvm_hook_doc_free(d);
	return r;
}

void cvm_hook_doc_free(struct cvm_hook_doc *d)
{
	if (!d)
		return;
	if (d->doc)
		xmlFreeDoc(d->doc);
	free(d);
}

bool cvm_hook_doc_opted_in(const struct cvm_hook_doc *d)
{
	return d->launch_security || d->metadata;
}

bool cvm_hook_doc_has_launch_security(const struct cvm_hook_doc *d)
{
	return d->launch_security;
}

bool cvm_hook_doc_has_metadata(const struct cvm_hook_doc *d)
{
	return d->metadata;
}

/* An element's own text (its text and CDATA children), malloc'd. */
static char *own_text(xmlNodePtr node)
{
	size_t len = 0, n;
	xmlNodePtr c;
	char *s;

	for (c = node->children; c; c = c->next)
		if ((c->type == XML_TEXT_NODE ||
		     c->type == XML_CDATA_SECTION_NODE) && c->content)
			len += strlen((const char *)c->content);
	s = malloc(len + 1);
	if (!s)
		return NULL;
	len = 0;
	for (c = node->children; c; c = c->next)
		if ((c->type == XML_TEXT_NODE ||
		     c->type == XML_CDATA_SECTION_NODE) && c->content) {
			n = strlen((const char *)c->content);
			memcpy(s + len, c->content, n);
			len += n;
		}
	s[len] = '\0';
	return s;
}

/* Text for a message: at most 40 bytes, control characters as '?'. */
static const char *shown(const char *s, char *buf, size_t len)
{
	size_t i;

	snprintf(buf, len, "%.40s%s", s, strlen(s) > 40 ? "..." : "");
	for (i = 0; buf[i]; i++)
		if ((unsigned char)buf[i] < 0x20 || buf[i] == 0x7f)
			buf[i] = '?';
	return buf;
}

static int read_memory(xmlNodePtr node, struct cvm_hook_config *cfg,
		       char *err, size_t errlen)
{
	const char *what = (const char *)node->name;
	xmlChar *unit = xmlGetNoNsProp(node, BAD_CAST "unit");
	char *text = own_text(node), b1[64], b2[64];
	uint64_t bytes;
	int r;

	if (!text) {
		r = fail(-ENOMEM, err, errlen, "out of memory");
		goto out;
	}
	r = cvm_hook_parse_scaled(text, (const char *)unit, 1024, &bytes);
	if (r == -ERANGE) {
		r = fail(-EINVAL, err, errlen, "<%s>%s</%s> is too large",
			 what, shown(text, b1, sizeof(b1)), what);
		goto out;
	}
	if (r) {
		if (unit && cvm_hook_parse_scaled("1", (const char *)unit, 1,
						  &bytes))
			r = fail(-EINVAL, err, errlen, "<%s unit='%s'>: "
				 "unknown unit", what,
				 shown((const char *)unit, b1, sizeof(b1)));
		else
			r = fail(-EINVAL, err, errlen, "<%s>%s</%s> is not a "
				 "number", what, shown(text, b1, sizeof(b1)),
				 what);
		goto out;
	}
	if (!bytes) {
		r = fail(-EINVAL, err, errlen, "<%s> is 0: the VM needs "
			 "memory", what);
		goto out;
	}
	/* Whole pages; cvmd takes at most 64 TiB. */
	if (bytes > CVM_HOOK_MEMORY_MAX) {
		cvm_hook_format_size(bytes, b1, sizeof(b1));
		cvm_hook_format_size(CVM_HOOK_MEMORY_MAX, b2, sizeof(b2));
		r = fail(-EINVAL, err, errlen, "<%s> is %s, more than the "
			 "%s cvm allows", what, b1, b2);
		goto out;
	}
	cfg->memory_bytes = (bytes + CVM_HOOK_PAGE_SIZE - 1) &
			    ~(CVM_HOOK_PAGE_SIZE - 1);
	r = 0;
out:
	xmlFree(unit);
	free(text);
	return r;
}

static int read_options(xmlNodePtr node, struct cvm_hook_config *cfg,
			char *err, size_t errlen)
{
	char b1[64], b2[64];
	xmlAttrPtr a;
	xmlNodePtr c;
	xmlChar *v;
	int r = 0;

	if (xmlStrcmp(node->name, BAD_CAST CVM_HOOK_ELEMENT))
		return fail(-EINVAL, err, errlen, "unknown element <%s> in "
			    "the cvm namespace %s (expected <%s>)",
			    shown((const char *)node->name, b1, sizeof(b1)),
			    CVM_HOOK_NS, CVM_HOOK_ELEMENT);
	for (c = node->children; c; c = c->next)
		if (c->type == XML_ELEMENT_NODE)
			return fail(-EINVAL, err, errlen, "unexpected element "
				    "<%s> inside <%s> (its options are "
				    "attributes)",
				    shown((const char *)c->name, b1,
					  sizeof(b1)), CVM_HOOK_ELEMENT);

	for (a = node->properties; a && !r; a = a->next) {
		const char *name = (const char *)a->name;

		/* Attributes of other namespaces belong to someone else. */
		if (a->ns)
			continue;
		v = xmlNodeListGetString(node->doc, a->children, 1);
		if (!v)
			v = xmlStrdup(BAD_CAST "");
		if (!v)
			return fail(-ENOMEM, err, errlen, "out of memory");
		if (!strcmp(name, "memlock-limit")) {
			r = cvm_hook_parse_size((const char *)v,
						&cfg->memlock_limit_bytes);
			if (r == -ERANGE)
				r = fail(-EINVAL, err, errlen, "memlock-limit "
					 "'%s' is too large",
					 shown((const char *)v, b1,
					       sizeof(b1)));
			else if (r)
				r = fail(-EINVAL, err, errlen, "memlock-limit "
					 "'%s' is not a size (a number with "
					 "an optional unit: K, M, G, KiB, "
					 "MiB, GiB, ...)",
					 shown((const char *)v, b1,
					       sizeof(b1)));
			else if (!cfg->memlock_limit_bytes)
				r = fail(-EINVAL, err, errlen, "memlock-limit "
					 "must be more than 0 (leave it out "
					 "for cvmd's default)");
		} else if (!strcmp(name, "pin")) {
			if (!strcmp((const char *)v, "demand"))
				cfg->pin = CVM_HOOK_PIN_DEMAND;
			else if (!strcmp((const char *)v, "upfront"))
				cfg->pin = CVM_HOOK_PIN_UPFRONT;
			else
				r = fail(-EINVAL, err, errlen, "pin '%s' is "
					 "neither 'demand' nor 'upfront'",
					 shown((const char *)v, b1,
					       sizeof(b1)));
		} else {
			r = fail(-EINVAL, err, errlen, "unknown attribute "
				 "'%s' on <%s> (known: memlock-limit, pin)",
				 shown(name, b2, sizeof(b2)),
				 CVM_HOOK_ELEMENT);
		}
		xmlFree(v);
	}
	return r;
}

int cvm_hook_doc_config(const struct cvm_hook_doc *d,
			struct cvm_hook_config *cfg, char *err, size_t errlen)
{
	struct cvm_hook_config c = { .pin = CVM_HOOK_PIN_DEMAND };
	xmlXPathContextPtr ctx;
	xmlNodePtr mem;
	int r;

	ctx = xmlXPathNewContext(d->doc);
	if (!ctx)
		return fail(-ENOMEM, err, errlen, "out of memory");
	mem = first_node(ctx, "/domain/memory");
	if (!mem)
		mem = first_node(ctx, "/domain/currentMemory");
	xmlXPathFreeContext(ctx);
	if (!mem)
		return fail(-EINVAL, err, errlen, "the domain XML has no "
			    "<memory> (nor <currentMemory>)");
	r = read_memory(mem, &c, err, errlen);
	if (r)
		return r;
	if (d->metadata) {
		r = read_options(d->metadata, &c, err, errlen);
		if (r)
			return r;
	}
	*cfg = c;
	return 0;
}

/* --- admission ------------------------------------------------------------ */

int cvm_hook_admit_memlock(const struct cvm_hook_config *cfg, char *err,
			   size_t errlen)
{
	char limit[64], mem[64];

	if (!cfg->memlock_limit_bytes)
		return 0;
	cvm_hook_format_size(cfg->memlock_limit_bytes, limit, sizeof(limit));
	if (cfg->pin == CVM_HOOK_PIN_UPFRONT &&
	    cfg->memlock_limit_bytes < cfg->memory_bytes) {
		cvm_hook_format_size(cfg->memory_bytes, mem, sizeof(mem));
		return fail(-ENOMEM, err, errlen, "upfront pinning locks all "
			    "%s of guest memory, more than memlock-limit %s",
			    mem, limit);
	}
	if (cfg->memlock_limit_bytes < CVM_HOOK_PAGE_SIZE)
		return fail(-ENOMEM, err, errlen, "memlock-limit %s is less "
			    "than one page (4 KiB), the least a secure VM "
			    "locks", limit);
	return 0;
}

int cvm_hook_admit_pool(const char *backend, uint64_t pool_total_pages,
			uint64_t pool_free_pages, char *err, size_t errlen)
{
	/* sim: each VM brings its own pool; 0: cvmd does not report one. */
	if ((backend && !strcmp(backend, "sim")) || !pool_total_pages)
		return 0;
	if (!pool_free_pages)
		return fail(-ENOMEM, err, errlen, "the secure pool is full "
			    "(0 of %" PRIu64 " pages free)", pool_total_pages);
	return 0;
}
