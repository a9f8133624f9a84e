// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * virt-api.c - libvirt.so.0 resolved at run time (virt-api.h says why).
 */
#include <dlfcn.h>
#include <errno.h>
#include <stdio.h>

#include "virt-api.h"

#define VIRT_LIBRARY "libvirt.so.0"

struct virt_api virt;

int virt_api_load(char *err, size_t len)
{
	void *lib = dlopen(VIRT_LIBRARY, RTLD_NOW | RTLD_LOCAL);

	if (!lib) {
		snprintf(err, len, "%s", dlerror());
		return -ENOENT;
	}
#define VIRT_API_RESOLVE(f)                                        \
	virt.f = (__typeof__(f) *)dlsym(lib, #f);                  \
	if (!virt.f) {                                             \
		snprintf(err, len, "%s: no %s", VIRT_LIBRARY, #f); \
		return -ENOENT;                                    \
	}
	VIRT_API_FUNCS(VIRT_API_RESOLVE)
#undef VIRT_API_RESOLVE
	/* The library stays loaded for the life of the process. */
	return 0;
}

