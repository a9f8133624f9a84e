/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * hook-xml.h - the pure half of the libvirt hook (`cvmctl hook qemu ...`):
 * which libvirt calls it acts on, the domain XML (libxml2 + XPath: opt-in,
 * memory, the cvm metadata's options), cvm VM names, libvirt's size units
 * and the admission rules. No I/O, no daemon, no globals: every function
 * returns 0 or -errno and, where it takes one, writes one human sentence
 * into err (no "cvm: " prefix, no newline). docs/libvirt.md is the user's
 * reference for all of it.
 */
#ifndef CVMCTL_HOOK_XML_H
#define CVMCTL_HOOK_XML_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* The project's libvirt metadata namespace and its one element. */
#define CVM_HOOK_NS "http://cvm.org/xmlns/libvirt/1.0"
#define CVM_HOOK_ELEMENT "cvm"

/* Largest domain XML the hook reads from stdin: 16 MiB. */
#define CVM_HOOK_XML_MAX (16U << 20)

/* cvm VM names (cvmd's rule): 1 to 64 of [A-Za-z0-9_.-], no leading . or -. */
#define CVM_HOOK_NAME_MAX 64

/* Largest guest memory cvmd accepts: 64 TiB. */
#define CVM_HOOK_MEMORY_MAX (1ULL << 46)

#define CVM_HOOK_PAGE_SIZE 4096ULL

/* What a libvirt call asks of the hook, from OP and SUBOP. */
enum cvm_hook_action {
	CVM_HOOK_IGNORE,    /* attach, unknown calls: exit 0, read nothing */
	CVM_HOOK_PREPARE,   /* prepare begin: admission, create */
	CVM_HOOK_START,	    /* start begin: INIT_START */
	CVM_HOOK_STARTED,   /* started begin: INIT_DONE */
	CVM_HOOK_CLEANUP,   /* stopped end, release end: terminate, destroy */
	CVM_HOOK_FILTER,    /* migrate/restore begin: refuse if opted in */
	CVM_HOOK_RECONNECT, /* reconnect begin: repair cvmd, never fail */
};

enum cvm_hook_pin {
	CVM_HOOK_PIN_DEMAND,
	CVM_HOOK_PIN_UPFRONT,
};

/* What an opted-in domain asks for. */
struct cvm_hook_config {
	uint64_t memory_bytes;	      /* rounded up to whole 4 KiB pages */
	uint64_t memlock_limit_bytes; /* 0: not given (cvmd's default) */
	enum cvm_hook_pin pin;	      /* demand unless the metadata says */
};

/* The action for a call; NULL op or subop: CVM_HOOK_IGNORE. */
enum cvm_hook_action cvm_hook_action_of(const char *op, const char *subop);

/*
 * A cvm VM name. Return: 0, -EINVAL (empty, a character outside
 * [A-Za-z0-9_.-], or a leading '.' or '-'), -ENAMETOOLONG (over 64).
 */
int cvm_hook_check_name(const char *name);

/*
 * libvirt's scaled integer: NUMBER (decimal digits; blanks around it are
 * allowed) times UNIT, case-insensitive: b or bytes; k, KiB, m, MiB, g,
 * GiB, t, TiB, p, PiB, e, EiB (powers of 1024); KB, MB, GB, TB, PB, EB
 * (powers of 1000). unit NULL or "": default_scale. Return: -EINVAL for a
 * malformed number or unknown unit, -ERANGE when it overflows 64 bits.
 */
int cvm_hook_parse_scaled(const char *number, const char *unit,
			  uint64_t default_scale, uint64_t *ret);

/*
 * The metadata's memlock-limit: NUMBER[UNIT] ("64M", "64 MiB", "1G",
 * "65536"), units as above, bytes without one. Same errors.
 */
int cvm_hook_parse_size(const char *s, uint64_t *ret);

/* A parsed domain XML document. */
struct cvm_hook_doc;

/*
 * Parse len bytes of domain XML (libxml2, no network, no DTD loading, no
 * entity substitution). Return: -EFBIG (over CVM_HOOK_XML_MAX; not even
 * parsed), -EBADMSG (not well-formed; err has libxml2's reason and line),
 * -EINVAL (well-formed but no <domain> root, or has a DOCTYPE), -ENOMEM.
 */
int cvm_hook_doc_parse(const char *buf, size_t len, struct cvm_hook_doc **ret,
		       char *err, size_t errlen);
void cvm_hook_doc_free(struct cvm_hook_doc *doc);

/*
 * Opted in: a /domain/launchSecurity element, or an element of
 * CVM_HOOK_NS under /domain/metadata (whatever its options say).
 */
bool cvm_hook_doc_opted_in(const struct cvm_hook_doc *doc);
bool cvm_hook_doc_has_launch_security(const struct cvm_hook_doc *doc);
bool cvm_hook_doc_has_metadata(const struct cvm_hook_doc *doc);

/*
 * The VM an opted-in domain asks for: memory from /domain/memory (else
 * /domain/currentMemory; unit attribute, default KiB), options from the
 * <cvm:cvm> element (attributes memlock-limit and pin; anything else there
 * is an error). Return: 0, or -EINVAL with err saying what is wrong.
 */
int cvm_hook_doc_config(const struct cvm_hook_doc *doc,
			struct cvm_hook_config *cfg, char *err, size_t errlen);

/*
 * Admission, memlock half: a memlock-limit given in the metadata must
 * cover what the pin mode locks at the least: one page (4 KiB) for demand
 * pinning, the whole guest memory for upfront pinning. No limit given
 * (cvmd's default) passes. Return: 0, or -ENOMEM with err.
 */
int cvm_hook_admit_memlock(const struct cvm_hook_config *cfg, char *err,
			   size_t errlen);

/*
 * Admission, secure-pool half, from cvmd's status: a pool shared by every
 * VM (any backend but "sim", whose VMs each bring their own pool) that
 * cvmd reports (pool_total_pages > 0) must have a free page. Secure pages
 * beyond what the pool holds are paged out, so one page is the minimum a
 * VM needs, not its whole memory. Return: 0, or -ENOMEM with err.
 */
int cvm_hook_admit_pool(const char *backend, uint64_t pool_total_pages,
			uint64_t pool_free_pages, char *err, size_t errlen);

/* "256 MiB" when exact in a binary unit, else "N bytes". */
void cvm_hook_format_size(uint64_t bytes, char *buf, size_t len);

#endif /* CVMCTL_HOOK_XML_H */
