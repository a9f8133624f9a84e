/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * parse.h - cvmctl's argument parsers: sizes, guest physical addresses,
 * counts, timeouts and connection URIs. Pure functions: no output, no
 * globals; each returns 0 or -errno and writes its result only on success.
 */
#ifndef CVMCTL_PARSE_H
#define CVMCTL_PARSE_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/un.h>

#include "cvm.pb-c.h"

#define CVM_PAGE_SIZE ((uint64_t)4096)
/* Largest guest-write, guest-read or host-read: 1 MiB. */
#define CVM_IO_MAX (1U << 20)

#define CVM_URI_DEFAULT "unix:/run/cvmd/cvmd.sock"
#define CVM_URI_ENV "CVM_CONNECT"
/* cvmd's TLS port when tls://HOST names none (DESIGN §9). */
#define CVM_TLS_PORT 16520

enum cvm_uri_kind {
	CVM_URI_UNIX,
	CVM_URI_TLS,
};

struct cvm_uri {
	enum cvm_uri_kind kind;
	char path[sizeof(((struct sockaddr_un *)0)->sun_path)]; /* unix */
	char host[256];						/* tls */
	uint16_t port;						/* tls */
};

/*
 * SIZE: decimal bytes with an optional binary suffix K, M, G, T (also
 * KiB, MiB, GiB, TiB). Return: -EINVAL for an empty, negative, fractional
 * or malformed value or an unknown suffix, -ERANGE when it overflows 64 bits.
 */
int cvm_parse_size(const char *s, uint64_t *ret);

/*
 * NUMBER: decimal or 0x-hex, no sign, no suffix. Return: -EINVAL when
 * malformed, -ERANGE when it overflows 64 bits.
 */
int cvm_parse_number(const char *s, uint64_t *ret);

/*
 * GPA: a NUMBER that, when align is not 0, must be a multiple of align
 * (-EDOM otherwise).
 */
int cvm_parse_gpa(const char *s, uint64_t align, uint64_t *ret);

/*
 * Timeout in whole seconds, decimal; "0" means wait forever and gives -1.
 * Return: -EINVAL when malformed, -ERANGE above what fits an int of ms.
 */
int cvm_parse_timeout(const char *s, int *ret_ms);

/* "demand" or "upfront" (the values of the protocol's PinMode). */
int cvm_parse_pin(const char *s, Cvm__PinMode *ret);

/*
 * The URI to use: the -c argument if given, else $CVM_CONNECT if set and
 * not empty, else CVM_URI_DEFAULT.
 */
const char *cvm_uri_pick(const char *arg, const char *env);

/*
 * unix:PATH or tls://HOST[:PORT] (HOST may be a [bracketed] IPv6 address;
 * PORT CVM_TLS_PORT when absent).
 * Return: -EPROTONOSUPPORT for any other scheme, -ENAMETOOLONG for a path
 * or host too long, -EINVAL for anything else malformed (empty path, no
 * or bad port).
 */
int cvm_parse_uri(const char *s, struct cvm_uri *ret);

#endif /* CVMCTL_PARSE_H */
