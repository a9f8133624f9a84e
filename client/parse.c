// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * parse.c - cvmctl's argument parsers (see parse.h). Nothing here prints:
 * the caller turns the -errno into a message naming the argument.
 */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "parse.h"

static int digit_value(char c, unsigned int base)
{
	unsigned int v;

	if (c >= '0' && c <= '9')
		v = c - '0';
	else if (c >= 'a' && c <= 'f')
		v = c - 'a' + 10;
	else if (c >= 'A' && c <= 'F')
		v = c - 'A' + 10;
	else
		return -1;
	return v < base ? (int)v : -1;
}

/*
 * Digits in base from s; *ret_end points past the last digit. At least one
 * digit is needed; no sign, no blanks (unlike strtoull, which accepts and
 * negates "-1").
 */
static int parse_digits(const char *s, unsigned int base, uint64_t *ret,
			const char **ret_end)
{
	uint64_t v = 0;
	int d;

	if (digit_value(*s, base) < 0)
		return -EINVAL;
	for (; (d = digit_value(*s, base)) >= 0; s++) {
		if (v > (UINT64_MAX - d) / base)
			return -ERANGE;
		v = v * base + d;
	}
	*ret = v;
	*ret_end = s;
	return 0;
}

static const struct {
	const char *suffix;
	unsigned int shift;
} size_suffixes[] = {
	{ "", 0 },	  { "K", 10 },	 { "KiB", 10 }, { "M", 20 },
	{ "MiB", 20 }, { "G", 30 },	 { "GiB", 30 }, { "T", 40 },
	{ "TiB", 40 },
};

int cvm_parse_size(const char *s, uint64_t *ret)
{
	const char *end;
	uint64_t v;
	size_t i;
	int r;

	if (!s)
		return -EINVAL;
	r = parse_digits(s, 10, &v, &end);
	if (r)
		return r;
	for (i = 0; i < sizeof(size_suffixes) / sizeof(size_suffixes[0]); i++) {
		unsigned int shift = size_suffixes[i].shift;

		if (strcmp(end, size_suffixes[i].suffix))
			continue;
		if (shift && v > UINT64_MAX >> shift)
			return -ERANGE;
		*ret = v << shift;
		return 0;
	}
	return -EINVAL;
}

int cvm_parse_number(const char *s, uint64_t *ret)
{
	unsigned int base = 10;
	const char *end;
	uint64_t v;
	int r;

	if (!s)
		return -EINVAL;
	if (s[0] == '0' && (s[1] == 'x' || s[1] == 'X')) {
		base = 16;
		s += 2;
	}
	r = parse_digits(s, base, &v, &end);
	if (r)
		return r;
	if (*end)
		return -EINVAL;
	*ret = v;
	return 0;
}

int cvm_parse_gpa(const char *s, uint64_t align, uint64_t *ret)
{
	uint64_t v;
	int r;

	r = cvm_parse_number(s, &v);
	if (r)
		return r;
	if (align && v % align)
		return -EDOM;
	*ret = v;
	return 0;
}

int cvm_parse_timeout(const char *s, int *ret_ms)
{
	const char *end;
	uint64_t v;
	int r;

	if (!s)
		return -EINVAL;
	r = parse_digits(s, 10, &v, &end);
	if (r)
		return r;
	if (*end)
		return -EINVAL;
	if (v > INT_MAX / 1000)
		return -ERANGE;
	*ret_ms = v ? (int)v * 1000 : -1;
	return 0;
}

int cvm_parse_pin(const char *s, Cvm__PinMode *ret)
{
	if (!s)
		return -EINVAL;
	if (!strcmp(s, "demand"))
		*ret = CVM__PIN_MODE__DEMAND;
	else if (!strcmp(s, "upfront"))
		*ret = CVM__PIN_MODE__UPFRONT;
	else
		return -EINVAL;
	return 0;
}

const char *cvm_uri_pick(const char *arg, const char *env)
{
	if (arg)
		return arg;
	if (env && *env)
		return env;
	return CVM_URI_DEFAULT;
}

/* tls://HOST[:PORT], HOST a name, an IPv4 or a [bracketed] IPv6 address. */
static int parse_tls(const char *s, struct cvm_uri *ret)
{
	const char *host = s, *host_end, *port = NULL;
	uint64_t v = CVM_TLS_PORT;
	size_t len;

	if (*host == '[') {
		host_end = strchr(host, ']');
		if (!host_end || (host_end[1] && host_end[1] != ':'))
			return -EINVAL;
		host++;
		if (host_end[1])
			port = host_end + 2;
	} else {
		host_end = strrchr(host, ':');
		if (host_end)
			port = host_end + 1;
		else
			host_end = host + strlen(host);
	}
	len = host_end - host;
	if (!len || memchr(host, '/', len))
		return -EINVAL;
	/* An IPv6 address needs brackets, or its port would be ambiguous. */
	if (s[0] != '[' && memchr(host, ':', len))
		return -EINVAL;
	if (len >= sizeof(ret->host))
		return -ENAMETOOLONG;
	/* The port: 1..65535, plain decimal, and nothing after it. */
	if (port) {
		if (!*port || strspn(port, "0123456789") != strlen(port) ||
		    strlen(port) > 5 || port[0] == '0')
			return -EINVAL;
		v = strtoul(port, NULL, 10);
		if (v > 65535)
			return -EINVAL;
	}
	memset(ret, 0, sizeof(*ret));
	ret->kind = CVM_URI_TLS;
	memcpy(ret->host, host, len);
	ret->port = v;
	return 0;
}

int cvm_parse_uri(const char *s, struct cvm_uri *ret)
{
	const char *colon;
	size_t len;

	if (!s)
		return -EINVAL;
	if (!strncmp(s, "unix:", 5)) {
		len = strlen(s + 5);
		if (!len)
			return -EINVAL;
		if (len >= sizeof(ret->path))
			return -ENAMETOOLONG;
		memset(ret, 0, sizeof(*ret));
		ret->kind = CVM_URI_UNIX;
		memcpy(ret->path, s + 5, len);
		return 0;
	}
	if (!strncmp(s, "tls://", 6))
		return parse_tls(s + 6, ret);
	/* "tls:" without "//", or no scheme at all, is malformed. */
	colon = strchr(s, ':');
	if (!colon || !strncmp(s, "tls:", 4) || colon == s)
		return -EINVAL;
	return -EPROTONOSUPPORT;
}
