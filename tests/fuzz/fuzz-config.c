// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * fuzz-config.c - libFuzzer target: cvmd's configuration. The input up to
 * its first NUL byte is a cvmd.conf, loaded with cvmd_config_load() (inih)
 * from a memfd; what follows is NUL-separated key, value pairs given to
 * cvmd_config_set() as the command line would. Every run starts from the
 * defaults and frees everything.
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "cvmd.h"

/*
 * The values a configuration may hold once it loaded without an error
 * (after a refused value cvmd exits, whatever the setting then holds).
 */
static void check(const struct cvmd_config *cfg)
{
	if (!cfg->socket_path || !cfg->state_dir || !cfg->backend ||
	    !cfg->vmm_path || !cfg->device || !cfg->admin_group || !cfg->bus ||
	    !cfg->libvirt_uri)
		abort();
	if (cfg->socket_mode > 0777)
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const uint8_t *nul = memchr(data, '\0', size);
	size_t conf_len = nul ? (size_t)(nul - data) : size;
	struct cvmd_config cfg;
	char path[64];
	char *rest, *p, *end;
	bool ok;
	int fd;

	if (cvmd_config_defaults(&cfg))
		abort();
	fd = memfd_create("cvmd.conf", MFD_CLOEXEC);
	if (fd < 0)
		abort();
	if (conf_len && write(fd, data, conf_len) != (ssize_t)conf_len)
		abort();
	snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
	ok = !cvmd_config_load(&cfg, path);
	close(fd);
	if (ok)
		check(&cfg);

	/* key\0value\0key\0value... as --set would pass them. */
	if (nul) {
		rest = malloc(size - conf_len);
		if (!rest)
			abort();
		memcpy(rest, nul + 1, size - conf_len - 1);
		rest[size - conf_len - 1] = '\0';
		p = rest;
		end = rest + (size - conf_len - 1);
		while (p < end) {
			char *key = p, *value;

			p += strlen(p) + 1;
			if (p >= end)
				break;
			value = p;
			p += strlen(p) + 1;
			ok = !cvmd_config_set(&cfg, key, value) && ok;
		}
		free(rest);
		if (ok)
			check(&cfg);
	}
	cvmd_config_free(&cfg);
	return 0;
}
