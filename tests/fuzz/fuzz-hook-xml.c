// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * fuzz-hook-xml.c - libFuzzer target: the libvirt hook's domain XML
 * (client/hook-xml.c, libxml2) on arbitrary bytes: parse, then every
 * question the hook asks of a parsed document (opted in, the VM it asks
 * for, the memlock admission, the size it prints).
 */
#include <libxml/parser.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "hook-xml.h"

static void quiet(void *ctx, const char *msg, ...)
{
	(void)ctx;
	(void)msg;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static bool init;
	struct cvm_hook_doc *doc = NULL;
	struct cvm_hook_config cfg;
	char err[512], buf[64];
	int r;

	if (!init) {
		xmlSetGenericErrorFunc(NULL, quiet);
		init = true;
	}
	err[0] = '\0';
	r = cvm_hook_doc_parse((const char *)data, size, &doc, err,
			       sizeof(err));
	if (r) {
		if (doc || !memchr(err, '\0', sizeof(err)))
			abort();
		return 0;
	}
	if (!doc)
		abort();
	if (cvm_hook_doc_opted_in(doc) !=
	    (cvm_hook_doc_has_launch_security(doc) ||
	     cvm_hook_doc_has_metadata(doc)))
		abort();
	memset(&cfg, 0, sizeof(cfg));
	r = cvm_hook_doc_config(doc, &cfg, err, sizeof(err));
	if (!r) {
		if (cfg.memory_bytes % CVM_HOOK_PAGE_SIZE ||
		    cfg.memory_bytes > CVM_HOOK_MEMORY_MAX)
			abort();
		cvm_hook_admit_memlock(&cfg, err, sizeof(err));
		cvm_hook_format_size(cfg.memory_bytes, buf, sizeof(buf));
		cvm_hook_format_size(cfg.memlock_limit_bytes, buf, sizeof(buf));
	}
	cvm_hook_doc_free(doc);
	return 0;
}
